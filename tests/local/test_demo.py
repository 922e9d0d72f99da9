"""`bluegreen demo` end to end: three deployments and an RDS event on the emulator, every outcome the expected one."""

from __future__ import annotations

import re

import pytest

from bluegreen.cli import main


def test_the_demo_runs_its_three_deployments_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    reports = re.findall(r"CodeDeploy ← (\w+)", out)
    assert reports == ["Succeeded"] * 5  # deployments 1 and 2: two hooks each; deployment 3: its prepare
    assert "every outcome was the expected one" in out
    assert "'Role': 'Reader'" in out and "Performance Insights: on" in out
    # the before table shows the seeded messages, the after tables the purged old queues
    assert "fn-queue-b-dev 3 · fn-dlq-b-dev 3" in out
    assert "fn-queue-a-dev 0 · fn-dlq-a-dev 0" in out
    # deployment 3: stopped after its prepare; its STOP event, to the events handler, settles it
    third = out[out.index("deployment 3: a → b, stopped by its canary alarm") :]
    assert "the canary alarm goes off" in third and "never calls AfterAllowTraffic" in third
    assert "d-demo-3 stopped: both stacks working" in third
    assert "deployment_state_changed  STOP of deployment d-demo-3" in third
    assert "✓ done undo:ecs[0].enable" in third and "✓ done undo:sns[0].enable" in third
    assert re.search(r"outcome settled .*deployment d-demo-3 settled", third)
    assert "record: live a · deployment d-demo-3 rolled-back · settled" in third
    assert '"level"' not in third  # no JSON log line of the handlers on the terminal
