"""``bluegreen status --watch``: read the status again until the deployment on record settles.

A deployment has settled when it ended *and* nothing more is owed to it: retired, or ended failed
with its replacement back to retired (``LiveRecord.settled``). The exit code says how it ended, so a
pipeline can wait on it: 0 retired (or no deployment at all), 1 failed (``prepare-failed`` or
``rolled-back``: the record's ``failure`` says why), :data:`EXIT_TIMEOUT` when it has not settled
within the timeout. Each read is the same read-only ``bluegreen status`` read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bluegreen.cli.errors import EXIT_FAILED, EXIT_OK
from bluegreen.state import Phase

if TYPE_CHECKING:
    from bluegreen.status import StatusReport

#: Exit code of a watch whose deployment did not settle within ``--timeout``.
EXIT_TIMEOUT = 5
#: Seconds between two reads.
WATCH_INTERVAL_SECONDS = 10.0
#: The longest watch by default: CodeDeploy fails a hook after 60 minutes, twice that covers both hooks.
WATCH_TIMEOUT_SECONDS = 7200.0


def outcome(report: StatusReport) -> int | None:
    """The exit code of a settled deployment (0 retired or none, 1 failed), or None while it has not settled."""
    record = report.record
    if record is None or record.deployment_id is None:
        return EXIT_OK
    if not record.settled:
        return None
    return EXIT_OK if record.phase is Phase.RETIRED else EXIT_FAILED


def watch(
    read: Callable[[], StatusReport],
    show: Callable[[StatusReport], None],
    *,
    interval: float = WATCH_INTERVAL_SECONDS,
    timeout: float = WATCH_TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, StatusReport]:
    """Read and show the status every ``interval`` seconds until it settles; the exit code and the last report.

    The first read is shown at once; the watch ends with :data:`EXIT_TIMEOUT` once another read would
    come later than ``timeout`` seconds after the start.
    """
    started = clock()
    while True:
        report = read()
        show(report)
        code = outcome(report)
        if code is not None:
            return code, report
        if clock() - started + interval > timeout:
            return EXIT_TIMEOUT, report
        sleep(interval)
