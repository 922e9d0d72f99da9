"""What a warm function keeps between invocations, and how a wait continues in the next one.

:class:`WarmRuntime` keeps a function's runtime (the hooks' :class:`~bluegreen.runtime.Runtime`, the
RDS functions' :class:`~bluegreen.rds.runtime.RdsRuntime`) while the Lambda is warm; a wait that
outlives one invocation sends its progress, under :data:`PROGRESS_KEY`, to the function itself with
:func:`lambda_reinvoker`, and :func:`epoch_seconds` reads the times back. The RDS functions import
these from here, and so load none of the hooks' runtime (:mod:`bluegreen.runtime` re-exports them).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from bluegreen.aws import make_client
from bluegreen.plan import load_plan_from_env

if TYPE_CHECKING:
    from bluegreen.plan import Plan

__all__ = ["PROGRESS_KEY", "Reinvoker", "WarmRuntime", "epoch_seconds", "lambda_reinvoker"]

logger = logging.getLogger(__name__)

#: Sends a continuation event to the function itself (a wait that outlives one invocation).
Reinvoker = Callable[[dict[str, Any]], None]


def lambda_reinvoker(function_arn: str, *, region: str | None = None) -> Reinvoker:
    """A re-invoker that sends the continuation event to ``function_arn`` asynchronously (``InvocationType=Event``)."""

    def reinvoke(event: dict[str, Any]) -> None:
        client = make_client("lambda", region=region)
        client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(event).encode())

    return reinvoke


#: The key of a re-invocation's progress in the hook event.
PROGRESS_KEY = "bluegreen"


def epoch_seconds(value: object) -> float | None:
    """A finite epoch time from a continuation's progress, or None.

    Junk there (a number too large for a float, NaN, infinity) must neither crash the hook before it
    can report nor switch its deadline off.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


class _HasPlan(Protocol):
    plan: Any


R = TypeVar("R", bound=_HasPlan)


class WarmRuntime(Generic[R]):
    """A runtime kept while the Lambda is warm, made again when the plan changed (the hooks' and the RDS functions').

    The plan is looked up at every invocation (an SSM plan is cached 5 minutes, so this is usually
    free); when it changed, ``build(plan)`` makes a new runtime, so a warm Lambda never acts on an
    older plan than the one in force. When the lookup fails (SSM throttled, the parameter edited into
    an invalid plan) and a runtime exists, the last good one is kept.
    """

    def __init__(self, build: Callable[[Plan], R]) -> None:
        """Remember how to make a runtime from a plan; nothing is loaded yet."""
        self.build = build
        self.current: R | None = None

    def get(self) -> R:
        """The runtime for the plan in force (see the class docstring)."""
        try:
            plan = load_plan_from_env()
        except Exception:
            if self.current is None:
                raise
            logger.exception("could not reload the plan; keeping the one loaded before")
            return self.current
        if self.current is None or self.current.plan != plan:
            self.current = self.build(plan)
        return self.current

    def reset(self) -> None:
        """Forget the runtime (tests, or the emulator leaving an endpoint)."""
        self.current = None
