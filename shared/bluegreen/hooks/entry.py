"""What the hook handlers share: Powertools logging and metrics around :func:`bluegreen.hooks.handle`.

Importing this module does no I/O and needs no plan: the plan is read, and clients are made, on the
first invocation, then reused by warm invocations of the same process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from bluegreen.engine import StepEvent, StepEventKind
from bluegreen.observability import logger, metrics
from bluegreen.runtime import Flow, HookRequest, Runtime
from bluegreen.verdict.model import BEFORE_RETIRE_STEP, BEFORE_TRAFFIC_STEP
from bluegreen.warm import WarmRuntime, lambda_reinvoker

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext  # for annotations only

#: The steps whose end is a verdict (metrics VerdictPassed / VerdictFailed).
VERDICT_STEPS = frozenset({BEFORE_TRAFFIC_STEP, BEFORE_RETIRE_STEP})

_warm: WarmRuntime[Runtime] = WarmRuntime(lambda plan: Runtime.from_env(plan=plan))

#: Extra receivers of every step event (the demo's live display); the handlers add none.
listeners: list[Callable[[StepEvent], None]] = []


def runtime() -> Runtime:
    """The process's :class:`Runtime`, kept while warm and made again when the plan changed (see WarmRuntime)."""
    return _warm.get()


def reset_runtime() -> None:
    """Forget the cached runtime (tests, or after the plan parameter changed)."""
    _warm.reset()


def hook_event(event: object) -> HookRequest:
    """The CodeDeploy lifecycle hook event, read: its two ids and any progress a re-invocation carries.

    An event without both ids, or not a JSON object, raises the ``ValueError`` of
    :meth:`HookRequest.from_event` naming what is wrong: there is no one to report to. The event is
    read by :class:`HookRequest` itself rather than by Powertools' event data classes: importing
    their package imports every event type it knows, about 10 ms of every cold start for two keys.
    """
    if not isinstance(event, dict):
        raise ValueError(f"a CodeDeploy hook event must be a JSON object, got {type(event).__name__}")
    return HookRequest.from_event(event)


def _record(event: StepEvent) -> None:
    for listener in listeners:
        listener(event)
    if event.kind is StepEventKind.DONE:
        metrics.add_metric(name="StepSucceeded", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="StepDuration", unit=MetricUnit.Seconds, value=event.seconds)
    elif event.kind is StepEventKind.FAILED:
        metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=1)
    if event.step.id in VERDICT_STEPS and event.kind in (StepEventKind.DONE, StepEventKind.FAILED):
        passed = event.kind is StepEventKind.DONE
        metrics.add_metric(name="VerdictPassed" if passed else "VerdictFailed", unit=MetricUnit.Count, value=1)


def hook_handler(flow: Flow) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for ``flow``: JSON logs with the deployment id on every line, metrics, one report."""
    # Here, not at the top: the deployment-events function, which shares this module, runs no hook.
    from bluegreen.hooks.invocation import handle  # noqa: PLC0415

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.append_keys(flow=flow.value)
        try:
            hook = hook_event(event)
            logger.append_keys(deployment_id=hook.deployment_id, hook_execution_id=hook.execution_id)
            result = handle(
                flow,
                event,
                runtime=runtime,
                time_left=lambda: context.get_remaining_time_in_millis() / 1000,
                reinvoke=lambda_reinvoker(context.invoked_function_arn),
                on_event=_record,
            )
        except ValueError:
            metrics.add_metric(name="InvalidEvent", unit=MetricUnit.Count, value=1)
            raise
        if result.status is not None:
            metrics.add_metric(name=f"Hook{result.status.value}", unit=MetricUnit.Count, value=1)
        return {
            "status": result.status.value if result.status else "Continued",
            "message": result.message,
            "steps": result.done,
        }

    return handler


def deployment_events_handler() -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of CodeDeploy's state-change events: settles the deployment on record when it ends.

    JSON logs with the deployment id and state on every line; metrics ``DeploymentSettled``,
    ``DeploymentEventIgnored`` and ``DeploymentSettleFailed``. Whatever cannot be settled now raises,
    so Lambda retries the event and then keeps it in the on-failure queue.
    """
    # Here, not at the top: the hook functions, which share this module, never read these events.
    from bluegreen.hooks.events import handle_state_change  # noqa: PLC0415

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        detail = event.get("detail") if isinstance(event, dict) else None
        if isinstance(detail, dict):
            logger.append_keys(deployment_id=detail.get("deploymentId"), state=detail.get("state"), flow="settle")
        try:
            result = handle_state_change(
                event,
                runtime=runtime,
                time_left=lambda: context.get_remaining_time_in_millis() / 1000,
                reinvoke=lambda_reinvoker(context.invoked_function_arn),
                on_event=_record,
            )
        except Exception:
            logger.exception("the deployment event could not be settled now")
            metrics.add_metric(name="DeploymentSettleFailed", unit=MetricUnit.Count, value=1)
            raise
        name = "DeploymentEventIgnored" if result.outcome == "nothing" else "DeploymentSettled"
        if result.outcome != "continued":
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        return {"outcome": result.outcome, "message": result.message, "deployment_id": result.deployment_id}

    return handler
