"""The verdict as the command line shows it: the dry run's step, and ``bluegreen status`` after a failed one."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from tests.cli.conftest import Cli
from tests.conftest import REGION


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
