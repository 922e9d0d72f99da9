"""The live-stack record: which stack (a or b) is live, the deployment in flight, and a short history.

What AWS holds: one DynamoDB table (named by ``BLUEGREEN_STATE_TABLE``; the template creates it) with
the partition key ``application`` (S) and nothing else. Three kinds of item live in it:

* **The record** of application ``X``, key ``X``::

      live        "a" | "b"                     the stack that serves (and is never retired)
      deployment  {id, replacement, phase,      the latest deployment; absent before the first one.
                   started_at, updated_at,      It stays after it ends (phase retired, …), so a late
                   finished_at?, settled_at?,   duplicate of its hooks still finds it. ``plan`` is the
                   codedeploy_application?,     resolved plan it acts on (canonical JSON) and its
                   codedeploy_group?,           sha256; ``settled_at`` marks an ended failed one whose
                   plan?, plan_sha256?}         replacement is back to retired.
      history     [{deployment_id, from, to,    the newest 20 ended deployments, oldest first
                    outcome, started_at, at}]
      created_at  ISO-8601 UTC

* **The lease**, key ``X#lease`` (:mod:`bluegreen.lease`): one runner at a time per application.

* **Hook reports**, key ``X#report#<execution id>``: ``status``, ``deployment_id``, ``at`` and
  ``expires_at`` (epoch seconds, 30 days on; the template enables TTL on it), so the record never
  grows with them. An application name therefore may not contain ``#``.

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

Every write is one conditional request (``ReturnValues=ALL_NEW``; a refused condition returns the
item as it was, ``ReturnValuesOnConditionCheckFailure=ALL_OLD``, which explains the refusal without a
second read). ``flip`` and ``set_phase`` write without reading first; ``begin``, ``unflip`` and
``finish`` read (strongly consistent), decide, and write on condition that what they read still
holds, re-deciding from the returned item when another writer got there first.

Decisions made here, where nothing else fixed them:

* ``live`` changes only in ``flip`` (live := replacement, only from ``prepared``, only while live
  is the replacement's partner) and ``unflip`` (live := the old stack, only from ``flipped``).
* ``set_phase`` moves a deployment only between ``preparing`` and ``prepared``; the other phases
  have their own method (``flip``, ``unflip``, ``finish``), so no call can mark a deployment flipped
  without flipping ``live``. Setting the phase a deployment already has is a success (idempotent),
  even when ``expected`` does not list it.
* ``finish`` never changes ``live`` and accepts: ``retired`` from ``flipped``; ``prepare-failed``
  from ``preparing``/``prepared``; ``rolled-back`` from ``rolled-back`` (after ``unflip``) or from
  ``prepared`` (retire failed before the flip: nothing to put back). It stamps ``finished_at`` and
  appends one history entry; finishing again with the same phase returns the record unchanged,
  with another phase it is a conflict.
* ``begin`` with a new id replaces the previous deployment only once it has ended (``finish``); one
  still in flight raises :class:`StateConflict` and nothing is written — :mod:`bluegreen.decide`
  settles an ended one first, and refuses while CodeDeploy still runs it. It also refuses an id that
  is already in the history (a very late duplicate BeforeAllowTraffic must not hijack the record;
  only the newest 20 are remembered). ``initial_live`` is used only when the record does not exist
  yet; the record always wins.
* ``flip`` of a deployment already ``flipped`` or ``retired`` returns the record unchanged; of one
  ``rolled-back`` it is a conflict (retiring then would hit the stack that is live again).
* A report's first status wins: ``record_report`` returns the status already recorded, which the
  caller re-sends; it never records a second, different one.
* A missing table is a ``LookupError`` naming the table and region, not a raw ``ClientError``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from bluegreen.aws import error_code, make_client
from bluegreen.refs import StackReference, as_ref

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

#: The environment variable naming the live-stack table.
TABLE_ENV = "BLUEGREEN_STATE_TABLE"
#: Ended deployments kept in ``history`` (the oldest are dropped).
HISTORY_LIMIT = 20
#: How long a hook report is kept (DynamoDB TTL on ``expires_at`` deletes it afterwards).
REPORT_TTL = timedelta(days=30)
#: Read-decide-write rounds before giving up when other writers keep changing the record.
_ROUNDS = 5

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_NAMES = {
    "#app": "application",
    "#live": "live",
    "#dep": "deployment",
    "#id": "id",
    "#phase": "phase",
    "#rep": "replacement",
    "#upd": "updated_at",
    "#fin": "finished_at",
    "#hist": "history",
    "#set": "settled_at",
    "#prep": "prepared_at",
    "#unsub": "unsubscribed_at",
}


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
_SETTABLE = frozenset({Phase.PREPARING, Phase.PREPARED})


@dataclass(frozen=True)
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
            )
        except (KeyError, ValueError, AttributeError) as error:
            raise ValueError(f"live-stack record {application!r} is malformed: {error!r}") from error


class StateConflict(RuntimeError):
    """The record does not allow the change asked for; ``record`` is what it holds (None: no record)."""

    def __init__(self, message: str, record: LiveRecord | None = None) -> None:
        super().__init__(message)
        self.record = record


class _Refused(Exception):
    """A ``ConditionalCheckFailedException``; ``item`` is the item as it was (ALL_OLD), None when there was none."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item

    @property
    def record(self) -> LiveRecord | None:
        """The record as it was, typed (for a refused write of the record, not of a report)."""
        return LiveRecord.from_item(self.item) if self.item else None


def report_key(application: str, execution_id: str) -> str:
    """The key of a hook report item: ``<application>#report#<execution id>``."""
    return f"{_checked_application(application)}#report#{_checked('execution id', execution_id)}"


def _checked(what: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _checked_application(application: str) -> str:
    _checked("application", application)
    if "#" in application:
        raise ValueError(f"application {application!r}: '#' is reserved for hook report keys, use another name")
    return application


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _names(*expressions: str) -> dict[str, str]:
    """The ExpressionAttributeNames the expressions use (DynamoDB rejects unused ones)."""
    return {token: _NAMES[token] for token in sorted(set(re.findall(r"#\w+", " ".join(expressions))))}


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(value) for key, value in values.items()}


class StateStore:
    """Reads and writes the live-stack records of one DynamoDB table (see the module docstring)."""

    def __init__(
        self,
        table_name: str,
        *,
        region: str | None = None,
        session: boto3.Session | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Keep the table name, region and optional session; no client is made and no request sent yet.

        ``clock`` returns the current time (timezone-aware); tests pass a fixed one.
        """
        self.table_name = _checked("table name", table_name)
        self.region = region
        self.session = session
        self._clock = clock or _utc_now
        self._made: DynamoDBClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, session: boto3.Session | None = None) -> StateStore:
        """The store of the table named by ``BLUEGREEN_STATE_TABLE`` (``environ`` defaults to ``os.environ``)."""
        env = os.environ if environ is None else environ
        name = env.get(TABLE_ENV, "").strip()
        if not name:
            raise LookupError(f"{TABLE_ENV} is not set: set it to the name of the live-stack DynamoDB table")
        return cls(name, session=session)

    @property
    def client(self) -> DynamoDBClient:
        """The DynamoDB client of this store (made on first use), for the other items of the table (the lease)."""
        return self._dynamodb

    @property
    def _dynamodb(self) -> DynamoDBClient:
        with self._lock:
            if self._made is None:
                self._made = cast("DynamoDBClient", make_client("dynamodb", region=self.region, session=self.session))
            return self._made

    # -- reads -------------------------------------------------------------------------------------

    def get(self, application: str) -> LiveRecord | None:
        """The application's record (``GetItem``, strongly consistent), or None when there is none."""
        with self._translated():
            found = self._dynamodb.get_item(
                TableName=self.table_name,
                Key={"application": {"S": _checked_application(application)}},
                ConsistentRead=True,
            )
        item = found.get("Item")
        return LiveRecord.from_item(item) if item else None

    def reported_status(self, application: str, execution_id: str) -> str | None:
        """The status recorded for hook execution ``execution_id`` (strongly consistent), or None."""
        with self._translated():
            found = self._dynamodb.get_item(
                TableName=self.table_name,
                Key={"application": {"S": report_key(application, execution_id)}},
                ConsistentRead=True,
            )
        item = found.get("Item")
        return str(_DESERIALIZER.deserialize(item["status"])) if item and "status" in item else None

    def first_started(self, application: str, execution_id: str, deployment_id: str, now: float) -> float:
        """When hook execution ``execution_id`` first started (epoch seconds): ``now`` the first time it is asked."""
        return self.claim(application, execution_id, deployment_id, now)[0]

    def claim(self, application: str, execution_id: str, deployment_id: str, now: float) -> tuple[float, str | None]:
        """The first start of hook execution ``execution_id`` and the status already reported for it, if any.

        One ``UpdateItem`` with ``if_not_exists`` on the execution's report item (strongly consistent,
        ``ALL_NEW``): a Lambda retry or a duplicate delivery keeps the first start, and the deadline
        with it, and learns in the same call whether a status was already recorded.
        """
        expires = int((datetime.fromtimestamp(now, UTC) + REPORT_TTL).timestamp())
        with self._translated():
            found = self._dynamodb.update_item(
                TableName=self.table_name,
                Key={"application": {"S": report_key(application, execution_id)}},
                UpdateExpression=(
                    "SET started_at = if_not_exists(started_at, :now), "
                    "deployment_id = if_not_exists(deployment_id, :dep), expires_at = :exp"
                ),
                ExpressionAttributeValues={
                    ":now": {"N": repr(float(now))},
                    ":dep": {"S": _checked("deployment id", deployment_id)},
                    ":exp": {"N": str(expires)},
                },
                ReturnValues="ALL_NEW",
            )
        attributes = found["Attributes"]
        status = attributes.get("status")
        return float(attributes["started_at"]["N"]), (str(_DESERIALIZER.deserialize(status)) if status else None)

    # -- writes ------------------------------------------------------------------------------------

    def ensure(self, application: str, initial_live: StackReference | str) -> LiveRecord:
        """The record, created with ``live = initial_live`` when missing (``PutItem`` on attribute_not_exists).

        An existing record is returned as it is, never overwritten.
        """
        item = self._new_item(application, as_ref(initial_live), None)
        try:
            return self._put(item)
        except _Refused as refused:
            if refused.record is None:  # pragma: no cover - a put is refused only by an existing item
                raise StateConflict(f"{application}: the record could not be created", None) from None
            return refused.record

    def begin(
        self,
        application: str,
        deployment_id: str,
        initial_live: StackReference | str,
        *,
        plan: tuple[str, str] | None = None,
        codedeploy: tuple[str, str] | None = None,
        known: LiveRecord | Literal["read"] | None = "read",
    ) -> LiveRecord:
        """Record deployment ``deployment_id`` in flight, phase ``preparing``, replacement = ``live.partner``.

        ``plan`` is the resolved plan the deployment acts on, as ``(canonical JSON, sha256)``: kept with
        the deployment, so that its retire, continuations and put-backs act on that plan even when the
        plan is edited meanwhile. ``codedeploy`` is the deployment's ``(application, deployment group)``.
        Creates the record (``live = initial_live``) when missing. The same deployment again returns
        the record unchanged, whatever its phase. A different one replaces a deployment that has
        ended (``finish`` was called); one still in flight, or an id the history already holds, raises
        :class:`StateConflict` and writes nothing (settle the one in flight first). ``known`` is the
        record as the caller just read it (None: there was none), which saves the read; every write is
        conditional on it still holding, so a stale one only costs a refused write and a new decision.
        """
        _checked("deployment id", deployment_id)
        initial = as_ref(initial_live)
        extra = self._deployment_extra(plan, codedeploy)
        record = self.get(application) if known == "read" else known
        for _ in range(_ROUNDS):
            try:
                if record is None:
                    return self._put(self._new_item(application, initial, deployment_id, extra))
                if record.deployment_id == deployment_id:
                    return record
                return self._replace_deployment(record, deployment_id, extra)
            except _Refused as refused:
                record = refused.record
        raise self._busy(application, "begin", deployment_id, record)

    def mark_settled(self, application: str, deployment_id: str) -> LiveRecord:
        """Note that ended deployment ``deployment_id`` needs nothing more: its replacement is back to retired.

        One conditional ``UpdateItem`` (the deployment is ``deployment_id`` and has finished). Already
        settled: returned unchanged. Anything else raises :class:`StateConflict`.
        """
        try:
            return self._update(
                application,
                update="SET #dep.#set = if_not_exists(#dep.#set, :now), #dep.#upd = :now",
                condition="#dep.#id = :d AND attribute_exists(#dep.#fin)",
                values={":now": self._now(), ":d": _checked("deployment id", deployment_id)},
            )
        except _Refused as refused:
            held = refused.record
            reason = self._mismatch(held, deployment_id) or "it has not ended"
            raise self._conflict(application, f"mark deployment {deployment_id} settled", reason, held) from None

    def mark_unsubscribed(self, application: str, deployment_id: str) -> LiveRecord:
        """Note when the retire turned the old stack's SNS subscriptions off (the start of the drain window).

        One conditional ``UpdateItem``: ``unsubscribed_at`` is set only if it is not set yet (a repeated
        retire keeps the first time), while ``deployment_id`` is flipped and not finished. Anything else
        raises :class:`StateConflict`.
        """
        try:
            return self._update(
                application,
                update="SET #dep.#unsub = if_not_exists(#dep.#unsub, :now)",
                condition="#dep.#id = :d AND attribute_not_exists(#dep.#fin) AND #dep.#phase = :flipped",
                values={
                    ":now": self._now(),
                    ":d": _checked("deployment id", deployment_id),
                    ":flipped": Phase.FLIPPED.value,
                },
            )
        except _Refused as refused:
            held = refused.record
            reason = self._mismatch(held, deployment_id) or f"its phase is {held.phase if held else None}, not flipped"
            raise self._conflict(application, f"note deployment {deployment_id} unsubscribed", reason, held) from None

    def set_phase(
        self, application: str, deployment_id: str, phase: Phase | str, *, expected: set[Phase] | None = None
    ) -> LiveRecord:
        """Set the deployment's phase to ``preparing`` or ``prepared`` (one conditional ``UpdateItem``).

        The condition: the deployment is ``deployment_id``, not finished, and its phase is in ``expected``
        (default: preparing or prepared). A deployment already in ``phase`` is a success even when
        ``expected`` does not list it (nothing is written then). Otherwise :class:`StateConflict`.
        """
        _checked("deployment id", deployment_id)
        target = Phase(phase)
        if target not in _SETTABLE:
            raise ValueError(f"set_phase sets only preparing/prepared, not {target}: use flip, unflip or finish")
        allowed = set(_SETTABLE) if expected is None else {Phase(p) for p in expected}
        if not allowed or not allowed <= _SETTABLE:
            raise ValueError(f"expected must be a non-empty subset of preparing/prepared, got {sorted(allowed)}")
        sources = sorted(allowed)
        placeholders = ", ".join(f":from{i}" for i in range(len(sources)))
        try:
            return self._update(
                application,
                update="SET #dep.#phase = :phase, #dep.#upd = :now"
                + (", #dep.#prep = :now" if target is Phase.PREPARED else ""),
                condition=f"#dep.#id = :d AND attribute_not_exists(#dep.#fin) AND #dep.#phase IN ({placeholders})",
                values={
                    ":phase": target.value,
                    ":now": self._now(),
                    ":d": deployment_id,
                    **{f":from{i}": p.value for i, p in enumerate(sources)},
                },
            )
        except _Refused as refused:
            held = refused.record
            if held is not None and held.deployment_id == deployment_id and held.phase is target:
                return held
            wanted = "/".join(sources)
            reason = self._mismatch(held, deployment_id) or f"its phase is {held.phase if held else None}, not {wanted}"
            raise self._conflict(application, f"set deployment {deployment_id} to {target}", reason, held) from None

    def flip(self, application: str, deployment_id: str) -> LiveRecord:
        """Make the replacement live: ONE conditional ``UpdateItem``, no read before it.

        ``SET live = deployment.replacement, phase = flipped`` on condition that the deployment is
        ``deployment_id``, in phase ``prepared``, and live is the replacement's partner. A deployment
        already ``flipped`` or ``retired`` is returned as it is (a duplicate or late AfterAllowTraffic
        never flips back); anything else raises :class:`StateConflict` and changes nothing.
        """
        try:
            return self._update(
                application,
                update="SET #live = #dep.#rep, #dep.#phase = :flipped, #dep.#upd = :now",
                condition=(
                    "#dep.#id = :d AND #dep.#phase = :prepared AND attribute_not_exists(#dep.#fin)"
                    " AND ((#live = :a AND #dep.#rep = :b) OR (#live = :b AND #dep.#rep = :a))"
                ),
                values={
                    ":flipped": Phase.FLIPPED.value,
                    ":now": self._now(),
                    ":d": _checked("deployment id", deployment_id),
                    ":prepared": Phase.PREPARED.value,
                    ":a": StackReference.A.value,
                    ":b": StackReference.B.value,
                },
            )
        except _Refused as refused:
            held = refused.record
            if (
                held is not None
                and held.deployment_id == deployment_id
                and held.phase in (Phase.FLIPPED, Phase.RETIRED)
            ):
                logger.info(
                    "%s: deployment %s is already %s (live=%s): nothing to flip",
                    application,
                    deployment_id,
                    held.phase,
                    held.live,
                )
                return held
            reason = self._mismatch(held, deployment_id) or self._why_not_flippable(held)
            raise self._conflict(application, f"flip deployment {deployment_id}", reason, held) from None

    def unflip(self, application: str, deployment_id: str) -> LiveRecord:
        """Put the old stack back live after a failed retire: ``live = replacement.partner``, phase ``rolled-back``.

        Reads the record, then one conditional ``UpdateItem`` (the deployment is ``deployment_id``,
        phase ``flipped``, live its replacement). Already ``rolled-back``: returned unchanged.
        Anything else (never flipped, already retired, another deployment) raises :class:`StateConflict`.
        """
        _checked("deployment id", deployment_id)
        record = self.get(application)
        for _ in range(_ROUNDS):
            reason = self._mismatch(record, deployment_id)
            if record is None or reason:
                raise self._conflict(application, f"unflip deployment {deployment_id}", reason, record)
            if record.phase is Phase.ROLLED_BACK:
                return record
            if record.phase is not Phase.FLIPPED or record.replacement is None:
                reason = f"it is {record.phase}, not flipped"
                raise self._conflict(application, f"unflip deployment {deployment_id}", reason, record)
            try:
                return self._update(
                    application,
                    update="SET #live = :old, #dep.#phase = :rolled, #dep.#upd = :now",
                    condition="#dep.#id = :d AND #dep.#phase = :flipped AND #live = :new",
                    values={
                        ":old": record.replacement.partner.value,
                        ":rolled": Phase.ROLLED_BACK.value,
                        ":now": self._now(),
                        ":d": deployment_id,
                        ":flipped": Phase.FLIPPED.value,
                        ":new": record.replacement.value,
                    },
                )
            except _Refused as refused:
                record = refused.record
        raise self._busy(application, "unflip", deployment_id, record)

    def finish(self, application: str, deployment_id: str, phase: Phase | str) -> LiveRecord:
        """End the deployment in ``phase`` (retired, prepare-failed or rolled-back) and append it to the history.

        Reads the record, then one conditional ``UpdateItem``: sets the phase and ``finished_at``, and
        writes the history with the new entry (the newest :data:`HISTORY_LIMIT` kept); ``live`` is not
        touched. Finishing again in the same phase returns the record unchanged; a phase the
        deployment cannot end in from where it stands (see :data:`FINISH_FROM`) raises :class:`StateConflict`.
        """
        final = Phase(phase)
        if final not in FINISH_FROM:
            raise ValueError(f"finish takes retired, prepare-failed or rolled-back, not {final}")
        _checked("deployment id", deployment_id)
        record = self.get(application)
        what = f"finish deployment {deployment_id} as {final}"
        for _ in range(_ROUNDS):
            reason = self._mismatch(record, deployment_id)
            if record is None or reason:
                raise self._conflict(application, what, reason, record)
            if record.finished_at is not None:
                if record.phase is final:
                    return record
                raise self._conflict(application, what, f"it already finished as {record.phase}", record)
            if record.phase not in FINISH_FROM[final]:
                allowed = "/".join(sorted(FINISH_FROM[final]))
                raise self._conflict(application, what, f"it is {record.phase}, and {final} follows {allowed}", record)
            now = self._now()
            history = [*record.history, self._history_entry(record, final.value, now)][-HISTORY_LIMIT:]
            try:
                return self._update(
                    application,
                    update="SET #dep.#phase = :final, #dep.#upd = :now, #dep.#fin = :now, #hist = :hist",
                    condition="#dep.#id = :d AND #dep.#phase = :current AND attribute_not_exists(#dep.#fin)",
                    values={
                        ":final": final.value,
                        ":now": now,
                        ":hist": history,
                        ":d": deployment_id,
                        ":current": str(record.phase),
                    },
                )
            except _Refused as refused:
                record = refused.record
        raise self._busy(application, "finish", deployment_id, record)

    def record_report(self, application: str, execution_id: str, status: str, deployment_id: str) -> str:
        """Remember that hook execution ``execution_id`` is reported with ``status``; the status to send.

        A conditional ``UpdateItem`` (no status yet) of the report item, kept 30 days (TTL on
        ``expires_at``). When the execution already has a status, nothing is written and the status
        recorded first is returned: the caller sends that one again, never a different one.
        """
        now = self._clock()
        values = {
            ":status": _checked("status", status),
            ":dep": _checked("deployment id", deployment_id),
            ":at": _iso(now),
            ":exp": int((now + REPORT_TTL).timestamp()),
        }
        try:
            with self._translated():
                self._dynamodb.update_item(
                    TableName=self.table_name,
                    Key={"application": {"S": report_key(application, execution_id)}},
                    UpdateExpression="SET #status = :status, deployment_id = :dep, #at = :at, expires_at = :exp",
                    ConditionExpression="attribute_not_exists(#status)",
                    ExpressionAttributeNames={"#status": "status", "#at": "at"},
                    ExpressionAttributeValues=_values(values),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except _Refused as refused:
            first = str(_DESERIALIZER.deserialize(refused.item["status"])) if refused.item else status
            if first != status:
                logger.warning(
                    "%s: hook execution %s was already reported %s; %s is not recorded",
                    application,
                    execution_id,
                    first,
                    status,
                )
            return first
        return status

    # -- internals ---------------------------------------------------------------------------------

    def _now(self) -> str:
        return _iso(self._clock())

    def _new_item(
        self,
        application: str,
        live: StackReference,
        deployment_id: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        now = self._now()
        item: dict[str, Any] = {"application": _checked_application(application), "live": live.value}
        item.update(history=[], created_at=now)
        if deployment_id is not None:
            item["deployment"] = self._deployment(deployment_id, live.partner, now, extra)
        return item

    @staticmethod
    def _deployment_extra(plan: tuple[str, str] | None, codedeploy: tuple[str, str] | None) -> dict[str, str]:
        extra: dict[str, str] = {}
        if plan is not None:
            extra["plan"], extra["plan_sha256"] = plan
        if codedeploy is not None and all(codedeploy):
            extra["codedeploy_application"], extra["codedeploy_group"] = codedeploy
        return extra

    @staticmethod
    def _deployment(
        deployment_id: str, replacement: StackReference, now: str, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        return {
            "id": deployment_id,
            "replacement": replacement.value,
            "phase": Phase.PREPARING.value,
            "started_at": now,
            "updated_at": now,
            **(extra or {}),
        }

    @staticmethod
    def _history_entry(record: LiveRecord, outcome: str, now: str) -> dict[str, str]:
        replacement = record.replacement or record.live.partner
        return {
            "deployment_id": record.deployment_id or "",
            "from": replacement.partner.value,
            "to": replacement.value,
            "outcome": outcome,
            "started_at": record.started_at or "",
            "at": now,
        }

    def _replace_deployment(self, record: LiveRecord, deployment_id: str, extra: Mapping[str, str]) -> LiveRecord:
        what = f"begin deployment {deployment_id}"
        if deployment_id in record.ended_deployment_ids:
            reason = f"{deployment_id} already ended (see its history entry): a late delivery starts nothing"
            raise self._conflict(record.application, what, reason, record)
        if record.in_flight:
            reason = (
                f"deployment {record.deployment_id} is still in flight ({record.phase}): it must end, and be settled, "
                "before another one begins"
            )
            raise self._conflict(record.application, what, reason, record)
        values: dict[str, Any] = {
            ":dep": self._deployment(deployment_id, record.live.partner, self._now(), extra),
            ":live": record.live.value,
        }
        if record.deployment_id is None:
            condition = "#live = :live AND attribute_not_exists(#dep)"
        else:
            condition = "#live = :live AND #dep.#id = :old AND #dep.#phase = :oldphase AND #dep.#fin = :oldfin"
            values.update({":old": record.deployment_id, ":oldphase": str(record.phase), ":oldfin": record.finished_at})
        return self._update(record.application, update="SET #dep = :dep", condition=condition, values=values)

    def _put(self, item: dict[str, Any]) -> LiveRecord:
        """A conditional ``PutItem`` of a new record; raises :class:`_Refused` with the existing one."""
        serialized = _values(item)
        with self._translated():
            self._dynamodb.put_item(
                TableName=self.table_name,
                Item=serialized,
                ConditionExpression="attribute_not_exists(#app)",
                ExpressionAttributeNames=_names("#app"),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return LiveRecord.from_item(serialized)

    def _update(self, application: str, *, update: str, condition: str, values: Mapping[str, Any]) -> LiveRecord:
        """One conditional ``UpdateItem`` of the record; raises :class:`_Refused` with the item as it was."""
        with self._translated():
            done = self._dynamodb.update_item(
                TableName=self.table_name,
                Key={"application": {"S": _checked_application(application)}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(update, condition),
                ExpressionAttributeValues=_values(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        return LiveRecord.from_item(done["Attributes"])

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Around one request: a failed condition becomes :class:`_Refused`, a missing table a ``LookupError``."""
        try:
            yield
        except ClientError as error:
            code = error_code(error)
            if code == "ConditionalCheckFailedException":
                raise _Refused(cast("dict[str, Any] | None", error.response.get("Item"))) from None
            if code == "ResourceNotFoundException":
                region = self._dynamodb.meta.region_name
                raise LookupError(
                    f"live-stack table {self.table_name!r} not found in {region}: deploy the template, "
                    f"or set {TABLE_ENV} to the table it created"
                ) from error
            raise

    @staticmethod
    def _mismatch(record: LiveRecord | None, deployment_id: str) -> str:
        """Why ``record`` does not hold ``deployment_id`` as its deployment ('' when it does)."""
        if record is None:
            return "there is no record for this application (no deployment ever began)"
        if record.deployment_id is None:
            return "no deployment has begun"
        if record.deployment_id != deployment_id:
            return f"the deployment on record is {record.deployment_id} ({record.phase}), not {deployment_id}"
        return ""

    @staticmethod
    def _why_not_flippable(record: LiveRecord | None) -> str:
        if record is None:  # pragma: no cover - _mismatch answers first
            return "there is no record"
        if record.finished_at is not None or record.phase in (Phase.PREPARE_FAILED, Phase.ROLLED_BACK):
            return f"it ended {record.phase}: live stays {record.live}, nothing may be retired"
        if record.phase is Phase.PREPARING:
            return f"it was never prepared (still preparing stack {record.replacement})"
        return f"live is already {record.live}, its replacement: the record is inconsistent"

    @staticmethod
    def _conflict(application: str, what: str, reason: str, record: LiveRecord | None) -> StateConflict:
        holds = record.describe() if record is not None else "no record"
        return StateConflict(f"{application}: cannot {what}: {reason}; the record holds {holds}", record)

    def _busy(self, application: str, what: str, deployment_id: str, record: LiveRecord | None) -> StateConflict:
        reason = f"the record changed under it {_ROUNDS} times in a row (other writers)"
        return self._conflict(application, f"{what} deployment {deployment_id}", reason, record)
