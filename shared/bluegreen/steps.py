"""A flow's steps as data: :class:`Step`, what an action answers, the events and results of a run.

Nothing here runs anything. :func:`validate` checks a list of steps (unique ids, known dependencies,
no cycle), :func:`waves` lays them out in the order the engine would start them (the dry run), and
:func:`reversed_steps` builds the undo of the finished ones (a put-back). :mod:`bluegreen.engine`
runs them; it re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from enum import StrEnum
from graphlib import CycleError, TopologicalSorter

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference


class StepStatus(StrEnum):
    """What a step's action reports: finished, or still waiting for AWS."""

    DONE = "done"
    PENDING = "pending"


DONE = StepStatus.DONE
PENDING = StepStatus.PENDING


@datatype
class WaitFor:
    """A step's answer while it waits for time to pass (not for AWS): poll it again in ``seconds``.

    The engine treats it as :data:`PENDING` with this delay (at most ``poll_max``) instead of its
    backoff, so a settle window of a few seconds ends on time and one of fifteen minutes is not
    polled every five seconds.
    """

    seconds: float


StepOutcome = StepStatus | WaitFor
StepAction = Callable[[], StepOutcome | None]
#: An undo: like an action, it may return PENDING to be polled again (a cluster still stopping).
UndoAction = Callable[[], StepStatus | None] | Callable[[], object]


@datatype
class Step:
    """One unit of a flow: an idempotent action on one stack, with its dependencies and its undo.

    ``destructive`` marks a step that disables, stops, purges or deletes: the engine's guard refuses
    to run it against the live stack. ``irreversible`` marks a step whose effect cannot be undone
    (a purge, a deletion). ``calls`` describes the AWS calls the step makes, for the dry run.
    ``bound`` is how many seconds the step may stay pending in one run (a Lambda mapping that stays
    in transition); past it the step fails, naming the bound. Without one, only the deadline bounds it.
    """

    id: str
    title: str
    service: str
    stack: StackReference
    action: StepAction
    calls: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    destructive: bool = False
    irreversible: bool = False
    undo: UndoAction | None = None
    undo_calls: tuple[str, ...] = ()
    bound: float | None = None


class StepEventKind(StrEnum):
    """What happened to a step: started, finished, waiting, failed."""

    START = "start"
    DONE = "done"
    PENDING = "pending"
    FAILED = "failed"


@datatype
class StepEvent:
    """A step's progress, passed to the engine's ``on_event`` callback (logs, the demo's display)."""

    step: Step
    kind: StepEventKind
    seconds: float = 0.0
    error: str | None = None


class RunStatus(StrEnum):
    """How a run ended: every step finished, a step failed, or the work must continue in a re-invocation."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CONTINUE = "continue"


@datatype(frozen=False)
class RunResult:
    """The outcome of :meth:`Engine.run`: status, finished step ids (in finishing order), errors by step.

    ``started`` holds every step that was started, finished or not: a step that failed half-way (two
    of three mappings enabled) or was still waiting has done something, and its undo must run too.
    """

    status: RunStatus
    done: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    started: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """A one-paragraph account of what failed, for logs and reports."""
        parts = [f"{step}: {error}" for step, error in self.errors.items()]
        if self.reason:
            parts.insert(0, self.reason)
        return "; ".join(parts) or str(self.status)


class LiveStackError(RuntimeError):
    """A destructive step was about to act on the live stack; it was refused."""


def validate(steps: Sequence[Step]) -> dict[str, Step]:
    """Check ids are unique, dependencies exist and there is no cycle; return the steps by id."""
    by_id: dict[str, Step] = {}
    for step in steps:
        if step.id in by_id:
            raise ValueError(f"duplicate step id {step.id!r}")
        by_id[step.id] = step
    for step in steps:
        missing = [dep for dep in step.depends_on if dep not in by_id]
        if missing:
            raise ValueError(f"step {step.id!r} depends on unknown steps {missing}")
    try:
        TopologicalSorter({s.id: s.depends_on for s in steps}).prepare()
    except CycleError as exc:
        raise ValueError(f"steps depend on each other in a cycle: {exc.args[1]}") from exc
    return by_id


def waves(steps: Sequence[Step]) -> list[list[Step]]:
    """Group the steps into waves: every step of a wave depends only on steps of earlier waves.

    The steps of one wave run in parallel; this is what the dry run shows.
    """
    by_id = validate(steps)
    sorter = TopologicalSorter({s.id: s.depends_on for s in steps})
    sorter.prepare()
    result: list[list[Step]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=[s.id for s in steps].index)
        result.append([by_id[i] for i in ready])
        sorter.done(*ready)
    return result


def reversed_steps(steps: Sequence[Step], done: Iterable[str], *, destructive: bool = False) -> list[Step]:
    """The undo of the given steps (finished, or started and failed) that have one, in reverse dependency order.

    An undo runs only after the undos of every given step that depended on its step. Undos are
    idempotent, so undoing a step that did only part of its work is safe.
    ``destructive`` marks the undos as destructive (they disable what a prepare enabled), so the
    engine's live-stack guard checks them too.
    """
    finished = set(done)
    undoable = [s for s in steps if s.id in finished and s.undo is not None]
    ids = {s.id for s in undoable}
    dependents: dict[str, list[str]] = {s.id: [] for s in undoable}
    closure = _dependency_closure(steps)
    for step in undoable:
        for other in undoable:
            if other.id != step.id and step.id in closure[other.id]:
                dependents[step.id].append(f"undo:{other.id}")
    result = []
    for step in undoable:
        undo = step.undo
        assert undo is not None
        result.append(
            Step(
                id=f"undo:{step.id}",
                title=f"undo {step.title}",
                service=step.service,
                stack=step.stack,
                action=_as_action(undo),
                calls=step.undo_calls,
                depends_on=tuple(d for d in dependents[step.id] if d.removeprefix("undo:") in ids),
                destructive=destructive,
            )
        )
    return result


def _as_action(fn: UndoAction) -> StepAction:
    def action() -> StepStatus:
        outcome = fn()
        return outcome if isinstance(outcome, StepStatus) else DONE

    return action


def _dependency_closure(steps: Sequence[Step]) -> dict[str, set[str]]:
    direct = {s.id: set(s.depends_on) for s in steps}
    closure: dict[str, set[str]] = {}

    def visit(node: str) -> set[str]:
        if node not in closure:
            found: set[str] = set()
            for dep in direct[node]:
                found.add(dep)
                found |= visit(dep)
            closure[node] = found
        return closure[node]

    for node in direct:
        visit(node)
    return closure
