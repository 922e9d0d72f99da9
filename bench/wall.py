"""Hook wall time and AWS calls: the real flows against the embedded emulator with a fixed latency per call.

Every run seeds a fresh world of N pairs per service (no latency while seeding), and runs the
prepare hook and then the retire hook of one deployment, each with a fresh
:class:`~bluegreen.hooks.Runtime` (so every client is made during the run, as in a first
invocation; the session, with the service models botocore has loaded, is shared), through
:func:`bluegreen.hooks.handle` — record, steps, report to CodeDeploy — with the engine's default
thread pool (``parallel``) and with ``max_workers=1`` (``sequential``: one step at a time, every call
after the one before). A botocore ``before-call`` / ``after-call`` hook on the session every client
is made from counts each API call (each page of a list is one) and times it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import boto3

import bluegreen.aws
import bluegreen.engine
from bluegreen.hooks import Flow, Runtime, handle
from bluegreen.plan import parse_plan
from bluegreen.state import StateStore
from bluegreen.tools.codedeploy import HookStatus

ROOT = Path(__file__).resolve().parents[1]
#: The poll interval the benchmark gives the engine: the emulator's clusters are available at once.
POLL_SECONDS = 0.05
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
#: Variables that would lead clients elsewhere (a profile, a real session token, per-service endpoints).
_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass(frozen=True)
class Call:
    """One API call: ``service:Operation``, when it started and ended (perf_counter seconds)."""

    name: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        """How long the call took, retries included."""
        return self.ended - self.started


@dataclass
class CallLog:
    """Every API call and client made through a boto3 session, recorded from botocore's events."""

    calls: list[Call] = field(default_factory=list)
    clients: Counter[str] = field(default_factory=Counter)
    client_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, session: boto3.Session) -> None:
        """Register on ``session`` (before any client is made from it: clients copy the handlers then)."""
        session.events.register("before-call", self._before)
        session.events.register("after-call", self._after)
        session.events.register("after-call-error", self._after)
        made = session.client

        def client(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return made(*args, **kwargs)
            finally:
                with self._lock:
                    self.client_seconds += time.perf_counter() - started
                    self.clients[str(args[0] if args else kwargs.get("service_name"))] += 1

        session.client = client  # type: ignore[method-assign]

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _after(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        name = f"{model.service_model.endpoint_prefix}:{model.name}"
        call = Call(name, context.get("bench_started", time.perf_counter()), time.perf_counter())
        with self._lock:
            self.calls.append(call)

    def take(self) -> tuple[list[Call], Counter[str], float]:
        """The calls and clients recorded since the last take, and the seconds spent making clients."""
        with self._lock:
            taken = (self.calls, self.clients, self.client_seconds)
            self.calls, self.clients, self.client_seconds = [], Counter(), 0.0
        return taken


@dataclass(frozen=True)
class HookRun:
    """One hook run: its wall time, its calls and the clients it made."""

    flow: Flow
    pairs: int
    workers: int
    seconds: float
    calls: list[Call]
    clients: Counter[str]
    client_seconds: float

    @property
    def operations(self) -> Counter[str]:
        """How many times each ``service:Operation`` was called."""
        return Counter(call.name for call in self.calls)

    @property
    def call_seconds(self) -> float:
        """The calls' durations added up: the time they take one after another."""
        return sum(call.seconds for call in self.calls)


class EmulatorProcess:
    """``python -m bench.server`` in a child process: seeds worlds on request, injects the latency."""

    def __init__(self) -> None:
        """Start the child and wait for its endpoint."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.server"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._read()
        self.endpoint: str = hello["endpoint"]
        self.region: str = hello["region"]

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process ended (exit code {self.process.wait()})")
        return dict(json.loads(line))

    def seed(self, pairs: int, latency_ms: float) -> dict[str, Any]:
        """A fresh world of ``pairs`` pairs per service; every request then waits ``latency_ms``."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"seed": pairs, "latency_ms": latency_ms}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        """Ask the child to stop, and wait for it."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.write(json.dumps({"quit": True}) + "\n")
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def emulator_environment(emulator: EmulatorProcess) -> Iterator[CallLog]:
    """Point this process's environment at the emulator, with fresh sessions and a call log attached."""
    names = [*FAKE_CREDENTIALS, *_UNSET, "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"]
    names += [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]
    saved = {name: os.environ.get(name) for name in names}
    poll = bluegreen.engine.POLL_INITIAL_SECONDS
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(
        {"AWS_ENDPOINT_URL": emulator.endpoint, "AWS_REGION": emulator.region, "AWS_DEFAULT_REGION": emulator.region}
    )
    os.environ.update(FAKE_CREDENTIALS)
    _forget_sessions()
    bluegreen.engine.POLL_INITIAL_SECONDS = POLL_SECONDS
    log = CallLog()
    log.attach(bluegreen.aws.default_session())
    try:
        yield log
    finally:
        bluegreen.engine.POLL_INITIAL_SECONDS = poll
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget_sessions()


def _forget_sessions() -> None:
    with bluegreen.aws._lock:
        bluegreen.aws._default_session = None
    boto3.DEFAULT_SESSION = None


def run_deployment(
    emulator: EmulatorProcess, log: CallLog, pairs: int, workers: int | None, latency_ms: float
) -> tuple[HookRun, HookRun, dict[str, Any]]:
    """Seed ``pairs`` pairs, then run one deployment (prepare, retire); ``workers=None``: the engine's default."""
    seeded = emulator.seed(pairs, latency_ms)
    plan = parse_plan(seeded["plan"])
    engine_kw: dict[str, Any] = {} if workers is None else {"max_workers": workers}
    runs = []
    log.take()
    for flow in (Flow.PREPARE, Flow.RETIRE):
        event = {"DeploymentId": "d-bench", "LifecycleEventHookExecutionId": f"bench-{flow.value}"}
        started = time.perf_counter()
        # each hook is a Lambda function of its own: its own runtime, its clients made during the run
        store = StateStore(seeded["state_table"], region=emulator.region)
        runtime = Runtime(plan, store=store, region=emulator.region)
        result = handle(
            flow, event, runtime=partial(_same, runtime), time_left=lambda: 900.0, reinvoke=None, **engine_kw
        )
        seconds = time.perf_counter() - started
        calls, clients, client_seconds = log.take()
        if result.status is not HookStatus.SUCCEEDED:
            raise RuntimeError(f"{flow.value} with {pairs} pairs did not succeed: {result.message}")
        used = workers if workers is not None else _default_workers()
        runs.append(HookRun(flow, pairs, used, seconds, calls, clients, client_seconds))
    return runs[0], runs[1], seeded


def _same(runtime: Runtime) -> Runtime:
    return runtime


def _default_workers() -> int:
    default = bluegreen.engine.Engine.__init__.__kwdefaults__ or {}
    return int(default.get("max_workers", 0))
