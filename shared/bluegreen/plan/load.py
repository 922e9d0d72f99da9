"""Loading a plan: from YAML or JSON text, and from the environment the hook Lambdas run in.

:func:`load_plan_text` reads text strictly (a repeated key is an error); :func:`load_plan_from_env`
reads a file, an SSM parameter (cached :data:`PLAN_CACHE_SECONDS`, through Powertools, imported only
when SSM is used) or the document itself, as one of three environment variables says.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluegreen.aws import error_code
from bluegreen.plan.checks import parse_plan
from bluegreen.plan.model import Plan, PlanError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

__all__ = [
    "PLAN_CACHE_SECONDS",
    "PLAN_FILE_VAR",
    "PLAN_PARAMETER_VAR",
    "PLAN_VAR",
    "clear_plan_cache",
    "load_plan_from_env",
    "load_plan_text",
]

PLAN_FILE_VAR = "BLUEGREEN_PLAN_FILE"
PLAN_PARAMETER_VAR = "BLUEGREEN_PLAN_PARAMETER"
PLAN_VAR = "BLUEGREEN_PLAN"
#: How long a plan fetched from SSM is reused before it is fetched again (seconds).
PLAN_CACHE_SECONDS = 300


class _DuplicateKeyError(ValueError):
    pass


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKeyError(key)
        found[key] = value
    return found


_TOO_DEEP = "nested too deeply to read (a plan is a few levels deep)"  # the same words as yaml_text.TOO_DEEP


def load_plan_text(text: str, *, source: str) -> Plan:
    """Parse ``text`` (JSON, or YAML read with a safe loader) and validate it with :func:`parse_plan`.

    Text that starts with ``{`` or ``[`` is read as JSON first and as YAML when that fails (a YAML
    flow mapping also starts with ``{``); when both fail the JSON error is reported. A repeated key is
    an error in both. Syntax errors are a :class:`PlanError` naming ``source`` and the line; so are
    documents nested too deeply for the parsers, and numbers too long for Python to convert.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(stripped, object_pairs_hook=_json_pairs)
        except _DuplicateKeyError as err:
            raise PlanError([("plan", f"is not valid JSON: the key {err.args[0]!r} appears twice")], source) from None
        except json.JSONDecodeError as err:
            json_problem = f"is not valid JSON: line {err.lineno}, column {err.colno}: {err.msg}"
        except RecursionError:
            raise PlanError([("plan", f"is not valid JSON: {_TOO_DEEP}")], source) from None
        except ValueError as err:  # a number of more digits than Python converts (4300)
            raise PlanError([("plan", f"is not valid JSON: {err}")], source) from None
        else:
            return parse_plan(document, source=source)
    else:
        json_problem = None
    # PyYAML is imported only for a plan that is not JSON: a JSON plan never pays for it.
    from bluegreen.plan.yaml_text import read_yaml  # noqa: PLC0415

    problem, document = read_yaml(stripped)
    if problem is not None:
        raise PlanError([("plan", json_problem or f"is not valid YAML: {problem}")], source) from None
    return parse_plan(document, source=source)


_providers: dict[str | None, SSMProvider] = {}
_providers_lock = threading.Lock()


def clear_plan_cache() -> None:
    """Forget the plans fetched from SSM (the next :func:`load_plan_from_env` fetches again)."""
    with _providers_lock:
        _providers.clear()


def _fetch_parameter(name: str, region: str | None, max_age: int) -> str:
    """The value of SSM parameter ``name`` (decrypted), through Powertools' cache of ``max_age`` seconds."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider  # noqa: PLC0415 - only when SSM is used
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from bluegreen.aws import make_client  # noqa: PLC0415

    with _providers_lock:
        provider = _providers.get(region)
        if provider is None:
            provider = _providers[region] = SSMProvider(boto3_client=make_client("ssm", region=region))
    try:
        value = provider.get(name, max_age=max_age, decrypt=True)
    except GetParameterError as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, ClientError) and error_code(cause) == "ParameterNotFound":
            where = f" in {region}" if region else ""
            raise PlanError(
                [(PLAN_PARAMETER_VAR, f"there is no SSM parameter {name!r}{where}")], source=PLAN_PARAMETER_VAR
            ) from None
        raise
    return value if isinstance(value, str) else str(value)


def load_plan_from_env(environ: Mapping[str, str] | None = None, *, max_age: int = PLAN_CACHE_SECONDS) -> Plan:
    """Load the plan the hooks use, from exactly one of three environment variables.

    ``BLUEGREEN_PLAN_FILE`` is a path (relative to the working directory; ``/var/task`` in Lambda);
    ``BLUEGREEN_PLAN_PARAMETER`` the name or ARN of an SSM parameter, fetched with ``GetParameter``
    (``WithDecryption``, so a SecureString works given ``kms:Decrypt``) in ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION`` of ``environ`` (the Lambda's region); ``BLUEGREEN_PLAN`` the document itself.

    The parameter goes through Powertools' ``SSMProvider`` — the cache behind ``get_parameter`` —
    built on a client from :func:`bluegreen.aws.make_client` (standard retries, like every client
    here) rather than ``get_parameter``'s own default client. A fetched value is kept ``max_age``
    seconds (``max_age=0``: not kept), so a changed plan reaches warm Lambdas within that time;
    :func:`clear_plan_cache` forgets it. A variable set to an empty string counts as unset (a template may pass
    empty parameters). None set, or more than one, is a :class:`PlanError`. ``environ`` defaults to
    ``os.environ``.
    """
    env = os.environ if environ is None else environ
    names = (PLAN_FILE_VAR, PLAN_PARAMETER_VAR, PLAN_VAR)
    given = [name for name in names if env.get(name, "").strip()]
    if not given:
        raise PlanError(
            [
                (
                    "environment",
                    f"no plan: set {PLAN_FILE_VAR} (a file path), {PLAN_PARAMETER_VAR} (an SSM parameter name) "
                    f"or {PLAN_VAR} (the document itself)",
                )
            ],
            source="the environment",
        )
    if len(given) > 1:
        raise PlanError(
            [("environment", f"{' and '.join(given)} are all set: which plan is meant is ambiguous — set only one")],
            source="the environment",
        )
    name = given[0]
    value = env[name].strip()
    if name == PLAN_FILE_VAR:
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise PlanError([(PLAN_FILE_VAR, f"cannot read {value!r}: {reason}")], source=PLAN_FILE_VAR) from None
        return load_plan_text(text, source=f"{PLAN_FILE_VAR}={value}")
    if name == PLAN_PARAMETER_VAR:
        region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or None
        text = _fetch_parameter(value, region, max_age)
        return load_plan_text(text, source=f"SSM parameter {value} ({PLAN_PARAMETER_VAR})")
    return load_plan_text(env[name], source=PLAN_VAR)
