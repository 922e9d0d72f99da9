"""Validating a whole plan: :func:`parse_plan` reads every section, then checks what no entry can alone.

Every resource belongs to one stack of one entry (each service says what its entries claim), and each
service's whole-section rule holds (alarm sets must not overlap; see the rules in :mod:`bluegreen.plan`).
:func:`parse_plan` raises :class:`~bluegreen.plan.model.PlanError` listing every problem of the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bluegreen.plan.model import DEADLINE_RESERVE_SECONDS, DEFAULT_SETTLE_MINUTES, SERVICES, Plan, PlanError
from bluegreen.reading.fields import _Checker, _int, _kind, _mapping, _number, _opt_text, _text
from bluegreen.reading.names import _check_account, _check_application, _check_region
from bluegreen.refs import StackReference
from bluegreen.services import REGISTRY, service
from bluegreen.verdict.model import Verdict, read_verdict

__all__ = ["parse_plan"]

_TOP_KEYS = (
    "application", "region", "account_id", "initial_live", "deadline_minutes", "settle_minutes", *SERVICES, "verdict",
)  # fmt: skip


#: The minute a hook keeps before its deadline to put back and report: the plan's windows end before it.
_RESERVE_MINUTES = DEADLINE_RESERVE_SECONDS / 60


def _check_unique(c: _Checker, sections: Mapping[str, list[tuple[str, Any]]]) -> None:
    """Every resource belongs to one stack of one entry; then each service's own whole-section rule."""
    seen: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}
    for name, entries in sections.items():
        for entry_path, entry in entries:
            for claim in service(name).claims(entry, entry_path):
                first = seen.setdefault((claim.what, claim.identity), (entry_path, claim.path))
                if first[1] == claim.path:
                    continue
                if first[0] == entry_path:
                    c.add(
                        claim.path, f"the same {claim.what} as {first[1]} — blue/green needs two copies, one per stack"
                    )
                else:
                    c.add(claim.path, f"the same {claim.what} as {first[1]}: a resource belongs to one entry only")
    for found in REGISTRY:
        if found.check is not None and sections.get(found.name):
            found.check(c, sections[found.name])


def _check_settle(c: _Checker, f: Mapping[str, Any], settle: float, deadline: int, *, has_sns: bool) -> None:
    """With SNS entries, the retire may wait twice ``settle_minutes``: that must end before the deadline's reserve."""
    if not has_sns or 2 * settle + _RESERVE_MINUTES < deadline:
        return
    if "settle_minutes" in f:
        c.add(
            "plan.settle_minutes",
            f"{settle:g} leaves no time in deadline_minutes {deadline}: the retire may wait twice settle_minutes "
            "(the new subscriptions settling, then the old consumers draining) and must end "
            f"{DEADLINE_RESERVE_SECONDS:g} s before the deadline to report, so twice it must be under the deadline "
            "less a minute",
        )
    else:
        c.add(
            "plan.deadline_minutes",
            f"{deadline} is too short for the default settle_minutes {settle:g}: the retire may wait twice "
            "settle_minutes; raise deadline_minutes or set settle_minutes (see the plan's SNS section)",
        )


def _check_verdict(
    c: _Checker, verdict: Verdict, sections: Mapping[str, list[tuple[str, Any]]], settle: float, deadline: int
) -> None:
    """Each threshold needs something of the plan to measure, and the observed window must fit in the deadline."""
    retire = verdict.before_retire
    if retire is None:
        return
    path = "plan.verdict.before_retire"
    functions = bool(sections.get("lambda")) or any(entry.feeds for _, entry in sections.get("kinesis", []))
    if retire.lambda_limits and not functions:
        c.add(f"{path}.lambda", "no function to measure: the plan has no lambda entries and no kinesis feeds")
    if retire.max_iterator_age_seconds is not None and not any(e.feeds for _, e in sections.get("kinesis", [])):
        c.add(f"{path}.kinesis", "no stream consumer to measure: no kinesis entry of the plan has feeds")
    if retire.max_dlq_growth is not None and not any(e.a.dlq or e.b.dlq for _, e in sections.get("sqs", [])):
        c.add(f"{path}.dlq", "no dead-letter queue to measure: no sqs entry of the plan names a dlq")
    # The retire watches live traffic (the first settle window runs beside it), then lets the old
    # consumers drain (the second), and must end a minute before the deadline to report in time.
    drain = settle if sections.get("sns") else 0.0
    if retire.observe_minutes > 0 and retire.observe_minutes + drain + _RESERVE_MINUTES >= deadline:
        if drain:
            what = f"{retire.observe_minutes:g} and the drain window (settle_minutes {settle:g}) leave"
            watched = "the retire watches live traffic, then lets the old consumers drain,"
        else:
            what, watched = f"{retire.observe_minutes:g} leaves", "the retire watches live traffic"
        c.add(
            f"{path}.observe_minutes",
            f"{what} no time in deadline_minutes {deadline}: {watched} and must end "
            f"{DEADLINE_RESERVE_SECONDS:g} s before the deadline to report",
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
    for found in REGISTRY:
        name, reader = found.name, found.read
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
    verdict = read_verdict(c, f["verdict"], "plan.verdict", deadline=deadline) if "verdict" in f else None
    if verdict is not None:
        _check_verdict(c, verdict, sections, settle, deadline)
    if c.problems:
        return None
    return Plan(
        application=application,
        region=region,
        account_id=account_id,
        initial_live=live,
        deadline_minutes=deadline,
        settle_minutes=settle,
        verdict=verdict,
        **{service(name).attribute: tuple(entry for _, entry in entries) for name, entries in sections.items()},
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
