"""bluegreen run: a flow by hand — the same steps as the dry run, asked for first, the record and AWS changed."""

from __future__ import annotations

from bluegreen.refs import StackReference
from bluegreen.state import Phase, StateStore
from tests.cli.conftest import Cli
from tests.support.codedeploy import DeploymentBook, install_shim
from tests.support.world import view

A = StackReference.A


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


# --------------------------------------------------------------------------- superseding one in flight


def _ended_in_flight(cli: Cli) -> DeploymentBook:
    """CodeDeploy's d-1 prepared by hand, then stopped by CodeDeploy: the record still shows it in flight."""
    book = install_shim(cli.monkeypatch).deployments
    book.create("d-1")
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    book.stop("d-1")
    record = _store(cli).get("orders")
    assert record is not None and record.in_flight and record.phase is Phase.PREPARED
    return book


def test_superseding_a_deployment_in_flight_is_refused_without_force(cli: Cli) -> None:
    _ended_in_flight(cli)
    before = (_store(cli).get("orders"), view(cli.world, "a"), view(cli.world, "b"))
    calls = len(cli.faults.calls)
    ran = cli.with_plan("run", "before-allow-traffic", "--yes", "--deployment-id", "d-2")
    assert ran.code == 1
    assert ran.err.startswith(
        "bluegreen: error: refused: deployment d-1 is in flight on record, and CodeDeploy has ended it: this prepare "
        "of d-2 would supersede it — first undo-prepare of deployment d-1: "
    )
    assert "then prepare stack b. Pass --force to do so" in ran.err
    assert not [name for name in cli.faults.calls[calls:] if not name.startswith(("Get", "Describe", "List"))]
    assert (_store(cli).get("orders"), view(cli.world, "a"), view(cli.world, "b")) == before
    as_json = cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-2", "--output", "json")
    assert as_json.code == 1
    assert (as_json.json["status"], as_json.json["plan"]["supersedes"]) == ("refused", "d-1")
    assert as_json.json["message"].startswith("deployment d-1 is in flight on record")
    dry = cli.with_plan("plan", "prepare", "--deployment-id", "d-2", "--output", "json")
    assert dry.code == 0 and dry.json["supersedes"] == "d-1" and dry.json["refused"] is None
    assert any("a run by hand needs --force" in note for note in dry.json["notes"])


def test_with_force_the_deployment_in_flight_is_put_back_and_the_prepare_goes_on(cli: Cli) -> None:
    _ended_in_flight(cli)
    ran = cli.with_plan("run", "before-allow-traffic", "--yes", "--force", "--deployment-id", "d-2")
    assert ran.code == 0, ran.err
    assert "✓ succeeded before-allow-traffic" in ran.out
    record = _store(cli).get("orders")
    assert record is not None and (record.deployment_id, record.phase, record.live) == ("d-2", Phase.PREPARED, A)
    assert "d-1" in record.ended_deployment_ids
    assert view(cli.world, "a").working and view(cli.world, "b").working


def test_force_is_not_needed_when_nothing_is_in_flight(cli: Cli) -> None:
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    assert cli.with_plan("run", "retire", "--yes").code == 0
    ran = cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-2", "--output", "json")
    assert ran.code == 0, ran.err
    assert ran.json["plan"]["supersedes"] is None


def test_force_does_not_override_a_refusal_of_the_decision(cli: Cli) -> None:
    book = install_shim(cli.monkeypatch).deployments
    book.create("d-1")
    assert cli.with_plan("run", "prepare", "--yes", "--deployment-id", "d-1").code == 0
    ran = cli.with_plan("run", "prepare", "--yes", "--force", "--deployment-id", "d-2")  # d-1 still runs
    assert ran.code == 1
    assert "d-1 of orders/orders-dg (InProgress)" in ran.err and "is refused and nothing is changed" in ran.err
