"""bluegreen validate: a valid plan, problems named by path, exit codes, JSON."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from tests.cli.conftest import Cli


def _broken(cli: Cli, tmp_path: Path) -> Path:
    doc = copy.deepcopy(cli.world.plan)
    doc["ecs"][0]["desierd_tasks"] = doc["ecs"][0].pop("desired_tasks")
    del doc["aurora"][0]["b"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_valid_plan_is_summarised_and_exits_0(cli: Cli) -> None:
    ran = cli("validate", str(cli.plan_file))
    assert ran.code == 0, ran.err
    assert "a valid plan for orders" in ran.out
    assert "ecs 1" in ran.out and "aurora 1" in ran.out
    assert cli.faults.calls == []  # no AWS call


def test_json_lists_the_sections(cli: Cli) -> None:
    ran = cli("validate", str(cli.plan_file), "--output", "json")
    assert ran.code == 0
    assert ran.json["valid"] is True
    assert ran.json["application"] == "orders"
    assert ran.json["sections"] == {name: 1 for name in cli.world.plan if isinstance(cli.world.plan[name], list)}


def test_every_problem_is_named_by_its_path_and_exits_2(cli: Cli, tmp_path: Path) -> None:
    ran = cli("validate", str(_broken(cli, tmp_path)))
    assert ran.code == 2
    assert "plan.ecs[0].desierd_tasks: unknown key (did you mean desired_tasks?)" in ran.out
    assert "plan.ecs[0].desired_tasks: required" in ran.out
    assert "plan.aurora[0].b: required" in ran.out


def test_problems_in_json(cli: Cli, tmp_path: Path) -> None:
    ran = cli("validate", str(_broken(cli, tmp_path)), "--output", "json")
    assert ran.code == 2
    assert ran.json["valid"] is False
    paths = {problem["path"] for problem in ran.json["problems"]}
    assert {"plan.ecs[0].desierd_tasks", "plan.ecs[0].desired_tasks", "plan.aurora[0].b"} <= paths


def test_the_plan_option_and_stdin_work_too(cli: Cli) -> None:
    assert cli("validate", "--plan", str(cli.plan_file)).code == 0
    assert cli("--plan", str(cli.plan_file), "validate").code == 0
    ran = cli("validate", "-", stdin=cli.plan_file.read_text())
    assert ran.code == 0 and "stdin" in ran.out


def test_the_plan_file_variable_is_read(cli: Cli) -> None:
    cli.monkeypatch.setenv("BLUEGREEN_PLAN_FILE", str(cli.plan_file))
    assert cli("validate").code == 0


def test_a_missing_file_is_one_line_and_exits_4(cli: Cli, tmp_path: Path) -> None:
    ran = cli("validate", str(tmp_path / "nope.yaml"))
    assert ran.code == 4
    assert ran.err == f"bluegreen: error: plan file {str(tmp_path / 'nope.yaml')!r} not found\n"


def test_no_plan_at_all_is_a_usage_error(cli: Cli) -> None:
    ran = cli("validate")
    assert ran.code == 2
    assert ran.err.startswith("bluegreen: error: no plan: pass --plan FILE")
    assert ran.err.count("\n") == 1


def test_yaml_syntax_errors_name_the_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("application: orders\necs: [\n", encoding="utf-8")
    ran = cli("validate", str(path))
    assert ran.code == 2
    assert "is not valid YAML: line 3" in ran.out
