"""The commands (``validate``, ``status``, ``logs``, ``plan``, ``run``, ``demo``, ``emulator``, ``completion``).

Each takes the parsed arguments and returns its exit code; :data:`COMMANDS` names them for
:func:`bluegreen.cli.main`, which turns whatever they raise into one line and an exit code
(:func:`bluegreen.cli.errors.classify`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bluegreen.aws import make_client
from bluegreen.cli import render
from bluegreen.cli.checks import plan_size, prefix_problems, region_problem, size_findings, ssm_tier, stack_prefix
from bluegreen.cli.dryrun import plan_flow
from bluegreen.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, CliError, fail
from bluegreen.cli.logs import deployment_logs
from bluegreen.cli.setup import make_runtime, make_session, plan_text, session_region
from bluegreen.cli.watch import EXIT_TIMEOUT, watch
from bluegreen.engine import RunStatus
from bluegreen.hooks import Flow, abort_by_hand, run_flow, settle_by_hand
from bluegreen.plan import PlanError, load_plan_text
from bluegreen.status import collect_status

if TYPE_CHECKING:
    from bluegreen.status import StatusReport

#: The flows ``plan`` and ``run`` take, by CodeDeploy's hook name and by short name.
FLOWS = {"before-allow-traffic": Flow.PREPARE, "prepare": Flow.PREPARE}
FLOWS |= {"after-allow-traffic": Flow.RETIRE, "retire": Flow.RETIRE, "settle": Flow.SETTLE, "abort": Flow.ABORT}
FLOWS |= {"after-allow-test-traffic": Flow.TEST_TRAFFIC, "test-traffic": Flow.TEST_TRAFFIC}


#: The flows run by hand that are not a hook's: settling an ended deployment, and aborting one.
BY_HAND = {Flow.SETTLE: settle_by_hand, Flow.ABORT: abort_by_hand}


def _problems(found: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"path": path, "message": message} for path, message in found]


def _cmd_validate(args: argparse.Namespace) -> int:
    """The plan reader's checks, then :mod:`bluegreen.cli.checks`: size, region, the install's prefix."""
    session = make_session(args)
    text, source = plan_text(args, session, explicit=args.file)
    size = plan_size(text)
    errors, warnings = size_findings(text)
    plan, prefix = None, None
    try:
        plan = load_plan_text(text, source=source)
    except PlanError as err:
        errors += err.problems
    if plan is not None:
        if (problem := region_problem(plan.region)) is not None:
            errors.append(problem)
        prefix = args.managed_prefix
        if args.stack:
            prefix = stack_prefix(args.stack, region=session_region(args, session) or plan.region, session=session)
        if prefix is not None:
            errors += prefix_problems(plan, prefix)
    sections = {name: len(entries) for name, entries in plan.sections().items() if entries} if plan else {}
    if args.output == "json":
        described = (
            {
                "application": plan.application,
                "region": plan.region,
                "initial_live": plan.initial_live.value,
                "deadline_minutes": plan.deadline_minutes,
                "sections": sections,
            }
            if plan
            else {}
        )
        render.print_json(
            {"valid": not errors, "source": source}
            | described
            | {
                "size_bytes": size,
                "ssm_tier": ssm_tier(size),
                "managed_prefix": prefix,
                "problems": _problems(errors),
                "warnings": _problems(warnings),
            }
        )
        return EXIT_USAGE if errors else EXIT_OK
    console = render.make_console()
    if errors:
        console.print(render.esc(str(PlanError(errors, source))))
    else:
        assert plan is not None
        counts = ", ".join(f"{name} {n}" for name, n in sections.items()) or "no sections"
        region = plan.region or "not set (the CLI uses --region / AWS_REGION)"
        tier = ssm_tier(size)
        fits = f"; {size:,} bytes (an SSM {tier} parameter)"
        names = f"; every name the hooks' IAM scopes starts with {prefix!r}" if prefix is not None else ""
        console.print(
            f"[green]✓[/] {render.esc(source)}: a valid plan for {render.esc(plan.application)} — {counts}; "
            f"initial live {plan.initial_live}; region {render.esc(region)}; deadline {plan.deadline_minutes} min"
            f"{fits}{render.esc(names)}"
        )
    for path, message in warnings:
        console.print(f"[yellow]warning:[/] {render.esc(path)}: {render.esc(message)}")
    return EXIT_USAGE if errors else EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    rt = make_runtime(args)

    def read() -> StatusReport:
        return collect_status(rt.plan, rt.toolbox, rt.store, resources=not args.record_only)

    if args.watch:
        return _watch_status(args, read)
    report = read()
    if args.output == "json":
        render.print_json(report.as_dict())
    else:
        render.render_status(report)
    return EXIT_FAILED if report.errors else EXIT_OK


def _watch_status(args: argparse.Namespace, read: Callable[[], StatusReport]) -> int:
    """``status --watch``: on a terminal the status redrawn at each read; elsewhere a line when it changes."""
    console = render.make_console(stderr=args.output == "json")
    seen: list[str] = []

    def show(report: StatusReport) -> None:
        if console.is_terminal and args.output != "json":
            console.clear()
            render.render_status(report)
            return
        line = render.status_line(report)
        if not seen or seen[-1] != line:
            seen.append(line)
            console.print(render.esc(line))

    code, report = watch(read, show, interval=args.interval, timeout=args.timeout)
    if args.output == "json":
        render.print_json(report.as_dict() | {"watch": {"exit_code": code, "settled": code != EXIT_TIMEOUT}})
    elif code == EXIT_TIMEOUT:
        console.print(f"[yellow]not settled within {args.timeout:g} s[/]")
    return code


def _cmd_logs(args: argparse.Namespace) -> int:
    """The log lines of one deployment from the install's log groups (:mod:`bluegreen.cli.logs`)."""
    session = make_session(args)
    deployment = args.deployment_id
    region = session_region(args, session)
    if deployment is None:
        rt = make_runtime(args)
        record = rt.store.get(rt.plan.application)
        if record is None or record.deployment_id is None:
            raise CliError(EXIT_NOT_FOUND, f"no deployment on record for {rt.plan.application}: pass --deployment-id")
        deployment, region = record.deployment_id, rt.region
    client = make_client("logs", region=region, session=session)
    start_ms = int((time.time() - args.since * 60) * 1000) if args.since else None
    found = deployment_logs(client, args.stack, deployment, start_ms=start_ms)
    if args.output == "json":
        for line in found.lines:
            sys.stdout.write(json.dumps(line.as_dict(), default=str) + "\n")
    else:
        console = render.make_console()
        for line in found.lines:
            console.print(render.esc(line.text()), soft_wrap=True)
        if not found.lines:
            console.print(f"no log line of deployment {render.esc(deployment)} in the log groups of {args.stack}")
    for group in found.missing_groups:
        sys.stderr.write(f"bluegreen: log group {group} does not exist (its function never ran)\n")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    rt = make_runtime(args)
    fp = plan_flow(rt, rt.store.get(rt.plan.application), FLOWS[args.flow], args.deployment_id)
    if args.output == "json":
        render.print_json(fp.as_dict())
    else:
        render.render_plan(fp, dry_run=True)
    return fail(fp.refusal_code, f"a run would be refused: {fp.refusal}") if fp.refusal else EXIT_OK


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
    rt, flow, as_json = make_runtime(args), FLOWS[args.flow], args.output == "json"
    fp = plan_flow(rt, rt.store.get(rt.plan.application), flow, args.deployment_id)
    if fp.supersedes and not fp.refusal and not args.force:
        fp.refusal = (
            f"deployment {fp.supersedes} is in flight on record, and CodeDeploy has ended it: this prepare of "
            f"{fp.deployment_id} would supersede it — first {fp.settle} — then prepare stack {fp.target}. "
            "Pass --force to do so (or settle it first: `bluegreen run settle`)"
        )
    if not as_json:
        render.render_plan(fp, dry_run=False)
    if fp.refusal:
        if as_json:
            render.print_json({"plan": fp.as_dict(), "status": "refused", "message": fp.refusal})
        return fail(fp.refusal_code, f"refused: {fp.refusal}")
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
            by_hand = BY_HAND.get(flow)
            if by_hand is not None:
                result, message = by_hand(rt, fp.deployment_id, on_event=progress.event)
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


def _cmd_completion(args: argparse.Namespace) -> int:
    import shtab  # noqa: PLC0415 - the cli extra, only for this command

    from bluegreen.cli import build_parser  # noqa: PLC0415 - the parser's module imports this one

    script = shtab.complete(build_parser(), shell=args.shell)
    sys.stdout.write(script if script.endswith("\n") else f"{script}\n")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    # bluegreen.local needs the emulator extra (moto); imported only for these two commands.
    demo = importlib.import_module("bluegreen.cli.demo")
    return int(demo.run_demo())


def _cmd_emulator(args: argparse.Namespace) -> int:
    from bluegreen.local.emulator import serve  # noqa: PLC0415 - the emulator extra (moto)

    serve(port=args.port, **({"region": args.region} if args.region else {}))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _cmd_validate,
    "status": _cmd_status,
    "logs": _cmd_logs,
    "plan": _cmd_plan,
    "run": _cmd_run,
    "demo": _cmd_demo,
    "emulator": _cmd_emulator,
    "completion": _cmd_completion,
}
