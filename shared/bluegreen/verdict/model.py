"""The plan's ``verdict`` section, read and checked: what the replacement must prove, and when.

Two moments, each optional:

- ``before_traffic`` — once the replacement is enabled, before any traffic reaches it (at the end of
  the prepare; or, with ``at: test-traffic``, at an ECS deployment's AfterAllowTestTraffic hook): the
  replacement's alarms must not be in ALARM, and an optional smoke function must answer without a
  function error.
- ``before_retire`` — in the retire, before its first step that touches the old stack, after
  ``observe_minutes`` of live traffic: the replacement's Lambda errors, throttles and invocations over
  the window, the growth of its dead-letter queues and the iterator age of its stream consumers,
  each against a threshold of the plan.

What is measured comes from the plan's other sections (its ``cloudwatch`` alarm sets, the functions
of ``lambda`` and of ``kinesis[].feeds``, the ``dlq`` of ``sqs``), so a threshold applies to every
resource of the replacement of that kind.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bluegreen.datatypes import datatype
from bluegreen.reading.fields import _Checker, _copy, _int, _join, _kind, _mapping, _number, _opt_text
from bluegreen.reading.names import _check_function
from bluegreen.refs import StackReference

__all__ = [
    "BEFORE_RETIRE_STEP",
    "BEFORE_TRAFFIC_STEP",
    "BeforeRetire",
    "BeforeTraffic",
    "Smoke",
    "Verdict",
    "read_verdict",
]

#: The ids of the two moments' steps (made by :mod:`bluegreen.verdict.steps`; the handlers' metrics
#: VerdictPassed / VerdictFailed count their ends).
BEFORE_TRAFFIC_STEP = "verdict.before-traffic"
BEFORE_RETIRE_STEP = "verdict.before-retire"

#: Where the before-traffic verdict runs: the prepare's end, or a third hook at AfterAllowTestTraffic (ECS).
AT_CHOICES = ("prepare", "test-traffic")
#: The longest a smoke invocation may take: Lambda's synchronous invoke answers within the function's
#: timeout (up to 900 s), but the check runs inside a hook, which must report before its deadline.
SMOKE_TIMEOUT_LIMIT = 300
#: DescribeAlarms takes at most 100 alarm names a call; more named alarms than that is a plan mistake.
ALARM_NAMES_LIMIT = 100

#: The Lambda thresholds of ``before_retire.lambda``: key, whether it is a ratio (0..1) or a count.
LAMBDA_LIMITS: tuple[tuple[str, str], ...] = (
    ("max_errors", "count"),
    ("max_error_rate", "ratio"),
    ("max_throttles", "count"),
    ("max_throttle_rate", "ratio"),
    ("min_invocations", "count"),
)


@datatype(kw_only=True)
class Smoke:
    """A function invoked synchronously with ``payload``; it must answer within ``timeout_seconds`` without an error.

    ``a`` and ``b`` name the function for each stack (the same name for both when the plan gives one).
    """

    a: str
    b: str
    payload: Any = None
    timeout_seconds: int = 30

    def function(self, stack: StackReference) -> str:
        """The smoke function of ``stack``."""
        return self.a if stack is StackReference.A else self.b

    def to_document(self) -> dict[str, Any]:
        """The smoke test as the plan document spells it."""
        function: Any = self.a if self.a == self.b else {"a": self.a, "b": self.b}
        doc: dict[str, Any] = {"function": function, "timeout_seconds": self.timeout_seconds}
        if self.payload is not None:
            doc["payload"] = _copy(self.payload)
        return doc


@datatype(kw_only=True)
class BeforeTraffic:
    """The checks before traffic reaches the replacement (see the module docstring)."""

    at: str = "prepare"
    alarms: bool = True
    alarm_names: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    smoke: Smoke | None = None

    def to_document(self) -> dict[str, Any]:
        """The moment as the plan document spells it."""
        doc: dict[str, Any] = {"at": self.at, "alarms": self.alarms}
        doc |= _names_document(self.alarm_names)
        if self.smoke is not None:
            doc["smoke"] = self.smoke.to_document()
        return doc


@datatype(kw_only=True)
class BeforeRetire:
    """The checks after ``observe_minutes`` of live traffic, before the retire touches the old stack.

    ``lambda_limits`` holds the ``lambda`` thresholds given (keys of :data:`LAMBDA_LIMITS`);
    ``max_dlq_growth`` and ``max_iterator_age_seconds`` are None when not given.
    """

    observe_minutes: float = 0.0
    alarms: bool = True
    alarm_names: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    lambda_limits: tuple[tuple[str, float], ...] = ()
    max_dlq_growth: int | None = None
    max_iterator_age_seconds: float | None = None

    def limit(self, key: str) -> float | None:
        """The ``lambda`` threshold ``key``, or None when the plan sets none."""
        return dict(self.lambda_limits).get(key)

    def to_document(self) -> dict[str, Any]:
        """The moment as the plan document spells it."""
        minutes = self.observe_minutes
        doc: dict[str, Any] = {"observe_minutes": int(minutes) if minutes.is_integer() else minutes}
        doc["alarms"] = self.alarms
        doc |= _names_document(self.alarm_names)
        if self.lambda_limits:
            doc["lambda"] = {key: _plain(value) for key, value in self.lambda_limits}
        if self.max_dlq_growth is not None:
            doc["dlq"] = {"max_growth": self.max_dlq_growth}
        if self.max_iterator_age_seconds is not None:
            doc["kinesis"] = {"max_iterator_age_seconds": _plain(self.max_iterator_age_seconds)}
        return doc


@datatype(kw_only=True)
class Verdict:
    """The plan's ``verdict`` section: the checks of each moment (None: that moment checks nothing)."""

    before_traffic: BeforeTraffic | None = None
    before_retire: BeforeRetire | None = None

    def to_document(self) -> dict[str, Any]:
        """The section as the plan document spells it."""
        doc: dict[str, Any] = {}
        if self.before_traffic is not None:
            doc["before_traffic"] = self.before_traffic.to_document()
        if self.before_retire is not None:
            doc["before_retire"] = self.before_retire.to_document()
        return doc


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _names_document(names: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, Any]:
    a, b = names
    return {"alarm_names": {"a": list(a), "b": list(b)}} if a or b else {}


def _alarm_names(c: _Checker, f: Mapping[str, Any], path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``alarm_names: {a: [...], b: [...]}``: more alarms of each stack, by exact name."""
    if "alarm_names" not in f:
        return ((), ())
    where = _join(path, "alarm_names")
    g = _mapping(c, f["alarm_names"], where, ("a", "b"), "alarm names of each stack: {a: [names], b: [names]}")
    if g is None:
        return ((), ())
    pair: list[tuple[str, ...]] = []
    for ref in ("a", "b"):
        raw = g.get(ref, [])
        if not isinstance(raw, list):
            c.add(_join(where, ref), f"must be a list of alarm names, got {_kind(raw)}")
            pair.append(())
            continue
        if len(raw) > ALARM_NAMES_LIMIT:
            c.add(_join(where, ref), f"names {len(raw)} alarms: at most {ALARM_NAMES_LIMIT} (use alarm sets for more)")
        names = [_opt_text(c, dict(enumerate(raw)), _join(where, ref), i, spaces=True) for i in range(len(raw))]
        pair.append(tuple(name for name in names if name))
    for name in sorted(set(pair[0]) & set(pair[1])):
        c.add(where, f"{name!r} is named for both stacks: an alarm judges one stack")
    return pair[0], pair[1]


def _smoke(c: _Checker, raw: object, path: str) -> Smoke | None:
    f = _mapping(c, raw, path, ("function", "payload", "timeout_seconds"), "a smoke test: function, payload")
    if f is None:
        return None
    function = f.get("function")
    names: dict[str, str | None] = {}
    if isinstance(function, dict):
        g = _mapping(c, function, _join(path, "function"), ("a", "b"), "the smoke function of each stack")
        for ref in ("a", "b"):
            required = f"name stack {ref}'s smoke function"
            names[ref] = _opt_text(c, g or {}, _join(path, "function"), ref, required=required, check=_check_function)
    else:
        one = _opt_text(c, f, path, "function", required="name the smoke function", check=_check_function)
        names = {"a": one, "b": one}
    timeout = _int(
        c, f, path, "timeout_seconds", default=30, ok=lambda n: 1 <= n <= SMOKE_TIMEOUT_LIMIT,
        message=f"must be an integer from 1 to {SMOKE_TIMEOUT_LIMIT}: how long the smoke function may take",
    )  # fmt: skip
    payload = f.get("payload")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as error:
        c.add(
            _join(path, "payload"), f"must be JSON (mappings, lists, strings, numbers, booleans; quote dates): {error}"
        )
        return None
    if not names["a"] or not names["b"]:
        return None
    return Smoke(a=names["a"], b=names["b"], payload=_copy(payload), timeout_seconds=timeout)


def _before_traffic(c: _Checker, raw: object, path: str) -> BeforeTraffic | None:
    f = _mapping(c, raw, path, ("at", "alarms", "alarm_names", "smoke"), "the checks before traffic")
    if f is None:
        return None
    at = f.get("at", "prepare")
    if at not in AT_CHOICES:
        c.add(_join(path, "at"), f"must be one of {' | '.join(AT_CHOICES)} (default prepare), got {at!r}")
        at = "prepare"
    alarms = f.get("alarms", True)
    if not isinstance(alarms, bool):
        c.add(_join(path, "alarms"), f"must be true or false, not {_kind(alarms)}")
        alarms = True
    names = _alarm_names(c, f, path)
    smoke = _smoke(c, f["smoke"], _join(path, "smoke")) if "smoke" in f else None
    if alarms is False and not any(names) and "smoke" not in f:
        c.add(path, "checks nothing: alarms is false, and no alarm_names and no smoke are given")
    return BeforeTraffic(at=str(at), alarms=alarms, alarm_names=names, smoke=smoke)


def _limits(c: _Checker, raw: object, path: str) -> tuple[tuple[str, float], ...]:
    keys = tuple(key for key, _ in LAMBDA_LIMITS)
    f = _mapping(c, raw, path, keys, "Lambda thresholds")
    if f is None:
        return ()
    if not f:
        c.add(path, f"give at least one threshold: {', '.join(keys)}")
    found: list[tuple[str, float]] = []
    for key, kind in LAMBDA_LIMITS:
        if key not in f:
            continue
        if kind == "ratio":
            value = _number(c, f, path, key, default=-1.0, ok=lambda n: 0 <= n <= 1,
                            message="must be a ratio from 0 to 1 (0.01 is 1 %)")  # fmt: skip
        else:
            value = float(_int(c, f, path, key, default=-1, ok=lambda n: n >= 0,
                               message="must be a whole number, 0 or more"))  # fmt: skip
        if value >= 0:
            found.append((key, value))
    return tuple(found)


def _before_retire(c: _Checker, raw: object, path: str, deadline: int) -> BeforeRetire | None:
    keys = ("observe_minutes", "alarms", "alarm_names", "lambda", "dlq", "kinesis")
    f = _mapping(c, raw, path, keys, "the checks before the retire")
    if f is None:
        return None
    observe = _number(
        c, f, path, "observe_minutes", default=0.0, ok=lambda n: 0 <= n < deadline,
        message=f"must be a number of minutes from 0 to under deadline_minutes ({deadline}): how long live "
        "traffic is watched before the retire",
    )  # fmt: skip
    alarms = f.get("alarms", True)
    if not isinstance(alarms, bool):
        c.add(_join(path, "alarms"), f"must be true or false, not {_kind(alarms)}")
        alarms = True
    names = _alarm_names(c, f, path)
    limits = _limits(c, f["lambda"], _join(path, "lambda")) if "lambda" in f else ()
    growth: int | None = None
    if "dlq" in f:
        g = _mapping(c, f["dlq"], _join(path, "dlq"), ("max_growth",), "the dead-letter queue threshold")
        if g is not None:
            if "max_growth" not in g:
                where = _join(_join(path, "dlq"), "max_growth")
                c.add(where, "required — how many more messages a DLQ may hold at the end")
            value = _int(c, g, _join(path, "dlq"), "max_growth", default=-1, ok=lambda n: n >= 0,
                         message="must be a whole number of messages, 0 or more")  # fmt: skip
            growth = value if value >= 0 else None
    age: float | None = None
    if "kinesis" in f:
        where = _join(path, "kinesis")
        g = _mapping(c, f["kinesis"], where, ("max_iterator_age_seconds",), "the stream consumers' threshold")
        if g is not None:
            if "max_iterator_age_seconds" not in g:
                c.add(_join(where, "max_iterator_age_seconds"), "required — the oldest a record may be when read")
            value_s = _number(c, g, where, "max_iterator_age_seconds", default=-1.0, ok=lambda n: n > 0,
                              message="must be a number of seconds above 0")  # fmt: skip
            age = value_s if value_s > 0 else None
    return BeforeRetire(
        observe_minutes=observe, alarms=alarms, alarm_names=names, lambda_limits=limits,
        max_dlq_growth=growth, max_iterator_age_seconds=age,
    )  # fmt: skip


def read_verdict(c: _Checker, raw: object, path: str, *, deadline: int) -> Verdict | None:
    """Check the raw ``verdict`` section (every problem recorded in ``c``); None when it has one."""
    f = _mapping(c, raw, path, ("before_traffic", "before_retire"), "the verdict's moments")
    if f is None:
        return None
    mark = c.count()
    if not f:
        c.add(path, "name before_traffic, before_retire or both (or leave the verdict out)")
    traffic = _before_traffic(c, f["before_traffic"], _join(path, "before_traffic")) if "before_traffic" in f else None
    retire = None
    if "before_retire" in f:
        retire = _before_retire(c, f["before_retire"], _join(path, "before_retire"), deadline)
    if c.count() != mark:
        return None
    return Verdict(before_traffic=traffic, before_retire=retire)
