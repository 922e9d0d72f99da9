"""bluegreen plan: the dry run shows the steps in waves with their calls, and changes nothing."""

from __future__ import annotations

from typing import Any

from bluegreen.engine import Step
from bluegreen.engine import waves as engine_waves
from bluegreen.flows import retire_steps
from bluegreen.plan import parse_plan
from bluegreen.refs import StackReference
from bluegreen.state import Phase, StateStore
from bluegreen.toolbox import Toolbox
from tests.cli.conftest import Cli
from tests.support.world import view

PREPARE_WAVES = [
    ["dynamodb[0].check"],
    ["aurora[0].ready"],
    ["aurora[0].scale-out", "sqs[0].purge", "kinesis[0].register"],
    [
        "ecs[0].enable",
        "sns[0].enable",
        "lambda[0].mappings.enable",
        "lambda[0].rules.enable",
        "cloudwatch[0].enable",
        "kinesis[0].map",
    ],
]
# Within a wave, steps come in the order of the services' registry (bluegreen.services.REGISTRY).
# The settle windows: the new subscriptions settle, the old ones go off, the old consumers drain.
RETIRE_FIRST_WAVES = [
    ["sns.settle"],
    ["sns[0].disable"],
    ["sns.drain"],
    ["ecs[0].disable", "lambda[0].mappings.disable", "lambda[0].rules.disable", "cloudwatch[0].disable"],
]


def _retire_steps(cli: Cli, old: StackReference) -> list[Step]:
    plan = parse_plan(cli.world.plan)
    return retire_steps(plan, Toolbox(plan, region=cli.world.region), old)


def _ids(waves: list[list[dict[str, Any]]]) -> list[list[str]]:
    return [[step["id"] for step in wave] for wave in waves]


def test_prepare_dry_run_in_waves_changes_nothing(cli: Cli) -> None:
    before = {stack: view(cli.world, stack) for stack in ("a", "b")}
    ran = cli.with_plan("plan", "before-allow-traffic", "--output", "json")
    assert ran.code == 0, ran.err
    plan = ran.json
    assert (plan["flow"], plan["live"], plan["target"], plan["refused"]) == ("before-allow-traffic", "a", "b", None)
    assert plan["deployment_id"].startswith("manual-")
    assert _ids(plan["waves"]) == PREPARE_WAVES
    ecs = next(step for wave in plan["waves"] for step in wave if step["id"] == "ecs[0].enable")
    assert ecs["calls"] == [
        "ecs:UpdateService deep-sea-fargate/thing-runner-b-prod desiredCount=2",
        "application-autoscaling:RegisterScalableTarget (scaling resumed, when it has a target)",
    ]
    assert (ecs["stack"], ecs["destructive"]) == ("b", False)
    assert plan["record_before"][0].startswith("dynamodb:PutItem orders: the first record")
    # Only the record was read: no change, nothing else.
    assert cli.faults.calls == ["GetItem", "GetDeployment"]  # the record, and CodeDeploy's view, as a run reads them
    assert {stack: view(cli.world, stack) for stack in ("a", "b")} == before
    assert cli.with_plan("status", "--record-only", "--output", "json").json["recorded"] is False


def test_prepare_text_shows_waves_calls_and_says_nothing_changed(cli: Cli) -> None:
    ran = cli.with_plan("plan", "prepare")
    assert ran.code == 0, ran.err
    out = ran.out
    assert "before-allow-traffic for orders (eu-central-1): live a · prepares stack b" in out
    assert out.index("wave 1") < out.index("dynamodb[0].check") < out.index("wave 2") < out.index("aurora[0].ready")
    assert "wave 3 (3 steps in parallel)" in out and "wave 4 (6 steps in parallel)" in out
    assert "rds:StartDBCluster fn-db-b-dev (when stopped)" in out
    assert "on failure: the finished steps are undone (stack b back to retired)" in out
    assert out.rstrip().endswith("dry run: nothing was changed")
    assert cli.changes == []


def test_retire_dry_run_after_a_prepare_retires_a_and_changes_nothing(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    before = {stack: view(cli.world, stack) for stack in ("a", "b")}
    calls = len(cli.faults.calls)
    ran = cli.with_plan("plan", "after-allow-traffic", "--output", "json")
    assert ran.code == 0, ran.err
    plan = ran.json
    assert (plan["deployment_id"], plan["live"], plan["new_live"], plan["target"]) == ("d-1", "a", "b", "a")
    waves = _ids(plan["waves"])
    assert waves == [[step.id for step in wave] for wave in engine_waves(_retire_steps(cli, StackReference.A))]
    assert waves[:4] == RETIRE_FIRST_WAVES  # reversible first, after the settle windows
    assert waves[4] == ["sqs[0].purge", "kinesis[0].unmap"]  # then irreversible, once all of those succeeded
    assert waves[-1] == ["aurora[0].stop"]  # the old database last of all
    steps = {step["id"]: step for wave in plan["waves"] for step in wave}
    assert steps["sqs[0].purge"]["destructive"] and steps["sqs[0].purge"]["irreversible"]
    assert steps["aurora[0].scale-in"]["stack"] == "b" and not steps["aurora[0].scale-in"]["destructive"]
    assert "live a → b" in plan["record_before"][0]
    assert cli.faults.calls[calls:] == ["GetItem", "GetDeployment"]
    assert {stack: view(cli.world, stack) for stack in ("a", "b")} == before
    text = cli.with_plan("plan", "retire").out
    assert "after-allow-traffic for orders (eu-central-1): live a → b · retires stack a · deployment d-1" in text
    assert (
        "sqs[0].purge  purge queue fn-queue-a-dev and DLQ fn-dlq-a-dev (what is left also reached the new stack)"
        "  stack a destructive irreversible" in text
    )
    assert "sns.settle  wait until stack b's subscriptions have been on for 0.002 min" in text
    assert "sns.drain  let stack a's consumers drain for 0.002 min after its subscriptions went off" in text


def test_a_prepare_over_one_run_by_hand_in_flight_is_refused_naming_what_to_run(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    ran = cli.with_plan("plan", "prepare", "--output", "json")
    assert ran.code == 1
    assert "d-1 (run by hand) is still in flight (prepared)" in ran.json["refused"]
    assert "bluegreen run settle --deployment-id d-1" in ran.json["refused"]
    assert ran.json["decision"].startswith("refuse: ")
    same = cli.with_plan("plan", "prepare", "--deployment-id", "d-1", "--output", "json")
    assert same.code == 0 and same.json["waves"] == []
    assert "already prepared" in same.json["notes"][0]


def test_settle_by_hand_puts_the_replacement_back_and_lets_the_next_prepare_go(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    assert view(cli.world, "b").working
    dry = cli.with_plan("plan", "settle", "--output", "json")
    assert dry.code == 0 and dry.json["settle"]["what"].startswith("undo-prepare of deployment d-1")
    assert any(step["id"] == "undo:ecs[0].enable" for wave in dry.json["settle"]["waves"] for step in wave)
    assert view(cli.world, "b").working  # the dry run changed nothing
    assert cli.with_plan("run", "settle", "--yes").code == 0
    b = view(cli.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and b.cluster_status == "stopped"
    assert view(cli.world, "a").working
    record = StateStore(cli.world.state_table, region=cli.world.region).get("orders")
    assert record is not None and record.phase is Phase.ROLLED_BACK and record.settled
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-2").code == 0


def test_retire_with_no_record_is_refused_with_exit_4(cli: Cli) -> None:
    ran = cli.with_plan("plan", "after-allow-traffic")
    assert ran.code == 4
    assert ran.err.startswith("bluegreen: error: a run would be refused: no live-stack record for application 'orders'")
    assert ran.err.count("\n") == 1


def test_retire_with_nothing_in_flight_is_refused_with_exit_1(cli: Cli) -> None:
    for flow in ("prepare", "retire"):
        assert cli.with_plan("run", flow, "--yes", "--deployment-id", "d-1").code == 0
    ran = cli.with_plan("plan", "retire", "--output", "json")
    assert ran.code == 1
    assert ran.json["refused"].startswith("nothing to retire: no deployment is in flight")
    assert ran.json["waves"] == []


def test_a_prepare_is_refused_while_a_flipped_deployment_is_not_retired(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    StateStore(cli.world.state_table, region=cli.world.region).flip("orders", "d-1")
    ran = cli.with_plan("plan", "prepare")
    assert ran.code == 1
    assert "deployment d-1 (run by hand) is still in flight (flipped)" in ran.err
    resumed = cli.with_plan("plan", "retire", "--output", "json").json
    assert (resumed["live"], resumed["target"], resumed["record_before"]) == ("b", "a", [])
    assert any("resumes the retire of a" in note for note in resumed["notes"])
