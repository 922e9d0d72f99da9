"""The ``bluegreen`` command: status, dry run and by-hand runs of the two flows, plan validation, the demo.

::

    bluegreen validate [FILE]                       check a plan; every problem with its path
    bluegreen status                                the live stack, the deployment in flight, both stacks side by side
    bluegreen plan before-allow-traffic|after-allow-traffic     the dry run: steps, waves, AWS calls; changes nothing
    bluegreen run  before-allow-traffic|after-allow-traffic|settle [--yes] [--deployment-id ID]
    bluegreen demo                                  the whole flow on the embedded emulator
    bluegreen emulator [--port N]                   leave the emulator running, seeded, for status/plan/run

Options (before or after the command): ``--plan FILE`` (or ``ssm:NAME`` for an SSM parameter; default
from ``BLUEGREEN_PLAN_FILE`` / ``BLUEGREEN_PLAN_PARAMETER`` / ``BLUEGREEN_PLAN``, exactly one, as the
hooks read it), ``--state-table NAME`` (default ``BLUEGREEN_STATE_TABLE``), ``--region``, ``--profile``,
``--output text|json``, ``--debug`` (tracebacks). ``AWS_ENDPOINT_URL`` points every call at another
endpoint (the emulator).

Exit codes, for scripts:

    0  done (status read, plan valid, dry run shown, flow succeeded)
    1  the operation failed: a flow failed (and was undone), the record refuses it (nothing to retire,
       a flipped deployment not retired yet), a status read failed for some resource, aborted at the prompt
    2  bad usage or an invalid plan; no confirmation possible (stdin not a terminal and no --yes)
    3  AWS cannot be used: no, invalid or expired credentials, an unknown profile, AccessDenied,
       an endpoint that cannot be reached
    4  not found: the plan file or SSM parameter, the state table, the application's record when one
       is required (a retire)
    130 interrupted (Ctrl-C)

Errors are one line on stderr (``bluegreen: error: …``; an invalid plan adds one line per problem),
and with ``--output json`` also ``{"error": {...}}`` on stdout. No traceback unless ``--debug``.

Decisions made here, where nothing else fixed them:

- **Regions.** The tools work in the plan's ``region``, else ``--region``, else the session's
  (``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's). The state table is where the hooks run:
  ``--region``, else the session's, else the plan's.
- **plan** reads what a run reads — the record (one ``GetItem``; an SSM plan adds one
  ``GetParameter``) and CodeDeploy's view of the deployment (``GetDeployment``, and of the other
  deployment on record when a prepare needs it) — and takes the very decision a run takes
  (:func:`bluegreen.decide.decide`): a settle that comes first, then the steps from
  :func:`bluegreen.flows.prepare_steps` / ``retire_steps`` — the very lists ``run`` and the hooks
  execute — grouped in waves by :func:`bluegreen.engine.waves`. It also shows the record writes
  around the steps, what a failure would undo, and why a run would be refused; when ``run`` would
  refuse, ``plan`` exits with the same code.
- **Targets.** Prepare acts on the stack that is not live (resuming the deployment given with
  ``--deployment-id`` when it is still preparing); another deployment still in flight refuses it
  (a deployment CodeDeploy ended is settled first). Retire retires the partner of the stack being made
  live, for the deployment in flight (or ``--deployment-id``); with none prepared it refuses.
  ``settle`` puts back the deployment on record (or ``--deployment-id``) as its STOP event would,
  once CodeDeploy has ended it (or when CodeDeploy never knew it: one run by hand).
- **run** shows the dry run, asks ``Proceed? [y/N]`` (on stderr) unless ``--yes``, and refuses with
  exit 2 when stdin is not a terminal. It runs :func:`bluegreen.hooks.run_flow` — the hooks' code,
  with the same record writes, live-stack guard and undo — but reports nothing to CodeDeploy, and
  polls waits in this process until done or the plan's deadline. Progress is a live table on a
  terminal, one line per step event otherwise (on stderr with ``--output json``).
- **status** exits 1 when some resource could not be read (it still prints everything);
  ``--record-only`` reads the record alone (one ``GetItem``: what a pipeline needs to learn the
  replacement). JSON is :meth:`bluegreen.status.StatusReport.as_dict`.
- ``validate`` takes ``-`` for stdin and makes no AWS call (unless the plan is an SSM parameter).
- ``prepare`` and ``retire`` are accepted as short names of the two flows.

This module imports rich (the ``cli`` extra) only inside functions; the Lambda layer never imports it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, NoRegionError

from bluegreen import render
from bluegreen.aws import default_session, error_code, error_message, make_client
from bluegreen.decide import Act, SettleHow, decide_by_hand
from bluegreen.engine import RunStatus, Step, reversed_steps, waves
from bluegreen.flows import prepare_steps, retire_steps
from bluegreen.hooks import Flow, Runtime, decide_for, run_flow, settle_by_hand
from bluegreen.plan import PLAN_FILE_VAR, PLAN_PARAMETER_VAR, PLAN_VAR, Plan, PlanError, load_plan_text
from bluegreen.refs import StackReference
from bluegreen.state import TABLE_ENV, LiveRecord, Phase, StateConflict, StateStore
from bluegreen.status import collect_status, is_access_problem

if TYPE_CHECKING:
    from bluegreen.tools.codedeploy import DeploymentInfo

__all__ = ["EXIT_ACCESS", "EXIT_FAILED", "EXIT_NOT_FOUND", "EXIT_OK", "EXIT_USAGE", "FlowPlan", "main", "plan_flow"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ACCESS = 3
EXIT_NOT_FOUND = 4
EXIT_INTERRUPTED = 130

_FLOWS = {"before-allow-traffic": Flow.PREPARE, "prepare": Flow.PREPARE}
_FLOWS |= {"after-allow-traffic": Flow.RETIRE, "retire": Flow.RETIRE, "settle": Flow.SETTLE}


class CliError(Exception):
    """An error the command explains in one line, with its exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- the dry run


@dataclass
class FlowPlan:
    """What a run of ``flow`` would do now: the record writes, the steps (in waves), or why it would refuse."""

    flow: Flow
    application: str
    region: str
    deployment_id: str | None
    live: StackReference
    target: StackReference | None = None
    new_live: StackReference | None = None
    steps: list[Step] = field(default_factory=list)
    record_before: list[str] = field(default_factory=list)
    record_after: list[str] = field(default_factory=list)
    on_failure: str | None = None
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    refusal_code: int = EXIT_FAILED
    decision: str | None = None
    settle: str | None = None
    settle_steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view: ``waves`` is a list of waves, each a list of steps that run in parallel."""
        return {
            "flow": self.flow.value,
            "application": self.application,
            "region": self.region,
            "deployment_id": self.deployment_id,
            "live": self.live.value,
            "target": self.target.value if self.target else None,
            "new_live": self.new_live.value if self.new_live else None,
            "refused": self.refusal,
            "decision": self.decision,
            "settle": {"what": self.settle, "waves": [[_step_dict(s) for s in w] for w in waves(self.settle_steps)]}
            if self.settle
            else None,
            "record_before": self.record_before,
            "waves": [[_step_dict(step) for step in wave] for wave in waves(self.steps)],
            "record_after": self.record_after,
            "on_failure": self.on_failure,
            "notes": self.notes,
        }


def _step_dict(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "title": step.title,
        "service": step.service,
        "stack": step.stack.value,
        "destructive": step.destructive,
        "irreversible": step.irreversible,
        "calls": list(step.calls),
        "depends_on": list(step.depends_on),
        "undo_calls": list(step.undo_calls),
    }


def manual_deployment_id(now: datetime | None = None) -> str:
    """The id of a prepare run by hand: ``manual-<UTC yyyymmddTHHMMSS>``."""
    return f"manual-{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%S}"


def _codedeploy_view(runtime: Runtime, deployment_id: str) -> tuple[DeploymentInfo | None, str | None]:
    """``GetDeployment`` for the dry run: the deployment (None: unknown to CodeDeploy) and a note when unreadable."""
    try:
        return runtime.deployments.get(deployment_id), None
    except Exception as exc:  # noqa: BLE001 - the dry run says so, and decides as for a deployment run by hand
        return None, f"CodeDeploy could not be asked about {deployment_id} ({type(exc).__name__}): taken as run by hand"


def plan_flow(runtime: Runtime, record: LiveRecord | None, flow: Flow, deployment_id: str | None = None) -> FlowPlan:
    """The dry run of ``flow`` against ``record`` (as read now): builds the steps, changes nothing.

    It asks CodeDeploy what the hooks ask (``GetDeployment``, and the other deployment on record when a
    prepare needs it) and takes the very decision a run would take (:func:`bluegreen.decide.decide`):
    the settle that comes first, then the steps, or the refusal.
    """
    plan = runtime.plan
    live = record.live if record is not None else plan.initial_live
    if flow is Flow.SETTLE:
        return _plan_settle(runtime, record, deployment_id)
    if flow is Flow.RETIRE and record is None:
        fp = FlowPlan(flow, plan.application, runtime.region, deployment_id, live)
        fp.refusal_code = EXIT_NOT_FOUND
        fp.refusal = (
            f"no live-stack record for application {plan.application!r} in table {runtime.store.table_name!r}: "
            "no deployment was ever prepared, so there is nothing to retire"
        )
        return fp
    if flow is Flow.PREPARE:
        d: str | None = deployment_id or manual_deployment_id()
    else:
        d = deployment_id or (record.deployment_id if record is not None and record.in_flight else None)
    fp = FlowPlan(flow, plan.application, runtime.region, d, live)
    if d is None:
        fp.refusal = f"nothing to retire: no deployment is in flight ({record.describe() if record else 'no record'})"
        return fp
    info, note = _codedeploy_view(runtime, d)
    if note:
        fp.notes.append(note)
    decision, _ = decide_for(
        runtime, flow, d, info, record=record, ask=lambda other: _codedeploy_view(runtime, other)[0]
    )
    fp.decision = f"{decision.act.value}: {decision.reason}"
    if decision.settle is not None and record is not None:
        from bluegreen.settle import settle_steps  # noqa: PLC0415 - with the flows it builds

        fp.settle = (
            f"{decision.settle.how.value} of deployment {decision.settle.deployment_id}: {decision.settle.reason}"
        )
        fp.settle_steps = settle_steps(runtime, record, decision.settle)
        if decision.settle.how is SettleHow.PUT_BACK and record.phase is Phase.FLIPPED:
            live = fp.live = record.live.partner
    if decision.act in (Act.REFUSE,):
        fp.refusal = decision.reason
    elif decision.act is Act.SUCCEED:
        fp.notes.append(f"nothing to do: {decision.reason}")
    elif flow is Flow.PREPARE:
        _plan_prepare(fp, runtime, record, decision.act, live)
    else:
        _plan_retire(fp, runtime, record, decision.act)
    return fp


def _plan_settle(runtime: Runtime, record: LiveRecord | None, deployment_id: str | None) -> FlowPlan:
    """The dry run of ``bluegreen run settle``: what its STOP event would settle (see ``settle_by_hand``)."""
    live = record.live if record is not None else runtime.plan.initial_live
    d = deployment_id or (record.deployment_id if record is not None else None)
    fp = FlowPlan(Flow.SETTLE, runtime.plan.application, runtime.region, d, live)
    if d is None or record is None:
        fp.refusal, fp.refusal_code = "nothing to settle: there is no deployment on record", EXIT_NOT_FOUND
        return fp
    info, note = _codedeploy_view(runtime, d)
    if note:
        fp.notes.append(note)
    decision = decide_by_hand(d, record, info)  # what `bluegreen run settle` (settle_by_hand) decides
    fp.decision = f"{decision.act.value}: {decision.reason}"
    if decision.act in (Act.REFUSE, Act.ATTENTION):
        fp.refusal = decision.reason
    elif decision.settle is None:
        fp.notes.append(f"nothing to do: {decision.reason}")
    else:
        from bluegreen.settle import settle_steps  # noqa: PLC0415 - with the flows it builds

        fp.settle = f"{decision.settle.how.value} of deployment {d}: {decision.settle.reason}"
        fp.settle_steps = settle_steps(runtime, record, decision.settle)
        fp.target = record.replacement
    return fp


def _plan_prepare(fp: FlowPlan, runtime: Runtime, record: LiveRecord | None, act: Act, live: StackReference) -> None:
    app, d = runtime.plan.application, fp.deployment_id
    resumed = record is not None and record.deployment_id == d
    target = record.replacement_stack if resumed and record is not None else live.partner
    scope = runtime.scope_for(record if resumed else None)
    steps = prepare_steps(scope.plan, scope.box, target)
    fp.target = target
    if act is Act.RESUME_PUT_BACK:
        fp.steps = reversed_steps(steps, [s.id for s in steps], destructive=True)
        fp.notes.append(f"the prepare of {d} failed earlier: its put-back of stack {target} is finished, then Failed")
        return
    if resumed:
        fp.notes.append(f"deployment {d} is preparing: this run resumes it (finished steps repeat harmlessly)")
    elif record is None:
        fp.record_before.append(f"dynamodb:PutItem {app}: the first record, live {live}, deployment {d} preparing")
    else:
        fp.record_before.append(f"dynamodb:UpdateItem {app}: deployment {d} preparing (replacement {target})")
    if not resumed:
        fp.record_before[-1] += f", with the plan it acts on (sha256 {runtime.snapshot[1][:12]})"
    fp.steps = steps
    fp.record_after.append(f"dynamodb:UpdateItem {app}: deployment {d} prepared")
    fp.on_failure = (
        f"the finished steps are undone (stack {target} back to retired) and the deployment ends prepare-failed; "
        f"live stays {live}"
    )


def _plan_retire(fp: FlowPlan, runtime: Runtime, record: LiveRecord | None, act: Act) -> None:
    assert record is not None
    app, d, live = runtime.plan.application, fp.deployment_id, record.live
    scope = runtime.scope_for(record)
    if record.plan_sha256 and record.plan_sha256 != runtime.snapshot[1]:
        fp.notes.append(
            f"deployment {d} acts on the plan it was prepared with (sha256 {record.plan_sha256[:12]}), "
            f"not the current one ({runtime.snapshot[1][:12]})"
        )
    if act is Act.RESUME_PUT_BACK:
        steps = retire_steps(scope.plan, scope.box, live)
        fp.target, fp.steps = live, reversed_steps(steps, [s.id for s in steps])
        fp.notes.append(f"the retire of {d} failed earlier: stack {live} is live again and its put-back is finished")
        return
    old = live if record.phase is Phase.PREPARED else live.partner
    fp.target, fp.new_live, fp.steps = old, old.partner, retire_steps(scope.plan, scope.box, old)
    if record.phase is Phase.PREPARED:
        fp.record_before.append(
            f"dynamodb:UpdateItem {app}: live {old} → {old.partner} (one conditional write: only while deployment {d} "
            "is prepared)"
        )
    else:
        fp.notes.append(f"deployment {d} is already flipped (live {live}): this run resumes the retire of {old}")
    fp.record_after.append(f"dynamodb:UpdateItem {app}: deployment {d} retired (+ history)")
    fp.on_failure = (
        f"the finished steps are undone (stack {old} re-enabled), the record flips back to live {old} "
        "and the deployment ends rolled-back"
    )
    fp.notes.append("before the first irreversible step CodeDeploy is asked again: a stopped deployment is put back")


# --------------------------------------------------------------------------- setting up: plan, regions, clients


def _session(args: argparse.Namespace) -> boto3.Session | None:
    return boto3.Session(profile_name=args.profile) if args.profile else None


def _session_region(args: argparse.Namespace, session: boto3.Session | None) -> str | None:
    region = args.region or os.environ.get("AWS_REGION", "").strip() or (session or default_session()).region_name
    return region or None


def _plan_source(args: argparse.Namespace, explicit: str | None = None) -> tuple[str, str]:
    """``("file"|"ssm"|"inline", value)`` from ``explicit``, ``--plan`` or the three plan variables."""
    given = explicit or args.plan
    if given:
        return ("ssm", given[4:]) if given.startswith("ssm:") else ("file", given)
    found = [name for name in (PLAN_FILE_VAR, PLAN_PARAMETER_VAR, PLAN_VAR) if os.environ.get(name, "").strip()]
    if not found:
        raise CliError(EXIT_USAGE, f"no plan: pass --plan FILE (or ssm:PARAMETER), or set {PLAN_FILE_VAR}")
    if len(found) > 1:
        raise CliError(EXIT_USAGE, f"{' and '.join(found)} are all set: set only one, or pass --plan")
    value = os.environ[found[0]].strip()
    kind = {PLAN_FILE_VAR: "file", PLAN_PARAMETER_VAR: "ssm", PLAN_VAR: "inline"}[found[0]]
    return kind, (os.environ[PLAN_VAR] if kind == "inline" else value)


def _load_plan(
    args: argparse.Namespace, session: boto3.Session | None, explicit: str | None = None
) -> tuple[Plan, str]:
    kind, value = _plan_source(args, explicit)
    if kind == "inline":
        return load_plan_text(value, source=PLAN_VAR), PLAN_VAR
    if kind == "ssm":
        region = _session_region(args, session)
        if region is None:
            raise CliError(EXIT_USAGE, f"no region to fetch SSM parameter {value!r} from: pass --region")
        try:
            text = make_client("ssm", region=region, session=session).get_parameter(Name=value, WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                raise CliError(EXIT_NOT_FOUND, f"SSM parameter {value!r} not found in {region}") from None
            raise
        source = f"SSM parameter {value}"
        return load_plan_text(str(text["Parameter"]["Value"]), source=source), source
    try:
        text = sys.stdin.read() if value == "-" else Path(value).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(EXIT_NOT_FOUND, f"plan file {value!r} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise CliError(EXIT_USAGE, f"cannot read plan file {value!r}: {reason}") from None
    source = "stdin" if value == "-" else value
    return load_plan_text(text, source=source), source


def _runtime(args: argparse.Namespace) -> Runtime:
    """Load the plan, resolve the regions and the table, and make the runtime (no client is made yet)."""
    session = _session(args)
    plan, _ = _load_plan(args, session)
    table = (args.state_table or os.environ.get(TABLE_ENV, "")).strip()
    if not table:
        raise CliError(
            EXIT_USAGE,
            f"no state table: pass --state-table NAME or set {TABLE_ENV} (the template's StateTableName output)",
        )
    default = _session_region(args, session)
    region, table_region = plan.region or default, default or plan.region
    if region is None:
        raise CliError(EXIT_USAGE, "no region: set region in the plan, pass --region, or set AWS_REGION")
    store = StateStore(table, region=table_region, session=session)
    return Runtime(plan, store=store, region=region, session=session)


# --------------------------------------------------------------------------- rendering


def _print_waves(console: Any, steps: list[Step], label: str) -> None:
    for number, wave in enumerate(waves(steps), start=1):
        parallel = f" ({len(wave)} steps in parallel)" if len(wave) > 1 else ""
        console.print(f"[bold]{label} {number}[/]{parallel}")
        for step in wave:
            marks = " [red]destructive[/]" if step.destructive else ""
            marks += " [bold red]irreversible[/]" if step.irreversible else ""
            console.print(
                f"  [bold]{render.esc(step.id)}[/]  {render.esc(step.title)}  [dim]stack {step.stack}[/]{marks}"
            )
            for call in step.calls:
                console.print(f"      {render.esc(call)}")


def _render_plan(fp: FlowPlan, *, dry_run: bool) -> None:
    console = render.make_console()
    title = f"[bold]{fp.flow.value}[/] for {render.esc(fp.application)} ({render.esc(fp.region)}): live {fp.live}"
    if fp.new_live is not None and fp.new_live is not fp.live:
        title += f" → {fp.new_live}"
    if fp.target is not None:
        verb = {Flow.PREPARE: "prepares", Flow.RETIRE: "retires"}.get(fp.flow, "puts back")
        title += f" · {verb} stack [bold]{fp.target}[/]"
    if fp.deployment_id:
        title += f" · deployment {render.esc(fp.deployment_id)}"
    console.print(title)
    if fp.decision:
        console.print(f"  [cyan]decision[/]  {render.esc(fp.decision)}")
    if fp.settle:
        console.print(f"[bold]first, settle[/] {render.esc(fp.settle)}")
        _print_waves(console, fp.settle_steps, "settle wave")
    for write in fp.record_before:
        console.print(f"  [cyan]record[/]  {render.esc(write)}")
    _print_waves(console, fp.steps, "wave")
    for write in fp.record_after:
        console.print(f"  [cyan]record[/]  {render.esc(write)}")
    if fp.on_failure:
        console.print(f"on failure: {render.esc(fp.on_failure)}")
    for note in fp.notes:
        console.print(f"note: {render.esc(note)}")
    if dry_run and fp.refusal is None:
        console.print("[dim]dry run: nothing was changed[/]")


# --------------------------------------------------------------------------- commands


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        plan, source = _load_plan(args, _session(args), explicit=args.file)
    except PlanError as err:
        if args.output == "json":
            problems = [{"path": path, "message": message} for path, message in err.problems]
            render.print_json({"valid": False, "source": err.source, "problems": problems})
        else:
            render.make_console().print(render.esc(str(err)))
        return EXIT_USAGE
    sections = {name: len(entries) for name, entries in plan.sections().items() if entries}
    if args.output == "json":
        render.print_json(
            {
                "valid": True,
                "source": source,
                "application": plan.application,
                "region": plan.region,
                "initial_live": plan.initial_live.value,
                "deadline_minutes": plan.deadline_minutes,
                "sections": sections,
            }
        )
        return EXIT_OK
    counts = ", ".join(f"{name} {n}" for name, n in sections.items()) or "no sections"
    region = plan.region or "not set (the CLI uses --region / AWS_REGION)"
    render.make_console().print(
        f"[green]✓[/] {render.esc(source)}: a valid plan for {render.esc(plan.application)} — {counts}; "
        f"initial live {plan.initial_live}; region {render.esc(region)}; deadline {plan.deadline_minutes} min"
    )
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    report = collect_status(rt.plan, rt.toolbox, rt.store, resources=not args.record_only)
    if args.output == "json":
        render.print_json(report.as_dict())
    else:
        render.render_status(report)
    return EXIT_FAILED if report.errors else EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    fp = plan_flow(rt, rt.store.get(rt.plan.application), _FLOWS[args.flow], args.deployment_id)
    if args.output == "json":
        render.print_json(fp.as_dict())
    else:
        _render_plan(fp, dry_run=True)
    return _fail(fp.refusal_code, f"a run would be refused: {fp.refusal}") if fp.refusal else EXIT_OK


def _confirm(yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise CliError(
            EXIT_USAGE, "not changing anything without confirmation: stdin is not a terminal; pass --yes to run"
        )
    sys.stderr.write("Proceed? [y/N] ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _cmd_run(args: argparse.Namespace) -> int:
    rt, flow, as_json = _runtime(args), _FLOWS[args.flow], args.output == "json"
    fp = plan_flow(rt, rt.store.get(rt.plan.application), flow, args.deployment_id)
    if not as_json:
        _render_plan(fp, dry_run=False)
    if fp.refusal:
        if as_json:
            render.print_json({"plan": fp.as_dict(), "status": "refused", "message": fp.refusal})
        return _fail(fp.refusal_code, f"refused: {fp.refusal}")
    if not fp.steps and not fp.settle_steps:
        message = fp.notes[0] if fp.notes else "nothing to do"
        if as_json:
            render.print_json(
                {"plan": fp.as_dict(), "status": "succeeded", "message": message, "done": [], "errors": {}}
            )
        return EXIT_OK
    if not _confirm(args.yes):
        sys.stderr.write("aborted: nothing was changed\n")
        return EXIT_FAILED
    assert fp.deployment_id is not None
    console = render.make_console(stderr=as_json)
    try:
        with render.Progress(console, [*fp.settle_steps, *fp.steps]) as progress:
            if flow is Flow.SETTLE:
                result, message = settle_by_hand(rt, fp.deployment_id, on_event=progress.event)
            else:
                result, message = run_flow(rt, flow, fp.deployment_id, on_event=progress.event)
    except KeyboardInterrupt:
        raise CliError(
            EXIT_INTERRUPTED,
            f"interrupted part-way: run `bluegreen run {flow.value} --deployment-id {fp.deployment_id}` to finish "
            "(steps are idempotent)",
        ) from None
    succeeded = result.status is RunStatus.SUCCEEDED
    if as_json:
        render.print_json(
            {
                "plan": fp.as_dict(),
                "status": "succeeded" if succeeded else "failed",
                "message": message,
                "done": result.done,
                "errors": result.errors,
            }
        )
    else:
        mark = "[green]✓ succeeded[/]" if succeeded else "[red]✗ failed[/]"
        console.print(f"{mark} {flow.value} (deployment {render.esc(fp.deployment_id)}): {render.esc(message)}")
        console.print("[dim]no status was reported to CodeDeploy: this run was outside CodeDeploy[/]")
    return EXIT_OK if succeeded else EXIT_FAILED


def _cmd_demo(args: argparse.Namespace) -> int:
    # bluegreen.local needs the emulator extra (moto); imported only for these two commands.
    demo = importlib.import_module("bluegreen.local.demo")
    return int(demo.run_demo())


def _cmd_emulator(args: argparse.Namespace) -> int:
    from bluegreen.local.emulator import serve  # noqa: PLC0415 - the emulator extra (moto)

    serve(port=args.port, **({"region": args.region} if args.region else {}))
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _cmd_validate,
    "status": _cmd_status,
    "plan": _cmd_plan,
    "run": _cmd_run,
    "demo": _cmd_demo,
    "emulator": _cmd_emulator,
}


# --------------------------------------------------------------------------- arguments, errors, main


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS  # a subcommand must not reset what was given before it

    parser.add_argument(
        "--plan",
        metavar="FILE",
        default=default(None),
        help=f"the plan: a YAML/JSON file, - for stdin, or ssm:NAME (default: {PLAN_FILE_VAR} / "
        f"{PLAN_PARAMETER_VAR} / {PLAN_VAR})",
    )
    parser.add_argument(
        "--state-table", metavar="NAME", default=default(None), help=f"the live-stack table (default: {TABLE_ENV})"
    )
    parser.add_argument("--region", default=default(None), help="AWS region (default: the plan's, then the session's)")
    parser.add_argument("--profile", default=default(None), help="AWS profile (default: the standard credential chain)")
    parser.add_argument("--output", choices=("text", "json"), default=default("text"), help="output format")
    parser.add_argument("--debug", action="store_true", default=default(False), help="show tracebacks and debug logs")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bluegreen`` command."""
    parser = argparse.ArgumentParser(
        prog="bluegreen",
        description="Whole-stack blue/green deployments on AWS: see and run the flows the CodeDeploy hooks run.",
        epilog="exit codes: 0 ok · 1 failed · 2 bad usage or invalid plan · 3 AWS access (credentials, denied, "
        "unreachable) · 4 not found (plan, table, record)",
    )
    _add_common(parser, top=True)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, top=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = sub.add_parser("validate", parents=[common], help="check a plan; errors name their path")
    validate.add_argument("file", nargs="?", metavar="FILE", help="the plan (default: --plan); - for stdin")
    status = sub.add_parser("status", parents=[common], help="the live stack and both stacks side by side")
    status.add_argument("--record-only", action="store_true", help="read only the live-stack record")
    flows = "before-allow-traffic (prepare) or after-allow-traffic (retire)"
    dry = sub.add_parser("plan", parents=[common], help="dry run of a flow: its steps and AWS calls; changes nothing")
    run = sub.add_parser("run", parents=[common], help="run a flow by hand (asks first; no CodeDeploy report)")
    for command in (dry, run):
        command.add_argument("flow", metavar="FLOW", choices=sorted(_FLOWS), help=flows)
        command.add_argument(
            "--deployment-id",
            metavar="ID",
            help="prepare: default manual-<UTC time>, or the id of one preparing to resume it; "
            "retire: default the deployment in flight",
        )
    run.add_argument("-y", "--yes", action="store_true", help="do not ask before changing anything")
    sub.add_parser("demo", parents=[common], help="seed the embedded emulator and run a whole deployment")
    emulator = sub.add_parser("emulator", parents=[common], help="run the embedded emulator, seeded, until Ctrl-C")
    emulator.add_argument("--port", type=int, help="the port to listen on")
    return parser


def _classify(exc: BaseException) -> tuple[int, str]:  # noqa: PLR0911 - one return per kind of failure
    """The exit code and the one-line message for an exception that ended a command."""
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, PlanError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, ClientError) and is_access_problem(exc):
        code = error_code(exc)
        hint = "" if code.startswith("AccessDenied") else " (check --profile / AWS_PROFILE, or log in again)"
        return EXIT_ACCESS, f"AWS refused the request: {code}: {_message(exc)}{hint}"
    if is_access_problem(exc):
        return EXIT_ACCESS, f"no usable AWS credentials: {exc} (set AWS_PROFILE or pass --profile, or log in again)"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return EXIT_ACCESS, f"cannot reach AWS: {exc} (is AWS_ENDPOINT_URL right, is the emulator running?)"
    if isinstance(exc, NoRegionError):
        return EXIT_USAGE, "no region: set region in the plan, pass --region, or set AWS_REGION"
    if isinstance(exc, LookupError) and not isinstance(exc, KeyError | IndexError):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, StateConflict):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name in ("rich", "moto", "bluegreen.local.demo"):
        return EXIT_FAILED, f"{exc}: install the extras with pip install 'bluegreen[cli,local]'"
    return EXIT_FAILED, f"{type(exc).__name__}: {exc} (--debug shows the traceback)"


def _message(exc: ClientError) -> str:
    return error_message(exc)


@contextmanager
def _logging(debug: bool) -> Iterator[None]:
    """Log bluegreen's warnings to stderr while a command runs; put the loggers back as they were afterwards."""
    root, engine = logging.getLogger("bluegreen"), logging.getLogger("bluegreen.engine")
    saved = (root.handlers[:], root.propagate, root.level, engine.level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bluegreen: %(levelname)s: %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    # The engine's step events are shown by the progress display; its log lines would repeat them.
    engine.setLevel(logging.DEBUG if debug else logging.CRITICAL)
    try:
        yield
    finally:
        root.handlers[:], root.propagate = saved[0], saved[1]
        root.setLevel(saved[2])
        engine.setLevel(saved[3])


def main(argv: list[str] | None = None) -> int:
    """Run the ``bluegreen`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has printed
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        with _logging(args.debug):
            return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted")
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and an exit code
        if args.debug:
            traceback.print_exc()
        code, message = _classify(exc)
        if args.output == "json" and args.command not in ("demo", "emulator"):
            error: dict[str, Any] = {"exit_code": code, "message": message}
            if isinstance(exc, PlanError):
                error["problems"] = [{"path": path, "message": text} for path, text in exc.problems]
            render.print_json({"error": error})
    return _fail(code, message)


def _fail(code: int, message: str) -> int:
    """Write the one-line error to stderr; return ``code``."""
    sys.stderr.write(f"bluegreen: error: {message}\n")
    return code
