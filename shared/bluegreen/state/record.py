"""The live-stack record of one application: its shape, the phases of a deployment, and the rules of each write.

Nothing here sends a request: :mod:`bluegreen.state.store` turns each rule into one conditional
DynamoDB write, and decides with the helpers below from the record as DynamoDB returned it (read
first, or the item as it was when a condition refused the write, ``ALL_OLD``).

The record of application ``X`` is the item with key ``X`` of the live-stack table::

      live        "a" | "b"                     the stack that serves (and is never retired)
      deployment  {id, replacement, phase,      the latest deployment; absent before the first one.
                   started_at, updated_at,      It stays after it ends (phase retired, …), so a late
                   finished_at?, settled_at?,   duplicate of its hooks still finds it. ``plan`` is the
                   prepared_at?, flipped_at?,   resolved plan it acts on (canonical JSON) and its
                   unsubscribed_at?,            sha256; ``settled_at`` marks an ended failed one whose
                   codedeploy_application?,     replacement is back to retired.
                   codedeploy_group?,           ``failure`` says why a failed one failed: the
                   plan?, plan_sha256?,         failing steps and their errors, as the run reported
                   failure?,                    them (one line, at most 1,000 characters).
                   verdict_before_traffic?,     ``flipped_at``: when ``flip`` made the replacement
                   verdict_before_retire?}      live. ``verdict_*``: a verdict's judgement
                                                ({stack, passed, at, summary, checks, window?}),
                                                written by ``record_verdict``.
      history     [{deployment_id, from, to,    the newest 20 ended deployments, oldest first;
                    outcome, started_at, at,    ``verdict``: the summaries of the deployment's
                    reason?, verdict?}]         judgements, joined by "; "
      created_at  ISO-8601 UTC

Phases of a deployment D (``replacement`` is the stack that was not live when D began)::

      call        from                          to               live
      begin       (new D)                       preparing        unchanged
      set_phase   preparing / prepared          preparing / prepared
      flip        prepared                      flipped          := replacement
      unflip      flipped                       rolled-back      := replacement.partner (the old stack)
      finish      flipped                       retired          unchanged (+ history entry)
      finish      preparing                     prepare-failed   unchanged (+ history entry)
      finish      preparing / prepared /        rolled-back      unchanged (+ history entry)
                  rolled-back
      mark_settled  an ended deployment         (unchanged)      unchanged (``settled_at``)

Decisions made here, where nothing else fixed them:

* ``live`` changes only in ``flip`` (live := replacement, only from ``prepared``, only while live
  is the replacement's partner) and ``unflip`` (live := the old stack, only from ``flipped``).
* ``set_phase`` moves a deployment only between ``preparing`` and ``prepared`` (:data:`SETTABLE`);
  the other phases have their own write, so no call can mark a deployment flipped without flipping
  ``live``. Setting the phase a deployment already has is a success (idempotent), even when
  ``expected`` does not list it.
* ``finish`` never changes ``live`` and accepts the phases of :data:`FINISH_FROM` (``rolled-back``
  from ``prepared`` too: a retire that failed before the flip has nothing to put back). It stamps
  ``finished_at`` and appends one history entry; finishing again with the same phase returns the
  record unchanged, with another phase it is a conflict.
* ``begin`` with a new id replaces the previous deployment only once it has ended (``finish``); one
  still in flight raises :class:`StateConflict` and nothing is written — :mod:`bluegreen.hooks.decide`
  settles an ended one first, and refuses while CodeDeploy still runs it. It also refuses an id that
  is already in the history (a very late duplicate BeforeAllowTraffic must not hijack the record;
  only the newest :data:`HISTORY_LIMIT` are remembered). ``initial_live`` is used only when the
  record does not exist yet; the record always wins.
* ``flip`` of a deployment already ``flipped`` or ``retired`` returns the record unchanged; of one
  ``rolled-back`` it is a conflict (retiring then would hit the stack that is live again).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference, as_ref

#: Ended deployments kept in ``history`` (the oldest are dropped).
HISTORY_LIMIT = 20
#: The longest ``failure`` (and history ``reason``) kept: 20 of them stay far under DynamoDB's 400 KB item.
FAILURE_LIMIT = 1000

_DESERIALIZER = TypeDeserializer()


class Phase(StrEnum):
    """Where a deployment stands: ``preparing`` → ``prepared`` → ``flipped`` → ``retired``, or a failure."""

    PREPARING = "preparing"
    PREPARED = "prepared"
    FLIPPED = "flipped"
    RETIRED = "retired"
    PREPARE_FAILED = "prepare-failed"  # the replacement was put back to retired
    ROLLED_BACK = "rolled-back"  # retire failed; live is the old stack again


#: The phases ``finish`` accepts, and the phases it accepts each from.
FINISH_FROM: Mapping[Phase, frozenset[Phase]] = {
    Phase.RETIRED: frozenset({Phase.FLIPPED}),
    Phase.PREPARE_FAILED: frozenset({Phase.PREPARING}),
    Phase.ROLLED_BACK: frozenset({Phase.PREPARING, Phase.PREPARED, Phase.ROLLED_BACK}),
}
#: The phases ``set_phase`` sets (and moves between).
SETTABLE = frozenset({Phase.PREPARING, Phase.PREPARED})


@datatype
class LiveRecord:
    """The record of one application as DynamoDB holds it (see the module docstring)."""

    application: str
    live: StackReference
    deployment_id: str | None = None
    replacement: StackReference | None = None
    phase: Phase | None = None
    started_at: str | None = None
    history: tuple[dict[str, str], ...] = ()
    updated_at: str | None = None
    finished_at: str | None = None
    created_at: str | None = None
    settled_at: str | None = None
    codedeploy_application: str | None = None
    codedeploy_group: str | None = None
    plan_json: str | None = None
    plan_sha256: str | None = None
    prepared_at: str | None = None
    unsubscribed_at: str | None = None
    failure: str | None = None
    flipped_at: str | None = None
    verdicts: tuple[tuple[str, dict[str, Any]], ...] = ()

    @property
    def settled(self) -> bool:
        """True once the deployment needs nothing more: retired, or ended failed with its replacement put back.

        A deployment that failed (``prepare-failed`` / ``rolled-back``) is settled once its replacement is
        back to retired (``settled_at``); until then the next runner puts it back first.
        """
        if self.deployment_id is None:
            return True
        if self.phase is Phase.RETIRED:
            return self.finished_at is not None
        return self.finished_at is not None and self.settled_at is not None

    @property
    def codedeploy_group_name(self) -> str | None:
        """``application/group`` of the deployment in CodeDeploy, or None for a deployment run by hand."""
        if self.codedeploy_application and self.codedeploy_group:
            return f"{self.codedeploy_application}/{self.codedeploy_group}"
        return None

    @property
    def in_flight(self) -> bool:
        """True while the latest deployment has not been finished (``finish`` not yet called)."""
        return self.deployment_id is not None and self.finished_at is None

    @property
    def replacement_stack(self) -> StackReference:
        """The stack the current or next deployment brings in: the in-flight one's, else ``live.partner``.

        Once a deployment has flipped, its replacement is live: the next deployment brings in the other
        stack, so that is what this answers (never the live stack).
        """
        if self.in_flight and self.replacement is not None and self.replacement is not self.live:
            return self.replacement
        return self.live.partner

    @property
    def ended_deployment_ids(self) -> frozenset[str]:
        """The deployment ids the history remembers as ended."""
        return frozenset(entry.get("deployment_id", "") for entry in self.history)

    def describe(self) -> str:
        """A one-line account for error messages: live stack, deployment and phase."""
        if self.deployment_id is None:
            return f"live={self.live}, no deployment yet"
        ended = f", finished at {self.finished_at}" if self.finished_at else ""
        return (
            f"live={self.live}, deployment {self.deployment_id} in phase {self.phase} "
            f"(replacement {self.replacement}, started {self.started_at}{ended})"
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what ``bluegreen status --output json`` prints)."""
        deployment = None
        if self.deployment_id is not None:
            deployment = {
                "id": self.deployment_id,
                "replacement": str(self.replacement),
                "phase": str(self.phase),
                "started_at": self.started_at,
                "updated_at": self.updated_at,
                "finished_at": self.finished_at,
                "settled_at": self.settled_at,
                "codedeploy": self.codedeploy_group_name,
                "plan_sha256": self.plan_sha256,
                "prepared_at": self.prepared_at,
                "unsubscribed_at": self.unsubscribed_at,
                "failure": self.failure,
                "flipped_at": self.flipped_at,
                "verdicts": {moment: judgement for moment, judgement in self.verdicts},
            }
        return {
            "application": self.application,
            "live": str(self.live),
            "replacement": str(self.replacement_stack),
            "deployment": deployment,
            "history": [dict(entry) for entry in self.history],
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> LiveRecord:
        """The typed record from a DynamoDB item in the low-level client's JSON (``{"S": "a"}`` …).

        A record that does not hold a valid ``live`` or phase raises ``ValueError`` naming the application.
        """
        plain = {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}
        application = str(plain.get("application", ""))
        try:
            live = as_ref(str(plain["live"]))
            deployment = plain.get("deployment") or {}
            replacement = deployment.get("replacement")
            phase = deployment.get("phase")
            return cls(
                application=application,
                live=live,
                deployment_id=deployment.get("id"),
                replacement=as_ref(replacement) if replacement else None,
                phase=Phase(phase) if phase else None,
                started_at=deployment.get("started_at"),
                history=tuple({k: str(v) for k, v in entry.items()} for entry in plain.get("history") or ()),
                updated_at=deployment.get("updated_at"),
                finished_at=deployment.get("finished_at"),
                created_at=plain.get("created_at"),
                settled_at=deployment.get("settled_at"),
                codedeploy_application=deployment.get("codedeploy_application"),
                codedeploy_group=deployment.get("codedeploy_group"),
                plan_json=deployment.get("plan"),
                plan_sha256=deployment.get("plan_sha256"),
                prepared_at=deployment.get("prepared_at"),
                unsubscribed_at=deployment.get("unsubscribed_at"),
                failure=deployment.get("failure"),
                flipped_at=deployment.get("flipped_at"),
                verdicts=tuple(
                    (moment, _plain(deployment[key]))
                    for moment, key in VERDICT_KEYS
                    if isinstance(deployment.get(key), dict)
                ),
            )
        except (KeyError, ValueError, AttributeError) as error:
            raise ValueError(f"live-stack record {application!r} is malformed: {error!r}") from error


class StateConflict(RuntimeError):
    """The record does not allow the change asked for; ``record`` is what it holds (None: no record)."""

    def __init__(self, message: str, record: LiveRecord | None = None) -> None:
        super().__init__(message)
        self.record = record


# -- the rules, as pure functions of the record ------------------------------------------------------


def deployment_extra(plan: tuple[str, str] | None, codedeploy: tuple[str, str] | None) -> dict[str, str]:
    """The optional fields of a new deployment: ``plan``/``plan_sha256`` and CodeDeploy's application/group."""
    extra: dict[str, str] = {}
    if plan is not None:
        extra["plan"], extra["plan_sha256"] = plan
    if codedeploy is not None and all(codedeploy):
        extra["codedeploy_application"], extra["codedeploy_group"] = codedeploy
    return extra


#: The moments of a verdict and the keys of the deployment map that keep their judgements.
VERDICT_KEYS = (("before-traffic", "verdict_before_traffic"), ("before-retire", "verdict_before_retire"))


def _plain(value: Any) -> Any:
    """DynamoDB's deserialized value with its Decimals as ints or floats (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def new_deployment(
    deployment_id: str, replacement: StackReference, now: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``deployment`` map of a deployment that begins now, in phase ``preparing``."""
    return {
        "id": deployment_id,
        "replacement": replacement.value,
        "phase": Phase.PREPARING.value,
        "started_at": now,
        "updated_at": now,
        **(extra or {}),
    }


def history_entry(record: LiveRecord, outcome: str, now: str, reason: str | None = None) -> dict[str, str]:
    """The ``history`` entry of the record's deployment, ended now with ``outcome`` (and why, when it failed)."""
    replacement = record.replacement or record.live.partner
    entry = {
        "deployment_id": record.deployment_id or "",
        "from": replacement.partner.value,
        "to": replacement.value,
        "outcome": outcome,
        "started_at": record.started_at or "",
        "at": now,
    }
    if reason:
        entry["reason"] = reason
    verdicts = " · ".join(verdict_line(moment, judgement) for moment, judgement in record.verdicts)
    if verdicts:
        entry["verdict"] = failure_text(verdicts)
    return entry


def verdict_line(moment: str, judgement: Mapping[str, Any]) -> str:
    """A kept judgement in one line for the history: the outcome, then every check with its number and limit."""
    outcome = "passed" if judgement.get("passed") is True else "failed"
    checks = [
        f"{c.get('what')} {c.get('measured')} (limit {c.get('limit')}){'' if c.get('passed') is True else ' ✗'}"
        for c in judgement.get("checks") or ()
        if isinstance(c, Mapping)
    ]
    return f"{moment} verdict on stack {judgement.get('stack')} {outcome}: " + "; ".join(checks)


def failure_text(reason: str) -> str:
    """``reason`` as the record keeps it: one line, at most :data:`FAILURE_LIMIT` characters."""
    line = " ".join(reason.split())
    return line if len(line) <= FAILURE_LIMIT else line[: FAILURE_LIMIT - 1] + "…"


def mismatch(record: LiveRecord | None, deployment_id: str) -> str:
    """Why ``record`` does not hold ``deployment_id`` as its deployment ('' when it does)."""
    if record is None:
        return "there is no record for this application (no deployment ever began)"
    if record.deployment_id is None:
        return "no deployment has begun"
    if record.deployment_id != deployment_id:
        return f"the deployment on record is {record.deployment_id} ({record.phase}), not {deployment_id}"
    return ""


def why_not_replaceable(record: LiveRecord, deployment_id: str) -> str:
    """Why deployment ``deployment_id`` may not replace the record's deployment ('' when it may)."""
    if deployment_id in record.ended_deployment_ids:
        return f"{deployment_id} already ended (see its history entry): a late delivery starts nothing"
    if record.in_flight:
        return (
            f"deployment {record.deployment_id} is still in flight ({record.phase}): it must end, and be settled, "
            "before another one begins"
        )
    return ""


def why_not_flippable(record: LiveRecord | None) -> str:
    """Why the record's deployment (the one asked for) may not flip."""
    if record is None:  # pragma: no cover - mismatch answers first
        return "there is no record"
    if record.finished_at is not None or record.phase in (Phase.PREPARE_FAILED, Phase.ROLLED_BACK):
        return f"it ended {record.phase}: live stays {record.live}, nothing may be retired"
    if record.phase is Phase.PREPARING:
        return f"it was never prepared (still preparing stack {record.replacement})"
    return f"live is already {record.live}, its replacement: the record is inconsistent"


def why_not_finishable(record: LiveRecord, final: Phase) -> str:
    """Why the record's deployment may not end in ``final`` ('' when it may).

    One that already ended in ``final`` is not asked about: finishing it again changes nothing.
    """
    if record.finished_at is not None:
        return f"it already finished as {record.phase}"
    if record.phase not in FINISH_FROM[final]:
        allowed = "/".join(sorted(FINISH_FROM[final]))
        return f"it is {record.phase}, and {final} follows {allowed}"
    return ""


def conflict(application: str, what: str, reason: str, record: LiveRecord | None) -> StateConflict:
    """The :class:`StateConflict` for ``what`` refused for ``reason``, with what the record holds."""
    holds = record.describe() if record is not None else "no record"
    return StateConflict(f"{application}: cannot {what}: {reason}; the record holds {holds}", record)
