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
  (:func:`bluegreen.hooks.decide.decide`): a settle that comes first, then the steps from
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

The package, by part:

- :mod:`bluegreen.cli` (here) — the arguments (:func:`build_parser`), the logging while a command
  runs, and :func:`main`, which turns every failure into one line and an exit code;
- :mod:`bluegreen.cli.commands` — one function per command;
- :mod:`bluegreen.cli.setup` — the session, the plan, the regions, the state table: the runtime;
- :mod:`bluegreen.cli.dryrun` — the dry run (:func:`plan_flow`, :class:`FlowPlan`);
- :mod:`bluegreen.cli.render` — what the terminal shows (rich), shared with the demo;
- :mod:`bluegreen.cli.demo` — ``bluegreen demo``: whole deployments on the embedded emulator
  (:mod:`bluegreen.local`), shown step by step;
- :mod:`bluegreen.cli.errors` — the exit codes and the one-line errors.

This package imports rich (the ``cli`` extra) only inside functions; the Lambda layer never imports it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bluegreen.cli import render
from bluegreen.cli.commands import COMMANDS, FLOWS
from bluegreen.cli.dryrun import FlowPlan, manual_deployment_id, plan_flow
from bluegreen.cli.errors import (
    EXIT_ACCESS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    classify,
    fail,
)
from bluegreen.plan import PLAN_FILE_VAR, PLAN_PARAMETER_VAR, PLAN_VAR, PlanError
from bluegreen.state import TABLE_ENV

__all__ = [
    "EXIT_ACCESS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "FlowPlan",
    "build_parser",
    "main",
    "manual_deployment_id",
    "plan_flow",
]


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
        command.add_argument("flow", metavar="FLOW", choices=sorted(FLOWS), help=flows)
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
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted")
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and an exit code
        if args.debug:
            traceback.print_exc()
        code, message = classify(exc)
        if args.output == "json" and args.command not in ("demo", "emulator"):
            error: dict[str, Any] = {"exit_code": code, "message": message}
            if isinstance(exc, PlanError):
                error["problems"] = [{"path": path, "message": text} for path, text in exc.problems]
            render.print_json({"error": error})
    return fail(code, message)
