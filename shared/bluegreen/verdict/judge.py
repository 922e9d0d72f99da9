"""Judging what was measured against the plan's thresholds: pure functions, no AWS.

Each check gives a :class:`Check` (what, the number measured, the threshold, passed or not); a
:class:`Judgement` is the checks of one moment on one stack, which the record keeps
(:meth:`Judgement.to_record`) and a failed hook reports (:meth:`Judgement.message`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference, as_ref

__all__ = [
    "Check",
    "Judgement",
    "VerdictFailed",
    "alarm_checks",
    "dlq_check",
    "iterator_check",
    "lambda_checks",
    "smoke_check",
]

#: The moments, as the step ids, the record and the metrics name them.
BEFORE_TRAFFIC = "before-traffic"
BEFORE_RETIRE = "before-retire"


def number(value: float) -> str:
    """``3`` for a whole number, ``0.0125`` for a fraction (at most 6 significant digits)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


@datatype
class Check:
    """One measurement against its threshold: ``measured`` and ``limit`` as shown (``limit`` names the comparison)."""

    what: str
    measured: str
    limit: str
    passed: bool

    def describe(self) -> str:
        """``lambda orders-b errors/invocations: 0.25 (5 of 20), limit ≤ 0.05 — failed``."""
        return f"{self.what}: {self.measured}, limit {self.limit} — {'passed' if self.passed else 'failed'}"

    def to_record(self) -> dict[str, Any]:
        """The check as the record keeps it (strings and a boolean)."""
        return {"what": self.what, "measured": self.measured, "limit": self.limit, "passed": self.passed}


@datatype
class Judgement:
    """The checks of one moment (``before-traffic`` or ``before-retire``) on one stack, and when they ran."""

    moment: str
    stack: StackReference
    checks: tuple[Check, ...]
    at: str = ""
    window: str = ""

    @property
    def passed(self) -> bool:
        """True when every check passed (a moment with no check passes)."""
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(check for check in self.checks if not check.passed)

    def summary(self) -> str:
        """One line: the outcome and, when it failed, each failed check with its number and threshold."""
        if self.passed:
            return f"{self.moment} verdict on stack {self.stack.value} passed ({len(self.checks)} checks)"
        failed = "; ".join(f"{c.what}: {c.measured} (limit {c.limit})" for c in self.failures)
        return f"{self.moment} verdict on stack {self.stack.value} failed: {failed}"

    def message(self) -> str:
        """The summary, and what a failed verdict spared (its error): live traffic, or the old stack."""
        if self.passed:
            return self.summary()
        spared = "no live traffic was sent to it" if self.moment == BEFORE_TRAFFIC else "the old stack was not touched"
        return f"{self.summary()} — {spared}"

    def to_record(self) -> dict[str, Any]:
        """The judgement as the record keeps it (``deployment.verdict_before_traffic`` / ``…_before_retire``)."""
        doc: dict[str, Any] = {
            "stack": self.stack.value,
            "passed": self.passed,
            "at": self.at,
            "summary": self.summary(),
            "checks": [check.to_record() for check in self.checks],
        }
        if self.window:
            doc["window"] = self.window
        return doc

    @classmethod
    def from_record(cls, moment: str, doc: Mapping[str, Any]) -> Judgement:
        """The judgement the record keeps under ``moment`` (what :meth:`to_record` wrote)."""
        checks = tuple(
            Check(str(c.get("what", "")), str(c.get("measured", "")), str(c.get("limit", "")), c.get("passed") is True)
            for c in doc.get("checks") or ()
            if isinstance(c, Mapping)
        )
        return cls(
            moment=moment,
            stack=as_ref(str(doc.get("stack", "a"))),
            checks=checks,
            at=str(doc.get("at", "")),
            window=str(doc.get("window", "")),
        )


class VerdictFailed(RuntimeError):
    """A verdict failed: the step fails with the numbers and thresholds, before the old stack is touched."""

    def __init__(self, judgement: Judgement) -> None:
        """Keep the judgement; the message is its :meth:`Judgement.message`."""
        self.judgement = judgement
        super().__init__(judgement.message())


def alarm_checks(stack: StackReference, states: Iterable[tuple[str, str, str]]) -> list[Check]:
    """No alarm of the stack in ALARM: one failed check per alarm in ALARM or named and missing, else one passed."""
    found = list(states)
    checks = [
        Check(f"alarm {name}", state + (f" ({reason[:160]})" if reason else ""), "not ALARM", False)
        for name, state, reason in found
        if state in ("ALARM", "MISSING")
    ]
    if not checks:
        counted = f"{len(found)} alarm{'s' if len(found) != 1 else ''}, none in ALARM"
        checks.append(Check(f"alarms of stack {stack.value}", counted, "none in ALARM", True))
    return checks


def smoke_check(function: str, outcome: str, detail: str, timeout_seconds: int) -> Check:
    """The smoke invocation: passed when it answered without a function error."""
    measured = {
        "ok": "answered without a function error",
        "error": f"function error — {detail}",
        "timeout": f"timed out — {detail}",
        "missing": f"no such function — {detail}",
        "refused": f"Lambda did not run it — {detail}",
    }.get(outcome, f"{outcome} — {detail}")
    return Check(f"smoke {function}", measured, f"no function error within {timeout_seconds} s", outcome == "ok")


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def lambda_checks(function: str, sums: Mapping[str, float], limits: Mapping[str, float]) -> list[Check]:
    """A function's Errors, Throttles and Invocations over the window against the plan's ``lambda`` thresholds.

    A rate is errors (or throttles) / invocations, 0 when there were no invocations (``min_invocations``
    is the threshold that catches a replacement that got no traffic).
    """
    errors, throttles, calls = (sums.get(k, 0.0) for k in ("Errors", "Throttles", "Invocations"))
    checks: list[Check] = []
    name = f"lambda {function}"
    for key in ("max_errors", "max_error_rate", "max_throttles", "max_throttle_rate", "min_invocations"):
        if key not in limits:
            continue
        limit = limits[key]
        if key == "min_invocations":
            checks.append(Check(f"{name} invocations", number(calls), f"≥ {number(limit)}", calls >= limit))
            continue
        what, count = ("errors", errors) if key.startswith("max_error") else ("throttles", throttles)
        if key.endswith("_rate"):
            rate = _ratio(count, calls)
            seen = f"{number(rate)} ({number(count)} of {number(calls)})"
            checks.append(Check(f"{name} {what}/invocations", seen, f"≤ {number(limit)}", rate <= limit))
        else:
            checks.append(Check(f"{name} {what}", number(count), f"≤ {number(limit)}", count <= limit))
    return checks


def dlq_check(queue: str, depths: list[float], max_growth: int) -> Check:
    """A dead-letter queue's growth over the window: its last depth less its first (0 with fewer than two points)."""
    growth = depths[-1] - depths[0] if len(depths) >= 2 else 0.0
    seen = "0 (no change seen)"
    if len(depths) >= 2:
        seen = f"{number(growth)} ({number(depths[0])} → {number(depths[-1])})"
    return Check(f"dlq {queue} growth", seen, f"≤ {max_growth}", growth <= max_growth)


def iterator_check(function: str, age_ms: float | None, max_seconds: float) -> Check:
    """The highest IteratorAge of a function reading a stream over the window (no data: nothing read late)."""
    seconds = (age_ms or 0.0) / 1000
    seen = f"{number(round(seconds, 3))} s" if age_ms is not None else "no data (nothing read)"
    return Check(f"kinesis {function} iterator age", seen, f"≤ {number(max_seconds)} s", seconds <= max_seconds)
