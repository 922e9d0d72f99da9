"""The edge of the RDS-event functions: the one SNS record of an invocation, typed, and what became of it.

SNS invokes a subscribed Lambda with one record per invocation. :func:`delivery` reads the event
(``Records[0].Sns``, as Lambda's SNS event documents it) and refuses, with ``ValueError``, an event
that is no SNS event or that carries no record or more than one: such an event was not sent by the
topic's subscription (it is wired wrongly), and raising sends it, after Lambda's retries, to the
on-failure destination. The one record is then handled by :func:`run_record`, which turns an
exception into a failed :class:`RecordResult` (logged); :meth:`RecordResult.raise_for_failure`
raises :class:`RdsRecordError` for it, once the result is counted in the metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from bluegreen.datatypes import datatype
from bluegreen.tools.rds_events import RdsEvent

logger = logging.getLogger(__name__)

#: Time kept free at the end of an invocation (logging, metrics, the hand-over): never slept into.
TIME_MARGIN_SECONDS = 30.0

NOT_AN_RDS_EVENT = "not an RDS event notification (a subscription confirmation, or a message that is no RDS JSON)"


class Outcome(StrEnum):
    """What became of the record."""

    DONE = "done"  # acted on (or what it asked for was already so)
    SKIPPED = "skipped"  # not for this function: logged and left alone
    PENDING = "pending"  # still waiting for AWS: handed over to another invocation
    FAILED = "failed"  # an error: the handler raises once the result is counted


@datatype
class Delivery:
    """The one record of an SNS event (None when it is no JSON object), and the RDS event it carries.

    ``event`` is the RDS event notification the record carries, or None when it carries none (a
    subscription confirmation, a message that is no RDS JSON). ``kind`` names the type of a record
    that is no JSON object.
    """

    record: Mapping[str, Any] | None
    event: RdsEvent | None
    kind: str = ""

    @property
    def message_id(self) -> str | None:
        """The SNS message id, for logs (None when absent)."""
        sns = self.record.get("Sns") if self.record is not None else None
        found = sns.get("MessageId") if isinstance(sns, Mapping) else None
        return found if isinstance(found, str) else None

    @property
    def source_id(self) -> str | None:
        """The RDS source id the event names, for logs (None without an RDS event)."""
        return self.event.source_id if self.event is not None else None


def delivery(event: object) -> Delivery:
    """The one record of a Lambda SNS event; ``ValueError`` for an event that is none, or has not one record."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(event, Mapping) or not isinstance(records, list):
        raise ValueError(
            "not an SNS event: expected a JSON object with a 'Records' list (subscribe this function to the "
            "RDS events topic)"
        )
    if len(records) != 1:
        raise ValueError(
            f"not an SNS event of one record: it has {len(records)} records, and SNS delivers one per invocation "
            "(this event was not sent by the RDS events topic's subscription): nothing was processed"
        )
    record = records[0]
    if not isinstance(record, Mapping):
        return Delivery(None, None, type(record).__name__)
    return Delivery(record, RdsEvent.from_sns_record(record))


@datatype
class RecordResult:
    """What ``function`` did with the record, and why."""

    function: str
    message_id: str | None
    source_id: str | None
    outcome: Outcome
    detail: str

    def describe(self) -> str:
        """One line for logs and errors: which record, what happened, why."""
        about = f"SNS message {self.message_id or '?'}"
        if self.source_id:
            about += f", source {self.source_id}"
        return f"{about}: {self.outcome.value}: {self.detail}"

    def summary(self) -> dict[str, Any]:
        """A JSON-ready account (the handler's return value)."""
        return {
            "function": self.function,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "message_id": self.message_id,
            "source_id": self.source_id,
        }

    def raise_for_failure(self) -> None:
        """Raise :class:`RdsRecordError` when the record failed."""
        if self.outcome is Outcome.FAILED:
            raise RdsRecordError(self)


class RdsRecordError(RuntimeError):
    """The record failed; the message names it and says why."""

    def __init__(self, result: RecordResult) -> None:
        """Keep the result and name the record in the message."""
        self.result = result
        super().__init__(
            f"{result.function}: the record failed (Lambda retries the event, then sends it to the on-failure "
            f"destination): {result.describe()}"
        )


#: A function's logic for one record: its raw SNS record and RDS event (None when it carries none).
RecordHandler = Callable[[Mapping[str, Any], RdsEvent | None], tuple[Outcome, str]]


def log_result(result: RecordResult) -> None:
    """One log line for the record: an error at ERROR, the rest at INFO."""
    (logger.error if result.outcome is Outcome.FAILED else logger.info)("%s: %s", result.function, result.describe())


def run_record(function: str, found: Delivery, handle: RecordHandler) -> RecordResult:
    """Run ``handle`` on the record (no record: skipped); an exception becomes a failed result; logged."""
    if found.record is None:
        outcome, detail = Outcome.SKIPPED, f"not an SNS record ({found.kind})"
    else:
        try:
            outcome, detail = handle(found.record, found.event)
        except Exception as exc:
            logger.exception("%s: the record (SNS message %s) failed", function, found.message_id)
            outcome, detail = Outcome.FAILED, f"{type(exc).__name__}: {exc}"
    result = RecordResult(function, found.message_id, found.source_id, outcome, detail)
    log_result(result)
    return result
