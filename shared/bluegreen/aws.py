"""The one place where boto3 clients are made.

Every client gets the tool's region and the retry budget below. The endpoint is left to botocore,
so ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` keep working (that is how the local
emulator and tests point the real code at moto).

The retry budget, set on purpose (tests/reliability measures it; docs/reliability.md has the figures):

- **Mode**: botocore's *standard* retry mode. It retries throttling (``ThrottlingException``,
  ``TooManyRequestsException``, HTTP 429, …) and transient errors (HTTP 500/502/503/504, timeouts,
  connection errors); anything else (``AccessDenied``, a validation error) fails at once.
- **Attempts**: :data:`DEFAULT_MAX_ATTEMPTS` (8) per call, the first included
  (``BLUEGREEN_MAX_ATTEMPTS`` overrides it). botocore's default of 3 is not enough for a hook: with
  30% of attempts throttled, 0.3**3 = 2.7% of calls would fail, and one deployment makes about 70
  calls; with 8 attempts a call fails with probability 0.3**8 ≈ 6.6e-5.
- **Backoff**: full jitter, ``random() * min(base * 2**(attempt - 1), 20 s)`` before each retry, the
  base 1 s after a throttle and 50 ms after another transient error (25 ms for DynamoDB): at most
  1+2+4+8+16+20+20 = 71 s of waiting for a call throttled seven times (half that on average), at most
  6.35 s for a call that gets seven 500s.
- **Retry quota**: botocore's, per client — and clients are shared by the process
  (:func:`shared_client`) and kept by warm Lambdas. 500 tokens; a throttled retry costs 5, any other
  retry 14; a call that then succeeds gives back what its retries took (1 when it needed none), up
  to 500. Kept as botocore has it: at 30% throttling it hardly moves (the reliability run's lowest
  is in docs/reliability.md), while during an outage of one service it stops that client's retries
  after about five calls that spent every attempt, so that a hook does not wait out eight attempts
  on every call to a service that is down (it fails, puts back and reports instead).
- Not *adaptive* mode: its client-side rate limiter delays even first attempts after a throttle,
  which suits a client sending many requests, not a hook's few dozen calls spread over services.
- **Per attempt**: connect within :data:`CONNECT_TIMEOUT_SECONDS`, read within :data:`READ_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

import boto3
from botocore.config import Config

#: botocore's retry mode for every client (see the module docstring).
RETRY_MODE: Literal["standard"] = "standard"
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
    """The botocore ``Config`` every client is made with: the retry budget of the module docstring."""
    return Config(
        retries={"mode": RETRY_MODE, "total_max_attempts": max_attempts()},
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


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``"ThrottlingException"``…); "" for any other error."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    return str(details.get("Code") or "") if isinstance(details, dict) else ""


def error_message(error: BaseException) -> str:
    """The message AWS sent with a botocore ``ClientError``, else the error's own text."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    message = details.get("Message") if isinstance(details, dict) else None
    return str(message) if message else str(error)
