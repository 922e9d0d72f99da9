"""Duplicates, order, concurrency: hook events for four deployments delivered in any order, twice, at once.

A hypothesis state machine drives :func:`bluegreen.hooks.handle` (through the hooks' Harness, on a
freshly seeded world per example) with deliveries of BeforeAllowTraffic and AfterAllowTraffic for
deployments d-1..d-6: a first delivery, the same execution again (Lambda's duplicates and retries),
a redelivery under a new execution id, a retire before its prepare, a prepare after its retire, two
deliveries at once in two threads — and now and then an AWS call of the next step failing (AccessDenied,
or a 500 on every attempt), after which a handler that raised is retried with the same event, as
Lambda does. After every step it checks:

- the record flips only for a deployment whose prepare succeeded, at most once; it flips back only
  when a retire of that deployment fails in that very step (putting the old stack back), and never
  after a retire of it reported Succeeded — no duplicate, late or concurrent delivery undoes a flip;
- no destructive call (disable, scale to 0, purge, unmap, deregister, stop, delete) ever targets the
  stack the record names live *at that moment* — every one is checked as it is sent, below the client;
- no execution id ever gets two different statuses (from what CodeDeploy received, and from what the
  handler returned);
- the live stack works, a prepared replacement works, a retired old stack is retired, a replacement
  whose prepare failed is retired again: nothing is left half-done.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import bluegreen.aws
from bluegreen.hooks import Flow, HookResult
from bluegreen.hooks.events import NeedsAttention
from bluegreen.local.seed import World
from bluegreen.refs import StackReference
from bluegreen.state import LiveRecord, Phase
from tests.reliability import figures
from tests.reliability.conftest import Fresh, fresh_world
from tests.reliability.injection import ACCESS_DENIED, INTERNAL_ERROR, ErrorSpec
from tests.support.world import swapped_plan

DEPLOYMENTS = ("d-1", "d-2", "d-3", "d-4", "d-5", "d-6")
IN_FLIGHT = "the deployment in flight"
FLOWS = (Flow.PREPARE, Flow.RETIRE)
Delivery = tuple[Flow, str, int]  # flow, deployment, execution number (the same number: the same execution)


class DestructiveCalls:
    """Checks every destructive call as it is sent: its target must not be the stack live at that moment."""

    def __init__(self, world: World, viewer_client: Any) -> None:
        self.world = world
        self.client = viewer_client  # a plain boto3 client factory (not the code under test's)
        self.dynamodb = viewer_client("dynamodb")
        self.lam = viewer_client("lambda")
        self.checked: Counter[str] = Counter()
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def register(self, session: Any) -> None:
        session.events.register("provide-client-params.*.*", self._check)

    def live(self) -> str:
        item = self.dynamodb.get_item(
            TableName=self.world.state_table, Key={"application": {"S": "orders"}}, ConsistentRead=True
        ).get("Item")
        return item["live"]["S"] if item else "a"

    def _stack_of(self, text: str) -> str | None:
        for stack, names in self.world.names.items():
            if any(name in text for key, name in names.items() if key != "alarm_suffix"):
                return stack
        return next((stack for stack, arn in self.world.subscriptions.items() if arn == text), None)

    def _target(self, operation: str, params: dict[str, Any]) -> str | None:
        """The stack a destructive call acts on, or None when the call is not destructive."""
        if operation == "UpdateService":
            return self._stack_of(params["service"]) if params.get("desiredCount") == 0 else None
        if operation == "SetSubscriptionAttributes":
            disabling = json.loads(params.get("AttributeValue") or "{}") != {}
            return self._stack_of(params["SubscriptionArn"]) if disabling else None
        if operation in ("UpdateEventSourceMapping", "DeleteEventSourceMapping"):
            if operation == "UpdateEventSourceMapping" and params.get("Enabled") is not False:
                return None
            return self._stack_of(self.lam.get_event_source_mapping(UUID=params["UUID"])["FunctionArn"])
        if operation == "DisableAlarmActions":
            suffixes = {stack: names["alarm_suffix"] for stack, names in self.world.names.items()}
            return next(s for s, suffix in suffixes.items() if params["AlarmNames"][0].endswith(suffix))
        keys = {
            "DisableRule": "Name",
            "PurgeQueue": "QueueUrl",
            "DeregisterStreamConsumer": "ConsumerARN",
            "StopDBCluster": "DBClusterIdentifier",
            "DeleteDBCluster": "DBClusterIdentifier",
            "DeleteDBInstance": "DBInstanceIdentifier",
            "DeleteTable": "TableName",
        }
        return self._stack_of(str(params[keys[operation]])) if operation in keys else None

    def _check(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        target = self._target(model.name, params)
        if target is None:
            return
        live = self.live()
        with self._lock:
            self.checked[model.name] += 1
            if target == live:
                self.violations.append(f"{model.name} on stack {target} while it was live: {params}")


class Deliveries(RuleBasedStateMachine):
    """Hook events for d-1..d-6 in any order, duplicated, redelivered, concurrent; invariants after each step."""

    totals: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.exit = ExitStack()
        self.fresh: Fresh = self.exit.enter_context(fresh_world())
        self.destructive = DestructiveCalls(self.fresh.harness.world, self.fresh.viewer.client)
        self.destructive.register(bluegreen.aws.default_session())  # before the runtime makes its clients
        self.statuses: dict[str, set[str]] = defaultdict(set)  # execution id -> statuses the handler returned
        self.prepared: set[str] = set()  # deployments some prepare reported Succeeded for
        self.retired: set[str] = set()  # deployments some retire reported Succeeded for
        self.flipped: dict[str, StackReference] = {}  # deployment -> the stack it made live
        self.rolled_back: set[str] = set()  # deployments seen rolled back (they may never flip again)
        self.seen: set[str] = set()
        self.ended: set[str] = set()  # deployments CodeDeploy stopped or failed
        self.lock = threading.Lock()
        # d-4 belongs to a second deployment group of the same application (one record for both)
        self.fresh.harness.deployments.create("d-4", group="orders-worker-dg")
        self.before = self.record()
        Deliveries.totals["examples"] += 1

    def teardown(self) -> None:
        Deliveries.totals["destructive calls checked"] += sum(self.destructive.checked.values())
        Deliveries.totals["reports sent"] += len(self.fresh.harness.ledger.calls)
        self.exit.close()

    def record(self) -> LiveRecord | None:
        return self.fresh.record()

    def _deliver(self, delivery: Delivery) -> HookResult:
        flow, deployment, number = delivery
        execution = f"{deployment}-{flow.name.lower()}-{number}"
        with self.lock:
            kind = "duplicate" if execution in self.seen else "first delivery"
            if kind == "first delivery" and number > 0:
                kind = "new execution id"
            self.seen.add(execution)
            Deliveries.totals[f"{flow.name.lower()} {kind}"] += 1
        try:
            result = self.fresh.harness.run(flow, deployment, execution)
        except Exception:  # noqa: BLE001 - the handler raised so that Lambda retries: retry it, as Lambda does
            with self.lock:
                Deliveries.totals["raised and retried as Lambda does"] += 1
                self.fresh.injector.stop()
            result = self.fresh.harness.run(flow, deployment, execution)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # a hook that waited for another's lease handed over: Lambda runs it again
            if result.status is not None or "handed over" not in result.message:
                break
            time.sleep(0.05)  # the holder runs in the other thread: leave it the interpreter
            with self.lock:
                Deliveries.totals["waited for the lease and handed over"] += 1
                reinvoked = self.fresh.harness.reinvoked
                index = next(i for i, e in enumerate(reinvoked) if e.get("LifecycleEventHookExecutionId") == execution)
                continuation = reinvoked.pop(index)
            result = self.fresh.harness.deliver(flow, continuation)
        if result.status is None:  # its twin holds the lease: the twin reports, this one did nothing
            assert "another delivery of this hook execution" in result.message, result.message
            with self.lock:
                Deliveries.totals["returned without acting: its twin at work"] += 1
        return result

    def _after(self, deliveries: list[Delivery], results: list[HookResult]) -> None:
        for (flow, deployment, number), result in zip(deliveries, results, strict=True):
            if result.status is None:
                continue
            self.statuses[f"{deployment}-{flow.name.lower()}-{number}"].add(result.status.value)
            if result.status.value == "Succeeded":
                (self.prepared if flow is Flow.PREPARE else self.retired).add(deployment)
        before, after = self.before, self.record()
        self.fresh.injector.stop()  # a fault armed for this step and not reached is dropped
        retires = {
            (d, result.status.value)
            for (f, d, _), result in zip(deliveries, results, strict=True)
            if f is Flow.RETIRE and result.status is not None
        }
        live_before = before.live if before is not None else StackReference.A
        self.before = after
        if after is None:
            return
        if after.phase is Phase.ROLLED_BACK and after.deployment_id not in (None, *self.rolled_back):
            Deliveries.totals["retires rolled back"] += 1
            self.rolled_back.add(after.deployment_id)
        if after.live is live_before:
            return
        deployment = after.deployment_id
        assert deployment is not None
        flipped_here = after.phase in (Phase.FLIPPED, Phase.RETIRED) and deployment in {d for d, _ in retires}
        if deployment != before_deployment(before) and not flipped_here:
            mover = before_deployment(before)
            last = after.history[-1] if after.history else {}
            if last.get("deployment_id") == mover and last.get("outcome") == "retired":
                # the deployment on record flipped and retired in this step; then another one began
                Deliveries.totals["flips"] += 1
                assert mover in {d for d, _ in retires}, f"live changed without a retire of {mover}"
                assert mover in self.prepared, f"{mover} flipped live but never prepared"
                assert mover not in self.flipped, f"{mover} flipped a second time"
                self.flipped[mover] = after.live
                return
            # a prepare settled an ended deployment that had flipped (its event never came), then began
            settled = mover
            Deliveries.totals["flipped deployments settled by the next prepare"] += 1
            assert settled in self.flipped and settled in self.ended, f"{settled} put back but never flipped or ended"
            assert settled not in self.retired, f"{settled} put back after a retire reported Succeeded"
            assert after.history[-1]["deployment_id"] == settled and after.history[-1]["outcome"] == "rolled-back"
            return
        if after.phase is Phase.ROLLED_BACK and deployment in self.ended and (deployment, "Failed") not in retires:
            Deliveries.totals["flips back settling an ended deployment"] += 1
            assert deployment in self.flipped and deployment not in self.retired, after.describe()
            return
        if after.phase is Phase.ROLLED_BACK:  # put back after a failed retire
            Deliveries.totals["flips back after a failed retire"] += 1
            assert deployment in self.flipped, f"{deployment} rolled back to {after.live} without having flipped"
            assert (deployment, "Failed") in retires, f"{deployment} flipped back without a failed retire"
            assert deployment not in self.retired, f"{deployment} flipped back after a retire reported Succeeded"
            return
        Deliveries.totals["flips"] += 1
        assert after.phase in (Phase.FLIPPED, Phase.RETIRED), after.describe()
        assert deployment in {d for d, _ in retires}, f"live changed without a retire of {deployment}"
        assert deployment in self.prepared, f"{deployment} flipped live to {after.live} but never prepared"
        assert deployment not in self.flipped, f"{deployment} flipped a second time"
        assert deployment not in self.rolled_back, f"{deployment} flipped again after it was rolled back"
        self.flipped[deployment] = after.live

    @rule(flow=st.sampled_from(FLOWS), deployment=st.sampled_from(DEPLOYMENTS), number=st.integers(0, 2))
    def deliver(self, flow: Flow, deployment: str, number: int) -> None:
        delivery = (flow, deployment, number)
        self._after([delivery], [self._deliver(delivery)])

    @rule(deployment=st.sampled_from(DEPLOYMENTS), number=st.integers(0, 2))
    def deploy(self, deployment: str, number: int) -> None:
        """A deployment as CodeDeploy runs it: prepare, then retire (so that flips, and put-backs, are common)."""
        deliveries = [(flow, deployment, number) for flow in FLOWS]  # an armed fault may hit either
        self._after(deliveries, [self._deliver(delivery) for delivery in deliveries])

    @rule(k=st.integers(1, 70), error=st.sampled_from([ACCESS_DENIED, INTERNAL_ERROR]))
    def fail_a_call_of_the_next_step(self, k: int, error: ErrorSpec) -> None:
        """Call k from now fails (if the next step makes that many calls); the fault lasts that step only."""
        Deliveries.totals["faults armed"] += 1
        self.fresh.injector.fail_call, self.fresh.injector.error = len(self.fresh.injector.calls) + k, error

    @rule(
        deployment=st.sampled_from((IN_FLIGHT, IN_FLIGHT, *DEPLOYMENTS)),
        how=st.sampled_from(["Stopped", "Failed"]),
        event=st.booleans(),
    )
    def codedeploy_ends_it(self, deployment: str, how: str, event: bool) -> None:
        """CodeDeploy stops or fails a deployment (a canary alarm, a hook timeout); its event comes, or is lost.

        Often the one on record while it is in flight (the case that matters), else any.
        """
        if deployment == IN_FLIGHT:
            record = self.record()
            if record is None or record.deployment_id is None or not record.in_flight:
                return
            deployment = record.deployment_id
            Deliveries.totals["deployments in flight ended"] += 1
        Deliveries.totals[f"deployments {how.lower()}"] += 1
        self.fresh.harness.deployments.ensure(deployment)
        if self.fresh.harness.deployments.get(deployment).ended:  # type: ignore[union-attr]
            return
        self.fresh.harness.deployments.set_status(deployment, how)
        self.ended.add(deployment)
        if event:
            self.state_change_event(deployment, "STOP" if how == "Stopped" else "FAILURE")

    @rule(
        deployment=st.sampled_from(DEPLOYMENTS),
        how=st.sampled_from(["Stopped", "Failed"]),
        event=st.booleans(),
        flipped=st.booleans(),
    )
    def canary_alarm(self, deployment: str, how: str, event: bool, flipped: bool) -> None:
        """A canary deployment: prepared, (maybe retired,) then ended by an alarm; its event comes, or is lost."""
        delivery = (Flow.PREPARE, deployment, 0)
        self._after([delivery], [self._deliver(delivery)])
        if flipped:
            delivery = (Flow.RETIRE, deployment, 0)
            self._after([delivery], [self._deliver(delivery)])
        self.codedeploy_ends_it(IN_FLIGHT, how, event)

    @rule(flow=st.sampled_from(FLOWS))
    def codedeploy_rolls_it_back(self, flow: Flow) -> None:
        """CodeDeploy rolls the deployment in flight back with a new deployment, and (maybe) calls its hooks."""
        record = self.record()
        if record is None or record.deployment_id is None or not record.in_flight:
            return
        undone = record.deployment_id
        book = self.fresh.harness.deployments
        if book.get(undone) is None or book.get(undone).ended:  # type: ignore[union-attr]
            return
        Deliveries.totals["rollback deployments"] += 1
        rollback = book.roll_back(undone, f"{undone}-rb-{len(book)}")
        self.ended.add(undone)
        delivery = (flow, rollback.deployment_id, 0)
        result = self._deliver(delivery)
        if result.status is not None:
            Deliveries.totals[f"rollback hooks {result.status.value.lower()}"] += 1
        self._after([delivery], [result])
        after = self.record()
        assert after is not None and after.deployment_id == undone, "a rollback's hook began a deployment"
        if result.status is not None and result.status.value == "Succeeded":
            assert after.settled, f"the rollback's hook succeeded but {undone} is not settled: {after.describe()}"

    @rule(deployment=st.sampled_from(DEPLOYMENTS), state=st.sampled_from(["STOP", "FAILURE", "SUCCESS"]))
    def state_change_event(self, deployment: str, state: str) -> None:
        """A state-change event (also a late, repeated or wrong one) delivered to the deployment-events handler."""
        Deliveries.totals["state-change events"] += 1
        before = self.record()
        try:
            result = self.fresh.harness.event(deployment, state)
            Deliveries.totals[f"events: {result.outcome}"] += 1
        except NeedsAttention:
            Deliveries.totals["events: needs attention"] += 1
        except Exception:  # noqa: BLE001 - raised so that Lambda retries it, as Lambda does
            Deliveries.totals["events: raised and retried"] += 1
            self.fresh.injector.stop()
            try:
                self.fresh.harness.event(deployment, state)
            except NeedsAttention:
                Deliveries.totals["events: needs attention"] += 1
        self.fresh.injector.stop()
        after = self.record()
        self.before = after
        if before is not None and after is not None and after.live is not before.live:
            assert after.deployment_id in self.flipped, f"an event moved live without a flip: {after.describe()}"
            assert after.deployment_id not in self.retired, (
                f"an event put back a retired deployment: {after.describe()}"
            )
            assert after.phase is Phase.ROLLED_BACK, after.describe()

    @rule()
    def retire_with_the_plan_swapped(self) -> None:
        """The plan is edited between the hooks (a and b swapped): the retire must act on the plan it prepared."""
        record = self.record()
        if record is None or record.deployment_id is None or record.phase is not Phase.PREPARED:
            return
        Deliveries.totals["retires with the plan swapped"] += 1
        harness = self.fresh.harness
        kept = harness.runtime
        harness.with_plan(swapped_plan(harness.world.plan))
        try:
            delivery = (Flow.RETIRE, record.deployment_id, 0)
            self._after([delivery], [self._deliver(delivery)])
        finally:
            harness.runtime = kept

    @rule(
        first=st.tuples(st.sampled_from(FLOWS), st.sampled_from(DEPLOYMENTS), st.integers(0, 2)),
        second=st.tuples(st.sampled_from(FLOWS), st.sampled_from(DEPLOYMENTS), st.integers(0, 2)),
    )
    def deliver_at_once(self, first: Delivery, second: Delivery) -> None:
        Deliveries.totals["concurrent pairs"] += 1
        results: list[HookResult | None] = [None, None]
        errors: list[BaseException] = []

        def run(index: int, delivery: Delivery) -> None:
            try:
                results[index] = self._deliver(delivery)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i, d)) for i, d in enumerate((first, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        self._after([first, second], [r for r in results if r is not None])

    @invariant()
    def no_destructive_call_hit_the_live_stack(self) -> None:
        assert not self.destructive.violations, self.destructive.violations

    @invariant()
    def no_execution_got_two_statuses(self) -> None:
        sent: dict[str, set[str]] = defaultdict(set)
        for call in self.fresh.harness.ledger.calls:
            sent[call.execution_id].add(call.status)
        for execution, statuses in [*sent.items(), *self.statuses.items()]:
            assert len(statuses) == 1, f"{execution} got {sorted(statuses)}"

    @invariant()
    def nothing_is_left_half_done(self) -> None:
        Deliveries.totals["steps checked"] += 1
        record = self.record()
        live = record.live if record is not None else StackReference.A
        views = dict(zip("ab", self.fresh.views(), strict=True))
        assert views[live.value].working, f"live stack {live} is not working: {views[live.value]}"
        if record is None or record.replacement is None:
            return
        replacement, other = views[record.replacement.value], views[record.replacement.partner.value]
        if record.phase is Phase.PREPARED:
            assert replacement.working, f"{record.describe()}: the replacement is not working: {replacement}"
        elif record.phase is Phase.RETIRED:
            assert other.retired, f"{record.describe()}: the old stack is not retired: {other}"
        elif record.phase is Phase.PREPARE_FAILED or (record.phase is Phase.ROLLED_BACK and record.settled):
            assert replacement.desired_tasks == 0 and not replacement.subscription_enabled, record.describe()
            assert replacement.consumer is None and set(replacement.mappings) == {"Disabled"}, record.describe()


def before_deployment(record: LiveRecord | None) -> str | None:
    return record.deployment_id if record is not None else None


@pytest.mark.slow
def test_deliveries_in_any_order_duplicated_and_concurrent_keep_every_promise() -> None:
    Deliveries.totals.clear()
    run_state_machine_as_test(
        Deliveries,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    figures.record("duplicates", failures=0, **{k.replace(" ", "_"): v for k, v in sorted(Deliveries.totals.items())})


@pytest.mark.parametrize("after", ["SetSubscriptionAttributes", "StopDBCluster"], ids=["first step", "last step"])
def test_a_duplicate_delivered_while_its_twin_retires_returns_without_acting(after: str) -> None:
    """The interleaving the state machine once found (a twin's put-back under a running retire), now excluded.

    The same AfterAllowTraffic event is delivered twice at once. Run 2 retires the old stack step by
    step; after its first step (or its last), the twin arrives — and finds the application's lease
    held by its own execution: it returns without acting and without reporting (run 2 reports), so no
    put-back can run under a retire any more.
    """
    with fresh_world() as fresh:
        session = bluegreen.aws.default_session()
        destructive = DestructiveCalls(fresh.harness.world, fresh.viewer.client)
        destructive.register(session)
        twin: list[HookResult] = []
        armed = threading.Event()

        def run_the_twin(model: Any, **_: Any) -> None:
            if not armed.is_set() or model.name != after:
                return
            armed.clear()  # once
            thread = threading.Thread(target=lambda: twin.append(fresh.harness.run(Flow.RETIRE, "d-1")))
            thread.start()
            thread.join()

        session.events.register("after-call.*.*", run_the_twin)  # before any client is made
        prepared = fresh.harness.run(Flow.PREPARE, "d-1")
        assert prepared.status is not None and prepared.status.value == "Succeeded", prepared.message
        armed.set()
        run2 = fresh.harness.run(Flow.RETIRE, "d-1", max_workers=1)
        assert twin and twin[0].status is None and "another delivery" in twin[0].message, twin
        assert run2.status is not None and run2.status.value == "Succeeded", run2.message
        assert not destructive.violations, destructive.violations
        assert fresh.reports("d-1-after-allow-traffic") == ["Succeeded"]
        record = fresh.record()
        assert record is not None and record.live is StackReference.B and record.phase is Phase.RETIRED
        a, b = fresh.views()
        assert a.retired, a
        assert b.working, b
        figures.add("duplicates", "twin_interleavings_passed")


@pytest.mark.parametrize("trigger", ["SetSubscriptionAttributes", "CreateEventSourceMapping"])
def test_a_second_deployment_arriving_during_a_prepare_waits_then_is_refused(trigger: str) -> None:
    """Deployment d-2's prepare arrives while d-1's prepare runs (it once superseded it, leaving b half on).

    Now it finds the application's lease held, waits and hands over; its continuation, run once d-1's
    prepare is over, finds d-1 in flight (CodeDeploy says it is in progress) and is refused: Failed,
    naming d-1, and nothing changed. d-1 ends prepared, with stack b working.
    """
    with fresh_world() as fresh:
        session = bluegreen.aws.default_session()
        armed = threading.Event()
        second: list[HookResult] = []

        def start_the_second(model: Any, **_: Any) -> None:
            if not armed.is_set() or model.name != trigger:
                return
            armed.clear()
            thread = threading.Thread(target=lambda: second.append(fresh.harness.run(Flow.PREPARE, "d-2")))
            thread.start()
            thread.join()

        session.events.register("after-call.*.*", start_the_second)
        armed.set()
        first = fresh.harness.run(Flow.PREPARE, "d-1", max_workers=1)
        assert first.status is not None and first.status.value == "Succeeded", first.message
        assert second and second[0].status is None and "handed over" in second[0].message, second
        continuation = fresh.harness.reinvoked.pop()
        refused = fresh.harness.deliver(Flow.PREPARE, continuation)
        assert refused.status is not None and refused.status.value == "Failed", refused.message
        assert "d-1 of orders/orders-dg (InProgress)" in refused.message
        record = fresh.record()
        assert record is not None and record.deployment_id == "d-1" and record.phase is Phase.PREPARED
        assert fresh.viewer("b").working
        figures.add("duplicates", "overlapping_prepares_passed")
