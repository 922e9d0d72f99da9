"""Example web tier: uses the resources of the stack this release was wired to."""

from __future__ import annotations

import os
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Answer with the stack (a or b) and the queue this version writes to."""
    return {
        "statusCode": 200,
        "body": f"stack {os.environ['BLUEGREEN_STACK']} -> queue {os.environ['ORDERS_QUEUE_NAME']}",
    }
