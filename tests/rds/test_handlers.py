"""The three RDS-event Lambda entry points as Lambda calls them: plan and table from the environment, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import rds_apply_tags
import rds_enable_performance_insights
import rds_keep_retired_stopped
from bluegreen import rds_entry
from bluegreen.rds import RdsBatchError
from tests.conftest import REGION
from tests.rds.conftest import READER, RETIRED_CLUSTER, RdsWorld, batch, load_event, record_of
from tests.unit.rds_events import sns_record


@dataclass
class FakeContext:
    function_name: str = "bluegreen-orders-rds-keep-stopped"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:bluegreen-orders-rds-keep-stopped"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture
def lambda_env(full_rds_world: RdsWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[RdsWorld]:
    rds_world = full_rds_world
    monkeypatch.setenv("BLUEGREEN_PLAN", json.dumps(rds_world.world.plan))
    monkeypatch.setenv("BLUEGREEN_STATE_TABLE", rds_world.world.state_table)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "bluegreen")
    for name in ("BLUEGREEN_PLAN_FILE", "BLUEGREEN_PLAN_PARAMETER"):
        monkeypatch.delenv(name, raising=False)
    rds_entry.reset_runtime()
    yield rds_world
    rds_entry.reset_runtime()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    copy = logging.StreamHandler(stream)  # the Powertools handler writes to the stdout of import time
    copy.setFormatter(rds_entry.logger.registered_formatter)
    logging.getLogger("bluegreen").addHandler(copy)
    yield stream
    logging.getLogger("bluegreen").removeHandler(copy)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_tag_handler_tags_a_new_reader_and_logs_json_naming_the_function(
    lambda_env: RdsWorld, json_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_env.add_autoscaled_reader()
    summary = rds_apply_tags.handler(load_event("rds_instance_created"), FakeContext())  # type: ignore[arg-type]
    assert summary["done"] == 1 and summary["failed"] == 0
    assert lambda_env.instance_tags()["Role"] == "Reader"
    logs = json_lines(json_logs.getvalue())
    assert logs and all(line.get("rds_function") == "rds_apply_tags" for line in logs)
    metrics = [line for line in json_lines(capsys.readouterr().out) if "_aws" in line]
    assert any(line.get("RdsRecordsDone") == [1.0] for line in metrics)


def test_the_performance_insights_handler_sends_the_modification(lambda_env: RdsWorld) -> None:
    lambda_env.add_autoscaled_reader()
    summary = rds_enable_performance_insights.handler(load_event("rds_instance_created"), FakeContext())  # type: ignore[arg-type]
    assert summary["done"] == 1
    assert lambda_env.modified.requests == [
        {"DBInstanceIdentifier": READER, "EnablePerformanceInsights": True, "ApplyImmediately": True}
    ]


def test_the_keep_stopped_handler_stops_the_retired_cluster_after_its_auto_start(lambda_env: RdsWorld) -> None:
    lambda_env.store.ensure("orders", "a")
    lambda_env.rds.start_db_cluster(DBClusterIdentifier=RETIRED_CLUSTER)
    summary = rds_keep_retired_stopped.handler(load_event("rds_cluster_auto_started"), FakeContext())  # type: ignore[arg-type]
    assert summary["done"] == 1
    assert lambda_env.status(RETIRED_CLUSTER) == "stopped"


@pytest.mark.parametrize(
    "handler", [rds_apply_tags.handler, rds_enable_performance_insights.handler, rds_keep_retired_stopped.handler]
)
def test_the_confirmation_is_skipped_with_a_log_line(
    lambda_env: RdsWorld, json_logs: io.StringIO, handler: Any
) -> None:
    summary = handler(load_event("sns_subscription_confirmation"), FakeContext())
    assert summary["skipped"] == 1
    messages = [line["message"] for line in json_lines(json_logs.getvalue())]
    assert any("record 0" in m and "skipped: not an RDS event" in m for m in messages), messages


def test_a_failed_record_makes_the_handler_raise_after_the_good_ones(lambda_env: RdsWorld) -> None:
    lambda_env.add_autoscaled_reader()
    lambda_env.faults.arm("AddTagsToResource")  # AccessDenied on the first tagging
    lambda_env.add_autoscaled_reader(RETIRED_CLUSTER, "application-autoscaling-b1")
    second = record_of("rds_instance_created")
    second["Sns"]["Message"] = second["Sns"]["Message"].replace(READER, "application-autoscaling-b1")
    event = batch(record_of("rds_instance_created"), sns_record("junk"), second)
    with pytest.raises(RdsBatchError, match=r"1 of 3 records failed[\s\S]*AccessDenied"):
        rds_apply_tags.handler(event, FakeContext())  # type: ignore[arg-type]
    assert lambda_env.instance_tags("application-autoscaling-b1")["Role"] == "Reader"


def test_a_missing_plan_raises_so_the_event_goes_to_the_on_failure_destination(
    lambda_env: RdsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BLUEGREEN_PLAN")
    with pytest.raises(ValueError, match="BLUEGREEN_PLAN"):
        rds_apply_tags.handler(load_event("rds_instance_created"), FakeContext())  # type: ignore[arg-type]


def test_the_runtime_is_made_once_per_warm_process(lambda_env: RdsWorld) -> None:
    rds_apply_tags.handler(load_event("sns_subscription_confirmation"), FakeContext())  # type: ignore[arg-type]
    first = rds_entry.runtime()
    rds_apply_tags.handler(load_event("sns_subscription_confirmation"), FakeContext())  # type: ignore[arg-type]
    assert rds_entry.runtime() is first


@pytest.mark.parametrize("module", ["rds_apply_tags", "rds_enable_performance_insights", "rds_keep_retired_stopped"])
def test_importing_a_handler_needs_no_plan_no_credentials_and_makes_no_client(module: str) -> None:
    # A fresh interpreter with no plan, no table, no region and no credentials: the import must succeed.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(["handlers", "shared"])}
    probe = (
        "import botocore.client\n"
        "made = []\n"
        "original = botocore.client.BaseClient.__init__\n"
        "botocore.client.BaseClient.__init__ = lambda self, *a, **k: made.append(1) or original(self, *a, **k)\n"
        f"import {module}\n"
        "from bluegreen import rds_entry\n"
        "assert rds_entry._warm.current is None\n"
        "assert made == [], made\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
