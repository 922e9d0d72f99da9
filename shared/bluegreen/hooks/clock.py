"""The time a run counts by, and what it does when the time runs short: the clock, the hand-over, the retry.

- :class:`Clock`: one invocation's time — when the hook execution first started, the plan's
  deadline counted from then, the time the invocation has left.
- **Hand-over.** When only waiting is left and time runs short, the caller's :data:`Handover` sends
  the continuation (a :data:`~bluegreen.runtime.Reinvoker` invokes the function again with it); if it cannot (no
  re-invoker, or the invoke fails), the run fails (:mod:`bluegreen.hooks.undo`).
- :class:`MustRetry`: the run cannot end safely now; raised so that Lambda retries the invocation.

The windows counted from the times on the live-stack record (the settle windows, the verdict's
observe window) are made in :mod:`bluegreen.hooks.windows`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bluegreen.datatypes import datatype
from bluegreen.engine import StepEvent
from bluegreen.plan.model import DEADLINE_RESERVE_SECONDS  # the plan checks its windows against it too

#: Time kept at the end of an invocation for a hand-over (the re-invocation and the lease renewal).
HANDOVER_SECONDS = 60.0
#: How long a lease outlives a hand-over, so that the continuation finds it still its own.
HANDOVER_GRACE_SECONDS = 120.0

#: Sends the continuation: the finished step ids, and every step id started so far (for a later undo).
Handover = Callable[[list[str], list[str]], None]
#: Sends a continuation event to the function itself (asynchronously): a new invocation picks it up.
EventSink = Callable[[StepEvent], None] | None


class MustRetry(RuntimeError):
    """The run cannot end safely now (the record could not be flipped back): raise, so that Lambda retries."""


@datatype(frozen=False)
class Clock:
    """Time for one invocation: when the hook execution first started, its deadline, the time left."""

    first_started: float
    deadline_minutes: int
    time_left: Callable[[], float]
    now: Callable[[], float] = time.time

    def deadline_left(self) -> float:
        """Seconds of work left: to the deadline (counted from the first start), less the reserve for the report."""
        return self.first_started + self.deadline_minutes * 60 - DEADLINE_RESERVE_SECONDS - self.now()


def hand_over(handover: Handover | None, done: list[str], started: list[str]) -> None:
    """Send the continuation through ``handover``; raise when there is none (the run then fails)."""
    if handover is None:
        raise RuntimeError("work is still pending and this run cannot re-invoke itself")
    handover(done, started)
