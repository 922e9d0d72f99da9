"""What a plan is once read: :class:`Plan` and :class:`PlanError`.

The entry of each section is defined with its service (``bluegreen/services/<name>.py``) and
importable from here. Each entry builds its tool's config with ``.config(region, account_id)`` and
writes itself back with ``.to_document()``. The tool modules are imported only inside ``.config``, so
importing this module sends no request and pulls in no tool. The rules a document is held to are in
:mod:`bluegreen.plan`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference
from bluegreen.services import REGISTRY
from bluegreen.services.aurora import AuroraEntry, AuroraOnRetire
from bluegreen.services.cloudwatch import AlarmSet, CloudWatchEntry
from bluegreen.services.dynamodb import DynamoEntry, DynamoOnRetire
from bluegreen.services.ecs import EcsEntry
from bluegreen.services.kinesis import KinesisEntry, StackPair
from bluegreen.services.lambda_ import LambdaEntry
from bluegreen.services.sns import SnsEntry
from bluegreen.services.sqs import SqsEntry, SqsQueues
from bluegreen.verdict.model import Verdict

__all__ = [
    "DEADLINE_RESERVE_SECONDS",
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
    "Verdict",
]

#: Minutes an SNS filter policy change may take to reach every delivery ("up to 15 minutes", SNS guide).
DEFAULT_SETTLE_MINUTES = 15.0
#: Time a hook keeps before the plan's deadline for what follows a failure — the put-back and the
#: report — so that Failed is reported before the deadline (:class:`bluegreen.hooks.clock.Clock`); the
#: plan's windows must end before it.
DEADLINE_RESERVE_SECONDS = 60.0

#: The sections of a plan, as spelled in the document, in the order of :data:`bluegreen.services.REGISTRY`.
SERVICES: tuple[str, ...] = tuple(service.name for service in REGISTRY)


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


@datatype(kw_only=True)
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
    verdict: Verdict | None = None

    def sections(self) -> dict[str, tuple[Any, ...]]:
        """Every section by its document name (``"lambda"`` for :attr:`lambda_`), in :data:`SERVICES` order."""
        return {service.name: getattr(self, service.attribute) for service in REGISTRY}

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
        if self.verdict is not None:
            doc["verdict"] = self.verdict.to_document()
        return doc
