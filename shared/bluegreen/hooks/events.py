"""CodeDeploy's deployment state-change notifications: the deployment on record settled when it ends.

CodeDeploy stops or fails a deployment between its hooks (a canary alarm: AfterAllowTraffic never
comes, and the prepared replacement would keep consuming beside the live stack). An EventBridge
rule of the template sends its "CodeDeploy Deployment State-change Notification" events (states
FAILURE, STOP, SUCCESS) to the ``<stack>-deployment-events`` function, which calls
:func:`handle_state_change`:

- For the deployment on record with that id, :func:`bluegreen.hooks.decide.decide` says what settles it:
  FAILURE or STOP while ``preparing``/``prepared`` → the replacement back to retired; while
  ``flipped`` (or after a failed retire) → the old stack put back and live, then the replacement
  retired; SUCCESS while ``flipped`` → the retire finished. :func:`bluegreen.hooks.settle.run_settle` does it.
- Any other deployment id, a deployment already settled, or a state that needs nothing: nothing
  happens (EventBridge may deliver an event twice, or late).
- A failure after the retire had finished cannot be put back (the old stack is retired): it raises
  :class:`NeedsAttention`, so the event lands in the on-failure queue, whose alarm calls someone.
- The settle takes the application's lease. Held by a hook at work, it is waited for (polled) while
  the invocation has time; then :class:`LeaseBusy` is raised, so Lambda retries the event later.
- A settle still waiting when time runs low (a cluster still stopping before it can start again)
  re-invokes the function with the same event plus its progress (:data:`PROGRESS_KEY`); past
  :data:`DEADLINE_MINUTES` from the first delivery it fails.

Failures raise, so Lambda retries the event and then sends it to the on-failure queue: nothing is
lost. CodeDeploy's events are best effort; the next prepare also settles an ended deployment whose
event never came.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.engine import RunStatus, StepEvent
from bluegreen.hooks.clock import HANDOVER_GRACE_SECONDS, HANDOVER_SECONDS, Clock
from bluegreen.hooks.decide import Act, Intent, decide
from bluegreen.hooks.lease import Lease, new_token

if TYPE_CHECKING:
    from bluegreen.runtime import Reinvoker, Runtime

logger = logging.getLogger(__name__)

SOURCE = "aws.codedeploy"
DETAIL_TYPE = "CodeDeploy Deployment State-change Notification"
#: Where a re-invocation carries its progress, beside the event's own keys.
PROGRESS_KEY = "bluegreen_settle"
#: A settle gives up (and raises) this long after the event was first handled.
DEADLINE_MINUTES = 60
#: Seconds between two tries of a lease another runner holds; and the longest wait in one invocation
#: (longer than a hook's: an event has no CodeDeploy timeout; the hand-over times are the hooks').
LEASE_POLL_SECONDS = 5.0
LEASE_WAIT_SECONDS = 600.0


class NeedsAttention(RuntimeError):
    """The deployment cannot be settled by anyone but a person (say, a failure after the retire finished)."""


class LeaseBusy(RuntimeError):
    """Another runner held the application's lease for as long as this invocation could wait: retry later."""


class SettleFailed(RuntimeError):
    """The settle failed (an AWS error on a step): Lambda retries the event, then keeps it in the on-failure queue."""


@datatype
class StateChange:
    """The fields of a CodeDeploy state-change event that matter here, and the progress of a re-invocation."""

    deployment_id: str
    state: str
    application: str = ""
    group: str = ""
    first_seen: float | None = None
    invocation: int = 1
    token: str | None = None

    @classmethod
    def from_event(cls, event: object) -> StateChange:
        """Read ``detail.deploymentId`` and ``detail.state``; ``ValueError`` naming what is missing or wrong."""
        if not isinstance(event, Mapping):
            raise ValueError(f"a CodeDeploy state-change event is a JSON object, not {type(event).__name__}")
        if event.get("source") not in (None, SOURCE) or event.get("detail-type") not in (None, DETAIL_TYPE):
            raise ValueError(
                f"not a CodeDeploy state-change event: {event.get('source')!r} {event.get('detail-type')!r}"
            )
        detail = event.get("detail")
        if not isinstance(detail, Mapping):
            raise ValueError("not a CodeDeploy state-change event: no detail")
        missing = [key for key in ("deploymentId", "state") if not isinstance(detail.get(key), str) or not detail[key]]
        if missing:
            raise ValueError(f"not a CodeDeploy state-change event: detail has no {' and no '.join(missing)}")
        progress = event.get(PROGRESS_KEY)
        progress = progress if isinstance(progress, Mapping) else {}
        first, invocation, token = progress.get("first_seen"), progress.get("invocation"), progress.get("token")
        return cls(
            deployment_id=detail["deploymentId"],
            state=detail["state"],
            application=str(detail.get("application") or ""),
            group=str(detail.get("deploymentGroup") or ""),
            first_seen=float(first) if isinstance(first, int | float) and math.isfinite(first) else None,
            invocation=invocation if isinstance(invocation, int) and invocation >= 1 else 1,
            token=token if isinstance(token, str) and token else None,
        )


@datatype
class EventResult:
    """What one event did: ``nothing``, ``settled`` or ``continued`` (handed over), and why."""

    deployment_id: str
    state: str
    outcome: str
    message: str


def handle_state_change(
    event: Mapping[str, Any],
    *,
    runtime: Callable[[], Runtime],
    time_left: Callable[[], float],
    reinvoke: Reinvoker | None,
    on_event: Callable[[StepEvent], None] | None = None,
    now: Callable[[], float] = time.time,
    **engine_kw: Any,
) -> EventResult:
    """Settle the deployment the event names, when the record holds it unsettled (module docstring)."""
    change = StateChange.from_event(event)
    rt = runtime()
    app = rt.plan.application
    first_seen = change.first_seen if change.first_seen is not None else now()

    def decided() -> tuple[Any, Any]:
        record = rt.store.get(app)
        decision = decide(Intent.EVENT, change.deployment_id, record, None, state=change.state)
        if decision.act is Act.ATTENTION:
            raise NeedsAttention(decision.reason)
        return record, decision

    record, decision = decided()
    if decision.settle is None:
        logger.info("%s %s: %s", change.deployment_id, change.state, decision.reason)
        return EventResult(change.deployment_id, change.state, "nothing", decision.reason)
    lease = Lease(
        rt.store,
        app,
        owner=change.token or new_token(),
        holder=f"the deployment-events handler for {change.deployment_id} ({change.state})",
        clock=now,
    )
    held = lease.wait(
        lambda: now() + time_left(),
        seconds=min(time_left() - HANDOVER_SECONDS, LEASE_WAIT_SECONDS),
        poll=LEASE_POLL_SECONDS,
        sleep=engine_kw.get("sleep", time.sleep),
    )
    if held is not None:
        raise LeaseBusy(f"{app}: the lease is {held.describe(now())}; settling {change.deployment_id} is retried later")
    handed: list[bool] = []

    def handover(done: list[str], started: list[str]) -> None:
        if reinvoke is None:
            raise RuntimeError("the settle must wait and this function cannot re-invoke itself")
        again = {k: v for k, v in event.items() if k != PROGRESS_KEY}
        again[PROGRESS_KEY] = {"first_seen": first_seen, "invocation": change.invocation + 1, "token": lease.owner}
        reinvoke(again)
        handed.append(True)

    try:
        record, decision = decided()  # again, under the lease: a hook may have settled it meanwhile
        if decision.settle is None:
            return EventResult(change.deployment_id, change.state, "nothing", decision.reason)
        from bluegreen.hooks.settle import run_settle  # noqa: PLC0415 - with the flows it runs

        clock = Clock(first_started=first_seen, deadline_minutes=DEADLINE_MINUTES, time_left=time_left, now=now)
        result, message = run_settle(
            rt, record, decision.settle, clock, on_event=on_event, handover=handover, **engine_kw
        )
        if result.status is RunStatus.CONTINUE and handed:
            return EventResult(change.deployment_id, change.state, "continued", message)
        if result.status is not RunStatus.SUCCEEDED:
            raise SettleFailed(f"{decision.settle.reason}; {message}")
        logger.warning("%s %s: %s", change.deployment_id, change.state, message)
        return EventResult(change.deployment_id, change.state, "settled", message)
    finally:
        if handed:
            lease.keep_for_continuation(now() + max(0.0, time_left()) + HANDOVER_GRACE_SECONDS)
        else:
            lease.release()
