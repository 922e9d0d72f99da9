#!/usr/bin/env python3
"""Put the figures of the last reliability run into docs/reliability.md.

The reliability tests (tests/reliability) write what they tried to build/reliability-figures.json
(or ``$BLUEGREEN_RELIABILITY_FIGURES``); this script renders the table of promises, tests and
figures from it, between the ``<!-- figures -->`` markers of the doc. It refuses a partial or failed
run: the doc only ever holds the figures of a whole run with no failure.

    .venv/bin/pytest tests/reliability && .venv/bin/python scripts/reliability_figures.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIGURES = Path(os.environ.get("BLUEGREEN_RELIABILITY_FIGURES") or ROOT / "build" / "reliability-figures.json")
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- figures: start (scripts/reliability_figures.py) -->", "<!-- figures: end -->"
SECTIONS = (
    "faults.prepare.AccessDenied",
    "faults.prepare.InternalError",
    "faults.retire.AccessDenied",
    "faults.retire.InternalError",
    "throttling",
    "retry_budget",
    "duplicates",
    "bad_input",
    "deadlines.prepare",
    "deadlines.retire",
)
T = "tests/reliability/"


def _faults(s: dict[str, Any], flow: str) -> str:
    parts = []
    for error, label in (("AccessDenied", "AccessDenied"), ("InternalError", "500 on every attempt")):
        f = s[f"faults.{flow}.{error}"]
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(f["outcomes"].items(), key=lambda x: -x[1]))
        parts.append(
            f"{label}: **{f['fault_points']} fault points**, {f['attempts_per_failed_call']} attempt(s) each; "
            f"{outcomes}; broken promises: **{f['broken']}**"
        )
    tolerated = s[f"faults.{flow}.AccessDenied"]["not_failed"]
    parts.append("not Failed: " + "; ".join(f"call {k} → {v}" for k, v in tolerated.items()))
    return "<br>".join(parts)


def render(data: dict[str, Any]) -> str:
    """The Markdown between the markers: when and where the run was, then one row per promise."""
    s = data["sections"]
    th, rb, d, b = s["throttling"], s["retry_budget"], s["duplicates"], s["bad_input"]
    dp, dr = s["deadlines.prepare"], s["deadlines.retire"]
    deliveries = sum(v for k, v in d.items() if k.startswith(("prepare_", "retire_")))
    rows = [
        (
            "1. Exactly one status per hook execution; Succeeded only when every step finished; a failing "
            "report raises (Lambda retries) — and the live stack as it was",
            f"`{T}test_fault_points.py::test_a_fault_at_every_call_of_a_hook[prepare-*]`",
            _faults(s, "prepare"),
        ),
        (
            "5. A failed AfterAllowTraffic puts the old stack back (record on it, working) and leaves the "
            "new one untouched",
            f"`{T}test_fault_points.py::test_a_fault_at_every_call_of_a_hook[retire-*]`",
            _faults(s, "retire"),
        ),
        (
            "Throttling: both hooks succeed with ~30% of attempts throttled, within the retry budget",
            f"`{T}test_throttling.py::test_both_hooks_succeed_with_30_percent_of_attempts_throttled`",
            f"{th['hook_runs']} hook runs ({th['deployments']} deployments in {th['worlds']} worlds): "
            f"**{th['calls']} calls, {th['attempts']} attempts, {th['throttled_attempts']} throttled "
            f"({th['throttled_share']:.1%}) and survived**; {th['calls_retried']} calls retried, at most "
            f"{th['most_attempts_of_one_call']} attempts for one call; "
            f"{th['calls_needing_more_than_botocore_default']} calls needed more than botocore's default 3; "
            f"lowest retry quota {th['lowest_quota_capacity']}/500, "
            f"{th['quota_refusals']} refusals; longest backoff computed {th['longest_backoff_computed_seconds']} s; "
            f"hooks failed: **{th['hooks_failed']}**",
        ),
        (
            "The retry budget is what `bluegreen.aws` says (8 attempts; the quota stops retries in an outage)",
            f"`{T}test_throttling.py::test_the_retry_budget_is_what_aws_py_says`, "
            f"`::test_the_retry_quota_of_a_client_stops_retries_during_an_outage`",
            f"attempts of successive calls that all get 500s, one client: {rb['outage_attempts_per_call']}",
        ),
        (
            "1-3. Duplicates, retries, any order, two at once: the record flips only for a prepared "
            "deployment and never back by a duplicate; no destructive call on the live stack; one status "
            "per execution; nothing left half-done",
            f"`{T}test_duplicates.py::test_deliveries_in_any_order_duplicated_and_concurrent_keep_every_promise` "
            "(hypothesis state machine, derandomized) and the regressions `::test_a_duplicate_delivered_while_…`, "
            "`::test_a_second_deployment_arriving_…`",
            f"**{d['examples']} examples, {d['steps_checked']} steps checked**; {deliveries} deliveries "
            f"({d.get('prepare_duplicate', 0) + d.get('retire_duplicate', 0)} duplicates, "
            f"{d.get('prepare_new_execution_id', 0) + d.get('retire_new_execution_id', 0)} under a new execution id), "
            f"{d['concurrent_pairs']} concurrent pairs, {d['faults_armed']} faults armed, "
            f"{d.get('raised_and_retried_as_Lambda_does', 0)} raises retried, {d['flips']} flips, "
            f"{d.get('retires_rolled_back', 0)} retires rolled back; **{d['destructive_calls_checked']} destructive "
            f"calls checked against the record, 0 on the live stack**; {d['reports_sent']} reports; "
            f"regressions passed: {d.get('twin_interleavings_passed', 0)} + {d.get('overlapping_prepares_passed', 0)}; "
            f"failures: **{d['failures']}**",
        ),
        (
            "Following the deployment: deployments stopped, failed or rolled back (canary alarms, hook time-outs) "
            "with their "
            "state-change events delivered, repeated, late or lost; the plan a/b-swapped between the hooks; a "
            "second deployment group on the same record; the lease between concurrent runners — no destructive "
            "call on the live stack, no put-back of a retired deployment, every settled replacement retired",
            f"`{T}test_duplicates.py::test_deliveries_in_any_order_duplicated_and_concurrent_keep_every_promise` "
            "(the same state machine's rules `codedeploy_ends_it`, "
            "`state_change_event`, `codedeploy_rolls_it_back`, "
            "`retire_with_the_plan_swapped`; d-4 is another deployment group), "
            "`::test_a_duplicate_delivered_while_its_twin_retires_returns_without_acting`, "
            "`::test_a_second_deployment_arriving_during_a_prepare_waits_then_is_refused`; each situation "
            "as its own test: `tests/hooks/test_follow_deployment.py`",
            f"{d.get('deployments_stopped', 0)} deployments stopped and {d.get('deployments_failed', 0)} failed "
            f"({d.get('deployments_in_flight_ended', 0)} of them in flight); "
            f"**{d.get('state-change_events', 0)} state-change events** ({d.get('events:_settled', 0)} settled, "
            f"{d.get('events:_nothing', 0)} changed nothing, {d.get('events:_needs_attention', 0)} called for a "
            f"person); {d.get('flipped_deployments_settled_by_the_next_prepare', 0)} flipped deployments settled by "
            f"the next prepare, {d.get('flips_back_settling_an_ended_deployment', 0)} by their event; "
            f"{d.get('rollback_deployments', 0)} rollback deployments whose hooks settled what they undo "
            f"({d.get('rollback_hooks_succeeded', 0)} Succeeded, {d.get('rollback_hooks_failed', 0)} Failed); "
            f"{d.get('retires_with_the_plan_swapped', 0)} retires with the plan swapped; "
            f"{d.get('returned_without_acting:_its_twin_at_work', 0)} deliveries returned without acting "
            f"(twin at work), {d.get('waited_for_the_lease_and_handed_over', 0)} waited for the lease and handed "
            "over",
        ),
        (
            "Bad plans: a clear error naming each problem's path; behind a hook, one Failed report naming them",
            f"`{T}test_bad_input.py::test_any_text_is_a_plan_or_a_plan_error_naming_its_paths`, "
            f"`::test_a_bad_plan_behind_a_hook_is_one_failed_report_naming_every_problem`",
            f"**{b['plan_texts']} plan texts** (random text, junk documents, nesting up to 30,000 deep, "
            f"3 MB and 5,000-entry documents, 5,000-digit numbers, YAML alias bombs): {b['plan_texts_refused']} "
            f"refused with a PlanError, the rest valid; **{b['bad_plans_reported_failed']} bad plans** behind a hook: "
            "each one Failed report naming every path",
        ),
        (
            "Bad CodeDeploy events: ValueError naming the field, no report; with both ids, always a report",
            f"`{T}test_bad_input.py::test_a_codedeploy_event_with_missing_or_odd_fields`",
            f"**{b['codedeploy_events']} events**: {b['codedeploy_events_refused']} refused naming the field "
            f"(nothing sent), {b['codedeploy_events_reported_failed']} reported Failed once, "
            f"{b['codedeploy_continuations_raised_for_a_retry']} continuations raised for Lambda's retry "
            "(as designed: a continuation has work half done)",
        ),
        (
            "RDS handlers: junk is skipped and logged, never an unhandled exception; an event of several "
            "records is refused whole",
            f"`{T}test_bad_input.py::test_rds_handlers_skip_junk_and_never_act_on_it`, "
            "`::test_an_rds_event_that_is_no_sns_event_is_a_clear_error`, "
            "`::test_an_event_of_several_records_is_refused_and_nothing_is_done`",
            f"**{b['rds_events']} events of one junk record** through 3 functions: 0 failed, 0 AWS changes; "
            f"{b['several_record_events_refused']} events of several records (a real one among junk): refused "
            "with a clear error before any AWS call",
        ),
        (
            "4. Long waits outlive one invocation; past the deadline, Failed — before the plan's deadline — "
            "with the stack put back; never Succeeded half-done",
            f"`{T}test_deadlines.py::test_a_replacement_cluster_that_never_becomes_available`, "
            "`::test_an_old_cluster_that_never_stops_waiting_ends_with_the_old_stack_back`",
            f"prepare: {dp['invocations']} invocations, hand-overs with ≥ {dp['least_seconds_left_at_a_handover']} s "
            f"left, {dp['reported']} at {dp['minutes_to_the_report']} min (deadline 50); retire: "
            f"{dr['invocations']} invocations, ≥ {dr['least_seconds_left_at_a_handover']} s left, {dr['reported']} "
            f"at {dr['minutes_to_the_report']} min, the old stack back in service",
        ),
    ]
    tests = data["tests"]
    lines = [
        START,
        f"Last run: {data['written_at']}, Python {data['python']}, {data['machine']}; "
        f"**{tests['passed']} tests passed, {tests['failed']} failed**, {data['seconds']:.0f} s of test time.",
        "",
        "| promise | how it is tried | figures from the last run |",
        "|---|---|---|",
        *(f"| {promise} | {how} | {figures} |" for promise, how, figures in rows),
        END,
    ]
    return "\n".join(lines)


def main() -> int:
    """Check the figures are of a whole passing run, then write them into the doc."""
    data = json.loads(FIGURES.read_text())
    missing = [name for name in SECTIONS if name not in data["sections"]]
    if missing or data["tests"]["failed"]:
        print(f"{FIGURES}: not a whole passing run (missing {missing}, {data['tests']['failed']} failed)")
        return 1
    text = DOC.read_text()
    start, end = text.index(START), text.index(END) + len(END)
    DOC.write_text(text[:start] + render(data) + text[end:])
    print(f"{DOC.relative_to(ROOT)}: figures of {data['written_at']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
