"""Inject AWS errors below the code under test: a botocore ``before-call`` hook on the session every client comes from.

Register it before any client is made (clients copy the session's hooks when they are created).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


@dataclass
class Faults:
    """Counts every AWS call (``calls``) and fails the armed one with the armed error."""

    calls: list[str] = field(default_factory=list)
    operation: str | None = None
    nth: int = 1
    code: str = "AccessDenied"
    status: int = 403
    fired: int = 0
    _seen: int = 0

    def register(self, session: boto3.Session) -> None:
        session.events.register("before-call.*.*", self._hook)

    def arm(self, operation: str, *, nth: int = 1, code: str = "AccessDenied", status: int = 403) -> None:
        self.operation, self.nth, self.code, self.status, self._seen = operation, nth, code, status, 0

    def disarm(self) -> None:
        self.operation = None

    def _hook(self, model: Any, **_: Any) -> Any:
        self.calls.append(model.name)
        if model.name != self.operation:
            return None
        self._seen += 1
        if self._seen != self.nth:
            return None
        self.fired += 1
        response = AWSResponse("https://injected.invalid", self.status, {}, None)
        return response, {"Error": {"Code": self.code, "Message": f"injected fault at {model.name}"}}
