"""moto has no CodeDeploy ``PutLifecycleEventHookExecutionStatus``: the shim's, applied for one test.

It behaves as AWS does for what the hooks rely on: the first Succeeded/Failed for an execution is
kept; any later report for the same execution is refused with LifecycleEventAlreadyCompletedException.
The one implementation is :mod:`bluegreen.local.shim` (the emulator uses it too).
"""

from __future__ import annotations

import pytest

from bluegreen.local.shim import HookLedger, Shim

__all__ = ["HookLedger", "install"]


def install(monkeypatch: pytest.MonkeyPatch) -> HookLedger:
    """Add the operation to moto until the test ends; returns the ledger of what was reported."""
    shim = Shim()
    for patch in shim.codedeploy_patches():
        monkeypatch.setattr(patch.owner, patch.name, patch.value, raising=False)
    return shim.hooks
