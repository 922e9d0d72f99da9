"""The live-stack record on moto's DynamoDB: what the table holds after each call."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto.dynamodb.models import DynamoDBBackend

from bluegreen import StackReference
from bluegreen.state import HISTORY_LIMIT, LiveRecord, Phase, StateConflict, StateStore
from bluegreen.state.record import FAILURE_LIMIT
from tests.conftest import REGION

TABLE = "bluegreen-state"
APP = "orders"
A, B = StackReference.A, StackReference.B


class Ticker:
    """A clock that moves one second on every reading, so every write stamps a distinct time."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Calls:
    """Counts the DynamoDB requests by operation, from botocore's after-call events ("UpdateItem!" = refused)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[model.name + ("!" if "Error" in parsed else "")] += 1

    @property
    def writes(self) -> int:
        """Writes DynamoDB accepted."""
        return self.counts["PutItem"] + self.counts["UpdateItem"]

    def reset(self) -> None:
        self.counts.clear()


@pytest.fixture
def table(aws: None) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "application", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "application", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def store(table: None, calls: Calls) -> StateStore:
    # The session's event hook counts the requests: a write that did not happen is otherwise invisible.
    session = boto3.Session(region_name=REGION)
    session.events.register("after-call.dynamodb", calls)
    return StateStore(TABLE, session=session, clock=Ticker())


def raw(key: str = APP) -> dict[str, Any] | None:
    """The item as DynamoDB holds it (plain Python values), or None."""
    found = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"application": {"S": key}}, ConsistentRead=True
    )
    item = found.get("Item")
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()} if item else None


def held() -> dict[str, Any]:
    item = raw()
    assert item is not None
    return item


def deploy(store: StateStore, deployment_id: str, initial: StackReference = A) -> LiveRecord:
    """One whole successful deployment: begin, prepared, flip, retired."""
    store.begin(APP, deployment_id, initial)
    store.set_phase(APP, deployment_id, Phase.PREPARED, expected={Phase.PREPARING})
    store.flip(APP, deployment_id)
    return store.finish(APP, deployment_id, Phase.RETIRED)


# -- the life of deployments -----------------------------------------------------------------------


def test_the_full_life_of_two_deployments(store: StateStore) -> None:
    assert store.get(APP) is None

    record = store.begin(APP, "d-1", initial_live=A)
    item = held()
    assert item["live"] == "a"
    assert item["history"] == []
    assert item["deployment"]["id"] == "d-1"
    assert item["deployment"]["replacement"] == "b"
    assert item["deployment"]["phase"] == "preparing"
    assert item["deployment"]["started_at"].endswith("Z")
    assert "finished_at" not in item["deployment"]
    assert record == store.get(APP)
    assert record.in_flight
    assert record.replacement_stack is B

    store.set_phase(APP, "d-1", Phase.PREPARED, expected={Phase.PREPARING})
    assert held()["deployment"]["phase"] == "prepared"
    assert held()["live"] == "a"

    record = store.flip(APP, "d-1")
    assert held()["live"] == "b"
    assert held()["deployment"]["phase"] == "flipped"
    assert (record.live, record.phase) == (B, Phase.FLIPPED)

    record = store.finish(APP, "d-1", Phase.RETIRED)
    item = held()
    assert item["live"] == "b"
    assert item["deployment"]["phase"] == "retired"
    assert item["deployment"]["finished_at"]
    assert [(h["deployment_id"], h["from"], h["to"], h["outcome"]) for h in item["history"]] == [
        ("d-1", "a", "b", "retired")
    ]
    assert not record.in_flight
    assert record.replacement_stack is A  # the next deployment brings in stack a

    record = store.begin(APP, "d-2", initial_live=A)  # initial_live is ignored: the record wins
    item = held()
    assert item["live"] == "b"
    assert item["deployment"]["id"] == "d-2"
    assert item["deployment"]["replacement"] == "a"
    assert len(item["history"]) == 1  # an ended deployment is replaced, not superseded

    store.set_phase(APP, "d-2", Phase.PREPARED)
    store.flip(APP, "d-2")
    assert held()["live"] == "a"
    store.finish(APP, "d-2", Phase.RETIRED)
    item = held()
    assert item["live"] == "a"
    assert [(h["deployment_id"], h["from"], h["to"], h["outcome"]) for h in item["history"]] == [
        ("d-1", "a", "b", "retired"),
        ("d-2", "b", "a", "retired"),
    ]
    assert store.get(APP) == LiveRecord.from_item(
        boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE, Key={"application": {"S": APP}})["Item"]
    )


def test_ensure_creates_once_and_never_overwrites(store: StateStore) -> None:
    assert store.ensure(APP, B).live is B
    assert store.ensure(APP, A).live is B
    assert held()["live"] == "b"
    assert "deployment" not in held()
    record = store.begin(APP, "d-1", A)
    assert (record.live, record.replacement) == (B, A)


def test_begin_again_for_the_same_deployment_changes_nothing(store: StateStore, calls: Calls) -> None:
    first = store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    before = held()
    calls.reset()
    again = store.begin(APP, "d-1", B)
    assert calls.writes == 0
    assert held() == before
    assert again.phase is Phase.PREPARED
    assert again.started_at == first.started_at


# -- flip ------------------------------------------------------------------------------------------


def test_flip_needs_the_deployment_prepared(store: StateStore, calls: Calls) -> None:
    store.begin(APP, "d-1", A)
    before = held()
    calls.reset()
    with pytest.raises(StateConflict, match="never prepared") as caught:
        store.flip(APP, "d-1")
    assert calls.counts == {"UpdateItem!": 1}  # one conditional write, refused; no read before it
    assert held() == before
    assert caught.value.record is not None
    assert caught.value.record.phase is Phase.PREPARING


def test_duplicate_flip_writes_nothing_and_never_flips_back(store: StateStore, calls: Calls) -> None:
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    flipped = store.flip(APP, "d-1")
    before = held()
    calls.reset()
    assert store.flip(APP, "d-1") == flipped
    assert calls.counts == {"UpdateItem!": 1}  # its one conditional write was refused; the answer came with it
    assert held() == before
    assert held()["live"] == "b"

    store.finish(APP, "d-1", Phase.RETIRED)
    late = store.flip(APP, "d-1")  # a late AfterAllowTraffic after the retire
    assert (late.live, late.phase) == (B, Phase.RETIRED)
    assert held()["live"] == "b"


def test_flip_for_an_unknown_deployment_raises_and_changes_nothing(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    before = held()
    with pytest.raises(StateConflict, match=r"deployment on record is d-1 \(prepared\), not d-9") as caught:
        store.flip(APP, "d-9")
    assert held() == before
    assert caught.value.record is not None
    assert caught.value.record.deployment_id == "d-1"


def test_flip_without_a_record_creates_nothing(store: StateStore) -> None:
    with pytest.raises(StateConflict, match="no record") as caught:
        store.flip(APP, "d-1")
    assert caught.value.record is None
    assert raw() is None


def test_flip_after_a_failed_prepare_is_refused(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    store.finish(APP, "d-1", Phase.PREPARE_FAILED)
    with pytest.raises(StateConflict, match="ended prepare-failed"):
        store.flip(APP, "d-1")
    assert held()["live"] == "a"


def test_two_concurrent_flips_write_exactly_once(
    store: StateStore, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DynamoDB applies the writes to one item one at a time; moto's in-process backend does not lock,
    # so the test gives it that one lock (and nothing else).
    item_lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def one_at_a_time(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with item_lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", one_at_a_time)
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    calls.reset()

    start = threading.Barrier(2)
    results: list[LiveRecord] = []
    errors: list[Exception] = []

    def flip() -> None:
        start.wait()
        try:
            results.append(store.flip(APP, "d-1"))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=flip) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert calls.counts == {"UpdateItem": 1, "UpdateItem!": 1}
    assert [(r.live, r.phase) for r in results] == [(B, Phase.FLIPPED)] * 2
    assert held()["live"] == "b"


# -- begin over a stale deployment -----------------------------------------------------------------


@pytest.mark.parametrize("phase", [Phase.PREPARING, Phase.PREPARED, Phase.FLIPPED])
def test_a_new_deployment_is_refused_while_one_is_in_flight(store: StateStore, phase: Phase) -> None:
    store.begin(APP, "d-1", A)
    if phase is not Phase.PREPARING:
        store.set_phase(APP, "d-1", Phase.PREPARED)
    if phase is Phase.FLIPPED:
        store.flip(APP, "d-1")
    before = held()
    with pytest.raises(StateConflict, match=r"d-1 is still in flight .*settled, before another one begins") as caught:
        store.begin(APP, "d-2", A)
    assert held() == before  # nothing written: the one in flight must be settled first (bluegreen.hooks.decide)
    assert caught.value.record is not None and caught.value.record.phase is phase


def test_a_new_deployment_begins_once_the_one_before_is_settled(store: StateStore) -> None:
    store.begin(APP, "d-1", A, codedeploy=("orders", "orders-dg"))
    store.set_phase(APP, "d-1", Phase.PREPARED)
    store.finish(APP, "d-1", Phase.ROLLED_BACK)  # its deployment was stopped: put back
    settled = store.mark_settled(APP, "d-1")
    assert settled.settled and store.mark_settled(APP, "d-1").settled_at == settled.settled_at  # idempotent
    record = store.begin(APP, "d-2", A, plan=('{"application":"orders"}', "f" * 64), codedeploy=("orders", "dg-2"))
    item = held()
    assert item["deployment"]["id"] == "d-2" and item["live"] == "a"
    assert [(h["deployment_id"], h["outcome"]) for h in item["history"]] == [("d-1", "rolled-back")]
    assert (record.plan_sha256, record.codedeploy_group_name) == ("f" * 64, "orders/dg-2")
    # the ended deployment's late calls all fail their conditions and change nothing
    before = held()
    with pytest.raises(StateConflict, match="d-2"):
        store.set_phase(APP, "d-1", Phase.PREPARED)
    with pytest.raises(StateConflict, match="d-2"):
        store.flip(APP, "d-1")
    with pytest.raises(StateConflict, match="d-2"):
        store.mark_settled(APP, "d-1")
    assert held() == before


def test_only_an_ended_deployment_can_be_marked_settled(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    with pytest.raises(StateConflict, match="it has not ended"):
        store.mark_settled(APP, "d-1")
    store.finish(APP, "d-1", Phase.ROLLED_BACK)  # from preparing: a deployment stopped mid-prepare
    assert store.mark_settled(APP, "d-1").settled


def test_a_late_begin_of_an_ended_deployment_is_refused(store: StateStore) -> None:
    deploy(store, "d-1")
    store.begin(APP, "d-2", A)
    before = held()
    with pytest.raises(StateConflict, match="d-1 already ended"):
        store.begin(APP, "d-1", A)
    assert held() == before


# -- unflip and finish -----------------------------------------------------------------------------


def test_unflip_puts_the_old_stack_back(store: StateStore, calls: Calls) -> None:
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    store.flip(APP, "d-1")
    record = store.unflip(APP, "d-1")
    assert (record.live, record.phase) == (A, Phase.ROLLED_BACK)
    assert held()["live"] == "a"
    assert held()["deployment"]["phase"] == "rolled-back"

    calls.reset()
    assert store.unflip(APP, "d-1") == record  # a duplicate: nothing written
    with pytest.raises(StateConflict, match="ended rolled-back"):
        store.flip(APP, "d-1")  # a late AfterAllowTraffic must not retire the live stack
    assert calls.writes == 0
    assert held()["live"] == "a"

    finished = store.finish(APP, "d-1", Phase.ROLLED_BACK)
    assert finished.live is A
    assert [(h["deployment_id"], h["outcome"]) for h in held()["history"]] == [("d-1", "rolled-back")]


def test_unflip_needs_a_flipped_deployment(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    with pytest.raises(StateConflict, match="it is prepared, not flipped"):
        store.unflip(APP, "d-1")
    store.flip(APP, "d-1")
    store.finish(APP, "d-1", Phase.RETIRED)
    with pytest.raises(StateConflict, match="it is retired, not flipped"):
        store.unflip(APP, "d-1")
    with pytest.raises(StateConflict, match="not d-2"):
        store.unflip(APP, "d-2")
    assert held()["live"] == "b"


def test_finish_follows_the_phases(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    with pytest.raises(StateConflict, match="retired follows flipped"):
        store.finish(APP, "d-1", Phase.RETIRED)
    with pytest.raises(ValueError, match="not prepared"):
        store.finish(APP, "d-1", Phase.PREPARED)

    done = store.finish(APP, "d-1", Phase.PREPARE_FAILED)
    assert store.finish(APP, "d-1", Phase.PREPARE_FAILED) == done  # a duplicate: unchanged
    with pytest.raises(StateConflict, match="already finished as prepare-failed"):
        store.finish(APP, "d-1", Phase.ROLLED_BACK)
    with pytest.raises(StateConflict, match="its phase is prepare-failed"):
        store.set_phase(APP, "d-1", Phase.PREPARED)
    assert len(held()["history"]) == 1
    assert held()["live"] == "a"


def test_a_failed_deployment_keeps_why_it_failed_in_the_record_and_its_history(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    why = "prepare of stack b failed: sqs[0].purge: AccessDenied: not authorized\n  to purge"
    record = store.finish(APP, "d-1", Phase.PREPARE_FAILED, reason=why)
    kept = "prepare of stack b failed: sqs[0].purge: AccessDenied: not authorized to purge"  # one line
    assert record.failure == kept and record.as_dict()["deployment"]["failure"] == kept
    assert held()["deployment"]["failure"] == kept  # what DynamoDB holds
    assert held()["history"][-1]["reason"] == kept
    store.begin(APP, "d-2", A)
    done = store.finish(APP, "d-2", Phase.ROLLED_BACK, reason="x" * 5000)
    assert done.failure is not None and len(done.failure) == FAILURE_LIMIT and done.failure.endswith("…")
    store.begin(APP, "d-3", A)
    assert store.finish(APP, "d-3", Phase.ROLLED_BACK).failure is None  # no reason given: none kept
    assert "reason" not in held()["history"][-1] and "failure" not in held()["deployment"]


def test_a_finish_racing_a_duplicate_appends_one_history_entry(table: None) -> None:
    session = boto3.Session(region_name=REGION)
    armed: list[bool] = []
    raced: list[LiveRecord] = []
    duplicate = StateStore(TABLE, clock=Ticker())  # another invocation, with its own client

    def the_duplicate_writes_first(**_: Any) -> None:
        if armed and not raced:  # between this finish's read and its write
            raced.append(duplicate.finish(APP, "d-1", Phase.RETIRED))

    session.events.register("before-call.dynamodb.UpdateItem", the_duplicate_writes_first)
    store = StateStore(TABLE, session=session, clock=Ticker())
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    store.flip(APP, "d-1")
    armed.append(True)
    record = store.finish(APP, "d-1", Phase.RETIRED)  # refused, then re-decided from the returned item
    assert record == raced[0]
    assert [h["deployment_id"] for h in held()["history"]] == ["d-1"]


def test_a_retire_failing_before_the_flip_finishes_rolled_back(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    store.set_phase(APP, "d-1", Phase.PREPARED)
    record = store.finish(APP, "d-1", Phase.ROLLED_BACK)
    assert (record.live, record.phase) == (A, Phase.ROLLED_BACK)
    assert held()["history"][0]["outcome"] == "rolled-back"


def test_set_phase_rules(store: StateStore, calls: Calls) -> None:
    store.begin(APP, "d-1", A)
    with pytest.raises(ValueError, match="use flip, unflip or finish"):
        store.set_phase(APP, "d-1", Phase.FLIPPED)
    with pytest.raises(ValueError, match="subset of preparing/prepared"):
        store.set_phase(APP, "d-1", Phase.PREPARED, expected={Phase.FLIPPED})
    store.set_phase(APP, "d-1", Phase.PREPARED, expected={Phase.PREPARING})
    calls.reset()
    again = store.set_phase(APP, "d-1", Phase.PREPARED, expected={Phase.PREPARING})  # a duplicate
    assert again.phase is Phase.PREPARED
    assert calls.writes == 0
    with pytest.raises(StateConflict, match="its phase is prepared, not preparing"):
        store.set_phase(APP, "d-1", Phase.PREPARING, expected={Phase.PREPARING})
    with pytest.raises(StateConflict, match="no record"):
        store.set_phase("other", "d-1", Phase.PREPARED)
    assert raw("other") is None


def test_history_keeps_the_newest_twenty(store: StateStore) -> None:
    for number in range(1, 26):
        record = deploy(store, f"d-{number}")
    assert len(held()["history"]) == HISTORY_LIMIT
    assert [h["deployment_id"] for h in held()["history"]] == [f"d-{n}" for n in range(6, 26)]
    assert record.live is B  # 25 flips from a
    assert held()["history"][-1]["from"] == "a"
    assert held()["history"][-1]["to"] == "b"


# -- hook reports ----------------------------------------------------------------------------------


def test_the_first_reported_status_wins(table: None) -> None:
    moment = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    store = StateStore(TABLE, clock=lambda: moment)
    assert store.reported_status(APP, "exec-1") is None
    assert store.record_report(APP, "exec-1", "Succeeded", "d-1") == "Succeeded"
    assert store.record_report(APP, "exec-1", "Failed", "d-1") == "Succeeded"
    assert store.reported_status(APP, "exec-1") == "Succeeded"
    assert store.record_report(APP, "exec-2", "Failed", "d-1") == "Failed"

    report = raw(f"{APP}#report#exec-1")
    assert report == {
        "application": "orders#report#exec-1",
        "status": "Succeeded",
        "deployment_id": "d-1",
        "at": "2025-03-01T12:00:00.000Z",
        "expires_at": int((moment + timedelta(days=30)).timestamp()),
    }
    assert raw(APP) is None  # reports never touch (or create) the record


# -- configuration and errors ----------------------------------------------------------------------


def test_from_env_names_the_variable_when_missing(table: None) -> None:
    with pytest.raises(LookupError, match="BLUEGREEN_STATE_TABLE"):
        StateStore.from_env({})
    store = StateStore.from_env({"BLUEGREEN_STATE_TABLE": TABLE})
    assert store.table_name == TABLE
    assert store.get(APP) is None


def test_a_missing_table_is_named(aws: None) -> None:
    with pytest.raises(LookupError, match="'nope' not found in eu-central-1"):
        StateStore("nope").get(APP)


def test_application_names_cannot_collide_with_report_keys(store: StateStore) -> None:
    with pytest.raises(ValueError, match="'#' is reserved"):
        store.begin("orders#report#x", "d-1", A)


def test_a_malformed_record_is_named() -> None:
    with pytest.raises(ValueError, match="'orders' is malformed"):
        LiveRecord.from_item({"application": {"S": "orders"}, "live": {"S": "c"}})


def test_as_dict_shows_live_and_replacement(store: StateStore) -> None:
    view = store.begin(APP, "d-1", B).as_dict()
    assert view["live"] == "b"
    assert view["replacement"] == "a"
    assert view["deployment"]["phase"] == "preparing"


# -- properties over random sequences of calls -----------------------------------------------------

DEPLOYMENT_IDS = st.sampled_from([f"d-{n}" for n in range(1, 7)])
FINAL = st.sampled_from([Phase.RETIRED, Phase.PREPARE_FAILED, Phase.ROLLED_BACK])
SETTABLE = st.sampled_from([Phase.PREPARING, Phase.PREPARED])


class RecordMachine(RuleBasedStateMachine):
    """Random begin/set_phase/flip/unflip/finish calls; live may change only by a flip or unflip of D."""

    store: ClassVar[StateStore]
    runs: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        RecordMachine.runs += 1
        self.app = f"app-{RecordMachine.runs}"
        self.flipped: set[str] = set()

    def _apply(self, operation: str, deployment_id: str | None, call: Callable[[str], LiveRecord]) -> None:
        before = self.store.get(self.app)
        if deployment_id is None:  # pick the deployment on record, so calls reach the later phases
            deployment_id = before.deployment_id if before and before.deployment_id else "d-1"
        try:
            result: LiveRecord | None = call(deployment_id)
        except StateConflict as conflict:
            assert conflict.record == before
            result = None
        after = self.store.get(self.app)
        if result is None:
            assert after == before, "a refused call changed the record"
            return
        assert after == result
        if before is not None and after is not None and after.live is not before.live:
            assert operation in ("flip", "unflip"), f"{operation} changed live"
            assert before.deployment_id == deployment_id
            if operation == "flip":
                assert before.phase is Phase.PREPARED
                assert after.live is before.replacement
            else:
                assert before.phase is Phase.FLIPPED
                assert after.live is before.live.partner
        if operation == "begin" and before is not None and before.phase is Phase.FLIPPED:
            assert after.deployment_id == before.deployment_id, (
                f"begin {deployment_id} superseded the flipped deployment {before.deployment_id}"
            )
        if operation == "flip":
            if deployment_id in self.flipped:
                assert after == before, "a duplicate flip wrote"
            self.flipped.add(deployment_id)

    @initialize(initial=st.sampled_from([A, B]))
    def start(self, initial: StackReference) -> None:
        self.store.ensure(self.app, initial)  # (calls without a record are covered by the tests above)

    @rule(steps=st.lists(st.booleans(), min_size=1, max_size=4), fresh=DEPLOYMENT_IDS)
    def step_forward(self, steps: list[bool], fresh: str) -> None:
        """The calls the flow would make next for the deployment on record (so runs reach every phase)."""
        for go_on in steps:
            record = self.store.get(self.app)
            if record is None or not record.in_flight:
                self.begin(fresh, A)
            elif record.phase is Phase.PREPARING:
                self.set_phase(None, Phase.PREPARED, {Phase.PREPARING})
            elif record.phase is Phase.PREPARED:
                self.flip(None) if go_on else self.finish(None, Phase.PREPARE_FAILED)
            elif record.phase is Phase.FLIPPED:
                self.finish(None, Phase.RETIRED) if go_on else self.unflip(None)
            else:
                self.finish(None, Phase.ROLLED_BACK)

    @rule(deployment_id=DEPLOYMENT_IDS, initial=st.sampled_from([A, B]))
    def begin(self, deployment_id: str, initial: StackReference) -> None:
        self._apply("begin", deployment_id, lambda d: self.store.begin(self.app, d, initial))

    @rule(
        deployment_id=st.none() | DEPLOYMENT_IDS,
        phase=SETTABLE,
        expected=st.none() | st.sets(SETTABLE, min_size=1),
    )
    def set_phase(self, deployment_id: str | None, phase: Phase, expected: set[Phase] | None) -> None:
        self._apply("set_phase", deployment_id, lambda d: self.store.set_phase(self.app, d, phase, expected=expected))

    @rule(deployment_id=st.none() | DEPLOYMENT_IDS)
    def flip(self, deployment_id: str | None) -> None:
        self._apply("flip", deployment_id, lambda d: self.store.flip(self.app, d))

    @precondition(lambda self: self.flipped)
    @rule(data=st.data())
    def flip_again(self, data: st.DataObject) -> None:
        """A duplicate or late AfterAllowTraffic of a deployment that flipped before."""
        self.flip(data.draw(st.sampled_from(sorted(self.flipped))))

    @rule(deployment_id=st.none() | DEPLOYMENT_IDS)
    def unflip(self, deployment_id: str | None) -> None:
        self._apply("unflip", deployment_id, lambda d: self.store.unflip(self.app, d))

    @rule(deployment_id=st.none() | DEPLOYMENT_IDS, phase=FINAL)
    def finish(self, deployment_id: str | None, phase: Phase) -> None:
        self._apply("finish", deployment_id, lambda d: self.store.finish(self.app, d, phase))

    @invariant()
    def the_record_is_consistent(self) -> None:
        record = self.store.get(self.app)
        if record is None or record.replacement is None:
            return
        if record.phase in (Phase.FLIPPED, Phase.RETIRED):
            assert record.live is record.replacement
        else:
            assert record.live is record.replacement.partner
        ids = [entry["deployment_id"] for entry in record.history]
        assert len(ids) == len(set(ids)) <= HISTORY_LIMIT
        assert record.deployment_id not in ids or record.finished_at is not None
        for entry in record.history:  # a deployment that flipped ends retired or rolled back, never superseded
            if entry["deployment_id"] in self.flipped:
                assert entry["outcome"] in (Phase.RETIRED, Phase.ROLLED_BACK)


@pytest.mark.slow
def test_random_call_sequences_keep_the_invariants(store: StateStore) -> None:
    RecordMachine.store = store
    run_state_machine_as_test(
        RecordMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# ------------------------------------------------------------------------- the settle windows' times


def test_prepared_records_when_and_unsubscribed_is_noted_once_while_flipped(store: StateStore) -> None:
    store.begin(APP, "d-1", A)
    with pytest.raises(StateConflict, match="not flipped"):
        store.mark_unsubscribed(APP, "d-1")  # only a flipped deployment's retire turns the old stack off
    prepared = store.set_phase(APP, "d-1", Phase.PREPARED)
    assert prepared.prepared_at is not None and prepared.unsubscribed_at is None
    store.flip(APP, "d-1")
    first = store.mark_unsubscribed(APP, "d-1")
    again = store.mark_unsubscribed(APP, "d-1")  # a repeated retire keeps the first time
    assert first.unsubscribed_at is not None and again.unsubscribed_at == first.unsubscribed_at
    assert first.prepared_at == prepared.prepared_at and first.prepared_at < first.unsubscribed_at
    with pytest.raises(StateConflict):
        store.mark_unsubscribed(APP, "d-2")
    store.finish(APP, "d-1", Phase.RETIRED)
    fresh = store.begin(APP, "d-2", A)  # a new deployment starts without the old times
    assert fresh.prepared_at is None and fresh.unsubscribed_at is None
