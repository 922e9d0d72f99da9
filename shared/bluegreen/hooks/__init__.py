"""The hook family: everything the CodeDeploy hooks and the deployment-events function do, by room.

- :mod:`~bluegreen.hooks.invocation`: one hook invocation end to end (:func:`handle`). Its names are
  importable from here.
- :mod:`~bluegreen.hooks.by_hand`: flows run by hand (``bluegreen run``): :func:`run_flow`,
  :func:`settle_by_hand`, :func:`abort_by_hand` (importable from here too).
- :mod:`~bluegreen.hooks.entry`: the Powertools wrapper the Lambda handlers use.
- :mod:`~bluegreen.hooks.decide`: every decision, as one pure function (no AWS).
- :mod:`~bluegreen.hooks.runs`: prepare and retire against the live-stack record, and their record writes.
- :mod:`~bluegreen.hooks.fencing`: the live-stack guard every destructive step passes first.
- :mod:`~bluegreen.hooks.undo`: what each failure puts back, finished before Failed is reported.
- :mod:`~bluegreen.hooks.clock`: an invocation's time, the hand-over, :class:`MustRetry`.
- :mod:`~bluegreen.hooks.windows`: the settle windows and the verdict's context, counted from the record's times.
- :mod:`~bluegreen.hooks.settle`: settling a deployment that CodeDeploy ended.
- :mod:`~bluegreen.hooks.events`: CodeDeploy's state-change events (the deployment-events function).
- :mod:`~bluegreen.hooks.lease`: one runner at a time per application, and how a hook invocation takes it.

The types they share (:class:`~bluegreen.runtime.Runtime`, :class:`~bluegreen.runtime.HookRequest`,
:class:`~bluegreen.runtime.Flow`…) are in :mod:`bluegreen.runtime`, so no room imports another to
know them. The rooms import :mod:`~bluegreen.hooks.invocation`, never this package's names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bluegreen.hooks.by_hand import abort_by_hand, run_flow, settle_by_hand
    from bluegreen.hooks.invocation import (
        DEADLINE_ENV,
        HANDOVER_GRACE_SECONDS,
        HANDOVER_SECONDS,
        LEASE_POLL_SECONDS,
        LEASE_WAIT_SECONDS,
        PROGRESS_KEY,
        Flow,
        HookRequest,
        HookResult,
        Reinvoker,
        Runtime,
        Scope,
        decide_for,
        handle,
        lambda_reinvoker,
    )

__all__ = [
    "DEADLINE_ENV",
    "HANDOVER_GRACE_SECONDS",
    "HANDOVER_SECONDS",
    "LEASE_POLL_SECONDS",
    "LEASE_WAIT_SECONDS",
    "PROGRESS_KEY",
    "Flow",
    "HookRequest",
    "HookResult",
    "Reinvoker",
    "Runtime",
    "Scope",
    "abort_by_hand",
    "decide_for",
    "handle",
    "lambda_reinvoker",
    "run_flow",
    "settle_by_hand",
]

#: Where each name above lives: the names are loaded on first use (PEP 562), so that a Lambda
#: handler, which imports ``bluegreen.hooks.entry``, does not load the flows run by hand.
_BY_HAND = ("abort_by_hand", "run_flow", "settle_by_hand")


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    room = "bluegreen.hooks.by_hand" if name in _BY_HAND else "bluegreen.hooks.invocation"
    found = getattr(importlib.import_module(room), name)
    globals()[name] = found
    return found
