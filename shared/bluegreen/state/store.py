"""StateStore: the live-stack record's reads and writes, each one DynamoDB request.

Every write is one conditional request (``ReturnValues=ALL_NEW``; a refused condition returns the
item as it was, ``ReturnValuesOnConditionCheckFailure=ALL_OLD``, which explains the refusal without a
second read). ``flip``, ``set_phase``, ``mark_settled`` and ``mark_unsubscribed`` write without
reading first; ``begin``, ``unflip`` and ``finish`` read (``GetItem``, strongly consistent), decide
by the rules of :mod:`bluegreen.state.record` (which also lists every transition), and write on
condition that what they read still holds, re-deciding from the returned item when another writer
got there first (at most :data:`_ROUNDS` times, then :class:`~bluegreen.state.record.StateConflict`).

The same store reads and writes the hook report items (:class:`~bluegreen.state.items.ReportItems`)
and hands its client to the lease (:mod:`bluegreen.hooks.lease`); the table and its keys are
:mod:`bluegreen.state.table`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from bluegreen.refs import StackReference, as_ref
from bluegreen.state.items import ReportItems
from bluegreen.state.record import (
    FINISH_FROM,
    HISTORY_LIMIT,
    SETTABLE,
    LiveRecord,
    Phase,
    StateConflict,
    conflict,
    deployment_extra,
    failure_text,
    history_entry,
    mismatch,
    new_deployment,
    why_not_finishable,
    why_not_flippable,
    why_not_replaceable,
)
from bluegreen.state.table import _checked, _checked_application, _names, _Refused, _values

logger = logging.getLogger(__name__)

#: Read-decide-write rounds before giving up when other writers keep changing the record.
_ROUNDS = 5


class StateStore(ReportItems):
    """Reads and writes the live-stack records of one DynamoDB table (see the module docstring).

    The hook report requests (``claim``, ``record_report`` …) are :class:`~bluegreen.state.items.ReportItems`';
    ``from_env``, ``client`` and the clock are :class:`~bluegreen.state.table.Table`'s.
    """

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
        extra = deployment_extra(plan, codedeploy)
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
            reason = mismatch(held, deployment_id) or "it has not ended"
            raise conflict(application, f"mark deployment {deployment_id} settled", reason, held) from None

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
            reason = mismatch(held, deployment_id) or f"its phase is {held.phase if held else None}, not flipped"
            raise conflict(application, f"note deployment {deployment_id} unsubscribed", reason, held) from None

    def record_verdict(
        self, application: str, deployment_id: str, moment: str, judgement: Mapping[str, Any]
    ) -> LiveRecord:
        """Keep a verdict's judgement with the deployment (``verdict_before_traffic`` / ``verdict_before_retire``).

        One conditional ``UpdateItem``: the deployment is ``deployment_id`` and has not finished. A
        repeated verdict (a re-run after a hand-over) replaces the earlier judgement of that moment.
        Anything else raises :class:`StateConflict`.
        """
        slot = {"before-traffic": "#vbt", "before-retire": "#vbr"}[moment]
        try:
            return self._update(
                application,
                update=f"SET #dep.{slot} = :verdict, #dep.#upd = :now",
                condition="#dep.#id = :d AND attribute_not_exists(#dep.#fin)",
                values={
                    ":verdict": dict(judgement),
                    ":now": self._now(),
                    ":d": _checked("deployment id", deployment_id),
                },
            )
        except _Refused as refused:
            held = refused.record
            reason = mismatch(held, deployment_id) or "it has ended"
            raise conflict(application, f"record the {moment} verdict of {deployment_id}", reason, held) from None

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
        if target not in SETTABLE:
            raise ValueError(f"set_phase sets only preparing/prepared, not {target}: use flip, unflip or finish")
        allowed = set(SETTABLE) if expected is None else {Phase(p) for p in expected}
        if not allowed or not allowed <= SETTABLE:
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
            reason = mismatch(held, deployment_id) or f"its phase is {held.phase if held else None}, not {wanted}"
            raise conflict(application, f"set deployment {deployment_id} to {target}", reason, held) from None

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
                update="SET #live = #dep.#rep, #dep.#phase = :flipped, #dep.#upd = :now, #dep.#flip = :now",
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
            reason = mismatch(held, deployment_id) or why_not_flippable(held)
            raise conflict(application, f"flip deployment {deployment_id}", reason, held) from None

    def unflip(self, application: str, deployment_id: str) -> LiveRecord:
        """Put the old stack back live after a failed retire: ``live = replacement.partner``, phase ``rolled-back``.

        Reads the record, then one conditional ``UpdateItem`` (the deployment is ``deployment_id``,
        phase ``flipped``, live its replacement). Already ``rolled-back``: returned unchanged.
        Anything else (never flipped, already retired, another deployment) raises :class:`StateConflict`.
        """
        _checked("deployment id", deployment_id)
        record = self.get(application)
        for _ in range(_ROUNDS):
            reason = mismatch(record, deployment_id)
            if record is None or reason:
                raise conflict(application, f"unflip deployment {deployment_id}", reason, record)
            if record.phase is Phase.ROLLED_BACK:
                return record
            if record.phase is not Phase.FLIPPED or record.replacement is None:
                reason = f"it is {record.phase}, not flipped"
                raise conflict(application, f"unflip deployment {deployment_id}", reason, record)
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

    def finish(
        self, application: str, deployment_id: str, phase: Phase | str, *, reason: str | None = None
    ) -> LiveRecord:
        """End the deployment in ``phase`` (retired, prepare-failed or rolled-back) and append it to the history.

        Reads the record, then one conditional ``UpdateItem``: the phase, ``finished_at``, ``failure``
        (``reason``: why it failed, :func:`failure_text`) and the history with the new entry (the newest
        :data:`HISTORY_LIMIT` kept); ``live`` is not touched. Finishing again in the same phase returns
        the record unchanged; a phase it cannot end in from where it stands (:data:`FINISH_FROM`) raises
        :class:`StateConflict`.
        """
        final = Phase(phase)
        if final not in FINISH_FROM:
            raise ValueError(f"finish takes retired, prepare-failed or rolled-back, not {final}")
        _checked("deployment id", deployment_id)
        record = self.get(application)
        what = f"finish deployment {deployment_id} as {final}"
        why = failure_text(reason) if reason else None
        for _ in range(_ROUNDS):
            refusal = mismatch(record, deployment_id)
            if record is None or refusal:
                raise conflict(application, what, refusal, record)
            if record.finished_at is not None and record.phase is final:
                return record
            refusal = why_not_finishable(record, final)
            if refusal:
                raise conflict(application, what, refusal, record)
            now = self._now()
            history = [*record.history, history_entry(record, final.value, now, why)][-HISTORY_LIMIT:]
            try:
                return self._update(
                    application,
                    update="SET #dep.#phase = :final, #dep.#upd = :now, #dep.#fin = :now, #hist = :hist"
                    + (", #dep.#why = :why" if why else ""),
                    condition="#dep.#id = :d AND #dep.#phase = :current AND attribute_not_exists(#dep.#fin)",
                    values={
                        ":final": final.value,
                        ":now": now,
                        ":hist": history,
                        ":d": deployment_id,
                        ":current": str(record.phase),
                    }
                    | ({":why": why} if why else {}),
                )
            except _Refused as refused:
                record = refused.record
        raise self._busy(application, "finish", deployment_id, record)

    # -- internals ---------------------------------------------------------------------------------

    def _new_item(
        self, application: str, live: StackReference, deployment_id: str | None, extra: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        now = self._now()
        item: dict[str, Any] = {"application": _checked_application(application), "live": live.value}
        item |= {"history": [], "created_at": now}
        if deployment_id is not None:
            item["deployment"] = new_deployment(deployment_id, live.partner, now, extra)
        return item

    def _replace_deployment(self, record: LiveRecord, deployment_id: str, extra: Mapping[str, str]) -> LiveRecord:
        reason = why_not_replaceable(record, deployment_id)
        if reason:
            raise conflict(record.application, f"begin deployment {deployment_id}", reason, record)
        values: dict[str, Any] = {
            ":dep": new_deployment(deployment_id, record.live.partner, self._now(), extra),
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

    def _busy(self, application: str, what: str, deployment_id: str, record: LiveRecord | None) -> StateConflict:
        reason = f"the record changed under it {_ROUNDS} times in a row (other writers)"
        return conflict(application, f"{what} deployment {deployment_id}", reason, record)
