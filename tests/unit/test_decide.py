"""The record decisions as a table: (intent, record, CodeDeploy's view) -> what a runner does. No AWS, no moto."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen.hooks.decide import Act, Decision, Intent, SettleHow, decide, status_needed
from bluegreen.refs import StackReference
from bluegreen.state import LiveRecord, Phase
from bluegreen.tools.codedeploy import DeploymentInfo

A, B = StackReference.A, StackReference.B
NOW = "2026-12-06T10:00:00.000Z"


def rec(
    deployment: str | None = "d-1",
    phase: Phase | None = Phase.PREPARED,
    *,
    live: StackReference = A,
    finished: bool = False,
    settled: bool = False,
    codedeploy: bool = True,
    history: tuple[str, ...] = (),
) -> LiveRecord:
    return LiveRecord(
        application="orders",
        live=live,
        deployment_id=deployment,
        replacement=(B if live is A else A) if phase is not Phase.FLIPPED and phase is not Phase.RETIRED else live,
        phase=phase,
        started_at=NOW,
        finished_at=NOW if finished else None,
        settled_at=NOW if settled else None,
        codedeploy_application="orders" if codedeploy and deployment else None,
        codedeploy_group="orders-dg" if codedeploy and deployment else None,
        history=tuple({"deployment_id": d, "outcome": "retired"} for d in history),
    )


def cd(deployment: str = "d-1", status: str = "InProgress", **kw: str) -> DeploymentInfo:
    return DeploymentInfo(deployment, "orders", "orders-dg", status, **kw)  # type: ignore[arg-type]


def settle_of(decision: Decision) -> tuple[str, SettleHow] | None:
    return (decision.settle.deployment_id, decision.settle.how) if decision.settle else None


# ---------------------------------------------------------------------------------------------- prepare

PREPARE_TABLE = [
    # (name, record, info of the request, current (other on record), act, settle)
    ("first deployment", None, cd("d-1"), None, Act.PREPARE, None),
    ("resume preparing", rec("d-1", Phase.PREPARING), cd("d-1"), None, Act.PREPARE, None),
    ("already prepared", rec("d-1", Phase.PREPARED), cd("d-1"), None, Act.SUCCEED, None),
    (
        "prepare failed, put-back cut short",
        rec("d-1", Phase.PREPARE_FAILED, finished=True),
        cd("d-1"),
        None,
        Act.RESUME_PUT_BACK,
        None,
    ),
    (
        "prepare failed and settled",
        rec("d-1", Phase.PREPARE_FAILED, finished=True, settled=True),
        cd("d-1"),
        None,
        Act.REFUSE,
        None,
    ),
    ("late prepare after flip", rec("d-1", Phase.FLIPPED, live=B), cd("d-1"), None, Act.REFUSE, None),
    (
        "an id the history remembers",
        rec("d-2", Phase.RETIRED, live=B, finished=True, history=("d-1", "d-2")),
        cd("d-1"),
        None,
        Act.REFUSE,
        None,
    ),
    ("previous retired", rec("d-1", Phase.RETIRED, live=B, finished=True), cd("d-2"), None, Act.PREPARE, None),
    (
        "previous prepare-failed, not settled",
        rec("d-1", Phase.PREPARE_FAILED, finished=True),
        cd("d-2"),
        None,
        Act.PREPARE,
        ("d-1", SettleHow.UNDO_PREPARE),
    ),
    (
        "previous rolled back by its retire, replacement still on",
        rec("d-1", Phase.ROLLED_BACK, finished=True),
        cd("d-2"),
        None,
        Act.PREPARE,
        ("d-1", SettleHow.PUT_BACK),
    ),
    (
        "previous prepared, still in progress: one at a time",
        rec("d-1", Phase.PREPARED),
        cd("d-2"),
        cd("d-1", "InProgress"),
        Act.REFUSE,
        None,
    ),
    (
        "previous prepared, baking is not ended",
        rec("d-1", Phase.PREPARED),
        cd("d-2"),
        cd("d-1", "Baking"),
        Act.REFUSE,
        None,
    ),
    (
        "previous prepared, stopped by a canary alarm",
        rec("d-1", Phase.PREPARED),
        cd("d-2"),
        cd("d-1", "Stopped"),
        Act.PREPARE,
        ("d-1", SettleHow.UNDO_PREPARE),
    ),
    (
        "previous stuck flipped, failed",
        rec("d-1", Phase.FLIPPED, live=B),
        cd("d-2"),
        cd("d-1", "Failed"),
        Act.PREPARE,
        ("d-1", SettleHow.PUT_BACK),
    ),
    (
        "previous stuck flipped, succeeded: its finish was lost",
        rec("d-1", Phase.FLIPPED, live=B),
        cd("d-2"),
        cd("d-1", "Succeeded"),
        Act.PREPARE,
        ("d-1", SettleHow.COMPLETE),
    ),
    (
        "previous run by hand, still in flight",
        rec("manual-1", Phase.PREPARED, codedeploy=False),
        cd("d-2"),
        None,
        Act.REFUSE,
        None,
    ),
    (
        "this deployment already stopped, on record preparing",
        rec("d-1", Phase.PREPARING),
        cd("d-1", "Stopped"),
        None,
        Act.REFUSE,
        ("d-1", SettleHow.UNDO_PREPARE),
    ),
    ("this deployment already stopped, not on record", None, cd("d-1", "Stopped"), None, Act.REFUSE, None),
]


@pytest.mark.parametrize(
    ("record", "info", "current", "act", "settle"),
    [row[1:] for row in PREPARE_TABLE],
    ids=[row[0] for row in PREPARE_TABLE],
)
def test_prepare_decisions(
    record: LiveRecord | None,
    info: DeploymentInfo,
    current: DeploymentInfo | None,
    act: Act,
    settle: tuple[str, SettleHow] | None,
) -> None:
    decision = decide(Intent.PREPARE, info.deployment_id, record, info, current=current)
    assert (decision.act, settle_of(decision)) == (act, settle), decision.reason
    assert decision.reason


def test_a_refused_prepare_names_the_deployment_in_flight() -> None:
    decision = decide(Intent.PREPARE, "d-2", rec("d-1", Phase.PREPARED), cd("d-2"), current=cd("d-1"))
    assert "d-1 of orders/orders-dg (InProgress)" in decision.reason and "d-2 is refused" in decision.reason


def test_a_prepare_by_hand_names_what_to_run() -> None:
    decision = decide(Intent.PREPARE, "d-2", rec("manual-1", Phase.PREPARED, codedeploy=False), cd("d-2"))
    assert "bluegreen run settle --deployment-id manual-1" in decision.reason


# ---------------------------------------------------------------------------------------------- retire

RETIRE_TABLE = [
    ("never prepared", None, cd("d-1"), Act.REFUSE, None),
    ("another deployment on record", rec("d-0", Phase.PREPARED), cd("d-1"), Act.REFUSE, None),
    ("prepared", rec("d-1", Phase.PREPARED), cd("d-1"), Act.RETIRE, None),
    ("flipped: resume", rec("d-1", Phase.FLIPPED, live=B), cd("d-1"), Act.RETIRE, None),
    ("retired: duplicate", rec("d-1", Phase.RETIRED, live=B, finished=True), cd("d-1"), Act.SUCCEED, None),
    ("put-back cut short", rec("d-1", Phase.ROLLED_BACK), cd("d-1"), Act.RESUME_PUT_BACK, None),
    ("put back earlier", rec("d-1", Phase.ROLLED_BACK, finished=True), cd("d-1"), Act.REFUSE, None),
    ("still preparing", rec("d-1", Phase.PREPARING), cd("d-1"), Act.REFUSE, None),
    (
        "stopped before the retire ran",
        rec("d-1", Phase.PREPARED),
        cd("d-1", "Stopped"),
        Act.REFUSE,
        ("d-1", SettleHow.UNDO_PREPARE),
    ),
    (
        "stopped while the retire ran",
        rec("d-1", Phase.FLIPPED, live=B),
        cd("d-1", "Stopped"),
        Act.REFUSE,
        ("d-1", SettleHow.PUT_BACK),
    ),
    ("run by hand", rec("manual-1", Phase.PREPARED, codedeploy=False), None, Act.RETIRE, None),
]


@pytest.mark.parametrize(
    ("record", "info", "act", "settle"), [row[1:] for row in RETIRE_TABLE], ids=[row[0] for row in RETIRE_TABLE]
)
def test_retire_decisions(
    record: LiveRecord | None, info: DeploymentInfo | None, act: Act, settle: tuple[str, SettleHow] | None
) -> None:
    deployment = info.deployment_id if info else "manual-1"
    decision = decide(Intent.RETIRE, deployment, record, info)
    assert (decision.act, settle_of(decision)) == (act, settle), decision.reason


# ---------------------------------------------------------------------------------------------- rollback deployments


@pytest.mark.parametrize("intent", [Intent.PREPARE, Intent.RETIRE])
@pytest.mark.parametrize(
    ("record", "act", "settle"),
    [
        (rec("d-1", Phase.PREPARED), Act.SUCCEED, ("d-1", SettleHow.UNDO_PREPARE)),
        (rec("d-1", Phase.FLIPPED, live=B), Act.SUCCEED, ("d-1", SettleHow.PUT_BACK)),
        (rec("d-1", Phase.ROLLED_BACK, finished=True, settled=True), Act.SUCCEED, None),
        (rec("d-1", Phase.RETIRED, live=B, finished=True), Act.REFUSE, None),
        (rec("d-0", Phase.RETIRED, live=B, finished=True), Act.SUCCEED, None),
    ],
    ids=["prepared", "flipped", "settled", "retired", "another on record"],
)
def test_a_rollback_deployment_settles_what_it_undoes_and_prepares_nothing(
    intent: Intent, record: LiveRecord, act: Act, settle: tuple[str, SettleHow] | None
) -> None:
    rollback = cd("d-rb", "InProgress", creator="codeDeployRollback", rollback_of="d-1")
    decision = decide(intent, "d-rb", record, rollback)
    assert (decision.act, settle_of(decision)) == (act, settle), decision.reason
    assert decision.act not in (Act.PREPARE, Act.RETIRE)


# ---------------------------------------------------------------------------------------------- events

EVENT_TABLE = [
    ("not on record", rec("d-0", Phase.PREPARED), "STOP", Act.NOTHING, None),
    ("no record", None, "FAILURE", Act.NOTHING, None),
    ("stopped while prepared", rec("d-1", Phase.PREPARED), "STOP", Act.NOTHING, ("d-1", SettleHow.UNDO_PREPARE)),
    ("failed while preparing", rec("d-1", Phase.PREPARING), "FAILURE", Act.NOTHING, ("d-1", SettleHow.UNDO_PREPARE)),
    ("failed while flipped", rec("d-1", Phase.FLIPPED, live=B), "FAILURE", Act.NOTHING, ("d-1", SettleHow.PUT_BACK)),
    (
        "retire put back by the hook",
        rec("d-1", Phase.ROLLED_BACK, finished=True),
        "FAILURE",
        Act.NOTHING,
        ("d-1", SettleHow.PUT_BACK),
    ),
    (
        "prepare failed, its put-back cut short",
        rec("d-1", Phase.PREPARE_FAILED, finished=True),
        "FAILURE",
        Act.NOTHING,
        ("d-1", SettleHow.UNDO_PREPARE),
    ),
    ("already settled", rec("d-1", Phase.ROLLED_BACK, finished=True, settled=True), "STOP", Act.NOTHING, None),
    ("succeeded, lost finish", rec("d-1", Phase.FLIPPED, live=B), "SUCCESS", Act.NOTHING, ("d-1", SettleHow.COMPLETE)),
    ("succeeded and retired", rec("d-1", Phase.RETIRED, live=B, finished=True), "SUCCESS", Act.NOTHING, None),
    (
        "failed after the retire finished",
        rec("d-1", Phase.RETIRED, live=B, finished=True),
        "FAILURE",
        Act.ATTENTION,
        None,
    ),
    ("succeeded but never retired", rec("d-1", Phase.PREPARED), "SUCCESS", Act.ATTENTION, None),
    ("a state that needs nothing", rec("d-1", Phase.PREPARED), "START", Act.NOTHING, None),
]


@pytest.mark.parametrize(
    ("record", "state", "act", "settle"), [row[1:] for row in EVENT_TABLE], ids=[row[0] for row in EVENT_TABLE]
)
def test_event_decisions(record: LiveRecord | None, state: str, act: Act, settle: tuple[str, SettleHow] | None) -> None:
    decision = decide(Intent.EVENT, "d-1", record, None, state=state)
    assert (decision.act, settle_of(decision)) == (act, settle), decision.reason


def test_no_decision_ever_settles_by_retiring_the_live_stack() -> None:
    # Whatever the record and CodeDeploy say, a settle that retires a replacement names a stack that is not live.
    records = [r for row in PREPARE_TABLE for r in [row[1]] if r is not None]
    records += [r for row in EVENT_TABLE for r in [row[1]] if r is not None]
    for record in records:
        for state in ("FAILURE", "STOP", "SUCCESS"):
            decision = decide(Intent.EVENT, record.deployment_id or "", record, None, state=state)
            if decision.settle and decision.settle.how is SettleHow.UNDO_PREPARE:
                assert record.replacement_stack is not record.live


def test_status_needed_only_for_another_deployment_in_flight_that_codedeploy_knows() -> None:
    assert status_needed(None, "d-2") is None
    assert status_needed(rec("d-2", Phase.PREPARED), "d-2") is None
    assert status_needed(rec("d-1", Phase.RETIRED, live=B, finished=True), "d-2") is None
    assert status_needed(rec("d-1", Phase.PREPARED), "d-2") == "d-1"
    assert status_needed(rec("d-1", Phase.FLIPPED, live=B), "d-2") == "d-1"
    assert status_needed(rec("manual-1", Phase.PREPARED, codedeploy=False), "d-2") is None


def test_decisions_are_pure() -> None:
    record = rec("d-1", Phase.PREPARED)
    first = decide(Intent.PREPARE, "d-2", record, cd("d-2"), current=cd("d-1", "Stopped"))
    again = decide(Intent.PREPARE, "d-2", replace(record), cd("d-2"), current=cd("d-1", "Stopped"))
    assert first == again
