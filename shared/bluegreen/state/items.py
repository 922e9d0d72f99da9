"""The live-stack table's items besides the record: hook reports, and the lease's place among them.

* **Hook reports**, key ``X#report#<execution id>`` (:func:`report_key`): ``status``, ``deployment_id``,
  ``at``, ``started_at`` (the first start of the hook execution, epoch seconds) and ``expires_at``
  (epoch seconds, :data:`REPORT_TTL` on; the template enables TTL on it), so the record never grows
  with them.
* **The lease**, key ``X#lease`` (:mod:`bluegreen.hooks.lease`, which writes it with
  :attr:`~bluegreen.state.table.Table.client`): one runner at a time per application.

Decision made here, where nothing else fixed it: a report's first status wins. ``record_report``
returns the status already recorded, which the caller re-sends; it never records a second, different one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from boto3.dynamodb.types import TypeDeserializer

from bluegreen.state.table import Table, _checked, _checked_application, _iso, _Refused, _values

logger = logging.getLogger(__name__)

_DESERIALIZER = TypeDeserializer()

#: How long a hook report is kept (DynamoDB TTL on ``expires_at`` deletes it afterwards).
REPORT_TTL = timedelta(days=30)


def report_key(application: str, execution_id: str) -> str:
    """The key of a hook report item: ``<application>#report#<execution id>``."""
    return f"{_checked_application(application)}#report#{_checked('execution id', execution_id)}"


class ReportItems(Table):
    """The hook report items of one live-stack table (see the module docstring)."""

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
