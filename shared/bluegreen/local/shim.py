"""The few things moto (5.x) lacks or gets wrong that bluegreen needs, patched into moto's classes in this process.

moto's server (``ThreadedMotoServer``) runs in this process, so patching its classes changes what the
emulator answers; ``mock_aws`` tests apply the same patches (``tests/support``). Each patch is data
(:class:`Patch`: a class, an attribute, the replacement) so it can be installed here with
:func:`install` / :func:`uninstall`, or by pytest's ``monkeypatch``. What is patched, and why:

- **CodeDeploy PutLifecycleEventHookExecutionStatus** — not implemented by moto. Added as AWS behaves
  for what the hooks rely on: the first Succeeded/Failed of an execution is kept, any later report is
  refused with ``LifecycleEventAlreadyCompletedException``, and so is any report for a deployment of the
  book that has ended (Succeeded/Failed/Stopped: CodeDeploy has moved on). Every call is recorded
  (:class:`HookLedger`).
- **CodeDeploy deployments** — moto gives deployments uuid ids, leaves them "Created", answers
  ``rollbackInfo: {}`` and has no StopDeployment, ListDeploymentTargets or GetDeploymentTarget; the hooks
  read a deployment's status, creator and rollbackInfo, and their lifecycle event's start time (their
  deadline). The shim keeps its own deployments (:class:`DeploymentBook`, ``Shim.deployments``), with the
  ids, statuses, rollbacks and lifecycle times a test or the emulator's caller chooses. GetDeployment and
  BatchGetDeployments answer for them (moto's own deployments, and its DeploymentDoesNotExistException,
  otherwise); StopDeployment stops one (``autoRollbackEnabled``: and rolls it back), refusing an ended one
  with ``DeploymentAlreadyCompletedException``; ListDeploymentTargets / GetDeploymentTarget report its
  one target (a Lambda alias or an ECS service) and that target's lifecycle events.
  :meth:`DeploymentBook.state_change_event` builds the EventBridge notification CodeDeploy would send.
- **Lambda CreateEventSourceMapping on a Kinesis stream consumer ARN** (enhanced fan-out) — moto takes
  a stream ARN only; AWS takes a consumer ARN too. And a second mapping of the same function (name,
  ARN or partial ARN alike; an alias or version counts apart) and the same event source is refused with
  ``ResourceConflictException`` (409), as AWS does; moto makes the duplicate.
- **Lambda ListEventSourceMappings by FunctionName** — moto matches the exact string a mapping was
  created with; AWS resolves a name, a full or a partial ARN to the function, so a mapping created by
  name is listed by ARN and the other way round. The shim compares the resolved functions.
- **RDS StopDBCluster while an instance is busy** — refused with ``InvalidDBInstanceState`` as AWS
  does, while ``Shim.busy`` (:mod:`bluegreen.local.busy`) says a member is busy; moto stops it anyway.
- **RDS Performance Insights** — moto ignores ``EnablePerformanceInsights`` in ModifyDBInstance. It is
  kept on the instance and reported back as ``PerformanceInsightsEnabled`` (False until set).
- **Lambda Invoke with InvocationType=Event** — moto runs functions in Docker (absent here) and does
  not queue asynchronous invocations. They are queued instead (:meth:`Shim.take_invocations`), for the
  emulator's caller to run, and answered 202 as AWS does; an unknown function is still a 404.
- **SNS filter policy propagation** — moto applies a new filter policy to the next publish; AWS takes
  up to 15 minutes. :attr:`Shim.filters` (:class:`~bluegreen.local.propagation.FilterPropagation`)
  delays each change by a delay you set (off by default).
- **Latency** — every request to the moto server waits ``Shim.latency_ms`` before it is dispatched,
  in its own request thread, so concurrent requests overlap as over a real network (the benchmark).

Not patched, on purpose: moto's **Kinesis DeregisterStreamConsumer** is wrong whenever ``StreamARN``
is in the request. It then keeps only the stream's consumers *named* ``ConsumerName`` — the very one
to deregister survives and every other consumer of the stream is dropped; with ``StreamARN`` beside
``ConsumerARN`` (no name) every consumer is dropped. By ``ConsumerARN`` alone (which AWS accepts)
moto deletes exactly that consumer: bluegreen calls it that way only, and must keep doing so.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.responses import CodeDeployResponse, _deployment_info
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.kinesis.models import kinesis_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # moto[server]: the `local` extra
from moto.rds.models import DBInstance, RDSBackend, rds_backends

from bluegreen.local.busy import BusyInstances
from bluegreen.local.propagation import FilterPropagation

__all__ = [
    "ENDED_STATUSES",
    "DeploymentBook",
    "EmulatedDeployment",
    "HookLedger",
    "HookReport",
    "Invocation",
    "LifecycleEvent",
    "Patch",
    "Shim",
    "install",
    "installed",
    "uninstall",
]

_MISSING = object()


@dataclass(frozen=True)
class Patch:
    """Set ``owner.name`` to ``value`` (``owner`` is a moto class)."""

    owner: type
    name: str
    value: Any


class HookReport(NamedTuple):
    """One PutLifecycleEventHookExecutionStatus request, as sent (accepted or not)."""

    deployment_id: str
    execution_id: str
    status: str


@dataclass
class HookLedger:
    """Every hook report request (``calls``) and the status each execution ended with (``statuses``)."""

    calls: list[HookReport] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def status(self, execution_id: str) -> str | None:
        """The status the execution ended with, or None when nothing was accepted for it."""
        return self.statuses.get(execution_id)


@dataclass(frozen=True)
class Invocation:
    """A queued asynchronous Lambda invocation: the function as the caller named it, its ARN, the payload."""

    function: str
    function_arn: str
    payload: bytes

    @property
    def event(self) -> Any:
        """The payload as JSON (the event a handler receives); None for an empty payload."""
        return json.loads(self.payload) if self.payload else None


ENDED_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
"""Deployment statuses CodeDeploy does not leave: nothing more happens to such a deployment."""

_TARGET_STATUS = {"Created": "Pending", "Queued": "Pending", "Baking": "InProgress", "Stopped": "Failed"}


def _now() -> datetime:
    return datetime.now(UTC)


def _deployment_id() -> str:
    """An id shaped like CodeDeploy's: ``d-`` and nine upper-case letters and digits."""
    return "d-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))


@dataclass
class LifecycleEvent:
    """One lifecycle event of a deployment's (one) target, as GetDeploymentTarget reports it."""

    name: str
    status: str = "InProgress"  # Pending|InProgress|Succeeded|Failed|Skipped|Unknown
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class EmulatedDeployment:
    """A CodeDeploy deployment as the shim answers for it (GetDeployment, StopDeployment, the targets)."""

    deployment_id: str
    application: str = "orders"
    group: str = "orders-dg"
    status: str = "InProgress"  # Created|Queued|InProgress|Baking|Ready|Succeeded|Failed|Stopped
    creator: str = "user"  # user|autoscaling|codeDeployRollback|CodeDeployAutoUpdate|CloudFormation|…
    compute_platform: str = "Lambda"  # Lambda|ECS
    rollback_deployment_id: str | None = None  # on the failed one: its rollback deployment
    rollback_triggering_deployment_id: str | None = None  # on the rollback: the deployment it undoes
    rollback_message: str | None = None
    target_id: str = ""  # "" is replaced: Lambda "<function>:<alias>", ECS "<cluster>:<service>"
    lifecycle: list[LifecycleEvent] = field(default_factory=list)
    create_time: datetime = field(default_factory=_now)
    complete_time: datetime | None = None
    instance_group_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # the events' instanceGroupId

    def __post_init__(self) -> None:
        """Give the target a plausible id when none was chosen."""
        if not self.target_id:
            ecs = self.compute_platform == "ECS"
            self.target_id = f"{self.application}-cluster:{self.application}" if ecs else f"{self.application}:live"

    @property
    def ended(self) -> bool:
        """Whether the deployment is over (Succeeded, Failed or Stopped)."""
        return self.status in ENDED_STATUSES

    def event(self, name: str) -> LifecycleEvent | None:
        """The target's lifecycle event of that name, if it was started (or ended)."""
        return next((e for e in self.lifecycle if e.name == name), None)

    def target_arn(self, region: str, account: str) -> str:
        """The ARN of the target: the Lambda alias, or the ECS service."""
        first, _, second = self.target_id.partition(":")
        if self.compute_platform == "ECS":
            return f"arn:aws:ecs:{region}:{account}:service/{first}/{second}"
        return f"arn:aws:lambda:{region}:{account}:function:{self.target_id}"

    def last_updated(self) -> datetime:
        """The latest time anything happened to the deployment or its target."""
        stamps = [self.create_time, self.complete_time, *(t for e in self.lifecycle for t in (e.start, e.end))]
        return max(t for t in stamps if t is not None)

    def info(self) -> dict[str, Any]:
        """The ``deploymentInfo`` of GetDeployment / BatchGetDeployments."""
        rollback = {
            key: value
            for key, value in (
                ("rollbackDeploymentId", self.rollback_deployment_id),
                ("rollbackTriggeringDeploymentId", self.rollback_triggering_deployment_id),
                ("rollbackMessage", self.rollback_message),
            )
            if value is not None
        }
        info: dict[str, Any] = {
            "applicationName": self.application,
            "deploymentGroupName": self.group,
            "deploymentConfigName": f"CodeDeployDefault.{self.compute_platform}AllAtOnce",
            "deploymentId": self.deployment_id,
            "status": self.status,
            "creator": self.creator,
            "computePlatform": self.compute_platform,
            "createTime": self.create_time,
            "rollbackInfo": rollback,
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        }
        if self.complete_time is not None:
            info["completeTime"] = self.complete_time
        return info

    def target(self, region: str, account: str) -> dict[str, Any]:
        """The ``deploymentTarget`` of GetDeploymentTarget."""
        events = []
        for e in self.lifecycle:
            event: dict[str, Any] = {"lifecycleEventName": e.name, "status": e.status}
            if e.start is not None:
                event["startTime"] = e.start
            if e.end is not None:
                event["endTime"] = e.end
            events.append(event)
        target = {
            "deploymentId": self.deployment_id,
            "targetId": self.target_id,
            "targetArn": self.target_arn(region, account),
            "status": _TARGET_STATUS.get(self.status, self.status),
            "lastUpdatedAt": self.last_updated(),
            "lifecycleEvents": events,
        }
        if self.compute_platform == "ECS":
            return {"deploymentTargetType": "ECSTarget", "ecsTarget": target}
        return {"deploymentTargetType": "LambdaTarget", "lambdaTarget": target}


class DeploymentBook:
    """The deployments the shim answers for, by id; thread-safe (moto's request threads read it).

    Tests and the emulator's caller write it (:meth:`create`, :meth:`fail`, :meth:`roll_back`,
    :meth:`start_lifecycle_event`, …); CodeDeploy's API reads it, and StopDeployment changes it.
    Methods naming an id that is not in the book raise ``KeyError`` (but :meth:`get`: None).
    """

    def __init__(self) -> None:
        """An empty book."""
        self._deployments: dict[str, EmulatedDeployment] = {}
        self._lock = threading.RLock()

    def __contains__(self, deployment_id: object) -> bool:
        with self._lock:
            return deployment_id in self._deployments

    def __len__(self) -> int:
        with self._lock:
            return len(self._deployments)

    def create(
        self,
        deployment_id: str,
        *,
        application: str = "orders",
        group: str = "orders-dg",
        status: str = "InProgress",
        creator: str = "user",
        compute_platform: str = "Lambda",
        rollback_of: str | None = None,
    ) -> EmulatedDeployment:
        """A new deployment; ``rollback_of`` links it (both ways) as the rollback of a deployment in the book.

        ``ValueError`` when the id is taken.
        """
        with self._lock:
            if deployment_id in self._deployments:
                raise ValueError(f"deployment {deployment_id} exists already")
            deployment = EmulatedDeployment(
                deployment_id,
                application=application,
                group=group,
                status=status,
                creator=creator,
                compute_platform=compute_platform,
                rollback_triggering_deployment_id=rollback_of,
            )
            if deployment.ended:
                deployment.complete_time = deployment.create_time
            if rollback_of is not None and (undone := self._deployments.get(rollback_of)) is not None:
                undone.rollback_deployment_id = deployment_id
                deployment.target_id = undone.target_id
            self._deployments[deployment_id] = deployment
            return deployment

    def ensure(self, deployment_id: str, **kw: Any) -> EmulatedDeployment:
        """The deployment of that id, created (with ``kw``, as :meth:`create` takes) when missing."""
        with self._lock:
            found = self._deployments.get(deployment_id)
            return found if found is not None else self.create(deployment_id, **kw)

    def get(self, deployment_id: str) -> EmulatedDeployment | None:
        """The deployment of that id, or None."""
        with self._lock:
            return self._deployments.get(deployment_id)

    def _get(self, deployment_id: str) -> EmulatedDeployment:
        found = self._deployments.get(deployment_id)
        if found is None:
            raise KeyError(deployment_id)
        return found

    def set_status(self, deployment_id: str, status: str) -> EmulatedDeployment:
        """Set the status; an ended one (Succeeded/Failed/Stopped) stamps ``complete_time``, others clear it."""
        with self._lock:
            deployment = self._get(deployment_id)
            deployment.status = status
            deployment.complete_time = _now() if status in ENDED_STATUSES else None
            return deployment

    def stop(self, deployment_id: str) -> EmulatedDeployment:
        """Status Stopped."""
        return self.set_status(deployment_id, "Stopped")

    def fail(self, deployment_id: str) -> EmulatedDeployment:
        """Status Failed."""
        return self.set_status(deployment_id, "Failed")

    def succeed(self, deployment_id: str) -> EmulatedDeployment:
        """Status Succeeded."""
        return self.set_status(deployment_id, "Succeeded")

    def roll_back(self, deployment_id: str, rollback_id: str | None = None) -> EmulatedDeployment:
        """Roll the deployment back as CodeDeploy does: returns the new rollback deployment.

        The deployment is marked Failed (unless it is Stopped or Failed already); the rollback
        (``rollback_id``, or a fresh ``d-…`` id) is InProgress, created by ``codeDeployRollback``,
        in the same application and group, on the same target; each names the other in its rollbackInfo.
        """
        with self._lock:
            undone = self._get(deployment_id)
            if undone.status not in ("Stopped", "Failed"):
                self.set_status(deployment_id, "Failed")
            return self.create(
                rollback_id or _deployment_id(),
                application=undone.application,
                group=undone.group,
                creator="codeDeployRollback",
                compute_platform=undone.compute_platform,
                rollback_of=deployment_id,
            )

    def start_lifecycle_event(self, deployment_id: str, name: str, at: datetime | None = None) -> LifecycleEvent:
        """The target's lifecycle event ``name`` is InProgress since ``at`` (default: now, UTC)."""
        with self._lock:
            deployment = self._get(deployment_id)
            event = deployment.event(name)
            if event is None:
                event = LifecycleEvent(name)
                deployment.lifecycle.append(event)
            event.status, event.start, event.end = "InProgress", at or _now(), None
            return event

    def end_lifecycle_event(self, deployment_id: str, name: str, status: str = "Succeeded") -> LifecycleEvent:
        """The target's lifecycle event ``name`` ends now with ``status`` (started now when it was not)."""
        with self._lock:
            deployment = self._get(deployment_id)
            event = deployment.event(name)
            end = _now()
            if event is None:
                event = LifecycleEvent(name, start=end)
                deployment.lifecycle.append(event)
            event.status, event.end = status, end
            event.start = event.start or end
            return event

    def clear(self) -> None:
        """Forget every deployment."""
        with self._lock:
            self._deployments.clear()

    def state_change_event(
        self, deployment_id: str, state: str, *, region: str = "eu-central-1", account: str = "123456789012"
    ) -> dict[str, Any]:
        """The EventBridge "CodeDeploy Deployment State-change Notification" for the deployment, now.

        ``state`` as CodeDeploy sends it: START, SUCCESS, FAILURE, STOP, READY, …
        """
        with self._lock:
            deployment = self._get(deployment_id)
            application, group, instance_group = deployment.application, deployment.group, deployment.instance_group_id
        prefix = f"arn:aws:codedeploy:{region}:{account}"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "source": "aws.codedeploy",
            "detail-type": "CodeDeploy Deployment State-change Notification",
            "region": region,
            "account": account,
            "time": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [f"{prefix}:application:{application}", f"{prefix}:deploymentgroup:{application}/{group}"],
            "detail": {
                "region": region,
                "application": application,
                "deploymentGroup": group,
                "deploymentId": deployment_id,
                "state": state,
                "instanceGroupId": instance_group,
            },
        }

    def _request_stop(self, deployment_id: str, auto_rollback: bool) -> str:
        """StopDeployment on a deployment of the book: the status message; refused when it has ended."""
        with self._lock:
            deployment = self._get(deployment_id)
            if deployment.ended:
                raise CodeDeployException(
                    "DeploymentAlreadyCompletedException", f"The deployment {deployment_id} has already completed."
                )
            self.stop(deployment_id)
            if not auto_rollback:
                return "Deployment stopped."
            rollback = self.roll_back(deployment_id)
            return f"Deployment stopped; rollback deployment {rollback.deployment_id} started."

    def _snapshot(
        self, deployment_id: str, view: Callable[[EmulatedDeployment], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """``view`` of the deployment taken under the lock, or None when it is not in the book."""
        with self._lock:
            found = self._deployments.get(deployment_id)
            return None if found is None else view(found)


class Shim:
    """The patches and what they record. Make one, or use the process-wide one of :func:`install`."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        """Nothing is patched until :func:`install` (or a test) applies :meth:`patches`."""
        self.latency_ms = latency_ms
        self.hooks = HookLedger()
        self.deployments = DeploymentBook()
        self.filters = FilterPropagation()
        self.busy = BusyInstances()
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def take_invocations(self) -> list[Invocation]:
        """The asynchronous invocations queued since the last call, oldest first (the queue is emptied)."""
        with self._lock:
            taken, self._invocations = self._invocations, []
        return taken

    def clear(self) -> None:
        """Forget the hook reports, the deployments and the queued invocations (moto's own state is reset apart)."""
        with self._lock:
            self.hooks.calls.clear()
            self.hooks.statuses.clear()
            self._invocations.clear()
        self.deployments.clear()
        self.filters.clear()
        self.busy.clear()

    @staticmethod
    def performance_insights(instance_id: str, *, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> bool:
        """Whether Performance Insights is on for the DB instance; ``KeyError`` when there is no such instance."""
        instance: Any = rds_backends[account_id][region].databases[instance_id]
        return bool(instance.performance_insights_enabled)

    def patches(self) -> list[Patch]:
        """Every patch of this module."""
        return [
            *self.codedeploy_patches(),
            *self.kinesis_consumer_patches(),
            *self.event_source_mapping_patches(),
            *self.performance_insights_patches(),
            Patch(RDSBackend, "stop_db_cluster", self.busy.stop_db_cluster(RDSBackend.stop_db_cluster)),
            *self.async_invoke_patches(),
            *self.latency_patches(),
            *(Patch(*patch) for patch in self.filters.patches()),
        ]

    def codedeploy_patches(self) -> list[Patch]:
        """CodeDeploy: hook reports (the first status wins, all calls recorded) and the book's deployments.

        GetDeployment / BatchGetDeployments answer for the deployments of :attr:`deployments` (others
        are moto's); StopDeployment, ListDeploymentTargets and GetDeploymentTarget are added.
        """
        book = self.deployments
        original_get_deployment = CodeDeployResponse.get_deployment

        def put_lifecycle_event_hook_execution_status(response: CodeDeployResponse) -> ActionResult:
            report = HookReport(
                response._get_param("deploymentId"),
                response._get_param("lifecycleEventHookExecutionId"),
                response._get_param("status"),
            )
            with self._lock:
                self.hooks.calls.append(report)
                if report.status not in ("Succeeded", "Failed"):
                    raise CodeDeployException(
                        "InvalidLifecycleEventHookExecutionStatusException", f"bad status {report.status}"
                    )
                deployment = book.get(report.deployment_id)
                if deployment is not None and deployment.ended:
                    raise CodeDeployException(
                        "LifecycleEventAlreadyCompletedException",
                        f"The deployment {report.deployment_id} has already completed ({deployment.status}).",
                    )
                if report.execution_id in self.hooks.statuses:
                    raise CodeDeployException(
                        "LifecycleEventAlreadyCompletedException",
                        f"The lifecycle event hook execution {report.execution_id} has already completed.",
                    )
                self.hooks.statuses[report.execution_id] = report.status
            return ActionResult({"lifecycleEventHookExecutionId": report.execution_id})

        def get_deployment(response: CodeDeployResponse) -> ActionResult:
            info = book._snapshot(response._get_param("deploymentId"), EmulatedDeployment.info)
            if info is None:
                return original_get_deployment(response)  # DeploymentDoesNotExistException when unknown
            return ActionResult({"deploymentInfo": info})

        def batch_get_deployments(response: CodeDeployResponse) -> ActionResult:
            infos: list[dict[str, Any]] = []
            for deployment_id in response._get_param("deploymentIds") or []:
                info = book._snapshot(deployment_id, EmulatedDeployment.info)
                if info is not None:
                    infos.append(info)
                else:  # moto's, skipped when unknown as moto does
                    found = response.codedeploy_backend.batch_get_deployments([deployment_id])
                    infos.extend(_deployment_info(deployment) for deployment in found)
            return ActionResult({"deploymentsInfo": infos})

        def stop_deployment(response: CodeDeployResponse) -> ActionResult:
            deployment_id = response._get_param("deploymentId")
            auto_rollback = str(response._get_param("autoRollbackEnabled")).lower() == "true"
            if deployment_id in book:
                message = book._request_stop(deployment_id, auto_rollback)
            else:  # moto's own deployment (DeploymentDoesNotExistException when unknown): stopped, no rollback
                deployment = response.codedeploy_backend.get_deployment(deployment_id)
                if deployment.status in ENDED_STATUSES:
                    raise CodeDeployException(
                        "DeploymentAlreadyCompletedException", f"The deployment {deployment_id} has already completed."
                    )
                deployment.status, deployment.complete_time = "Stopped", utcnow()
                message = "Deployment stopped."
            return ActionResult({"status": "Succeeded", "statusMessage": message})

        def list_deployment_targets(response: CodeDeployResponse) -> ActionResult:
            deployment_id = response._get_param("deploymentId")
            deployment = book.get(deployment_id)
            if deployment is None:
                response.codedeploy_backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
                return ActionResult({"targetIds": []})
            return ActionResult({"targetIds": [deployment.target_id]})

        def get_deployment_target(response: CodeDeployResponse) -> ActionResult:
            deployment_id, target_id = response._get_param("deploymentId"), response._get_param("targetId")
            region, account = response.region, response.current_account
            target = book._snapshot(
                deployment_id, lambda d: d.target(region, account) if d.target_id == target_id else {}
            )
            if target is None:
                response.codedeploy_backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
            if not target:
                raise CodeDeployException(
                    "DeploymentTargetDoesNotExistException",
                    f"The target {target_id} does not exist in the deployment {deployment_id}.",
                )
            return ActionResult({"deploymentTarget": target})

        return [
            Patch(
                CodeDeployResponse,
                "put_lifecycle_event_hook_execution_status",
                put_lifecycle_event_hook_execution_status,
            ),
            Patch(CodeDeployResponse, "get_deployment", get_deployment),
            Patch(CodeDeployResponse, "batch_get_deployments", batch_get_deployments),
            Patch(CodeDeployResponse, "stop_deployment", stop_deployment),
            Patch(CodeDeployResponse, "list_deployment_targets", list_deployment_targets),
            Patch(CodeDeployResponse, "get_deployment_target", get_deployment_target),
        ]

    @staticmethod
    def kinesis_consumer_patches() -> list[Patch]:
        """Lambda CreateEventSourceMapping accepts a registered Kinesis stream consumer ARN, and refuses a duplicate.

        A mapping of a function and an event source that already has one (whatever the source: queue,
        stream, consumer) is refused as AWS refuses it (:meth:`_refuse_duplicate_mapping`). A function
        given by partial ARN (``<account>:function:<name>``), which moto cannot resolve, is given to moto
        as the full ARN.
        """
        original = LambdaBackend.create_event_source_mapping

        def create_event_source_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
            Shim._refuse_duplicate_mapping(backend, spec)
            function = str(spec.get("FunctionName") or "")
            if not function.startswith("arn:") and ":function:" in function:
                spec["FunctionName"] = f"arn:{backend.partition}:lambda:{backend.region_name}:{function}"
            source = spec.get("EventSourceArn") or ""
            if ":kinesis:" in source and "/consumer/" in source:
                streams = kinesis_backends[backend.account_id][backend.region_name].streams.values()
                if any(c.consumer_arn == source for s in streams for c in s.consumers):
                    func = backend._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
                    spec.update({"RegionName": backend.region_name, "AccountId": backend.account_id})
                    spec["FunctionArn"] = func.function_arn
                    mapping = EventSourceMapping(spec)  # type: ignore[abstract]  # as moto itself makes them
                    backend._event_source_mappings[mapping.uuid] = mapping
                    return mapping
            return original(backend, spec)

        return [Patch(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)]

    @staticmethod
    def event_source_mapping_patches() -> list[Patch]:
        """Lambda ListEventSourceMappings finds a function's mappings by name, ARN or partial ARN, however made.

        ``FunctionName`` and each mapping's function as it was created are resolved alike
        (:meth:`_mapping_function`) and compared; an alias or a version is a function of its own, as in AWS
        (listing by the unqualified function does not return its alias's mappings). ``EventSourceArn``
        still filters by exact match.
        """

        def list_event_source_mappings(
            backend: LambdaBackend, event_source_arn: str | None, function_name: str | None
        ) -> list[EventSourceMapping]:
            mappings = list(backend._event_source_mappings.values())
            if event_source_arn:
                mappings = [m for m in mappings if m.event_source_arn == event_source_arn]
            if function_name:
                wanted = Shim._mapping_function(backend, function_name)
                mappings = [m for m in mappings if Shim._mapping_function(backend, m.function_name) == wanted]
            return mappings

        return [Patch(LambdaBackend, "list_event_source_mappings", list_event_source_mappings)]

    @staticmethod
    def _mapping_function(backend: LambdaBackend, function: str) -> tuple[str, str, str, str | None]:
        """``(account, region, name, qualifier)`` of a ``FunctionName`` as Lambda reads it.

        A name (``fn``, ``fn:alias``), a partial ARN (``123456789012:function:fn[:alias]``) or a full ARN
        (``arn:aws:lambda:<region>:<account>:function:fn[:alias]``); what a name leaves out is the backend's.
        """
        parts = function.split(":")
        if parts[0] == "arn" and len(parts) >= 7:
            account, region, rest = parts[4], parts[3], parts[6:]
        elif len(parts) >= 3 and parts[1] == "function":
            account, region, rest = parts[0], backend.region_name, parts[2:]
        else:
            account, region, rest = backend.account_id, backend.region_name, parts
        return account, region, rest[0], rest[1] if len(rest) > 1 else None

    @staticmethod
    def _refuse_duplicate_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> None:
        """``ResourceConflictException`` (409) when the function already has a mapping on ``EventSourceArn``.

        The messages are those AWS answers: ``An event source mapping with SQS arn (" <queue> ") and
        function (" <function> ") already exists. Please update or delete the existing mapping with UUID
        <uuid>`` for a queue; ``The event source arn (" <stream> ") and function (" <function> ") provided
        mapping already exists. Please update …`` for a stream or consumer. ``<function>`` is
        ``FunctionName`` as the request gave it.
        """
        source, function = spec.get("EventSourceArn") or "", spec.get("FunctionName") or ""
        if not source or not function:
            return  # moto's own create refuses what is missing
        wanted = Shim._mapping_function(backend, function)
        for mapping in backend._event_source_mappings.values():
            if mapping.event_source_arn == source and Shim._mapping_function(backend, mapping.function_name) == wanted:
                prefix = (
                    f'An event source mapping with SQS arn (" {source} ") and function (" {function} ") already exists.'
                    if ":sqs:" in source
                    else f'The event source arn (" {source} ") and function (" {function} ") provided mapping '
                    "already exists."
                )
                conflict = LambdaClientError(
                    "ResourceConflictException",
                    f"{prefix} Please update or delete the existing mapping with UUID {mapping.uuid}",
                )
                conflict.code = 409
                raise conflict

    @staticmethod
    def performance_insights_patches() -> list[Patch]:
        """ModifyDBInstance keeps EnablePerformanceInsights; DescribeDBInstances reports PerformanceInsightsEnabled."""
        original = RDSBackend.modify_db_instance

        def modify_db_instance(backend: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
            flag = db_kwargs.pop("EnablePerformanceInsights", None)
            database: Any = original(backend, db_instance_identifier, db_kwargs)
            if flag is not None:
                database.performance_insights_enabled = flag is True or str(flag).lower() == "true"
            return database

        return [
            Patch(RDSBackend, "modify_db_instance", modify_db_instance),
            # The serializer reads the snake_case attribute: a class default makes every instance report False.
            Patch(DBInstance, "performance_insights_enabled", False),
        ]

    def async_invoke_patches(self) -> list[Patch]:
        """Lambda Invoke with InvocationType=Event: queued, answered 202; other invocation types are moto's."""
        original = LambdaResponse.invoke

        def invoke(response: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
            if response.headers.get("X-Amz-Invocation-Type") != "Event":
                result: tuple[int, dict[str, str], str | bytes] = original(response)
                return result
            function = unquote(response.path.rsplit("/", 2)[-2])
            fn = response.backend.get_function(function, response._get_param("qualifier"))  # 404 when unknown
            body = response.body or b""
            payload = body.encode() if isinstance(body, str) else bytes(body)
            with self._lock:
                self._invocations.append(Invocation(function, fn.function_arn, payload))
            return 202, {"status": "202", "content-type": "application/json"}, b""

        return [Patch(LambdaResponse, "invoke", invoke)]

    def latency_patches(self) -> list[Patch]:
        """Every request to the moto server waits ``latency_ms`` in its own thread, then is dispatched."""
        original: Callable[..., Any] = DomainDispatcherApplication.__call__

        def __call__(app: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
            delay = self.latency_ms / 1000
            if delay > 0 and not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
                time.sleep(delay)
            return original(app, environ, start_response)

        return [Patch(DomainDispatcherApplication, "__call__", __call__)]


_install_lock = threading.Lock()
_installed: Shim | None = None
_originals: list[tuple[type, str, Any]] = []


def install() -> Shim:
    """Patch moto's classes in this process; idempotent (a second call returns the installed shim)."""
    global _installed  # noqa: PLW0603 - one set of patches per process
    with _install_lock:
        if _installed is None:
            shim = Shim()
            for patch in shim.patches():
                _originals.append((patch.owner, patch.name, patch.owner.__dict__.get(patch.name, _MISSING)))
                setattr(patch.owner, patch.name, patch.value)
            _installed = shim
        return _installed


def uninstall() -> None:
    """Put moto's classes back as they were; idempotent."""
    global _installed  # noqa: PLW0603
    with _install_lock:
        while _originals:
            owner, name, original = _originals.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _installed = None


def installed() -> Shim | None:
    """The process-wide shim while installed, else None."""
    return _installed
