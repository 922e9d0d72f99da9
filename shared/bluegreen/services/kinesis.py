"""Kinesis: each stack's enhanced fan-out consumer on one stream, and the function each one feeds.

A consumer cannot be paused, so it is the stack's presence on the stream: the prepare registers the
replacement's consumer (and maps the function it feeds to it, with the plan's ``mapping`` settings);
the retire deletes the old function's mapping and deregisters the old consumer (irreversible: a
new consumer starts from the plan's starting position). A mapping in transition is a wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, PENDING, Step, StepStatus
from bluegreen.reading.fields import _Checker, _copy, _join, _mapping, _opt_text, _text
from bluegreen.reading.names import _ARN, _arn_problem, _base_name, _check_consumer, _check_function, _check_stream_arn
from bluegreen.refs import StackReference, as_ref
from bluegreen.services._kit import Claim, Phased, Reading, Row, Service, ToolSource, done, mode_of, pick
from bluegreen.services.lambda_ import MAPPING_BOUND_SECONDS, mapping_rows, polled

if TYPE_CHECKING:
    import boto3

    from bluegreen.tools.kinesis import KinesisConfig, KinesisTools
    from bluegreen.tools.lambda_ import LambdaTools


@datatype(kw_only=True)
class StackPair:
    """One name for stack a and one for stack b."""

    a: str
    b: str

    def pick(self, ref: StackReference | str) -> str:
        """The name for stack ``ref``."""
        return self.a if as_ref(ref) is StackReference.A else self.b


#: The ``mapping`` keys of a Kinesis entry and the ``CreateEventSourceMapping`` parameter of each.
_MAPPING_PARAMETERS: dict[str, str] = {
    "starting_position": "StartingPosition",
    "batch_size": "BatchSize",
    "maximum_batching_window_in_seconds": "MaximumBatchingWindowInSeconds",
    "parallelization_factor": "ParallelizationFactor",
    "maximum_record_age_in_seconds": "MaximumRecordAgeInSeconds",
    "maximum_retry_attempts": "MaximumRetryAttempts",
    "bisect_batch_on_function_error": "BisectBatchOnFunctionError",
    "tumbling_window_in_seconds": "TumblingWindowInSeconds",
    "function_response_types": "FunctionResponseTypes",
    "on_failure_destination": "DestinationConfig",
}


@datatype(kw_only=True)
class KinesisEntry:
    """The enhanced fan-out consumer of each stack on ``stream_arn``, and the Lambda each one feeds.

    ``mapping`` holds the plan's ``mapping`` settings (snake_case keys, checked values);
    :meth:`mapping_params` gives them as ``CreateEventSourceMapping`` parameters.
    """

    stream_arn: str
    a: str
    b: str
    feeds: StackPair | None = None
    mapping: dict[str, Any] = field(default_factory=dict)

    def config(self, region: str, account_id: str | None = None) -> KinesisConfig:
        """The :class:`~bluegreen.tools.kinesis.KinesisConfig` of this entry."""
        from bluegreen.tools.kinesis import KinesisConfig  # noqa: PLC0415 - tools load only when used

        return KinesisConfig(
            region=region,
            account_id=account_id,
            stream_arn=self.stream_arn,
            consumer_name_a=self.a,
            consumer_name_b=self.b,
        )

    def mapping_params(self) -> dict[str, Any]:
        """Extra ``CreateEventSourceMapping`` parameters for a fed Lambda (``StartingPosition`` LATEST by default)."""
        params: dict[str, Any] = {"StartingPosition": "LATEST"}
        for key, value in self.mapping.items():
            if key == "on_failure_destination":
                params["DestinationConfig"] = {"OnFailure": {"Destination": value}}
            else:
                params[_MAPPING_PARAMETERS[key]] = _copy(value)
        return params

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        doc: dict[str, Any] = {"stream_arn": self.stream_arn, "a": self.a, "b": self.b}
        if self.feeds is not None:
            doc["feeds"] = {"a": self.feeds.a, "b": self.feeds.b}
        if self.mapping:
            doc["mapping"] = _copy(self.mapping)
        return doc


# --------------------------------------------------------------------------- reading a plan entry


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


#: The check of each ``mapping`` key, in document order (the parameter each sets: :data:`_MAPPING_PARAMETERS`).
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


def read(c: _Checker, raw: object, path: str) -> KinesisEntry | None:
    """Check one raw ``kinesis`` entry: the stream, two consumers, and what each one feeds."""
    f = _mapping(c, raw, path, ("stream_arn", "a", "b", "feeds", "mapping"), "a Kinesis entry")
    if f is None:
        return None
    mark = c.count()
    stream = _text(c, f, path, "stream_arn", "the ARN of the stream both consumers read", check=_check_stream_arn)
    a = _text(c, f, path, "a", "name stack a's stream consumer", check=_check_consumer)
    b = _text(c, f, path, "b", "name stack b's stream consumer", check=_check_consumer)
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


def claims(entry: KinesisEntry, path: str) -> list[Claim]:
    """Each stack's consumer, by stream and consumer name."""
    return [Claim("Kinesis consumer", (entry.stream_arn, entry.a), _join(path, "a")),
            Claim("Kinesis consumer", (entry.stream_arn, entry.b), _join(path, "b"))]  # fmt: skip


# --------------------------------------------------------------------------- the flows' steps


def consumer_active(tools: KinesisTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Register the consumer; done once it is ACTIVE (one still DELETING from a retire is waited for first)."""

    def action() -> StepStatus:
        status = tools.consumer_status(ref)
        if status == "ACTIVE":
            return DONE
        if status is None:
            status = tools.register_consumer(ref).get("ConsumerStatus")
        return DONE if status == "ACTIVE" else PENDING

    return action


def _on_stream(entry: KinesisEntry, mapping: dict[str, Any]) -> bool:
    return str(mapping.get("EventSourceArn", "")).startswith(f"{entry.stream_arn}/consumer/")


def remap(entry: KinesisEntry, index: int, box: ToolSource, ref: StackReference) -> None:
    """Map the function stack ``ref``'s consumer feeds to that consumer; drop its mappings on stale consumers."""
    consumer_arn = box.tool("kinesis", index).describe_consumer(ref)["ConsumerARN"]
    fed: LambdaTools = box.tool("fed", index)
    mappings = fed.list_event_source_mappings(ref)
    for mapping in mappings:
        if _on_stream(entry, mapping) and mapping.get("EventSourceArn") != consumer_arn:
            fed.delete_event_mapping(mapping["UUID"], retry_attempts=1)
    if not any(m.get("EventSourceArn") == consumer_arn for m in mappings):
        fed.create_event_source_mapping(ref, consumer_arn, **entry.mapping_params())


def unmap(entry: KinesisEntry, index: int, box: ToolSource, ref: StackReference) -> None:
    """Delete the fed function's mappings on this stream's consumers (before its consumer is deregistered)."""
    fed: LambdaTools = box.tool("fed", index)
    for mapping in fed.list_event_source_mappings(ref):
        if _on_stream(entry, mapping):
            fed.delete_event_mapping(mapping["UUID"], retry_attempts=1)


def prepare(entry: KinesisEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """Register the replacement's consumer and wait until it is active; then map the function it feeds."""
    kinesis: KinesisTools = box.tool("kinesis", index)
    consumer = pick(stack, entry.a, entry.b)
    found = [Phased("attach", Step(
        f"kinesis[{index}].register", f"register consumer {consumer} and wait until active", "kinesis", stack,
        consumer_active(kinesis, stack),
        calls=(f"kinesis:DescribeStreamConsumer {consumer}", f"kinesis:RegisterStreamConsumer {consumer}"),
        undo=lambda: kinesis.deregister_consumer(stack),
        undo_calls=(f"kinesis:DeregisterStreamConsumer {consumer}",),
    ))]  # fmt: skip
    if entry.feeds is not None:
        fn = entry.feeds.pick(stack)
        found.append(Phased("attach", Step(
            f"kinesis[{index}].map", f"map {fn} to consumer {consumer}", "kinesis", stack,
            polled(lambda: remap(entry, index, box, stack)), depends_on=(f"kinesis[{index}].register",),
            calls=(f"lambda:ListEventSourceMappings {fn}", f"lambda:CreateEventSourceMapping {fn} <- {consumer}"),
            undo=polled(lambda: unmap(entry, index, box, stack)),
            undo_calls=(f"lambda:DeleteEventSourceMapping {fn}",), bound=MAPPING_BOUND_SECONDS,
        ), gate=False))  # fmt: skip
    return found


def retire(entry: KinesisEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """Delete the old function's mapping on its consumer, then deregister the old consumer (irreversible)."""
    kinesis: KinesisTools = box.tool("kinesis", index)
    consumer = pick(stack, entry.a, entry.b)
    found: list[Phased] = []
    before_deregister: tuple[str, ...] = ()
    if entry.feeds is not None:
        fn = entry.feeds.pick(stack)
        found.append(Phased("irreversible", Step(
            f"kinesis[{index}].unmap", f"delete the mapping of {fn} on consumer {consumer}", "kinesis", stack,
            polled(lambda: unmap(entry, index, box, stack)), destructive=True,
            calls=(f"lambda:ListEventSourceMappings {fn}", "lambda:DeleteEventSourceMapping"),
            undo=polled(lambda: remap(entry, index, box, stack)),
            undo_calls=(f"lambda:CreateEventSourceMapping {fn} <- {consumer}",), bound=MAPPING_BOUND_SECONDS,
        )))  # fmt: skip
        before_deregister = (f"kinesis[{index}].unmap",)
    found.append(Phased("irreversible", Step(
        f"kinesis[{index}].deregister", f"deregister consumer {consumer}", "kinesis", stack,
        done(lambda: kinesis.deregister_consumer(stack)), depends_on=before_deregister, destructive=True,
        irreversible=True, calls=(f"kinesis:DeregisterStreamConsumer {consumer} (by ConsumerARN)",),
        undo=consumer_active(kinesis, stack), undo_calls=(f"kinesis:RegisterStreamConsumer {consumer}",),
    )))  # fmt: skip
    return found


def rows(entry: KinesisEntry, index: int, box: ToolSource) -> list[Row]:
    """Each stack's consumer status and, when it feeds a function, that function's mapping on it."""

    def consumer(ref: StackReference) -> Reading:
        status = box.tool("kinesis", index).consumer_status(ref)
        state, flags = (status or "not registered"), [status == "ACTIVE"]
        data: dict[str, Any] = {"consumer_status": status}
        if entry.feeds is not None:
            fn = entry.feeds.pick(ref)
            try:
                found = box.tool("fed", index).list_event_source_mappings(ref)
            except LookupError:
                return f"{state}; function {fn} missing", "partly", data
            mapped = [m for m in found if _on_stream(entry, m)]
            data["mappings"] = mapping_rows(mapped)
            states = ", ".join(str(m.get("State")) for m in mapped)
            state += f"; {fn} mapped ({states})" if mapped else f"; {fn} not mapped"
            flags.append(bool(mapped))
        return state, mode_of(flags), data

    stream = entry.stream_arn.rsplit("/", 1)[-1]
    return [Row(f"kinesis[{index}]", "kinesis", f"consumer of stream {stream}", True, (entry.a, entry.b), consumer)]


def fed_tool(
    entry: KinesisEntry, region: str, account_id: str | None, session: boto3.Session | None
) -> LambdaTools | None:
    """A Lambda tool for the functions this entry's consumers feed (None when it feeds none)."""
    if entry.feeds is None:
        return None
    from bluegreen.tools.lambda_ import LambdaConfig, LambdaTools  # noqa: PLC0415 - tools load only when used

    config = LambdaConfig(
        region=region, account_id=account_id, lambda_name_a=entry.feeds.a, lambda_name_b=entry.feeds.b
    )
    return LambdaTools(config, session=session)


SERVICE = Service(
    name="kinesis",
    title="Kinesis",
    entry=KinesisEntry,
    read=read,
    claims=claims,
    tool=("kinesis", "KinesisTools"),
    prepare=prepare,
    retire=retire,
    rows=rows,
)
