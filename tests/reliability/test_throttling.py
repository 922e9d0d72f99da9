"""Throttling: with ~30% of all HTTP attempts throttled, both hooks still succeed, within a bounded retry budget.

The budget is :mod:`bluegreen.aws`'s: botocore's standard retry mode, :func:`~bluegreen.aws.max_attempts`
attempts per call (8, the first included), backoff with full jitter capped at 20 s a wait, and the
standard mode's retry quota (per client: 500 tokens, 5 per throttled retry, 14 per other retry, given
back when the call then succeeds). Throttles are injected below the clients, each attempt
independently (a seeded generator), alternating ThrottlingException (400) and TooManyRequestsException
(429); botocore computes its backoff as usual and the tests do not sleep it.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.retries import quota

from bluegreen import aws
from bluegreen.hooks import Flow
from bluegreen.refs import StackReference
from tests.reliability import figures
from tests.reliability.conftest import Backoffs, fresh_world
from tests.reliability.injection import INTERNAL_ERROR, Injector

RATE = 0.3
#: One world per seed; in each, two whole deployments (a → b, then b → a) on the same warm runtime.
SEEDS = tuple(range(1, 11))
DEPLOYMENTS = ("d-1", "d-2")
#: botocore's standard-mode default attempts, which the project raises on purpose.
BOTOCORE_DEFAULT_ATTEMPTS = 3


class QuotaWatch:
    """The lowest capacity any client's retry quota fell to, and how many retries it refused."""

    def __init__(self) -> None:
        self.lowest = quota.RetryQuota.INITIAL_CAPACITY
        self.refused = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        acquire = quota.RetryQuota.acquire

        def watched(retry_quota: quota.RetryQuota, capacity_amount: int) -> bool:
            granted: bool = acquire(retry_quota, capacity_amount)
            self.lowest = min(self.lowest, retry_quota.available_capacity)
            self.refused += not granted
            return granted

        monkeypatch.setattr(quota.RetryQuota, "acquire", watched)


@pytest.mark.slow
def test_both_hooks_succeed_with_30_percent_of_attempts_throttled(
    monkeypatch: pytest.MonkeyPatch, backoffs: Backoffs
) -> None:
    watch = QuotaWatch()
    watch.install(monkeypatch)
    calls = attempts = throttled = 0
    needed: Counter[int] = Counter()  # attempts a call needed -> how many calls
    for seed in SEEDS:
        with fresh_world(throttle_rate=RATE, seed=seed) as fresh:
            for deployment in DEPLOYMENTS:
                for flow in (Flow.PREPARE, Flow.RETIRE):
                    # one step at a time, so the seeded throttles fall on the same attempts in every run
                    result = fresh.harness.run(flow, deployment, max_workers=1)
                    assert result.status is not None and result.status.value == "Succeeded", (seed, result.message)
            fresh.injector.stop()
            a, b = fresh.views()
            record = fresh.record()
            assert a.working and b.retired, (a, b)
            assert record is not None and record.live is StackReference.A
            assert set(fresh.harness.ledger.statuses.values()) == {"Succeeded"}
            assert len(fresh.harness.ledger.statuses) == 2 * len(DEPLOYMENTS)
            calls += len(fresh.injector.calls)
            attempts += sum(fresh.injector.attempts.values())
            throttled += sum(fresh.injector.injected.values())
            needed.update(fresh.injector.attempts.values())
    assert max(needed) <= aws.max_attempts()
    assert watch.refused == 0
    assert backoffs.delays and max(backoffs.delays) <= 20.0
    figures.record(
        "throttling",
        rate=RATE,
        worlds=len(SEEDS),
        deployments=len(SEEDS) * len(DEPLOYMENTS),
        hook_runs=len(SEEDS) * len(DEPLOYMENTS) * 2,
        calls=calls,
        attempts=attempts,
        throttled_attempts=throttled,
        throttled_share=round(throttled / attempts, 3),
        calls_retried=sum(count for tries, count in needed.items() if tries > 1),
        most_attempts_of_one_call=max(needed),
        calls_needing_more_than_botocore_default=sum(
            count for tries, count in needed.items() if tries > BOTOCORE_DEFAULT_ATTEMPTS
        ),
        lowest_quota_capacity=watch.lowest,
        quota_refusals=watch.refused,
        longest_backoff_computed_seconds=round(max(backoffs.delays), 2),
        hooks_failed=0,
    )


def _internal_error_client(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Injector]:
    monkeypatch.setattr(aws, "_default_session", None)
    injector = Injector(fail_call=None)
    injector.register(aws.default_session())
    return aws.make_client("sqs", region="eu-central-1"), injector


def _attempts_of_a_failing_call(client: Any, injector: Injector) -> int:
    injector.fail_call, injector.error = len(injector.calls) + 1, INTERNAL_ERROR
    with pytest.raises(ClientError, match="InternalServerError"):
        client.list_queues()
    return injector.attempts[len(injector.calls)]


@pytest.mark.usefixtures("aws")
def test_the_retry_budget_is_what_aws_py_says(monkeypatch: pytest.MonkeyPatch, backoffs: Backoffs) -> None:
    assert "BLUEGREEN_MAX_ATTEMPTS" not in os.environ
    client, injector = _internal_error_client(monkeypatch)
    assert _attempts_of_a_failing_call(client, injector) == aws.DEFAULT_MAX_ATTEMPTS == 8
    # a 500 backs off from 50 ms, doubling: seven waits of at most 0.05 * 2**i seconds (jitter below that)
    assert len(backoffs.delays) == 7
    assert all(delay <= 0.05 * 2**i for i, delay in enumerate(backoffs.delays))
    monkeypatch.setenv("BLUEGREEN_MAX_ATTEMPTS", "3")
    client, injector = _internal_error_client(monkeypatch)
    assert _attempts_of_a_failing_call(client, injector) == 3


@pytest.mark.usefixtures("aws")
def test_the_retry_quota_of_a_client_stops_retries_during_an_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client whose calls keep failing with 500 gives up retrying once its quota is spent (14 a retry)."""
    client, injector = _internal_error_client(monkeypatch)
    history = [_attempts_of_a_failing_call(client, injector) for _ in range(7)]
    # 500 tokens / (7 retries x 14) = 5 calls with every retry; the 10 tokens left do not pay for one more
    assert history == [8, 8, 8, 8, 8, 1, 1]
    injector.stop()
    client.list_queues()  # a success without retries gives back 1 token: still no retry for the next failure
    assert _attempts_of_a_failing_call(client, injector) == 1
    figures.record("retry_budget", outage_attempts_per_call=history)
