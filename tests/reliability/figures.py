"""The figures of a reliability run: what each test tried, written to one JSON file at the end of the session.

Tests call :func:`record` (a section per promise, plain numbers and strings); the conftest counts the
reliability tests that passed and failed, and writes everything to :data:`FIGURES_PATH` (or the path in
``BLUEGREEN_RELIABILITY_FIGURES``). ``scripts/reliability_figures.py`` puts them into docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import platform
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIGURES_PATH = ROOT / "build" / "reliability-figures.json"

_lock = threading.Lock()
_sections: dict[str, dict[str, Any]] = {}
_tests: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}
_seconds = [0.0]


def record(section: str, **values: Any) -> None:
    """Add (or replace) ``values`` in ``section``."""
    with _lock:
        _sections.setdefault(section, {}).update(values)


def add(section: str, key: str, amount: int = 1) -> None:
    """Add ``amount`` to the counter ``key`` of ``section``."""
    with _lock:
        counters = _sections.setdefault(section, {})
        counters[key] = counters.get(key, 0) + amount


def count_test(outcome: str) -> None:
    """Count one reliability test by its outcome (passed, failed, skipped)."""
    with _lock:
        _tests[outcome] = _tests.get(outcome, 0) + 1


def add_seconds(seconds: float) -> None:
    """Add the duration of one test phase (setup, call, teardown)."""
    with _lock:
        _seconds[0] += seconds


def path() -> Path:
    """Where the figures are written."""
    return Path(os.environ.get("BLUEGREEN_RELIABILITY_FIGURES") or FIGURES_PATH)


def snapshot() -> dict[str, Any]:
    """Everything recorded so far, JSON-ready."""
    with _lock:
        return {
            "written_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "seconds": round(_seconds[0], 1),
            "tests": dict(_tests),
            "sections": json.loads(json.dumps(_sections, default=str)),
        }


def write() -> Path | None:
    """Write the figures (only when a reliability test ran); the path written, or None."""
    if not any(_tests.values()):
        return None
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(snapshot(), indent=2, sort_keys=True) + "\n")
    return target
