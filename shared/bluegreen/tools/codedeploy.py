"""CodeDeploy: report the outcome of a lifecycle hook execution, and read what CodeDeploy says of a deployment."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import ClientError

from bluegreen.aws import error_code, make_client
from bluegreen.datatypes import datatype

if TYPE_CHECKING:
    from mypy_boto3_codedeploy import CodeDeployClient
    from mypy_boto3_codedeploy.literals import LifecycleEventStatusType

logger = logging.getLogger(__name__)


class HookStatus(StrEnum):
    """The two statuses a hook reports to CodeDeploy."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class _CodeDeployUser:
    """Where CodeDeploy is called (the hooks' own region: CodeDeploy calls a hook there); one client, made once."""

    def __init__(self, *, region: str | None = None, session: boto3.Session | None = None) -> None:
        """Remember the region and session; no client is made yet."""
        self.region = region
        self.session = session
        self._client: CodeDeployClient | None = None

    @property
    def client(self) -> CodeDeployClient:
        """The CodeDeploy client, made once."""
        if self._client is None:
            self._client = cast("CodeDeployClient", make_client("codedeploy", region=self.region, session=self.session))
        return self._client


class CodeDeployReporter(_CodeDeployUser):
    """Sends ``PutLifecycleEventHookExecutionStatus`` for a deployment's hook execution."""

    def report(self, deployment_id: str, execution_id: str, status: HookStatus | str) -> bool:
        """Report ``status`` for the hook execution; True when CodeDeploy took it.

        ``LifecycleEventAlreadyCompletedException`` (the execution already has a status, from an
        earlier delivery of the same event) means done: it returns False. Any other error raises,
        so that Lambda retries the invocation; a different status is never sent instead.
        """
        value: LifecycleEventStatusType = "Succeeded" if HookStatus(status) is HookStatus.SUCCEEDED else "Failed"
        try:
            self.client.put_lifecycle_event_hook_execution_status(
                deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=value
            )
        except ClientError as exc:
            if error_code(exc) == "LifecycleEventAlreadyCompletedException":
                logger.info("hook execution %s already completed; %s not sent again", execution_id, value)
                return False
            raise
        logger.info("reported %s for hook execution %s of %s", value, execution_id, deployment_id)
        return True


#: Deployment statuses after which CodeDeploy has moved on: the deployment will never call a hook again.
ENDED_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
#: ``creator`` of a deployment that CodeDeploy (or CloudFormation) made to roll another one back.
ROLLBACK_CREATORS = frozenset({"codeDeployRollback", "CloudFormationRollback"})
#: The lifecycle events each hook can be wired at (prepare: BeforeAllowTraffic for Lambda, BeforeInstall for ECS).
PREPARE_EVENTS = ("BeforeAllowTraffic", "BeforeInstall")
RETIRE_EVENTS = ("AfterAllowTraffic",)
TEST_TRAFFIC_EVENTS = ("AfterAllowTestTraffic",)


@datatype
class DeploymentInfo:
    """What ``GetDeployment`` says of one deployment: where it belongs, its status, and what it rolls back.

    ``rollback_of`` is ``rollbackInfo.rollbackTriggeringDeploymentId`` (on a rollback deployment: the
    deployment it undoes); ``rolled_back_by`` is ``rollbackInfo.rollbackDeploymentId`` (on a deployment
    that failed or was stopped: the rollback CodeDeploy started for it).
    """

    deployment_id: str
    application: str
    group: str
    status: str
    creator: str = "user"
    rollback_of: str | None = None
    rolled_back_by: str | None = None
    compute_platform: str | None = None

    @property
    def ended(self) -> bool:
        """True once CodeDeploy has ended the deployment: Succeeded, Failed or Stopped (not Ready or Baking)."""
        return self.status in ENDED_STATUSES

    @property
    def is_rollback(self) -> bool:
        """True for a deployment CodeDeploy or CloudFormation made to roll another one back."""
        return self.creator in ROLLBACK_CREATORS and bool(self.rollback_of)

    def describe(self) -> str:
        """``d-1 of orders/orders-dg (Stopped)`` — for messages."""
        return f"{self.deployment_id} of {self.application}/{self.group} ({self.status})"

    @classmethod
    def from_response(cls, info: Mapping[str, Any]) -> DeploymentInfo:
        """From ``GetDeployment``'s ``deploymentInfo``."""
        rollback = info.get("rollbackInfo") or {}
        return cls(
            deployment_id=str(info.get("deploymentId", "")),
            application=str(info.get("applicationName", "")),
            group=str(info.get("deploymentGroupName", "")),
            status=str(info.get("status", "")),
            creator=str(info.get("creator") or "user"),
            rollback_of=rollback.get("rollbackTriggeringDeploymentId") or None,
            rolled_back_by=rollback.get("rollbackDeploymentId") or None,
            compute_platform=info.get("computePlatform"),
        )


class CodeDeployDeployments(_CodeDeployUser):
    """Reads deployments from CodeDeploy: ``GetDeployment``, and the lifecycle events of its target."""

    def get(self, deployment_id: str) -> DeploymentInfo | None:
        """``GetDeployment``: the deployment, or None when CodeDeploy does not know it (a run by hand).

        Any other error (throttling past the retries, access denied) raises.
        """
        try:
            found = self.client.get_deployment(deploymentId=deployment_id)
        except ClientError as exc:
            if error_code(exc) in (
                "DeploymentDoesNotExistException",
                "InvalidDeploymentIdException",
            ):
                return None
            raise
        return DeploymentInfo.from_response(cast("Mapping[str, Any]", found.get("deploymentInfo") or {}))

    def stop(self, deployment_id: str, *, auto_rollback: bool = True) -> str:
        """``StopDeployment`` (with ``autoRollbackEnabled``: CodeDeploy shifts traffic back); its status message.

        A deployment that has already completed (``DeploymentAlreadyCompletedException``) is left as it
        is: the answer says so. Any other error raises.
        """
        try:
            found = self.client.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=auto_rollback)
        except ClientError as exc:
            if error_code(exc) == "DeploymentAlreadyCompletedException":
                return f"deployment {deployment_id} had already completed"
            raise
        return str(found.get("statusMessage") or found.get("status") or "stop requested")

    def lifecycle_started(self, deployment_id: str, names: tuple[str, ...]) -> float | None:
        """When CodeDeploy started the lifecycle event ``names`` (epoch seconds) that is in progress, or None.

        ``ListDeploymentTargets`` then ``GetDeploymentTarget`` (Lambda and ECS targets list their lifecycle
        events with start times). Best effort: anything missing or any error gives None (logged).
        """
        try:
            targets = self.client.list_deployment_targets(deploymentId=deployment_id).get("targetIds") or []
            starts: list[float] = []
            for target_id in targets[:5]:
                found = self.client.get_deployment_target(deploymentId=deployment_id, targetId=target_id)
                target = cast("Mapping[str, Any]", found.get("deploymentTarget") or {})
                body = target.get("lambdaTarget") or target.get("ecsTarget") or {}
                for event in body.get("lifecycleEvents") or []:
                    start = event.get("startTime")
                    if event.get("lifecycleEventName") in names and isinstance(start, datetime):
                        starts.append(start.timestamp())
            return min(starts) if starts else None
        except Exception:  # the deadline then counts from the first start we saw
            logger.warning("could not read the lifecycle start of %s", deployment_id, exc_info=True)
            return None
