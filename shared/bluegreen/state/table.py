"""The live-stack table's plumbing, shared by every kind of item: the client, the keys, the refused conditions.

What AWS holds: one DynamoDB table (named by ``BLUEGREEN_STATE_TABLE``; the template creates it) with
the partition key ``application`` (S) and nothing else. Its items are the record of each application
(key ``X``, :mod:`bluegreen.state.record`), the lease (``X#lease``) and the hook reports
(``X#report#<execution id>``, :mod:`bluegreen.state.items`); ``#`` separates them, so an application
name may not contain it.

Every conditional request asks ``ReturnValuesOnConditionCheckFailure=ALL_OLD``: a refused condition
(``ConditionalCheckFailedException``) becomes :class:`_Refused` holding the item as it was, which
explains the refusal without a second read. A missing table (``ResourceNotFoundException``) is a
``LookupError`` naming the table and region, not a raw ``ClientError``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self, cast

import boto3
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from bluegreen.aws import error_code, make_client
from bluegreen.state.record import LiveRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: The environment variable naming the live-stack table.
TABLE_ENV = "BLUEGREEN_STATE_TABLE"

_SERIALIZER = TypeSerializer()


class _Refused(Exception):
    """A ``ConditionalCheckFailedException``; ``item`` is the item as it was (ALL_OLD), None when there was none."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item

    @property
    def record(self) -> LiveRecord | None:
        """The record as it was, typed (for a refused write of the record, not of a report)."""
        return LiveRecord.from_item(self.item) if self.item else None


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


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values in the low-level client's JSON (``{"S": "a"}`` …), for items and expressions."""
    return {key: _SERIALIZER.serialize(value) for key, value in values.items()}


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
    "#why": "failure",
    "#flip": "flipped_at",
    "#vbt": "verdict_before_traffic",
    "#vbr": "verdict_before_retire",
}


def _names(*expressions: str) -> dict[str, str]:
    """The ExpressionAttributeNames the expressions use (DynamoDB rejects unused ones)."""
    return {token: _NAMES[token] for token in sorted(set(re.findall(r"#\w+", " ".join(expressions))))}


class Table:
    """One live-stack table: its name, the client (made on first use), the clock; no items of its own.

    :class:`bluegreen.state.items.ReportItems` and :class:`bluegreen.state.store.StateStore` build on it.
    """

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
    def from_env(cls, environ: Mapping[str, str] | None = None, *, session: boto3.Session | None = None) -> Self:
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

    def _now(self) -> str:
        return _iso(self._clock())

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
