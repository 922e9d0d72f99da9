"""Terminal output shared by the command line and the demo (rich): status tables, the dry run, step progress.

Part of the ``cli`` extra; the Lambda functions never import it. rich is imported only inside functions.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from bluegreen.engine import Step, StepEvent, StepEventKind, waves
from bluegreen.refs import StackReference
from bluegreen.runtime import Flow

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from bluegreen.cli.dryrun import FlowPlan
    from bluegreen.status import StatusReport


def make_console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr), 160 columns wide when not a terminal."""
    from rich.console import Console  # noqa: PLC0415 - rich is the cli extra

    file = sys.stderr if stderr else sys.stdout
    console = Console(file=file, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(file=file, highlight=False, width=160)
    return console


def esc(text: object) -> str:
    """``text`` with rich markup escaped."""
    from rich.markup import escape  # noqa: PLC0415

    return escape(str(text))


def print_json(data: object) -> None:
    """Write ``data`` as indented JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def short(name: str) -> str:
    """An ARN shortened for a table cell (``topic:subscription-id…``); other names as they are."""
    parts = name.split(":")
    if name.startswith("arn:") and len(parts) >= 7:
        return f"{parts[5]}:{parts[6][:8]}…"
    return name


MODE_STYLE = {"on": "green", "off": "dim", "partly": "yellow", None: ""}


def status_table(report: StatusReport) -> Table:
    """Both stacks side by side: one row per resource pair, each cell its name and state."""
    from rich.table import Table  # noqa: PLC0415

    table = Table(show_lines=False, header_style="bold")
    table.add_column("resource", no_wrap=True)
    table.add_column("what")
    for ref in StackReference:
        condition = report.condition(ref)
        table.add_column(f"{ref} · {report.role(ref)}" + (f"\n{condition}" if condition else ""))
    for row in report.resources:
        cells = []
        for ref in StackReference:
            side = row.stack(ref)
            style = "red" if side.missing or side.error else MODE_STYLE[side.mode]
            state = f"[{style}]{esc(side.state)}[/]" if style else esc(side.state)
            cells.append(f"[dim]{esc(short(side.name))}[/]\n{state}")
        table.add_row(row.id, esc(row.what), *cells)
    return table


def status_line(report: StatusReport) -> str:
    """The deployment on record in one line (``status --watch`` off a terminal prints it when it changes)."""
    record = report.record
    if record is None or record.deployment_id is None:
        return f"{report.application}: no deployment yet; live {report.live}"
    state = "in flight" if record.in_flight else ("settled" if record.settled else "ended, not settled yet")
    line = f"{report.application}: deployment {record.deployment_id} {record.phase} ({state}); live {record.live}"
    return line + (f"; failed: {record.failure}" if record.failure else "")


def render_status(report: StatusReport) -> None:
    """Print the record (live stack, deployment in flight, history) and the status table."""
    console = make_console()
    record = report.record
    console.print(
        f"[bold]{esc(report.application)}[/] — live stack [bold green]{report.live}[/] · "
        f"replacement {report.replacement} · table {esc(report.state_table)} ({esc(report.region)})"
    )
    if record is None:
        console.print(f"no deployment yet: live is the plan's initial_live ({report.live}); no record exists")
    elif record.deployment_id is None:
        console.print("no deployment yet")
    else:
        brought = f"{record.replacement.partner} → {record.replacement}" if record.replacement else ""
        state = "in flight" if record.in_flight else f"ended {record.finished_at}"
        console.print(
            f"deployment {esc(record.deployment_id)} ({brought}): [bold]{record.phase}[/], {state} · "
            f"started {record.started_at} · updated {record.updated_at}"
        )
        if record.failure:
            console.print(f"  [red]failed:[/] {esc(record.failure)}")
        for moment, judgement in record.verdicts:
            print_verdict(console, moment, judgement)
    if report.resources_read:
        console.print(status_table(report))
    for entry in record.history[-5:] if record is not None else ():
        console.print(
            f"  history: {esc(entry.get('deployment_id'))} {entry.get('from')}→{entry.get('to')} "
            f"{entry.get('outcome')} at {entry.get('at')}"
            + (f": {esc(entry['reason'])}" if entry.get("reason") else "")
        )
        if entry.get("verdict"):
            console.print(f"    verdict: {esc(entry['verdict'])}")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {esc(warning)}")
    for error in report.errors:
        console.print(f"[red]could not read[/] {esc(error)}")


def print_verdict(console: Console, moment: str, judgement: dict[str, Any]) -> None:
    """A recorded verdict: passed or failed, on which stack, when, over which window; each check with its numbers."""
    passed = judgement.get("passed") is True
    mark = "[green]passed[/]" if passed else "[bold red]failed[/]"
    window = f" · window {esc(judgement['window'])}" if judgement.get("window") else ""
    stack, at = esc(judgement.get("stack")), esc(judgement.get("at"))
    console.print(f"  verdict {moment} on stack {stack}: {mark} at {at}{window}")
    for check in judgement.get("checks") or ():
        sign = "[green]✓[/]" if check.get("passed") is True else "[red]✗[/]"
        what, measured, limit = (esc(check.get(key)) for key in ("what", "measured", "limit"))
        console.print(f"    {sign} {what}: {measured} (limit {limit})")


def print_waves(console: Console, steps: list[Step], label: str) -> None:
    """The steps wave by wave (``label`` 1, 2, …), each with its marks and the AWS calls it makes."""
    for number, wave in enumerate(waves(steps), start=1):
        parallel = f" ({len(wave)} steps in parallel)" if len(wave) > 1 else ""
        console.print(f"[bold]{label} {number}[/]{parallel}")
        for step in wave:
            marks = " [red]destructive[/]" if step.destructive else ""
            marks += " [bold red]irreversible[/]" if step.irreversible else ""
            console.print(f"  [bold]{esc(step.id)}[/]  {esc(step.title)}  [dim]stack {step.stack}[/]{marks}")
            for call in step.calls:
                console.print(f"      {esc(call)}")


def render_plan(fp: FlowPlan, *, dry_run: bool) -> None:
    """Print a dry run: the decision, the settle first, the record writes around the waves, the notes."""
    console = make_console()
    title = f"[bold]{fp.flow.value}[/] for {esc(fp.application)} ({esc(fp.region)}): live {fp.live}"
    if fp.new_live is not None and fp.new_live is not fp.live:
        title += f" → {fp.new_live}"
    if fp.target is not None:
        verb = {Flow.PREPARE: "prepares", Flow.RETIRE: "retires", Flow.TEST_TRAFFIC: "judges"}.get(fp.flow, "puts back")
        title += f" · {verb} stack [bold]{fp.target}[/]"
    if fp.deployment_id:
        title += f" · deployment {esc(fp.deployment_id)}"
    console.print(title)
    if fp.decision:
        console.print(f"  [cyan]decision[/]  {esc(fp.decision)}")
    if fp.settle:
        console.print(f"[bold]first, settle[/] {esc(fp.settle)}")
        print_waves(console, fp.settle_steps, "settle wave")
        for write in fp.settle_writes:
            console.print(f"  [cyan]record[/]  {esc(write)}")
    for write in fp.record_before:
        console.print(f"  [cyan]record[/]  {esc(write)}")
    print_waves(console, fp.steps, "wave")
    for write in fp.record_after:
        console.print(f"  [cyan]record[/]  {esc(write)}")
    if fp.on_failure:
        console.print(f"on failure: {esc(fp.on_failure)}")
    for note in fp.notes:
        console.print(f"note: {esc(note)}")
    if dry_run and fp.refusal is None:
        console.print("[dim]dry run: nothing was changed[/]")


class Progress:
    """Shows the engine's step events: a live table on a terminal, one line per event otherwise."""

    _MARKS: ClassVar[dict[StepEventKind, str]] = {
        StepEventKind.START: "[cyan]▶ running[/]",
        StepEventKind.DONE: "[green]✓ done[/]",
        StepEventKind.PENDING: "[yellow]… waiting[/]",
        StepEventKind.FAILED: "[red]✗ failed[/]",
    }

    def __init__(self, console: Console, steps: list[Step]) -> None:
        self.console = console
        self.rows: dict[str, tuple[Step, str, str]] = {s.id: (s, "[dim]· to do[/]", "") for s in steps}
        self.lock = threading.Lock()
        self.live: Any = None

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            from rich.live import Live  # noqa: PLC0415

            self.live = Live(self._table(), console=self.console, refresh_per_second=8)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(None, None, None)

    def event(self, event: StepEvent) -> None:
        """Record one step event and show it."""
        with self.lock:
            step, mark = event.step, self._MARKS[event.kind]
            detail = f"{event.seconds:.1f}s" if event.kind is not StepEventKind.START else ""
            if event.error:
                detail = esc(event.error)
            self.rows[step.id] = (step, mark, detail)
            if self.live is not None:
                self.live.update(self._table())
            else:
                title = f"  {esc(step.title)}" if event.kind is StepEventKind.START else ""
                self.console.print(f"  {mark} {esc(step.id)}{title}" + (f"  {detail}" if detail else ""))

    def _table(self) -> Table:
        from rich.table import Table  # noqa: PLC0415

        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("step", "stack", "state", ""):
            table.add_column(column)
        for step, mark, detail in self.rows.values():
            table.add_row(esc(step.id), step.stack.value, mark, detail)
        return table
