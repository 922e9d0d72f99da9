"""What a plan is once read: :class:`Plan`, one frozen entry class per section, and :class:`PlanError`.

Each entry builds its tool's config with ``.config(region, account_id)`` and writes itself back with
``.to_document()``. The tool modules are imported only inside ``.config``, so importing this module
sends no request and pulls in no tool. The rules a document is held to are in :mod:`bluegreen.plan`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from bluegreen.refs import StackReference, as_ref

if TYPE_CHECKING:
    from bluegreen.tools.aurora import AuroraConfig
    from bluegreen.tools.cloudwatch import CloudWatchConfig
    from bluegreen.tools.dynamodb import DynamoConfig
    from bluegreen.tools.ecs import EcsConfig
    from bluegreen.tools.kinesis import KinesisConfig
    from bluegreen.tools.lambda_ import LambdaConfig
    from bluegreen.tools.sns import SnsConfig
    from bluegreen.tools.sqs import SqsConfig

__all__ = [
    "SERVICES",
    "AlarmSet",
    "AuroraEntry",
    "AuroraOnRetire",
    "CloudWatchEntry",
    "DynamoEntry",
    "DynamoOnRetire",
    "EcsEntry",
    "KinesisEntry",
    "LambdaEntry",
    "Plan",
    "PlanError",
    "SnsEntry",
    "SqsEntry",
    "SqsQueues",
    "StackPair",
]

#: The sections of a plan, as spelled in the document, in the order the hooks treat them.
#: Minutes an SNS filter policy change may take to reach every delivery ("up to 15 minutes", SNS guide).
DEFAULT_SETTLE_MINUTES = 15.0

SERVICES: tuple[str, ...] = ("ecs", "sqs", "sns", "lambda", "cloudwatch", "kinesis", "dynamodb", "aurora")

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


#: The ``mapping`` keys of a Kinesis entry and the ``CreateEventSourceMapping`` parameter of each
#: (:mod:`bluegreen.plan.readers` checks their values).
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
    settle_minutes: float = DEFAULT_SETTLE_MINUTES
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
        doc["settle_minutes"] = int(self.settle_minutes) if self.settle_minutes.is_integer() else self.settle_minutes
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
