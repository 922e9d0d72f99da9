"""Flows run by hand (``bluegreen run``): the hooks' decisions and runs, outside CodeDeploy, to the end.

Each takes the application's lease for the plan's deadline first (another runner at work is a
:class:`~bluegreen.state.StateConflict`), reports nothing to CodeDeploy and re-invokes nothing:
waits are polled here until done, bounded by the plan's ``deadline_minutes`` counted from now.

- :func:`run_flow`: the prepare or the retire, decided as a hook decides (:func:`decide_for`).
- :func:`settle_by_hand`: a deployment CodeDeploy has ended (or never knew), settled as its
  state-change event would settle it.
- :func:`abort_by_hand`: a deployment in flight given up: CodeDeploy is asked to stop it (and roll its
  web tier back), then it is settled as its STOP event would settle it — the replacement put back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bluegreen.engine import RunResult, RunStatus, StepEvent
from bluegreen.hooks.clock import Clock
from bluegreen.hooks.decide import Act, Decision, decide_abort, decide_by_hand
from bluegreen.hooks.invocation import _decide_and_run
from bluegreen.hooks.lease import Lease, new_token
from bluegreen.hooks.settle import run_settle
from bluegreen.runtime import Flow, HookRequest, Runtime
from bluegreen.state import LiveRecord, StateConflict

__all__ = ["abort_by_hand", "run_flow", "settle_by_hand"]


@contextmanager
def _by_hand(runtime: Runtime, holder: str, now: Callable[[], float]) -> Iterator[None]:
    """The application's lease for a run by hand, for the plan's deadline; another runner at work: a conflict."""
    lease = Lease(runtime.store, runtime.plan.application, owner=new_token(), holder=holder, clock=now)
    held = lease.acquire(now() + runtime.deadline_minutes * 60)
    if held is not None:
        raise StateConflict(f"{runtime.plan.application}: another runner is at work, {held.describe(now())}")
    try:
        yield
    finally:
        lease.release()


def run_flow(
    runtime: Runtime,
    flow: Flow,
    deployment_id: str,
    *,
    on_event: Callable[[StepEvent], None] | None = None,
    execution_id: str = "manual",
    now: Callable[[], float] = time.time,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Run ``flow`` for ``deployment_id`` in this process, to the end: a flow run by hand (``bluegreen run``).

    The same decision (:func:`decide_for`), settle, record writes, fencing and undo on failure as the
    hooks, but outside CodeDeploy: no status is reported and nothing is re-invoked. CodeDeploy is asked
    about the deployment (a deployment it does not know is one run by hand). It takes the
    application's lease for the plan's deadline first, and releases it at the end; another runner
    holding it is a :class:`StateConflict`. Waits (an Aurora cluster starting) are polled here until
    done, bounded by the plan's ``deadline_minutes`` counted from now. ``execution_id`` only labels
    the request. Raises what the record raises (:class:`StateConflict`, a missing table) and :class:`MustRetry`.
    """
    request = HookRequest(deployment_id=deployment_id, execution_id=execution_id)
    clock = Clock(
        first_started=now(), deadline_minutes=runtime.deadline_minutes, time_left=lambda: float("inf"), now=now
    )
    info = runtime.deployments.get(deployment_id)
    with _by_hand(runtime, f"`bluegreen run {flow.value}` for {deployment_id}", now):
        return _decide_and_run(
            runtime, flow, request, info=info, clock=clock, on_event=on_event, handover=None, **engine_kw
        )


def settle_by_hand(
    runtime: Runtime,
    deployment_id: str,
    *,
    on_event: Callable[[StepEvent], None] | None = None,
    now: Callable[[], float] = time.time,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Settle deployment ``deployment_id`` by hand (``bluegreen run settle``), as its STOP event would.

    For a deployment CodeDeploy still runs, it refuses (:class:`StateConflict`: stop it first); for one
    CodeDeploy does not know (run by hand) or has ended, it takes the lease and runs the settle the
    deployment-events handler would run. Returns the run and a message.
    """
    info = runtime.deployments.get(deployment_id)
    with _by_hand(runtime, f"`bluegreen run settle` of {deployment_id}", now):
        record = runtime.store.get(runtime.plan.application)
        return _settled(runtime, record, decide_by_hand(deployment_id, record, info), now, on_event, **engine_kw)


def abort_by_hand(
    runtime: Runtime,
    deployment_id: str,
    *,
    on_event: Callable[[StepEvent], None] | None = None,
    now: Callable[[], float] = time.time,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Give up deployment ``deployment_id`` (``bluegreen run abort``): stop it, then put its replacement back.

    A deployment CodeDeploy still runs is stopped first (``StopDeployment`` with
    ``autoRollbackEnabled``: CodeDeploy shifts the web tier back). Then, under the lease, the record
    is settled as the deployment's STOP event would settle it (:func:`~bluegreen.hooks.settle.run_settle`):
    a flipped one gets its old stack back and live, and the replacement goes back to retired. The
    deployment's hooks that still run find it rolled back and report Failed. A deployment the record
    does not hold, or one already settled, changes nothing. Returns the run and a message.
    """
    info = runtime.deployments.get(deployment_id)
    stopped = ""
    if info is not None and not info.ended:
        stopped = f"CodeDeploy: {runtime.deployments.stop(deployment_id)}; "
    with _by_hand(runtime, f"`bluegreen run abort` of {deployment_id}", now):
        record = runtime.store.get(runtime.plan.application)
        decision = decide_abort(deployment_id, record)
        outcome = _settled(runtime, record, decision, now, on_event, **engine_kw)
    return outcome[0], stopped + outcome[1]


def _settled(
    runtime: Runtime,
    record: LiveRecord | None,
    decision: Decision,
    now: Callable[[], float],
    on_event: Callable[[StepEvent], None] | None,
    **engine_kw: Any,
) -> tuple[RunResult, str]:
    """Run the settle ``decision`` names (by hand: no hand-over), or answer it."""
    if decision.act is Act.REFUSE:
        raise StateConflict(decision.reason)
    if decision.act is Act.ATTENTION:
        return RunResult(RunStatus.FAILED), decision.reason
    if decision.settle is None or record is None:
        return RunResult(RunStatus.SUCCEEDED), decision.reason
    clock = Clock(
        first_started=now(), deadline_minutes=runtime.deadline_minutes, time_left=lambda: float("inf"), now=now
    )
    return run_settle(runtime, record, decision.settle, clock, on_event=on_event, handover=None, **engine_kw)
