"""Reading a plan document's fields: each reader returns the typed value or records the problem.

A :class:`_Checker` collects every ``(path, message)`` found, so that one pass reports them all; the
readers here take the checker, the mapping, the path so far and the key, and say what was wrong in
words a plan's author can act on ("must be a string — quote it").
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast


class _Checker:
    """Collects the problems found while a document is read."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def count(self) -> int:
        return len(self.problems)


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if isinstance(key, str) and _KEY.fullmatch(key) else f"{path}[{key!r}]"


def _kind(value: object) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "a mapping"),
        (datetime.date, "a date"),
    )
    if value is None:
        return "null"
    return next((name for kind, name in kinds if isinstance(value, kind)), f"a {type(value).__name__}")


def _not_a_string(value: object, *, digits: bool = False) -> str:
    if isinstance(value, bool):
        return "must be a string — YAML reads an unquoted yes/no/on/off/true/false as a boolean: quote it"
    if isinstance(value, int | float):
        zeros = " and drops leading zeros" if digits else ""
        return f'must be a string — quote it ("{value}"), or YAML reads it as a number{zeros}'
    if isinstance(value, datetime.date):
        return "must be a string — quote it, or YAML reads it as a date"
    return f"must be a string (got {_kind(value)})"


def _mapping(c: _Checker, value: object, path: str, allowed: tuple[str, ...], what: str) -> dict[str, Any] | None:
    """The known, non-null keys of ``value`` when it is a mapping; unknown keys are reported."""
    if not isinstance(value, dict):
        c.add(path, f"must be a mapping ({what}), got {_kind(value)}")
        return None
    known: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and key in allowed:
            if item is not None:
                known[key] = item
            continue
        import difflib  # noqa: PLC0415 - only a bad plan needs it: not at every cold start

        close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6) if isinstance(key, str) else []
        hint = f"did you mean {close[0]}?" if close else f"expected one of: {', '.join(allowed)}"
        c.add(_join(path, key), f"unknown key ({hint})")
    return known


Check = Callable[[str], "str | None"]


def _opt_text(
    c: _Checker,
    fields: Mapping[Any, Any],
    path: str,
    key: str | int,
    *,
    check: Check | None = None,
    required: str | None = None,
    spaces: bool = False,
    digits: bool = False,
) -> str | None:
    """The string at ``key``: None when absent or wrong (reported; absence only when ``required``)."""
    where = _join(path, key)
    if key not in fields:
        if required is not None:
            c.add(where, f"required — {required}")
        return None
    value = fields[key]
    problem: str | None
    if not isinstance(value, str):
        problem = _not_a_string(value, digits=digits)
    elif not value.strip():
        problem = "must not be empty"
    elif not spaces and value != value.strip():
        problem = "must not start or end with whitespace"
    else:
        problem = check(value) if check else None
    if problem:
        c.add(where, problem)
        return None
    return cast("str", value)


def _text(c: _Checker, fields: Mapping[str, Any], path: str, key: str, required: str, **kw: Any) -> str:
    """A required string ("" when it is missing or wrong: the problem is recorded)."""
    return _opt_text(c, fields, path, key, required=required, **kw) or ""


def _int(
    c: _Checker,
    fields: Mapping[str, Any],
    path: str,
    key: str,
    *,
    default: int,
    ok: Callable[[int], bool],
    message: str,
) -> int:
    if key not in fields:
        return default
    value = fields[key]
    if isinstance(value, bool) or not isinstance(value, int) or not ok(value):
        c.add(_join(path, key), message)
        return default
    return value


def _number(
    c: _Checker,
    fields: Mapping[str, Any],
    path: str,
    key: str,
    *,
    default: float,
    ok: Callable[[float], bool],
    message: str,
) -> float:
    """A number (an integer or a fraction, not a boolean) that ``ok`` accepts; else the error and ``default``."""
    if key not in fields:
        return default
    value = fields[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not ok(value):
        c.add(_join(path, key), message)
        return default
    return float(value)


def _bool(c: _Checker, fields: Mapping[str, Any], path: str, key: str, default: bool) -> bool:
    if key not in fields:
        return default
    value = fields[key]
    if not isinstance(value, bool):
        got = f"the string {value!r}" if isinstance(value, str) else _kind(value)
        c.add(_join(path, key), f"must be true or false (a YAML/JSON boolean), not {got}")
        return default
    return value


def _choice(c: _Checker, fields: Mapping[str, Any], path: str, key: str, choices: tuple[str, ...]) -> str:
    value = fields.get(key, choices[0])
    if not isinstance(value, str) or value not in choices:
        quote = " (YAML reads an unquoted yes/no/on/off as a boolean)" if isinstance(value, bool) else ""
        c.add(_join(path, key), f"must be one of {' | '.join(choices)} (default {choices[0]}), got {value!r}{quote}")
        return choices[0]
    return value


_C = TypeVar("_C")


def _copy(value: _C) -> _C:
    """A deep copy of plain JSON-like data (so that no tool can change the plan it came from)."""
    return cast("_C", json.loads(json.dumps(value)))
