"""Keep retired Aurora clusters stopped: AWS starts a stopped cluster by itself after seven days.

An Aurora cluster can stay stopped for seven days at most; then AWS starts it, says so with the RDS
cluster event RDS-EVENT-0153 ("DB cluster is being started due to it exceeding the maximum allowed
time being stopped", category *notification*), and the retired stack quietly costs money again.
:func:`keep_retired_stopped` takes that event, and only that one (never "DB cluster started",
RDS-EVENT-0151, which every start sends, including the starts the hooks make), and stops the cluster
again once it is available, when all of these hold (read at every check, just before stopping):

- the cluster is ``a`` or ``b`` of a plan aurora entry whose ``on_retire`` is ``stop`` (with ``keep``
  the plan wants it running; with ``delete`` there is nothing to stop);
- the live-stack record exists and its ``live`` stack is the other one. No record (no deployment has
  run yet, or another table or application) means the live stack is unknown: the record fails, so
  the event lands in the on-failure destination and someone decides;
- no deployment is in flight. While one is (``preparing``, ``prepared``, ``flipped``, or rolled back
  and not yet finished), the hooks own both stacks: the replacement is being started or serves, and
  the old stack is stopped by the retire flow itself as its last step (and restarted if it fails).

The cluster is ``starting`` when the event comes, and AWS stops only an available cluster. So each
pending record is checked again every :data:`CHECK_INTERVAL_SECONDS` while the invocation has time
(less :data:`~bluegreen.rds.TIME_MARGIN_SECONDS`); when it has not, the function re-invokes itself
asynchronously with the pending records and its progress (under :data:`PROGRESS_KEY`: the checks
made, when the event was first seen) and returns. After :data:`MAX_CHECKS` checks (about 40
minutes) the record fails with an error naming the cluster and its status, so the event lands in the
on-failure destination: stop the cluster by hand. A cluster found stopped or stopping is done (someone
stopped it); one being deleted, or gone, is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bluegreen.rds import (
    NOT_AN_RDS_EVENT,
    TIME_MARGIN_SECONDS,
    BatchResult,
    Outcome,
    RdsRuntime,
    RecordResult,
    Target,
    find_target,
    handle_record,
    log_result,
    parse,
    record_ids,
    sns_records,
)
from bluegreen.refs import ClusterState, StackReference
from bluegreen.state import LiveRecord
from bluegreen.tools.aurora import ClusterStateError
from bluegreen.tools.rds_events import RdsEvent

logger = logging.getLogger(__name__)

FUNCTION = "rds_keep_retired_stopped"
#: "The DB cluster is being started due to it exceeding the maximum allowed time being stopped"
#: (source type db-cluster, category notification; AWS's Aurora event list).
AUTO_STARTED_EVENT = "RDS-EVENT-0153"
AUTO_STARTED_MESSAGE = "DB cluster is being started due to it exceeding the maximum allowed time being stopped"
#: Where a re-invocation carries its progress, beside ``Records``.
PROGRESS_KEY = "bluegreen_keep_stopped"
#: Checks of a starting cluster before the record fails (the first included).
MAX_CHECKS = 40
#: Seconds between two checks of a cluster that is not available yet.
CHECK_INTERVAL_SECONDS = 60.0

Reinvoker = Callable[[dict[str, Any]], None]


class NoLiveRecordError(LookupError):
    """The live-stack record does not exist, so which stack is live is unknown: nothing is stopped."""


def is_auto_start(event: RdsEvent) -> bool:
    """Whether ``event`` is RDS-EVENT-0153 for a cluster: by its event id, or by its message when it has no id."""
    if event.source_type not in (None, "db-cluster"):
        return False
    if event.event_id is not None:
        return event.event_id == AUTO_STARTED_EVENT
    text = event.message.strip().rstrip(".").casefold().removeprefix("the ")
    return text == AUTO_STARTED_MESSAGE.casefold()


def protection(record: LiveRecord, ref: StackReference) -> str | None:
    """Why the cluster of stack ``ref`` must be left running according to the record, or None when it may stop."""
    if record.in_flight:
        return (
            f"deployment {record.deployment_id} is in flight (phase {record.phase}, replacement "
            f"{record.replacement}): the hooks own both stacks until it ends"
        )
    if ref is record.live:
        return f"stack {ref.value} is live"
    return None


def check(runtime: RdsRuntime, parsed: RdsEvent | None) -> tuple[Outcome, str]:
    """One check of one record: skip it, stop its cluster (done), or say what it waits for (pending)."""
    if parsed is None:
        return Outcome.SKIPPED, NOT_AN_RDS_EVENT
    if not is_auto_start(parsed):
        kind = f"{parsed.source_type or 'unknown source'} {parsed.event_id or 'without event id'}"
        return Outcome.SKIPPED, f"not the automatic start after seven days stopped ({kind}: {parsed.message!r})"
    target = find_target(runtime.plan, parsed.source_id)
    if target is None:
        return Outcome.SKIPPED, f"cluster {parsed.source_id!r} is not managed by the plan"
    entry = runtime.plan.aurora[target.index]
    if entry.on_retire != "stop":
        return Outcome.SKIPPED, f"{target.path} has on_retire: {entry.on_retire}, so it is not kept stopped"
    application = runtime.plan.application
    record = runtime.store.get(application)
    if record is None:
        raise NoLiveRecordError(
            f"no live-stack record for {application!r} in table {runtime.store.table_name!r}: which stack is live is "
            f"unknown, so cluster {target.cluster!r} was left running; stop it by hand if its stack is retired"
        )
    reason = protection(record, target.ref)
    if reason is not None:
        return Outcome.SKIPPED, f"cluster {target.cluster!r} ({target.path}) left running: {reason}"
    return _stop_when_available(runtime, target)


def _stop_when_available(runtime: RdsRuntime, target: Target) -> tuple[Outcome, str]:
    tool = runtime.aurora(target.index)
    try:
        state = tool.get_cluster_state(target.ref)
    except LookupError:
        return Outcome.SKIPPED, f"cluster {target.cluster!r} ({target.path}) no longer exists"
    if state in (ClusterState.STOPPED, ClusterState.STOPPING):
        return Outcome.DONE, f"cluster {target.cluster!r} ({target.path}) is already {state.value}"
    if state is ClusterState.DELETING:
        return Outcome.SKIPPED, f"cluster {target.cluster!r} ({target.path}) is being deleted"
    if state is not ClusterState.AVAILABLE:
        return Outcome.PENDING, f"cluster {target.cluster!r} ({target.path}) is {state.value}"
    try:
        tool.stop_database(target.ref)
    except ClusterStateError as err:  # its status changed between the two reads
        return Outcome.PENDING, f"cluster {target.cluster!r} ({target.path}) is {err.state.value}"
    return Outcome.DONE, f"cluster {target.cluster!r} ({target.path}, retired stack {target.ref.value}) stopping again"


@dataclass(frozen=True)
class Progress:
    """What a re-invocation carries: checks made so far, when the event was first seen, which invocation."""

    checks: int = 0
    first_seen: float | None = None
    invocation: int = 1

    @classmethod
    def from_event(cls, event: object) -> Progress:
        """The progress in ``event`` (a fresh one when absent or malformed)."""
        raw = event.get(PROGRESS_KEY) if isinstance(event, Mapping) else None
        if not isinstance(raw, Mapping):
            return cls()
        checks, first, invocation = raw.get("checks"), raw.get("first_seen"), raw.get("invocation")
        return cls(
            checks=checks if isinstance(checks, int) and checks >= 0 else 0,
            first_seen=float(first) if isinstance(first, int | float) else None,
            invocation=invocation if isinstance(invocation, int) and invocation >= 1 else 1,
        )

    @property
    def is_continuation(self) -> bool:
        """True for an invocation that a previous one handed over to."""
        return self.checks > 0


def keep_retired_stopped(
    runtime: RdsRuntime,
    event: object,
    *,
    time_left: Callable[[], float],
    reinvoke: Reinvoker | None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
    interval: float = CHECK_INTERVAL_SECONDS,
    max_checks: int = MAX_CHECKS,
    margin: float = TIME_MARGIN_SECONDS,
) -> BatchResult:
    """Stop again every retired cluster that the batch says AWS started after seven days (module docstring).

    Records still waiting when the invocation's time runs low are handed to a new invocation through
    ``reinvoke`` (their result is ``pending``); without ``reinvoke`` they fail.
    """
    progress = Progress.from_event(event)
    first_seen = progress.first_seen if progress.first_seen is not None else now()
    records = sns_records(event)
    parsed = {index: parse(record) for index, record in enumerate(records)}
    results: dict[int, RecordResult] = {}
    waiting: dict[int, RecordResult] = {}
    checks = progress.checks

    def check_all(indices: list[int]) -> None:
        for index in indices:
            result = handle_record(
                FUNCTION, index, records[index], parsed[index], lambda _, event: check(runtime, event)
            )
            if result.outcome is Outcome.PENDING:
                waiting[index] = result
                logger.info("%s: %s (check %d of %d)", FUNCTION, result.describe(), checks, max_checks)
            else:
                waiting.pop(index, None)
                results[index] = result
                log_result(FUNCTION, result)

    if progress.is_continuation:
        for index, event_of in parsed.items():
            message_id, source_id = record_ids(records[index], event_of)
            waiting[index] = RecordResult(index, message_id, source_id, Outcome.PENDING, "handed over")
        checked_here = False
    else:
        checks += 1
        check_all(list(parsed))
        checked_here = True
    while waiting:
        if checks >= max_checks:
            minutes = (now() - first_seen) / 60
            _end(waiting, results, Outcome.FAILED, f"still not available after {checks} checks ({minutes:.0f} min)")
            break
        can_wait = time_left() - margin >= interval
        if can_wait or not checked_here:  # a continuation checks at least once, even when it cannot wait
            if can_wait:
                sleep(interval)
            checks += 1
            check_all(sorted(waiting))
            checked_here = True
            continue
        if reinvoke is None:
            _end(waiting, results, Outcome.FAILED, "still waiting, and this function cannot re-invoke itself")
            break
        pending = [records[index] for index in sorted(waiting)]
        reinvoke(
            {
                "Records": pending,
                PROGRESS_KEY: {"checks": checks, "first_seen": first_seen, "invocation": progress.invocation + 1},
            }
        )
        _end(waiting, results, Outcome.PENDING, f"handed over to invocation {progress.invocation + 1}")
        break
    return BatchResult(FUNCTION, tuple(results[index] for index in sorted(results)))


def _end(waiting: dict[int, RecordResult], results: dict[int, RecordResult], outcome: Outcome, why: str) -> None:
    """Give every waiting record its final result: its last detail, then ``why``."""
    for index, last in sorted(waiting.items()):
        detail = f"{last.detail}; {why}" if outcome is Outcome.FAILED else f"{last.detail}: {why}"
        if outcome is Outcome.FAILED:
            detail += " — stop it by hand once it is available"
        result = RecordResult(index, last.message_id, last.source_id, outcome, detail)
        results[index] = result
        log_result(FUNCTION, result)
    waiting.clear()
