"""Operating a deployment from the command line: `run abort`, `status --watch`, `logs` (against moto)."""

from __future__ import annotations

import json

import boto3

from tests.cli.conftest import Cli
from tests.conftest import REGION
from tests.support.world import view


def test_abort_puts_a_prepared_replacement_back_and_status_says_why(cli: Cli) -> None:
    live_before = view(cli.world, "a")
    assert cli.with_plan("run", "before-allow-traffic", "--yes", "--deployment-id", "d-1").code == 0
    assert view(cli.world, "b").working

    dry = cli.with_plan("plan", "abort", "--output", "json")
    assert dry.code == 0 and dry.json["refused"] is None, dry.out
    assert dry.json["settle"]["record"][-1].endswith("settled (its replacement back to retired)")
    assert view(cli.world, "b").working  # the dry run changed nothing

    ran = cli.with_plan("run", "abort", "--yes", "--output", "json")
    assert ran.code == 0, ran.err
    assert ran.json["status"] == "succeeded"
    b = view(cli.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and b.cluster_status == "stopped"
    assert view(cli.world, "a") == live_before
    report = cli.with_plan("status", "--record-only", "--output", "json").json
    assert report["deployment"]["phase"] == "rolled-back"
    assert report["deployment"]["failure"].startswith("aborted by hand: deployment d-1 ended STOP")


def test_abort_with_no_deployment_on_record_is_refused_as_not_found(cli: Cli) -> None:
    ran = cli.with_plan("run", "abort", "--yes")
    assert ran.code == 4 and "nothing to abort" in ran.err
    assert cli.changes == []


def test_watch_exits_by_how_the_deployment_ended(cli: Cli) -> None:
    for flow in ("before-allow-traffic", "after-allow-traffic"):
        assert cli.with_plan("run", flow, "--yes", "--deployment-id", "d-1").code == 0
    settled = cli.with_plan("status", "--watch", "--record-only", "--output", "json")
    assert settled.code == 0 and settled.json["watch"] == {"exit_code": 0, "settled": True}

    assert cli.with_plan("run", "before-allow-traffic", "--yes", "--deployment-id", "d-2").code == 0
    waiting = cli.with_plan("status", "--watch", "--record-only", "--interval", "0.01", "--timeout", "0.05")
    assert waiting.code == 5, waiting.err
    assert "deployment d-2 prepared (in flight)" in waiting.out and "not settled within 0.05 s" in waiting.out

    assert cli.with_plan("run", "abort", "--yes").code == 0
    failed = cli.with_plan("status", "--watch", "--record-only")
    assert failed.code == 1 and "failed: aborted by hand" in failed.out


def test_logs_prints_the_lines_of_one_deployment(cli: Cli) -> None:
    client = boto3.client("logs", region_name=REGION)
    group, stream = "/aws/lambda/CodeDeployHook_bluegreen-orders_prepare", "s"
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    lines = [{"level": "INFO", "message": f"step {n} done", "deployment_id": d} for n, d in enumerate(["d-1", "d-2"])]
    client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": 1_796_000_000_000 + n, "message": json.dumps(line)} for n, line in enumerate(lines)],
    )
    text = cli("logs", "--stack", "bluegreen-orders", "--deployment-id", "d-1", "--region", REGION)
    assert text.code == 0 and "prepare INFO step 0 done" in text.out and "step 1" not in text.out
    assert "bluegreen-orders-deployment-events does not exist" in text.err
    as_json = cli(
        "logs", "--stack", "bluegreen-orders", "--deployment-id", "d-1", "--region", REGION, "--output", "json"
    )
    assert [json.loads(line)["line"]["message"] for line in as_json.out.splitlines()] == ["step 0 done"]
    assert cli("logs", "--deployment-id", "d-1").code == 2  # --stack is required
