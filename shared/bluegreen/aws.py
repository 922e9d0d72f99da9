"""The one place where boto3 clients are made.

Every client gets botocore's *standard* retry mode (exponential backoff with jitter, retries on
throttling and transient errors) and the tool's region. The endpoint is left to botocore, so
``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` keep working (that is how the local
emulator and tests point the real code at moto).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

#: Attempts per call, the first included. botocore's standard default (3) gives up too soon for a
#: deployment hook that must not fail because AWS throttled it for a second; override it with the
#: ``BLUEGREEN_MAX_ATTEMPTS`` environment variable.
DEFAULT_MAX_ATTEMPTS = 8
#: Bounds on one HTTP attempt (botocore's defaults are 60 s each): a hung call must not eat the
#: invocation's time, so that a hook can still undo and report before Lambda ends it.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30

_lock = threading.RLock()
_default_session: boto3.Session | None = None


def max_attempts() -> int:
    """Attempts per AWS call: ``BLUEGREEN_MAX_ATTEMPTS`` when set to a positive integer, else the default."""
    raw = os.environ.get("BLUEGREEN_MAX_ATTEMPTS", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_ATTEMPTS
    return value if value > 0 else DEFAULT_MAX_ATTEMPTS


def client_config() -> Config:
    """The botocore ``Config`` every client is made with: standard retry mode, bounded attempts."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts()},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


def default_session() -> boto3.Session:
    """A process-wide ``boto3.Session``, made once (sessions are not thread-safe to create, clients are to share)."""
    global _default_session  # noqa: PLW0603 - one lazily made session per process
    with _lock:
        if _default_session is None:
            _default_session = boto3.Session()
        return _default_session


def make_client(service: str, *, region: str | None = None, session: boto3.Session | None = None) -> Any:
    """Make a boto3 client for ``service`` in ``region`` (the session's region when None).

    ``session`` is an optional ``boto3.Session`` (for a profile or assumed-role credentials); the
    process-wide default session is used otherwise. No request is sent: making a client does no I/O.
    """
    chosen = session or default_session()
    with _lock:
        return chosen.client(service, region_name=region, config=client_config())  # type: ignore[call-overload]


def shared_client(service: str, region: str) -> Any:
    """The process's one client for ``service`` in ``region`` on the default session, made on first use.

    The clients live on the session object, so a new default session (another endpoint, a test) gets
    new clients. Clients are thread-safe; the engine's threads share them.
    """
    session = default_session()
    with _lock:
        cache: dict[tuple[str, str], Any] = session.__dict__.setdefault("_bluegreen_clients", {})
        made = cache.get((service, region))
        if made is None:
            made = make_client(service, region=region, session=session)
            cache[(service, region)] = made
        return made
