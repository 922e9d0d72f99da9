"""What every service descriptor is made of: :class:`Service`, the parts it gives, and small helpers.

A service module (``bluegreen/services/ecs.py``…) defines its plan entry, the reader that checks one
raw entry, and a :class:`Service` that says everything else the house needs to know about it: the
resources an entry claims, the tool that acts on it, what of a stack it switches on and off, the
steps it adds to the prepare and the retire, and the rows ``bluegreen status`` shows for it.
Nothing here calls AWS; the parts build data (steps, rows) that the engine runs or the CLI shows.

The modules here import no tool at load time (a hook whose plan has no Aurora never loads the Aurora
tool): tools come from a :class:`ToolSource` (the :class:`~bluegreen.toolbox.Toolbox`) when a part
needs one.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, StepStatus
from bluegreen.refs import StackReference

if TYPE_CHECKING:
    import boto3

    from bluegreen.engine import Step
    from bluegreen.reading.fields import _Checker

E = TypeVar("E")
T = TypeVar("T")

#: What a status row reads for one stack: the state shown, whether that stack's part is on, off or
#: partly on (None: not a switch), and the data ``status --output json`` gives.
Mode = Literal["on", "off", "partly"]
Reading = tuple[str, Mode | None, dict[str, Any]]

#: The phases of the prepare, in order: tables checked, databases ready, the replacement's queues
#: purged, its switches on, its stream consumers attached.
PREPARE_PHASES = ("check", "ready", "purge", "enable", "attach")
#: The phases of the retire after its reversible switches: irreversible steps, then capacity given
#: back, then stops, then deletions (last of all: nothing that can still fail runs after one).
RETIRE_PHASES = ("irreversible", "scale-in", "stop", "delete")


class ToolSource(Protocol):
    """Where a part gets its tools: one per plan entry, made on first use (the Toolbox)."""

    def tool(self, section: str, index: int) -> Any:
        """The tool of entry ``index`` of section ``section`` (``"fed"``: the functions a Kinesis entry feeds)."""
        ...


def pick(stack: StackReference, a: T, b: T) -> T:
    """``a`` for stack a, ``b`` for stack b."""
    return a if stack is StackReference.A else b


def done(fn: Callable[[], object]) -> Callable[[], StepStatus]:
    """A step action that calls ``fn`` and is then done."""

    def action() -> StepStatus:
        fn()
        return DONE

    return action


def mode_of(values: Iterable[bool]) -> Mode | None:
    """``on`` when every flag is set, ``off`` when none is, ``partly`` between; None for no flags."""
    flags = list(values)
    if not flags:
        return None
    if all(flags):
        return "on"
    return "off" if not any(flags) else "partly"


def counted(states: Iterable[str]) -> str:
    """``"2 Enabled, 1 Disabled"``: how many of each state (``"none"`` for none)."""
    counts = Counter(states)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"


@datatype
class Claim:
    """A resource an entry manages: what it is, its identity (two equal identities are one resource), its path."""

    what: str
    identity: tuple[str, ...]
    path: str


@datatype
class Switch:
    """Something of one stack that is on while the stack works and off while it is retired.

    ``settles``: turning it on or off takes time to apply everywhere (an SNS filter policy), so the
    retire turns it off only after the settle window and the stack's other switches only after the
    drain window. ``bound``: how long its steps may stay pending (see :class:`~bluegreen.engine.Step`).
    """

    id: str
    service: str
    what: str
    on: Callable[[], object]
    off: Callable[[], object]
    on_calls: tuple[str, ...]
    off_calls: tuple[str, ...]
    settles: bool = False
    bound: float | None = None


@datatype
class Phased:
    """A step a service adds to a flow, in one of the flow's phases.

    The flow adds the phase's dependencies to the step's own. ``gate``: the phases after this one
    wait for the step (a database being awaited), or not (the step's own follow-up).
    """

    phase: str
    step: Step
    gate: bool = True


@datatype
class Row:
    """One line of ``bluegreen status``: a resource pair and how to read one stack's side of it."""

    id: str
    service: str
    what: str
    switch: bool
    names: tuple[str, str]
    read: Callable[[StackReference], Reading]


def nothing(entry: Any, index: int, box: ToolSource, stack: StackReference) -> list[Any]:
    """A part that adds nothing (a service with no switch, or no step of its own in a flow)."""
    return []


@datatype
class Service(Generic[E]):
    """Everything the house knows about one kind of AWS resource, registered once.

    - ``name``: the plan's section (``"lambda"``); ``attribute``: the :class:`~bluegreen.plan.Plan`
      field that holds its entries (``"lambda_"``).
    - ``entry`` and ``read``: the frozen entry and the reader that checks one raw entry into it
      (recording every problem in the checker; None when the entry had one).
    - ``claims``: the resources an entry manages (two entries may not claim one resource);
      ``check``: a rule over the whole section that no single entry can check (``(path, entry)`` pairs).
    - ``tool``: ``(module, class)`` of its tool in :mod:`bluegreen.tools`, imported on first use and
      made from ``entry.config(region, account_id)``.
    - ``switches``, ``prepare``, ``retire``: what the flows do with one entry on one stack.
    - ``confirm``: checked on the replacement right before the prepare reports success.
    - ``rows``: what ``bluegreen status`` reads for one entry.
    - ``config``: the tool's config when the flows need another than ``entry.config(region, account_id)``.
    """

    name: str
    title: str
    entry: type[E]
    read: Callable[[_Checker, object, str], E | None]
    claims: Callable[[E, str], list[Claim]]
    tool: tuple[str, str]
    rows: Callable[[E, int, ToolSource], list[Row]]
    switches: Callable[[E, int, ToolSource, StackReference], list[Switch]] = nothing
    prepare: Callable[[E, int, ToolSource, StackReference], list[Phased]] = nothing
    retire: Callable[[E, int, ToolSource, StackReference], list[Phased]] = nothing
    confirm: Callable[[E, int, ToolSource, StackReference], None] | None = None
    check: Callable[[_Checker, list[tuple[str, E]]], None] | None = None
    config: Callable[[E, str, str | None], Any] | None = None

    @property
    def attribute(self) -> str:
        """The :class:`~bluegreen.plan.Plan` field of this section (``lambda`` is a keyword: ``lambda_``)."""
        return "lambda_" if self.name == "lambda" else self.name

    def make_tool(
        self, entry: E, region: str, account_id: str | None = None, session: boto3.Session | None = None
    ) -> Any:
        """The tool of ``entry`` (its module imported now, if it was not yet)."""
        module_name, class_name = self.tool
        tool_class = getattr(importlib.import_module(f"bluegreen.tools.{module_name}"), class_name)
        make_config = self.config or (lambda e, r, a: e.config(r, a))  # type: ignore[attr-defined]
        return tool_class(make_config(entry, region, account_id), session=session)
