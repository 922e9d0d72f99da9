"""A fault at every AWS call of each hook: exactly one report, and the stack that serves traffic as it was.

For each hook, a run in a fresh seeded world counts its AWS calls (N). Then, for every k in 1..N, a
new world where call k fails — with AccessDenied (one attempt: not retryable), and with a 500 on
every attempt (botocore's standard mode retries it until the attempts run out; the count of
attempts is checked against :func:`bluegreen.aws.max_attempts`). The retried error has a budget: it
is injected at the first call of each operation only (the handling after the last attempt is the
AccessDenied one, which every call gets); that keeps the sweep within the CI's time. Errors are injected per HTTP
attempt below the clients (:mod:`tests.reliability.injection`); the steps run one at a time
(``max_workers=1``), so call k is the same call in every world.

What each run must show (docs/design.md, "Hooks: rules that are never broken"):

- exactly one status sent to CodeDeploy: Failed — or Succeeded when the failing call was not needed
  for any step (the read of an earlier report, the first-start stamp, the final ``retired`` mark),
  and then the world is exactly what success means. Where the failing call is the report itself (or
  recording it, or flipping the record back), the handler raises instead and sends nothing; Lambda's
  retry of the same event then sends exactly one status, the recorded one.
- prepare: the live stack a exactly as it was; a Failed prepare leaves b retired again (a cluster it
  started is left running, as documented).
- retire: a Failed one leaves the record on a (rolled back; or still prepared, when the failing call
  came before the flip), a working again — exactly as it was but
  for queue messages purged (irreversible, and run only after every reversible step) — and b, the new
  stack, untouched by the failure handling. A Succeeded one leaves a retired and b as it was but for
  its reader minimum back to the plan's.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

import pytest

from bluegreen.aws import max_attempts
from bluegreen.hooks import Flow, HookResult
from bluegreen.refs import StackReference
from bluegreen.state import Phase
from tests.reliability import figures
from tests.reliability.conftest import Fresh, fresh_world
from tests.reliability.injection import ACCESS_DENIED, INTERNAL_ERROR, ErrorSpec
from tests.support.world import StackView

DEPLOYMENT = "d-1"
ROLLED_BACK = (Phase.ROLLED_BACK, Phase.PREPARED)
EXECUTION = {Flow.PREPARE: "d-1-before-allow-traffic", Flow.RETIRE: "d-1-after-allow-traffic"}


@dataclass(frozen=True)
class Before:
    """Both stacks before the hook runs, and how many calls were made before it (the seeding excluded)."""

    a: StackView
    b: StackView
    calls: int


def arrange(fresh: Fresh, flow: Flow) -> Before:
    """For retire: prepare first (no fault). Then look at both stacks."""
    if flow is Flow.RETIRE:
        prepared = fresh.harness.run(Flow.PREPARE, DEPLOYMENT, max_workers=1)
        assert prepared.status is not None and prepared.status.value == "Succeeded", prepared.message
    a, b = fresh.views()
    return Before(a, b, len(fresh.injector.calls))


def run_hook(fresh: Fresh, flow: Flow) -> tuple[HookResult | None, Exception | None]:
    try:
        return fresh.harness.run(flow, DEPLOYMENT, max_workers=1), None
    except Exception as exc:  # noqa: BLE001 - a raise is one of the outcomes judged below
        return None, exc


def count_calls(flow: Flow) -> list[str]:
    """The operations of one undisturbed run of ``flow``, in order."""
    with fresh_world() as fresh:
        before = arrange(fresh, flow)
        result, raised = run_hook(fresh, flow)
        assert raised is None and result is not None and result.status is not None, raised
        assert result.status.value == "Succeeded", result.message
        return fresh.injector.calls[before.calls :]


def judge(flow: Flow, fresh: Fresh, before: Before, result: HookResult | None, raised: Exception | None) -> str:
    """The outcome of one run (for the figures); raises AssertionError naming every broken promise."""
    broken: list[str] = []
    execution = EXECUTION[flow]
    if raised is not None:
        if fresh.reports(execution):
            broken.append(f"raised {raised!r} after sending {fresh.reports(execution)}")
        fresh.injector.stop()
        result, again = run_hook(fresh, flow)  # Lambda's retry: the same event, the fault gone
        assert result is not None and result.status is not None, f"the retry raised too: {again!r}"
        outcome = f"raised, retry sent {result.status.value}"
    else:
        assert result is not None
        outcome = "Failed" if result.status is not None and result.status.value == "Failed" else "Succeeded"
    assert result.status is not None, "handed over: nothing in this world waits"
    status = result.status.value
    if fresh.reports(execution) != [status]:
        broken.append(f"sent {fresh.reports(execution)} to CodeDeploy, not exactly one {status}")
    a, b = fresh.views()
    record = fresh.record()
    if flow is Flow.PREPARE:
        if a != before.a:
            broken.append(f"the live stack a changed: {a}")
        if status == "Succeeded":
            if not b.working or record is None or record.phase is not Phase.PREPARED:
                broken.append(f"Succeeded but b is not prepared: {b}, record {record}")
        else:
            # The prepare purges b's leftovers (queue, then DLQ) before it turns b on: a failure after
            # a purge leaves that queue purged; nothing ever adds to them.
            kept = dataclasses.replace(b, cluster_status=before.b.cluster_status, queue_depth=before.b.queue_depth)
            if kept != before.b or b.queue_depth > before.b.queue_depth:
                broken.append(f"Failed but b is not back to retired: {b}")
            if record is not None and (record.live is not StackReference.A or record.phase is not Phase.PREPARE_FAILED):
                broken.append(f"Failed but the record holds {record.describe()}")
    elif status == "Succeeded":
        if not a.retired or dataclasses.replace(before.b, min_capacity=1) != b:
            broken.append(f"Succeeded but a is not retired ({a}) or b changed ({b})")
        if record is None or record.live is not StackReference.B:
            broken.append(f"Succeeded but the record holds {record}")
    else:
        # rolled back after the flip, or still prepared when the failure came before it (nothing done)
        if record is None or record.live is not StackReference.A or record.phase not in ROLLED_BACK:
            broken.append(f"Failed but the record is not back on a: {record}")
        if not a.working or dataclasses.replace(a, queue_depth=before.a.queue_depth) != before.a:
            broken.append(f"Failed but a is not back in service as it was: {a}")
        if b != before.b:
            broken.append(f"Failed and the new stack b changed: {b}")
    assert not broken, "; ".join(broken)
    return outcome


@pytest.mark.slow
@pytest.mark.parametrize("error", [ACCESS_DENIED, INTERNAL_ERROR], ids=["AccessDenied", "InternalError"])
@pytest.mark.parametrize("flow", [Flow.PREPARE, Flow.RETIRE], ids=["prepare", "retire"])
def test_a_fault_at_every_call_of_a_hook(flow: Flow, error: ErrorSpec) -> None:
    operations = count_calls(flow)
    attempts = 1 if error is ACCESS_DENIED else max_attempts()
    outcomes: Counter[str] = Counter()
    not_failed: dict[str, str] = {}  # the fault points whose run did not report Failed, and what it did
    broken: list[str] = []
    tried: set[str] = set()
    for k, operation in enumerate(operations, start=1):
        if error is not ACCESS_DENIED and operation in tried:
            continue  # the budget: a retried error at the first call of each operation (see the docstring)
        tried.add(operation)
        with fresh_world() as fresh:
            before = arrange(fresh, flow)
            fresh.injector.fail_call, fresh.injector.error = before.calls + k, error
            result, raised = run_hook(fresh, flow)
            where = f"call {k} of {len(operations)} ({operation})"
            try:
                assert fresh.injector.operation(before.calls + k) == operation, "another call came first"
                assert fresh.injector.attempts[before.calls + k] == attempts, "attempts"
                outcome = judge(flow, fresh, before, result, raised)
                outcomes[outcome] += 1
                if outcome != "Failed":
                    not_failed[f"{k}: {operation}"] = outcome
            except AssertionError as problem:
                broken.append(f"{where}: {problem}")
    figures.record(
        f"faults.{flow.name.lower()}.{error.name.split()[0]}",
        fault_points=len(operations),
        fault_points_tried=sum(outcomes.values()) + len(broken),
        attempts_per_failed_call=attempts,
        outcomes=dict(outcomes),
        not_failed=not_failed,
        broken=len(broken),
    )
    assert not broken, "\n".join(broken)
