"""moto's Lambda CreateEventSourceMapping accepts a Kinesis stream ARN but not a stream *consumer* ARN
(enhanced fan-out), which AWS accepts. This applies the shim's fix for one test, so that a function
can be mapped to a registered consumer, as in AWS. The one implementation is :mod:`bluegreen.local.shim`.
"""

from __future__ import annotations

import pytest

from bluegreen.local.shim import Shim


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let moto map a function to a registered Kinesis consumer ARN until the test ends."""
    for patch in Shim.kinesis_consumer_patches():
        monkeypatch.setattr(patch.owner, patch.name, patch.value)
