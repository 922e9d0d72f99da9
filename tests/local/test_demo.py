"""`bluegreen demo` end to end: two deployments and an RDS event on the emulator, every hook Succeeded."""

from __future__ import annotations

import re

import pytest

from bluegreen.cli import main


def test_the_demo_runs_both_deployments_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    reports = re.findall(r"CodeDeploy ← (\w+)", out)
    assert reports == ["Succeeded"] * 4  # two deployments, two hooks each
    assert "every hook reported Succeeded" in out
    assert "'Role': 'Reader'" in out and "Performance Insights: on" in out
    # the before table shows the seeded messages, the after tables the purged old queues
    assert "fn-queue-b-dev 3 · fn-dlq-b-dev 3" in out
    assert "fn-queue-a-dev 0 · fn-dlq-a-dev 0" in out
