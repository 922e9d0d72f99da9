"""What a Lambda function answers a synchronous invocation in the emulator, as a test or the demo tells it.

moto runs function code only in Docker, which the emulator does not need (nor have). A synchronous
``Invoke`` (``RequestResponse``) is answered here instead, by function name, with the outcome set by
:meth:`FunctionAnswers.set` — and as AWS would answer it:

- ``ok``: status 200 and the payload given (JSON ``null`` by default: a function that returned nothing);
- ``error``: status 200, ``X-Amz-Function-Error: Handled`` and ``{"errorType", "errorMessage"}`` — what
  Lambda answers when the handler raised;
- ``timeout``: status 200, ``X-Amz-Function-Error: Unhandled`` and ``{"errorType": "Sandbox.Timedout",
  "errorMessage": "RequestId: … Error: Task timed out after N seconds"}`` — what Lambda answers when
  the function ran out of its configured timeout;
- ``hang``: the answer (``ok``) only after ``delay_seconds`` — a function slower than the caller waits for.

A function not told anything answers ``ok``. An unknown function is still moto's 404
(``ResourceNotFoundException``). Every synchronous invocation is recorded (:attr:`FunctionAnswers.calls`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from bluegreen.datatypes import datatype

__all__ = ["Answer", "FunctionAnswers"]

OUTCOMES = ("ok", "error", "timeout", "hang")


@datatype
class Answer:
    """How a function answers: ``outcome`` (one of :data:`OUTCOMES`), and its payload, error or delay."""

    outcome: str = "ok"
    payload: Any = None
    error_type: str = "Exception"
    error_message: str = "the function raised"
    timeout_seconds: float = 3.0
    delay_seconds: float = 0.0


class FunctionAnswers:
    """The answers set per function name, and the synchronous invocations received (thread-safe)."""

    def __init__(self) -> None:
        """No answer set: every function answers ``ok``."""
        self._answers: dict[str, Answer] = {}
        self.calls: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def set(self, function: str, outcome: str = "ok", **details: Any) -> None:
        """Make ``function`` (its name) answer with ``outcome``; ``details`` are :class:`Answer`'s other fields."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        with self._lock:
            self._answers[function] = Answer(outcome, **details)

    def clear(self) -> None:
        """Forget every answer set and every invocation recorded."""
        with self._lock:
            self._answers.clear()
            self.calls.clear()

    def answer(self, function: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Record the invocation of ``function`` (a name) and answer it (status, headers, payload)."""
        try:
            event: Any = json.loads(body) if body else None
        except ValueError:
            event = body.decode("utf-8", "replace")
        with self._lock:
            self.calls.append((function, event))
            answer = self._answers.get(function, Answer())
        headers = {"content-type": "application/json", "x-amz-executed-version": "$LATEST"}
        if answer.outcome == "hang":
            time.sleep(answer.delay_seconds)
        if answer.outcome == "error":
            headers["x-amz-function-error"] = "Handled"
            return (
                200,
                headers,
                json.dumps({"errorType": answer.error_type, "errorMessage": answer.error_message}).encode(),
            )
        if answer.outcome == "timeout":
            headers["x-amz-function-error"] = "Unhandled"
            message = f"RequestId: {uuid.uuid4()} Error: Task timed out after {answer.timeout_seconds:.2f} seconds"
            return 200, headers, json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}).encode()
        return 200, headers, json.dumps(answer.payload).encode()
