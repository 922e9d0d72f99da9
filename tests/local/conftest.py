"""An emulator per test: moto's server in this process, with the shim, and the environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bluegreen.local.emulator import Emulator
from tests.conftest import REGION


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    # After the autouse aws_env fixture: the emulator's environment wins, and is restored before aws_env's.
    with Emulator(region=REGION) as emu:
        yield emu
