"""bluegreen validate: a valid plan, problems named by path, exit codes, JSON."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import boto3
import yaml

from bluegreen.cli import checks
from bluegreen.plan import SERVICES
from tests.cli.conftest import Cli
from tests.conftest import REGION
from tests.support.iam import load_template


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


# --------------------------------------------------------------------------- the plan against its install

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plan.yaml"
#: The prefix the example install uses: samconfig.toml's ManagedNamePrefix (checked below).
PREFIX = "orders-"
VALID_KEYS = {
    "valid",
    "source",
    "application",
    "region",
    "initial_live",
    "deadline_minutes",
    "sections",
    "size_bytes",
    "ssm_tier",
    "managed_prefix",
    "problems",
    "warnings",
}
INVALID_KEYS = {"valid", "source", "size_bytes", "ssm_tier", "managed_prefix", "problems", "warnings"}


def _write(tmp_path: Path, doc: dict[str, Any], *, padding: int = 0, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    text = yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text + ("#" * (padding - len(text.encode()) - 1) + "\n" if padding else ""), encoding="utf-8")
    assert not padding or len(path.read_bytes()) == padding
    return path


def _paths(found: list[dict[str, str]]) -> list[str]:
    return [problem["path"] for problem in found]


def test_samconfig_installs_with_the_prefix_the_example_plan_is_checked_against() -> None:
    deploy = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))["default"]["deploy"]["parameters"]
    overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
    assert overrides["ManagedNamePrefix"] == PREFIX


def test_the_example_plan_fits_a_standard_parameter_and_the_default_install(cli: Cli) -> None:
    ran = cli("validate", "--plan", str(EXAMPLE), "--managed-prefix", PREFIX, "--output", "json")
    assert ran.code == 0, ran.out
    assert set(ran.json) == VALID_KEYS
    assert (ran.json["valid"], ran.json["problems"], ran.json["warnings"]) == (True, [], [])
    assert ran.json["size_bytes"] == len(EXAMPLE.read_bytes()) <= 4096
    assert (ran.json["ssm_tier"], ran.json["managed_prefix"]) == ("Standard", PREFIX)
    text = cli("validate", "--plan", str(EXAMPLE), "--managed-prefix", PREFIX)
    assert text.code == 0
    assert "(an SSM Standard parameter); every name the hooks' IAM scopes starts with 'orders-'" in text.out
    assert "warning" not in text.out
    assert cli.faults.calls == []


def test_above_4_kb_a_warning_says_it_needs_the_advanced_tier(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, cli.world.plan, padding=5000)
    ran = cli("validate", str(path), "--output", "json")
    assert ran.code == 0
    assert set(ran.json) == VALID_KEYS and ran.json["valid"] is True
    assert (ran.json["size_bytes"], ran.json["ssm_tier"], ran.json["problems"]) == (5000, "Advanced", [])
    assert ran.json["warnings"] == [
        {
            "path": "plan",
            "message": "5,000 bytes: more than an SSM Standard parameter holds (4,096); put it with --tier Advanced "
            "(charged), or shorten it (comments count too)",
        }
    ]
    text = cli("validate", str(path))
    assert text.code == 0 and "✓" in text.out
    assert "warning: plan: 5,000 bytes: more than an SSM Standard parameter holds (4,096)" in text.out


def test_above_8_kb_it_is_an_error(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, cli.world.plan, padding=8193)
    ran = cli("validate", str(path), "--output", "json")
    assert ran.code == 2
    assert set(ran.json) == VALID_KEYS and ran.json["valid"] is False
    assert (ran.json["ssm_tier"], ran.json["warnings"]) == (None, [])
    assert _paths(ran.json["problems"]) == ["plan"]
    assert ran.json["problems"][0]["message"].startswith("8,193 bytes: more than an SSM parameter holds (8,192 bytes")
    assert cli("validate", str(_write(tmp_path, cli.world.plan, padding=8192))).code == 0  # the limit itself fits


def test_the_size_counts_bytes_not_characters(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(cli.world.plan) + "# " + "é" * 2100 + "\n", encoding="utf-8")
    ran = cli("validate", str(path), "--output", "json")
    assert ran.json["size_bytes"] == len(path.read_bytes()) > 4096 > len(path.read_text(encoding="utf-8"))
    assert _paths(ran.json["warnings"]) == ["plan"]


def test_an_invalid_plan_too_big_lists_both(cli: Cli, tmp_path: Path) -> None:
    doc = copy.deepcopy(cli.world.plan)
    del doc["aurora"][0]["b"]
    ran = cli("validate", str(_write(tmp_path, doc, padding=9000)), "--output", "json")
    assert ran.code == 2
    assert set(ran.json) == INVALID_KEYS
    assert _paths(ran.json["problems"]) == ["plan", "plan.aurora[0].b"]


def test_an_unknown_region_is_an_error_with_the_closest_known_one(cli: Cli, tmp_path: Path) -> None:
    doc = dict(cli.world.plan, region="eu-centrall-1")
    ran = cli("validate", str(_write(tmp_path, doc)), "--output", "json")
    assert ran.code == 2
    assert ran.json["region"] == "eu-centrall-1"
    [problem] = ran.json["problems"]
    assert problem["path"] == "plan.region"
    assert problem["message"].startswith("'eu-centrall-1' is not a region this botocore (")
    assert "(did you mean eu-central-1?)" in problem["message"]
    text = cli("validate", str(tmp_path / "plan.yaml"))
    assert text.code == 2
    assert "invalid plan from" in text.out and "plan.region: 'eu-centrall-1' is not a region" in text.out


def test_regions_of_every_partition_are_known(cli: Cli, tmp_path: Path) -> None:
    for region in ("us-gov-west-1", "cn-north-1", "ap-southeast-4"):
        assert cli("validate", str(_write(tmp_path, dict(cli.world.plan, region=region)))).code == 0, region


def test_every_name_the_iam_would_deny_is_named_by_its_path(cli: Cli) -> None:
    ran = cli("validate", str(EXAMPLE), "--managed-prefix", "shop-", "--output", "json")
    assert ran.code == 2
    assert ran.json["managed_prefix"] == "shop-"
    assert _paths(ran.json["problems"]) == [
        "plan.ecs[0].a",
        "plan.ecs[0].b",
        "plan.sqs[0].a.queue",
        "plan.sqs[0].a.dlq",
        "plan.sqs[0].b.queue",
        "plan.sqs[0].b.dlq",
        "plan.lambda[0].a",
        "plan.lambda[0].b",
        "plan.cloudwatch[0].a.alarm_prefix",
        "plan.cloudwatch[0].b.alarm_prefix",
        "plan.kinesis[0].a",
        "plan.kinesis[0].b",
        "plan.kinesis[0].feeds.a",
        "plan.kinesis[0].feeds.b",
        "plan.dynamodb[0].a",
        "plan.dynamodb[0].b",
        "plan.aurora[0].a",
        "plan.aurora[0].b",
    ]  # SNS subscriptions excepted: their statement is on "*"
    assert ran.json["problems"][0]["message"] == (
        "ECS service 'orders-worker-a' does not start with the managed prefix 'shop-': the hooks' IAM would deny "
        "ecs:UpdateService (HookToolsPolicy, statement EcsWorkerServices)"
    )
    text = cli("validate", str(EXAMPLE), "--managed-prefix", "shop-")
    assert "invalid plan from" in text.out and "(18 problems)" in text.out
    assert "plan.dynamodb[0].b: DynamoDB table 'orders-table-b' does not start with" in text.out


def test_names_given_as_arns_and_aurora_identifiers_in_any_case(cli: Cli, tmp_path: Path) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["lambda"][0]["a"] = "arn:aws:lambda:eu-central-1:123456789012:function:orders-fn-a"
    doc["ecs"][0]["b"] = "arn:aws:ecs:eu-central-1:123456789012:service/orders-cluster/worker-b"
    doc["aurora"][0]["a"] = "ORDERS-DB-A"  # RDS keeps it in lower case
    ran = cli("validate", str(_write(tmp_path, doc)), "--managed-prefix", PREFIX, "--output", "json")
    assert ran.code == 2
    assert _paths(ran.json["problems"]) == ["plan.ecs[0].b"]
    assert "'worker-b'" in ran.json["problems"][0]["message"]


def test_an_alarm_prefix_shorter_than_the_managed_prefix_is_refused(cli: Cli, tmp_path: Path) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["cloudwatch"][0]["a"] = {"alarm_prefix": "ord", "alarm_suffix": "- A"}
    ran = cli("validate", str(_write(tmp_path, doc)), "--managed-prefix", PREFIX, "--output", "json")
    assert _paths(ran.json["problems"]) == ["plan.cloudwatch[0].a.alarm_prefix"]


def test_a_smoke_function_outside_the_managed_prefix_is_refused(cli: Cli, tmp_path: Path) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    smoke = {"function": {"a": f"{PREFIX}smoke-a", "b": "smoke-b"}}
    doc["verdict"] = {"before_traffic": {"smoke": smoke}}
    ran = cli("validate", str(_write(tmp_path, doc)), "--managed-prefix", PREFIX, "--output", "json")
    assert _paths(ran.json["problems"]) == ["plan.verdict.before_traffic.smoke.function.b"]
    assert "lambda:InvokeFunction" in ran.json["problems"][0]["message"]


def _stack(parameters: dict[str, str]) -> None:
    template = {
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="bluegreen-orders",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )


def test_the_prefix_is_read_from_the_deployed_stack(cli: Cli) -> None:
    _stack({"ManagedNamePrefix": PREFIX, "PlanParameterName": "/bluegreen/orders/plan"})
    ran = cli("validate", str(EXAMPLE), "--stack", "bluegreen-orders", "--output", "json")
    assert ran.code == 0, ran.err
    assert ran.json["managed_prefix"] == PREFIX
    assert cli.faults.calls == ["DescribeStacks"]
    ran = cli("validate", "--plan", str(cli.plan_file), "--stack", "bluegreen-orders", "--output", "json")
    assert ran.code == 2
    assert "plan.ecs[0].a" in _paths(ran.json["problems"])


def test_a_missing_stack_or_one_without_the_parameter_exits_4(cli: Cli) -> None:
    ran = cli("validate", str(EXAMPLE), "--stack", "bluegreen-orders")
    assert ran.code == 4
    assert ran.err == f"bluegreen: error: stack 'bluegreen-orders' not found in {REGION}\n"
    _stack({"Something": "else"})
    ran = cli("validate", str(EXAMPLE), "--stack", "bluegreen-orders", "--output", "json")
    assert ran.code == 4
    assert ran.json["error"]["message"].startswith(
        "stack 'bluegreen-orders' has no ManagedNamePrefix parameter: is it a bluegreen stack?"
    )


def test_the_checks_cover_every_statement_of_the_template_scoped_by_the_prefix() -> None:
    statements = load_template()["Resources"]["HookToolsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    scoped = {statement["Sid"] for statement in statements if "ManagedNamePrefix" in json.dumps(statement)}
    covered = {sid for scope in (*checks.SCOPES, checks.VERDICT_SCOPE) for sid in scope.sids}
    assert scoped == covered | set(checks.NOT_IN_PLAN)
    assert not covered & set(checks.NOT_IN_PLAN)
    sections = {scope.section for scope in checks.SCOPES}
    assert sections | set(checks.EXCEPTED) == set(SERVICES) and not sections & set(checks.EXCEPTED)
    unscoped = {statement["Sid"]: statement["Resource"] for statement in statements}
    assert unscoped["SnsSubscriptions"] == "*"  # why SNS is excepted
