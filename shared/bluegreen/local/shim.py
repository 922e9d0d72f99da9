"""The few things moto (5.x) lacks or gets wrong that bluegreen needs, patched into moto's classes in this process.

moto's server (``ThreadedMotoServer``) runs in this process, so patching its classes changes what the
emulator answers; ``mock_aws`` tests apply the same patches (``tests/support``). Each patch is data
(:class:`Patch`: a class, an attribute, the replacement) so it can be installed here with
:func:`install` / :func:`uninstall`, or by pytest's ``monkeypatch``. What is patched, and why:

- **CodeDeploy PutLifecycleEventHookExecutionStatus** — not implemented by moto. Added as AWS behaves
  for what the hooks rely on: the first Succeeded/Failed of an execution is kept, any later report is
  refused with ``LifecycleEventAlreadyCompletedException``. Every call is recorded (:class:`HookLedger`).
- **Lambda CreateEventSourceMapping on a Kinesis stream consumer ARN** (enhanced fan-out) — moto takes
  a stream ARN only; AWS takes a consumer ARN too.
- **RDS Performance Insights** — moto ignores ``EnablePerformanceInsights`` in ModifyDBInstance. It is
  kept on the instance and reported back as ``PerformanceInsightsEnabled`` (False until set).
- **Lambda Invoke with InvocationType=Event** — moto runs functions in Docker (absent here) and does
  not queue asynchronous invocations. They are queued instead (:meth:`Shim.take_invocations`), for the
  emulator's caller to run, and answered 202 as AWS does; an unknown function is still a 404.
- **Latency** — every request to the moto server waits ``Shim.latency_ms`` before it is dispatched,
  in its own request thread, so concurrent requests overlap as over a real network (the benchmark).

Not patched, on purpose: moto's **Kinesis DeregisterStreamConsumer** is wrong whenever ``StreamARN``
is in the request. It then keeps only the stream's consumers *named* ``ConsumerName`` — the very one
to deregister survives and every other consumer of the stream is dropped; with ``StreamARN`` beside
``ConsumerARN`` (no name) every consumer is dropped. By ``ConsumerARN`` alone (which AWS accepts)
moto deletes exactly that consumer: bluegreen calls it that way only, and must keep doing so.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import unquote

from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.kinesis.models import kinesis_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # moto[server]: the `local` extra
from moto.rds.models import DBInstance, RDSBackend, rds_backends

__all__ = ["HookLedger", "HookReport", "Invocation", "Patch", "Shim", "install", "installed", "uninstall"]

_MISSING = object()


@dataclass(frozen=True)
class Patch:
    """Set ``owner.name`` to ``value`` (``owner`` is a moto class)."""

    owner: type
    name: str
    value: Any


class HookReport(NamedTuple):
    """One PutLifecycleEventHookExecutionStatus request, as sent (accepted or not)."""

    deployment_id: str
    execution_id: str
    status: str


@dataclass
class HookLedger:
    """Every hook report request (``calls``) and the status each execution ended with (``statuses``)."""

    calls: list[HookReport] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def status(self, execution_id: str) -> str | None:
        """The status the execution ended with, or None when nothing was accepted for it."""
        return self.statuses.get(execution_id)


@dataclass(frozen=True)
class Invocation:
    """A queued asynchronous Lambda invocation: the function as the caller named it, its ARN, the payload."""

    function: str
    function_arn: str
    payload: bytes

    @property
    def event(self) -> Any:
        """The payload as JSON (the event a handler receives); None for an empty payload."""
        return json.loads(self.payload) if self.payload else None


class Shim:
    """The patches and what they record. Make one, or use the process-wide one of :func:`install`."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        """Nothing is patched until :func:`install` (or a test) applies :meth:`patches`."""
        self.latency_ms = latency_ms
        self.hooks = HookLedger()
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def take_invocations(self) -> list[Invocation]:
        """The asynchronous invocations queued since the last call, oldest first (the queue is emptied)."""
        with self._lock:
            taken, self._invocations = self._invocations, []
        return taken

    def clear(self) -> None:
        """Forget the hook reports and the queued invocations (moto's own state is reset apart)."""
        with self._lock:
            self.hooks.calls.clear()
            self.hooks.statuses.clear()
            self._invocations.clear()

    @staticmethod
    def performance_insights(instance_id: str, *, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> bool:
        """Whether Performance Insights is on for the DB instance; ``KeyError`` when there is no such instance."""
        instance: Any = rds_backends[account_id][region].databases[instance_id]
        return bool(instance.performance_insights_enabled)

    def patches(self) -> list[Patch]:
        """Every patch of this module."""
        return [
            *self.codedeploy_patches(),
            *self.kinesis_consumer_patches(),
            *self.performance_insights_patches(),
            *self.async_invoke_patches(),
            *self.latency_patches(),
        ]

    def codedeploy_patches(self) -> list[Patch]:
        """CodeDeploy PutLifecycleEventHookExecutionStatus: the first status wins, all calls recorded."""

        def put_lifecycle_event_hook_execution_status(response: CodeDeployResponse) -> ActionResult:
            report = HookReport(
                response._get_param("deploymentId"),
                response._get_param("lifecycleEventHookExecutionId"),
                response._get_param("status"),
            )
            with self._lock:
                self.hooks.calls.append(report)
                if report.status not in ("Succeeded", "Failed"):
                    raise CodeDeployException(
                        "InvalidLifecycleEventHookExecutionStatusException", f"bad status {report.status}"
                    )
                if report.execution_id in self.hooks.statuses:
                    raise CodeDeployException(
                        "LifecycleEventAlreadyCompletedException",
                        f"The lifecycle event hook execution {report.execution_id} has already completed.",
                    )
                self.hooks.statuses[report.execution_id] = report.status
            return ActionResult({"lifecycleEventHookExecutionId": report.execution_id})

        return [
            Patch(
                CodeDeployResponse,
                "put_lifecycle_event_hook_execution_status",
                put_lifecycle_event_hook_execution_status,
            )
        ]

    @staticmethod
    def kinesis_consumer_patches() -> list[Patch]:
        """Lambda CreateEventSourceMapping accepts a registered Kinesis stream consumer ARN."""
        original = LambdaBackend.create_event_source_mapping

        def create_event_source_mapping(backend: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
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

    @staticmethod
    def performance_insights_patches() -> list[Patch]:
        """ModifyDBInstance keeps EnablePerformanceInsights; DescribeDBInstances reports PerformanceInsightsEnabled."""
        original = RDSBackend.modify_db_instance

        def modify_db_instance(backend: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
            flag = db_kwargs.pop("EnablePerformanceInsights", None)
            database: Any = original(backend, db_instance_identifier, db_kwargs)
            if flag is not None:
                database.performance_insights_enabled = flag is True or str(flag).lower() == "true"
            return database

        return [
            Patch(RDSBackend, "modify_db_instance", modify_db_instance),
            # The serializer reads the snake_case attribute: a class default makes every instance report False.
            Patch(DBInstance, "performance_insights_enabled", False),
        ]

    def async_invoke_patches(self) -> list[Patch]:
        """Lambda Invoke with InvocationType=Event: queued, answered 202; other invocation types are moto's."""
        original = LambdaResponse.invoke

        def invoke(response: LambdaResponse) -> tuple[int, dict[str, str], str | bytes]:
            if response.headers.get("X-Amz-Invocation-Type") != "Event":
                result: tuple[int, dict[str, str], str | bytes] = original(response)
                return result
            function = unquote(response.path.rsplit("/", 2)[-2])
            fn = response.backend.get_function(function, response._get_param("qualifier"))  # 404 when unknown
            body = response.body or b""
            payload = body.encode() if isinstance(body, str) else bytes(body)
            with self._lock:
                self._invocations.append(Invocation(function, fn.function_arn, payload))
            return 202, {"status": "202", "content-type": "application/json"}, b""

        return [Patch(LambdaResponse, "invoke", invoke)]

    def latency_patches(self) -> list[Patch]:
        """Every request to the moto server waits ``latency_ms`` in its own thread, then is dispatched."""
        original: Callable[..., Any] = DomainDispatcherApplication.__call__

        def __call__(app: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
            delay = self.latency_ms / 1000
            if delay > 0 and not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
                time.sleep(delay)
            return original(app, environ, start_response)

        return [Patch(DomainDispatcherApplication, "__call__", __call__)]


_install_lock = threading.Lock()
_installed: Shim | None = None
_originals: list[tuple[type, str, Any]] = []


def install() -> Shim:
    """Patch moto's classes in this process; idempotent (a second call returns the installed shim)."""
    global _installed  # noqa: PLW0603 - one set of patches per process
    with _install_lock:
        if _installed is None:
            shim = Shim()
            for patch in shim.patches():
                _originals.append((patch.owner, patch.name, patch.owner.__dict__.get(patch.name, _MISSING)))
                setattr(patch.owner, patch.name, patch.value)
            _installed = shim
        return _installed


def uninstall() -> None:
    """Put moto's classes back as they were; idempotent."""
    global _installed  # noqa: PLW0603
    with _install_lock:
        while _originals:
            owner, name, original = _originals.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _installed = None


def installed() -> Shim | None:
    """The process-wide shim while installed, else None."""
    return _installed
