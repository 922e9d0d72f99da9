"""SQS: each stack's queue (and dead-letter queue), purged of what a retired stack can no longer use.

Nothing here is switched: a queue fills while its stack's SNS subscription is on. The retire purges
the old stack's queues once its consumers are off (what is left there also reached the new stack);
the prepare purges the replacement's queues of what its last retirement left (the live stack has
processed those messages) before anything of the replacement goes on.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.engine import Step
from bluegreen.reading.fields import _Checker, _join, _mapping, _opt_text
from bluegreen.reading.names import _check_queue
from bluegreen.refs import StackReference
from bluegreen.services._kit import Claim, Phased, Reading, Row, Service, ToolSource, done, pick

if TYPE_CHECKING:
    from bluegreen.tools.sqs import SqsConfig, SqsTools


@datatype(kw_only=True)
class SqsQueues:
    """A stack's queue name and, when it has one, its dead-letter queue name."""

    queue: str
    dlq: str | None = None

    def to_document(self) -> dict[str, Any]:
        """These queues as the plan document spells them."""
        return {"queue": self.queue} | ({"dlq": self.dlq} if self.dlq else {})


@datatype(kw_only=True)
class SqsEntry:
    """The queues of each stack (purged when that stack is retired)."""

    a: SqsQueues
    b: SqsQueues

    def config(self, region: str, account_id: str | None = None) -> SqsConfig:
        """The :class:`~bluegreen.tools.sqs.SqsConfig` of this entry."""
        from bluegreen.tools.sqs import QueuePair, SqsConfig  # noqa: PLC0415 - tools load only when used

        return SqsConfig(
            region=region,
            account_id=account_id,
            queue_a=QueuePair(self.a.queue, self.a.dlq),
            queue_b=QueuePair(self.b.queue, self.b.dlq),
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"a": self.a.to_document(), "b": self.b.to_document()}


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


def read(c: _Checker, raw: object, path: str) -> SqsEntry | None:
    """Check one raw ``sqs`` entry (each stack: ``{queue, dlq}`` or just the queue name)."""
    f = _mapping(c, raw, path, ("a", "b"), "an SQS entry")
    if f is None:
        return None
    mark = c.count()
    pair = {}
    for ref in ("a", "b"):
        if ref not in f:
            c.add(_join(path, ref), f"required — name stack {ref}'s queue: {{queue: …, dlq: …}}")
        else:
            pair[ref] = _read_queues(c, f[ref], _join(path, ref), ref)
    a, b = pair.get("a"), pair.get("b")
    return SqsEntry(a=a, b=b) if a and b and c.count() == mark else None


def claims(entry: SqsEntry, path: str) -> list[Claim]:
    """Each stack's queue and dead-letter queue, by name."""
    found: list[Claim] = []
    for ref, own in (("a", entry.a), ("b", entry.b)):
        where = _join(path, ref)
        found.append(Claim("SQS queue", (own.queue,), _join(where, "queue")))
        if own.dlq:
            found.append(Claim("SQS queue", (own.dlq,), _join(where, "dlq")))
    return found


def purge_step(entry: SqsEntry, index: int, box: ToolSource, stack: StackReference, why: str) -> Step:
    """Purge ``stack``'s queue and DLQ of entry ``index`` (irreversible: the messages are gone)."""
    queues = pick(stack, entry.a, entry.b)
    sqs: SqsTools = box.tool("sqs", index)
    return Step(
        f"sqs[{index}].purge",
        f"purge queue {queues.queue}" + (f" and DLQ {queues.dlq}" if queues.dlq else "") + f" ({why})",
        "sqs", stack, done(partial(sqs.purge_queues, stack)),
        destructive=True, irreversible=True, calls=(f"sqs:GetQueueUrl {queues.queue}", "sqs:PurgeQueue"),
    )  # fmt: skip


def prepare(entry: SqsEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """Purge the replacement's queues of its last retirement's leftovers, before its subscriptions go on."""
    return [Phased("purge", purge_step(entry, index, box, stack, "leftovers of its last retirement"))]


def retire(entry: SqsEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """Purge the old stack's queues once its consumers are off."""
    why = "what is left also reached the new stack"
    return [Phased("irreversible", purge_step(entry, index, box, stack, why))]


def rows(entry: SqsEntry, index: int, box: ToolSource) -> list[Row]:
    """The message counts of each stack's queue and DLQ."""

    def depth(ref: StackReference) -> Reading:
        depths = box.tool("sqs", index).queue_depth(ref)
        return " · ".join(f"{name} {n}" for name, n in depths.items()), None, {"messages": depths}

    what = "queue and DLQ (messages)" if entry.a.dlq or entry.b.dlq else "queue (messages)"
    return [Row(f"sqs[{index}]", "sqs", what, False, (entry.a.queue, entry.b.queue), depth)]


SERVICE = Service(
    name="sqs",
    title="SQS",
    entry=SqsEntry,
    read=read,
    claims=claims,
    tool=("sqs", "SqsTools"),
    prepare=prepare,
    retire=retire,
    rows=rows,
)
