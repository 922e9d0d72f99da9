"""Build SNS records carrying RDS event notifications, as Lambda delivers them."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ACCOUNT_ID, REGION

#: How RDS names an event in the "Event ID" field of its SNS notifications.
EVENT_ID_URL = "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#{}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:rds-events"


def rds_event(
    source_id: str,
    message: str = "DB instance created",
    event_id: str | None = "RDS-EVENT-0005",
    *,
    source_type: str = "db-instance",
    source_arn: str | None = None,
) -> dict[str, str]:
    """The JSON object RDS publishes for one event (``event_id`` None: no "Event ID" key)."""
    event = {
        "Event Source": source_type,
        "Event Time": "2026-11-27 08:40:19.857",
        "Identifier Link": f"https://console.aws.amazon.com/rds/home?region={REGION}#dbinstance:id={source_id}",
        "Source ID": source_id,
        "Source ARN": source_arn or f"arn:aws:rds:{REGION}:{ACCOUNT_ID}:db:{source_id}",
        "Event Message": message,
    }
    if event_id is not None:
        event["Event ID"] = EVENT_ID_URL.format(event_id)
    return event


def sns_record(message: dict[str, Any] | str) -> dict[str, Any]:
    """One record of a Lambda SNS event whose message is ``message`` (a dict is sent as JSON)."""
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:0b4f7c2e-5a1d-4e8b-9c3f-2d6e8a1b7c90",
        "Sns": {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": TOPIC_ARN,
            "Subject": "RDS Notification Message",
            "Message": body,
            "Timestamp": "2026-11-27T08:40:20.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "EXAMPLE",
            "UnsubscribeUrl": "EXAMPLE",
            "MessageAttributes": {},
        },
    }


def instance_created(source_id: str, **kwargs: Any) -> dict[str, Any]:
    """An SNS record of "DB instance created" (RDS-EVENT-0005) for ``source_id``."""
    return sns_record(rds_event(source_id, **kwargs))


def performance_insights_disabled(source_id: str) -> dict[str, Any]:
    """An SNS record of "Performance Insights has been disabled" (AWS documents no event id for it)."""
    return sns_record(rds_event(source_id, "Performance Insights has been disabled", event_id=None))
