"""moto has no CodeDeploy ``PutLifecycleEventHookExecutionStatus``: this adds it, and records what was reported.

It behaves as AWS does for what the hooks rely on: the first Succeeded/Failed for an execution is
kept; any later report for the same execution is refused with LifecycleEventAlreadyCompletedException.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult


@dataclass
class HookLedger:
    """Every report request moto saw (``calls``) and the status each execution ended with (``statuses``)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def status(self, execution_id: str) -> str | None:
        return self.statuses.get(execution_id)


def install(monkeypatch: pytest.MonkeyPatch) -> HookLedger:
    ledger = HookLedger()

    def put_lifecycle_event_hook_execution_status(self: CodeDeployResponse) -> ActionResult:
        deployment_id = self._get_param("deploymentId")
        execution_id = self._get_param("lifecycleEventHookExecutionId")
        status = self._get_param("status")
        ledger.calls.append((deployment_id, execution_id, status))
        if status not in ("Succeeded", "Failed"):
            raise CodeDeployException("InvalidLifecycleEventHookExecutionStatusException", f"bad status {status}")
        if execution_id in ledger.statuses:
            raise CodeDeployException(
                "LifecycleEventAlreadyCompletedException",
                f"The lifecycle event hook execution {execution_id} has already completed.",
            )
        ledger.statuses[execution_id] = status
        return ActionResult({"lifecycleEventHookExecutionId": execution_id})

    monkeypatch.setattr(
        CodeDeployResponse,
        "put_lifecycle_event_hook_execution_status",
        put_lifecycle_event_hook_execution_status,
        raising=False,
    )
    return ledger
