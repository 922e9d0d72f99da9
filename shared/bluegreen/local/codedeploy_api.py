"""CodeDeploy's API as the emulator answers it: lifecycle hook reports and the deployments of the book.

What moto lacks or gets wrong, patched into ``CodeDeployResponse`` (:func:`codedeploy_patches`):

- **PutLifecycleEventHookExecutionStatus** — not implemented by moto. Added as AWS behaves for what
  the hooks rely on: the first Succeeded/Failed of an execution is kept, any later report is refused
  with ``LifecycleEventAlreadyCompletedException``, and so is any report for a deployment of the book
  that has ended (Succeeded/Failed/Stopped: CodeDeploy has moved on). Every call is recorded
  (:class:`HookLedger`).
- **GetDeployment / BatchGetDeployments** answer for the deployments of the
  :class:`~bluegreen.local.codedeploy_model.DeploymentBook` (moto's own deployments, and its
  DeploymentDoesNotExistException, otherwise); **StopDeployment** stops one (``autoRollbackEnabled``:
  and rolls it back), refusing an ended one with ``DeploymentAlreadyCompletedException``;
  **ListDeploymentTargets / GetDeploymentTarget** report its one target (a Lambda alias or an ECS
  service) and that target's lifecycle events.
"""

from __future__ import annotations

import threading
from dataclasses import field
from typing import Any, NamedTuple

from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.responses import CodeDeployResponse, _deployment_info
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

from bluegreen.datatypes import datatype
from bluegreen.local.codedeploy_model import ENDED_STATUSES, DeploymentBook, EmulatedDeployment
from bluegreen.local.patching import Patch

__all__ = ["HookLedger", "HookReport", "codedeploy_patches"]


class HookReport(NamedTuple):
    """One PutLifecycleEventHookExecutionStatus request, as sent (accepted or not)."""

    deployment_id: str
    execution_id: str
    status: str


@datatype(frozen=False)
class HookLedger:
    """Every hook report request (``calls``) and the status each execution ended with (``statuses``)."""

    calls: list[HookReport] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def status(self, execution_id: str) -> str | None:
        """The status the execution ended with, or None when nothing was accepted for it."""
        return self.statuses.get(execution_id)


def codedeploy_patches(book: DeploymentBook, hooks: HookLedger, lock: threading.Lock) -> list[Patch]:
    """CodeDeploy: hook reports (the first status wins, all calls recorded) and the book's deployments.

    GetDeployment / BatchGetDeployments answer for the deployments of ``book`` (others are moto's);
    StopDeployment, ListDeploymentTargets and GetDeploymentTarget are added. Hook reports are written
    to ``hooks`` under ``lock`` (the one its owner clears it under).
    """
    original_get_deployment = CodeDeployResponse.get_deployment

    def put_lifecycle_event_hook_execution_status(response: CodeDeployResponse) -> ActionResult:
        report = HookReport(
            response._get_param("deploymentId"),
            response._get_param("lifecycleEventHookExecutionId"),
            response._get_param("status"),
        )
        with lock:
            hooks.calls.append(report)
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
            if report.execution_id in hooks.statuses:
                raise CodeDeployException(
                    "LifecycleEventAlreadyCompletedException",
                    f"The lifecycle event hook execution {report.execution_id} has already completed.",
                )
            hooks.statuses[report.execution_id] = report.status
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
        target = book._snapshot(deployment_id, lambda d: d.target(region, account) if d.target_id == target_id else {})
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
