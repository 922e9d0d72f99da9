"""The CodeDeploy deployments the emulator answers for: their ids, statuses, rollbacks and lifecycle events.

moto gives deployments uuid ids, leaves them "Created", answers ``rollbackInfo: {}`` and keeps no
lifecycle events; the hooks read a deployment's status, creator and rollbackInfo, and their lifecycle
event's start time (their deadline). :class:`DeploymentBook` keeps deployments of its own
(:class:`EmulatedDeployment`), with the ids, statuses, rollbacks and lifecycle times a test or the
emulator's caller chooses, and builds what CodeDeploy's API answers for them (``deploymentInfo``,
``deploymentTarget``) and the EventBridge notification CodeDeploy would send
(:meth:`DeploymentBook.state_change_event`). The API itself is patched into moto by
:mod:`bluegreen.local.codedeploy_api`; ``Shim.deployments`` (:mod:`bluegreen.local.shim`) is the book it reads.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from moto.codedeploy.exceptions import CodeDeployException

from bluegreen.datatypes import datatype

__all__ = ["ENDED_STATUSES", "DeploymentBook", "EmulatedDeployment", "LifecycleEvent"]

ENDED_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
"""Deployment statuses CodeDeploy does not leave: nothing more happens to such a deployment."""

_TARGET_STATUS = {"Created": "Pending", "Queued": "Pending", "Baking": "InProgress", "Stopped": "Failed"}


def _now() -> datetime:
    return datetime.now(UTC)


def _deployment_id() -> str:
    """An id shaped like CodeDeploy's: ``d-`` and nine upper-case letters and digits."""
    return "d-" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))


@datatype(frozen=False)
class LifecycleEvent:
    """One lifecycle event of a deployment's (one) target, as GetDeploymentTarget reports it."""

    name: str
    status: str = "InProgress"  # Pending|InProgress|Succeeded|Failed|Skipped|Unknown
    start: datetime | None = None
    end: datetime | None = None


@datatype(frozen=False)
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
