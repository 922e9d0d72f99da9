"""The plan: one YAML/JSON document per application naming the resources of stack ``a`` and stack ``b``.

:func:`parse_plan` turns a parsed document into a frozen :class:`Plan`, or raises :class:`PlanError`
listing **every** problem of the document, each with its path (``plan.aurora[0].b: required — name
stack b's cluster``). :func:`load_plan_text` reads YAML or JSON text; :func:`load_plan_from_env` finds
the plan the way the hook Lambdas do. Each entry builds its tool's config with ``.config(region,
account_id)``; the tool modules are imported only then, so importing this module sends no request
and pulls in no tool.

Decisions the design left open (the rules a plan is held to):

- **Unknown keys are errors**, with the nearest known key suggested. So are settings that would have
  no effect: ``wait_for_delete`` without ``on_retire: delete`` (dynamodb), ``skip_delete_snapshots:
  true`` without ``on_retire: delete`` (aurora), ``mapping`` without ``feeds`` (kinesis).
- **null means "not given"**: an optional key set to null takes its default, a required one is
  reported as required, and a section that is null (``ecs:`` with its entries commented out) is empty.
- **Types are exact**: strings must be strings (an unquoted ``555``, ``yes`` or ``2024-01-01`` is a
  number, boolean or date in YAML, and is reported with the advice to quote it), integers must not be
  booleans or floats, booleans must be ``true``/``false`` (not ``"yes"``). Strings must not be blank
  nor start or end with whitespace (alarm prefixes and suffixes, where a space can matter, excepted).
- ``application`` is the partition key of the live-stack record: up to 2048 UTF-8 bytes (DynamoDB's
  limit), no control characters. ``region`` looks like ``eu-central-1``; ``account_id`` and the account
  in every ARN are 12 digits. When ``region`` is absent the hooks use the Lambda's own region
  (:meth:`Plan.resolved_region`); when ``account_id`` is absent the tools ask STS once.
- ``initial_live`` is ``a`` or ``b`` (either case); ``deadline_minutes`` is 1..60.
- **Names are checked against AWS's naming rules** (ECS service and cluster, SQS queue — a name,
  not a URL —, Lambda function and alias, Kinesis consumer, DynamoDB table, Aurora cluster), and ARNs
  must be of the right service: ``stream_arn`` a Kinesis *stream* ARN, SNS entries *subscription* ARNs
  (a topic ARN, or SNS's ``PendingConfirmation``, is reported as such).
- **Every resource belongs to one stack of one entry**: ``a`` and ``b`` naming the same resource, or
  two entries naming it, is an error (for SQS a queue and a DLQ count as the same kind). Alarm sets
  must not *overlap* either — ``{alarm_prefix: svc}`` and ``{alarm_prefix: svc, alarm_suffix: "- B"}``
  share every ``svc…- B`` alarm, and retiring one stack would silence the other's alarms.
- **SNS**: ``a`` and ``b`` are subscription ARNs (strings); the subscription's region is the one in
  its ARN. ``enabled_filter`` / ``disabled_filter`` (optional, shared by both stacks) are filter
  policies: mappings whose values are lists or mappings. A disabled filter of ``{}`` matches every
  message and the two filters being equal means disabling changes nothing: both are errors.
- **SQS / CloudWatch shorthand**: ``a: fn-queue-a`` means ``a: {queue: fn-queue-a}`` and ``a: "svc - A"``
  means ``a: {alarm_prefix: "svc - A"}``. :meth:`Plan.to_document` always writes the long form.
- **Lambda**: ``event_buses`` (default ``[default]``) lists the EventBridge buses whose rules that
  target the function are switched with it.
- **Kinesis**: ``feeds: {a: fn, b: fn}`` names the Lambda each consumer feeds (both required, and
  different); ``mapping`` sets the parameters of the re-created event-source mapping. Its keys are the
  snake_case of ``CreateEventSourceMapping``'s parameters (``starting_position``, ``batch_size``,
  ``maximum_batching_window_in_seconds``, ``parallelization_factor``, ``maximum_record_age_in_seconds``,
  ``maximum_retry_attempts``, ``bisect_batch_on_function_error``, ``tumbling_window_in_seconds``,
  ``function_response_types``) plus ``on_failure_destination`` (an SQS queue or SNS topic ARN, sent as
  ``DestinationConfig.OnFailure.Destination``), each checked against Lambda's limits.
  ``starting_position`` is ``LATEST`` (the default) or ``TRIM_HORIZON``; ``AT_TIMESTAMP`` is refused,
  as one fixed timestamp makes no sense for a mapping re-created at every deployment.
- ``minimum_cluster_size`` is 0..15 (an Aurora cluster has at most 15 readers). Aurora ``tags`` follow
  the RDS tag rules (at most 50; keys 1-128 characters, not ``aws:``; values up to 256).
- ``ecs`` ``desired_tasks`` is required and at least 1: the design names it in every ECS entry, and a
  working service of zero tasks is always a mistake.
- **Loading**: a key repeated in one mapping is an error (YAML and JSON would silently keep the
  last one — a second ``aurora:`` would drop the first). YAML is read with a safe loader (no Python
  tags); merge keys (``<<: *base``) work. Of the three plan variables, one set to an empty string
  counts as unset; the SSM parameter is cached :data:`PLAN_CACHE_SECONDS` (see
  :func:`load_plan_from_env`).

A :class:`Plan` built with its constructor is trusted as given; only :func:`parse_plan` validates.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import yaml

from bluegreen.refs import StackReference, as_ref

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from bluegreen.tools.aurora import AuroraConfig
    from bluegreen.tools.cloudwatch import CloudWatchConfig
    from bluegreen.tools.dynamodb import DynamoConfig
    from bluegreen.tools.ecs import EcsConfig
    from bluegreen.tools.kinesis import KinesisConfig
    from bluegreen.tools.lambda_ import LambdaConfig
    from bluegreen.tools.sns import SnsConfig
    from bluegreen.tools.sqs import SqsConfig

__all__ = [
    "PLAN_CACHE_SECONDS",
    "PLAN_FILE_VAR",
    "PLAN_PARAMETER_VAR",
    "PLAN_VAR",
    "SERVICES",
    "AlarmSet",
    "AuroraEntry",
    "CloudWatchEntry",
    "DynamoEntry",
    "EcsEntry",
    "KinesisEntry",
    "LambdaEntry",
    "Plan",
    "PlanError",
    "SnsEntry",
    "SqsEntry",
    "SqsQueues",
    "StackPair",
    "clear_plan_cache",
    "load_plan_from_env",
    "load_plan_text",
    "parse_plan",
]

#: The sections of a plan, as spelled in the document, in the order the hooks treat them.
SERVICES: tuple[str, ...] = ("ecs", "sqs", "sns", "lambda", "cloudwatch", "kinesis", "dynamodb", "aurora")
PLAN_FILE_VAR = "BLUEGREEN_PLAN_FILE"
PLAN_PARAMETER_VAR = "BLUEGREEN_PLAN_PARAMETER"
PLAN_VAR = "BLUEGREEN_PLAN"
#: How long a plan fetched from SSM is reused before it is fetched again (seconds).
PLAN_CACHE_SECONDS = 300

DynamoOnRetire = Literal["keep", "delete"]
AuroraOnRetire = Literal["stop", "delete", "keep"]


class PlanError(ValueError):
    """A plan that cannot be used: ``problems`` lists every ``(path, message)`` found, in document order.

    ``str()`` is a header naming ``source`` (where the plan came from), then one ``path: message``
    line per problem.
    """

    def __init__(self, problems: Iterable[tuple[str, str]], source: str = "plan") -> None:
        """Keep the problems and the source, and render the message."""
        self.problems: list[tuple[str, str]] = list(problems)
        self.source = source
        count = len(self.problems)
        origin = "" if source == "plan" else f" from {source}"
        lines = [f"invalid plan{origin} ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  {path}: {message}" for path, message in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type[PlanError], tuple[list[tuple[str, str]], str]]:
        """Pickle by problems and source (the default would rebuild from the message)."""
        return (PlanError, (self.problems, self.source))


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True, kw_only=True)
class StackPair:
    """One name for stack a and one for stack b."""

    a: str
    b: str

    def pick(self, ref: StackReference | str) -> str:
        """The name for stack ``ref``."""
        return self.a if as_ref(ref) is StackReference.A else self.b


@dataclass(frozen=True, kw_only=True)
class EcsEntry:
    """The worker ECS service of each stack in ``cluster``, and its task count when working."""

    cluster: str
    a: str
    b: str
    desired_tasks: int

    def config(self, region: str, account_id: str | None = None) -> EcsConfig:
        """The :class:`~bluegreen.tools.ecs.EcsConfig` of this entry."""
        from bluegreen.tools.ecs import EcsConfig  # noqa: PLC0415 - tools load only when used

        return EcsConfig(
            region=region,
            account_id=account_id,
            cluster=self.cluster,
            service_name_a=self.a,
            service_name_b=self.b,
            desired_tasks=self.desired_tasks,
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"cluster": self.cluster, "a": self.a, "b": self.b, "desired_tasks": self.desired_tasks}


@dataclass(frozen=True, kw_only=True)
class SqsQueues:
    """A stack's queue name and, when it has one, its dead-letter queue name."""

    queue: str
    dlq: str | None = None

    def to_document(self) -> dict[str, Any]:
        """These queues as the plan document spells them."""
        return {"queue": self.queue} | ({"dlq": self.dlq} if self.dlq else {})


@dataclass(frozen=True, kw_only=True)
class SqsEntry:
    """The queues of each stack (purged when that stack is retired)."""

    a: SqsQueues
    b: SqsQueues

    def config(self, region: str, account_id: str | None = None) -> SqsConfig:
        """The :class:`~bluegreen.tools.sqs.SqsConfig` of this entry."""
        from bluegreen.tools.sqs import QueuePair, SqsConfig  # noqa: PLC0415

        return SqsConfig(
            region=region,
            account_id=account_id,
            queue_a=QueuePair(self.a.queue, self.a.dlq),
            queue_b=QueuePair(self.b.queue, self.b.dlq),
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"a": self.a.to_document(), "b": self.b.to_document()}


@dataclass(frozen=True, kw_only=True)
class SnsEntry:
    """The SNS subscription (ARN) of each stack, and the filter policies that enable and disable both."""

    a: str
    b: str
    enabled_filter: dict[str, Any] | None = None
    disabled_filter: dict[str, Any] | None = None

    def config(self, region: str, account_id: str | None = None) -> SnsConfig:
        """The :class:`~bluegreen.tools.sns.SnsConfig` of this entry (filters copied, regions from the ARNs)."""
        from bluegreen.tools.sns import SnsConfig, TopicData  # noqa: PLC0415

        def topic(arn: str) -> TopicData:
            return TopicData(
                arn, enabled_filter=_copy(self.enabled_filter), disabled_filter=_copy(self.disabled_filter)
            )

        return SnsConfig(region=region, account_id=account_id, topic_a=topic(self.a), topic_b=topic(self.b))

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        doc: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.enabled_filter is not None:
            doc["enabled_filter"] = _copy(self.enabled_filter)
        if self.disabled_filter is not None:
            doc["disabled_filter"] = _copy(self.disabled_filter)
        return doc


@dataclass(frozen=True, kw_only=True)
class LambdaEntry:
    """The function of each stack, whose event-source mappings and EventBridge rules are switched."""

    a: str
    b: str
    alias: str | None = None
    event_buses: tuple[str, ...] = ("default",)

    def config(self, region: str, account_id: str | None = None) -> LambdaConfig:
        """The :class:`~bluegreen.tools.lambda_.LambdaConfig` of this entry."""
        from bluegreen.tools.lambda_ import LambdaConfig  # noqa: PLC0415

        return LambdaConfig(
            region=region,
            account_id=account_id,
            lambda_name_a=self.a,
            lambda_name_b=self.b,
            alias=self.alias,
            event_bus_names=self.event_buses,
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        doc: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.alias is not None:
            doc["alias"] = self.alias
        doc["event_buses"] = list(self.event_buses)
        return doc


@dataclass(frozen=True, kw_only=True)
class AlarmSet:
    """A stack's alarms: names starting with ``alarm_prefix`` and, when set, ending with ``alarm_suffix``."""

    alarm_prefix: str
    alarm_suffix: str | None = None

    def overlaps(self, other: AlarmSet) -> bool:
        """Whether some alarm name would belong to both sets."""
        prefixes = self.alarm_prefix.startswith(other.alarm_prefix) or other.alarm_prefix.startswith(self.alarm_prefix)
        mine, theirs = self.alarm_suffix or "", other.alarm_suffix or ""
        return prefixes and (mine.endswith(theirs) or theirs.endswith(mine))

    def to_document(self) -> dict[str, Any]:
        """The alarm set as the plan document spells it."""
        return {"alarm_prefix": self.alarm_prefix} | (
            {"alarm_suffix": self.alarm_suffix} if self.alarm_suffix is not None else {}
        )


@dataclass(frozen=True, kw_only=True)
class CloudWatchEntry:
    """The alarms of each stack, whose actions are switched on and off."""

    a: AlarmSet
    b: AlarmSet

    def config(self, region: str, account_id: str | None = None) -> CloudWatchConfig:
        """The :class:`~bluegreen.tools.cloudwatch.CloudWatchConfig` of this entry."""
        from bluegreen.tools.cloudwatch import AlarmStack, CloudWatchConfig  # noqa: PLC0415

        return CloudWatchConfig(
            region=region,
            account_id=account_id,
            alarm_stack_a=AlarmStack(self.a.alarm_prefix, self.a.alarm_suffix),
            alarm_stack_b=AlarmStack(self.b.alarm_prefix, self.b.alarm_suffix),
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"a": self.a.to_document(), "b": self.b.to_document()}


@dataclass(frozen=True, kw_only=True)
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
        from bluegreen.tools.kinesis import KinesisConfig  # noqa: PLC0415

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
                params[_MAPPING_SPECS[key][0]] = _copy(value)
        return params

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        doc: dict[str, Any] = {"stream_arn": self.stream_arn, "a": self.a, "b": self.b}
        if self.feeds is not None:
            doc["feeds"] = {"a": self.feeds.a, "b": self.feeds.b}
        if self.mapping:
            doc["mapping"] = _copy(self.mapping)
        return doc


@dataclass(frozen=True, kw_only=True)
class DynamoEntry:
    """The table of each stack; with ``on_retire: delete`` the retired stack's table is deleted."""

    a: str
    b: str
    on_retire: DynamoOnRetire = "keep"
    wait_for_delete: bool = False

    def config(self, region: str, account_id: str | None = None) -> DynamoConfig:
        """The :class:`~bluegreen.tools.dynamodb.DynamoConfig` of this entry."""
        from bluegreen.tools.dynamodb import DynamoConfig  # noqa: PLC0415

        return DynamoConfig(
            region=region,
            account_id=account_id,
            table_name_a=self.a,
            table_name_b=self.b,
            wait_for_table_delete=self.wait_for_delete,
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"a": self.a, "b": self.b, "on_retire": self.on_retire, "wait_for_delete": self.wait_for_delete}


@dataclass(frozen=True, kw_only=True)
class AuroraEntry:
    """The Aurora cluster of each stack, its minimum reader count, and what retiring does to it."""

    a: str
    b: str
    minimum_cluster_size: int = 1
    on_retire: AuroraOnRetire = "stop"
    skip_delete_snapshots: bool = False
    namespace: str = "*"
    tags: dict[str, str] = field(default_factory=dict)

    def config(self, region: str, account_id: str | None = None) -> AuroraConfig:
        """The :class:`~bluegreen.tools.aurora.AuroraConfig` of this entry (tags copied)."""
        from bluegreen.tools.aurora import AuroraConfig  # noqa: PLC0415

        return AuroraConfig(
            region=region,
            account_id=account_id,
            cluster_name_a=self.a,
            cluster_name_b=self.b,
            minimum_cluster_size=self.minimum_cluster_size,
            skip_delete_snapshots=self.skip_delete_snapshots,
            namespace=self.namespace,
            tags=dict(self.tags),
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {
            "a": self.a,
            "b": self.b,
            "minimum_cluster_size": self.minimum_cluster_size,
            "on_retire": self.on_retire,
            "skip_delete_snapshots": self.skip_delete_snapshots,
            "namespace": self.namespace,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The whole plan of one application; the sections are tuples of entries (``lambda_`` is ``lambda``)."""

    application: str
    region: str | None = None
    account_id: str | None = None
    initial_live: StackReference = StackReference.A
    deadline_minutes: int = 50
    ecs: tuple[EcsEntry, ...] = ()
    sqs: tuple[SqsEntry, ...] = ()
    sns: tuple[SnsEntry, ...] = ()
    lambda_: tuple[LambdaEntry, ...] = ()
    cloudwatch: tuple[CloudWatchEntry, ...] = ()
    kinesis: tuple[KinesisEntry, ...] = ()
    dynamodb: tuple[DynamoEntry, ...] = ()
    aurora: tuple[AuroraEntry, ...] = ()

    def sections(self) -> dict[str, tuple[Any, ...]]:
        """Every section by its document name (``"lambda"`` for :attr:`lambda_`), in :data:`SERVICES` order."""
        return {name: getattr(self, _attribute(name)) for name in SERVICES}

    def services(self) -> set[str]:
        """The document names of the non-empty sections.

        Kinesis entries with ``feeds`` also call Lambda (the fed functions' mappings), even when the
        ``lambda`` section is empty; the callers that make clients take that into account.
        """
        return {name for name, entries in self.sections().items() if entries}

    def resolved_region(self, environ: Mapping[str, str] | None = None) -> str:
        """The region the tools work in: the plan's, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``.

        Lambda sets ``AWS_REGION``, so in a hook this is the plan's region or the Lambda's own.
        Raises :class:`PlanError` when none of them is set.
        """
        env = os.environ if environ is None else environ
        found = self.region or env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
        if not found:
            raise PlanError(
                [("plan.region", "not set, and neither AWS_REGION nor AWS_DEFAULT_REGION is: set region in the plan")]
            )
        return found

    def to_document(self) -> dict[str, Any]:
        """The plan as a document (plain dicts and lists) that :func:`parse_plan` reads back into an equal plan."""
        doc: dict[str, Any] = {"application": self.application}
        if self.region is not None:
            doc["region"] = self.region
        if self.account_id is not None:
            doc["account_id"] = self.account_id
        doc["initial_live"] = self.initial_live.value
        doc["deadline_minutes"] = self.deadline_minutes
        for name, entries in self.sections().items():
            if entries:
                doc[name] = [entry.to_document() for entry in entries]
        return doc


def _attribute(section: str) -> str:
    return "lambda_" if section == "lambda" else section


_C = TypeVar("_C")


def _copy(value: _C) -> _C:
    """A deep copy of plain JSON-like data (so that no tool can change the plan it came from)."""
    return cast("_C", json.loads(json.dumps(value)))


# --------------------------------------------------------------------------- checking


class _Checker:
    """Collects the problems found while a document is read."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def count(self) -> int:
        return len(self.problems)


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if isinstance(key, str) and _KEY.fullmatch(key) else f"{path}[{key!r}]"


def _kind(value: object) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
        (datetime.date, "a date"),
    )
    if value is None:
        return "null"
    return next((name for kind, name in kinds if isinstance(value, kind)), f"a {type(value).__name__}")


def _not_a_string(value: object, *, digits: bool = False) -> str:
    if isinstance(value, bool):
        return "must be a string — YAML reads an unquoted yes/no/on/off/true/false as a boolean: quote it"
    if isinstance(value, int | float):
        zeros = " and drops leading zeros" if digits else ""
        return f'must be a string — quote it ("{value}"), or YAML reads it as a number{zeros}'
    if isinstance(value, datetime.date):
        return "must be a string — quote it, or YAML reads it as a date"
    return f"must be a string (got {_kind(value)})"


def _mapping(c: _Checker, value: object, path: str, allowed: tuple[str, ...], what: str) -> dict[str, Any] | None:
    """The known, non-null keys of ``value`` when it is a mapping; unknown keys are reported."""
    if not isinstance(value, dict):
        c.add(path, f"must be a mapping ({what}), got {_kind(value)}")
        return None
    known: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and key in allowed:
            if item is not None:
                known[key] = item
            continue
        close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6) if isinstance(key, str) else []
        hint = f"did you mean {close[0]}?" if close else f"expected one of: {', '.join(allowed)}"
        c.add(_join(path, key), f"unknown key ({hint})")
    return known


Check = Callable[[str], "str | None"]


def _opt_text(
    c: _Checker,
    fields: Mapping[Any, Any],
    path: str,
    key: str | int,
    *,
    check: Check | None = None,
    required: str | None = None,
    spaces: bool = False,
    digits: bool = False,
) -> str | None:
    """The string at ``key``: None when absent or wrong (reported; absence only when ``required``)."""
    where = _join(path, key)
    if key not in fields:
        if required is not None:
            c.add(where, f"required — {required}")
        return None
    value = fields[key]
    problem: str | None
    if not isinstance(value, str):
        problem = _not_a_string(value, digits=digits)
    elif not value.strip():
        problem = "must not be empty"
    elif not spaces and value != value.strip():
        problem = "must not start or end with whitespace"
    else:
        problem = check(value) if check else None
    if problem:
        c.add(where, problem)
        return None
    return cast("str", value)


def _text(c: _Checker, fields: Mapping[str, Any], path: str, key: str, required: str, **kw: Any) -> str:
    """A required string ("" when it is missing or wrong: the problem is recorded)."""
    return _opt_text(c, fields, path, key, required=required, **kw) or ""


def _int(
    c: _Checker,
    fields: Mapping[str, Any],
    path: str,
    key: str,
    *,
    default: int,
    ok: Callable[[int], bool],
    message: str,
) -> int:
    if key not in fields:
        return default
    value = fields[key]
    if isinstance(value, bool) or not isinstance(value, int) or not ok(value):
        c.add(_join(path, key), message)
        return default
    return value


def _bool(c: _Checker, fields: Mapping[str, Any], path: str, key: str, default: bool) -> bool:
    if key not in fields:
        return default
    value = fields[key]
    if not isinstance(value, bool):
        got = f"the string {value!r}" if isinstance(value, str) else _kind(value)
        c.add(_join(path, key), f"must be true or false (a YAML/JSON boolean), not {got}")
        return default
    return value


def _choice(c: _Checker, fields: Mapping[str, Any], path: str, key: str, choices: tuple[str, ...]) -> str:
    value = fields.get(key, choices[0])
    if not isinstance(value, str) or value not in choices:
        quote = " (YAML reads an unquoted yes/no/on/off as a boolean)" if isinstance(value, bool) else ""
        c.add(_join(path, key), f"must be one of {' | '.join(choices)} (default {choices[0]}), got {value!r}{quote}")
        return choices[0]
    return value


# Names and ARNs ------------------------------------------------------------------

_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):(?P<service>[a-z0-9-]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _check_region(value: str) -> str | None:
    return None if _REGION.fullmatch(value) else f"{value!r} is not a region name like eu-central-1"


def _check_account(value: str) -> str | None:
    return None if _ACCOUNT.fullmatch(value) else f"{value!r} is not an AWS account id (12 digits)"


def _check_application(value: str) -> str | None:
    if len(value.encode("utf-8")) > 2048:
        return "must be at most 2048 bytes (UTF-8): it is the record's DynamoDB partition key"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "must not contain control characters"
    return None


def _arn_problem(value: str, service: str, shape: str) -> tuple[re.Match[str] | None, str | None]:
    """The parsed ARN of ``service``, or the problem with ``value`` (``shape`` shows the expected form)."""
    found = _ARN.fullmatch(value)
    if found is None or found["service"] != service:
        return None, f"must be an ARN of the form {shape}"
    if not _REGION.fullmatch(found["region"]):
        return None, f"the region {found['region']!r} in the ARN is not a region name like eu-central-1"
    if not _ACCOUNT.fullmatch(found["account"]):
        return None, f"the account {found['account']!r} in the ARN is not an AWS account id (12 digits)"
    return found, None


def _name_or_arn(what: str, *, name: str, rule: str, service: str, resource: str, shape: str) -> Check:
    """A check of ``what``: a name matching ``name`` (``rule`` in words), or an ARN of ``service``.

    The ARN's resource part must match ``resource`` (``shape`` in words).
    """
    name_re, resource_re = re.compile(name), re.compile(resource)
    arn_shape = f"arn:aws:{service}:<region>:<account>:{shape}"

    def check(value: str) -> str | None:
        if not value.startswith("arn:"):
            return None if name_re.fullmatch(value) else f"must be {what} ({rule}) or its ARN"
        found, problem = _arn_problem(value, service, arn_shape)
        if problem is None and found is not None and not resource_re.fullmatch(found["resource"]):
            problem = f"must be an ARN of the form {arn_shape}"
        return problem and f"must be {what} or its ARN: {problem.removeprefix('must be ')}"

    return check


_NAME_255 = "letters, digits, hyphens and underscores, up to 255"
_check_cluster = _name_or_arn(
    "an ECS cluster name",
    name=r"[A-Za-z0-9_-]{1,255}",
    rule=_NAME_255,
    service="ecs",
    resource=r"cluster/[A-Za-z0-9_-]{1,255}",
    shape="cluster/<name>",
)
_check_service = _name_or_arn(
    "an ECS service name",
    name=r"[A-Za-z0-9_-]{1,255}",
    rule=_NAME_255,
    service="ecs",
    resource=r"service/([A-Za-z0-9_-]{1,255}/)?[A-Za-z0-9_-]{1,255}",
    shape="service/<cluster>/<name>",
)
_check_function = _name_or_arn(
    "a Lambda function name",
    name=r"[A-Za-z0-9_-]{1,64}",
    rule="letters, digits, hyphens and underscores, up to 64",
    service="lambda",
    resource=r"function:[A-Za-z0-9_-]{1,64}",
    shape="function:<name> (no version or alias: set alias)",
)
_check_table = _name_or_arn(
    "a DynamoDB table name",
    name=r"[A-Za-z0-9_.-]{3,255}",
    rule="3 to 255 letters, digits, underscores, hyphens and dots",
    service="dynamodb",
    resource=r"table/[A-Za-z0-9_.-]{3,255}",
    shape="table/<name>",
)


def _check_queue(value: str) -> str | None:
    if value.startswith(("https://", "http://")):
        return "must be the queue's name, not its URL (the tools look the URL up with GetQueueUrl)"
    if value.startswith("arn:"):
        return "must be the queue's name, not its ARN"
    base = value.removesuffix(".fifo")
    if len(value) > 80 or not _SIMPLE_NAME.fullmatch(base):
        return "must be an SQS queue name (letters, digits, hyphens and underscores, up to 80, .fifo allowed)"
    return None


def _check_alias(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value) and not value.isdigit():
        return None
    return "must be a Lambda alias name (letters, digits, hyphens and underscores, up to 128, not only digits)"


def _check_bus(value: str) -> str | None:
    if value.startswith("arn:"):
        return _arn_problem(value, "events", "arn:aws:events:<region>:<account>:event-bus/<name>")[1]
    if re.fullmatch(r"[A-Za-z0-9._/-]{1,256}", value):
        return None
    return "must be an EventBridge bus name (letters, digits, . _ - /, up to 256) or ARN"


def _check_consumer(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", value):
        return None
    return "must be a Kinesis consumer name (letters, digits, underscores, hyphens and dots, up to 128)"


def _check_stream_arn(value: str) -> str | None:
    found, problem = _arn_problem(value, "kinesis", "arn:aws:kinesis:<region>:<account>:stream/<stream name>")
    if problem or found is None:
        return problem
    if "/consumer/" in found["resource"]:
        return "is a consumer ARN: give the stream's ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"
    if not re.fullmatch(r"stream/[A-Za-z0-9_.-]{1,128}", found["resource"]):
        return "must be a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"
    return None


def _check_subscription_arn(value: str) -> str | None:
    if value.lower().replace(" ", "") in ("pendingconfirmation", "pending"):
        return "is SNS's PendingConfirmation: confirm the subscription, then give the ARN SNS assigns it"
    shape = "arn:aws:sns:<region>:<account>:<topic>:<subscription id>"
    found, problem = _arn_problem(value, "sns", shape)
    if problem or found is None:
        return problem and problem.replace("an ARN", "an SNS subscription ARN")
    parts = found["resource"].split(":")
    if len(parts) == 1:
        return "is a topic ARN: give the subscription's ARN (the topic ARN, ':' and the subscription id)"
    topic_ok = len(parts[0]) <= 256 and _SIMPLE_NAME.fullmatch(parts[0].removesuffix(".fifo"))
    if len(parts) != 2 or not topic_ok or not _UUID.fullmatch(parts[1]):
        return f"must be an SNS subscription ARN ({shape}, the id a UUID)"
    return None


def _check_aurora(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}", value) and not value.endswith("-"):
        return None
    return (
        "must be an Aurora cluster identifier (1 to 63 letters, digits and hyphens, starting with a letter, "
        "no two hyphens in a row, not ending with one)"
    )


# Entry readers -----------------------------------------------------------------------


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


#: The ``mapping`` keys of a Kinesis entry: the ``CreateEventSourceMapping`` parameter and its check.
_MAPPING_SPECS: dict[str, tuple[str, Callable[[object], str | None]]] = {
    "starting_position": ("StartingPosition", _position_rule),
    "batch_size": ("BatchSize", _int_rule(1, 10000)),
    "maximum_batching_window_in_seconds": ("MaximumBatchingWindowInSeconds", _int_rule(0, 300)),
    "parallelization_factor": ("ParallelizationFactor", _int_rule(1, 10)),
    "maximum_record_age_in_seconds": ("MaximumRecordAgeInSeconds", _int_rule(60, 604800, also=(-1,))),
    "maximum_retry_attempts": ("MaximumRetryAttempts", _int_rule(-1, 10000)),
    "bisect_batch_on_function_error": ("BisectBatchOnFunctionError", _bool_rule),
    "tumbling_window_in_seconds": ("TumblingWindowInSeconds", _int_rule(0, 900)),
    "function_response_types": ("FunctionResponseTypes", _response_types_rule),
    "on_failure_destination": ("DestinationConfig", _destination_rule),
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
        settings = _mapping(c, f["mapping"], where, tuple(_MAPPING_SPECS), "CreateEventSourceMapping settings")
        for key, value in (settings or {}).items():
            problem = _MAPPING_SPECS[key][1](value)
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
_TOP_KEYS = ("application", "region", "account_id", "initial_live", "deadline_minutes", *SERVICES)


# Whole-plan rules -------------------------------------------------------------------


def _base_name(value: str) -> str:
    """The bare resource name in a name or an ARN (case kept)."""
    if not value.startswith("arn:"):
        return value
    resource = value.split(":", 5)[-1]
    return re.split(r"[:/]", resource)[-1]


def _claims(section: str, entry: Any, path: str) -> list[tuple[str, tuple[str, ...], str]]:
    """The resources an entry manages: (what, identity, path of the name) for each."""
    claims: list[tuple[str, tuple[str, ...], str]] = []
    for ref in ("a", "b"):
        where, own = _join(path, ref), getattr(entry, ref)
        if section == "ecs":
            claims.append(("ECS service", (_base_name(entry.cluster), _base_name(own)), where))
        elif section == "sqs":
            claims.append(("SQS queue", (own.queue,), _join(where, "queue")))
            if own.dlq:
                claims.append(("SQS queue", (own.dlq,), _join(where, "dlq")))
        elif section == "kinesis":
            claims.append(("Kinesis consumer", (entry.stream_arn, own), where))
        elif section == "aurora":
            claims.append(("Aurora cluster", (own.lower(),), where))
        elif section in ("lambda", "dynamodb"):
            claims.append(("function" if section == "lambda" else "table", (_base_name(own),), where))
        elif section == "sns":
            claims.append(("SNS subscription", (own,), where))
    return claims


def _check_unique(c: _Checker, sections: Mapping[str, list[tuple[str, Any]]]) -> None:
    seen: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}
    for section, entries in sections.items():
        for entry_path, entry in entries:
            for what, identity, where in _claims(section, entry, entry_path):
                first = seen.setdefault((what, identity), (entry_path, where))
                if first[1] == where:
                    continue
                if first[0] == entry_path:
                    c.add(where, f"the same {what} as {first[1]} — blue/green needs two copies, one per stack")
                else:
                    c.add(where, f"the same {what} as {first[1]}: a resource belongs to one entry only")
    alarms = [
        (_join(path, ref), getattr(entry, ref)) for path, entry in sections.get("cloudwatch", []) for ref in ("a", "b")
    ]
    for index, (where, mine) in enumerate(alarms):
        other = next(((p, s) for p, s in alarms[:index] if s.overlaps(mine)), None)
        if other is not None:
            example = max(mine.alarm_prefix, other[1].alarm_prefix, key=len) + "…"
            example += max(mine.alarm_suffix or "", other[1].alarm_suffix or "", key=len)
            c.add(
                where,
                f"its alarms overlap those of {other[0]} (an alarm named {example!r} is in both): "
                "give each stack its own alarm prefix or suffix",
            )


def _read_plan(c: _Checker, document: object) -> Plan | None:
    if document is None:
        c.add("plan", "the document is empty: a plan needs at least application")
        return None
    f = _mapping(c, document, "plan", _TOP_KEYS, "a plan document")
    if f is None:
        return None
    application = _text(
        c, f, "plan", "application", "the key of the live-stack record, e.g. orders", check=_check_application
    )
    region = _opt_text(c, f, "plan", "region", check=_check_region)
    account_id = _opt_text(c, f, "plan", "account_id", check=_check_account, digits=True)
    live = StackReference.A
    if "initial_live" in f:
        value = f["initial_live"]
        if isinstance(value, str) and value.lower() in ("a", "b"):
            live = StackReference(value.lower())
        else:
            c.add("plan.initial_live", f"must be a or b (the live stack before the first deployment), got {value!r}")
    deadline = _int(
        c,
        f,
        "plan",
        "deadline_minutes",
        default=50,
        ok=lambda n: 1 <= n <= 60,
        message="must be an integer from 1 to 60 (CodeDeploy fails a hook after 60 minutes)",
    )
    sections: dict[str, list[tuple[str, Any]]] = {}
    for name, reader in _READERS.items():
        sections[name] = []
        raw, path = f.get(name), f"plan.{name}"
        if raw is None:
            continue
        if not isinstance(raw, list):
            hint = " — start each entry with '- '" if isinstance(raw, dict) else ""
            c.add(path, f"must be a list of entries, got {_kind(raw)}{hint}")
            continue
        for index, item in enumerate(raw):
            entry = reader(c, item, f"{path}[{index}]")
            if entry is not None:
                sections[name].append((f"{path}[{index}]", entry))
    _check_unique(c, sections)
    if c.problems:
        return None
    return Plan(
        application=application,
        region=region,
        account_id=account_id,
        initial_live=live,
        deadline_minutes=deadline,
        **{_attribute(name): tuple(entry for _, entry in entries) for name, entries in sections.items()},
    )


def parse_plan(document: object, *, source: str = "plan") -> Plan:
    """Validate a parsed plan document (dicts and lists, as YAML or JSON give them) into a :class:`Plan`.

    Raises :class:`PlanError` listing every problem of the document; ``source`` says where it came
    from in the message.
    """
    checker = _Checker()
    plan = _read_plan(checker, document)
    if plan is None or checker.problems:
        raise PlanError(checker.problems, source=source)
    return plan


# --------------------------------------------------------------------------- text and environment


class _DuplicateKeyError(ValueError):
    pass


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key repeated in one mapping (YAML would keep the last silently)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.setdefault(key, key_node.start_mark.line + 1)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
        if first != key_node.start_mark.line + 1:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKeyError(key)
        found[key] = value
    return found


def _yaml_problem(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        context = f" ({err.context})" if err.context else ""
        return f"is not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {err.problem}{context}"
    return f"is not valid YAML: {err}"


def load_plan_text(text: str, *, source: str) -> Plan:
    """Parse ``text`` (JSON, or YAML read with a safe loader) and validate it with :func:`parse_plan`.

    Text that starts with ``{`` or ``[`` is read as JSON first and as YAML when that fails (a YAML
    flow mapping also starts with ``{``); when both fail the JSON error is reported. A repeated key is
    an error in both. Syntax errors are a :class:`PlanError` naming ``source`` and the line.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(stripped, object_pairs_hook=_json_pairs)
        except _DuplicateKeyError as err:
            raise PlanError([("plan", f"is not valid JSON: the key {err.args[0]!r} appears twice")], source) from None
        except json.JSONDecodeError as err:
            json_problem = f"is not valid JSON: line {err.lineno}, column {err.colno}: {err.msg}"
        else:
            return parse_plan(document, source=source)
    else:
        json_problem = None
    try:
        document = yaml.load(stripped, Loader=_Loader)  # a SafeLoader: builds plain data only
    except yaml.YAMLError as err:
        raise PlanError([("plan", json_problem or _yaml_problem(err))], source) from None
    return parse_plan(document, source=source)


_providers: dict[str | None, SSMProvider] = {}
_providers_lock = threading.Lock()


def clear_plan_cache() -> None:
    """Forget the plans fetched from SSM (the next :func:`load_plan_from_env` fetches again)."""
    with _providers_lock:
        _providers.clear()


def _fetch_parameter(name: str, region: str | None, max_age: int) -> str:
    """The value of SSM parameter ``name`` (decrypted), through Powertools' cache of ``max_age`` seconds."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider  # noqa: PLC0415 - only when SSM is used
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from bluegreen.aws import make_client  # noqa: PLC0415

    with _providers_lock:
        provider = _providers.get(region)
        if provider is None:
            provider = _providers[region] = SSMProvider(boto3_client=make_client("ssm", region=region))
    try:
        value = provider.get(name, max_age=max_age, decrypt=True)
    except GetParameterError as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == "ParameterNotFound":
            where = f" in {region}" if region else ""
            raise PlanError(
                [(PLAN_PARAMETER_VAR, f"there is no SSM parameter {name!r}{where}")], source=PLAN_PARAMETER_VAR
            ) from None
        raise
    return value if isinstance(value, str) else str(value)


def load_plan_from_env(environ: Mapping[str, str] | None = None, *, max_age: int = PLAN_CACHE_SECONDS) -> Plan:
    """Load the plan the hooks use, from exactly one of three environment variables.

    ``BLUEGREEN_PLAN_FILE`` is a path (relative to the working directory; ``/var/task`` in Lambda);
    ``BLUEGREEN_PLAN_PARAMETER`` the name or ARN of an SSM parameter, fetched with ``GetParameter``
    (``WithDecryption``, so a SecureString works given ``kms:Decrypt``) in ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION`` of ``environ`` (the Lambda's region); ``BLUEGREEN_PLAN`` the document itself.

    The parameter goes through Powertools' ``SSMProvider`` — the cache behind ``get_parameter`` —
    built on a client from :func:`bluegreen.aws.make_client` (standard retries, like every client
    here) rather than ``get_parameter``'s own default client. A fetched value is kept ``max_age``
    seconds (``max_age=0``: not kept), so a changed plan reaches warm Lambdas within that time;
    :func:`clear_plan_cache` forgets it. A variable set to an empty string counts as unset (a template may pass
    empty parameters). None set, or more than one, is a :class:`PlanError`. ``environ`` defaults to
    ``os.environ``.
    """
    env = os.environ if environ is None else environ
    names = (PLAN_FILE_VAR, PLAN_PARAMETER_VAR, PLAN_VAR)
    given = [name for name in names if env.get(name, "").strip()]
    if not given:
        raise PlanError(
            [
                (
                    "environment",
                    f"no plan: set {PLAN_FILE_VAR} (a file path), {PLAN_PARAMETER_VAR} (an SSM parameter name) "
                    f"or {PLAN_VAR} (the document itself)",
                )
            ],
            source="the environment",
        )
    if len(given) > 1:
        raise PlanError(
            [("environment", f"{' and '.join(given)} are all set: which plan is meant is ambiguous — set only one")],
            source="the environment",
        )
    name = given[0]
    value = env[name].strip()
    if name == PLAN_FILE_VAR:
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise PlanError([(PLAN_FILE_VAR, f"cannot read {value!r}: {reason}")], source=PLAN_FILE_VAR) from None
        return load_plan_text(text, source=f"{PLAN_FILE_VAR}={value}")
    if name == PLAN_PARAMETER_VAR:
        region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or None
        text = _fetch_parameter(value, region, max_age)
        return load_plan_text(text, source=f"SSM parameter {value} ({PLAN_PARAMETER_VAR})")
    return load_plan_text(env[name], source=PLAN_VAR)
