"""The dry run (``bluegreen plan``, and what ``bluegreen run`` shows before it asks): changes nothing.

It reads what a run reads — the record and CodeDeploy's view of the deployment — and takes the very
decision a run takes (:func:`bluegreen.hooks.decide_for`, i.e. :func:`bluegreen.hooks.decide.decide`; for
``settle``, :func:`bluegreen.hooks.decide.decide_by_hand`), then builds the steps with the very builders the
run executes (:func:`bluegreen.flows.prepare_steps` / ``retire_steps``, :func:`bluegreen.hooks.settle.settle_steps`).
The record writes around the steps, what a failure undoes and the notes are described here, after
:mod:`bluegreen.hooks.runs` and :class:`bluegreen.state.StateStore`; ``tests/cli/test_dryrun_drift.py``
checks them against the writes a run makes.
"""

from __future__ import annotations

from dataclasses import field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from bluegreen.cli.errors import EXIT_FAILED, EXIT_NOT_FOUND
from bluegreen.datatypes import datatype
from bluegreen.engine import Step, reversed_steps, waves
from bluegreen.flows import prepare_steps, retire_steps
from bluegreen.hooks import Flow, Runtime, decide_for
from bluegreen.hooks.decide import Act, Settle, SettleHow, decide_abort, decide_by_hand
from bluegreen.refs import StackReference
from bluegreen.state import LiveRecord, Phase
from bluegreen.verdict.steps import VerdictContext, before_traffic_at, before_traffic_step, missing_verdict_hook

if TYPE_CHECKING:
    from bluegreen.tools.codedeploy import DeploymentInfo


@datatype(frozen=False)
class FlowPlan:
    """What a run of ``flow`` would do now: the record writes, the steps (in waves), or why it would refuse."""

    flow: Flow
    application: str
    region: str
    deployment_id: str | None
    live: StackReference
    target: StackReference | None = None
    new_live: StackReference | None = None
    steps: list[Step] = field(default_factory=list)
    record_before: list[str] = field(default_factory=list)
    record_after: list[str] = field(default_factory=list)
    on_failure: str | None = None
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    refusal_code: int = EXIT_FAILED
    decision: str | None = None
    settle: str | None = None
    settle_steps: list[Step] = field(default_factory=list)
    settle_writes: list[str] = field(default_factory=list)
    supersedes: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view: ``waves`` is a list of waves, each a list of steps that run in parallel."""
        return {
            "flow": self.flow.value,
            "application": self.application,
            "region": self.region,
            "deployment_id": self.deployment_id,
            "live": self.live.value,
            "target": self.target.value if self.target else None,
            "new_live": self.new_live.value if self.new_live else None,
            "refused": self.refusal,
            "decision": self.decision,
            "settle": {
                "what": self.settle,
                "waves": [[_step_dict(s) for s in w] for w in waves(self.settle_steps)],
                "record": self.settle_writes,
            }
            if self.settle
            else None,
            "record_before": self.record_before,
            "waves": [[_step_dict(step) for step in wave] for wave in waves(self.steps)],
            "record_after": self.record_after,
            "on_failure": self.on_failure,
            "notes": self.notes,
            "supersedes": self.supersedes,
        }


def _step_dict(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "title": step.title,
        "service": step.service,
        "stack": step.stack.value,
        "destructive": step.destructive,
        "irreversible": step.irreversible,
        "calls": list(step.calls),
        "depends_on": list(step.depends_on),
        "undo_calls": list(step.undo_calls),
    }


def manual_deployment_id(now: datetime | None = None) -> str:
    """The id of a prepare run by hand: ``manual-<UTC yyyymmddTHHMMSS>``."""
    return f"manual-{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%dT%H%M%S}"


def _codedeploy_view(runtime: Runtime, deployment_id: str) -> tuple[DeploymentInfo | None, str | None]:
    """``GetDeployment`` for the dry run: the deployment (None: unknown to CodeDeploy) and a note when unreadable."""
    try:
        return runtime.deployments.get(deployment_id), None
    except Exception as exc:  # noqa: BLE001 - the dry run says so, and decides as for a deployment run by hand
        return None, f"CodeDeploy could not be asked about {deployment_id} ({type(exc).__name__}): taken as run by hand"


def plan_flow(runtime: Runtime, record: LiveRecord | None, flow: Flow, deployment_id: str | None = None) -> FlowPlan:
    """The dry run of ``flow`` against ``record`` (as read now): builds the steps, changes nothing.

    It asks CodeDeploy what the hooks ask (``GetDeployment``, and the other deployment on record when a
    prepare needs it) and takes the very decision a run would take (:func:`bluegreen.hooks.decide.decide`):
    the settle that comes first, then the steps, or the refusal. The decision's act picks what is shown
    as the run picks what it runs (``bluegreen.hooks._decide_and_run``): an act the run answers Failed
    without doing anything is a refusal here. A prepare that settles first a deployment the record
    still shows in flight (CodeDeploy ended it, the record has not caught up) *supersedes* it:
    :attr:`FlowPlan.supersedes` names it, and ``bluegreen run`` asks for ``--force`` then.
    """
    plan = runtime.plan
    live = record.live if record is not None else plan.initial_live
    if flow in (Flow.SETTLE, Flow.ABORT, Flow.TEST_TRAFFIC):
        by_hand = _plan_test_traffic if flow is Flow.TEST_TRAFFIC else partial(_plan_by_hand, flow=flow)
        return by_hand(runtime, record, deployment_id)
    if flow is Flow.RETIRE and record is None:
        fp = FlowPlan(flow, plan.application, runtime.region, deployment_id, live)
        fp.refusal_code = EXIT_NOT_FOUND
        fp.refusal = (
            f"no live-stack record for application {plan.application!r} in table {runtime.store.table_name!r}: "
            "no deployment was ever prepared, so there is nothing to retire"
        )
        return fp
    if flow is Flow.PREPARE:
        d: str | None = deployment_id or manual_deployment_id()
    else:
        d = deployment_id or (record.deployment_id if record is not None and record.in_flight else None)
    fp = FlowPlan(flow, plan.application, runtime.region, d, live)
    if d is None:
        fp.refusal = f"nothing to retire: no deployment is in flight ({record.describe() if record else 'no record'})"
        return fp
    info, note = _codedeploy_view(runtime, d)
    if note:
        fp.notes.append(note)
    decision, _ = decide_for(
        runtime, flow, d, info, record=record, ask=lambda other: _codedeploy_view(runtime, other)[0]
    )
    fp.decision = f"{decision.act.value}: {decision.reason}"
    if decision.settle is not None and record is not None:
        _show_settle(fp, runtime, record, decision.settle)
        if decision.settle.how is SettleHow.PUT_BACK and record.phase is Phase.FLIPPED:
            live = fp.live = record.live.partner
        _note_superseded(fp, record)
    act = decision.act
    if act is Act.PREPARE or (act is Act.RESUME_PUT_BACK and flow is Flow.PREPARE):
        _plan_prepare(fp, runtime, record, act, live, platform=info.compute_platform if info is not None else None)
    elif act in (Act.RETIRE, Act.RESUME_PUT_BACK):
        _plan_retire(fp, runtime, record, act)
    elif act is Act.SUCCEED:
        fp.notes.append(f"nothing to do: {decision.reason}")
    else:  # Act.REFUSE, and any act a run answers Failed without running anything
        fp.refusal = decision.reason
    return fp


def _note_superseded(fp: FlowPlan, record: LiveRecord) -> None:
    """A prepare that settles first a deployment the record shows in flight supersedes it: say so."""
    if fp.flow is Flow.PREPARE and record.in_flight and record.deployment_id != fp.deployment_id:
        fp.supersedes = record.deployment_id
        fp.notes.append(
            f"deployment {record.deployment_id} is in flight on record ({record.phase}) and this prepare "
            "supersedes it: a run by hand needs --force"
        )


def _plan_test_traffic(runtime: Runtime, record: LiveRecord | None, deployment_id: str | None) -> FlowPlan:
    """The dry run of the test-traffic hook (``hooks.runs.run_test_traffic``): the verdict step, or why not."""
    live = record.live if record is not None else runtime.plan.initial_live
    d = deployment_id or (record.deployment_id if record is not None else None)
    fp = FlowPlan(Flow.TEST_TRAFFIC, runtime.plan.application, runtime.region, d, live)
    if record is None or d is None or record.deployment_id != d:
        held = "no record" if record is None else f"deployment {record.deployment_id} ({record.phase})"
        fp.refusal, fp.refusal_code = f"deployment {d} was never prepared (the record holds {held})", EXIT_NOT_FOUND
        return fp
    if record.phase is not Phase.PREPARED:
        fp.refusal = f"deployment {d} is {record.phase}, not prepared: nothing judged"
        return fp
    scope = runtime.scope_for(record)
    step = before_traffic_step(scope.plan, scope.box, record.replacement_stack, VerdictContext())
    if before_traffic_at(scope.plan) != "test-traffic" or step is None:
        fp.notes.append("nothing to do: the plan judges nothing at test traffic (no verdict with at: test-traffic)")
        return fp
    fp.target, fp.steps = record.replacement_stack, [step]
    fp.on_failure = "Failed is reported: CodeDeploy rolls back, and the deployment-events function settles it"
    return fp


def _plan_by_hand(runtime: Runtime, record: LiveRecord | None, deployment_id: str | None, flow: Flow) -> FlowPlan:
    """The dry run of ``bluegreen run settle`` or ``run abort``: the settle they take (``hooks.by_hand``).

    ``settle`` decides as its STOP (or SUCCESS) event would (:func:`decide_by_hand`); ``abort`` asks
    CodeDeploy to stop a deployment it still runs, then settles it as stopped (:func:`decide_abort`).
    """
    live = record.live if record is not None else runtime.plan.initial_live
    d = deployment_id or (record.deployment_id if record is not None else None)
    fp = FlowPlan(flow, runtime.plan.application, runtime.region, d, live)
    if d is None or record is None:
        fp.refusal, fp.refusal_code = f"nothing to {flow.value}: there is no deployment on record", EXIT_NOT_FOUND
        return fp
    info, note = _codedeploy_view(runtime, d)
    if note:
        fp.notes.append(note)
    decision = decide_abort(d, record) if flow is Flow.ABORT else decide_by_hand(d, record, info)
    fp.decision = f"{decision.act.value}: {decision.reason}"
    if decision.act in (Act.REFUSE, Act.ATTENTION):
        fp.refusal = decision.reason
        return fp
    if flow is Flow.ABORT and info is not None and not info.ended:
        fp.notes.append(
            f"CodeDeploy is asked first to stop {d} (codedeploy:StopDeployment autoRollbackEnabled=true): it "
            "shifts the web tier back, and the deployment's hooks still to come report Failed"
        )
    if decision.settle is None:
        fp.notes.append(f"nothing to do: {decision.reason}")
        return fp
    _show_settle(fp, runtime, record, decision.settle)
    fp.target = record.replacement
    return fp


def _show_settle(fp: FlowPlan, runtime: Runtime, record: LiveRecord, settle: Settle) -> None:
    """What a settle that runs first does: its steps (the run's own builders) and its record writes."""
    from bluegreen.hooks.settle import settle_steps  # noqa: PLC0415 - with the flows it builds

    fp.settle = f"{settle.how.value} of deployment {settle.deployment_id}: {settle.reason}"
    fp.settle_steps = settle_steps(runtime, record, settle)
    fp.settle_writes = settle_writes(runtime.plan.application, record, settle)


def settle_writes(app: str, record: LiveRecord, settle: Settle) -> list[str]:
    """The record writes :func:`bluegreen.hooks.settle.run_settle` makes for ``settle``, in order.

    A completed retire is finished ``retired``. A put-back flips a flipped record back first, and
    either settle finishes an unfinished deployment ``rolled-back``, then marks it settled once the
    replacement is back to retired.
    """
    d = settle.deployment_id
    if settle.how is SettleHow.COMPLETE:
        return [f"dynamodb:UpdateItem {app}: deployment {d} retired (+ history)"]
    writes = []
    if settle.how is SettleHow.PUT_BACK and record.phase is Phase.FLIPPED:
        writes.append(f"dynamodb:UpdateItem {app}: live {record.live} → {record.live.partner} (flipped back)")
    if record.finished_at is None:
        writes.append(f"dynamodb:UpdateItem {app}: deployment {d} rolled-back (+ history)")
    writes.append(f"dynamodb:UpdateItem {app}: deployment {d} settled (its replacement back to retired)")
    return writes


def _plan_prepare(
    fp: FlowPlan, runtime: Runtime, record: LiveRecord | None, act: Act, live: StackReference, *, platform: str | None
) -> None:
    """Steps and record writes of :func:`bluegreen.hooks.runs.run_prepare` (``StateStore.begin``, then ``prepared``)."""
    app, d = runtime.plan.application, fp.deployment_id
    resumed = record is not None and record.deployment_id == d
    target = record.replacement_stack if resumed and record is not None else live.partner
    scope = runtime.scope_for(record if resumed else None)
    steps = prepare_steps(scope.plan, scope.box, target)
    fp.target = target
    unreachable = missing_verdict_hook(scope.plan, d or "this deployment", platform)
    if unreachable is not None and act is Act.PREPARE:
        fp.refusal = f"the prepare fails before enabling anything (the record says prepare-failed): {unreachable}"
        return
    if act is Act.RESUME_PUT_BACK:
        fp.steps = reversed_steps(steps, [s.id for s in steps], destructive=True)
        fp.record_after.append(f"dynamodb:UpdateItem {app}: deployment {d} settled (its replacement back to retired)")
        fp.notes.append(f"the prepare of {d} failed earlier: its put-back of stack {target} is finished, then Failed")
        return
    if resumed:
        fp.notes.append(f"deployment {d} is preparing: this run resumes it (finished steps repeat harmlessly)")
    elif record is None:
        fp.record_before.append(f"dynamodb:PutItem {app}: the first record, live {live}, deployment {d} preparing")
    else:
        fp.record_before.append(f"dynamodb:UpdateItem {app}: deployment {d} preparing (replacement {target})")
    if not resumed:
        fp.record_before[-1] += f", with the plan it acts on (sha256 {runtime.snapshot[1][:12]})"
    fp.steps = steps
    fp.record_after.append(f"dynamodb:UpdateItem {app}: deployment {d} prepared")
    fp.on_failure = (
        f"the finished steps are undone (stack {target} back to retired) and the deployment ends prepare-failed; "
        f"live stays {live}"
    )


def _plan_retire(fp: FlowPlan, runtime: Runtime, record: LiveRecord | None, act: Act) -> None:
    """Steps and record writes of :func:`bluegreen.hooks.runs.run_retire` (the flip when prepared, then ``retired``)."""
    assert record is not None
    app, d, live = runtime.plan.application, fp.deployment_id, record.live
    scope = runtime.scope_for(record)
    if record.plan_sha256 and record.plan_sha256 != runtime.snapshot[1]:
        fp.notes.append(
            f"deployment {d} acts on the plan it was prepared with (sha256 {record.plan_sha256[:12]}), "
            f"not the current one ({runtime.snapshot[1][:12]})"
        )
    if act is Act.RESUME_PUT_BACK:
        steps = retire_steps(scope.plan, scope.box, live)
        fp.target, fp.steps = live, reversed_steps(steps, [s.id for s in steps])
        fp.record_after.append(f"dynamodb:UpdateItem {app}: deployment {d} rolled-back (+ history)")
        fp.notes.append(f"the retire of {d} failed earlier: stack {live} is live again and its put-back is finished")
        return
    old = live if record.phase is Phase.PREPARED else live.partner
    fp.target, fp.new_live, fp.steps = old, old.partner, retire_steps(scope.plan, scope.box, old)
    if record.phase is Phase.PREPARED:
        fp.record_before.append(
            f"dynamodb:UpdateItem {app}: live {old} → {old.partner} (one conditional write: only while deployment {d} "
            "is prepared)"
        )
    else:
        fp.notes.append(f"deployment {d} is already flipped (live {live}): this run resumes the retire of {old}")
    fp.record_after.append(f"dynamodb:UpdateItem {app}: deployment {d} retired (+ history)")
    fp.on_failure = (
        f"the finished steps are undone (stack {old} re-enabled), the record flips back to live {old} "
        "and the deployment ends rolled-back"
    )
    fp.notes.append("before the first irreversible step CodeDeploy is asked again: a stopped deployment is put back")
