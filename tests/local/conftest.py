"""An emulator per test: moto's server in this process, with the shim, and the environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bluegreen.local.emulator import Emulator
from bluegreen.local.seed import FILTER_DELAY_SECONDS
from tests.conftest import REGION


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    # After the autouse aws_env fixture: the emulator's environment wins, and is restored before aws_env's.
    # SNS filter changes take a while to apply, as on AWS (the seeded plan's settle window covers it).
    with Emulator(region=REGION, filter_delay_seconds=FILTER_DELAY_SECONDS) as emu:
        yield emu
