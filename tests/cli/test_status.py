"""bluegreen status: the record and both stacks side by side, as moto holds them; reads only."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.cli.conftest import READ_PREFIXES, Cli
from tests.conftest import REGION
from tests.support.world import StackView, view
from tests.unit.test_cloudwatch import older_botocore


def _side(report: dict[str, Any], row: str, stack: str) -> dict[str, Any]:
    found = next(r for r in report["resources"] if r["id"] == row)
    return found[stack]  # type: ignore[no-any-return]


def _assert_matches(report: dict[str, Any], stack: str, seen: StackView) -> None:
    """What status reports for ``stack`` is what moto holds (read back independently by tests.support.world)."""
    assert _side(report, "ecs[0]", stack)["data"]["desired_count"] == seen.desired_tasks
    assert _side(report, "sns[0]", stack)["data"]["enabled"] is seen.subscription_enabled
    mappings = _side(report, "lambda[0].mappings", stack)["data"]["mappings"]
    assert tuple(sorted(m["state"] for m in mappings)) == seen.mappings
    rules = _side(report, "lambda[0].rules", stack)["data"]["rules"]
    assert tuple(sorted(r["state"] for r in rules)) == seen.rules
    alarms = _side(report, "cloudwatch[0]", stack)["data"]["alarms"]
    assert sorted(alarms.values()) == sorted(seen.alarm_actions)
    kinesis = _side(report, "kinesis[0]", stack)["data"]
    assert kinesis["consumer_status"] == seen.consumer
    assert len(kinesis["mappings"]) == seen.kinesis_mappings
    table = _side(report, "dynamodb[0]", stack)
    assert table["missing"] is not seen.table_exists
    aurora = _side(report, "aurora[0]", stack)["data"]
    assert (aurora["status"], aurora["min_capacity"]) == (seen.cluster_status, seen.min_capacity)
    assert sum(_side(report, "sqs[0]", stack)["data"]["messages"].values()) == seen.queue_depth


def test_before_any_deployment_a_is_live_and_b_retired(cli: Cli) -> None:
    ran = cli.with_plan("status", "--output", "json")
    assert ran.code == 0, ran.err
    report = ran.json
    assert (report["live"], report["replacement"], report["recorded"]) == ("a", "b", False)
    assert report["deployment"] is None and report["history"] == []
    assert report["stacks"] == {
        "a": {"role": "live", "condition": "working"},
        "b": {"role": "replacement", "condition": "retired"},
    }
    assert report["warnings"] == [] and report["errors"] == []
    for stack in ("a", "b"):
        _assert_matches(report, stack, view(cli.world, stack))
    assert _side(report, "aurora[0]", "a")["data"]["readers"] == 2


def test_status_only_reads(cli: Cli) -> None:
    cli.with_plan("status")
    assert cli.faults.calls and cli.changes == []
    assert all(name.startswith(READ_PREFIXES) for name in cli.faults.calls)


def test_the_text_shows_both_stacks_side_by_side(cli: Cli) -> None:
    ran = cli.with_plan("status")
    assert ran.code == 0, ran.err
    assert "live stack a" in ran.out
    assert "no deployment yet" in ran.out
    assert "a · live" in ran.out and "b · replacement" in ran.out
    for row in ("ecs[0]", "sqs[0]", "sns[0]", "lambda[0].mappings", "lambda[0].rules", "cloudwatch[0]"):
        assert row in ran.out
    assert "desired 2" in ran.out and "desired 0" in ran.out
    assert "stopped · 0 readers · min 1" in ran.out
    assert "available · 2 readers · min 1" in ran.out


def test_after_a_prepare_b_shows_enabled_and_the_deployment_prepared(cli: Cli) -> None:
    assert cli.with_plan("run", "before-allow-traffic", "--yes", "--deployment-id", "d-1").code == 0
    report = cli.with_plan("status", "--output", "json").json
    assert report["deployment"]["id"] == "d-1"
    assert (report["deployment"]["phase"], report["deployment"]["in_flight"]) == ("prepared", True)
    assert report["stacks"]["b"] == {"role": "replacement", "condition": "working"}
    assert _side(report, "sns[0]", "b")["state"] == "enabled"
    assert _side(report, "ecs[0]", "b")["state"] == "desired 2"
    for stack in ("a", "b"):
        _assert_matches(report, stack, view(cli.world, stack))
    ran = cli.with_plan("status")
    assert "deployment d-1 (a → b): prepared, in flight" in ran.out


def test_after_a_whole_deployment_b_is_live_and_history_shows_it(cli: Cli) -> None:
    for flow in ("before-allow-traffic", "after-allow-traffic"):
        assert cli.with_plan("run", flow, "--yes", "--deployment-id", "d-1").code == 0
    report = cli.with_plan("status", "--output", "json").json
    assert (report["live"], report["replacement"]) == ("b", "a")
    assert report["stacks"] == {
        "a": {"role": "replacement", "condition": "retired"},
        "b": {"role": "live", "condition": "working"},
    }
    assert [h["deployment_id"] for h in report["history"]] == ["d-1"]
    for stack in ("a", "b"):
        _assert_matches(report, stack, view(cli.world, stack))
    assert "history: d-1 a→b retired" in cli.with_plan("status").out


def test_a_failed_deployment_shows_its_failing_step_and_error(cli: Cli) -> None:
    from bluegreen.state import Phase, StateStore  # noqa: PLC0415

    store = StateStore(cli.world.state_table, region=REGION)
    store.begin("orders", "d-1", "a")
    why = "prepare of stack b failed: sqs[0].purge: AccessDenied: not authorized to purge"
    store.finish("orders", "d-1", Phase.PREPARE_FAILED, reason=why)
    report = cli.with_plan("status", "--record-only", "--output", "json").json
    assert report["deployment"]["failure"] == why
    assert report["history"][-1]["reason"] == why
    text = cli.with_plan("status", "--record-only").out
    assert "failed: prepare of stack b failed: sqs[0].purge: AccessDenied" in " ".join(text.split())


def test_a_missing_resource_is_shown_as_missing_and_warned_about_on_the_live_stack(cli: Cli) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.delete_table(TableName="table-a-dev")
    ddb.delete_table(TableName="table-b-dev")
    ran = cli.with_plan("status", "--output", "json")
    assert ran.code == 0  # missing is a state, not a failed read
    assert _side(ran.json, "dynamodb[0]", "a")["missing"] is True
    assert _side(ran.json, "dynamodb[0]", "b")["state"] == "missing"
    assert ran.json["warnings"] == ["live stack a: dynamodb[0] (table-a-dev) is missing"]
    text = cli.with_plan("status").out
    assert "missing" in text and "warning: live stack a: dynamodb[0] (table-a-dev) is missing" in text


def test_a_live_stack_half_off_is_warned_about(cli: Cli) -> None:
    boto3.client("ecs", region_name=REGION).update_service(
        cluster="deep-sea-fargate", service="thing-runner-a-prod", desiredCount=0
    )
    report = cli.with_plan("status", "--output", "json").json
    assert report["stacks"]["a"]["condition"] == "mixed"
    assert report["warnings"] == ["live stack a: ecs[0] (worker service in deep-sea-fargate) is off: desired 0"]


def test_a_read_refused_for_one_service_is_shown_in_its_cells_and_exits_1(cli: Cli) -> None:
    cli.faults.arm("DescribeAlarms", code="AccessDenied")
    ran = cli.with_plan("status", "--output", "json")
    assert ran.code == 1
    # Reads run in parallel: the first DescribeAlarms (of a or of b) is the one refused.
    refused = [s for s in ("a", "b") if _side(ran.json, "cloudwatch[0]", s)["error"]]
    assert len(refused) == 1
    (stack,) = refused
    assert _side(ran.json, "cloudwatch[0]", stack)["error"].startswith("AccessDenied: injected fault")
    assert ran.json["errors"] == [f"cloudwatch[0].{stack}: AccessDenied: injected fault at DescribeAlarms"]
    assert ran.json["stacks"][stack]["condition"] == "unknown"
    assert _side(ran.json, "ecs[0]", "a")["state"] == "desired 2"  # the rest is still read


def test_record_only_reads_the_record_alone(cli: Cli) -> None:
    ran = cli.with_plan("status", "--record-only", "--output", "json")
    assert ran.code == 0
    assert (ran.json["live"], ran.json["replacement"], ran.json["resources"]) == ("a", "b", None)
    assert cli.faults.calls == ["GetItem"]


def test_status_says_when_the_deployment_acts_on_an_older_plan(cli: Cli) -> None:
    import yaml  # noqa: PLC0415

    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    before = cli.with_plan("status", "--record-only", "--output", "json").json
    assert before["plan_differs"] is False and before["deployment"]["plan_sha256"] == before["plan_sha256"]
    edited = dict(cli.world.plan, deadline_minutes=30)  # the plan is edited while d-1 is in flight
    cli.plan_file.write_text(yaml.safe_dump(edited, sort_keys=False), encoding="utf-8")
    after = cli.with_plan("status", "--record-only", "--output", "json").json
    assert after["plan_differs"] is True
    assert any("acts on the plan it was prepared with" in warning for warning in after["warnings"])
    # the retire, run by hand, acts on the plan d-1 was prepared with and says so
    dry = cli.with_plan("plan", "retire", "--output", "json").json
    assert any("acts on the plan it was prepared with" in note for note in dry["notes"])


def test_status_warns_when_this_botocore_cannot_return_log_alarms(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    older_botocore(monkeypatch, "1.35.99", drop=("LogAlarms",))
    ran = cli.with_plan("status", "--output", "json")
    assert ran.code == 0, ran.err
    (warning,) = ran.json["warnings"]
    assert warning.startswith("botocore 1.35.99 cannot return CloudWatch alarms of type LogAlarm")
    assert ran.err.count("botocore 1.35.99 cannot return") == 1  # logged once, though both stacks' alarms were read
    for stack in ("a", "b"):  # the metric alarms are still read
        _assert_matches(ran.json, stack, view(cli.world, stack))
    assert f"warning: {warning}" in " ".join(cli.with_plan("status").out.split())
    assert cli.with_plan("status", "--record-only", "--output", "json").json["warnings"] == []
