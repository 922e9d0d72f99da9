"""The one Powertools Logger and Metrics of every bluegreen Lambda function, and their warm runtime.

The Logger *is* the stdlib logger "bluegreen": every ``bluegreen.*`` module logger propagates to it,
so every line is JSON with the keys the handlers append (deployment id, hook execution id, flow).
One instance per process, shared by the hook handlers and the RDS-event handlers (a second
``Logger`` of the same service would not get Powertools' formatter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics

from bluegreen.plan import Plan, load_plan_from_env


class _HasPlan(Protocol):
    plan: Any


R = TypeVar("R", bound=_HasPlan)

logger = Logger(service="bluegreen")
metrics = Metrics(namespace="bluegreen", service="bluegreen")


class WarmRuntime(Generic[R]):
    """A runtime kept while the Lambda is warm, made again when the plan changed.

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
