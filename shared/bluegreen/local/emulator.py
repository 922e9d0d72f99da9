"""The embedded AWS emulator: moto's server in this process, on 127.0.0.1, with the shim installed.

    with Emulator() as emu:          # started; os.environ points boto3 (and bluegreen.aws) at it
        seed_world(emu.region)       # any boto3 code now talks to the emulator
        ...                          # run the hooks, then read emu.hook_statuses, emu.take_invocations()

:class:`Emulator` starts moto's ``ThreadedMotoServer`` on a free port, installs
:mod:`bluegreen.local.shim` (what moto lacks) and resets moto's state. moto's state is global to the
process: run one emulator at a time. Its Lambda runs no function (there is no Docker here): an
asynchronous ``Invoke`` is queued, and the caller runs it (:meth:`Emulator.take_invocations`).
:func:`serve` keeps a seeded one running for ``bluegreen status`` / ``plan`` to be tried against.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TextIO

import boto3
import yaml
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

import bluegreen.aws
from bluegreen.local import shim
from bluegreen.local.seed import FILTER_DELAY_SECONDS, seed_world
from bluegreen.local.shim import DeploymentBook, HookReport, Invocation

__all__ = ["PLAN_PARAMETER", "Emulator", "serve"]

HOST = "127.0.0.1"
#: The SSM parameter :func:`serve` puts the seeded plan in (what the template's hooks read).
PLAN_PARAMETER = "/bluegreen/orders/plan"
#: Fake credentials: moto accepts any, and real ones must never reach the emulator.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
#: Removed from the environment while the emulator's is applied: each would lead clients to a real
#: account (a profile, a session token beside the fake keys) or make them ignore AWS_ENDPOINT_URL.
UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
#: How often the server's accept loop looks for a stop request (moto's default, 0.5 s, makes stop slow).
_POLL_SECONDS = 0.02

_active_lock = threading.Lock()
_active: Emulator | None = None


class _Server(ThreadedMotoServer):
    """moto's threaded server, quiet, stopping fast, closing its open connections when it stops."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._error: Exception | None = None

    def _handler(self) -> type[MotoRequestHandler]:
        server = self

        class Handler(MotoRequestHandler):
            def setup(self) -> None:
                super().setup()
                with server._connections_lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._connections_lock:
                    server._connections.discard(self.connection)
                super().finish()

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """No line per request on stderr (the demo owns the terminal)."""

        return Handler

    def _server_entry(self) -> None:  # moto's, plus a bind error reported to start() instead of a hang
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=self._handler())
        except SystemExit:  # werkzeug prints why it cannot bind (to stderr), then exits
            self._error = OSError(f"cannot listen on {self._ip_address}:{self._port}: is the port in use?")
            self._server_ready_event.set()
            return
        except Exception as exc:  # noqa: BLE001 - handed to start(), which raises it
            self._error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=_POLL_SECONDS)

    def start(self) -> None:
        super().start()
        if self._error is not None:
            self._thread.join()  # type: ignore[union-attr]
            raise self._error

    def stop(self) -> None:
        super().stop()  # the accept loop ends and the listening socket is closed
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:  # requests still in flight, kept-alive connections: end them
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Emulator:
    """moto's server with the shim, on ``127.0.0.1`` and a free port (or ``port``); a context manager."""

    def __init__(
        self,
        region: str = "eu-central-1",
        latency_ms: float = 0.0,
        port: int | None = None,
        *,
        filter_delay_seconds: float = 0.0,
    ) -> None:
        """Nothing starts until :meth:`start` or ``with``.

        ``filter_delay_seconds``: how long an SNS filter policy change takes to reach deliveries (AWS:
        up to 15 minutes; 0 applies it at once, as moto does).
        """
        self.region = region
        self.latency_ms = latency_ms
        self.filter_delay_seconds = filter_delay_seconds
        self.requested_port = port
        #: The port it listens on while running.
        self.port: int | None = None
        self._server: _Server | None = None
        self._shim: shim.Shim | None = None
        self._owns_shim = False
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Install the shim, reset moto's state and start the server; idempotent. Returns self.

        moto's state is global to the process: a second emulator started while one runs would share
        (and reset) its world, so that is refused with ``RuntimeError``.
        """
        global _active  # one emulator per process
        if self._server is not None:
            return self
        with _active_lock:
            if _active is not None:
                raise RuntimeError(
                    f"an emulator is already running in this process ({_active.endpoint}): stop it first"
                )
            self._owns_shim = shim.installed() is None
            self._shim = shim.install()
            self._shim.latency_ms = self.latency_ms
            self._shim.filters.delay_seconds = self.filter_delay_seconds
            self.reset()
            server = _Server(HOST, self.requested_port or 0)
            try:
                server.start()
            except BaseException:
                self._release_shim()
                raise
            self._server, _active = server, self
            self.port = server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        """Stop the server (its port closed, open connections ended) and uninstall the shim; idempotent."""
        global _active  # noqa: PLW0603
        with _active_lock:
            server, self._server = self._server, None
            if server is None:
                return
            server.stop()
            self._release_shim()
            self.port = None
            if _active is self:
                _active = None

    def reset(self) -> None:
        """Empty moto's state (every service, account and region) and forget the shim's records."""
        moto_api_backend.reset()
        self.shim.clear()

    def _release_shim(self) -> None:
        if self._shim is not None:  # the delays are this emulator's: a shim that stays installed drops them
            self._shim.filters.delay_seconds = 0.0
            self._shim.filters.delays.clear()
        if self._owns_shim:
            shim.uninstall()
        self._owns_shim = False

    def __enter__(self) -> Emulator:
        """Start, and point this process's environment (and bluegreen's cached session) at the emulator."""
        self.start()
        try:
            names = [*self.environ(), *UNSET, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))]
            self._saved_env = {name: os.environ.get(name) for name in names}
            for name in names:
                os.environ.pop(name, None)
            os.environ.update(self.environ())
            _forget_sessions()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Restore the environment as it was, then stop."""
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        _forget_sessions()
        self.stop()

    # -- where it is ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``; ``RuntimeError`` before :meth:`start`."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        return f"http://{HOST}:{self.port}"

    def environ(self) -> dict[str, str]:
        """The variables that point boto3 at the emulator (the :data:`UNSET` ones must be absent too)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **FAKE_CREDENTIALS,
        }

    # -- what the shim recorded -------------------------------------------------------------------

    @property
    def shim(self) -> shim.Shim:
        """The installed shim; ``RuntimeError`` before :meth:`start`."""
        if self._shim is None:
            raise RuntimeError("the emulator was never started")
        return self._shim

    @property
    def hook_statuses(self) -> dict[str, str]:
        """The status each CodeDeploy hook execution ended with, by execution id."""
        return dict(self.shim.hooks.statuses)

    @property
    def deployments(self) -> DeploymentBook:
        """The CodeDeploy deployments the emulator answers for (create, stop, fail, roll back them here)."""
        return self.shim.deployments

    @property
    def hook_reports(self) -> list[HookReport]:
        """Every PutLifecycleEventHookExecutionStatus request, in order (refused ones too)."""
        return list(self.shim.hooks.calls)

    def performance_insights(self, instance_id: str) -> bool:
        """Whether Performance Insights is on for the DB instance (``KeyError`` when it does not exist)."""
        return self.shim.performance_insights(instance_id, region=self.region)

    def take_invocations(self) -> list[Invocation]:
        """The asynchronous Lambda invocations queued since the last call (the caller runs them)."""
        return self.shim.take_invocations()

    def set_latency(self, ms: float) -> None:
        """Delay every request by ``ms`` milliseconds from now on (concurrent requests overlap)."""
        self.latency_ms = ms
        if self._shim is not None:
            self._shim.latency_ms = ms


def _forget_sessions() -> None:
    """Drop what holds clients bound to an endpoint, so that later clients read the environment again.

    The default sessions (bluegreen's and boto3's), the handlers' cached runtimes and the plan cache.
    """
    with bluegreen.aws._lock:
        bluegreen.aws._default_session = None
    boto3.DEFAULT_SESSION = None
    for module in ("bluegreen.hooks.entry", "bluegreen.rds.entry"):
        loaded = sys.modules.get(module)
        if loaded is not None:
            loaded.reset_runtime()
    plan = sys.modules.get("bluegreen.plan")
    if plan is not None:
        plan.clear_plan_cache()


def _seed(region: str) -> tuple[dict[str, str], Path]:
    """Seed the ``orders`` world; put its plan in SSM and a temporary file. Returns the extra exports and the file."""
    world = seed_world(region)
    document = yaml.safe_dump(world.plan, sort_keys=False)
    bluegreen.aws.make_client("ssm", region=region).put_parameter(
        Name=PLAN_PARAMETER, Type="String", Value=document, Overwrite=True
    )
    handle, name = tempfile.mkstemp(prefix="bluegreen-plan-", suffix=".yaml")
    with os.fdopen(handle, "w") as file:
        file.write(document)
    return {"BLUEGREEN_STATE_TABLE": world.state_table, "BLUEGREEN_PLAN_PARAMETER": PLAN_PARAMETER}, Path(name)


def serve(
    region: str = "eu-central-1",
    port: int | None = None,
    seed: bool = True,
    *,
    out: TextIO | None = None,
    until: threading.Event | None = None,
) -> None:
    """Run an emulator until Ctrl-C (or ``until`` is set), seeded with the ``orders`` world, and say how to use it.

    With ``seed``, the two-stack world of :mod:`bluegreen.local.seed` is created, its plan put into the
    SSM parameter :data:`PLAN_PARAMETER` and written to a temporary YAML file (removed on exit). It
    prints the endpoint, the variables to export in another shell and the plan file, then blocks.
    Ctrl-C at any point stops it cleanly: the port is closed and the environment restored.
    """
    stream = out or sys.stdout
    plan_file: Path | None = None
    try:
        with Emulator(region, port=port, filter_delay_seconds=FILTER_DELAY_SECONDS) as emu:
            exports = emu.environ()
            if seed:
                extra, plan_file = _seed(region)
                exports |= extra
            lines = [f"bluegreen emulator on {emu.endpoint} ({region}){', seeded' if seed else ''}", ""]
            lines += [f"export {k}={shlex.quote(v)}" for k, v in exports.items()]
            lines.append(f"unset {' '.join(UNSET)}")
            if plan_file is not None:
                lines += ["", f"plan file: {plan_file}  (also in SSM parameter {PLAN_PARAMETER})"]
            lines += ["", "Ctrl-C to stop."]
            print("\n".join(lines), file=stream, flush=True)
            (until or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        if plan_file is not None:
            plan_file.unlink(missing_ok=True)
    print("emulator stopped", file=stream, flush=True)
