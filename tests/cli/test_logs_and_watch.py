"""`bluegreen logs` (one deployment's lines from CloudWatch Logs) and `bluegreen status --watch` (until it settles).

moto keeps log events but does not evaluate CloudWatch's JSON filter patterns (it returns every event
for them): the lines are filtered again on the parsed JSON, which these tests show, and the pattern
sent to AWS is checked on the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bluegreen.cli.logs import deployment_logs
from bluegreen.cli.watch import EXIT_TIMEOUT, watch
from bluegreen.refs import StackReference
from bluegreen.state import LiveRecord, Phase
from tests.conftest import REGION

STACK = "bluegreen-orders"


@pytest.fixture
def logs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("logs", region_name=REGION)


def _put(client: Any, group: str, lines: list[tuple[int, Any]]) -> None:
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="2026/12/07/[$LATEST]abc")
    events = [{"timestamp": at, "message": line if isinstance(line, str) else json.dumps(line)} for at, line in lines]
    client.put_log_events(logGroupName=group, logStreamName="2026/12/07/[$LATEST]abc", logEvents=events)


def test_the_lines_of_one_deployment_in_time_order_from_every_group(logs: Any) -> None:
    base = 1_796_000_000_000
    _put(logs, f"/aws/lambda/CodeDeployHook_{STACK}_prepare", [
        (base + 1, {"level": "INFO", "message": "step ecs[0].enable done", "deployment_id": "d-1", "flow": "prepare"}),
        (base + 5, {"level": "INFO", "message": "another deployment", "deployment_id": "d-2"}),
        (base + 6, "START RequestId: 1 Version: $LATEST"),  # Lambda's own line: not JSON
    ])  # fmt: skip
    _put(logs, f"/aws/lambda/CodeDeployHook_{STACK}_retire", [
        (base + 3, {"level": "ERROR", "message": "step sqs[0].purge failed", "deployment_id": "d-1", "flow": "retire"}),
    ])  # fmt: skip
    sent: list[str] = []
    logs.meta.events.register(
        "provide-client-params.logs.FilterLogEvents", lambda params, **_: sent.append(params["filterPattern"])
    )

    found = deployment_logs(logs, STACK, "d-1")

    assert [line.line["message"] for line in found.lines] == ["step ecs[0].enable done", "step sqs[0].purge failed"]
    assert [line.source for line in found.lines] == ["prepare", "retire"]
    assert found.missing_groups == [  # never invoked: reported
        f"/aws/lambda/CodeDeployHook_{STACK}_verdict",
        f"/aws/lambda/{STACK}-deployment-events",
    ]
    assert set(sent) == {'{ $.deployment_id = "d-1" }'}  # what AWS filters on (moto does not)
    assert found.lines[1].text().endswith("retire ERROR step sqs[0].purge failed")
    assert found.lines[0].as_dict()["at"].startswith("2026-")


def test_no_line_of_an_unknown_deployment(logs: Any) -> None:
    _put(logs, f"/aws/lambda/CodeDeployHook_{STACK}_prepare", [(1, {"message": "x", "deployment_id": "d-1"})])
    assert deployment_logs(logs, STACK, "d-9").lines == []


@dataclass
class _Report:
    record: LiveRecord | None


def _record(phase: Phase | None, *, finished: bool = False, settled: bool = False) -> LiveRecord:
    return LiveRecord(
        application="orders", live=StackReference.A, deployment_id="d-1" if phase else None,
        replacement=StackReference.B, phase=phase, finished_at="t" if finished else None,
        settled_at="t" if settled else None,
    )  # fmt: skip


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    ("last", "code"),
    [
        (_record(Phase.RETIRED, finished=True), 0),
        (_record(Phase.ROLLED_BACK, finished=True, settled=True), 1),
        (_record(Phase.PREPARE_FAILED, finished=True, settled=True), 1),
        (_record(None), 0),
    ],
)
def test_watch_reads_until_the_deployment_settles_and_exits_by_outcome(last: LiveRecord, code: int) -> None:
    reads = iter([
        _record(Phase.PREPARING), _record(Phase.PREPARED), _record(Phase.ROLLED_BACK, finished=True), last,
    ])  # fmt: skip
    # a rolled-back deployment whose replacement is not back to retired yet has not settled: read again
    shown: list[Any] = []
    clock = _Clock()
    exit_code, report = watch(
        lambda: _Report(next(reads)),
        shown.append,
        interval=10,
        timeout=600,
        clock=clock,
        sleep=clock.sleep,  # type: ignore[arg-type,return-value]
    )
    assert exit_code == code and report.record is last
    assert len(shown) == 4 and clock.now == 30


def test_watch_gives_up_at_its_timeout() -> None:
    clock = _Clock()
    shown: list[Any] = []
    exit_code, _ = watch(
        lambda: _Report(_record(Phase.PREPARING)),
        shown.append,
        interval=10,
        timeout=35,
        clock=clock,
        sleep=clock.sleep,  # type: ignore[arg-type,return-value]
    )
    assert exit_code == EXIT_TIMEOUT
    assert len(shown) == 4 and clock.now == 30  # read at 0, 10, 20, 30; a read at 40 would pass 35
