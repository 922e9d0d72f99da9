"""Validating a whole plan: :func:`parse_plan` reads every section, then checks what no entry can alone.

Every resource belongs to one stack of one entry, and alarm sets must not overlap (see the rules in
:mod:`bluegreen.plan`). :func:`parse_plan` raises :class:`~bluegreen.plan.model.PlanError` listing
every problem of the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bluegreen.plan.fields import _Checker, _int, _join, _kind, _mapping, _number, _opt_text, _text
from bluegreen.plan.model import DEFAULT_SETTLE_MINUTES, SERVICES, Plan, PlanError, _attribute
from bluegreen.plan.names import _base_name, _check_account, _check_application, _check_region
from bluegreen.plan.readers import _READERS
from bluegreen.refs import StackReference

__all__ = ["parse_plan"]

_TOP_KEYS = ("application", "region", "account_id", "initial_live", "deadline_minutes", "settle_minutes", *SERVICES)


def _claims(section: str, entry: Any, path: str) -> list[tuple[str, tuple[str, ...], str]]:
    """The resources an entry manages: (what, identity, path of the name) for each."""
    claims: list[tuple[str, tuple[str, ...], str]] = []
    for ref in ("a", "b"):
        where, own = _join(path, ref), getattr(entry, ref)
        if section == "ecs":
            claims.append(("ECS service", (_base_name(entry.cluster), _base_name(own)), where))
        elif section == "sqs":
            claims.append(("SQS queue", (own.queue,), _join(where, "queue")))
            if own.dlq:
                claims.append(("SQS queue", (own.dlq,), _join(where, "dlq")))
        elif section == "kinesis":
            claims.append(("Kinesis consumer", (entry.stream_arn, own), where))
        elif section == "aurora":
            claims.append(("Aurora cluster", (own.lower(),), where))
        elif section in ("lambda", "dynamodb"):
            claims.append(("function" if section == "lambda" else "table", (_base_name(own),), where))
        elif section == "sns":
            claims.append(("SNS subscription", (own,), where))
    return claims


def _check_unique(c: _Checker, sections: Mapping[str, list[tuple[str, Any]]]) -> None:
    seen: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}
    for section, entries in sections.items():
        for entry_path, entry in entries:
            for what, identity, where in _claims(section, entry, entry_path):
                first = seen.setdefault((what, identity), (entry_path, where))
                if first[1] == where:
                    continue
                if first[0] == entry_path:
                    c.add(where, f"the same {what} as {first[1]} — blue/green needs two copies, one per stack")
                else:
                    c.add(where, f"the same {what} as {first[1]}: a resource belongs to one entry only")
    alarms = [
        (_join(path, ref), getattr(entry, ref)) for path, entry in sections.get("cloudwatch", []) for ref in ("a", "b")
    ]
    for index, (where, mine) in enumerate(alarms):
        other = next(((p, s) for p, s in alarms[:index] if s.overlaps(mine)), None)
        if other is not None:
            example = max(mine.alarm_prefix, other[1].alarm_prefix, key=len) + "…"
            example += max(mine.alarm_suffix or "", other[1].alarm_suffix or "", key=len)
            c.add(
                where,
                f"its alarms overlap those of {other[0]} (an alarm named {example!r} is in both): "
                "give each stack its own alarm prefix or suffix",
            )


def _check_settle(c: _Checker, f: Mapping[str, Any], settle: float, deadline: int, *, has_sns: bool) -> None:
    """With SNS entries, the retire may wait twice ``settle_minutes``: that must fit in the deadline."""
    if not has_sns or 2 * settle < deadline:
        return
    if "settle_minutes" in f:
        c.add(
            "plan.settle_minutes",
            f"{settle:g} leaves no time in deadline_minutes {deadline}: the retire may wait twice settle_minutes "
            "(the new subscriptions settling, then the old consumers draining), so it must be under half the deadline",
        )
    else:
        c.add(
            "plan.deadline_minutes",
            f"{deadline} is too short for the default settle_minutes {settle:g}: the retire may wait twice "
            "settle_minutes; raise deadline_minutes or set settle_minutes (see the plan's SNS section)",
        )


def _read_plan(c: _Checker, document: object) -> Plan | None:
    if document is None:
        c.add("plan", "the document is empty: a plan needs at least application")
        return None
    f = _mapping(c, document, "plan", _TOP_KEYS, "a plan document")
    if f is None:
        return None
    application = _text(
        c, f, "plan", "application", "the key of the live-stack record, e.g. orders", check=_check_application
    )
    region = _opt_text(c, f, "plan", "region", check=_check_region)
    account_id = _opt_text(c, f, "plan", "account_id", check=_check_account, digits=True)
    live = StackReference.A
    if "initial_live" in f:
        value = f["initial_live"]
        if isinstance(value, str) and value.lower() in ("a", "b"):
            live = StackReference(value.lower())
        else:
            c.add("plan.initial_live", f"must be a or b (the live stack before the first deployment), got {value!r}")
    deadline = _int(
        c,
        f,
        "plan",
        "deadline_minutes",
        default=50,
        ok=lambda n: 1 <= n <= 55,
        message="must be an integer from 1 to 55 (CodeDeploy fails a hook after 60 minutes: report before it)",
    )
    settle = _number(
        c,
        f,
        "plan",
        "settle_minutes",
        default=DEFAULT_SETTLE_MINUTES,
        ok=lambda n: 0 <= n <= 55,
        message="must be a number of minutes from 0 to 55 (fractions allowed): how long SNS filter changes take",
    )
    sections: dict[str, list[tuple[str, Any]]] = {}
    for name, reader in _READERS.items():
        sections[name] = []
        raw, path = f.get(name), f"plan.{name}"
        if raw is None:
            continue
        if not isinstance(raw, list):
            hint = " — start each entry with '- '" if isinstance(raw, dict) else ""
            c.add(path, f"must be a list of entries, got {_kind(raw)}{hint}")
            continue
        for index, item in enumerate(raw):
            entry = reader(c, item, f"{path}[{index}]")
            if entry is not None:
                sections[name].append((f"{path}[{index}]", entry))
    _check_unique(c, sections)
    _check_settle(c, f, settle, deadline, has_sns=bool(sections.get("sns")))
    if c.problems:
        return None
    return Plan(
        application=application,
        region=region,
        account_id=account_id,
        initial_live=live,
        deadline_minutes=deadline,
        settle_minutes=settle,
        **{_attribute(name): tuple(entry for _, entry in entries) for name, entries in sections.items()},
    )


def parse_plan(document: object, *, source: str = "plan") -> Plan:
    """Validate a parsed plan document (dicts and lists, as YAML or JSON give them) into a :class:`Plan`.

    Raises :class:`PlanError` listing every problem of the document; ``source`` says where it came
    from in the message.
    """
    checker = _Checker()
    plan = _read_plan(checker, document)
    if plan is None or checker.problems:
        raise PlanError(checker.problems, source=source)
    return plan
