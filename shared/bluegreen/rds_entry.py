"""What the three RDS-event handlers share: Powertools logging and metrics, and one cached runtime.

Importing this module does no I/O and needs no plan: the plan is read (``BLUEGREEN_PLAN_*``, as for
the hooks), and clients are made, on the first invocation, then reused by warm invocations of the
same process. A handler returns a summary of its batch, or raises :class:`bluegreen.rds.RdsBatchError`
naming the records that failed once every record was processed (Lambda then retries the event and
finally sends it to the on-failure destination). A plan that cannot be loaded raises too.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.hooks import lambda_reinvoker
from bluegreen.keep_stopped import keep_retired_stopped
from bluegreen.observability import logger, metrics
from bluegreen.plan import load_plan_from_env
from bluegreen.rds import BatchResult, Outcome, RdsRuntime, apply_tags, enable_performance_insights

_runtime: RdsRuntime | None = None


class RdsFunction(StrEnum):
    """The three RDS-event functions."""

    APPLY_TAGS = "rds_apply_tags"
    ENABLE_PERFORMANCE_INSIGHTS = "rds_enable_performance_insights"
    KEEP_RETIRED_STOPPED = "rds_keep_retired_stopped"


def runtime() -> RdsRuntime:
    """The process's :class:`RdsRuntime`, made on first use and kept while warm; made again when the plan changed.

    The plan is looked up at every invocation (an SSM plan is cached 5 minutes); when the lookup fails
    and a runtime exists, the last good one is kept.
    """
    global _runtime  # noqa: PLW0603 - one runtime per warm Lambda process
    try:
        plan = load_plan_from_env()
    except Exception:
        if _runtime is None:
            raise
        logger.exception("could not reload the plan; keeping the one loaded before")
        return _runtime
    if _runtime is None or _runtime.plan != plan:
        _runtime = RdsRuntime.from_env(plan=plan)
    return _runtime


def reset_runtime() -> None:
    """Forget the cached runtime (tests, or after the plan parameter changed)."""
    global _runtime  # noqa: PLW0603
    _runtime = None


def run(function: RdsFunction, event: dict[str, Any], context: LambdaContext) -> BatchResult:
    """Process one SNS event with ``function``'s logic (no logging set-up, no metrics)."""

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    if function is RdsFunction.APPLY_TAGS:
        return apply_tags(runtime(), event)
    if function is RdsFunction.ENABLE_PERFORMANCE_INSIGHTS:
        return enable_performance_insights(runtime(), event, time_left=time_left)
    return keep_retired_stopped(
        runtime(), event, time_left=time_left, reinvoke=lambda_reinvoker(context.invoked_function_arn)
    )


def rds_handler(function: RdsFunction) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for ``function``: JSON logs naming the function, a metric per outcome, a summary."""

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.append_keys(rds_function=function.value)
        try:
            result = run(function, event, context)
        except Exception:  # no plan, an event that is no SNS event: nothing was processed
            logger.exception("%s could not process the event", function.value)
            metrics.add_metric(name="RdsInvocationFailed", unit=MetricUnit.Count, value=1)
            raise
        for outcome in Outcome:
            metrics.add_metric(
                name=f"RdsRecords{outcome.value.title()}", unit=MetricUnit.Count, value=result.count(outcome)
            )
        result.raise_for_failures()
        return result.summary()

    return handler
