"""Exit codes and one-line errors: what every command ends with (the table is in :mod:`bluegreen.cli`)."""

from __future__ import annotations

import os
import sys

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, NoRegionError

from bluegreen.aws import error_code, error_message
from bluegreen.plan import PlanError
from bluegreen.state import StateConflict
from bluegreen.status import is_access_problem

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ACCESS = 3
EXIT_NOT_FOUND = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error the command explains in one line, with its exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def classify(exc: BaseException) -> tuple[int, str]:  # noqa: PLR0911 - one return per kind of failure
    """The exit code and the one-line message for an exception that ended a command."""
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, PlanError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, ClientError) and is_access_problem(exc):
        code = error_code(exc)
        hint = "" if code.startswith("AccessDenied") else " (check --profile / AWS_PROFILE, or log in again)"
        return EXIT_ACCESS, f"AWS refused the request: {code}: {error_message(exc)}{hint}"
    if is_access_problem(exc):
        return EXIT_ACCESS, f"no usable AWS credentials: {exc} (set AWS_PROFILE or pass --profile, or log in again)"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        if os.environ.get("AWS_ENDPOINT_URL", "").strip():
            return EXIT_ACCESS, f"cannot reach AWS: {exc} (is AWS_ENDPOINT_URL right, is the emulator running?)"
        return EXIT_ACCESS, f"cannot reach AWS: {exc} (is the region right, and is the network up?)"
    if isinstance(exc, NoRegionError):
        return EXIT_USAGE, "no region: set region in the plan, pass --region, or set AWS_REGION"
    if isinstance(exc, LookupError) and not isinstance(exc, KeyError | IndexError):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, StateConflict):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name in ("rich", "moto", "shtab", "bluegreen.cli.demo"):
        return EXIT_FAILED, f"{exc}: install the extras with pip install 'bluegreen[cli,local]'"
    return EXIT_FAILED, f"{type(exc).__name__}: {exc} (--debug shows the traceback)"


def fail(code: int, message: str) -> int:
    """Write the one-line error to stderr; return ``code``."""
    sys.stderr.write(f"bluegreen: error: {message}\n")
    return code
