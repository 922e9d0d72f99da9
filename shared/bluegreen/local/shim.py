"""The few things moto (5.x) lacks or gets wrong that bluegreen needs, patched into moto's classes in this process.

moto's server (``ThreadedMotoServer``) runs in this process, so patching its classes changes what the
emulator answers; ``mock_aws`` tests apply the same patches (``tests/support``). Each patch is data
(:class:`~bluegreen.local.patching.Patch`: a class, an attribute, the replacement) so it can be installed
here with :func:`install` / :func:`uninstall`, or by pytest's ``monkeypatch``. :class:`Shim` holds what
the patches record and gathers them (:meth:`Shim.patches`); each part lives in the room of its service.
What is patched, and why:

- **CodeDeploy PutLifecycleEventHookExecutionStatus** — not implemented by moto. Added as AWS behaves
  for what the hooks rely on: the first Succeeded/Failed of an execution is kept, any later report is
  refused with ``LifecycleEventAlreadyCompletedException``, and so is any report for a deployment of the
  book that has ended (Succeeded/Failed/Stopped: CodeDeploy has moved on). Every call is recorded
  (:class:`HookLedger`). The API answers: :mod:`bluegreen.local.codedeploy_api`.
- **CodeDeploy deployments** — moto gives deployments uuid ids, leaves them "Created", answers
  ``rollbackInfo: {}`` and has no StopDeployment, ListDeploymentTargets or GetDeploymentTarget; the hooks
  read a deployment's status, creator and rollbackInfo, and their lifecycle event's start time (their
  deadline). The shim keeps its own deployments (:class:`DeploymentBook`, ``Shim.deployments``; the
  model: :mod:`bluegreen.local.codedeploy_model`), with the ids, statuses, rollbacks and lifecycle times
  a test or the emulator's caller chooses. GetDeployment and BatchGetDeployments answer for them (moto's
  own deployments, and its DeploymentDoesNotExistException, otherwise); StopDeployment stops one
  (``autoRollbackEnabled``: and rolls it back), refusing an ended one with
  ``DeploymentAlreadyCompletedException``; ListDeploymentTargets / GetDeploymentTarget report its one
  target (a Lambda alias or an ECS service) and that target's lifecycle events.
  :meth:`DeploymentBook.state_change_event` builds the EventBridge notification CodeDeploy would send.
- **Lambda CreateEventSourceMapping on a Kinesis stream consumer ARN** (enhanced fan-out) — moto takes
  a stream ARN only; AWS takes a consumer ARN too. And a second mapping of the same function (name,
  ARN or partial ARN alike; an alias or version counts apart) and the same event source is refused with
  ``ResourceConflictException`` (409), as AWS does; moto makes the duplicate
  (:mod:`bluegreen.local.lambda_patches`, as the two Lambda items below).
- **Lambda ListEventSourceMappings by FunctionName** — moto matches the exact string a mapping was
  created with; AWS resolves a name, a full or a partial ARN to the function, so a mapping created by
  name is listed by ARN and the other way round. The shim compares the resolved functions.
- **RDS StopDBCluster while an instance is busy** — refused with ``InvalidDBInstanceState`` as AWS
  does, while ``Shim.busy`` (:mod:`bluegreen.local.busy`) says a member is busy; moto stops it anyway.
- **RDS Performance Insights** — moto ignores ``EnablePerformanceInsights`` in ModifyDBInstance. It is
  kept on the instance and reported back as ``PerformanceInsightsEnabled`` (False until set).
- **Lambda Invoke** — moto runs functions in Docker (absent here) and does not queue asynchronous
  invocations. Those are queued instead (:meth:`Shim.take_invocations`), for the emulator's caller to
  run, and answered 202 as AWS does; a synchronous one is answered with the outcome set in
  :attr:`Shim.answers` (ok, a function error, a timeout, or a late answer; ok by default). An unknown
  function is still a 404.
- **SNS filter policy propagation** — moto applies a new filter policy to the next publish; AWS takes
  up to 15 minutes. :attr:`Shim.filters` (:class:`~bluegreen.local.propagation.FilterPropagation`)
  delays each change by a delay you set (off by default).
- **Latency** — every request to the moto server waits ``Shim.latency_ms`` before it is dispatched,
  in its own request thread, so concurrent requests overlap as over a real network (the benchmark).

Not patched, on purpose: moto's **Kinesis DeregisterStreamConsumer** is wrong whenever ``StreamARN``
is in the request. It then keeps only the stream's consumers *named* ``ConsumerName`` — the very one
to deregister survives and every other consumer of the stream is dropped; with ``StreamARN`` beside
``ConsumerARN`` (no name) every consumer is dropped. By ``ConsumerARN`` alone (which AWS accepts)
moto deletes exactly that consumer: bluegreen calls it that way only, and must keep doing so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # moto[server]: the `local` extra
from moto.rds.models import DBInstance, RDSBackend, rds_backends

from bluegreen.local import codedeploy_api, lambda_patches
from bluegreen.local.answers import FunctionAnswers
from bluegreen.local.busy import BusyInstances
from bluegreen.local.codedeploy_api import HookLedger, HookReport
from bluegreen.local.codedeploy_model import ENDED_STATUSES, DeploymentBook, EmulatedDeployment, LifecycleEvent
from bluegreen.local.lambda_patches import Invocation
from bluegreen.local.patching import Patch
from bluegreen.local.propagation import FilterPropagation

__all__ = [
    "ENDED_STATUSES",
    "DeploymentBook",
    "EmulatedDeployment",
    "HookLedger",
    "HookReport",
    "Invocation",
    "LifecycleEvent",
    "Patch",
    "Shim",
    "install",
    "installed",
    "uninstall",
]

_MISSING = object()


class Shim:
    """The patches and what they record. Make one, or use the process-wide one of :func:`install`."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        """Nothing is patched until :func:`install` (or a test) applies :meth:`patches`."""
        self.latency_ms = latency_ms
        self.hooks = HookLedger()
        self.deployments = DeploymentBook()
        self.filters = FilterPropagation()
        self.busy = BusyInstances()
        self.answers = FunctionAnswers()
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def take_invocations(self) -> list[Invocation]:
        """The asynchronous invocations queued since the last call, oldest first (the queue is emptied)."""
        with self._lock:
            taken, self._invocations = self._invocations, []
        return taken

    def clear(self) -> None:
        """Forget the hook reports, the deployments and the queued invocations (moto's own state is reset apart)."""
        with self._lock:
            self.hooks.calls.clear()
            self.hooks.statuses.clear()
            self._invocations.clear()
        self.deployments.clear()
        self.filters.clear()
        self.busy.clear()
        self.answers.clear()

    @staticmethod
    def performance_insights(instance_id: str, *, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> bool:
        """Whether Performance Insights is on for the DB instance; ``KeyError`` when there is no such instance."""
        instance: Any = rds_backends[account_id][region].databases[instance_id]
        return bool(instance.performance_insights_enabled)

    def patches(self) -> list[Patch]:
        """Every patch of the shim, in the order they are installed."""
        return [
            *self.codedeploy_patches(),
            *self.kinesis_consumer_patches(),
            *self.event_source_mapping_patches(),
            *self.performance_insights_patches(),
            Patch(RDSBackend, "stop_db_cluster", self.busy.stop_db_cluster(RDSBackend.stop_db_cluster)),
            *self.async_invoke_patches(),
            *self.latency_patches(),
            *(Patch(*patch) for patch in self.filters.patches()),
        ]

    def codedeploy_patches(self) -> list[Patch]:
        """CodeDeploy: hook reports (the first status wins, all calls recorded) and the book's deployments.

        GetDeployment / BatchGetDeployments answer for the deployments of :attr:`deployments` (others
        are moto's); StopDeployment, ListDeploymentTargets and GetDeploymentTarget are added
        (:func:`bluegreen.local.codedeploy_api.codedeploy_patches`). Hook reports go to :attr:`hooks`.
        """
        return codedeploy_api.codedeploy_patches(self.deployments, self.hooks, self._lock)

    @staticmethod
    def kinesis_consumer_patches() -> list[Patch]:
        """Lambda CreateEventSourceMapping accepts a registered Kinesis stream consumer ARN, and refuses a duplicate.

        See :func:`bluegreen.local.lambda_patches.kinesis_consumer_patches`.
        """
        return lambda_patches.kinesis_consumer_patches()

    @staticmethod
    def event_source_mapping_patches() -> list[Patch]:
        """Lambda ListEventSourceMappings finds a function's mappings by name, ARN or partial ARN, however made.

        See :func:`bluegreen.local.lambda_patches.event_source_mapping_patches`.
        """
        return lambda_patches.event_source_mapping_patches()

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
        """Lambda Invoke: ``Event`` queued (:meth:`take_invocations`, 202); ``RequestResponse`` from :attr:`answers`."""
        return lambda_patches.async_invoke_patches(self._queue_invocation, self.answers)

    def _queue_invocation(self, invocation: Invocation) -> None:
        with self._lock:
            self._invocations.append(invocation)

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
