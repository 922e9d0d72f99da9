"""The windows a flow counts from the times on the live-stack record, and where it keeps what it finds.

- :func:`settle_waits`: the retire's settle windows (SNS filter changes reaching every delivery).
- :func:`verdict_context`: where a verdict keeps its judgement (the record), and when live traffic
  began (the flip), from which its observe window counts.

The runs and the settle make them; the clock (:mod:`bluegreen.hooks.clock`) knows nothing of the
flows, so the deployment-events function, which reads the clock for every event, loads no flow
until an event has something to settle.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bluegreen.flows import SettleWaits
from bluegreen.verdict.steps import VerdictContext

if TYPE_CHECKING:
    from bluegreen.plan import Plan
    from bluegreen.state import LiveRecord, StateStore


def settle_waits(store: StateStore, record: LiveRecord, plan: Plan) -> SettleWaits:
    """The retire's settle windows of the deployment on ``record`` (a flipped one), counted from the record.

    The new stack's subscriptions count as on since the deployment was recorded ``prepared`` (after
    every prepare step, so never earlier than the real moment; a record without that time counts from
    its last write). The old ones count as off since ``unsubscribed_at``, written once by the first
    poll of the drain window and read back from the write.
    """
    application, deployment_id = record.application, record.deployment_id or ""
    noted: list[datetime] = []

    def subscribed_at() -> datetime | None:
        return _moment(record.prepared_at or record.updated_at)

    def mark_unsubscribed() -> datetime | None:
        if not noted:
            found = _moment(store.mark_unsubscribed(application, deployment_id).unsubscribed_at)
            if found is None:
                return None
            noted.append(found)
        return noted[0]

    return SettleWaits(plan.settle_minutes, subscribed_at, mark_unsubscribed)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def verdict_context(store: StateStore, record: LiveRecord) -> VerdictContext:
    """The verdict of the deployment on ``record``: judgements kept in the record, the window counted from its flip."""
    application, deployment_id = record.application, record.deployment_id or ""

    def keep(moment: str, judgement: dict[str, object]) -> None:
        store.record_verdict(application, deployment_id, moment, judgement)

    return VerdictContext(keep, lambda: _moment(record.flipped_at))
