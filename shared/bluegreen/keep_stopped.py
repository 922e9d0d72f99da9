"""Keep retired Aurora clusters stopped: AWS starts a stopped cluster by itself after seven days.

An Aurora cluster can stay stopped for seven days at most; then AWS starts it, says so with the RDS
cluster event RDS-EVENT-0153 ("DB cluster is being started due to it exceeding the maximum allowed
time being stopped", category *notification*), and the retired stack quietly costs money again.
:func:`keep_retired_stopped` takes that event, and only that one (never "DB cluster started",
RDS-EVENT-0151, which every start sends, including the starts the hooks make), and stops the cluster
again once it is available, when all of these hold (read at every check, just before stopping):

- the cluster is ``a`` or ``b`` of a plan aurora entry whose ``on_retire`` is ``stop`` (with ``keep``
  the plan wants it running; with ``delete`` there is nothing to stop);
- its stack is not the live one. The live stack is the record's ``live``; with no record yet (no
  deployment has run) it is the plan's ``initial_live``, as ``bluegreen status`` says, so the cluster
  of the other stack is stopped again and the ``initial_live`` stack's never;
- no deployment is in flight (none is without a record). While one is (``preparing``, ``prepared``,
  ``flipped``, or rolled back and not yet finished), the hooks own both stacks: the replacement is
  being started or serves, and the old stack is stopped by the retire flow itself as its last step
  (and restarted if it fails).

The record is read once more right after ``StopDBCluster``: a deployment may have begun between the
read and the stop, and its prepare starts that very cluster (the replacement). When the cluster is
then protected (its stack is live, or a deployment is in flight), it is started again. A stopping
cluster cannot be started, so the record stays pending with a *restart* intent, and each later check
starts it (``StartDBCluster``) once it is stopped; it is done once the cluster is starting or
available. A check with the intent reads the record too: when nothing protects the cluster any more
(the deployment ended and left its stack retired), the intent is dropped and the usual checks resume,
so the cluster stays stopped. Starting twice is harmless: the prepare's own step also starts a stopped
cluster, and a start of a starting or available cluster does nothing.

The cluster is ``starting`` when the event comes, and AWS stops only an available cluster. So each
pending record is checked again every :data:`CHECK_INTERVAL_SECONDS` while the invocation has time
(less :data:`~bluegreen.rds.TIME_MARGIN_SECONDS`); when it has not, the function re-invokes itself
asynchronously with the pending records and its progress (under :data:`PROGRESS_KEY`: the checks
made, when the event was first seen, and ``restart``, the indices of the handed-over records that
carry the restart intent) and returns. After :data:`MAX_CHECKS` checks (about 40 minutes, restarts
included) the record fails with an error naming the cluster and its status, so the event lands in the
on-failure destination: stop the cluster by hand (or, for a restart, start it by hand once it is
stopped). A cluster found stopped or stopping is done (someone stopped it); one being deleted, or
gone, is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any, NamedTuple

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
#: Checks of a starting (or, for a restart, stopping) cluster before the record fails (the first included).
MAX_CHECKS = 40
#: Seconds between two checks of a cluster that is not available (or not stopped) yet.
CHECK_INTERVAL_SECONDS = 60.0

Reinvoker = Callable[[dict[str, Any]], None]


class Verdict(NamedTuple):
    """One check's answer: the outcome, why, and whether the record now carries the restart intent."""

    outcome: Outcome
    detail: str
    restart: bool = False


class RestartError(RuntimeError):
    """A cluster that was stopped again must run (a deployment needs it), but it could not be started."""


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


def current_protection(runtime: RdsRuntime, ref: StackReference) -> str | None:
    """:func:`protection` against the record as read now; with no record, the plan's ``initial_live`` is live."""
    record = runtime.store.get(runtime.plan.application)
    if record is not None:
        return protection(record, ref)
    if ref is runtime.plan.initial_live:
        return f"stack {ref.value} is live (the plan's initial_live: no deployment has run yet)"
    return None


def check(runtime: RdsRuntime, parsed: RdsEvent | None, *, restarting: bool = False) -> Verdict:
    """One check of one record: skip it, stop (or start again) its cluster (done), or say what it waits for."""
    found = _target(runtime, parsed)
    if isinstance(found, Verdict):
        return found
    target = found
    if restarting:
        reason = _protection_of_stopped(runtime, target)
        if reason is not None:
            return _start_again(runtime, target, reason)
        logger.info(
            "%s: cluster %r (%s) need not be started again: nothing protects it any more",
            FUNCTION,
            target.cluster,
            target.path,
        )
    entry = runtime.plan.aurora[target.index]
    if entry.on_retire != "stop":
        return Verdict(Outcome.SKIPPED, f"{target.path} has on_retire: {entry.on_retire}, so it is not kept stopped")
    reason = current_protection(runtime, target.ref)
    if reason is not None:
        return Verdict(Outcome.SKIPPED, f"cluster {target.cluster!r} ({target.path}) left running: {reason}")
    return _stop_when_available(runtime, target)


def _target(runtime: RdsRuntime, parsed: RdsEvent | None) -> Target | Verdict:
    """The managed cluster an auto-start event is about, or why the record is skipped."""
    if parsed is None:
        return Verdict(Outcome.SKIPPED, NOT_AN_RDS_EVENT)
    if not is_auto_start(parsed):
        kind = f"{parsed.source_type or 'unknown source'} {parsed.event_id or 'without event id'}"
        return Verdict(
            Outcome.SKIPPED, f"not the automatic start after seven days stopped ({kind}: {parsed.message!r})"
        )
    target = find_target(runtime.plan, parsed.source_id)
    if target is None:
        return Verdict(Outcome.SKIPPED, f"cluster {parsed.source_id!r} is not managed by the plan")
    return target


def _stop_when_available(runtime: RdsRuntime, target: Target) -> Verdict:
    tool = runtime.aurora(target.index)
    name = f"cluster {target.cluster!r} ({target.path})"
    try:
        state = tool.get_cluster_state(target.ref)
    except LookupError:
        return Verdict(Outcome.SKIPPED, f"{name} no longer exists")
    if state in (ClusterState.STOPPED, ClusterState.STOPPING):
        return Verdict(Outcome.DONE, f"{name} is already {state.value}")
    if state is ClusterState.DELETING:
        return Verdict(Outcome.SKIPPED, f"{name} is being deleted")
    if state is not ClusterState.AVAILABLE:
        return Verdict(Outcome.PENDING, f"{name} is {state.value}")
    try:
        tool.stop_database(target.ref)
    except ClusterStateError as err:  # its status changed between the two reads
        return Verdict(Outcome.PENDING, f"{name} is {err.state.value}")
    return _after_stop(runtime, target, name)


def _after_stop(runtime: RdsRuntime, target: Target, name: str) -> Verdict:
    """Read the record again: a deployment that began between the read and the stop needs the cluster back."""
    reason = _protection_of_stopped(runtime, target)
    if reason is None:
        return Verdict(
            Outcome.DONE, f"cluster {target.cluster!r} ({target.path}, retired stack {target.ref.value}) stopping again"
        )
    logger.warning("%s: %s was stopped, but now must run (%s): starting it again", FUNCTION, name, reason)
    return _start_again(runtime, target, reason)


def _protection_of_stopped(runtime: RdsRuntime, target: Target) -> str | None:
    """:func:`current_protection` of a cluster this function stopped; a failed read says to start it by hand."""
    try:
        return current_protection(runtime, target.ref)
    except Exception as exc:
        raise RestartError(
            f"cluster {target.cluster!r} ({target.path}) was stopped again, but the live-stack record could not be "
            f"read afterwards ({exc}): if a deployment began meanwhile, start the cluster by hand"
        ) from exc


def _start_again(runtime: RdsRuntime, target: Target, reason: str) -> Verdict:
    """Start a cluster this function stopped and that must run after all: once stopped (a stopping one waits)."""
    tool = runtime.aurora(target.index)
    name = f"cluster {target.cluster!r} ({target.path})"
    waiting = Verdict(Outcome.PENDING, f"{name} is stopping; it is started again once stopped ({reason})", True)
    try:
        state = tool.get_cluster_state(target.ref)
    except LookupError:
        return Verdict(Outcome.SKIPPED, f"{name} no longer exists")
    if state is ClusterState.STOPPING:
        return waiting
    if state is ClusterState.DELETING:
        return Verdict(Outcome.SKIPPED, f"{name} is being deleted")
    try:
        tool.start_database(target.ref)  # a starting or available cluster is left as it is
    except ClusterStateError as err:
        if err.state is ClusterState.STOPPING:
            return waiting
        raise RestartError(f"{name} must run ({reason}), but it cannot be started: {err}; start it by hand") from err
    except Exception as exc:
        raise RestartError(f"{name} must run ({reason}), but starting it failed: {exc}; start it by hand") from exc
    if state is ClusterState.STOPPED:
        return Verdict(Outcome.DONE, f"{name} started again: {reason}")
    return Verdict(Outcome.DONE, f"{name} is {state.value}, as it must be: {reason}")


@dataclass(frozen=True)
class Progress:
    """What a re-invocation carries: checks made, when the event was first seen, which invocation, restarts.

    ``restart`` holds the indices (in the handed-over ``Records``) of the records whose cluster must be
    started again once it is stopped.
    """

    checks: int = 0
    first_seen: float | None = None
    invocation: int = 1
    restart: frozenset[int] = frozenset()

    @classmethod
    def from_event(cls, event: object) -> Progress:
        """The progress in ``event`` (a fresh one when absent or malformed)."""
        raw = event.get(PROGRESS_KEY) if isinstance(event, Mapping) else None
        if not isinstance(raw, Mapping):
            return cls()
        checks, first, invocation = raw.get("checks"), raw.get("first_seen"), raw.get("invocation")
        restart = raw.get("restart")
        return cls(
            checks=checks if isinstance(checks, int) and checks >= 0 else 0,
            first_seen=float(first) if isinstance(first, int | float) else None,
            invocation=invocation if isinstance(invocation, int) and invocation >= 1 else 1,
            restart=frozenset(
                index
                for index in (restart if isinstance(restart, list) else ())
                if isinstance(index, int) and not isinstance(index, bool) and index >= 0
            ),
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
    ``reinvoke`` (their result is ``pending``), with their restart intents; without ``reinvoke`` they fail.
    """
    progress = Progress.from_event(event)
    first_seen = progress.first_seen if progress.first_seen is not None else now()
    records = sns_records(event)
    parsed = {index: parse(record) for index, record in enumerate(records)}
    results: dict[int, RecordResult] = {}
    waiting: dict[int, RecordResult] = {}
    restart = {index for index in progress.restart if index < len(records)} if progress.is_continuation else set()
    checks = progress.checks

    def check_one(index: int) -> Callable[[Mapping[str, Any], RdsEvent | None], tuple[Outcome, str]]:
        def handle(_: Mapping[str, Any], event: RdsEvent | None) -> tuple[Outcome, str]:
            verdict = check(runtime, event, restarting=index in restart)
            (restart.add if verdict.restart else restart.discard)(index)
            return verdict.outcome, verdict.detail

        return handle

    def check_all(indices: list[int]) -> None:
        for index in indices:
            result = handle_record(FUNCTION, index, records[index], parsed[index], check_one(index))
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
            why = "handed over, to be started again once stopped" if index in restart else "handed over"
            waiting[index] = RecordResult(index, message_id, source_id, Outcome.PENDING, why)
        checked_here = False
    else:
        checks += 1
        check_all(list(parsed))
        checked_here = True
    while waiting:
        if checks >= max_checks:
            minutes = (now() - first_seen) / 60
            _end(waiting, results, Outcome.FAILED, f"still waiting after {checks} checks ({minutes:.0f} min)", restart)
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
            _end(waiting, results, Outcome.FAILED, "still waiting, and this function cannot re-invoke itself", restart)
            break
        reinvoke(
            _handover(
                records,
                sorted(waiting),
                restart,
                checks=checks,
                first_seen=first_seen,
                invocation=progress.invocation + 1,
            )
        )
        _end(waiting, results, Outcome.PENDING, f"handed over to invocation {progress.invocation + 1}", restart)
        break
    return BatchResult(FUNCTION, tuple(results[index] for index in sorted(results)))


def _handover(
    records: list[Any], handed: list[int], restart: Set[int], *, checks: int, first_seen: float, invocation: int
) -> dict[str, Any]:
    """The event of the next invocation: the records still waiting, and the progress (restarts re-indexed)."""
    carried: dict[str, Any] = {"checks": checks, "first_seen": first_seen, "invocation": invocation}
    if restart & set(handed):
        carried["restart"] = [new for new, old in enumerate(handed) if old in restart]
    return {"Records": [records[index] for index in handed], PROGRESS_KEY: carried}


def _end(
    waiting: dict[int, RecordResult],
    results: dict[int, RecordResult],
    outcome: Outcome,
    why: str,
    restart: Set[int],
) -> None:
    """Give every waiting record its final result: its last detail, then ``why`` (and, on failure, what to do)."""
    for index, last in sorted(waiting.items()):
        if outcome is Outcome.FAILED:
            todo = (
                "start it by hand once it is stopped: a deployment needs it"
                if index in restart
                else "stop it by hand once it is available"
            )
            detail = f"{last.detail}; {why} — {todo}"
        else:
            detail = f"{last.detail}: {why}"
        result = RecordResult(index, last.message_id, last.source_id, outcome, detail)
        results[index] = result
        log_result(FUNCTION, result)
    waiting.clear()
