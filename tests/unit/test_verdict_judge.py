"""Judging what was measured against the plan's thresholds: the pure functions of bluegreen.verdict.judge."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen import StackReference
from bluegreen.verdict.judge import (
    BEFORE_RETIRE,
    BEFORE_TRAFFIC,
    Check,
    Judgement,
    VerdictFailed,
    alarm_checks,
    dlq_check,
    iterator_check,
    lambda_checks,
    number,
    smoke_check,
)

FN = "orders-fn-b"


def by_what(checks: list[Check]) -> dict[str, Check]:
    return {check.what: check for check in checks}


# --------------------------------------------------------------------------- number


@pytest.mark.parametrize(
    ("value", "shown"),
    [(3, "3"), (3.0, "3"), (0.0, "0"), (0.05, "0.05"), (0.0125, "0.0125"), (1 / 3, "0.333333"), (2.5, "2.5")],
)
def test_number_shows_whole_numbers_bare_and_fractions_to_six_digits(value: float, shown: str) -> None:
    assert number(value) == shown


# --------------------------------------------------------------------------- lambda


def test_lambda_checks_give_one_check_per_threshold_in_order() -> None:
    limits = {
        "max_errors": 5.0,
        "max_error_rate": 0.05,
        "max_throttles": 0.0,
        "max_throttle_rate": 0.1,
        "min_invocations": 10.0,
    }
    checks = lambda_checks(FN, {"Errors": 1.0, "Throttles": 0.0, "Invocations": 100.0}, limits)

    assert checks == [
        Check(f"lambda {FN} errors", "1", "≤ 5", True),
        Check(f"lambda {FN} errors/invocations", "0.01 (1 of 100)", "≤ 0.05", True),
        Check(f"lambda {FN} throttles", "0", "≤ 0", True),
        Check(f"lambda {FN} throttles/invocations", "0 (0 of 100)", "≤ 0.1", True),
        Check(f"lambda {FN} invocations", "100", "≥ 10", True),
    ]


def test_lambda_checks_without_thresholds_check_nothing() -> None:
    assert lambda_checks(FN, {"Errors": 99.0, "Invocations": 1.0}, {}) == []


@pytest.mark.parametrize(("errors", "passed"), [(4.0, True), (5.0, True), (6.0, False)])
def test_max_errors_passes_at_equality(errors: float, passed: bool) -> None:
    (check,) = lambda_checks(FN, {"Errors": errors, "Invocations": 100.0}, {"max_errors": 5.0})
    assert check.passed is passed
    assert check.measured == number(errors)
    assert check.limit == "≤ 5"


@pytest.mark.parametrize(("throttles", "passed"), [(0.0, True), (1.0, False)])
def test_max_throttles_zero_refuses_a_single_throttle(throttles: float, passed: bool) -> None:
    (check,) = lambda_checks(FN, {"Throttles": throttles, "Invocations": 10.0}, {"max_throttles": 0.0})
    assert (check.measured, check.limit, check.passed) == (number(throttles), "≤ 0", passed)


@pytest.mark.parametrize(("errors", "passed"), [(4.0, True), (5.0, True), (6.0, False)])
def test_max_error_rate_passes_at_equality(errors: float, passed: bool) -> None:
    (check,) = lambda_checks(FN, {"Errors": errors, "Invocations": 100.0}, {"max_error_rate": 0.05})
    assert check.passed is passed
    assert check.measured == f"{number(errors / 100)} ({number(errors)} of 100)"


def test_the_error_rate_message_names_the_numbers_and_the_limit() -> None:
    (check,) = lambda_checks(FN, {"Errors": 10.0, "Invocations": 20.0}, {"max_error_rate": 0.05})

    assert check == Check(f"lambda {FN} errors/invocations", "0.5 (10 of 20)", "≤ 0.05", False)
    assert check.describe() == f"lambda {FN} errors/invocations: 0.5 (10 of 20), limit ≤ 0.05 — failed"


def test_the_throttle_rate_message_names_the_numbers_and_the_limit() -> None:
    (check,) = lambda_checks(FN, {"Throttles": 3.0, "Invocations": 12.0}, {"max_throttle_rate": 0.2})
    assert check == Check(f"lambda {FN} throttles/invocations", "0.25 (3 of 12)", "≤ 0.2", False)


@pytest.mark.parametrize(("calls", "passed"), [(19.0, False), (20.0, True), (21.0, True)])
def test_min_invocations_passes_at_equality(calls: float, passed: bool) -> None:
    (check,) = lambda_checks(FN, {"Invocations": calls}, {"min_invocations": 20.0})
    assert (check.measured, check.limit, check.passed) == (number(calls), "≥ 20", passed)


def test_rates_with_zero_invocations_are_zero() -> None:
    checks = by_what(
        lambda_checks(
            FN,
            {"Errors": 7.0, "Throttles": 2.0, "Invocations": 0.0},
            {"max_error_rate": 0.0, "max_throttle_rate": 0.0, "min_invocations": 1.0},
        )
    )
    assert checks[f"lambda {FN} errors/invocations"] == Check(
        f"lambda {FN} errors/invocations", "0 (7 of 0)", "≤ 0", True
    )
    assert checks[f"lambda {FN} throttles/invocations"].measured == "0 (2 of 0)"
    assert checks[f"lambda {FN} throttles/invocations"].passed
    # the threshold that catches a replacement that got no traffic
    assert checks[f"lambda {FN} invocations"] == Check(f"lambda {FN} invocations", "0", "≥ 1", False)


def test_missing_sums_count_as_zero() -> None:
    checks = lambda_checks(FN, {}, {"max_errors": 0.0, "min_invocations": 0.0, "max_error_rate": 0.0})
    assert [(c.measured, c.passed) for c in checks] == [("0", True), ("0 (0 of 0)", True), ("0", True)]


@settings(max_examples=200, deadline=None)
@given(
    errors=st.integers(min_value=0, max_value=10_000),
    invocations=st.integers(min_value=0, max_value=10_000),
    limit=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_the_error_rate_passes_exactly_when_the_ratio_is_within_the_limit(
    errors: int, invocations: int, limit: float
) -> None:
    (check,) = lambda_checks(
        FN, {"Errors": float(errors), "Invocations": float(invocations)}, {"max_error_rate": limit}
    )
    rate = errors / invocations if invocations else 0.0
    assert check.passed is (rate <= limit)
    assert check.measured.endswith(f"({errors} of {invocations})")
    assert check.limit == f"≤ {number(limit)}"
    if rate <= 1:  # the ratio itself as the limit: exactly at the boundary, which passes
        (edge,) = lambda_checks(
            FN, {"Errors": float(errors), "Invocations": float(invocations)}, {"max_error_rate": rate}
        )
        assert edge.passed


@pytest.mark.parametrize(
    "check",
    [
        lambda_checks(FN, {"Errors": 50_001.0, "Invocations": 1_000_000.0}, {"max_error_rate": 0.05})[0],
        iterator_check(FN, 60_001.0, 60.0),
    ],
    ids=["error-rate", "iterator-age"],
)
def test_a_failed_check_never_shows_its_measure_equal_to_its_limit(check: Check) -> None:
    assert not check.passed
    shown = check.measured.split(" (")[0]
    assert shown != check.limit.removeprefix("≤ "), check.describe()


# --------------------------------------------------------------------------- dlq


def test_dlq_growth_is_the_last_depth_less_the_first() -> None:
    check = dlq_check("orders-dlq-b", [3.0, 9.0, 4.0, 5.0], max_growth=2)
    assert check == Check("dlq orders-dlq-b growth", "2 (3 → 5)", "≤ 2", True)


@pytest.mark.parametrize(("depths", "passed"), [([1.0, 3.0], True), ([1.0, 4.0], False), ([5.0, 0.0], True)])
def test_dlq_growth_at_the_boundary(depths: list[float], passed: bool) -> None:
    check = dlq_check("q", depths, max_growth=2)
    assert check.passed is passed
    assert check.measured == f"{number(depths[-1] - depths[0])} ({number(depths[0])} → {number(depths[-1])})"


def test_dlq_growth_of_zero_allows_no_new_message() -> None:
    check = dlq_check("q", [4.0, 5.0], max_growth=0)
    assert (check.measured, check.limit, check.passed) == ("1 (4 → 5)", "≤ 0", False)


@pytest.mark.parametrize("depths", [[], [42.0]])
def test_dlq_growth_with_fewer_than_two_points_is_no_change_seen(depths: list[float]) -> None:
    check = dlq_check("q", depths, max_growth=0)
    assert check == Check("dlq q growth", "0 (no change seen)", "≤ 0", True)


# --------------------------------------------------------------------------- kinesis


def test_iterator_age_is_shown_in_seconds_from_milliseconds() -> None:
    check = iterator_check(FN, 1500.0, 2.0)
    assert check == Check(f"kinesis {FN} iterator age", "1.5 s", "≤ 2 s", True)


@pytest.mark.parametrize(("age_ms", "passed"), [(59_999.0, True), (60_000.0, True), (60_001.0, False)])
def test_iterator_age_at_the_boundary(age_ms: float, passed: bool) -> None:
    check = iterator_check(FN, age_ms, 60.0)
    assert check.passed is passed
    assert check.measured == f"{number(round(age_ms / 1000, 3))} s"
    assert check.limit == "≤ 60 s"


def test_iterator_age_without_data_passes() -> None:
    check = iterator_check(FN, None, 0.5)
    assert check == Check(f"kinesis {FN} iterator age", "no data (nothing read)", "≤ 0.5 s", True)


def test_an_iterator_age_of_zero_is_data() -> None:
    assert iterator_check(FN, 0.0, 1.0).measured == "0 s"


# --------------------------------------------------------------------------- alarms


def test_alarms_in_alarm_or_missing_fail_each() -> None:
    states = [
        ("orders errors - B", "ALARM", "Threshold Crossed: 1 datapoint [5.0]"),
        ("orders latency - B", "OK", ""),
        ("orders depth - B", "INSUFFICIENT_DATA", "no data"),
        ("orders canary - B", "MISSING", "no alarm of this name in the region"),
    ]
    checks = alarm_checks(StackReference.B, states)

    assert checks == [
        Check("alarm orders errors - B", "ALARM (Threshold Crossed: 1 datapoint [5.0])", "not ALARM", False),
        Check("alarm orders canary - B", "MISSING (no alarm of this name in the region)", "not ALARM", False),
    ]


def test_an_alarm_without_a_reason_shows_its_state_alone() -> None:
    (check,) = alarm_checks(StackReference.A, [("x", "ALARM", "")])
    assert check.measured == "ALARM"
    assert not check.passed


def test_a_long_reason_is_cut_at_160_characters() -> None:
    (check,) = alarm_checks(StackReference.A, [("x", "ALARM", "r" * 500)])
    assert check.measured == f"ALARM ({'r' * 160})"


@pytest.mark.parametrize(
    ("states", "counted"),
    [
        ([("a1", "OK", ""), ("a2", "INSUFFICIENT_DATA", "x"), ("a3", "OK", "")], "3 alarms, none in ALARM"),
        ([("a1", "OK", "")], "1 alarm, none in ALARM"),
        ([], "0 alarms, none in ALARM"),
    ],
)
def test_no_alarm_in_alarm_gives_one_passing_summary(states: list[tuple[str, str, str]], counted: str) -> None:
    checks = alarm_checks(StackReference.B, iter(states))
    assert checks == [Check("alarms of stack b", counted, "none in ALARM", True)]


# --------------------------------------------------------------------------- smoke


@pytest.mark.parametrize(
    ("outcome", "measured", "passed"),
    [
        ("ok", "answered without a function error", True),
        ("error", "function error — Handled function error: ValueError: boom", False),
        ("timeout", "timed out — Handled function error: ValueError: boom", False),
        ("missing", "no such function — Handled function error: ValueError: boom", False),
        ("refused", "Lambda did not run it — Handled function error: ValueError: boom", False),
        ("weird", "weird — Handled function error: ValueError: boom", False),
    ],
)
def test_smoke_check_for_each_outcome(outcome: str, measured: str, passed: bool) -> None:
    check = smoke_check("orders-smoke-b", outcome, "Handled function error: ValueError: boom", 10)
    assert check == Check("smoke orders-smoke-b", measured, "no function error within 10 s", passed)


# --------------------------------------------------------------------------- judgement


def failing() -> Judgement:
    return Judgement(
        moment=BEFORE_RETIRE,
        stack=StackReference.B,
        checks=(
            Check(f"lambda {FN} errors/invocations", "0.5 (10 of 20)", "≤ 0.05", False),
            Check(f"lambda {FN} throttles", "0", "≤ 0", True),
            Check("dlq orders-dlq-b growth", "3 (0 → 3)", "≤ 0", False),
        ),
        at="2025-01-02T03:04:05+00:00",
        window="2025-01-02T02:54:00+00:00/2025-01-02T03:05:00+00:00",
    )


def test_a_judgement_with_a_failed_check_fails_and_names_each_failure() -> None:
    judgement = failing()

    assert not judgement.passed
    assert [c.what for c in judgement.failures] == [f"lambda {FN} errors/invocations", "dlq orders-dlq-b growth"]
    assert judgement.summary() == (
        f"before-retire verdict on stack b failed: lambda {FN} errors/invocations: 0.5 (10 of 20) (limit ≤ 0.05); "
        "dlq orders-dlq-b growth: 3 (0 → 3) (limit ≤ 0)"
    )
    assert judgement.message() == f"{judgement.summary()} — the old stack was not touched"


def test_a_passing_judgement_summarises_its_checks() -> None:
    judgement = Judgement(
        BEFORE_TRAFFIC,
        StackReference.A,
        (Check("smoke s", "answered without a function error", "answers within 30 s", True),),
    )
    assert judgement.passed
    assert judgement.failures == ()
    assert judgement.summary() == "before-traffic verdict on stack a passed (1 checks)"
    assert judgement.message() == judgement.summary()


def test_a_judgement_without_checks_passes() -> None:
    judgement = Judgement(BEFORE_RETIRE, StackReference.B, ())
    assert judgement.passed
    assert judgement.summary() == "before-retire verdict on stack b passed (0 checks)"


def test_to_record_keeps_the_outcome_and_every_check() -> None:
    judgement = failing()
    assert judgement.to_record() == {
        "stack": "b",
        "passed": False,
        "at": "2025-01-02T03:04:05+00:00",
        "summary": judgement.summary(),
        "checks": [
            {
                "what": f"lambda {FN} errors/invocations",
                "measured": "0.5 (10 of 20)",
                "limit": "≤ 0.05",
                "passed": False,
            },
            {"what": f"lambda {FN} throttles", "measured": "0", "limit": "≤ 0", "passed": True},
            {"what": "dlq orders-dlq-b growth", "measured": "3 (0 → 3)", "limit": "≤ 0", "passed": False},
        ],
        "window": "2025-01-02T02:54:00+00:00/2025-01-02T03:05:00+00:00",
    }


def test_to_record_leaves_out_an_empty_window() -> None:
    assert "window" not in Judgement(BEFORE_TRAFFIC, StackReference.A, ()).to_record()


@pytest.mark.parametrize(
    "judgement",
    [
        failing(),
        Judgement(BEFORE_TRAFFIC, StackReference.A, (Check("smoke s", "answered", "answers within 1 s", True),)),
        Judgement(BEFORE_TRAFFIC, StackReference.B, (), at="now"),
    ],
)
def test_from_record_reads_back_what_to_record_wrote(judgement: Judgement) -> None:
    again = Judgement.from_record(judgement.moment, judgement.to_record())
    assert again == judgement
    assert again.passed is judgement.passed
    assert again.summary() == judgement.summary()


def test_from_record_skips_what_is_not_a_check_and_reads_only_true_as_passed() -> None:
    doc = {"stack": "b", "checks": [{"what": "x", "measured": "1", "limit": "≤ 0", "passed": "yes"}, "junk", None]}
    judgement = Judgement.from_record(BEFORE_RETIRE, doc)
    assert judgement.stack is StackReference.B
    assert judgement.checks == (Check("x", "1", "≤ 0", False),)
    assert not judgement.passed


def test_verdict_failed_carries_the_judgement_and_its_message() -> None:
    judgement = failing()
    error = VerdictFailed(judgement)

    assert error.judgement is judgement
    assert str(error) == judgement.message()
    assert str(error).startswith("before-retire verdict on stack b failed: ")
    assert "0.5 (10 of 20) (limit ≤ 0.05)" in str(error)
    assert str(error).endswith("— the old stack was not touched")
    with pytest.raises(RuntimeError, match="the old stack was not touched"):
        raise error
