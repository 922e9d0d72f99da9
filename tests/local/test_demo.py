"""`bluegreen demo` end to end: four deployments and an RDS event on the emulator, every outcome the expected one."""

from __future__ import annotations

import re

import pytest

from bluegreen.cli import main


def test_the_demo_runs_its_four_deployments_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    reports = re.findall(r"CodeDeploy ← (\w+)", out)
    # deployments 1 and 2: two hooks each; 3: its prepare; 4: its prepare, then its retire judged it bad
    assert reports == ["Succeeded"] * 6 + ["Failed"]
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
    # deployment 4: the verdict stops a bad release before stack a is touched; its FAILURE event settles it
    fourth = out[out.index("deployment 4: a → b, a bad release stopped by the verdict") :]
    assert "✓ done verdict.before-traffic" in fourth
    assert "✗ lambda fn-b-dev errors/invocations: 0.45 (9 of 20) (limit ≤ 0.05)" in fourth
    assert "the old stack was not touched" in fourth
    retire = fourth[fourth.index("after_allow_traffic  deployment d-demo-4") : fourth.index("CodeDeploy ← Failed")]
    started = re.findall(r"▶ running (\S+)", retire)
    assert set(started) <= {"verdict.before-retire", "sns.settle"}, started  # nothing of stack a ran
    assert re.search(r"outcome settled .*deployment d-demo-4 settled", fourth)
    assert '"level"' not in fourth  # no JSON log line of the handlers on the terminal
