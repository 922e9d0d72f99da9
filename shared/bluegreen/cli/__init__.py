"""The ``bluegreen`` command: status, dry run and by-hand runs of the two flows, plan validation, the demo.

::

    bluegreen validate [FILE] [--managed-prefix PREFIX | --stack NAME]   check a plan, its size, region and names
    bluegreen status [--watch [--timeout S]]        the live stack, the deployment in flight, both stacks side by side
    bluegreen logs --stack NAME [--deployment-id ID] one deployment's log lines, from the install's log groups
    bluegreen plan before-allow-traffic|after-allow-traffic|settle|abort   the dry run; changes nothing
    bluegreen run  before-allow-traffic|after-allow-traffic|settle|abort [--yes] [--deployment-id ID] [--force]
    bluegreen demo                                  the whole flow on the embedded emulator
    bluegreen emulator [--port N]                   leave the emulator running, seeded, for status/plan/run
    bluegreen completion bash|zsh                   a shell completion script, generated from the parser
    bluegreen --version                             the installed distribution's version

Options: ``--plan FILE`` (or ``ssm:NAME`` for an SSM parameter; default from ``BLUEGREEN_PLAN_FILE`` /
``BLUEGREEN_PLAN_PARAMETER`` / ``BLUEGREEN_PLAN``, exactly one, as the hooks read it), ``--state-table
NAME`` (default ``BLUEGREEN_STATE_TABLE``), ``--region``, ``--profile``, ``--output text|json``,
``--debug`` (tracebacks). Each command takes only those it uses (:data:`COMMAND_OPTIONS`: ``validate``
no ``--state-table``, ``demo`` only ``--debug``…), before or after the command; any other is a usage
error (exit 2), so that an option never seems to work when it is ignored. ``AWS_ENDPOINT_URL`` points
every call at another endpoint (the emulator).

Exit codes, for scripts:

    0  done (status read, plan valid, dry run shown, flow succeeded)
    1  the operation failed: a flow failed (and was undone), the record refuses it (nothing to retire,
       a flipped deployment not retired yet, one in flight to supersede without --force), a status read
       failed for some resource, aborted at the prompt
    2  bad usage (an option the command does not take) or an invalid plan (for validate also: too big
       for an SSM parameter, an unknown region, a name the install's IAM denies); no confirmation
       possible (stdin not a terminal and no --yes)
    3  AWS cannot be used: no, invalid or expired credentials, an unknown profile, AccessDenied,
       an endpoint that cannot be reached
    4  not found: the plan file or SSM parameter, the state table, the application's record when one
       is required (a retire), the stack of validate --stack (or its ManagedNamePrefix parameter)
    5  status --watch: the deployment did not settle within --timeout
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
  once CodeDeploy has ended it (or when CodeDeploy never knew it: one run by hand). A prepare that
  would *supersede* a deployment the record still shows in flight (CodeDeploy ended it: the run would
  put it back first, as the hooks do) is refused by ``run`` without ``--force``, naming it and what
  the settle would do; ``plan`` shows it as a note. ``--force`` lifts only that: a refusal of the
  decision itself (a deployment CodeDeploy still runs) stays.
- **run** shows the dry run, asks ``Proceed? [y/N]`` (on stderr) unless ``--yes``, and refuses with
  exit 2 when stdin is not a terminal. It runs :func:`bluegreen.hooks.run_flow` — the hooks' code,
  with the same record writes, live-stack guard and undo — but reports nothing to CodeDeploy, and
  polls waits in this process until done or the plan's deadline. Progress is a live table on a
  terminal, one line per step event otherwise (on stderr with ``--output json``).
- **status** exits 1 when some resource could not be read (it still prints everything);
  ``--record-only`` reads the record alone (one ``GetItem``: what a pipeline needs to learn the
  replacement). JSON is :meth:`bluegreen.status.StatusReport.as_dict`.
- ``validate`` takes ``-`` for stdin and makes no AWS call (unless the plan is an SSM parameter, or
  ``--stack`` names the install to read ``ManagedNamePrefix`` from). Beyond the plan reader it checks
  the plan against where it lives and what the install allows (:mod:`bluegreen.cli.checks`): its size
  against the SSM tiers (a warning above 4 KB, an error above 8 KB), its region against botocore's
  endpoint data, and with ``--managed-prefix`` every name the template's IAM scopes by the prefix.
  Warnings leave the exit code 0; with ``--output json`` the document carries ``problems`` and
  ``warnings`` (each ``{path, message}``), ``size_bytes``, ``ssm_tier`` and ``managed_prefix``.
- ``completion`` prints shtab's script for the parser (the ``cli`` extra): ``eval "$(bluegreen
  completion bash)"``.
- ``prepare`` and ``retire`` are accepted as short names of the two flows.

The package, by part:

- :mod:`bluegreen.cli` (here) — the arguments (:func:`build_parser`), the logging while a command
  runs, and :func:`main`, which turns every failure into one line and an exit code;
- :mod:`bluegreen.cli.commands` — one function per command;
- :mod:`bluegreen.cli.setup` — the session, the plan, the regions, the state table: the runtime;
- :mod:`bluegreen.cli.dryrun` — the dry run (:func:`plan_flow`, :class:`FlowPlan`);
- :mod:`bluegreen.cli.checks` — what ``validate`` checks beyond the plan reader (size, region, prefix);
- :mod:`bluegreen.cli.render` — what the terminal shows (rich), shared with the demo;
- :mod:`bluegreen.cli.demo` — ``bluegreen demo``: whole deployments on the embedded emulator
  (:mod:`bluegreen.local`), shown step by step;
- :mod:`bluegreen.cli.errors` — the exit codes and the one-line errors.

This package imports rich (the ``cli`` extra) only inside functions; the Lambda layer never imports it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bluegreen
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
from bluegreen.cli.watch import WATCH_INTERVAL_SECONDS, WATCH_TIMEOUT_SECONDS
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
    "parse_args",
    "plan_flow",
    "version",
]


#: The options several commands take, by ``dest``: their flags, default and argparse keywords.
_OPTIONS: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "plan": (
        "--plan",
        None,
        {
            "metavar": "FILE",
            "help": f"the plan: a YAML/JSON file, - for stdin, or ssm:NAME (default: {PLAN_FILE_VAR} / "
            f"{PLAN_PARAMETER_VAR} / {PLAN_VAR})",
        },
    ),
    "state_table": ("--state-table", None, {"metavar": "NAME", "help": f"the live-stack table (default: {TABLE_ENV})"}),
    "region": ("--region", None, {"help": "AWS region (default: the plan's, then the session's)"}),
    "profile": ("--profile", None, {"help": "AWS profile (default: the standard credential chain)"}),
    "output": ("--output", "text", {"choices": ("text", "json"), "help": "output format"}),
    "debug": ("--debug", False, {"action": "store_true", "help": "show tracebacks and debug logs"}),
}
_AWS = ("plan", "state_table", "region", "profile", "output", "debug")
#: The options of :data:`_OPTIONS` each command honours; any other is a usage error (exit 2), before or
#: after the command.
COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "validate": ("plan", "region", "profile", "output", "debug"),
    "status": _AWS,
    "logs": _AWS,
    "plan": _AWS,
    "run": _AWS,
    "demo": ("debug",),
    "emulator": ("region", "debug"),
    "completion": ("debug",),
}
_HELP = {("emulator", "region"): "the emulator's region (default eu-central-1)"}
#: shtab's file completion (shtab.FILE), set on the arguments that name a file.
_FILE = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}


def version() -> str:
    """The version ``--version`` prints: the installed distribution's, else the package's own."""
    try:
        return importlib.metadata.version("bluegreen")
    except importlib.metadata.PackageNotFoundError:
        return bluegreen.__version__


def _port(value: str) -> int:
    """A TCP port for ``emulator --port``: 1 to 65535 (a usage error otherwise, never another port)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: it must be 1 to 65535")
    return port


def _add_options(parser: argparse.ArgumentParser, command: str | None) -> None:
    """Add the options ``command`` honours (None: all of them, for the top level, before the command).

    Their default is SUPPRESS everywhere, so that an option given before the command is not reset by
    the command's parser, and :func:`parse_args` can tell which were given.
    """
    for dest in COMMAND_OPTIONS[command] if command else _OPTIONS:
        flag, _, kw = _OPTIONS[dest]
        kw = kw | {"help": _HELP.get((command or "", dest), kw["help"])}
        action = parser.add_argument(flag, dest=dest, default=argparse.SUPPRESS, **kw)
        if dest == "plan":
            action.complete = _FILE  # type: ignore[attr-defined]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="bluegreen",
        description="Whole-stack blue/green deployments on AWS: see and run the flows the CodeDeploy hooks run. "
        "The options below may also come before the command, where the command takes them.",
        epilog="exit codes: 0 ok · 1 failed · 2 bad usage or invalid plan · 3 AWS access (credentials, denied, "
        "unreachable) · 4 not found (plan, table, record) · 5 status --watch timed out",
    )
    parser.add_argument("--version", action="version", version=f"bluegreen {version()}")
    _add_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands: dict[str, argparse.ArgumentParser] = {}

    def command(name: str, help: str) -> argparse.ArgumentParser:
        commands[name] = sub.add_parser(name, help=help, description=help)
        _add_options(commands[name], name)
        return commands[name]

    validate = command("validate", "check a plan (errors name their path), its size and the install's IAM prefix")
    file = validate.add_argument("file", nargs="?", metavar="FILE", help="the plan (default: --plan); - for stdin")
    file.complete = _FILE  # type: ignore[attr-defined]
    install = validate.add_mutually_exclusive_group()
    install.add_argument(
        "--managed-prefix",
        metavar="PREFIX",
        help="the install's ManagedNamePrefix: fail on every name the hooks' IAM would not let them touch",
    )
    install.add_argument(
        "--stack", metavar="NAME", help="read --managed-prefix from this deployed bluegreen stack (DescribeStacks)"
    )
    status = command("status", "the live stack and both stacks side by side")
    status.add_argument("--record-only", action="store_true", help="read only the live-stack record")
    status.add_argument(
        "--watch",
        action="store_true",
        help="read again until the deployment on record settles; exit 0 retired (or none), 1 failed, 5 timeout",
    )
    status.add_argument(
        "--interval", type=float, default=WATCH_INTERVAL_SECONDS, metavar="SECONDS", help="--watch: between reads"
    )
    status.add_argument(
        "--timeout", type=float, default=WATCH_TIMEOUT_SECONDS, metavar="SECONDS", help="--watch: give up after"
    )
    logs = command("logs", "the log lines of one deployment, from the install's CloudWatch log groups")
    logs.add_argument("--stack", required=True, metavar="NAME", help="the bluegreen stack (its functions' log groups)")
    logs.add_argument("--deployment-id", metavar="ID", help="default: the deployment on record (needs the plan)")
    logs.add_argument("--since", type=float, metavar="MINUTES", help="only lines of the last MINUTES")
    flows = (
        "before-allow-traffic (prepare), after-allow-traffic (retire), after-allow-test-traffic (test-traffic: the "
        "verdict under ECS test traffic), settle or abort"
    )
    dry = command("plan", "dry run of a flow: its steps and AWS calls; changes nothing")
    run = command("run", "run a flow by hand (asks first; no CodeDeploy report)")
    for flow_command in (dry, run):
        flow_command.add_argument("flow", metavar="FLOW", choices=sorted(FLOWS), help=flows)
        flow_command.add_argument(
            "--deployment-id",
            metavar="ID",
            help="prepare: default manual-<UTC time>, or the id of one preparing to resume it; "
            "retire: default the deployment in flight; test-traffic, settle, abort: default the deployment on record",
        )
    run.add_argument("-y", "--yes", action="store_true", help="do not ask before changing anything")
    run.add_argument(
        "--force",
        action="store_true",
        help="prepare: supersede the deployment in flight on record that CodeDeploy has ended (its replacement "
        "is put back first, or a flipped one's old stack made live again)",
    )
    command("demo", "seed the embedded emulator and run a whole deployment")
    emulator = command("emulator", "run the embedded emulator, seeded, until Ctrl-C")
    emulator.add_argument("--port", type=_port, help="the port to listen on (1-65535; default: a free one)")
    completion = command("completion", "print a shell completion script (bash or zsh)")
    completion.add_argument("shell", metavar="SHELL", choices=("bash", "zsh"), help="bash or zsh")
    return parser, commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bluegreen`` command (:func:`parse_args` also checks the options given first)."""
    return _build()[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; an option the command does not take, even given before it, is a usage error (exit 2).

    Every option of :data:`COMMAND_OPTIONS` not given gets its default, so the commands (and :func:`main`)
    read them all; those a command does not take stay at theirs.
    """
    parser, commands = _build()
    args = parser.parse_args(argv)
    honoured = COMMAND_OPTIONS[args.command]
    foreign = [_OPTIONS[dest][0] for dest in _OPTIONS if dest in vars(args) and dest not in honoured]
    if foreign:
        takes = ", ".join(_OPTIONS[dest][0] for dest in honoured)
        commands[args.command].error(
            f"{' and '.join(foreign)}: not {'an option' if len(foreign) == 1 else 'options'} of "
            f"`bluegreen {args.command}` (it takes {takes})"
        )
    for dest, (_, default, _) in _OPTIONS.items():
        vars(args).setdefault(dest, default)
    return args


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
        args = parse_args(argv)
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
