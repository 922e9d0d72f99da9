"""What a verdict reads from AWS: alarm states, a smoke invocation, and metric data over a window.

Nothing here changes anything in AWS (a smoke function is the user's own, invoked as the plan says).

- :meth:`VerdictTools.alarm_states`: ``DescribeAlarms`` (every page) for each alarm set by name
  prefix, and for the named alarms by name (100 a call) — the state of every alarm found.
- :meth:`VerdictTools.invoke_smoke`: one synchronous ``Invoke`` (``RequestResponse``) of the smoke
  function, never retried (a retry would run the user's smoke test again), with the read timeout
  the plan gives; its answer, as one of four outcomes.
- :meth:`VerdictTools.window_metrics`: one ``GetMetricData`` (every page) over the window, at 60 s:
  ``AWS/Lambda`` Errors, Throttles and Invocations (Sum) per function, IteratorAge (Maximum) per
  function read from a stream, and ``AWS/SQS`` ApproximateNumberOfMessagesVisible (Maximum) per
  dead-letter queue.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from dataclasses import field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from bluegreen.aws import client_config, default_session
from bluegreen.datatypes import datatype
from bluegreen.tools._base import AwsConfig, BaseTools
from bluegreen.tools.cloudwatch import (
    ALARM_TYPE_MEMBERS,
    MAX_ALARMS_PER_CALL,
    AlarmStack,
    _batches,
    readable_alarm_types,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

__all__ = ["AlarmState", "SmokeAnswer", "VerdictConfig", "VerdictTools", "WindowMetrics"]

#: The period of the window's data points (CloudWatch's standard resolution for AWS metrics).
PERIOD_SECONDS = 60
#: GetMetricData takes at most 500 queries a call.
QUERIES_PER_CALL = 500
#: Seconds the smoke invocation's read timeout allows beyond the plan's timeout (the network, Lambda's own start).
SMOKE_READ_MARGIN_SECONDS = 5


@datatype
class AlarmState:
    """One alarm as CloudWatch holds it now: its state (``OK``, ``ALARM``, ``INSUFFICIENT_DATA``) and why."""

    name: str
    state: str
    reason: str = ""


@datatype
class SmokeAnswer:
    """How the smoke invocation ended: ``ok``, ``error`` (a function error), ``timeout``, ``missing`` or ``refused``.

    ``refused``: Lambda did not run the function (throttled, access denied, not reachable).

    ``detail`` says what Lambda answered (the error type and message, or the payload's start).
    """

    outcome: str
    detail: str = ""


@datatype(frozen=False)
class WindowMetrics:
    """The metric data of a window, by metric and resource.

    ``sums[(metric, function)]``: the sum of that Lambda metric over the window (0 without data);
    ``iterator_age_ms[function]``: the highest IteratorAge seen (None without data);
    ``depths[queue]``: ApproximateNumberOfMessagesVisible at each minute of the window, oldest first.
    """

    start: datetime
    end: datetime
    sums: dict[tuple[str, str], float] = field(default_factory=dict)
    iterator_age_ms: dict[str, float | None] = field(default_factory=dict)
    depths: dict[str, list[float]] = field(default_factory=dict)


@datatype(frozen=False, kw_only=True)
class VerdictConfig(AwsConfig):
    """Where the verdict reads (the region and account of the plan)."""


def _query(query_id: str, metric: tuple[str, str, str], dimension: tuple[str, str]) -> dict[str, Any]:
    """One GetMetricData query: ``metric`` is (namespace, name, statistic), ``dimension`` (name, value)."""
    namespace, name, stat = metric
    dimensions = [{"Name": dimension[0], "Value": dimension[1]}]
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
            "Period": PERIOD_SECONDS,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def window_bounds(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window aligned to whole minutes, as CloudWatch answers best: start floored, end rounded up."""
    floor = start.astimezone(UTC).replace(second=0, microsecond=0)
    top = end.astimezone(UTC)
    ceil = top.replace(second=0, microsecond=0)
    if ceil < top:
        ceil += timedelta(minutes=1)
    return floor, max(ceil, floor + timedelta(minutes=1))


class VerdictTools(BaseTools[VerdictConfig]):
    """Reads what a verdict judges: alarm states, a smoke function's answer, metrics over a window."""

    def __init__(self, config: VerdictConfig, **kw: Any) -> None:
        """Keep ``config``; no client is made yet."""
        super().__init__(config, **kw)
        self._invokers: dict[int, Any] = {}
        self._invoker_lock = threading.Lock()

    @property
    def _cloudwatch(self) -> CloudWatchClient:
        return cast("CloudWatchClient", self._client("cloudwatch"))

    def alarm_states(self, sets: Iterable[AlarmStack], names: Iterable[str] = ()) -> list[AlarmState]:
        """Every alarm of the ``sets`` (by name prefix, and suffix) and every alarm named, with its state, by name.

        ``DescribeAlarms`` per set (every page, every alarm type botocore can read) and for the names
        (100 a call). A named alarm that does not exist is answered with the state ``MISSING``.
        """
        kinds = readable_alarm_types(self._cloudwatch)
        found: dict[str, AlarmState] = {}
        requests: list[dict[str, Any]] = [{"AlarmNamePrefix": s.alarm_prefix} for s in sets]
        wanted = sorted(set(names))
        requests += [{"AlarmNames": batch} for batch in _batches(wanted, MAX_ALARMS_PER_CALL)]
        matchers = list(sets)
        for params in requests:
            if kinds != ("MetricAlarm",):
                params["AlarmTypes"] = list(kinds)
            for page in self._cloudwatch.get_paginator("describe_alarms").paginate(**params):
                for kind in kinds:
                    for alarm in cast("list[Any]", page.get(ALARM_TYPE_MEMBERS[kind], [])):
                        name = str(alarm.get("AlarmName", ""))
                        by_set = "AlarmNamePrefix" in params and any(m.matches(name) for m in matchers)
                        if name and (by_set or name in wanted):
                            state, reason = str(alarm.get("StateValue", "")), str(alarm.get("StateReason", ""))
                            found[name] = AlarmState(name, state, reason)
        for name in wanted:
            found.setdefault(name, AlarmState(name, "MISSING", "no alarm of this name in the region"))
        return [found[name] for name in sorted(found)]

    def _invoker(self, timeout_seconds: int) -> Any:
        """A Lambda client whose one attempt waits up to the smoke timeout (plus a margin) for the answer."""
        with self._invoker_lock:
            made = self._invokers.get(timeout_seconds)
            if made is None:
                config = client_config().merge(
                    Config(
                        read_timeout=timeout_seconds + SMOKE_READ_MARGIN_SECONDS,
                        retries={"mode": "standard", "total_max_attempts": 1},
                    )
                )
                session = self.session or default_session()
                made = session.client("lambda", region_name=self.config.region, config=config)
                self._invokers[timeout_seconds] = made
        return made

    def invoke_smoke(self, function: str, payload: Any, timeout_seconds: int) -> SmokeAnswer:  # noqa: PLR0911 - one per outcome
        """Invoke ``function`` once, synchronously, with ``payload`` (JSON); how it ended.

        ``ok``: it answered without ``FunctionError``. ``error``: it answered with one (the payload's
        ``errorType`` and ``errorMessage``). ``refused``: Lambda did not run it (the error code). ``timeout``: the
        function timed out (Lambda's ``Sandbox.Timedout``, or "Task timed out" in the message), or no
        answer came within ``timeout_seconds`` (plus :data:`SMOKE_READ_MARGIN_SECONDS`). ``missing``:
        no such function (``ResourceNotFoundException``).
        """
        body = json.dumps(payload if payload is not None else {}).encode()
        try:
            answer = self._invoker(timeout_seconds).invoke(
                FunctionName=function, InvocationType="RequestResponse", Payload=body
            )
        except ReadTimeoutError:
            return SmokeAnswer("timeout", f"no answer within {timeout_seconds} s (the plan's timeout_seconds)")
        except ConnectTimeoutError as exc:
            return SmokeAnswer("refused", f"could not reach Lambda: {exc}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            if code == "ResourceNotFoundException":
                return SmokeAnswer("missing", message or f"function {function} not found")
            return SmokeAnswer("refused", f"{code}: {message}")
        raw = answer["Payload"].read() if answer.get("Payload") is not None else b""
        text = raw.decode("utf-8", "replace")
        if not answer.get("FunctionError"):
            return SmokeAnswer("ok", text[:200])
        try:
            error = json.loads(text) if text else {}
        except ValueError:
            error = {"errorMessage": text}
        kind = str(error.get("errorType", "")) if isinstance(error, dict) else ""
        message = str(error.get("errorMessage", text)) if isinstance(error, dict) else text
        if kind == "Sandbox.Timedout" or "Task timed out" in message:
            return SmokeAnswer("timeout", f"the function timed out: {message[:300]}")
        described = f"{kind}: {message}" if kind else message
        return SmokeAnswer("error", f"{answer['FunctionError']} function error: {described[:300]}")

    def window_metrics(
        self,
        start: datetime,
        end: datetime,
        *,
        functions: Iterable[str] = (),
        stream_functions: Iterable[str] = (),
        queues: Iterable[str] = (),
    ) -> WindowMetrics:
        """The metric data of the window from ``start`` to ``end`` (aligned to whole minutes) for these resources.

        ``functions``: Lambda Errors, Throttles and Invocations (Sum); ``stream_functions``: Lambda
        IteratorAge (Maximum); ``queues``: SQS ApproximateNumberOfMessagesVisible (Maximum), each
        minute. One ``GetMetricData`` for up to 500 queries, every page.
        """
        begin, finish = window_bounds(start, end)
        out = WindowMetrics(begin, finish)
        queries: dict[str, tuple[str, str]] = {}
        specs: list[dict[str, Any]] = []
        for n, function in enumerate(dict.fromkeys(functions)):
            for metric in ("Errors", "Throttles", "Invocations"):
                query_id = f"f{n}{metric.lower()}"
                queries[query_id] = (metric, function)
                specs.append(_query(query_id, ("AWS/Lambda", metric, "Sum"), ("FunctionName", function)))
                out.sums[(metric, function)] = 0.0
        for n, function in enumerate(dict.fromkeys(stream_functions)):
            queries[f"i{n}"] = ("IteratorAge", function)
            specs.append(_query(f"i{n}", ("AWS/Lambda", "IteratorAge", "Maximum"), ("FunctionName", function)))
            out.iterator_age_ms[function] = None
        for n, queue in enumerate(dict.fromkeys(queues)):
            queries[f"q{n}"] = ("Depth", queue)
            depth = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
            specs.append(_query(f"q{n}", depth, ("QueueName", queue)))
            out.depths[queue] = []
        for batch in _batches(specs, QUERIES_PER_CALL):
            pages = self._cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=cast("Any", batch), StartTime=begin, EndTime=finish, ScanBy="TimestampAscending"
            )
            for page in pages:
                for result in page.get("MetricDataResults", []):
                    metric, resource = queries.get(result.get("Id", ""), ("", ""))
                    points = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
                    values = [float(v) for _, v in points if math.isfinite(float(v))]
                    if metric == "Depth":
                        out.depths[resource].extend(values)
                    elif metric == "IteratorAge":
                        seen = out.iterator_age_ms.get(resource)
                        top = max(values, default=None)
                        if top is not None:
                            out.iterator_age_ms[resource] = top if seen is None else max(seen, top)
                    elif metric:
                        out.sums[(metric, resource)] += sum(values)
        return out
