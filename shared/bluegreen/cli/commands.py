"""The commands: ``validate``, ``status``, ``plan``, ``run``, ``demo``, ``emulator``; each returns its exit code.

Each takes the parsed arguments; :data:`COMMANDS` names them for :func:`bluegreen.cli.main`, which turns
whatever they raise into one line and an exit code (:func:`bluegreen.cli.errors.classify`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from bluegreen.cli import render
from bluegreen.cli.dryrun import plan_flow
from bluegreen.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError, fail
from bluegreen.cli.setup import load_plan, make_runtime, make_session
from bluegreen.engine import RunStatus
from bluegreen.hooks import Flow, run_flow, settle_by_hand
from bluegreen.plan import PlanError
from bluegreen.status import collect_status

#: The flows ``plan`` and ``run`` take, by CodeDeploy's hook name and by short name.
FLOWS = {"before-allow-traffic": Flow.PREPARE, "prepare": Flow.PREPARE}
FLOWS |= {"after-allow-traffic": Flow.RETIRE, "retire": Flow.RETIRE, "settle": Flow.SETTLE}


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        plan, source = load_plan(args, make_session(args), explicit=args.file)
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
    rt = make_runtime(args)
    report = collect_status(rt.plan, rt.toolbox, rt.store, resources=not args.record_only)
    if args.output == "json":
        render.print_json(report.as_dict())
    else:
        render.render_status(report)
    return EXIT_FAILED if report.errors else EXIT_OK


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
    demo = importlib.import_module("bluegreen.cli.demo")
    return int(demo.run_demo())


def _cmd_emulator(args: argparse.Namespace) -> int:
    from bluegreen.local.emulator import serve  # noqa: PLC0415 - the emulator extra (moto)

    serve(port=args.port, **({"region": args.region} if args.region else {}))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _cmd_validate,
    "status": _cmd_status,
    "plan": _cmd_plan,
    "run": _cmd_run,
    "demo": _cmd_demo,
    "emulator": _cmd_emulator,
}
