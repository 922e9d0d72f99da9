"""The verdict as the command line shows it: the dry run's step, and ``bluegreen status`` after a failed one."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import yaml

from bluegreen.local.seed import verdict_section
from bluegreen.state import StateStore
from tests.cli.conftest import Cli
from tests.conftest import REGION
from tests.support.codedeploy import install_shim


def _errors(function: str, errors: float, invocations: float) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for metric, value in (("Errors", errors), ("Invocations", invocations)):
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                    "Timestamp": datetime.now(UTC),
                    "Value": value,
                }
            ],
        )


def test_the_dry_run_shows_what_the_verdict_measures_and_its_thresholds(judged: Cli) -> None:
    assert judged.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    dry = judged.with_plan("plan", "retire", "--deployment-id", "d-1")
    assert dry.code == 0
    assert "verdict.before-retire" in dry.out and "judge stack b" in dry.out
    assert "Errors, Throttles, Invocations of fn-b-dev (max_error_rate 0.05, max_throttles 0)" in dry.out
    assert "depth of fn-dlq-b-dev (growth ≤ 0)" in dry.out


def test_status_shows_a_failed_verdict_with_its_numbers(judged: Cli) -> None:
    assert judged.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    _errors("fn-b-dev", 4, 10)
    ran = judged.with_plan("run", "retire", "--yes", "--deployment-id", "d-1")
    assert ran.code == 1
    shown = judged.with_plan("status")
    assert "verdict before-retire on stack b: failed" in shown.out
    assert "✗ lambda fn-b-dev errors/invocations: 0.4 (4 of 10) (limit ≤ 0.05)" in shown.out
    assert "verdict before-traffic on stack b: passed" in shown.out
    data = judged.with_plan("status", "--output", "json").json
    verdicts = data["deployment"]["verdicts"]
    assert verdicts["before-retire"]["passed"] is False and verdicts["before-traffic"]["passed"] is True
    assert "before-retire verdict on stack b failed" in data["history"][-1]["verdict"]


def _at_test_traffic(cli: Cli) -> None:
    plan = dict(cli.world.plan)
    plan["verdict"] = {**plan["verdict"], "before_traffic": {**plan["verdict"]["before_traffic"], "at": "test-traffic"}}
    cli.world.plan = plan
    cli.plan_file.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")


def test_the_test_traffic_verdict_can_be_dry_run_and_run_by_hand(judged: Cli) -> None:
    _at_test_traffic(judged)
    assert judged.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    dry = judged.with_plan("plan", "test-traffic", "--output", "json")
    assert dry.code == 0 and dry.json["refused"] is None
    [[step]] = dry.json["waves"]
    assert step["id"] == "verdict.before-traffic" and step["stack"] == "b"
    assert "lambda:Invoke fn-smoke-b-dev (RequestResponse, 10 s, no retry)" in step["calls"]
    ran = judged.with_plan("run", "after-allow-test-traffic", "--yes", "--output", "json")
    assert ran.code == 0, ran.err
    record = StateStore(judged.world.state_table, region=REGION).get("orders")
    assert record is not None and dict(record.verdicts)["before-traffic"]["passed"] is True


def test_the_test_traffic_dry_run_refuses_a_deployment_that_is_not_prepared(judged: Cli) -> None:
    _at_test_traffic(judged)
    dry = judged.with_plan("plan", "test-traffic", "--deployment-id", "d-9", "--output", "json")
    assert dry.code != 0 and "was never prepared" in dry.json["refused"]
    assert judged.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    judged.world.plan = {k: v for k, v in judged.world.plan.items() if k != "verdict"}
    judged.plan_file.write_text(yaml.safe_dump(judged.world.plan, sort_keys=False), encoding="utf-8")
    # the record keeps the plan the deployment began with: its verdict is at test-traffic
    assert judged.with_plan("plan", "test-traffic", "--output", "json").json["waves"] != []


def test_the_dry_run_of_a_lambda_deployment_shows_its_prepare_failing_on_a_verdict_at_test_traffic(cli: Cli) -> None:
    install_shim(cli.monkeypatch).deployments.create("d-1")  # a Lambda deployment: no AfterAllowTestTraffic
    verdict = verdict_section()
    verdict["before_traffic"] = {**verdict["before_traffic"], "at": "test-traffic"}
    cli.plan_file.write_text(yaml.safe_dump({**cli.world.plan, "verdict": verdict}, sort_keys=False), encoding="utf-8")
    dry = cli.with_plan("plan", "before-allow-traffic", "--deployment-id", "d-1", "--output", "json")
    assert dry.code != 0 and dry.json["waves"] == []
    assert "plan.verdict.before_traffic.at is test-traffic, but d-1 is a Lambda deployment" in dry.json["refused"]
    assert cli.changes == []  # a dry run changes nothing
