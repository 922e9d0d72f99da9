"""AWS errors injected below the code under test, per HTTP attempt, so that botocore's own retry logic sees them.

:class:`Injector` hooks the botocore session that every bluegreen client is made from (register it
before any client is made: clients copy the session's handlers when they are created):

- ``before-call`` numbers every API call (1, 2, 3 … in the order they are made) and remembers, per
  thread, which call the next HTTP attempts belong to;
- ``before-send`` (registered *first*, ahead of moto's own ``before-send`` stub) may answer an attempt
  with an error response instead of sending it: the request's URL is then pointed away from AWS, so
  moto never executes it. The response is a real error body in the service's protocol (JSON,
  rest-JSON, query XML), which botocore parses and feeds to its standard retry mode as
  it would a response from AWS.

Faults are a single call (``fail_call``: every attempt of call *k* answers with the chosen error,
so a retryable one outlasts the retries) or random throttling (``throttle_rate``: each attempt
independently, with a seeded generator). Every attempt is counted, so tests can prove how many
attempts botocore made.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

INJECTED_URL = "https://fault-injected.invalid/"


@dataclass(frozen=True)
class ErrorSpec:
    """An AWS error: HTTP status, the error code for JSON services and for query (XML) services."""

    name: str
    status: int
    json_code: str
    query_code: str

    def code(self, protocol: str) -> str:
        return self.query_code if protocol in ("query", "ec2", "rest-xml") else self.json_code


ACCESS_DENIED = ErrorSpec("AccessDenied", 403, "AccessDeniedException", "AccessDenied")
INTERNAL_ERROR = ErrorSpec("InternalError (500, every attempt)", 500, "InternalServerError", "InternalFailure")
THROTTLING = ErrorSpec("ThrottlingException", 400, "ThrottlingException", "Throttling")
TOO_MANY_REQUESTS = ErrorSpec("TooManyRequests", 429, "TooManyRequestsException", "TooManyRequestsException")


class _Raw:
    """The raw body of an injected response (what ``AWSResponse.content`` reads)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def error_response(spec: ErrorSpec, protocol: str, operation: str) -> AWSResponse:
    """The HTTP response AWS would send for ``spec`` in ``protocol``."""
    code, message = spec.code(protocol), f"injected {spec.name} at {operation}"
    headers = {"x-amzn-RequestId": "injected"}
    if protocol in ("query", "ec2", "rest-xml"):
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>injected</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    elif protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers.update({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code})
    else:  # botocore resolves CloudWatch and CodeDeploy to JSON, not RPC v2 CBOR, when both are offered
        raise NotImplementedError(f"no injected error body for the {protocol} protocol ({operation})")
    return AWSResponse(INJECTED_URL, spec.status, headers, _Raw(body))


@dataclass
class Injector:
    """Numbers every API call, counts every HTTP attempt, and answers the chosen attempts with errors."""

    fail_call: int | None = None
    error: ErrorSpec = ACCESS_DENIED
    throttle_rate: float = 0.0
    seed: int = 0
    calls: list[str] = field(default_factory=list)
    attempts: Counter[int] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    throttled_calls: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._random = random.Random(self.seed)

    def register(self, session: boto3.Session) -> None:
        session.events.register("before-call.*.*", self._before_call)
        session.events.register_first("before-send", self._before_send)

    def stop(self) -> None:
        """Inject nothing more (calls are still numbered and attempts counted)."""
        self.fail_call = None
        self.throttle_rate = 0.0

    def operation(self, call: int) -> str:
        return self.calls[call - 1]

    def _before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls.append(model.name)
            number = len(self.calls)
        self._local.call = (number, model.name, model.service_model.resolved_protocol)

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        number, operation, protocol = getattr(self._local, "call", (0, "?", "json"))
        with self._lock:
            self.attempts[number] += 1
            spec: ErrorSpec | None = None
            if number == self.fail_call:
                spec = self.error
            elif self.throttle_rate and self._random.random() < self.throttle_rate:
                spec = THROTTLING if self._random.random() < 0.5 else TOO_MANY_REQUESTS
                self.throttled_calls.add(number)
            if spec is None:
                return None
            self.injected[spec.name] += 1
        request.url = INJECTED_URL  # moto's stub, called after this handler, leaves the request alone
        return error_response(spec, protocol, operation)
