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

The stop runs as two engine steps (:mod:`bluegreen.engine`), as the hooks' steps run:
``aurora[i].stop`` waits (pending) while the cluster is starting and stops it once it is available;
it is done once the function has stopped it, or once there is nothing to stop (the cluster is
protected, already stopped or stopping, being deleted, gone). ``aurora[i].restart`` then reads the
record again: a deployment may have begun between the read and the stop, and its prepare starts that
very cluster (the replacement). When the cluster is then protected, it is started again; a stopping
cluster cannot be started, so the step waits (the *restart* intent) and starts it once it is stopped,
and is done once the cluster is starting or available. Each of its checks reads the record too: when
nothing protects the cluster any more (the deployment ended and left its stack retired), the intent
is dropped and the cluster is checked as by the stop step, so it stays stopped. Starting twice is
harmless: the prepare's own step also starts a stopped cluster, and a start of a starting or
available cluster does nothing.

The engine checks a waiting step every :data:`CHECK_INTERVAL_SECONDS`. When the invocation's time
runs low (less :data:`~bluegreen.rds.records.TIME_MARGIN_SECONDS`) the function re-invokes itself
asynchronously with the same event plus its progress in the hooks' format (:class:`Progress`; a
restart step begun and not done carries the restart intent) and returns the record as pending.
Once :data:`MAX_WAIT_MINUTES` have passed since the event was first seen, the record fails naming
the cluster and its status, so the event lands in the on-failure destination: stop the cluster by
hand (or, for a restart, start it by hand once it is stopped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, PENDING, Engine, RunResult, RunStatus, Step, StepStatus
from bluegreen.rds.records import NOT_AN_RDS_EVENT, TIME_MARGIN_SECONDS, Outcome, RecordResult, delivery, run_record
from bluegreen.rds.runtime import RdsRuntime, Target, find_target
from bluegreen.refs import ClusterState, StackReference
from bluegreen.state import LiveRecord
from bluegreen.tools.aurora import ClusterStateError
from bluegreen.tools.rds_events import RdsEvent
from bluegreen.warm import PROGRESS_KEY, Reinvoker, epoch_seconds

logger = logging.getLogger(__name__)

FUNCTION = "rds_keep_retired_stopped"
#: "The DB cluster is being started due to it exceeding the maximum allowed time being stopped"
#: (source type db-cluster, category notification; AWS's Aurora event list).
AUTO_STARTED_EVENT = "RDS-EVENT-0153"
AUTO_STARTED_MESSAGE = "DB cluster is being started due to it exceeding the maximum allowed time being stopped"
#: Minutes from the event first seen within which the cluster is stopped (or started again); then the record fails.
MAX_WAIT_MINUTES = 40
#: Seconds between two checks of a cluster that is not available (or not stopped) yet.
CHECK_INTERVAL_SECONDS = 60.0


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


@datatype
class Progress:
    """What a re-invocation carries under the hooks' :data:`~bluegreen.runtime.PROGRESS_KEY`, in their format.

    ``done`` and ``started`` are step ids (finished; begun, finished or not), ``first_started`` the
    epoch second the event was first seen, ``invocation`` which invocation this is (the first is 1).
    """

    done: tuple[str, ...] = ()
    started: tuple[str, ...] = ()
    first_started: float | None = None
    invocation: int = 1

    @classmethod
    def from_event(cls, event: object) -> Progress:
        """The progress in ``event`` (a fresh one when absent; junk in it is ignored)."""
        raw = event.get(PROGRESS_KEY) if isinstance(event, Mapping) else None
        if not isinstance(raw, Mapping):
            return cls()
        invocation = raw.get("invocation")
        return cls(
            done=_ids(raw.get("done")),
            started=_ids(raw.get("started")),
            first_started=epoch_seconds(raw.get("first_started")),
            invocation=invocation if type(invocation) is int and invocation >= 1 else 1,
        )

    def continuation(
        self, event: Mapping[str, Any], done: list[str], started: list[str], first_started: float
    ) -> dict[str, Any]:
        """The event of the next invocation: the same event, plus the finished and started steps and the first start."""
        carried = {key: value for key, value in event.items() if key != PROGRESS_KEY}
        carried[PROGRESS_KEY] = {
            "done": done,
            "started": sorted(set(started)),
            "first_started": first_started,
            "invocation": self.invocation + 1,
        }
        return carried


def _ids(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


class _Watch:
    """One record's stop, as its two steps see it: what they found last, and whether it is final.

    ``stopped``: this function stopped the cluster (now, or in an earlier invocation: its stop step
    is done). ``restart``: why the cluster must run again (the restart intent), while it holds.
    """

    def __init__(self, runtime: RdsRuntime, target: Target, *, stopped: bool, restart: str | None) -> None:
        self.runtime, self.target = runtime, target
        self.tool = runtime.aurora(target.index)
        self.name = f"cluster {target.cluster!r} ({target.path})"
        self.stopped, self.restart = stopped, restart
        self.outcome: Outcome | None = None  # set once the record's outcome is final
        self.detail = f"{self.name} not checked yet"

    def end(self, outcome: Outcome, detail: str) -> StepStatus:
        self.outcome, self.detail = outcome, detail
        return DONE

    def wait(self, detail: str) -> StepStatus:
        self.detail = detail
        return PENDING

    def stop_step(self) -> StepStatus:
        """Stop the cluster once it is available, unless it is protected; done once stopped here, or final."""
        reason = current_protection(self.runtime, self.target.ref)
        if reason is not None:
            return self.end(Outcome.SKIPPED, f"{self.name} left running: {reason}")
        state = self.state()
        if state in (None, ClusterState.STOPPED, ClusterState.STOPPING, ClusterState.DELETING):
            return self.end(*self.nothing_to_do(state))
        if state is not ClusterState.AVAILABLE:
            return self.wait(f"{self.name} is {state.value}")
        try:
            self.tool.stop_database(self.target.ref)
        except ClusterStateError as err:  # its status changed since the read, or an instance is busy
            return self.wait(f"{self.name} is {err.state.value}: {err}")
        self.stopped = True
        self.detail = f"{self.name} stopped again"
        return DONE

    def state(self) -> ClusterState | None:
        """The cluster's status, or None when it does not exist (any more)."""
        try:
            return self.tool.get_cluster_state(self.target.ref)
        except LookupError:
            return None

    def nothing_to_do(self, state: ClusterState | None) -> tuple[Outcome, str]:
        """The outcome for a cluster gone (None), stopped or stopping (done), being deleted (skipped)."""
        if state is None:
            return Outcome.SKIPPED, f"{self.name} no longer exists"
        if state is ClusterState.DELETING:
            return Outcome.SKIPPED, f"{self.name} is being deleted"
        return Outcome.DONE, f"{self.name} is already {state.value}"

    def restart_step(self) -> StepStatus:
        """After the stop: read the record again; a cluster that must run after all is started again once stopped."""
        if self.outcome is not None:
            return DONE
        if not self.stopped:  # the intent was dropped and the cluster is checked as by the stop step
            status = self.stop_step()
            if not self.stopped:
                return status
        reason = self._protection_of_stopped()
        if reason is None:
            if self.restart is None:
                ref = self.target.ref.value
                name = f"cluster {self.target.cluster!r} ({self.target.path}, retired stack {ref})"
                return self.end(Outcome.DONE, f"{name} stopping again")
            logger.info("%s: %s need not be started again: nothing protects it any more", FUNCTION, self.name)
            self.restart, self.stopped = None, False
            return self.restart_step()
        if self.restart is None:
            logger.warning("%s: %s was stopped, but now must run (%s): starting it again", FUNCTION, self.name, reason)
        self.restart = reason
        return self._start_again(reason)

    def _protection_of_stopped(self) -> str | None:
        """:func:`current_protection` of a cluster this function stopped; a failed read says to start it by hand."""
        try:
            return current_protection(self.runtime, self.target.ref)
        except Exception as exc:
            raise RestartError(
                f"{self.name} was stopped again, but the live-stack record could not be read afterwards ({exc}): "
                "if a deployment began meanwhile, start the cluster by hand"
            ) from exc

    def _start_again(self, reason: str) -> StepStatus:
        """Start the cluster once stopped (a stopping one is waited for); done once it is starting or available."""
        waiting = f"{self.name} is stopping; it is started again once stopped ({reason})"
        state = self.state()
        if state is ClusterState.STOPPING:
            return self.wait(waiting)
        if state in (None, ClusterState.DELETING):
            return self.end(*self.nothing_to_do(state))
        try:
            self.tool.start_database(self.target.ref)  # a starting or available cluster is left as it is
        except ClusterStateError as err:
            if err.state is ClusterState.STOPPING:
                return self.wait(waiting)
            raise RestartError(
                f"{self.name} must run ({reason}), but it cannot be started: {err}; start it by hand"
            ) from err
        except Exception as exc:
            raise RestartError(
                f"{self.name} must run ({reason}), but starting it failed: {exc}; start it by hand"
            ) from exc
        if state is ClusterState.STOPPED:
            return self.end(Outcome.DONE, f"{self.name} started again: {reason}")
        return self.end(Outcome.DONE, f"{self.name} is {state.value}, as it must be: {reason}")

    def todo(self) -> str:
        """What to do by hand when the function gives up."""
        if self.restart is not None:
            return "start it by hand once it is stopped: a deployment needs it"
        return "stop it by hand once it is available"


def steps(watch: _Watch) -> list[Step]:
    """The two steps of one record's stop: the stop, then the start again that a deployment begun meanwhile needs."""
    index, ref, cluster = watch.target.index, watch.target.ref, watch.target.cluster
    stop = Step(
        stop_id(index), f"stop cluster {cluster} again", "aurora", ref, watch.stop_step,
        calls=(f"rds:DescribeDBClusters {cluster}", f"rds:StopDBCluster {cluster}"), destructive=True,
    )  # fmt: skip
    restart = Step(
        restart_id(index), f"start cluster {cluster} again if a deployment needs it", "aurora", ref,
        watch.restart_step, calls=(f"rds:StartDBCluster {cluster} (only then)",), depends_on=(stop.id,),
    )  # fmt: skip
    return [stop, restart]


def stop_id(index: int) -> str:
    """The id of the stop step of ``plan.aurora[index]``'s cluster (as the retire's own stop step)."""
    return f"aurora[{index}].stop"


def restart_id(index: int) -> str:
    """The id of the step that starts ``plan.aurora[index]``'s cluster again when a deployment needs it."""
    return f"aurora[{index}].restart"


def keep_retired_stopped(
    runtime: RdsRuntime,
    event: object,
    *,
    time_left: Callable[[], float],
    reinvoke: Reinvoker | None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
    interval: float = CHECK_INTERVAL_SECONDS,
    max_wait_minutes: float = MAX_WAIT_MINUTES,
    margin: float = TIME_MARGIN_SECONDS,
) -> RecordResult:
    """Stop again the retired cluster that the event says AWS started after seven days (see the module docstring).

    When the cluster is still waited for and the invocation's time runs low, the stop is handed to a
    new invocation through ``reinvoke`` (the result is ``pending``); without ``reinvoke`` it fails.
    """
    found = delivery(event)  # refuses what is no SNS event of one record
    progress = Progress.from_event(event)
    original: Mapping[str, Any] = event if isinstance(event, Mapping) else {}

    def handle(_: Mapping[str, Any], parsed: RdsEvent | None) -> tuple[Outcome, str]:
        target = _target(runtime, parsed)
        if not isinstance(target, Target):
            return target
        first_started = progress.first_started if progress.first_started is not None else now()
        restarting = restart_id(target.index) in progress.started and restart_id(target.index) not in progress.done
        watch = _Watch(
            runtime,
            target,
            stopped=stop_id(target.index) in progress.done,
            restart="a deployment needed it when the last invocation handed over" if restarting else None,
        )
        engine = Engine(
            steps(watch),
            max_workers=1,
            time_left=time_left,
            deadline_left=lambda: first_started + max_wait_minutes * 60 - now(),
            poll_initial=interval,
            poll_max=interval,
            handover_seconds=margin,
            sleep=sleep,
            clock=now,
        )
        run = engine.run(progress.done)
        if watch.outcome is not None:  # final, whatever is left of the run
            return watch.outcome, watch.detail
        if run.status is RunStatus.CONTINUE:
            return _hand_over(progress, original, run, watch, first_started=first_started, reinvoke=reinvoke)
        if run.status is RunStatus.FAILED and run.errors:
            return Outcome.FAILED, run.message
        minutes = (now() - first_started) / 60  # the engine's deadline: the bound would pass before the next check
        bound = f"at most {max_wait_minutes:g} min are waited for"
        return Outcome.FAILED, f"{watch.detail}; still waiting after {minutes:.0f} min ({bound}) — {watch.todo()}"

    return run_record(FUNCTION, found, handle)


def _target(runtime: RdsRuntime, parsed: RdsEvent | None) -> Target | tuple[Outcome, str]:
    """The managed cluster, kept stopped by the plan, that an auto-start event names; or why the record is skipped."""
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
    return target


def _hand_over(
    progress: Progress,
    event: Mapping[str, Any],
    run: RunResult,
    watch: _Watch,
    *,
    first_started: float,
    reinvoke: Reinvoker | None,
) -> tuple[Outcome, str]:
    """Send the continuation (the hooks' format): the record is pending; without a re-invoker it fails."""
    if reinvoke is None:
        cannot = "still waiting, and this function cannot re-invoke itself"
        return Outcome.FAILED, f"{watch.detail}; {cannot} — {watch.todo()}"
    done = [*progress.done, *run.done]
    started = [*progress.started, *progress.done, *run.started]
    reinvoke(progress.continuation(event, done, started, first_started))
    return Outcome.PENDING, f"{watch.detail}: handed over to invocation {progress.invocation + 1}"
