"""Duplicates, order, concurrency: hook events for four deployments delivered in any order, twice, at once.

A hypothesis state machine drives :func:`bluegreen.hooks.handle` (through the hooks' Harness, on a
freshly seeded world per example) with deliveries of BeforeAllowTraffic and AfterAllowTraffic for
deployments d-1..d-4: a first delivery, the same execution again (Lambda's duplicates and retries),
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
from collections import Counter, defaultdict
from contextlib import ExitStack
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import bluegreen.aws
from bluegreen.hooks import Flow, HookResult
from bluegreen.local.seed import World
from bluegreen.refs import StackReference
from bluegreen.state import LiveRecord, Phase
from tests.reliability import figures
from tests.reliability.conftest import Fresh, fresh_world
from tests.reliability.injection import ACCESS_DENIED, INTERNAL_ERROR, ErrorSpec

DEPLOYMENTS = ("d-1", "d-2", "d-3", "d-4")
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
    """Hook events for d-1..d-4 in any order, duplicated, redelivered, concurrent; invariants after each step."""

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
        self.lock = threading.Lock()
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
        assert result.status is not None, "handed over: nothing in this world waits"
        return result

    def _after(self, deliveries: list[Delivery], results: list[HookResult]) -> None:
        for (flow, deployment, number), result in zip(deliveries, results, strict=True):
            assert result.status is not None
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
        elif record.phase is Phase.PREPARE_FAILED:
            assert replacement.desired_tasks == 0 and not replacement.subscription_enabled, record.describe()
            assert replacement.consumer is None and set(replacement.mappings) == {"Disabled"}, record.describe()


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
def test_a_duplicate_that_runs_on_after_its_twin_put_the_old_stack_back_leaves_it_working(after: str) -> None:
    """The interleaving the state machine found, made deterministic (it was: PurgeQueue and StopDBCluster on a).

    The same AfterAllowTraffic event is delivered twice at once. Run 2 retires the old stack a step by
    step; after its first step (or its last), run 1 — the twin — fails and puts a back: the record says
    a is live again, and the twin restores what *it* had started. Run 2 must see that at its next
    destructive step, or when it records the deployment retired, and put back what it did itself.
    """
    with fresh_world() as fresh:
        session = bluegreen.aws.default_session()
        destructive = DestructiveCalls(fresh.harness.world, fresh.viewer.client)
        destructive.register(session)
        faults = fresh.harness.faults
        faults.register(session)
        twin: list[HookResult] = []
        armed = threading.Event()

        def run_the_twin(model: Any, **_: Any) -> None:
            if not armed.is_set() or model.name != after:
                return
            armed.clear()  # once
            faults.arm("DescribeAlarms")  # the twin's disabling of a's alarm actions fails: it puts a back
            thread = threading.Thread(target=lambda: twin.append(fresh.harness.run(Flow.RETIRE, "d-1")))
            thread.start()
            thread.join()
            faults.disarm()

        session.events.register("after-call.*.*", run_the_twin)  # before any client is made
        prepared = fresh.harness.run(Flow.PREPARE, "d-1")
        assert prepared.status is not None and prepared.status.value == "Succeeded", prepared.message
        b_before = fresh.viewer("b")
        armed.set()
        run2 = fresh.harness.run(Flow.RETIRE, "d-1", max_workers=1)
        assert twin and twin[0].status is not None and twin[0].status.value == "Failed", twin
        assert run2.status is not None and run2.status.value == "Failed", run2.message
        assert not destructive.violations, destructive.violations
        assert set(fresh.reports("d-1-after-allow-traffic")) == {"Failed"}
        record = fresh.record()
        assert record is not None and record.live is StackReference.A and record.phase is Phase.ROLLED_BACK
        a, b = fresh.views()
        assert a.working, a
        assert b == b_before
        figures.add("duplicates", "twin_interleavings_passed")


@pytest.mark.parametrize("timing", ["still enabling", "already done"])
def test_a_superseded_prepare_overlapping_a_failed_one_leaves_the_replacement_retired(timing: str) -> None:
    """Deployment d-1's prepare is still running when d-2 supersedes it, and d-2's prepare fails.

    "still enabling": d-2 fails and puts b back while d-1's run goes on enabling b; "already done":
    d-1's run finished every step and gave up (the record held d-2, preparing), then d-2 fails before
    enabling anything. Either way b must end retired again (found by the state machine: workers,
    mappings, rules and alarms left on while the record said prepare-failed).
    """
    with fresh_world() as fresh:
        session = bluegreen.aws.default_session()
        faults = fresh.harness.faults
        armed, launched = threading.Event(), threading.Event()
        begun, first_done = threading.Event(), threading.Event()
        second: list[HookResult] = []
        trigger = "SetSubscriptionAttributes" if timing == "still enabling" else "CreateEventSourceMapping"

        def start_the_second(model: Any, **_: Any) -> None:
            if not armed.is_set() or model.name != trigger:
                return
            armed.clear()
            launched.set()
            if timing == "still enabling":  # d-2 fails at its alarms; d-1 waits until it is over
                faults.arm("DescribeAlarms")
                thread = threading.Thread(target=lambda: second.append(fresh.harness.run(Flow.PREPARE, "d-2")))
                thread.start()
                thread.join()
            else:  # d-2 begins, then waits for d-1 to give up, then fails at its first step
                faults.arm("DescribeTable")
                threading.Thread(target=lambda: second.append(fresh.harness.run(Flow.PREPARE, "d-2"))).start()
                assert begun.wait(10)

        def hold_the_second(model: Any, **_: Any) -> None:
            if timing == "already done" and model.name == "DescribeTable" and launched.is_set() and not begun.is_set():
                begun.set()
                assert first_done.wait(10)

        # before any client is made; the hold ahead of the injected fault (the first answer ends a before-call)
        session.events.register("before-call.*.*", hold_the_second)
        faults.register(session)
        session.events.register("after-call.*.*", start_the_second)
        armed.set()
        first = fresh.harness.run(Flow.PREPARE, "d-1", max_workers=1)
        first_done.set()
        for _ in range(100):
            if second:
                break
            threading.Event().wait(0.1)
        assert second and second[0].status is not None and second[0].status.value == "Failed", second
        assert first.status is not None and first.status.value == "Failed", first.message
        record = fresh.record()
        assert record is not None and record.deployment_id == "d-2" and record.phase is Phase.PREPARE_FAILED
        b = fresh.viewer("b")
        assert b.desired_tasks == 0 and not b.subscription_enabled and not any(b.alarm_actions), b
        assert set(b.mappings) == {"Disabled"} and set(b.rules) == {"DISABLED"}, b
        assert b.consumer is None and b.kinesis_mappings == 0 and b.min_capacity == 1, b
        figures.add("duplicates", "overlapping_prepares_passed")
