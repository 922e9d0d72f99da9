"""One reader per plan section: each turns a raw entry into its frozen entry, recording every problem.

A reader returns None when the entry had a problem (so whole-plan rules see only sound entries).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from bluegreen.plan.fields import (
    _bool,
    _Checker,
    _choice,
    _int,
    _join,
    _kind,
    _mapping,
    _not_a_string,
    _opt_text,
    _text,
)
from bluegreen.plan.model import (
    AlarmSet,
    AuroraEntry,
    AuroraOnRetire,
    CloudWatchEntry,
    DynamoEntry,
    DynamoOnRetire,
    EcsEntry,
    KinesisEntry,
    LambdaEntry,
    SnsEntry,
    SqsEntry,
    SqsQueues,
    StackPair,
    _copy,
)
from bluegreen.plan.names import (
    _ARN,
    _arn_problem,
    _base_name,
    _check_alias,
    _check_aurora,
    _check_bus,
    _check_cluster,
    _check_consumer,
    _check_function,
    _check_queue,
    _check_service,
    _check_stream_arn,
    _check_subscription_arn,
    _check_table,
)


def _required(ref: str, what: str) -> str:
    return f"name stack {ref}'s {what}"


def _read_ecs(c: _Checker, raw: object, path: str) -> EcsEntry | None:
    f = _mapping(c, raw, path, ("cluster", "a", "b", "desired_tasks"), "an ECS entry")
    if f is None:
        return None
    mark = c.count()
    cluster = _text(c, f, path, "cluster", "name the ECS cluster of both services", check=_check_cluster)
    a = _text(c, f, path, "a", _required("a", "ECS service"), check=_check_service)
    b = _text(c, f, path, "b", _required("b", "ECS service"), check=_check_service)
    if "desired_tasks" not in f:
        c.add(_join(path, "desired_tasks"), "required — the task count of a working service")
    tasks = _int(
        c, f, path, "desired_tasks", default=1, ok=lambda n: n >= 1, message="must be an integer of at least 1"
    )
    return EcsEntry(cluster=cluster, a=a, b=b, desired_tasks=tasks) if c.count() == mark else None


def _read_queues(c: _Checker, raw: object, path: str, ref: str) -> SqsQueues | None:
    if isinstance(raw, str):  # the shorthand `a: queue-name`
        queue = _opt_text(c, {ref: raw}, path.rpartition(".")[0], ref, check=_check_queue)
        return SqsQueues(queue=queue) if queue else None
    f = _mapping(c, raw, path, ("queue", "dlq"), "queue and dlq names, or just the queue name")
    if f is None:
        return None
    queue = _opt_text(c, f, path, "queue", required=f"name stack {ref}'s queue", check=_check_queue)
    dlq = _opt_text(c, f, path, "dlq", check=_check_queue)
    return SqsQueues(queue=queue, dlq=dlq) if queue else None


def _read_sqs(c: _Checker, raw: object, path: str) -> SqsEntry | None:
    f = _mapping(c, raw, path, ("a", "b"), "an SQS entry")
    if f is None:
        return None
    mark = c.count()
    pair = {}
    for ref in ("a", "b"):
        if ref not in f:
            c.add(_join(path, ref), f"required — {_required(ref, 'queue')}: {{queue: …, dlq: …}}")
        else:
            pair[ref] = _read_queues(c, f[ref], _join(path, ref), ref)
    a, b = pair.get("a"), pair.get("b")
    return SqsEntry(a=a, b=b) if a and b and c.count() == mark else None


def _read_filter(c: _Checker, f: Mapping[str, Any], path: str, key: str) -> dict[str, Any] | None:
    if key not in f:
        return None
    value, where = f[key], _join(path, key)
    if not isinstance(value, dict):
        c.add(where, f"must be an SNS filter policy (a mapping), got {_kind(value)}")
        return None
    for name, rule in value.items():
        if not isinstance(name, str) or not isinstance(rule, list | dict):
            c.add(_join(where, name), "must be a list of values or a nested mapping (an SNS filter policy rule)")
            return None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        c.add(where, "must hold only JSON values (strings, numbers, booleans, null, lists and mappings)")
        return None
    return cast("dict[str, Any]", _copy(value))


def _read_sns(c: _Checker, raw: object, path: str) -> SnsEntry | None:
    f = _mapping(c, raw, path, ("a", "b", "enabled_filter", "disabled_filter"), "an SNS entry")
    if f is None:
        return None
    mark = c.count()
    what = "give stack {}'s subscription ARN"
    a = _text(c, f, path, "a", what.format("a"), check=_check_subscription_arn)
    b = _text(c, f, path, "b", what.format("b"), check=_check_subscription_arn)
    enabled = _read_filter(c, f, path, "enabled_filter")
    disabled = _read_filter(c, f, path, "disabled_filter")
    if disabled == {}:
        c.add(_join(path, "disabled_filter"), "an empty policy matches every message: it would not disable anything")
    elif disabled is not None and disabled == (enabled if enabled is not None else {}):
        c.add(_join(path, "disabled_filter"), "is the same as enabled_filter: disabling would change nothing")
    if c.count() != mark:
        return None
    return SnsEntry(a=a, b=b, enabled_filter=enabled, disabled_filter=disabled)


def _read_lambda(c: _Checker, raw: object, path: str) -> LambdaEntry | None:
    f = _mapping(c, raw, path, ("a", "b", "alias", "event_buses"), "a Lambda entry")
    if f is None:
        return None
    mark = c.count()
    a = _text(c, f, path, "a", _required("a", "function"), check=_check_function)
    b = _text(c, f, path, "b", _required("b", "function"), check=_check_function)
    alias = _opt_text(c, f, path, "alias", check=_check_alias)
    buses: tuple[str, ...] = ("default",)
    if "event_buses" in f:
        raw_buses, where = f["event_buses"], _join(path, "event_buses")
        if not isinstance(raw_buses, list) or not raw_buses:
            c.add(where, f"must be a non-empty list of EventBridge bus names or ARNs, got {_kind(raw_buses)}")
        else:
            listed = dict(enumerate(raw_buses))
            found = [_opt_text(c, listed, where, i, check=_check_bus) for i in listed]
            buses = tuple(bus for bus in found if bus)
            if len(set(buses)) != len(buses):
                c.add(where, "lists a bus twice")
    if c.count() != mark:
        return None
    return LambdaEntry(a=a, b=b, alias=alias, event_buses=buses)


def _read_alarms(c: _Checker, raw: object, path: str, ref: str) -> AlarmSet | None:
    if isinstance(raw, str):  # the shorthand `a: alarm-prefix`
        prefix = _opt_text(c, {ref: raw}, path.rpartition(".")[0], ref, spaces=True)
        return AlarmSet(alarm_prefix=prefix) if prefix else None
    f = _mapping(c, raw, path, ("alarm_prefix", "alarm_suffix"), "alarm_prefix and alarm_suffix, or just the prefix")
    if f is None:
        return None
    prefix = _opt_text(c, f, path, "alarm_prefix", required=f"the prefix of stack {ref}'s alarm names", spaces=True)
    suffix = _opt_text(c, f, path, "alarm_suffix", spaces=True)
    return AlarmSet(alarm_prefix=prefix, alarm_suffix=suffix) if prefix else None


def _read_cloudwatch(c: _Checker, raw: object, path: str) -> CloudWatchEntry | None:
    f = _mapping(c, raw, path, ("a", "b"), "a CloudWatch entry")
    if f is None:
        return None
    mark = c.count()
    sets = {}
    for ref in ("a", "b"):
        if ref not in f:
            c.add(_join(path, ref), f"required — stack {ref}'s alarms: {{alarm_prefix: …, alarm_suffix: …}}")
        else:
            sets[ref] = _read_alarms(c, f[ref], _join(path, ref), ref)
    a, b = sets.get("a"), sets.get("b")
    return CloudWatchEntry(a=a, b=b) if a and b and c.count() == mark else None


def _int_rule(lo: int, hi: int, *, also: tuple[int, ...] = ()) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and (lo <= value <= hi or value in also):
            return None
        extra = "".join(f" or {n}" for n in also)
        return f"must be an integer from {lo} to {hi}{extra}"

    return check


def _bool_rule(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _position_rule(value: object) -> str | None:
    if value in ("LATEST", "TRIM_HORIZON"):
        return None
    return "must be LATEST or TRIM_HORIZON (AT_TIMESTAMP makes no sense for a mapping re-created at each deployment)"


def _response_types_rule(value: object) -> str | None:
    if isinstance(value, list) and all(item == "ReportBatchItemFailures" for item in value):
        return None
    return "must be a list holding only ReportBatchItemFailures"


def _destination_rule(value: object) -> str | None:
    if isinstance(value, str):
        for service in ("sqs", "sns"):
            if _ARN.fullmatch(value) and _arn_problem(value, service, "")[1] is None:
                return None
    return "must be the ARN of an SQS queue or SNS topic (arn:aws:sqs:… or arn:aws:sns:…)"


#: The check of each ``mapping`` key of a Kinesis entry, in document order (the parameter each key
#: sets is in :data:`bluegreen.plan.model._MAPPING_PARAMETERS`).
_MAPPING_RULES: dict[str, Callable[[object], str | None]] = {
    "starting_position": _position_rule,
    "batch_size": _int_rule(1, 10000),
    "maximum_batching_window_in_seconds": _int_rule(0, 300),
    "parallelization_factor": _int_rule(1, 10),
    "maximum_record_age_in_seconds": _int_rule(60, 604800, also=(-1,)),
    "maximum_retry_attempts": _int_rule(-1, 10000),
    "bisect_batch_on_function_error": _bool_rule,
    "tumbling_window_in_seconds": _int_rule(0, 900),
    "function_response_types": _response_types_rule,
    "on_failure_destination": _destination_rule,
}


def _read_feeds(c: _Checker, raw: object, path: str) -> StackPair | None:
    f = _mapping(c, raw, path, ("a", "b"), "the function each stack's consumer feeds: {a: …, b: …}")
    if f is None:
        return None
    what = "name the function stack {}'s consumer feeds"
    a = _opt_text(c, f, path, "a", required=what.format("a"), check=_check_function)
    b = _opt_text(c, f, path, "b", required=what.format("b"), check=_check_function)
    if a and b and _base_name(a) == _base_name(b):
        c.add(_join(path, "b"), "the same function as a — each stack's consumer feeds its own stack's function")
        return None
    return StackPair(a=a, b=b) if a and b else None


def _read_kinesis(c: _Checker, raw: object, path: str) -> KinesisEntry | None:
    f = _mapping(c, raw, path, ("stream_arn", "a", "b", "feeds", "mapping"), "a Kinesis entry")
    if f is None:
        return None
    mark = c.count()
    stream = _text(c, f, path, "stream_arn", "the ARN of the stream both consumers read", check=_check_stream_arn)
    a = _text(c, f, path, "a", _required("a", "stream consumer"), check=_check_consumer)
    b = _text(c, f, path, "b", _required("b", "stream consumer"), check=_check_consumer)
    feeds = _read_feeds(c, f["feeds"], _join(path, "feeds")) if "feeds" in f else None
    mapping: dict[str, Any] = {}
    if "mapping" in f:
        where = _join(path, "mapping")
        if "feeds" not in f:
            c.add(where, "applies only to the mappings re-created for feeds: add feeds or remove mapping")
        settings = _mapping(c, f["mapping"], where, tuple(_MAPPING_RULES), "CreateEventSourceMapping settings")
        for key, value in (settings or {}).items():
            problem = _MAPPING_RULES[key](value)
            if problem:
                c.add(_join(where, key), problem)
            else:
                mapping[key] = _copy(value)
    if c.count() != mark:
        return None
    return KinesisEntry(stream_arn=stream, a=a, b=b, feeds=feeds, mapping=mapping)


def _read_dynamodb(c: _Checker, raw: object, path: str) -> DynamoEntry | None:
    f = _mapping(c, raw, path, ("a", "b", "on_retire", "wait_for_delete"), "a DynamoDB entry")
    if f is None:
        return None
    mark = c.count()
    a = _text(c, f, path, "a", _required("a", "table"), check=_check_table)
    b = _text(c, f, path, "b", _required("b", "table"), check=_check_table)
    on_retire = _choice(c, f, path, "on_retire", ("keep", "delete"))
    wait = _bool(c, f, path, "wait_for_delete", False)
    if wait and on_retire != "delete":
        c.add(_join(path, "wait_for_delete"), "applies only with on_retire: delete")
    if c.count() != mark:
        return None
    return DynamoEntry(a=a, b=b, on_retire=cast("DynamoOnRetire", on_retire), wait_for_delete=wait)


def _read_tags(c: _Checker, raw: object, path: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        c.add(path, f"must be a mapping of tag keys to values, got {_kind(raw)}")
        return {}
    if len(raw) > 50:
        c.add(path, "must hold at most 50 tags")
    tags: dict[str, str] = {}
    charset = re.compile(r"[\w\s.:/=+@-]*")
    for key, value in raw.items():
        where = _join(path, key)
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not charset.fullmatch(key):
            c.add(where, "a tag key must be 1 to 128 letters, digits, spaces and . : / = + - @ _")
        elif key.lower().startswith("aws:"):
            c.add(where, "tag keys starting with aws: are reserved for AWS")
        elif not isinstance(value, str):
            c.add(where, _not_a_string(value))
        elif len(value) > 256 or not charset.fullmatch(value):
            c.add(where, "a tag value must be up to 256 letters, digits, spaces and . : / = + - @ _")
        else:
            tags[key] = value
    return tags


def _read_aurora(c: _Checker, raw: object, path: str) -> AuroraEntry | None:
    keys = ("a", "b", "minimum_cluster_size", "on_retire", "skip_delete_snapshots", "namespace", "tags")
    f = _mapping(c, raw, path, keys, "an Aurora entry")
    if f is None:
        return None
    mark = c.count()
    a = _text(c, f, path, "a", _required("a", "cluster"), check=_check_aurora)
    b = _text(c, f, path, "b", _required("b", "cluster"), check=_check_aurora)
    size = _int(
        c,
        f,
        path,
        "minimum_cluster_size",
        default=1,
        ok=lambda n: 0 <= n <= 15,
        message="must be an integer from 0 to 15 (the reader count an Aurora cluster keeps; it has at most 15)",
    )
    on_retire = _choice(c, f, path, "on_retire", ("stop", "delete", "keep"))
    skip = _bool(c, f, path, "skip_delete_snapshots", False)
    if skip and on_retire != "delete":
        c.add(_join(path, "skip_delete_snapshots"), "applies only with on_retire: delete")
    namespace = _opt_text(c, f, path, "namespace") or "*"
    tags = _read_tags(c, f["tags"], _join(path, "tags")) if "tags" in f else {}
    if c.count() != mark:
        return None
    return AuroraEntry(
        a=a,
        b=b,
        minimum_cluster_size=size,
        on_retire=cast("AuroraOnRetire", on_retire),
        skip_delete_snapshots=skip,
        namespace=namespace,
        tags=tags,
    )


_READERS: dict[str, Callable[[_Checker, object, str], Any]] = {
    "ecs": _read_ecs,
    "sqs": _read_sqs,
    "sns": _read_sns,
    "lambda": _read_lambda,
    "cloudwatch": _read_cloudwatch,
    "kinesis": _read_kinesis,
    "dynamodb": _read_dynamodb,
    "aurora": _read_aurora,
}
