"""What the three RDS-event handlers share: Powertools logging and metrics, and one cached runtime.

Importing this module does no I/O and needs no plan: the plan is read (``BLUEGREEN_PLAN_*``, as for
the hooks), and clients are made, on the first invocation, then reused by warm invocations of the
same process. A handler takes the one SNS record of its invocation and returns a summary of what it
did with it, or raises :class:`bluegreen.rds.records.RdsRecordError` naming the record when it failed
(Lambda then retries the event and finally sends it to the on-failure destination). An event that is
no SNS event, or carries no record or several, raises ``ValueError``; a plan that cannot be loaded
raises too.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from bluegreen.observability import logger, metrics
from bluegreen.rds.records import Outcome, RecordResult
from bluegreen.rds.runtime import RdsRuntime
from bluegreen.warm import WarmRuntime, lambda_reinvoker

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext  # for annotations only

_warm: WarmRuntime[RdsRuntime] = WarmRuntime(lambda plan: RdsRuntime.from_env(plan=plan))


class RdsFunction(StrEnum):
    """The three RDS-event functions."""

    APPLY_TAGS = "rds_apply_tags"
    ENABLE_PERFORMANCE_INSIGHTS = "rds_enable_performance_insights"
    KEEP_RETIRED_STOPPED = "rds_keep_retired_stopped"


def runtime() -> RdsRuntime:
    """The process's :class:`RdsRuntime`, kept while warm and made again when the plan changed (see WarmRuntime)."""
    return _warm.get()


def reset_runtime() -> None:
    """Forget the cached runtime (tests, or after the plan parameter changed)."""
    _warm.reset()


Logic = Callable[[dict[str, Any], "LambdaContext"], RecordResult]


def logic(function: RdsFunction) -> Logic:
    """``function``'s logic, importing only its own module (a function's cold start loads no other's)."""
    # Imported here, once per handler: the tags function never loads keep-stopped's engine steps.
    if function is RdsFunction.APPLY_TAGS:
        from bluegreen.rds.readers import apply_tags  # noqa: PLC0415

        return lambda event, context: apply_tags(runtime(), event)
    if function is RdsFunction.ENABLE_PERFORMANCE_INSIGHTS:
        from bluegreen.rds.readers import enable_performance_insights  # noqa: PLC0415

        return lambda event, context: enable_performance_insights(runtime(), event, time_left=_time_left(context))
    from bluegreen.rds.keep_stopped import keep_retired_stopped  # noqa: PLC0415

    return lambda event, context: keep_retired_stopped(
        runtime(), event, time_left=_time_left(context), reinvoke=lambda_reinvoker(context.invoked_function_arn)
    )


def _time_left(context: LambdaContext) -> Callable[[], float]:
    return lambda: context.get_remaining_time_in_millis() / 1000


def run(function: RdsFunction, event: dict[str, Any], context: LambdaContext) -> RecordResult:
    """Process the SNS event's one record with ``function``'s logic (no logging set-up, no metrics)."""
    return logic(function)(event, context)


def rds_handler(function: RdsFunction) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for ``function``: JSON logs naming the function, a metric per outcome, a summary."""
    act = logic(function)

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.append_keys(rds_function=function.value)
        try:
            result = act(event, context)
        except Exception:  # no plan, an event that is no SNS event of one record: nothing was processed
            logger.exception("%s could not process the event", function.value)
            metrics.add_metric(name="RdsInvocationFailed", unit=MetricUnit.Count, value=1)
            raise
        for outcome in Outcome:
            metrics.add_metric(
                name=f"RdsRecords{outcome.value.title()}",
                unit=MetricUnit.Count,
                value=1 if result.outcome is outcome else 0,
            )
        result.raise_for_failure()
        return result.summary()

    return handler
