"""The plan's ``verdict`` section: what it reads into, what it writes back, and every refusal by exact path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from bluegreen import StackReference
from bluegreen.local.seed import seed_world, smoke_function
from bluegreen.plan import Plan, PlanError, load_plan_text, parse_plan
from bluegreen.verdict.model import BeforeRetire, BeforeTraffic, Smoke, Verdict
from tests.conftest import REGION
from tests.support import kinesis_consumers

ACCOUNT = "123456789012"
SUB_A = f"arn:aws:sns:eu-central-1:{ACCOUNT}:orders-updates-a:1f2e3d4c-5b6a-4789-8abc-def012345678"
SUB_B = f"arn:aws:sns:eu-central-1:{ACCOUNT}:orders-updates-b:9a8b7c6d-5e4f-4321-9fed-cba987654321"
STREAM = f"arn:aws:kinesis:eu-central-1:{ACCOUNT}:stream/orders-stream"
BT = "plan.verdict.before_traffic"
BR = "plan.verdict.before_retire"
LIMIT_KEYS = "max_errors, max_error_rate, max_throttles, max_throttle_rate, min_invocations"

FULL_VERDICT: dict[str, Any] = {
    "before_traffic": {
        "at": "test-traffic",
        "alarms": False,
        "alarm_names": {"a": ["orders canary - A"], "b": ["orders canary - B", "orders latency - B"]},
        "smoke": {
            "function": {"a": "orders-smoke-a", "b": "orders-smoke-b"},
            "payload": {"check": "health", "items": [1, 2.5, None, True]},
            "timeout_seconds": 45,
        },
    },
    "before_retire": {
        "observe_minutes": 7.5,
        "alarms": True,
        "alarm_names": {"b": ["orders p99 - B"]},
        "lambda": {
            "max_errors": 3,
            "max_error_rate": 0.05,
            "max_throttles": 0,
            "max_throttle_rate": 1,
            "min_invocations": 20,
        },
        "dlq": {"max_growth": 2},
        "kinesis": {"max_iterator_age_seconds": 90.5},
    },
}


def plan_document(verdict: object, **sections: Any) -> dict[str, Any]:
    """A small valid plan with every section a verdict measures (lambda, sqs with DLQs, kinesis with feeds).

    ``sections`` replace a section (None removes it); ``verdict`` is the raw ``verdict`` value.
    """
    document: dict[str, Any] = {
        "application": "orders",
        "region": REGION,
        "deadline_minutes": 50,
        "lambda": [{"a": "orders-fn-a", "b": "orders-fn-b", "alias": "live"}],
        "sqs": [
            {
                "a": {"queue": "orders-queue-a", "dlq": "orders-dlq-a"},
                "b": {"queue": "orders-queue-b", "dlq": "orders-dlq-b"},
            }
        ],
        "kinesis": [
            {
                "stream_arn": STREAM,
                "a": "orders-consumer-a",
                "b": "orders-consumer-b",
                "feeds": {"a": "orders-fn-a", "b": "orders-fn-b"},
            }
        ],
        "cloudwatch": [
            {
                "a": {"alarm_prefix": "orders-service ", "alarm_suffix": "- A"},
                "b": {"alarm_prefix": "orders-service ", "alarm_suffix": "- B"},
            }
        ],
        "verdict": verdict,
    }
    for name, value in sections.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return document


def verdict_of(verdict: object, **sections: Any) -> Verdict:
    found = parse_plan(plan_document(verdict, **sections)).verdict
    assert found is not None
    return found


def problems_of(document: object) -> list[tuple[str, str]]:
    with pytest.raises(PlanError) as caught:
        parse_plan(document)
    return caught.value.problems


def verdict_problems(verdict: object, **sections: Any) -> list[tuple[str, str]]:
    return problems_of(plan_document(verdict, **sections))


def traffic(**checks: Any) -> dict[str, Any]:
    return {"before_traffic": checks}


def retire(**checks: Any) -> dict[str, Any]:
    return {"before_retire": checks}


# --------------------------------------------------------------------------- reading and writing back


def test_a_full_section_reads_into_the_expected_dataclasses() -> None:
    verdict = verdict_of(copy.deepcopy(FULL_VERDICT))

    assert verdict == Verdict(
        before_traffic=BeforeTraffic(
            at="test-traffic",
            alarms=False,
            alarm_names=(("orders canary - A",), ("orders canary - B", "orders latency - B")),
            smoke=Smoke(
                a="orders-smoke-a",
                b="orders-smoke-b",
                payload={"check": "health", "items": [1, 2.5, None, True]},
                timeout_seconds=45,
            ),
        ),
        before_retire=BeforeRetire(
            observe_minutes=7.5,
            alarms=True,
            alarm_names=((), ("orders p99 - B",)),
            lambda_limits=(
                ("max_errors", 3.0),
                ("max_error_rate", 0.05),
                ("max_throttles", 0.0),
                ("max_throttle_rate", 1.0),
                ("min_invocations", 20.0),
            ),
            max_dlq_growth=2,
            max_iterator_age_seconds=90.5,
        ),
    )
    retiring = verdict.before_retire
    assert retiring is not None
    assert retiring.limit("max_error_rate") == 0.05
    assert retiring.limit("min_invocations") == 20.0
    smoke = verdict.before_traffic.smoke if verdict.before_traffic else None
    assert smoke is not None
    assert smoke.function(StackReference.A) == "orders-smoke-a"
    assert smoke.function(StackReference.B) == "orders-smoke-b"


def test_the_full_section_round_trips_through_to_document_yaml_and_json() -> None:
    plan = parse_plan(plan_document(copy.deepcopy(FULL_VERDICT)))
    document = plan.to_document()

    assert parse_plan(document) == plan
    assert load_plan_text(yaml.safe_dump(document), source="yaml") == plan
    assert load_plan_text(json.dumps(document), source="json") == plan
    assert document["verdict"]["before_retire"]["lambda"] == FULL_VERDICT["before_retire"]["lambda"]
    assert document["verdict"]["before_retire"]["observe_minutes"] == 7.5
    assert document["verdict"]["before_traffic"]["smoke"]["function"] == {"a": "orders-smoke-a", "b": "orders-smoke-b"}


@pytest.mark.parametrize(
    "verdict",
    [
        {"before_traffic": {}},
        {"before_retire": {}},
        {"before_traffic": {"smoke": {"function": "orders-smoke"}}},
        {"before_traffic": {"smoke": {"function": "orders-smoke", "payload": [0, "x", False]}}},
        {"before_traffic": {"smoke": {"function": "orders-smoke", "payload": 0}}},
        {"before_retire": {"observe_minutes": 3, "lambda": {"max_errors": 0, "max_error_rate": 0}}},
        {"before_retire": {"kinesis": {"max_iterator_age_seconds": 0.5}, "dlq": {"max_growth": 0}}},
    ],
)
def test_smaller_sections_round_trip(verdict: dict[str, Any]) -> None:
    plan = parse_plan(plan_document(copy.deepcopy(verdict)))
    assert plan.verdict is not None

    assert parse_plan(plan.to_document()) == plan
    assert load_plan_text(yaml.safe_dump(plan.to_document()), source="yaml") == plan


def test_the_seeded_plan_reads_its_verdict_and_round_trips(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    kinesis_consumers.install(monkeypatch)  # the seeded world maps a function to a Kinesis consumer
    world = seed_world(REGION, verdict=True)
    plan = parse_plan(world.plan)

    assert plan.verdict == Verdict(
        before_traffic=BeforeTraffic(
            smoke=Smoke(
                a=smoke_function("a"),
                b=smoke_function("b"),
                payload={"check": "orders-health"},
                timeout_seconds=10,
            )
        ),
        before_retire=BeforeRetire(
            observe_minutes=0.0,
            lambda_limits=(("max_error_rate", 0.05), ("max_throttles", 0.0)),
            max_dlq_growth=0,
            max_iterator_age_seconds=60.0,
        ),
    )
    assert parse_plan(plan.to_document()) == plan


def test_the_smoke_function_as_one_name_is_both_stacks() -> None:
    verdict = verdict_of(traffic(smoke={"function": "orders-smoke"}))

    smoke = verdict.before_traffic.smoke if verdict.before_traffic else None
    assert smoke == Smoke(a="orders-smoke", b="orders-smoke", payload=None, timeout_seconds=30)
    assert smoke.function(StackReference.A) == smoke.function(StackReference.B) == "orders-smoke"
    assert smoke.to_document() == {"function": "orders-smoke", "timeout_seconds": 30}


def test_the_smoke_function_per_stack_and_the_same_name_twice_written_as_one() -> None:
    verdict = verdict_of(traffic(smoke={"function": {"a": "smoke-a", "b": "smoke-b"}}))
    smoke = verdict.before_traffic.smoke if verdict.before_traffic else None
    assert smoke is not None
    assert (smoke.function(StackReference.A), smoke.function(StackReference.B)) == ("smoke-a", "smoke-b")
    assert smoke.to_document()["function"] == {"a": "smoke-a", "b": "smoke-b"}

    same = verdict_of(traffic(smoke={"function": {"a": "smoke", "b": "smoke"}}))
    assert same.before_traffic is not None and same.before_traffic.smoke is not None
    assert same.before_traffic.smoke.to_document()["function"] == "smoke"


def test_the_defaults() -> None:
    verdict = verdict_of({"before_traffic": {}, "before_retire": {}})

    assert verdict.before_traffic == BeforeTraffic(at="prepare", alarms=True, alarm_names=((), ()), smoke=None)
    assert verdict.before_retire == BeforeRetire(
        observe_minutes=0.0,
        alarms=True,
        alarm_names=((), ()),
        lambda_limits=(),
        max_dlq_growth=None,
        max_iterator_age_seconds=None,
    )
    smoke = verdict_of(traffic(smoke={"function": "orders-smoke"})).before_traffic
    assert smoke is not None and smoke.smoke is not None
    assert smoke.smoke.timeout_seconds == 30
    assert smoke.smoke.payload is None
    retiring = verdict.before_retire
    assert retiring is not None and retiring.limit("max_errors") is None


def test_a_plan_without_a_verdict_or_with_a_null_one_has_none() -> None:
    absent = plan_document(None)
    del absent["verdict"]
    assert parse_plan(absent).verdict is None
    assert parse_plan(plan_document(None)).verdict is None  # null: left out, as YAML's `verdict:` gives
    assert "verdict" not in parse_plan(plan_document(None)).to_document()


def test_only_one_moment_leaves_the_other_none() -> None:
    assert verdict_of(traffic()).before_retire is None
    assert verdict_of(retire()).before_traffic is None
    assert "before_retire" not in verdict_of(traffic()).to_document()


def test_the_payload_is_copied_from_the_document() -> None:
    payload: dict[str, Any] = {"check": "health", "nested": {"n": 1}}
    document = plan_document(traffic(smoke={"function": "orders-smoke", "payload": payload}))
    plan = parse_plan(document)
    payload["nested"]["n"] = 2

    assert plan.verdict is not None and plan.verdict.before_traffic is not None
    assert plan.verdict.before_traffic.smoke is not None
    assert plan.verdict.before_traffic.smoke.payload == {"check": "health", "nested": {"n": 1}}


@pytest.mark.parametrize("seconds", [1, 300])
def test_timeout_seconds_at_its_bounds_is_accepted(seconds: int) -> None:
    found = verdict_of(traffic(smoke={"function": "orders-smoke", "timeout_seconds": seconds})).before_traffic
    assert found is not None and found.smoke is not None
    assert found.smoke.timeout_seconds == seconds


def test_a_hundred_alarm_names_are_accepted() -> None:
    names = [f"orders alarm {i} - B" for i in range(100)]
    found = verdict_of(retire(alarm_names={"b": names})).before_retire
    assert found is not None
    assert found.alarm_names == ((), tuple(names))


def test_an_observed_window_ending_before_the_deadlines_last_minute_is_accepted() -> None:
    found = verdict_of(retire(observe_minutes=48.9)).before_retire  # deadline_minutes 50, no subscriptions
    assert found is not None and found.observe_minutes == 48.9


@pytest.mark.parametrize("observe", [49, 49.5])
def test_an_observed_window_into_the_deadlines_last_minute_is_refused(observe: float) -> None:
    """The hook keeps the last minute before the deadline to report: a window into it would fail every retire."""
    problems = verdict_problems(retire(observe_minutes=observe), deadline_minutes=50)
    assert problems == [
        (
            f"{BR}.observe_minutes",
            f"{observe:g} leaves no time in deadline_minutes 50: the retire watches live traffic and must end 60 s "
            "before the deadline to report",
        )
    ]


# --------------------------------------------------------------------------- refusals, each by its exact path


@pytest.mark.parametrize(
    ("verdict", "path", "hint"),
    [
        ({"before_trafic": {}}, "plan.verdict.before_trafic", "did you mean before_traffic?"),
        ({"before_traffic": {"smok": {}}}, f"{BT}.smok", "did you mean smoke?"),
        (
            {"before_traffic": {"smoke": {"function": "f", "timeout": 3}}},
            f"{BT}.smoke.timeout",
            "did you mean timeout_seconds?",
        ),
        ({"before_retire": {"observe_minute": 1}}, f"{BR}.observe_minute", "did you mean observe_minutes?"),
        ({"before_retire": {"lambda": {"max_error": 1}}}, f"{BR}.lambda.max_error", "did you mean max_errors?"),
        ({"before_retire": {"dlq": {"max_grow": 1}}}, f"{BR}.dlq.max_grow", "did you mean max_growth?"),
    ],
)
def test_an_unknown_key_is_named_with_a_suggestion(verdict: dict[str, Any], path: str, hint: str) -> None:
    problems = verdict_problems(verdict)
    assert (path, f"unknown key ({hint})") in problems


def test_an_unknown_key_without_a_close_one_lists_the_keys() -> None:
    assert verdict_problems(traffic(zzz=1)) == [
        (f"{BT}.zzz", "unknown key (expected one of: at, alarms, alarm_names, smoke)")
    ]


def test_an_empty_verdict_is_refused() -> None:
    assert verdict_problems({}) == [
        ("plan.verdict", "name before_traffic, before_retire or both (or leave the verdict out)")
    ]


def test_a_verdict_that_is_not_a_mapping_is_refused() -> None:
    assert verdict_problems("yes") == [("plan.verdict", "must be a mapping (the verdict's moments), got a string")]


@pytest.mark.parametrize("at", ["deploy", "Prepare", True, ["prepare"]])
def test_a_bad_at_is_refused(at: object) -> None:
    problems = verdict_problems(traffic(at=at))
    assert problems == [(f"{BT}.at", f"must be one of prepare | test-traffic (default prepare), got {at!r}")]


@pytest.mark.parametrize(("moment", "path"), [("before_traffic", BT), ("before_retire", BR)])
@pytest.mark.parametrize(("value", "kind"), [("yes", "a string"), (1, "an integer"), ([], "a list")])
def test_alarms_must_be_a_boolean(moment: str, path: str, value: object, kind: str) -> None:
    assert verdict_problems({moment: {"alarms": value}}) == [(f"{path}.alarms", f"must be true or false, not {kind}")]


@pytest.mark.parametrize(("moment", "path"), [("before_traffic", BT), ("before_retire", BR)])
def test_alarm_names_must_be_a_list_per_stack(moment: str, path: str) -> None:
    problems = verdict_problems({moment: {"alarm_names": {"a": "orders errors - A"}}})
    assert problems == [(f"{path}.alarm_names.a", "must be a list of alarm names, got a string")]


def test_alarm_names_must_be_a_mapping_of_the_stacks() -> None:
    problems = verdict_problems(traffic(alarm_names=["orders errors - A"]))
    assert problems == [
        (f"{BT}.alarm_names", "must be a mapping (alarm names of each stack: {a: [names], b: [names]}), got a list")
    ]


def test_an_alarm_name_must_be_a_non_empty_string() -> None:
    problems = verdict_problems(traffic(alarm_names={"b": ["ok name", 5, ""]}))
    assert (f"{BT}.alarm_names.b[1]", 'must be a string — quote it ("5"), or YAML reads it as a number') in problems
    assert (f"{BT}.alarm_names.b[2]", "must not be empty") in problems


def test_the_same_alarm_name_for_both_stacks_is_refused() -> None:
    problems = verdict_problems(retire(alarm_names={"a": ["shared", "only a"], "b": ["shared"]}))
    assert problems == [(f"{BR}.alarm_names", "'shared' is named for both stacks: an alarm judges one stack")]


def test_more_than_a_hundred_alarm_names_are_refused() -> None:
    problems = verdict_problems(traffic(alarm_names={"a": [f"alarm {i}" for i in range(101)]}))
    assert problems == [(f"{BT}.alarm_names.a", "names 101 alarms: at most 100 (use alarm sets for more)")]


def test_a_smoke_test_without_a_function_is_refused() -> None:
    problems = verdict_problems(traffic(smoke={"payload": {"x": 1}}))
    assert problems == [(f"{BT}.smoke.function", "required — name the smoke function")]


def test_a_smoke_function_per_stack_needs_both() -> None:
    problems = verdict_problems(traffic(smoke={"function": {"a": "smoke-a"}}))
    assert problems == [(f"{BT}.smoke.function.b", "required — name stack b's smoke function")]


@pytest.mark.parametrize(
    ("function", "path"),
    [
        ("bad name!", f"{BT}.smoke.function"),
        ("x" * 65, f"{BT}.smoke.function"),
        ({"a": "ok-a", "b": "b/slash"}, f"{BT}.smoke.function.b"),
    ],
)
def test_a_bad_smoke_function_name_is_refused(function: object, path: str) -> None:
    problems = verdict_problems(traffic(smoke={"function": function}))
    assert len(problems) == 1
    assert problems[0][0] == path
    assert "must be a Lambda function name" in problems[0][1]
    assert "up to 64" in problems[0][1]


def test_a_smoke_function_that_is_not_a_string_is_refused() -> None:
    problems = verdict_problems(traffic(smoke={"function": 42}))
    assert problems == [(f"{BT}.smoke.function", 'must be a string — quote it ("42"), or YAML reads it as a number')]


@pytest.mark.parametrize("seconds", [0, 301, -5, 2.5, True, "30"])
def test_timeout_seconds_out_of_range_is_refused(seconds: object) -> None:
    problems = verdict_problems(traffic(smoke={"function": "orders-smoke", "timeout_seconds": seconds}))
    assert problems == [
        (f"{BT}.smoke.timeout_seconds", "must be an integer from 1 to 300: how long the smoke function may take")
    ]


@pytest.mark.parametrize(("payload", "kind"), [({1, 2}, "set"), (object(), "object")])
def test_a_payload_that_is_not_json_is_refused_beside_a_missing_function(payload: object, kind: str) -> None:
    problems = verdict_problems(traffic(smoke={"payload": payload}))
    assert problems == [
        (f"{BT}.smoke.function", "required — name the smoke function"),
        (
            f"{BT}.smoke.payload",
            "must be JSON (mappings, lists, strings, numbers, booleans; quote dates): "
            f"Object of type {kind} is not JSON serializable",
        ),
    ]


def test_a_tuple_payload_is_sent_as_a_json_list() -> None:
    plan = parse_plan(plan_document(traffic(smoke={"function": "orders-smoke", "payload": (1, 2)})))
    assert plan.verdict is not None and plan.verdict.before_traffic is not None
    assert plan.verdict.before_traffic.smoke is not None and plan.verdict.before_traffic.smoke.payload == [1, 2]


@pytest.mark.parametrize("payload", [{1, 2}, object()], ids=["set", "object"])
def test_a_payload_that_is_not_json_is_refused_with_a_valid_function(payload: object) -> None:
    problems = verdict_problems(traffic(smoke={"function": "orders-smoke", "payload": payload}))
    assert [path for path, _ in problems] == [f"{BT}.smoke.payload"]
    assert "must be JSON" in problems[0][1]


def test_a_payload_holding_something_not_json_is_refused() -> None:
    problems = verdict_problems(traffic(smoke={"function": "orders-smoke", "payload": {"ids": {1, 2}}}))
    assert [path for path, _ in problems] == [f"{BT}.smoke.payload"]


@pytest.mark.parametrize("payload", ["{when: 2025-01-02}", "!!set {a, b}"], ids=["date", "set"])
def test_a_yaml_payload_that_is_not_json_is_refused(payload: str) -> None:
    text = "\n".join(
        [
            "application: orders",
            "verdict:",
            "  before_traffic:",
            "    smoke:",
            "      function: fn",
            f"      payload: {payload}",
        ]
    )
    with pytest.raises(PlanError) as caught:
        load_plan_text(text, source="plan.yaml")
    assert [path for path, _ in caught.value.problems] == [f"{BT}.smoke.payload"]


def test_empty_lambda_thresholds_are_refused() -> None:
    assert verdict_problems(retire(**{"lambda": {}})) == [
        (f"{BR}.lambda", f"give at least one threshold: {LIMIT_KEYS}")
    ]


@pytest.mark.parametrize("key", ["max_error_rate", "max_throttle_rate"])
@pytest.mark.parametrize("value", [1.01, 2, -0.1, True, "0.1", float("nan")])
def test_a_rate_must_be_a_ratio(key: str, value: object) -> None:
    problems = verdict_problems(retire(**{"lambda": {key: value}}))
    assert problems == [(f"{BR}.lambda.{key}", "must be a ratio from 0 to 1 (0.01 is 1 %)")]


@pytest.mark.parametrize("key", ["max_errors", "max_throttles", "min_invocations"])
@pytest.mark.parametrize("value", [-1, 2.5, 3.0, True, "3"])
def test_a_count_must_be_a_whole_number_zero_or_more(key: str, value: object) -> None:
    problems = verdict_problems(retire(**{"lambda": {key: value}}))
    assert problems == [(f"{BR}.lambda.{key}", "must be a whole number, 0 or more")]


def test_every_bad_threshold_is_reported_at_once() -> None:
    problems = verdict_problems(retire(**{"lambda": {"max_errors": -1, "max_error_rate": 1.5, "min_invocations": 0.5}}))
    assert [path for path, _ in problems] == [
        f"{BR}.lambda.max_errors",
        f"{BR}.lambda.max_error_rate",
        f"{BR}.lambda.min_invocations",
    ]


def test_a_dlq_threshold_without_max_growth_is_refused_at_its_path() -> None:
    assert verdict_problems(retire(dlq={})) == [
        (f"{BR}.dlq.max_growth", "required — how many more messages a DLQ may hold at the end")
    ]


def test_a_dlq_threshold_without_max_growth_is_refused() -> None:
    problems = verdict_problems(retire(dlq={}))
    assert len(problems) == 1
    assert "max_growth" in problems[0][0]
    assert problems[0][1] == "required — how many more messages a DLQ may hold at the end"


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_a_bad_dlq_max_growth_is_refused(value: object) -> None:
    assert verdict_problems(retire(dlq={"max_growth": value})) == [
        (f"{BR}.dlq.max_growth", "must be a whole number of messages, 0 or more")
    ]


@pytest.mark.parametrize("value", [0, -3, True, "60"])
def test_a_bad_max_iterator_age_is_refused(value: object) -> None:
    assert verdict_problems(retire(kinesis={"max_iterator_age_seconds": value})) == [
        (f"{BR}.kinesis.max_iterator_age_seconds", "must be a number of seconds above 0")
    ]


def test_a_kinesis_threshold_without_max_iterator_age_is_refused() -> None:
    assert verdict_problems(retire(kinesis={})) == [
        (f"{BR}.kinesis.max_iterator_age_seconds", "required — the oldest a record may be when read")
    ]


@pytest.mark.parametrize(("deadline", "observe"), [(50, 50), (50, 60), (10, 10), (50, -1)])
def test_observe_minutes_must_be_under_the_deadline(deadline: int, observe: float) -> None:
    problems = verdict_problems(retire(observe_minutes=observe), deadline_minutes=deadline)
    assert problems == [
        (
            f"{BR}.observe_minutes",
            f"must be a number of minutes from 0 to under deadline_minutes ({deadline}): how long live traffic is "
            "watched before the retire",
        )
    ]


def test_problems_of_both_moments_are_all_reported() -> None:
    problems = verdict_problems(
        {
            "before_traffic": {"at": "later", "smoke": {}},
            "before_retire": {"observe_minutes": 99, "dlq": {"max_growth": -1}},
        }
    )
    assert [path for path, _ in problems] == [
        f"{BT}.at",
        f"{BT}.smoke.function",
        f"{BR}.observe_minutes",
        f"{BR}.dlq.max_growth",
    ]


# --------------------------------------------------------------------------- cross-checks with the other sections


def test_lambda_thresholds_need_a_function_to_measure() -> None:
    no_feeds = [{"stream_arn": STREAM, "a": "orders-consumer-a", "b": "orders-consumer-b"}]
    problems = verdict_problems(retire(**{"lambda": {"max_errors": 0}}), **{"lambda": None, "kinesis": no_feeds})
    assert problems == [(f"{BR}.lambda", "no function to measure: the plan has no lambda entries and no kinesis feeds")]


def test_lambda_thresholds_are_measured_on_kinesis_feeds_alone() -> None:
    found = verdict_of(retire(**{"lambda": {"max_errors": 0}}), **{"lambda": None}).before_retire
    assert found is not None and found.limit("max_errors") == 0.0


def test_a_kinesis_threshold_needs_feeds() -> None:
    no_feeds = [{"stream_arn": STREAM, "a": "orders-consumer-a", "b": "orders-consumer-b"}]
    for kinesis in (None, no_feeds):
        problems = verdict_problems(retire(kinesis={"max_iterator_age_seconds": 30}), kinesis=kinesis)
        assert problems == [(f"{BR}.kinesis", "no stream consumer to measure: no kinesis entry of the plan has feeds")]


def test_a_dlq_threshold_needs_an_sqs_dlq() -> None:
    no_dlq = [{"a": {"queue": "orders-queue-a"}, "b": {"queue": "orders-queue-b"}}]
    for sqs in (None, no_dlq):
        problems = verdict_problems(retire(dlq={"max_growth": 0}), sqs=sqs)
        assert problems == [(f"{BR}.dlq", "no dead-letter queue to measure: no sqs entry of the plan names a dlq")]


def test_a_dlq_of_one_stack_is_enough() -> None:
    one_dlq = [{"a": {"queue": "orders-queue-a"}, "b": {"queue": "orders-queue-b", "dlq": "orders-dlq-b"}}]
    found = verdict_of(retire(dlq={"max_growth": 0}), sqs=one_dlq).before_retire
    assert found is not None and found.max_dlq_growth == 0


def test_every_missing_measure_is_reported_at_once() -> None:
    problems = verdict_problems(
        retire(**{"lambda": {"min_invocations": 1}}, dlq={"max_growth": 0}, kinesis={"max_iterator_age_seconds": 5}),
        **{"lambda": None, "kinesis": None, "sqs": None},
    )
    assert [path for path, _ in problems] == [f"{BR}.lambda", f"{BR}.kinesis", f"{BR}.dlq"]


@pytest.mark.parametrize(
    ("deadline", "settle", "observe"), [(50, 15, 34), (50, 15, 34.5), (50, 15, 40), (10, 4, 5), (10, 4.4, 4.6)]
)
def test_observe_and_the_drain_window_must_fit_in_the_deadline(deadline: int, settle: float, observe: float) -> None:
    problems = verdict_problems(
        retire(observe_minutes=observe),
        sns=[{"a": SUB_A, "b": SUB_B}],
        deadline_minutes=deadline,
        settle_minutes=settle,
    )
    assert problems == [
        (
            f"{BR}.observe_minutes",
            f"{observe:g} and the drain window (settle_minutes {settle:g}) leave no time in deadline_minutes "
            f"{deadline}: the retire watches live traffic, then lets the old consumers drain, and must end 60 s "
            "before the deadline to report",
        )
    ]


def test_observe_and_the_drain_window_ending_before_the_deadlines_last_minute_are_accepted() -> None:
    plan: Plan = parse_plan(
        plan_document(retire(observe_minutes=33.9), sns=[{"a": SUB_A, "b": SUB_B}], settle_minutes=15)
    )
    assert plan.verdict is not None and plan.verdict.before_retire is not None
    assert plan.verdict.before_retire.observe_minutes == 33.9


def test_without_sns_the_drain_window_does_not_count() -> None:
    found = verdict_of(retire(observe_minutes=45), settle_minutes=15).before_retire
    assert found is not None and found.observe_minutes == 45.0


def test_a_before_traffic_that_checks_nothing_is_refused() -> None:
    assert verdict_problems(traffic(alarms=False)) == [
        (BT, "checks nothing: alarms is false, and no alarm_names and no smoke are given")
    ]
