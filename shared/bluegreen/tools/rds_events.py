"""RDS event notifications, as an SNS subscription delivers them to a Lambda: parsed, and told apart.

RDS publishes each event as a JSON object in the SNS message (``Source ID``, ``Event ID``, ``Event
Source``, ``Event Message``). :class:`RdsEvent` reads the fields the Aurora tools act on; anything else
(a subscription confirmation, a message that is no RDS event) parses to None.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from bluegreen.datatypes import datatype

logger = logging.getLogger(__name__)

#: "DB instance created" (RDS event category *creation*, source type db-instance).
INSTANCE_CREATED_EVENT = "RDS-EVENT-0005"
INSTANCE_CREATED_MESSAGE = "DB instance created"
#: The message RDS sends when Performance Insights is turned off; AWS's event table gives it no id.
PI_DISABLED_MESSAGE = "Performance Insights has been disabled"

_EVENT_ID = re.compile(r"RDS-EVENT-\d+")


@datatype
class RdsEvent:
    """The fields this module reads from an RDS event notification (the JSON in an SNS message)."""

    source_id: str
    message: str
    event_id: str | None = None
    source_type: str | None = None

    @classmethod
    def from_sns_record(cls, record: Mapping[str, Any]) -> RdsEvent | None:
        """Parse one SNS record as Lambda delivers it; None (and a log line) when it is no RDS event.

        A subscription confirmation, or any message that is not a JSON object with a ``Source ID``,
        gives None rather than an exception.
        """
        sns = record.get("Sns")
        raw = sns.get("Message") if isinstance(sns, Mapping) else None
        try:
            body = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("Source ID"), str):
            logger.info("SNS record ignored: its message is not an RDS event: %.200r", raw)
            return None
        found = _EVENT_ID.search(str(body.get("Event ID", "")))
        return cls(
            source_id=body["Source ID"],
            message=str(body.get("Event Message", "")),
            event_id=found.group(0) if found else None,
            source_type=body.get("Event Source") if isinstance(body.get("Event Source"), str) else None,
        )

    @property
    def is_instance_event(self) -> bool:
        """True unless the event names a source type other than ``db-instance``."""
        return self.source_type in (None, "db-instance")

    @property
    def is_instance_created(self) -> bool:
        """A "DB instance created" event: ``RDS-EVENT-0005``, or that message text."""
        return self.is_instance_event and (
            self.event_id == INSTANCE_CREATED_EVENT or _same_text(self.message, INSTANCE_CREATED_MESSAGE)
        )

    @property
    def is_performance_insights_disabled(self) -> bool:
        """A "Performance Insights has been disabled" event (matched by its message text)."""
        return self.is_instance_event and _same_text(self.message, PI_DISABLED_MESSAGE)


def _same_text(a: str, b: str) -> bool:
    return a.strip().rstrip(".").casefold() == b.casefold()
