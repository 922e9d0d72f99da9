"""The dry run against the run: the record writes it announces are the ones the run makes, its act is the run's.

The dry run takes its decision from the function the run takes it from (``decide_for`` →
:func:`bluegreen.hooks.decide.decide`) and runs the same step builders, but it *describes* the record
writes (``bluegreen.cli.dryrun._plan_prepare`` / ``_plan_retire`` / ``settle_writes``), after
:mod:`bluegreen.hooks.runs`, :mod:`bluegreen.hooks.settle` and :class:`bluegreen.state.StateStore`.
These tests run the same flow for real and compare, in order: a change on either side that is not made
on the other fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import bluegreen.aws
import bluegreen.cli.dryrun
import bluegreen.hooks.invocation
from bluegreen.engine import RunStatus
from bluegreen.hooks import Flow, Runtime, run_flow
from bluegreen.hooks.decide import Act, Decision
from bluegreen.plan import parse_plan
from bluegreen.refs import StackReference
from bluegreen.state import Phase, StateStore
from tests.cli.conftest import Cli

APP = "orders"
ITEM_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


@dataclass
class RecordWrites:
    """The writes to the application's record in the state table (not the lease's or the reports' items)."""

    table: str
    active: bool = False
    ops: list[str] = field(default_factory=list)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if not self.active or model.name not in ITEM_WRITES:
            return
        body = json.loads(params.get("body") or b"{}")
        key = body.get("Key") or body.get("Item") or {}
        if body.get("TableName") == self.table and key.get("application", {}).get("S") == APP:
            self.ops.append(model.name)


@pytest.fixture
def writes(cli: Cli) -> Iterator[RecordWrites]:
    recorder = RecordWrites(cli.world.state_table)
    # Before any command: clients copy the session's hooks when they are made.
    bluegreen.aws.default_session().events.register("before-call.dynamodb.*", recorder)
    yield recorder
    bluegreen.aws.default_session().events.unregister("before-call.dynamodb.*", recorder)


def _store(cli: Cli) -> StateStore:
    return StateStore(cli.world.state_table, region=cli.world.region)


def _announced(plan: dict[str, Any]) -> list[str]:
    """The record writes the dry run lists: the settle's, then before the steps, in the steps (their calls), after."""
    in_steps = [
        call for wave in plan["waves"] for step in wave for call in step["calls"] if call.startswith("dynamodb:")
    ]
    settle = plan["settle"]["record"] if plan["settle"] else []
    lines = [*settle, *plan["record_before"], *in_steps, *plan["record_after"]]
    ops = [line.removeprefix("dynamodb:").split(" ", 1)[0] for line in lines]
    return [op for op in ops if op in ITEM_WRITES]


def _run(cli: Cli, *argv: str) -> None:
    assert cli.with_plan(*argv, "--yes").code == 0


def _first_prepare(cli: Cli) -> None:
    return None


def _after_a_whole_deployment(cli: Cli) -> None:
    _run(cli, "run", "prepare", "--deployment-id", "d-0")
    _run(cli, "run", "retire")


def _prepared(cli: Cli) -> None:
    _run(cli, "run", "prepare", "--deployment-id", "d-1")


def _flipped(cli: Cli) -> None:
    _prepared(cli)
    _store(cli).flip(APP, "d-1")


def _preparing(cli: Cli) -> None:
    _store(cli).begin(APP, "d-1", StackReference.A)


def _prepare_failed(cli: Cli) -> None:
    _preparing(cli)
    _store(cli).finish(APP, "d-1", Phase.PREPARE_FAILED)


def _retire_cut_short(cli: Cli) -> None:
    _flipped(cli)
    _store(cli).unflip(APP, "d-1")


# (set-up, (flow, deployment)): every record write the run makes is listed by the dry run, in order
SCENARIOS: list[Any] = [
    pytest.param(_first_prepare, ("prepare", "d-1"), id="first-prepare"),
    pytest.param(_after_a_whole_deployment, ("prepare", "d-1"), id="next-prepare"),
    pytest.param(_preparing, ("prepare", "d-1"), id="prepare-resumed"),
    pytest.param(_prepared, ("retire", "d-1"), id="retire"),
    pytest.param(_flipped, ("retire", "d-1"), id="retire-resumed-after-the-flip"),
    pytest.param(_prepare_failed, ("prepare", "d-1"), id="prepare-put-back"),  # mark_settled after the undo
    pytest.param(_retire_cut_short, ("retire", "d-1"), id="retire-put-back"),  # finish rolled-back
    pytest.param(_prepare_failed, ("prepare", "d-2"), id="settle-then-prepare"),  # the settle's mark_settled first
    pytest.param(_prepared, ("settle", "d-1"), id="settle-by-hand"),  # finish rolled-back, then mark_settled
    pytest.param(_flipped, ("settle", "d-1"), id="settle-by-hand-after-the-flip"),  # flip back, finish, mark
]


def _run_recorded(cli: Cli, writes: RecordWrites, flow: str, deployment: str) -> Any:
    """``bluegreen run`` of ``flow`` for ``deployment``, with the record writes it makes recorded."""
    writes.active = True
    try:
        return cli.with_plan("run", flow, "--yes", "--deployment-id", deployment, "--output", "json")
    finally:
        writes.active = False


@pytest.mark.parametrize(("before", "flow"), SCENARIOS)
def test_the_record_writes_announced_are_the_ones_the_run_makes(
    cli: Cli, writes: RecordWrites, before: Callable[[Cli], None], flow: tuple[str, str]
) -> None:
    before(cli)
    name, deployment = flow
    dry = cli.with_plan("plan", name, "--deployment-id", deployment, "--output", "json")
    assert dry.code == 0 and dry.json["refused"] is None, dry.out
    ran = _run_recorded(cli, writes, name, deployment)
    put_back = dry.json["decision"].startswith(f"{Act.RESUME_PUT_BACK.value}:")
    assert ran.code == (1 if put_back else 0), ran.err  # a put-back is finished, then Failed
    assert writes.ops, "no write to the record was seen: the recorder is not on the store's client"
    assert _announced(dry.json) == writes.ops


def _runtime(cli: Cli) -> Runtime:
    return Runtime(parse_plan(cli.world.plan), store=_store(cli), region=cli.world.region)


@pytest.mark.parametrize("act", [Act.REFUSE, Act.NOTHING, Act.ATTENTION, Act.SUCCEED])
def test_an_act_that_runs_nothing_is_shown_as_the_run_answers_it(
    cli: Cli, writes: RecordWrites, act: Act, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever :func:`decide` answers, the dry run shows what ``hooks._decide_and_run`` does with it."""
    decision = Decision(act, f"because {act.value}")

    def decided(*_: Any, **kw: Any) -> tuple[Decision, Any]:
        return decision, kw.get("record")

    monkeypatch.setattr(bluegreen.cli.dryrun, "decide_for", decided)
    monkeypatch.setattr(bluegreen.hooks.invocation, "decide_for", decided)
    dry = cli.with_plan("plan", "prepare", "--deployment-id", "d-1", "--output", "json")
    writes.active = True
    result, message = run_flow(_runtime(cli), Flow.PREPARE, "d-1")
    assert (message, writes.ops, dry.json["waves"], dry.json["record_before"]) == (decision.reason, [], [], [])
    if result.status is RunStatus.SUCCEEDED:
        assert (dry.code, dry.json["refused"], dry.json["notes"]) == (0, None, [f"nothing to do: {decision.reason}"])
    else:
        assert (dry.code, dry.json["refused"]) == (1, decision.reason)


@pytest.mark.parametrize(
    ("before", "flow"),
    [
        pytest.param(_first_prepare, ("prepare", "d-1"), id="prepare-judged-before-traffic"),
        pytest.param(_prepared, ("retire", "d-1"), id="retire-judged-before-the-old-stack-is-touched"),
    ],
)
def test_a_verdict_and_its_record_write_are_announced(
    judged: Cli, writes: RecordWrites, before: Callable[[Cli], None], flow: tuple[str, str]
) -> None:
    before(judged)
    name, deployment = flow
    dry = judged.with_plan("plan", name, "--deployment-id", deployment, "--output", "json")
    steps = {step["id"]: step for wave in dry.json["waves"] for step in wave}
    moment = "verdict.before-traffic" if name == "prepare" else "verdict.before-retire"
    assert moment in steps and any("deployment.verdict_before_" in call for call in steps[moment]["calls"])
    if name == "retire":  # the verdict comes first: the old stack's steps all wait for it
        assert dry.json["waves"][0][0]["id"] == moment
    ran = _run_recorded(judged, writes, name, deployment)
    assert ran.code == 0, ran.err
    assert _announced(dry.json) == writes.ops
