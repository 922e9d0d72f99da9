"""Busy DB instances: RDS refuses to stop a cluster while one of its instances is busy; moto stops it anyway.

AWS answers ``StopDBCluster`` with ``InvalidDBInstanceState`` (HTTP 400) while an instance of the
cluster is not available — a reader that Aurora Auto Scaling is adding or removing, an instance being
modified (Performance Insights being turned on, a class change), rebooted, … — even though the cluster
itself is ``available`` (StopDBCluster, Errors:
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_StopDBCluster.html). moto 5.x looks at
the cluster's status only, and its instances are always ``available``.

:class:`BusyInstances` is the model: an instance is busy when its status in moto is anything but
``available``. :meth:`BusyInstances.mark` gives instances a busy status (``modifying`` by default;
``creating``, ``deleting``, ``rebooting``, … as the case is), which DescribeDBInstances then reports as
AWS would, and :meth:`BusyInstances.release` makes them ``available`` again. While
:attr:`BusyInstances.enabled`, an available cluster with a busy member refuses ``StopDBCluster`` with
``InvalidDBInstanceState`` and stays available; otherwise moto answers as it does. The shim
(:mod:`bluegreen.local.shim`) holds one as ``Shim.busy`` and patches ``RDSBackend.stop_db_cluster``
with :meth:`BusyInstances.stop_db_cluster`; a ``mock_aws`` test can do the same with ``monkeypatch``::

    busy = BusyInstances()
    monkeypatch.setattr(RDSBackend, "stop_db_cluster", busy.stop_db_cluster(RDSBackend.stop_db_cluster))
    busy.mark("fn-db-a-dev-reader-0", region="eu-central-1")
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend, rds_backends

__all__ = ["BUSY_ERROR_CODE", "BusyInstances"]

#: The error code RDS answers StopDBCluster with while an instance of the cluster is busy.
BUSY_ERROR_CODE = "InvalidDBInstanceState"

StopDBCluster = Callable[[RDSBackend, str], Any]


class BusyInstances:
    """Marks DB instances busy in moto, and the StopDBCluster that refuses while a member is; thread-safe."""

    def __init__(self, *, enabled: bool = True) -> None:
        """Nothing marked; ``enabled`` switches the refusal on (moto's own answer when off)."""
        self.enabled = enabled
        self._marked: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def mark(
        self, *instance_ids: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID, status: str = "modifying"
    ) -> None:
        """Give these instances ``status`` in moto (as while Auto Scaling adds one, or a modification is applied).

        DescribeDBInstances then reports that status, as AWS would. ``KeyError`` for an unknown instance.
        """
        databases = rds_backends[account_id][region].databases
        with self._lock:
            for instance_id in instance_ids:
                databases[instance_id].status = status
                self._marked.add((account_id, region, instance_id))

    def release(self, *instance_ids: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        """These instances are available again (instances gone meanwhile are skipped)."""
        databases = rds_backends[account_id][region].databases
        with self._lock:
            for instance_id in instance_ids:
                instance = databases.get(instance_id)
                if instance is not None:
                    instance.status = "available"
                self._marked.discard((account_id, region, instance_id))

    def clear(self) -> None:
        """Forget what was marked (moto's state, the statuses included, is reset apart)."""
        with self._lock:
            self._marked.clear()

    @property
    def marked(self) -> frozenset[str]:
        """The instances marked busy and not released since, in any account and region."""
        with self._lock:
            return frozenset(instance_id for _, _, instance_id in self._marked)

    @staticmethod
    def busy_members(backend: RDSBackend, cluster_identifier: str) -> dict[str, str]:
        """The members of the cluster in moto's ``backend`` that are not available, with their status."""
        cluster: Any = backend.clusters.get(cluster_identifier)
        if cluster is None:
            return {}
        return {
            member.db_instance_identifier: str(member.status)
            for member in cluster.members
            if member.status != "available"
        }

    def stop_db_cluster(self, original: StopDBCluster) -> StopDBCluster:
        """A replacement for ``RDSBackend.stop_db_cluster`` wrapping ``original`` (moto's).

        While :attr:`enabled`, an available cluster with a busy member is refused with
        ``InvalidDBInstanceState`` and left as it is; any other call is ``original``'s.
        """

        def stop_db_cluster(backend: RDSBackend, cluster_identifier: str) -> Any:
            if self.enabled:
                cluster: Any = backend.clusters.get(cluster_identifier)
                if cluster is not None and cluster.status == "available":
                    busy = self.busy_members(backend, cluster_identifier)
                    if busy:
                        listed = ", ".join(f"{name} is {status}" for name, status in sorted(busy.items()))
                        raise RDSClientError(
                            BUSY_ERROR_CODE,
                            f"DbCluster {cluster_identifier} cannot be stopped while its instances are busy: {listed}.",
                        )
            return original(backend, cluster_identifier)

        return stop_db_cluster
