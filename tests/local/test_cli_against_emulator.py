"""`bluegreen status` and `bluegreen plan` against the emulator tell the truth, and `plan` changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bluegreen.cli import main
from bluegreen.local.emulator import Emulator
from bluegreen.local.seed import seed_world
from tests.conftest import REGION
from tests.support.world import view


def snapshot(world: Any) -> tuple[Any, ...]:
    return view(world, "a"), view(world, "b")


@pytest.fixture
def seeded(emulator: Emulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    world = seed_world(REGION)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(world.plan))
    monkeypatch.setattr("bluegreen.engine.POLL_INITIAL_SECONDS", 0.0)
    return world, ["--plan", str(plan_file), "--state-table", world.state_table, "--region", REGION]


def test_status_shows_what_the_emulator_holds(
    seeded: tuple[Any, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    world, common = seeded
    assert main(["status", *common, "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["live"] == "a"
    text = json.dumps(report)
    a, b = view(world, "a"), view(world, "b")
    assert (a.desired_tasks, b.desired_tasks) == (2, 0)
    for name in (world.names["a"]["service"], world.names["b"]["cluster"], world.names["b"]["consumer"]):
        assert name in text
    assert main(["run", "before-allow-traffic", *common, "--yes"]) == 0
    capsys.readouterr()
    assert view(world, "b").working
    assert main(["status", *common, "--output", "json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["deployment"]["phase"] == "prepared"
    assert after["live"] == "a" and after["replacement"] == "b"


def test_plan_changes_nothing(seeded: tuple[Any, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    world, common = seeded
    before = snapshot(world)
    for flow in ("before-allow-traffic", "after-allow-traffic"):
        main(["plan", flow, *common])
    out = capsys.readouterr().out
    assert "aurora[0].ready" in out and "wave 1" in out
    assert snapshot(world) == before
    assert main(["status", *common, "--record-only", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["recorded"] is False  # not even the record was written
