"""Setting up a command: the session, the plan (file, stdin, SSM or a variable), the regions, the runtime.

The region rules are in :mod:`bluegreen.cli`: the tools work in the plan's region, else ``--region``,
else the session's; the state table is where the hooks run (``--region``, else the session's, else the
plan's). Nothing here makes an AWS client but an SSM plan's ``GetParameter``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from bluegreen.aws import default_session, error_code, make_client
from bluegreen.cli.errors import EXIT_NOT_FOUND, EXIT_USAGE, CliError
from bluegreen.hooks import Runtime
from bluegreen.plan import PLAN_FILE_VAR, PLAN_PARAMETER_VAR, PLAN_VAR, Plan, load_plan_text
from bluegreen.state import TABLE_ENV, StateStore


def make_session(args: argparse.Namespace) -> boto3.Session | None:
    """The ``--profile`` session, or None for the standard credential chain."""
    return boto3.Session(profile_name=args.profile) if args.profile else None


def session_region(args: argparse.Namespace, session: boto3.Session | None) -> str | None:
    """``--region``, else ``AWS_REGION``, else the session's region (None: none of them)."""
    region = args.region or os.environ.get("AWS_REGION", "").strip() or (session or default_session()).region_name
    return region or None


def plan_source(args: argparse.Namespace, explicit: str | None = None) -> tuple[str, str]:
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


def plan_text(args: argparse.Namespace, session: boto3.Session | None, explicit: str | None = None) -> tuple[str, str]:
    """The plan's text, as the hooks would read it, and where it came from (for messages)."""
    kind, value = plan_source(args, explicit)
    if kind == "inline":
        return value, PLAN_VAR
    if kind == "ssm":
        region = session_region(args, session)
        if region is None:
            raise CliError(EXIT_USAGE, f"no region to fetch SSM parameter {value!r} from: pass --region")
        try:
            text = make_client("ssm", region=region, session=session).get_parameter(Name=value, WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                raise CliError(EXIT_NOT_FOUND, f"SSM parameter {value!r} not found in {region}") from None
            raise
        return str(text["Parameter"]["Value"]), f"SSM parameter {value}"
    try:
        text = sys.stdin.read() if value == "-" else Path(value).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(EXIT_NOT_FOUND, f"plan file {value!r} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise CliError(EXIT_USAGE, f"cannot read plan file {value!r}: {reason}") from None
    return text, "stdin" if value == "-" else value


def load_plan(args: argparse.Namespace, session: boto3.Session | None, explicit: str | None = None) -> tuple[Plan, str]:
    """The plan and where it came from (for messages)."""
    text, source = plan_text(args, session, explicit)
    return load_plan_text(text, source=source), source


def make_runtime(args: argparse.Namespace) -> Runtime:
    """Load the plan, resolve the regions and the table, and make the runtime (no client is made yet)."""
    session = make_session(args)
    plan, _ = load_plan(args, session)
    table = (args.state_table or os.environ.get(TABLE_ENV, "")).strip()
    if not table:
        raise CliError(
            EXIT_USAGE,
            f"no state table: pass --state-table NAME or set {TABLE_ENV} (the template's StateTableName output)",
        )
    default = session_region(args, session)
    region, table_region = plan.region or default, default or plan.region
    if region is None:
        raise CliError(EXIT_USAGE, "no region: set region in the plan, pass --region, or set AWS_REGION")
    store = StateStore(table, region=table_region, session=session)
    return Runtime(plan, store=store, region=region, session=session)
