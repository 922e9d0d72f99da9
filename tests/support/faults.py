"""Inject AWS errors below the code under test: a botocore ``before-call`` hook on the session every client comes from.

Register it before any client is made (clients copy the session's hooks when they are created).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


@dataclass
class Rule:
    """Fail the ``nth`` call of ``operation`` whose request body satisfies ``when`` (every call when None)."""

    operation: str
    nth: int = 1
    code: str = "AccessDenied"
    status: int = 403
    when: Callable[[bytes], bool] | None = None
    seen: int = 0
    fired: int = 0


@dataclass
class Faults:
    """Counts every AWS call (``calls``) and fails the calls that armed rules pick."""

    calls: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)

    def register(self, session: boto3.Session) -> None:
        session.events.register("before-call.*.*", self._hook)

    def arm(
        self,
        operation: str,
        *,
        nth: int = 1,
        code: str = "AccessDenied",
        status: int = 403,
        when: Callable[[bytes], bool] | None = None,
    ) -> Rule:
        rule = Rule(operation, nth, code, status, when)
        self.rules.append(rule)
        return rule

    def disarm(self) -> None:
        self.rules.clear()

    @property
    def fired(self) -> int:
        return sum(rule.fired for rule in self.rules)

    def _hook(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        self.calls.append(model.name)
        body = params.get("body") or b""
        body = body if isinstance(body, bytes) else str(body).encode()
        for rule in self.rules:
            if rule.operation != model.name or (rule.when is not None and not rule.when(body)):
                continue
            rule.seen += 1
            if rule.seen != rule.nth:
                continue
            rule.fired += 1
            response = AWSResponse("https://injected.invalid", rule.status, {}, None)
            return response, {"Error": {"Code": rule.code, "Message": f"injected fault at {model.name}"}}
        return None
