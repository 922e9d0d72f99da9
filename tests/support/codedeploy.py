"""What moto's CodeDeploy lacks, from the shim, applied for one test.

``PutLifecycleEventHookExecutionStatus`` behaves as AWS does for what the hooks rely on: the first
Succeeded/Failed for an execution is kept; any later report for the same execution is refused with
LifecycleEventAlreadyCompletedException (and so is any report for a deployment of the shim's book
that has ended). The shim's deployments (``shim.deployments``) answer GetDeployment, StopDeployment,
ListDeploymentTargets and GetDeploymentTarget. The one implementation is :mod:`bluegreen.local.shim`
(the emulator uses it too).
"""

from __future__ import annotations

import pytest

from bluegreen.local.shim import DeploymentBook, HookLedger, Shim

__all__ = ["DeploymentBook", "HookLedger", "Shim", "install", "install_answers", "install_shim"]


def install_shim(monkeypatch: pytest.MonkeyPatch) -> Shim:
    """Add the CodeDeploy patches to moto until the test ends; returns the shim (``hooks``, ``deployments``)."""
    shim = Shim()
    for patch in shim.codedeploy_patches():
        monkeypatch.setattr(patch.owner, patch.name, patch.value, raising=False)
    return shim


def install_answers(monkeypatch: pytest.MonkeyPatch, shim: Shim) -> None:
    """Lambda Invoke as the emulator answers it until the test ends: synchronous ones from ``shim.answers``
    (a verdict's smoke test), asynchronous ones queued in the shim (``shim.take_invocations()``)."""
    for patch in shim.async_invoke_patches():
        monkeypatch.setattr(patch.owner, patch.name, patch.value, raising=False)


def install(monkeypatch: pytest.MonkeyPatch) -> HookLedger:
    """Add the CodeDeploy patches to moto until the test ends; returns the ledger of what was reported."""
    return install_shim(monkeypatch).hooks
