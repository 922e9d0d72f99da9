"""Lambda as the emulator answers it: event source mappings (Kinesis consumers, any function name), async invokes.

What moto (5.x) lacks or gets wrong, patched into ``LambdaBackend`` / ``LambdaResponse``:

- **CreateEventSourceMapping on a Kinesis stream consumer ARN** (enhanced fan-out) — moto takes a
  stream ARN only; AWS takes a consumer ARN too. And a second mapping of the same function (name, ARN
  or partial ARN alike; an alias or version counts apart) and the same event source is refused with
  ``ResourceConflictException`` (409), as AWS does; moto makes the duplicate
  (:func:`kinesis_consumer_patches`).
- **ListEventSourceMappings by FunctionName** — moto matches the exact string a mapping was created
  with; AWS resolves a name, a full or a partial ARN to the function, so a mapping created by name is
  listed by ARN and the other way round. The resolved functions are compared
  (:func:`event_source_mapping_patches`).
- **Invoke** — moto runs functions in Docker (absent here) and does not queue asynchronous
  invocations. Those (``Event``) are handed to a queue instead (:func:`async_invoke_patches`,
  :class:`Invocation`), for the emulator's caller to run, and answered 202 as AWS does; synchronous
  ones (``RequestResponse``) are answered with the outcome set for the function
  (:class:`~bluegreen.local.answers.FunctionAnswers`: a verdict's smoke test). An unknown function is
  still a 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.kinesis.models import kinesis_backends

from bluegreen.datatypes import datatype
from bluegreen.local.answers import FunctionAnswers
from bluegreen.local.patching import Patch

__all__ = ["Invocation", "async_invoke_patches", "event_source_mapping_patches", "kinesis_consumer_patches"]


@datatype
class Invocation:
    """A queued asynchronous Lambda invocation: the function as the caller named it, its ARN, the payload."""

    function: str
    function_arn: str
    payload: bytes

    @property
    def event(self) -> Any:
        """The payload as JSON (the event a handler receives); None for an empty payload."""
        return json.loads(self.payload) if self.payload else None


def kinesis_consumer_patches() -> list[Patch]:
    """Lambda CreateEventSourceMapping accepts a registered Kinesis stream consumer ARN, and refuses a duplicate.

    A mapping of a function and an event source that already has one (whatever the source: queue,
    stream, consumer) is refused as AWS refuses it (:func:`_refuse_duplicate_mapping`). A function
    given by partial ARN (``<account>:function:<name>``), which moto cannot resolve, is given to moto
    as the full ARN.
    """
    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        _refuse_duplicate_mapping(backend, spec)
        function = str(spec.get("FunctionName") or "")
        if not function.startswith("arn:") and ":function:" in function:
            spec["FunctionName"] = f"arn:{backend.partition}:lambda:{backend.region_name}:{function}"
        source = spec.get("EventSourceArn") or ""
        if ":kinesis:" in source and "/consumer/" in source:
            streams = kinesis_backends[backend.account_id][backend.region_name].streams.values()
            if any(c.consumer_arn == source for s in streams for c in s.consumers):
                func = backend._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
                spec.update({"RegionName": backend.region_name, "AccountId": backend.account_id})
                spec["FunctionArn"] = func.function_arn
                mapping = EventSourceMapping(spec)  # type: ignore[abstract]  # as moto itself makes them
                backend._event_source_mappings[mapping.uuid] = mapping
                return mapping
        return original(backend, spec)

    return [Patch(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)]


def event_source_mapping_patches() -> list[Patch]:
    """Lambda ListEventSourceMappings finds a function's mappings by name, ARN or partial ARN, however made.

    ``FunctionName`` and each mapping's function as it was created are resolved alike
    (:func:`_mapping_function`) and compared; an alias or a version is a function of its own, as in AWS
    (listing by the unqualified function does not return its alias's mappings). ``EventSourceArn``
    still filters by exact match.
    """

    def list_event_source_mappings(
        backend: LambdaBackend, event_source_arn: str | None, function_name: str | None
    ) -> list[EventSourceMapping]:
        mappings = list(backend._event_source_mappings.values())
        if event_source_arn:
            mappings = [m for m in mappings if m.event_source_arn == event_source_arn]
        if function_name:
            wanted = _mapping_function(backend, function_name)
            mappings = [m for m in mappings if _mapping_function(backend, m.function_name) == wanted]
        return mappings

    return [Patch(LambdaBackend, "list_event_source_mappings", list_event_source_mappings)]


def _mapping_function(backend: LambdaBackend, function: str) -> tuple[str, str, str, str | None]:
    """``(account, region, name, qualifier)`` of a ``FunctionName`` as Lambda reads it.

    A name (``fn``, ``fn:alias``), a partial ARN (``123456789012:function:fn[:alias]``) or a full ARN
    (``arn:aws:lambda:<region>:<account>:function:fn[:alias]``); what a name leaves out is the backend's.
    """
    parts = function.split(":")
    if parts[0] == "arn" and len(parts) >= 7:
        account, region, rest = parts[4], parts[3], parts[6:]
    elif len(parts) >= 3 and parts[1] == "function":
        account, region, rest = parts[0], backend.region_name, parts[2:]
    else:
        account, region, rest = backend.account_id, backend.region_name, parts
    return account, region, rest[0], rest[1] if len(rest) > 1 else None


def _refuse_duplicate_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> None:
    """``ResourceConflictException`` (409) when the function already has a mapping on ``EventSourceArn``.

    The messages are those AWS answers: ``An event source mapping with SQS arn (" <queue> ") and
    function (" <function> ") already exists. Please update or delete the existing mapping with UUID
    <uuid>`` for a queue; ``The event source arn (" <stream> ") and function (" <function> ") provided
    mapping already exists. Please update …`` for a stream or consumer. ``<function>`` is
    ``FunctionName`` as the request gave it.
    """
    source, function = spec.get("EventSourceArn") or "", spec.get("FunctionName") or ""
    if not source or not function:
        return  # moto's own create refuses what is missing
    wanted = _mapping_function(backend, function)
    for mapping in backend._event_source_mappings.values():
        if mapping.event_source_arn == source and _mapping_function(backend, mapping.function_name) == wanted:
            prefix = (
                f'An event source mapping with SQS arn (" {source} ") and function (" {function} ") already exists.'
                if ":sqs:" in source
                else f'The event source arn (" {source} ") and function (" {function} ") provided mapping '
                "already exists."
            )
            conflict = LambdaClientError(
                "ResourceConflictException",
                f"{prefix} Please update or delete the existing mapping with UUID {mapping.uuid}",
            )
            conflict.code = 409
            raise conflict


def async_invoke_patches(queue: Callable[[Invocation], None], answers: FunctionAnswers | None = None) -> list[Patch]:
    """Lambda Invoke: ``Event`` handed to ``queue`` (202); ``RequestResponse`` answered by ``answers``.

    Without ``answers``, and for ``DryRun``, moto's own invoke answers (which runs code only in Docker).
    """
    original = LambdaResponse.invoke

    def invoke(response: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
        kind = response.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if kind not in ("Event", "RequestResponse") or (kind == "RequestResponse" and answers is None):
            result: tuple[int, dict[str, str], str | bytes] = original(response)
            return result
        function = unquote(response.path.rsplit("/", 2)[-2])
        fn = response.backend.get_function(function, response._get_param("qualifier"))  # 404 when unknown
        body = response.body or b""
        payload = body.encode() if isinstance(body, str) else bytes(body)
        if answers is not None and kind == "RequestResponse":
            return answers.answer(fn.function_name, payload)
        queue(Invocation(function, fn.function_arn, payload))
        return 202, {"status": "202", "content-type": "application/json"}, b""

    return [Patch(LambdaResponse, "invoke", invoke)]
