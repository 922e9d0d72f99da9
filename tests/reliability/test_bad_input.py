"""Bad input, generated: plans, CodeDeploy events and RDS events that are wrong in every way hypothesis finds.

- Plan text of any kind (random text, junk documents, documents nested thousands deep, huge ones)
  → a plan, or a :class:`PlanError` naming each problem's path — never another exception.
  (tests/unit/test_plan.py mutates the example plan field by field; this starts from nothing.)
- A bad plan behind a hook → exactly one Failed report, whose message names every problem's path.
- A CodeDeploy event with missing, empty or mistyped ids, or junk progress → ``ValueError`` naming the
  field and no report (there is no one to report to); with both ids it always reaches a report.
- RDS handlers fed SNS events of one junk record — not an SNS record, no message, a message that is not
  JSON, JSON that is no RDS event, unknown event ids, sources and instances — never raise and never act:
  every such record is skipped (and logged). An event of no record or several (SNS delivers one) is
  refused whole with a clear error, and nothing is done; a record that really fails raises naming it.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bluegreen.hooks import PROGRESS_KEY, Flow, HookRequest, Runtime, handle
from bluegreen.plan import PlanError, load_plan_text, parse_plan
from bluegreen.rds.keep_stopped import keep_retired_stopped
from bluegreen.rds.readers import apply_tags, enable_performance_insights
from bluegreen.rds.records import Outcome, RdsRecordError, RecordResult
from bluegreen.tools.aurora import AUTOSCALING_RESOURCE_TAG
from bluegreen.tools.codedeploy import CodeDeployReporter
from tests.conftest import REGION
from tests.rds.conftest import READER, RdsWorld, _rds_world, seed_aurora
from tests.reliability import figures
from tests.support.codedeploy import HookLedger, install
from tests.unit.rds_events import instance_created, rds_event, sns_record
from tests.unit.test_plan import example as example_plan
from tests.unit.test_plan import junk

SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
counted: Counter[str] = Counter()


def plan_problems_named(error: PlanError, text: str) -> None:
    assert error.problems
    for path, message in error.problems:
        assert path in ("plan", "environment") or path.startswith(("plan.", "plan[")), path
        assert message and f"{path}: {message}" in text, (path, message)


# --------------------------------------------------------------------------- plans

#: "Billion laughs": nine aliases, each a list of nine of the one before (9**9 leaves if expanded).
LAUGHS = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)
deep = st.integers(200, 30_000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "a:\n" + "- " * n + "x", "[" * n])
)
huge = st.sampled_from(
    [
        json.dumps({"application": "x" * 3_000_000}),
        json.dumps({"application": "orders", "dynamodb": [{"a": f"t-a-{i}", "b": f"t-b-{i}"} for i in range(5000)]}),
        json.dumps({"application": "orders", "ecs": [{"unknown": i} for i in range(3000)]}),
        '{"application": "orders", "deadline_minutes": ' + "9" * 5000 + "}",
        "application: orders\ndeadline_minutes: " + "9" * 5000,
        LAUGHS,
    ]
)
documents = junk.map(lambda document: json.dumps(document, default=str)) | junk.map(
    lambda document: yaml.safe_dump(document, default_flow_style=False)
)
plan_texts = st.text(max_size=200) | st.text(alphabet=string.printable, max_size=400) | documents | deep | huge


@pytest.mark.slow
@settings(SETTINGS, max_examples=300)
@given(text=plan_texts)
def test_any_text_is_a_plan_or_a_plan_error_naming_its_paths(text: str) -> None:
    counted["plan texts"] += 1
    try:
        plan = load_plan_text(text, source="generated")
    except PlanError as error:
        counted["plan texts refused"] += 1
        assert "generated" in str(error)
        plan_problems_named(error, str(error))
    else:
        assert parse_plan(plan.to_document()) == plan
    figures.record("bad_input", plan_texts=counted["plan texts"], plan_texts_refused=counted["plan texts refused"])


@pytest.fixture
def ledger(aws: None, monkeypatch: pytest.MonkeyPatch) -> HookLedger:
    return install(monkeypatch)


@st.composite
def bad_plans(draw: st.DrawFn) -> str:
    """A plan text that does not parse: the example plan with a part dropped, replaced or added, or junk."""
    document: Any = example_plan()
    section = draw(st.sampled_from(sorted(k for k, v in document.items() if isinstance(v, list))))
    entry = document[section][0]
    key = draw(st.sampled_from(sorted(entry)))
    kind = draw(st.sampled_from(["drop", "replace", "unknown"]))
    if kind == "drop":
        del entry[key]
    elif kind == "replace":
        entry[key] = draw(junk)
    else:
        entry[draw(st.text(string.ascii_lowercase, min_size=1, max_size=8))] = draw(junk)
    text = draw(st.sampled_from([json.dumps(document, default=str), yaml.safe_dump(document)]) | plan_texts)
    try:
        load_plan_text(text, source="BLUEGREEN_PLAN")
    except PlanError:
        return text
    assume(False)
    raise AssertionError  # pragma: no cover


@pytest.mark.slow
@settings(SETTINGS, max_examples=60)
@given(text=bad_plans(), flow=st.sampled_from([Flow.PREPARE, Flow.RETIRE]), data=st.data())
def test_a_bad_plan_behind_a_hook_is_one_failed_report_naming_every_problem(
    ledger: HookLedger, text: str, flow: Flow, data: st.DataObject
) -> None:
    execution = f"bad-plan-{counted['bad plans']}"
    counted["bad plans"] += 1
    environ = {"BLUEGREEN_PLAN": text, "BLUEGREEN_STATE_TABLE": "bluegreen-state", "AWS_REGION": REGION}
    with pytest.raises(PlanError) as expected:
        Runtime.from_env(environ)
    result = handle(
        flow,
        {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": execution},
        runtime=lambda: Runtime.from_env(environ),
        time_left=lambda: 900.0,
        reinvoke=None,
        reporter=CodeDeployReporter(region=REGION),
    )
    assert result.status is not None and result.status.value == "Failed"
    assert [c.status for c in ledger.calls if c.execution_id == execution] == ["Failed"]
    plan_problems_named(expected.value, result.message)
    figures.record("bad_input", bad_plans_reported_failed=counted["bad plans"])


# --------------------------------------------------------------------------- CodeDeploy events

odd = st.none() | st.just("") | st.integers() | st.booleans() | st.lists(st.text(max_size=3), max_size=2) | junk
ids = st.text(min_size=1, max_size=40)
seconds = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**400), 10**400) | junk
progress = junk | st.fixed_dictionaries(
    {},
    optional={
        "done": junk | st.lists(st.text(max_size=20), max_size=4),
        "started": junk | st.lists(st.text(max_size=20), max_size=4),
        "first_started": seconds,
        "invocation": st.integers(-5, 10**30) | junk,
    },
)


@st.composite
def codedeploy_events(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(junk)  # not even an object
    event: dict[str, Any] = draw(st.dictionaries(st.text(max_size=8), junk, max_size=3))
    for key in ("DeploymentId", "LifecycleEventHookExecutionId"):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            event.pop(key, None)
        elif choice == 1:
            event[key] = draw(odd)
        else:
            event[key] = draw(ids)
    if draw(st.booleans()):
        event[PROGRESS_KEY] = draw(progress)
    return event


def _valid(event: Any) -> bool:
    return isinstance(event, dict) and all(
        isinstance(event.get(key), str) and event[key] for key in ("DeploymentId", "LifecycleEventHookExecutionId")
    )


@pytest.mark.slow
@settings(SETTINGS, max_examples=300)
@given(event=codedeploy_events(), flow=st.sampled_from([Flow.PREPARE, Flow.RETIRE]))
def test_a_codedeploy_event_with_missing_or_odd_fields(ledger: HookLedger, event: Any, flow: Flow) -> None:
    counted["codedeploy events"] += 1
    try:
        _check_codedeploy_event(ledger, event, flow)
    finally:
        figures.record(
            "bad_input",
            codedeploy_events=counted["codedeploy events"],
            codedeploy_events_refused=counted["codedeploy events refused"],
            codedeploy_events_reported_failed=counted["codedeploy events reported"],
            codedeploy_continuations_raised_for_a_retry=counted["codedeploy continuations raised"],
        )


def _check_codedeploy_event(ledger: HookLedger, event: Any, flow: Flow) -> None:
    calls_before = len(ledger.calls)

    def bad_runtime() -> Runtime:
        raise PlanError([("plan.application", "required")])

    def run() -> Any:
        return handle(
            flow, event, runtime=bad_runtime, time_left=lambda: 900.0, reinvoke=None, reporter=CodeDeployReporter()
        )

    if not _valid(event):
        counted["codedeploy events refused"] += 1
        with pytest.raises(ValueError) as refused:
            run()
        named = ("DeploymentId", "LifecycleEventHookExecutionId", "JSON object")
        assert any(field in str(refused.value) for field in named), refused.value
        assert len(ledger.calls) == calls_before  # no one to report to
        return
    request = HookRequest.from_event(event)  # junk progress is ignored, never a crash
    assert request.first_started is None or request.first_started == request.first_started  # finite or None
    if request.invocation > 1:  # a continuation whose set-up fails raises, so that Lambda retries it
        with pytest.raises(PlanError):
            run()
        assert len(ledger.calls) == calls_before
        counted["codedeploy continuations raised"] += 1
        return
    result = run()
    assert result.status is not None and result.status.value == "Failed"
    reported = [c for c in ledger.calls[calls_before:] if c.execution_id == event["LifecycleEventHookExecutionId"]]
    assert [c.status for c in reported] == ["Failed"]
    counted["codedeploy events reported"] += 1


# --------------------------------------------------------------------------- RDS events

names = st.sampled_from(["fn-db-a-dev", "fn-db-b-dev", "fn-db-a-dev-writer", "fn-db-a-dev-reader-0", "", READER])
rds_messages = st.fixed_dictionaries(
    {"Source ID": names | st.text(max_size=30)},
    optional={
        "Event ID": st.from_regex(r"RDS-EVENT-\d{4}", fullmatch=True) | st.text(max_size=20) | junk,
        "Event Message": st.sampled_from(
            [
                "DB instance created",
                "Performance Insights has been disabled",
                "DB cluster is being started due to it exceeding the maximum allowed time being stopped",
            ]
        )
        | st.text(max_size=40)
        | junk,
        "Event Source": st.sampled_from(["db-instance", "db-cluster", "db-snapshot"]) | st.text(max_size=10) | junk,
    },
)
junk_messages = (
    st.text(max_size=60)
    | junk.map(lambda value: json.dumps(value, default=str))
    | st.dictionaries(st.text(max_size=10), junk, max_size=3).map(lambda body: json.dumps(body, default=str))
)
junk_records = (
    junk
    | st.dictionaries(st.text(max_size=6), junk, max_size=3)
    | st.builds(lambda sns: {"EventSource": "aws:sns", "Sns": sns}, junk)
    | junk_messages.map(sns_record)
    | rds_messages.map(lambda body: sns_record(json.dumps(body, default=str)))
)
batches = st.lists(junk_records, max_size=6)

AUTO_STARTED = "DB cluster is being started due to it exceeding the maximum allowed time being stopped"
MUTATING = {"AddTagsToResource", "ModifyDBInstance", "StopDBCluster", "StartDBCluster", "DeleteDBCluster"}


@pytest.fixture
def rds_world(aws: None) -> Iterator[RdsWorld]:
    world = _rds_world(seed_aurora(REGION))
    world.store.ensure("orders", "a")  # a's cluster live, b's retired: keep-stopped may act on b only
    yield world


def _run_all(world: RdsWorld, event: Any) -> list[RecordResult]:
    handed: list[Any] = []
    return [
        apply_tags(world.runtime, event),
        enable_performance_insights(world.runtime, event, time_left=lambda: 900.0, retry_delay=0.0),
        keep_retired_stopped(
            world.runtime, event, time_left=lambda: 900.0, reinvoke=handed.append, sleep=lambda _: None, interval=0.0
        ),
    ]


@pytest.mark.slow
@settings(SETTINGS, max_examples=150)
@given(record=junk_records)
@example(record=sns_record(rds_event("\x08")))  # moto answers DescribeDBInstances with XML it cannot parse
@example(record=sns_record(rds_event("")))  # DescribeDBInstances lists every instance
@example(record=sns_record(rds_event("fn-db-b-dev", AUTO_STARTED, "RDS-EVENT-0153", source_type="db-cluster")))
def test_rds_handlers_skip_junk_and_never_act_on_it(rds_world: RdsWorld, record: Any) -> None:
    counted["rds events"] += 1
    calls_before = len(rds_world.faults.calls)
    for result in _run_all(rds_world, {"Records": [record]}):
        assert result.outcome is not Outcome.FAILED, result.describe()
        result.raise_for_failure()
        if result.outcome is not Outcome.SKIPPED:
            # junk names no auto-scaling reader; the one thing it may do is find b's cluster stopped
            assert result.outcome is Outcome.DONE and "already stopped" in result.detail, result.describe()
    mutated = [call for call in rds_world.faults.calls[calls_before:] if call in MUTATING]
    assert not mutated, mutated
    figures.record("bad_input", rds_events=counted["rds events"])


@pytest.mark.slow
@settings(SETTINGS, max_examples=40)
@given(event=junk)
def test_an_rds_event_that_is_no_sns_event_is_a_clear_error(rds_world: RdsWorld, event: Any) -> None:
    assume(not (isinstance(event, dict) and isinstance(event.get("Records"), list) and len(event["Records"]) == 1))
    for function in (
        lambda: apply_tags(rds_world.runtime, event),
        lambda: enable_performance_insights(rds_world.runtime, event, time_left=lambda: 900.0),
        lambda: keep_retired_stopped(rds_world.runtime, event, time_left=lambda: 900.0, reinvoke=None),
    ):
        with pytest.raises(ValueError, match="not an SNS event"):
            function()


@pytest.mark.slow
@settings(SETTINGS, max_examples=40)
@given(records=batches, at=st.integers(0, 6))
def test_an_event_of_several_records_is_refused_and_nothing_is_done(
    rds_world: RdsWorld, records: list[Any], at: int
) -> None:
    counted["events with a real record"] += 1
    reader = f"application-autoscaling-mixed-{counted['events with a real record']}"
    rds_world.rds.create_db_instance(
        DBInstanceIdentifier=reader,
        DBClusterIdentifier="fn-db-a-dev",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
        Tags=[{"Key": AUTOSCALING_RESOURCE_TAG, "Value": "cluster:fn-db-a-dev"}],
    )
    real = instance_created(reader)
    index = min(at, len(records))
    records = [*records[:index], real, *records[index:]]
    rule = rds_world.faults.arm("AddTagsToResource")  # the real record's tagging is denied
    calls_before = len(rds_world.faults.calls)
    try:
        if len(records) == 1:  # the real record alone: its failure is named
            with pytest.raises(RdsRecordError, match=f"{reader}[\\s\\S]*AccessDenied"):
                apply_tags(rds_world.runtime, {"Records": records}).raise_for_failure()
            return
        for function in _functions(rds_world):
            with pytest.raises(ValueError, match=f"not an SNS event of one record: it has {len(records)} records"):
                function({"Records": records})
        assert rds_world.faults.calls[calls_before:] == []  # not even a read
    finally:
        rds_world.faults.rules.remove(rule)
    counted["events of several records refused"] += 1
    figures.record("bad_input", several_record_events_refused=counted["events of several records refused"])


def _functions(world: RdsWorld) -> list[Any]:
    return [
        lambda event: apply_tags(world.runtime, event),
        lambda event: enable_performance_insights(world.runtime, event, time_left=lambda: 900.0),
        lambda event: keep_retired_stopped(world.runtime, event, time_left=lambda: 900.0, reinvoke=None),
    ]


def test_an_rds_event_with_an_empty_source_id_acts_on_no_instance(aws: None) -> None:
    """``DescribeDBInstances`` with an empty identifier lists every instance (moto does): never take the first."""
    world = _rds_world(seed_aurora(REGION))
    for instance in world.rds.describe_db_instances()["DBInstances"]:
        world.rds.delete_db_instance(DBInstanceIdentifier=instance["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    world.add_autoscaled_reader()  # the account's only instance: an auto-scaled reader of a managed cluster
    event = {"Records": [sns_record(rds_event(""))]}
    for result in _run_all(world, event):
        assert result.outcome is Outcome.SKIPPED, result.summary()
    assert "Role" not in world.instance_tags()
    assert world.modified.requests == []
