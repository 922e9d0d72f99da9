"""bluegreen run: a flow by hand — the same steps as the dry run, asked for first, the record and AWS changed."""

from __future__ import annotations

from bluegreen.refs import StackReference
from bluegreen.state import Phase, StateStore
from tests.cli.conftest import Cli
from tests.support.world import view


def _store(cli: Cli) -> StateStore:
    return StateStore(cli.world.state_table, region=cli.world.region)


def test_prepare_then_retire_by_hand_flips_the_record_and_both_stacks(cli: Cli) -> None:
    ran = cli.with_plan("run", "before-allow-traffic", "--yes")
    assert ran.code == 0, ran.err
    assert "✓ succeeded before-allow-traffic" in ran.out
    assert "no status was reported to CodeDeploy" in ran.out
    record = _store(cli).get("orders")
    assert record is not None and record.deployment_id is not None
    assert record.deployment_id.startswith("manual-")
    assert (record.live, record.phase) == (StackReference.A, Phase.PREPARED)
    assert view(cli.world, "b").working and view(cli.world, "a").working

    ran = cli.with_plan("run", "after-allow-traffic", "--yes")  # the deployment in flight by default
    assert ran.code == 0, ran.err
    record = _store(cli).get("orders")
    assert record is not None
    assert (record.live, record.phase) == (StackReference.B, Phase.RETIRED)
    assert view(cli.world, "a").retired and view(cli.world, "b").working
    assert "CodeDeploy" not in "".join(cli.faults.calls)  # nothing reported


def test_the_run_executes_exactly_the_steps_of_the_dry_run(cli: Cli) -> None:
    for flow in ("prepare", "retire"):
        dry = cli.with_plan("plan", flow, "--deployment-id", "d-1", "--output", "json").json
        ran = cli.with_plan("run", flow, "--yes", "--deployment-id", "d-1", "--output", "json")
        assert ran.code == 0, ran.err
        planned = [step["id"] for wave in dry["waves"] for step in wave]
        assert ran.json["plan"]["waves"] == dry["waves"]
        assert sorted(ran.json["done"]) == sorted(planned)
        assert ran.json["status"] == "succeeded"
        assert "✓ done" in ran.err  # progress goes to stderr when stdout is JSON


def test_without_yes_and_no_terminal_it_refuses_and_changes_nothing(cli: Cli) -> None:
    before = view(cli.world, "b")
    ran = cli.with_plan("run", "before-allow-traffic")
    assert ran.code == 2
    assert ran.err == (
        "bluegreen: error: not changing anything without confirmation: stdin is not a terminal; pass --yes to run\n"
    )
    assert "wave 1" in ran.out  # the dry run was shown
    assert cli.changes == []
    assert _store(cli).get("orders") is None
    assert view(cli.world, "b") == before


def test_answering_no_changes_nothing(cli: Cli) -> None:
    ran = cli.with_plan("run", "prepare", stdin="n\n", tty=True)
    assert ran.code == 1
    assert "Proceed? [y/N]" in ran.err and "aborted: nothing was changed" in ran.err
    assert cli.changes == []


def test_answering_yes_runs_it(cli: Cli) -> None:
    ran = cli.with_plan("run", "prepare", stdin="y\n", tty=True)
    assert ran.code == 0, ran.err
    assert view(cli.world, "b").working


def test_a_failed_prepare_is_undone_and_exits_1(cli: Cli) -> None:
    cli.faults.arm("UpdateService", code="AccessDenied")
    ran = cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1")
    assert ran.code == 1
    assert "✗ failed before-allow-traffic" in ran.out
    assert "ecs[0].enable" in ran.out and "AccessDenied" in ran.out
    record = _store(cli).get("orders")
    assert record is not None and record.phase is Phase.PREPARE_FAILED
    b = view(cli.world, "b")
    assert not b.subscription_enabled and b.consumer is None and set(b.mappings) == {"Disabled"}


def test_retire_resumes_a_flipped_deployment(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    _store(cli).flip("orders", "d-1")  # as if the retire hook died right after the flip
    ran = cli.with_plan("run", "retire", "--yes")
    assert ran.code == 0, ran.err
    record = _store(cli).get("orders")
    assert record is not None and (record.live, record.phase) == (StackReference.B, Phase.RETIRED)
    assert view(cli.world, "a").retired


def test_retire_with_nothing_prepared_is_refused(cli: Cli) -> None:
    ran = cli.with_plan("run", "after-allow-traffic", "--yes")
    assert ran.code == 4
    assert ran.err.startswith("bluegreen: error: refused: no live-stack record for application 'orders'")
    assert cli.changes == []
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    ran = cli.with_plan("run", "retire", "--yes", "--deployment-id", "d-2")
    assert ran.code == 1
    assert "deployment d-2 was never prepared" in ran.err


def test_a_prepared_deployment_is_not_prepared_again(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    calls = len(cli.faults.calls)
    ran = cli.with_plan("run", "prepare", "--deployment-id", "d-1")  # no --yes needed: nothing to change
    assert ran.code == 0
    assert "already prepared" in ran.out
    assert cli.faults.calls[calls:] == ["GetItem", "GetDeployment"]
