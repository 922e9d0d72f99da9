"""The engine: runs a flow's steps in dependency order, independent steps in parallel.

A flow is data: a list of :class:`Step` objects, each naming the stack it acts on, the AWS calls it
intends, what it depends on and how to undo it. The engine runs them (the hooks), or
:func:`waves` lays them out without running anything (the dry run) — both from the same list, so the
dry run cannot drift from the real run.

A step's action returns :data:`DONE` (or None) when finished, :data:`PENDING` when it is waiting
for AWS (an Aurora cluster starting): the engine polls it again with backoff; or :class:`WaitFor` when
it waits for time to pass (a settle window): the engine polls it again after that time. When only waiting is
left and the Lambda's remaining time runs low, :meth:`Engine.run` returns ``continue`` with the ids
of the finished steps, so the caller can re-invoke itself and resume; steps are idempotent, so a
step repeated after a lost progress record is harmless. Past the deadline it fails.

The steps themselves, and what their actions answer, are in :mod:`bluegreen.steps` (re-exported here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from graphlib import TopologicalSorter

from bluegreen.steps import (
    DONE,
    PENDING,
    LiveStackError,
    RunResult,
    RunStatus,
    Step,
    StepAction,
    StepEvent,
    StepEventKind,
    StepOutcome,
    StepStatus,
    UndoAction,
    WaitFor,
    reversed_steps,
    validate,
    waves,
)

__all__ = [
    "DONE",
    "PENDING",
    "POLL_INITIAL_SECONDS",
    "Engine",
    "LiveStackError",
    "RunResult",
    "RunStatus",
    "Step",
    "StepAction",
    "StepEvent",
    "StepEventKind",
    "StepOutcome",
    "StepStatus",
    "UndoAction",
    "WaitFor",
    "reversed_steps",
    "validate",
    "waves",
]

logger = logging.getLogger(__name__)

#: The first wait before a pending step is polled again; each further wait doubles, up to ``poll_max``.
POLL_INITIAL_SECONDS = 5.0


class Engine:
    """Runs steps: dependency order, up to ``max_workers`` independent steps at once, polls waits with backoff.

    ``time_left`` says how many seconds this invocation may still work (the Lambda's remaining time);
    when only waiting steps are left and the next poll would come later than ``handover_seconds``
    before the end, the run returns ``continue``. ``deadline_left`` says how many seconds remain
    before the hook must report; a run past it fails. ``guard`` is called before every destructive
    step and raises to refuse it (the live-stack check); when it also has a ``wave`` method, that is
    called once for the destructive steps of each batch the engine starts together, before any starts.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        max_workers: int = 8,
        time_left: Callable[[], float] = lambda: float("inf"),
        deadline_left: Callable[[], float] = lambda: float("inf"),
        guard: Callable[[Step], None] | None = None,
        on_event: Callable[[StepEvent], None] | None = None,
        poll_initial: float | None = None,
        poll_max: float = 30.0,
        handover_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        keep_going: bool = False,
    ) -> None:
        """Prepare to run ``steps`` (validated now: unique ids, known dependencies, no cycle)."""
        self.steps = list(steps)
        self.by_id = validate(self.steps)
        self.max_workers = max_workers
        self.time_left = time_left
        self.deadline_left = deadline_left
        self.guard = guard
        self.on_event = on_event
        self.poll_initial = POLL_INITIAL_SECONDS if poll_initial is None else poll_initial
        self.poll_max = poll_max
        self.handover_seconds = handover_seconds
        self.sleep = sleep
        self.clock = clock
        self.keep_going = keep_going

    def _emit(self, step: Step, kind: StepEventKind, seconds: float = 0.0, error: str | None = None) -> None:
        if kind is StepEventKind.FAILED:
            logger.error("step %s failed after %.2fs: %s", step.id, seconds, error)
        else:
            logger.info("step %s %s (%.2fs)", step.id, kind.value, seconds)
        if self.on_event is not None:
            try:
                self.on_event(StepEvent(step, kind, seconds, error))
            except Exception:  # a display or metrics failure must not lose the run's bookkeeping
                logger.exception("step event listener failed on %s", step.id)

    def _execute(self, step: Step) -> tuple[StepOutcome, float]:
        started = self.clock()
        try:
            if step.destructive and self.guard is not None:
                self.guard(step)
            outcome = step.action()
        except Exception as exc:
            raise _StepFailed(exc, self.clock() - started) from exc
        return (outcome or DONE), self.clock() - started

    def run(self, done: Iterable[str] = ()) -> RunResult:
        """Run every step not in ``done`` (ids finished by an earlier invocation); see the class docstring."""
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="bluegreen-step") as pool:
            return _Run(self, pool, set(done) & set(self.by_id)).loop()


class _StepFailed(Exception):
    """A step's error, with how long the step ran before it (for the FAILED event)."""

    def __init__(self, error: Exception, seconds: float) -> None:
        super().__init__(str(error))
        self.error, self.seconds = error, seconds


class _Run:
    """The state of one :meth:`Engine.run`: what is ready, running, waiting, finished and failed."""

    def __init__(self, engine: Engine, pool: ThreadPoolExecutor, finished: set[str]) -> None:
        self.engine = engine
        self.pool = pool
        self.finished = finished
        self.result = RunResult(status=RunStatus.SUCCEEDED)
        self.sorter = TopologicalSorter({s.id: s.depends_on for s in engine.steps})
        self.sorter.prepare()
        self.ready: list[str] = []
        self.waiting: dict[str, float] = {}
        self.polls: dict[str, int] = {}
        self.pending_since: dict[str, float] = {}
        self.running: dict[Future[tuple[StepOutcome, float]], str] = {}
        self.failed = False
        self.short_of_time = False

    def loop(self) -> RunResult:
        engine = self.engine
        while True:
            self._collect_ready()
            if not self.failed or engine.keep_going:
                self._start_due()
            if self.running:
                self._await_running()
                continue
            if self.short_of_time and (self.ready or self.waiting) and not self.failed:
                self.result.status = RunStatus.CONTINUE
                return self.result
            if (self.failed and not engine.keep_going) or not self.waiting:
                break
            pause = max(0.0, min(self.waiting.values()) - engine.clock())
            if engine.time_left() - pause < engine.handover_seconds:
                self.result.status = RunStatus.CONTINUE
                return self.result
            if engine.deadline_left() - pause <= 0:
                self.result.reason = "the deadline would pass while waiting for: " + ", ".join(sorted(self.waiting))
                self.failed = True
                break
            engine.sleep(pause)
        if self.failed:
            self.result.status = RunStatus.FAILED
        return self.result

    def _collect_ready(self) -> None:
        progressed = True
        while progressed:
            progressed = False
            for node in self.sorter.get_ready():
                if node in self.finished:
                    self.sorter.done(node)
                    progressed = True
                else:
                    self.ready.append(node)

    def _start_due(self) -> None:
        engine = self.engine
        if (self.ready or self.waiting) and engine.deadline_left() <= 0:
            self.result.reason = "the deadline passed before every step finished"
            self.failed = True
            self.ready.clear()
            self.waiting.clear()
        # A step started (or polled again) must have time to finish; otherwise it waits for the hand-over.
        self.short_of_time = engine.time_left() < engine.handover_seconds
        if self.short_of_time:
            return
        now = engine.clock()
        due = [n for n, at in self.waiting.items() if at <= now]
        for node in due:
            del self.waiting[node]
        refused = self._check_wave([*self.ready, *due])
        self.ready = [n for n in self.ready if n not in refused]
        due = [n for n in due if n not in refused]
        for node in self.ready:
            engine._emit(engine.by_id[node], StepEventKind.START)
            self.result.started.append(node)
        for node in [*self.ready, *due]:
            self.running[self.pool.submit(engine._execute, engine.by_id[node])] = node
        self.ready.clear()

    def _check_wave(self, nodes: list[str]) -> set[str]:
        """The guard's ``wave`` (when it has one) checks the destructive steps about to start, at once.

        A refusal fails every one of them (they never start); the others start as usual.
        """
        engine = self.engine
        wave = getattr(engine.guard, "wave", None)
        destructive = [engine.by_id[n] for n in nodes if engine.by_id[n].destructive]
        if wave is None or not destructive:
            return set()
        try:
            wave(destructive)
        except Exception as exc:  # noqa: BLE001 - every refusal becomes the steps' error
            for step in destructive:
                self._fail(step, f"{type(exc).__name__}: {exc}")
            return {step.id for step in destructive}
        return set()

    def _await_running(self) -> None:
        engine = self.engine
        timeout = None
        if self.waiting and not self.short_of_time:
            timeout = max(0.0, min(self.waiting.values()) - engine.clock())
        completed, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in completed:
            node = self.running.pop(future)
            step = engine.by_id[node]
            try:
                status, seconds = future.result()
            except _StepFailed as failed:
                self._fail(step, f"{type(failed.error).__name__}: {failed.error}", failed.seconds)
                continue
            except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
                self._fail(step, f"{type(exc).__name__}: {exc}")
                continue
            if isinstance(status, WaitFor):
                self.waiting[node] = engine.clock() + min(engine.poll_max, max(0.0, status.seconds))
                engine._emit(step, StepEventKind.PENDING, seconds)
            elif status is PENDING:
                since = self.pending_since.setdefault(node, engine.clock() - seconds)
                if step.bound is not None and engine.clock() - since >= step.bound:
                    self._fail(
                        step, f"still pending after {engine.clock() - since:.0f} s: past its bound of {step.bound:g} s"
                    )
                    continue
                self.polls[node] = self.polls.get(node, 0) + 1
                delay = min(engine.poll_max, engine.poll_initial * 2 ** min(self.polls[node] - 1, 16))
                self.waiting[node] = engine.clock() + delay
                engine._emit(step, StepEventKind.PENDING, seconds)
            else:
                self.sorter.done(node)
                self.finished.add(node)
                self.result.done.append(node)
                engine._emit(step, StepEventKind.DONE, seconds)

    def _fail(self, step: Step, error: str, seconds: float = 0.0) -> None:
        self.result.errors[step.id] = error
        self.engine._emit(step, StepEventKind.FAILED, seconds, error=error)
        self.failed = True
        if self.engine.keep_going:
            self.sorter.done(step.id)
        else:
            self.waiting.clear()
