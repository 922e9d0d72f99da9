"""Aurora: start, stop, scale and delete a stack's DB cluster, and look after its auto-scaled readers.

:class:`AuroraTools` is the whole public tool: it decides what to do and in which order, and raises
the errors below. The AWS calls on each kind of resource are in a private room of their own:
:mod:`~bluegreen.tools._aurora_cluster` (the DB cluster: read, delete with a final snapshot),
:mod:`~bluegreen.tools._aurora_instances` (DB instances: an auto-scaled reader, busy members,
deletion, Performance Insights) and :mod:`~bluegreen.tools._aurora_scaling` (the reader capacity's
Application Auto Scaling target).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from bluegreen.aws import error_code
from bluegreen.datatypes import datatype
from bluegreen.refs import ClusterState, StackReference, as_ref
from bluegreen.tools import _aurora_cluster, _aurora_instances, _aurora_scaling
from bluegreen.tools._aurora_cluster import NOT_RUNNING as _NOT_RUNNING
from bluegreen.tools._aurora_cluster import STARTABLE as _STARTABLE
from bluegreen.tools._aurora_cluster import final_snapshot_identifier as final_snapshot_identifier  # noqa: PLC0414
from bluegreen.tools._aurora_instances import AUTOSCALING_RESOURCE_TAG as AUTOSCALING_RESOURCE_TAG  # noqa: PLC0414
from bluegreen.tools._aurora_instances import NOT_READY as _NOT_READY
from bluegreen.tools._aurora_scaling import READ_REPLICA_COUNT as READ_REPLICA_COUNT  # noqa: PLC0414
from bluegreen.tools._base import AwsConfig, BaseTools

# The RDS-event names live in rds_events; re-exported here, where they were first defined.
from bluegreen.tools.rds_events import INSTANCE_CREATED_EVENT as INSTANCE_CREATED_EVENT  # noqa: PLC0414
from bluegreen.tools.rds_events import INSTANCE_CREATED_MESSAGE as INSTANCE_CREATED_MESSAGE  # noqa: PLC0414
from bluegreen.tools.rds_events import PI_DISABLED_MESSAGE as PI_DISABLED_MESSAGE  # noqa: PLC0414
from bluegreen.tools.rds_events import RdsEvent as RdsEvent  # noqa: PLC0414

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBClusterTypeDef, DBInstanceTypeDef

logger = logging.getLogger(__name__)


class ClusterStateError(RuntimeError):
    """The cluster is in a status in which AWS refuses the operation (e.g. starting a stopping cluster).

    ``cluster`` and ``state`` say which and in what status, so a caller can tell "not now" (stopping,
    modifying, …: call again later) from "never" (deleting, failed).
    """

    def __init__(self, message: str, *, cluster: str, state: ClusterState) -> None:
        super().__init__(message)
        self.cluster = cluster
        self.state = state


class ClusterBusyError(ClusterStateError):
    """The cluster is available, but RDS refused to stop it because one of its instances is busy.

    ``StopDBCluster`` answers ``InvalidDBInstanceState`` (or ``InvalidDBClusterStateFault``) while an
    instance of the cluster is not available: a reader being added or removed by Aurora Auto Scaling,
    an instance being modified (Performance Insights being turned on, a class change), rebooted, ….
    It is "not now": call again once the instances are available. ``state`` is the cluster's status
    read after the refusal (usually ``AVAILABLE``); ``busy`` names the instances that were not
    available then, with their status (empty when none was seen: the refusal alone says so).
    """

    def __init__(self, message: str, *, cluster: str, state: ClusterState, busy: Mapping[str, str]) -> None:
        super().__init__(message, cluster=cluster, state=state)
        self.busy = dict(busy)


class ClusterDeletionProtectedError(RuntimeError):
    """The cluster has deletion protection enabled, so it (and its instances) were left as they were."""


class PerformanceInsightsError(RuntimeError):
    """Performance Insights could not be enabled: the instance was still not ready after every try."""


@datatype(frozen=False, kw_only=True)
class AuroraConfig(AwsConfig):
    """The DB cluster of each stack, its minimum reader count, and how auto-scaled readers are handled.

    ``minimum_cluster_size`` is the min reader capacity ``scale_in`` restores. ``skip_delete_snapshots``
    makes ``delete_database`` skip the final cluster snapshot. ``namespace`` ("*" for any) must appear
    in an auto-scaled reader's ``application-autoscaling:resourceId`` tag for the RDS-event methods to
    act on it; ``tags`` are what ``apply_tags`` puts on it (the cluster's own tags when empty).
    """

    cluster_name_a: str
    cluster_name_b: str
    minimum_cluster_size: int
    skip_delete_snapshots: bool = False
    namespace: str = "*"
    tags: dict[str, str] = field(default_factory=dict)


class AuroraTools(BaseTools[AuroraConfig]):
    """Acts on the Aurora DB cluster of stack a or b, and on the readers Aurora Auto Scaling adds to it."""

    @property
    def _rds(self) -> RDSClient:
        return cast("RDSClient", self._client("rds"))

    @property
    def _aas(self) -> ApplicationAutoScalingClient:
        return cast("ApplicationAutoScalingClient", self._client("application-autoscaling"))

    def cluster_name(self, ref: StackReference | str) -> str:
        """The DB cluster identifier of the stack."""
        return self._pick(ref, self.config.cluster_name_a, self.config.cluster_name_b)

    def get_cluster_state(self, ref: StackReference | str) -> ClusterState:
        """The stack's cluster status from ``DescribeDBClusters`` (``UNKNOWN`` for a status not known here).

        Raises ``LookupError`` naming the cluster when it does not exist.
        """
        return ClusterState(self._describe_cluster(ref).get("Status", ""))

    def get_reader_count(self, ref: StackReference | str) -> int:
        """How many members of the stack's cluster are readers (``IsClusterWriter`` false).

        Counted from ``DBClusterMembers``; a cluster with no writer yet counts every member.
        """
        members = self._describe_cluster(ref).get("DBClusterMembers", [])
        return sum(1 for member in members if not member.get("IsClusterWriter", False))

    def get_min_capacity(self, ref: StackReference | str) -> int | None:
        """The min reader capacity of the cluster's scalable target; None when none is registered."""
        target = _aurora_scaling.scalable_target(self._aas, self.cluster_name(ref))
        return None if target is None else target["MinCapacity"]

    def scale_out(self, ref: StackReference | str) -> int:
        """Set the cluster's min reader capacity to the partner cluster's reader count; returns it.

        Application Auto Scaling then adds readers until the cluster has that many. See
        :meth:`set_min_capacity` for what happens in AWS.
        """
        size = self.get_reader_count(as_ref(ref).partner)
        self.set_min_capacity(ref, size)
        return size

    def scale_in(self, ref: StackReference | str) -> int:
        """Set the cluster's min reader capacity back to ``minimum_cluster_size``; returns it.

        Readers above it are removed by Auto Scaling's own policies, not by this call.
        """
        self.set_min_capacity(ref, self.config.minimum_cluster_size)
        return self.config.minimum_cluster_size

    def set_min_capacity(self, ref: StackReference | str, capacity: int) -> None:
        """``RegisterScalableTarget`` MinCapacity := ``capacity`` on ``rds:cluster:ReadReplicaCount``.

        The target (namespace ``rds``, resource ``cluster:<name>``) must already be registered, else
        ``LookupError`` naming the cluster. AWS rejects a min above the max, so when ``capacity``
        exceeds the target's MaxCapacity the max is raised to ``capacity`` too (logged as a warning).
        Idempotent: no call is made when the min already is ``capacity``.
        """
        if capacity < 0:
            raise ValueError(f"min reader capacity must be 0 or more, not {capacity}")
        _aurora_scaling.set_min_capacity(self._aas, self.cluster_name(ref), capacity, region=self.config.region)

    def start_database(self, ref: StackReference | str) -> None:
        """``StartDBCluster`` on the stack's cluster when it is stopped.

        Idempotent: a cluster that is available or already starting (or otherwise running) is done.
        A cluster that is stopping, being deleted or failed raises :class:`ClusterStateError`; a
        missing one ``LookupError``. A start refused because the cluster changed state meanwhile is
        judged by the state read again afterwards.
        """
        name = self.cluster_name(ref)
        state = self.get_cluster_state(ref)
        if state not in _STARTABLE:
            if state not in _NOT_RUNNING:
                logger.info("Aurora cluster %r is %s: already started", name, state)
                return
            hint = "; wait until it is stopped, then start it" if state is ClusterState.STOPPING else ""
            raise ClusterStateError(
                f"cannot start Aurora cluster {name!r}: it is {state}{hint}", cluster=name, state=state
            )
        try:
            self._rds.start_db_cluster(DBClusterIdentifier=name)
        except ClientError as err:
            now = self.get_cluster_state(ref) if error_code(err) == "InvalidDBClusterStateFault" else None
            if now is None or now in _NOT_RUNNING:
                raise
            logger.info("Aurora cluster %r is %s: already started", name, now)
            return
        logger.info("Aurora cluster %r starting", name)

    def stop_database(self, ref: StackReference | str) -> None:
        """``StopDBCluster`` on the stack's cluster when it is available.

        Idempotent: a cluster that is stopped or stopping is done. Any other status (starting,
        modifying, backing-up, …) raises :class:`ClusterStateError` — AWS stops only an available
        cluster, so call again once it is; a missing cluster raises ``LookupError``.

        An available cluster can still be refused: RDS answers ``InvalidDBInstanceState`` (or
        ``InvalidDBClusterStateFault``) while one of its instances is busy — a reader being added or
        removed by Aurora Auto Scaling, an instance being modified (Performance Insights being turned
        on), rebooted, … (StopDBCluster, Errors: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_StopDBCluster.html).
        The cluster's status is then read again: stopped or stopping (someone else stopped it) is
        done; running still raises :class:`ClusterBusyError` (a :class:`ClusterStateError`) naming the
        instances that are not available — call again once they are. A refusal for a cluster that is
        now being deleted or failed propagates as the ``ClientError`` it was.
        """
        name = self.cluster_name(ref)
        state = self.get_cluster_state(ref)
        if state in (ClusterState.STOPPED, ClusterState.STOPPING):
            logger.info("Aurora cluster %r is %s: already stopped", name, state)
            return
        if state is not ClusterState.AVAILABLE:
            raise ClusterStateError(
                f"cannot stop Aurora cluster {name!r} while it is {state}: AWS stops only an available "
                "cluster; call again once it is available",
                cluster=name,
                state=state,
            )
        try:
            self._rds.stop_db_cluster(DBClusterIdentifier=name)
        except ClientError as err:
            if error_code(err) not in _NOT_READY:
                raise
            now = self.get_cluster_state(ref)
            if now in (ClusterState.STOPPED, ClusterState.STOPPING):
                logger.info("Aurora cluster %r is %s: already stopped", name, now)
                return
            if now in _NOT_RUNNING:
                raise
            busy = _aurora_instances.busy_members(self._rds, name)
            listed = ", ".join(f"{instance} is {status}" for instance, status in sorted(busy.items()))
            raise ClusterBusyError(
                f"cannot stop Aurora cluster {name!r} yet: RDS refused ({error_code(err)}) while an instance is busy "
                f"({listed or 'a reader being added or removed, an instance being modified'}); call again once "
                "every instance is available",
                cluster=name,
                state=now,
                busy=busy,
            ) from err
        logger.info("Aurora cluster %r stopping", name)

    def delete_database(self, ref: StackReference | str) -> str | None:
        """Delete the stack's cluster: ``DeleteDBInstance`` on every member, then ``DeleteDBCluster``.

        Readers are deleted before the writer (no needless failover), with no snapshot parameters
        (they do not apply to Aurora instances: the data lives in the cluster volume). The cluster is
        deleted with a final snapshot named by :func:`final_snapshot_identifier` — or with
        ``SkipFinalSnapshot`` when ``skip_delete_snapshots`` — and that snapshot's identifier is
        returned (None when skipped or nothing was deleted).

        First, the cluster's Application Auto Scaling target (namespace ``rds``, resource
        ``cluster:<name>``, dimension ``rds:cluster:ReadReplicaCount``) is deregistered, which deletes
        its scaling policies and scheduled actions: otherwise Aurora Auto Scaling could add a reader
        back (its min capacity) while the members are being deleted, and the cluster could not be
        deleted with that member in it. A cluster with no target is left so; a target deregistered
        meanwhile (``ObjectNotFoundException``) counts as deregistered.

        Idempotent: a cluster that is gone or already deleting is done, and so is a member already
        gone or deleting. Deletion protection raises :class:`ClusterDeletionProtectedError` and a
        stopped or stopping cluster (AWS cannot delete one) :class:`ClusterStateError`, both before
        anything is deleted or deregistered.
        """
        name = self.cluster_name(ref)
        cluster = _aurora_cluster.find_cluster(self._rds, name)
        if cluster is None or cluster.get("Status") == ClusterState.DELETING:
            logger.info("Aurora cluster %r is already gone or being deleted", name)
            return None
        if cluster.get("DeletionProtection", False):
            raise ClusterDeletionProtectedError(
                f"Aurora cluster {name!r} has deletion protection enabled: turn it off "
                "(ModifyDBCluster DeletionProtection=false) to let it be deleted; nothing was deleted"
            )
        state = ClusterState(cluster.get("Status", ""))
        if state in (ClusterState.STOPPED, ClusterState.STOPPING):
            raise ClusterStateError(
                f"cannot delete Aurora cluster {name!r} while it is {state}: AWS cannot delete a stopped "
                "cluster; start it (start_database) and delete it once it is available; nothing was deleted",
                cluster=name,
                state=state,
            )
        _aurora_scaling.deregister_scalable_target(self._aas, name)
        members = sorted(cluster.get("DBClusterMembers", []), key=lambda m: m.get("IsClusterWriter", False))
        for member in members:
            _aurora_instances.delete_instance(self._rds, member["DBInstanceIdentifier"])
        identifier = cluster.get("DBClusterIdentifier", name)
        skip = self.config.skip_delete_snapshots
        return _aurora_cluster.delete_cluster(self._rds, name, identifier, skip_final_snapshot=skip)

    def apply_tags(self, record: Mapping[str, Any]) -> bool:
        """Tag a reader that Aurora Auto Scaling created in one of the two clusters.

        ``record`` is one SNS record carrying an RDS event. On "DB instance created" for an instance
        whose ``application-autoscaling:resourceId`` tag is ``cluster:<a or b>`` (and contains
        ``namespace`` unless it is "*"), ``AddTagsToResource`` puts on it the config's ``tags`` — or,
        when there are none, its cluster's tags except the reserved ``aws:`` ones — plus
        ``Role=Reader``. The instance and its ARN come from ``DescribeDBInstances``.

        Returns True when the event concerned such an instance (its tags are now in place: tags it
        already carries are not written again), False when the record was left alone.
        """
        event = RdsEvent.from_sns_record(record)
        if event is None or not event.is_instance_created:
            return False
        instance = self._autoscaled_reader(event.source_id)
        if instance is None:
            return False
        arn = instance["DBInstanceArn"]
        wanted = dict(self.config.tags)
        if not wanted:
            wanted = {
                tag["Key"]: tag.get("Value", "")
                for tag in self.get_tags_for_cluster(arn)
                if not tag["Key"].lower().startswith("aws:")
            }
        wanted["Role"] = "Reader"
        _aurora_instances.add_missing_tags(self._rds, instance, wanted, label=event.source_id)
        return True

    def enable_performance_insights(
        self,
        record: Mapping[str, Any],
        re_enable_if_disabled: bool = True,
        retry_delay: float = 60.0,
        retry_attempts: int = 5,
    ) -> bool:
        """Turn Performance Insights on for a reader that Aurora Auto Scaling created.

        Acts on "DB instance created" and, when ``re_enable_if_disabled``, "Performance Insights has
        been disabled", for an instance matched as in :meth:`apply_tags`: ``ModifyDBInstance``
        EnablePerformanceInsights=True, ApplyImmediately=True. While the instance (or cluster) is not
        ready (``InvalidDBInstanceState`` / ``InvalidDBClusterStateFault``) it tries again after
        ``retry_delay`` seconds; ``retry_attempts`` counts every try, the first included. When they
        are spent it raises :class:`PerformanceInsightsError` naming the instance; other errors
        propagate at once.

        Returns True when the event concerned such an instance (Performance Insights is now on, or
        already was), False when the record was left alone.
        """
        if retry_attempts < 1:
            raise ValueError(f"retry_attempts must be at least 1, not {retry_attempts}")
        if retry_delay < 0:
            raise ValueError(f"retry_delay must be 0 or more seconds, not {retry_delay}")
        event = RdsEvent.from_sns_record(record)
        if event is None or not (
            event.is_instance_created or (re_enable_if_disabled and event.is_performance_insights_disabled)
        ):
            return False
        instance = self._autoscaled_reader(event.source_id)
        if instance is None:
            return False
        name = instance["DBInstanceIdentifier"]
        if instance.get("PerformanceInsightsEnabled", False):
            logger.info("DB instance %r: Performance Insights already enabled", name)
            return True
        last = _aurora_instances.enable_performance_insights(
            self._rds, name, attempts=retry_attempts, delay=retry_delay
        )
        if last is None:
            return True
        raise PerformanceInsightsError(
            f"could not enable Performance Insights on DB instance {name!r}: still not ready after "
            f"{retry_attempts} tries {retry_delay:g} s apart"
        ) from last

    def get_tags_for_cluster(self, instance_arn: str) -> list[dict[str, str]]:
        """The tags (``Key``/``Value``) of the DB cluster the instance belongs to.

        The instance is found by ARN (or identifier) with ``DescribeDBInstances``, its cluster with
        ``DescribeDBClusters``. An instance in no cluster gives ``[]``; a missing instance or cluster
        raises ``LookupError`` naming it.
        """
        instance = _aurora_instances.find_instance(self._rds, instance_arn)
        if instance is None:
            raise LookupError(f"DB instance {instance_arn!r} not found (region {self.config.region})")
        cluster_id = instance.get("DBClusterIdentifier")
        if not cluster_id:
            return []
        cluster = _aurora_cluster.find_cluster(self._rds, cluster_id)
        if cluster is None:
            raise LookupError(f"Aurora cluster {cluster_id!r} of DB instance {instance_arn!r} not found")
        return [
            {"Key": tag["Key"], "Value": tag.get("Value", "")} for tag in cluster.get("TagList", []) if tag.get("Key")
        ]

    def _describe_cluster(self, ref: StackReference | str) -> DBClusterTypeDef:
        name = self.cluster_name(ref)
        cluster = _aurora_cluster.find_cluster(self._rds, name)
        if cluster is None:
            raise LookupError(
                f"Aurora cluster {name!r} not found (region {self.config.region}): check the cluster names "
                "in the AuroraConfig"
            )
        return cluster

    def _autoscaled_reader(self, instance_id: str) -> DBInstanceTypeDef | None:
        """The instance when Auto Scaling added it to cluster a or b (within ``namespace``), else None."""
        clusters = (self.config.cluster_name_a, self.config.cluster_name_b)
        return _aurora_instances.autoscaled_reader(
            self._rds, instance_id, clusters=clusters, namespace=self.config.namespace
        )
