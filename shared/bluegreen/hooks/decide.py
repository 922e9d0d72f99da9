"""What a runner does, decided from the record and what CodeDeploy says: one pure function, no AWS.

Every runner — the prepare hook, the retire hook, the deployment-events handler, ``bluegreen run`` —
reads the live-stack record and asks CodeDeploy about the deployment (``GetDeployment``), then
:func:`decide` says what to do; the dry run (``bluegreen plan``) calls the same function with what it
read, so it shows exactly what the run would decide. The answer is a :class:`Decision`: an optional
:class:`Settle` to do first (a deployment that ended is put back before anything else), then an
:class:`Act`.

The rules (CodeDeploy's statuses: a deployment has *ended* when it is Succeeded, Failed or Stopped):

* **Settle.** A deployment on record that has ended without being retired is *settled*: a
  ``preparing``/``prepared`` one, or one whose prepare failed, gets its replacement put back to
  retired (:attr:`SettleHow.UNDO_PREPARE`); a ``flipped`` one that failed or was stopped gets its old
  stack put back and live again, then its replacement retired (:attr:`SettleHow.PUT_BACK`); a
  ``flipped`` one that succeeded (a retire whose last write was lost) gets its retire finished
  (:attr:`SettleHow.COMPLETE`). A settled or retired deployment is never asked about again.
* **One deployment in flight.** A prepare for another deployment while the one on record has not
  ended is refused (Failed, naming it) and changes nothing; an ended one is settled first. A
  deployment run by hand (unknown to CodeDeploy) cannot be asked: it is refused with what to run.
* **Ended deployments get nothing destructive.** A hook of a deployment that has ended only settles
  it; its report is moot (CodeDeploy has moved on).
* **Rollback deployments** (``creator`` codeDeployRollback / CloudFormationRollback): the hooks
  settle the deployment it undoes and report Succeeded, preparing and flipping nothing.
* **State-change events** settle the deployment on record with that id (FAILURE, STOP: put back;
  SUCCESS while ``flipped``: complete); anything else changes nothing. A failure after the retire
  finished cannot be put back: :attr:`Act.ATTENTION` (the handler raises, so the on-failure queue
  keeps the event and its alarm calls someone).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from bluegreen.datatypes import datatype
from bluegreen.state import LiveRecord, Phase
from bluegreen.tools.codedeploy import DeploymentInfo


class Intent(StrEnum):
    """Who asks: the prepare hook, the retire hook, or CodeDeploy's state-change event."""

    PREPARE = "prepare"
    RETIRE = "retire"
    EVENT = "event"


class Act(StrEnum):
    """What the runner does after the settle (if any)."""

    PREPARE = "prepare"  # begin (or resume) the prepare of the replacement
    RETIRE = "retire"  # flip (when prepared) and retire the old stack, or resume that
    RESUME_PUT_BACK = "resume-put-back"  # a put-back cut short: finish it, then report Failed
    SUCCEED = "succeed"  # nothing to do: report Succeeded
    REFUSE = "refuse"  # nothing (more) to do: report Failed
    NOTHING = "nothing"  # an event that changes nothing
    ATTENTION = "attention"  # an event nobody can settle: raise, so a person is called


class SettleHow(StrEnum):
    """How an ended deployment is settled."""

    UNDO_PREPARE = "undo-prepare"  # the replacement back to retired
    PUT_BACK = "put-back"  # the old stack back and live, then the replacement back to retired
    COMPLETE = "complete"  # a succeeded deployment whose retire did not finish: finish it


@datatype
class Settle:
    """Settle deployment ``deployment_id`` (the one on record) ``how``, because ``reason``."""

    deployment_id: str
    how: SettleHow
    reason: str


@datatype
class Decision:
    """What to do: first ``settle`` (when set), then ``act``; ``reason`` says why, for logs and reports."""

    act: Act
    reason: str
    settle: Settle | None = None


_FAILED_STATES = frozenset({"FAILURE", "STOP"})


def status_needed(record: LiveRecord | None, deployment_id: str) -> str | None:
    """The deployment on record whose CodeDeploy status a prepare of ``deployment_id`` needs, or None.

    Only a deployment that is another one, still in flight (not finished), and that CodeDeploy knows
    (it was recorded with its application and group) is asked about.
    """
    if record is None or record.deployment_id in (None, deployment_id) or not record.in_flight:
        return None
    return record.deployment_id if record.codedeploy_group_name else None


def _settle_for(record: LiveRecord, ended: DeploymentInfo | None, why: str) -> Settle | None:
    """How to settle the record's deployment once it has ended (``ended``: CodeDeploy's view, if known)."""
    d = record.deployment_id
    if d is None or record.settled:
        return None
    if record.phase is Phase.FLIPPED:
        if ended is not None and ended.status == "Succeeded":
            return Settle(d, SettleHow.COMPLETE, f"{why}; it succeeded: its retire is finished")
        return Settle(d, SettleHow.PUT_BACK, f"{why}: stack {record.live.partner} is put back and live again")
    if record.phase is Phase.ROLLED_BACK:
        return Settle(d, SettleHow.PUT_BACK, f"{why}: its put-back is finished and its replacement retired")
    if record.phase is Phase.RETIRED:
        return None
    return Settle(d, SettleHow.UNDO_PREPARE, f"{why}: its replacement {record.replacement_stack} goes back to retired")


def _rollback(record: LiveRecord | None, info: DeploymentInfo) -> Decision:
    """A hook of a rollback deployment: settle the deployment it undoes, prepare and flip nothing."""
    undone = info.rollback_of
    base = f"{info.deployment_id} is CodeDeploy's rollback of {undone}"
    if record is None or record.deployment_id != undone:
        return Decision(Act.SUCCEED, f"{base}, which is not the deployment on record: nothing to do")
    if record.phase is Phase.RETIRED:
        return Decision(
            Act.REFUSE,
            f"{base}, whose retire already finished: stack {record.live.partner} is retired and cannot take the "
            f"traffic back; stack {record.live} stays live",
        )
    settle = _settle_for(record, None, f"{base}")
    if settle is None:
        return Decision(Act.SUCCEED, f"{base}, already settled: live stays {record.live}")
    return Decision(Act.SUCCEED, f"{base}: settled, nothing prepared or flipped", settle)


def decide(
    intent: Intent,
    deployment_id: str,
    record: LiveRecord | None,
    info: DeploymentInfo | None,
    *,
    current: DeploymentInfo | None = None,
    state: str | None = None,
) -> Decision:
    """Decide what a runner does (module docstring).

    ``info`` is CodeDeploy's view of ``deployment_id`` (None: a deployment run by hand, unknown to
    CodeDeploy); ``current`` is its view of the other deployment on record, when
    :func:`status_needed` named one; ``state`` is the state-change event's ``detail.state``.
    """
    if intent is Intent.EVENT:
        return _decide_event(deployment_id, record, state or "")
    if info is not None and info.is_rollback:
        return _rollback(record, info)
    if intent is Intent.PREPARE:
        return _decide_prepare(deployment_id, record, info, current)
    return _decide_retire(deployment_id, record, info)


def _ended_here(record: LiveRecord | None, deployment_id: str, info: DeploymentInfo) -> Decision:
    """A hook of a deployment that CodeDeploy has ended: settle it when it is on record, and report Failed."""
    why = f"deployment {info.describe()} has ended"
    if record is not None and record.deployment_id == deployment_id:
        settle = _settle_for(record, info, why)
        if settle is not None:
            return Decision(Act.REFUSE, f"{why}: nothing more is done for it but settling it", settle)
    return Decision(Act.REFUSE, f"{why}: nothing is done for it")


def _decide_prepare(  # noqa: PLR0911 - one answer per phase the record can be in
    d: str, record: LiveRecord | None, info: DeploymentInfo | None, current: DeploymentInfo | None
) -> Decision:
    if info is not None and info.ended:
        return _ended_here(record, d, info)
    if record is None:
        return Decision(Act.PREPARE, "the first deployment of this application")
    if record.deployment_id == d:
        if record.phase is Phase.PREPARING:
            return Decision(Act.PREPARE, f"{d} is preparing: resumed (finished steps repeat harmlessly)")
        if record.phase is Phase.PREPARED:
            return Decision(Act.SUCCEED, f"stack {record.replacement_stack} is already prepared")
        if record.phase is Phase.PREPARE_FAILED and not record.settled:
            return Decision(Act.RESUME_PUT_BACK, f"the prepare of {d} failed: its put-back is finished first")
        return Decision(Act.REFUSE, f"deployment {d} is {record.phase}: a late prepare changes nothing")
    if d in record.ended_deployment_ids:
        return Decision(Act.REFUSE, f"deployment {d} already ended (see the record's history): nothing is done")
    if record.deployment_id is None or record.settled:
        return Decision(Act.PREPARE, f"stack {record.live.partner} is prepared; live stays {record.live}")
    other = record.deployment_id
    if not record.in_flight:  # ended failed, its replacement not yet put back
        settle = _settle_for(record, None, f"deployment {other} ended {record.phase}")
        return Decision(Act.PREPARE, f"{other} is settled first, then {d} prepares", settle)
    if current is not None and current.ended:
        settle = _settle_for(record, current, f"deployment {current.describe()} has ended")
        return Decision(Act.PREPARE, f"{other} is settled first, then {d} prepares", settle)
    if current is not None:
        return Decision(
            Act.REFUSE,
            f"deployment {current.describe()} is still in flight ({record.phase}): one deployment at a time per "
            f"application, so {d} is refused and nothing is changed",
        )
    if record.codedeploy_group_name is None:
        return Decision(
            Act.REFUSE,
            f"deployment {other} (run by hand) is still in flight ({record.phase}): finish it with `bluegreen run "
            f"after-allow-traffic --deployment-id {other}` or put it back with `bluegreen run settle "
            f"--deployment-id {other}`; {d} is refused and nothing is changed",
        )
    return Decision(
        Act.REFUSE,
        f"deployment {other} of {record.codedeploy_group_name} is in flight ({record.phase}) and CodeDeploy does not "
        f"say it has ended: {d} is refused and nothing is changed",
    )


def _decide_retire(d: str, record: LiveRecord | None, info: DeploymentInfo | None) -> Decision:  # noqa: PLR0911
    if record is None or record.deployment_id != d:
        holding = "no record" if record is None else f"deployment {record.deployment_id} ({record.phase})"
        if info is not None and info.ended:
            return Decision(Act.REFUSE, f"deployment {info.describe()} has ended and the record holds {holding}")
        return Decision(Act.REFUSE, f"deployment {d} was never prepared (the record holds {holding})")
    if record.phase is Phase.RETIRED:
        return Decision(Act.SUCCEED, f"{d} already retired stack {record.live.partner}")
    if info is not None and info.ended:
        return _ended_here(record, d, info)
    if record.phase is Phase.ROLLED_BACK:
        if not record.finished_at:
            return Decision(Act.RESUME_PUT_BACK, f"the retire of {d} failed: its put-back is finished first")
        return Decision(Act.REFUSE, f"the retire of {d} failed earlier: stack {record.live} is live again")
    if record.phase in (Phase.PREPARED, Phase.FLIPPED):
        return Decision(Act.RETIRE, f"stack {record.replacement_stack} becomes live; the other one is retired")
    return Decision(Act.REFUSE, f"deployment {d} is {record.phase}, not prepared: nothing done")


def _decide_event(d: str, record: LiveRecord | None, state: str) -> Decision:  # noqa: PLR0911
    if record is None or record.deployment_id != d:
        holding = "no record" if record is None else f"deployment {record.deployment_id}"
        return Decision(Act.NOTHING, f"{d} is not the deployment on record ({holding}): nothing to settle")
    if state == "SUCCESS":
        if record.phase is Phase.FLIPPED:
            return Decision(
                Act.NOTHING,
                f"{d} succeeded",
                Settle(d, SettleHow.COMPLETE, f"{d} succeeded while the record says flipped: its retire is finished"),
            )
        if record.phase in (Phase.PREPARING, Phase.PREPARED):
            return Decision(
                Act.ATTENTION,
                f"deployment {d} succeeded but its stacks were never swapped (phase {record.phase}): is the retire "
                "hook wired at AfterAllowTraffic? Both stacks are working; retire the old one with `bluegreen run "
                f"after-allow-traffic --deployment-id {d}`",
            )
        return Decision(Act.NOTHING, f"{d} succeeded; the record says {record.phase}: nothing to settle")
    if state not in _FAILED_STATES:
        return Decision(Act.NOTHING, f"state {state or '(none)'} of {d} needs nothing")
    if record.phase is Phase.RETIRED:
        return Decision(
            Act.ATTENTION,
            f"deployment {d} ended {state} after its retire had finished: stack {record.live.partner} is already "
            f"retired and cannot take the traffic back, stack {record.live} stays live; check which version serves",
        )
    settle = _settle_for(record, None, f"deployment {d} ended {state}")
    if settle is None:
        return Decision(Act.NOTHING, f"{d} is already settled ({record.phase})")
    return Decision(Act.NOTHING, settle.reason, settle)


def decide_by_hand(deployment_id: str, record: LiveRecord | None, info: DeploymentInfo | None) -> Decision:
    """What ``bluegreen run settle`` does for ``deployment_id``: what its STOP (or SUCCESS) event would.

    A deployment CodeDeploy still runs is refused (stop it first); one it does not know (run by hand)
    is settled as a stopped one; one it ended is settled as its state-change event would settle it.
    """
    if info is not None and not info.ended:
        return Decision(
            Act.REFUSE,
            f"CodeDeploy still runs deployment {info.describe()}: stop it first "
            f"(aws deploy stop-deployment --deployment-id {deployment_id} --auto-rollback-enabled)",
        )
    state = "SUCCESS" if info is not None and info.status == "Succeeded" else "STOP"
    return decide(Intent.EVENT, deployment_id, record, None, state=state)


def decide_abort(deployment_id: str, record: LiveRecord | None) -> Decision:
    """What ``bluegreen run abort`` does once CodeDeploy was asked to stop ``deployment_id``: what its STOP event would.

    Whatever CodeDeploy answers meanwhile (a stop takes a moment to land), the deployment is given up:
    settled as stopped — a flipped one put back, its replacement back to retired — and the reason kept
    with it says it was aborted by hand. A deployment the record does not hold is nothing to abort; one
    already retired is refused (its old stack is retired: only a new deployment goes back).
    """
    if record is None or record.deployment_id != deployment_id:
        holding = "no record" if record is None else f"deployment {record.deployment_id} ({record.phase})"
        return Decision(Act.SUCCEED, f"nothing to abort: the record holds {holding}")
    if record.phase is Phase.RETIRED:
        return Decision(
            Act.REFUSE,
            f"deployment {deployment_id} already retired stack {record.live.partner}: nothing to abort "
            "(deploy the previous version to go back)",
        )
    decision = decide(Intent.EVENT, deployment_id, record, None, state="STOP")
    if decision.settle is None:
        return decision
    settle = dataclasses.replace(decision.settle, reason=f"aborted by hand: {decision.settle.reason}")
    return dataclasses.replace(decision, settle=settle)
