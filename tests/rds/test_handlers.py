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
from bluegreen.plan import PlanError, parse_plan
from bluegreen.rds import entry as rds_entry
from bluegreen.rds.records import RdsRecordError
from bluegreen.rds.runtime import RdsRuntime
from bluegreen.runtime import Runtime
from tests.conftest import REGION
from tests.rds.conftest import READER, RETIRED_CLUSTER, RdsWorld, batch, load_event, record_of


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
    assert summary["outcome"] == "done"
    assert lambda_env.instance_tags()["Role"] == "Reader"
    logs = json_lines(json_logs.getvalue())
    assert logs and all(line.get("rds_function") == "rds_apply_tags" for line in logs)
    metrics = [line for line in json_lines(capsys.readouterr().out) if "_aws" in line]
    assert any(line.get("RdsRecordsDone") == [1.0] for line in metrics)


def test_the_performance_insights_handler_sends_the_modification(lambda_env: RdsWorld) -> None:
    lambda_env.add_autoscaled_reader()
    summary = rds_enable_performance_insights.handler(load_event("rds_instance_created"), FakeContext())  # type: ignore[arg-type]
    assert summary["outcome"] == "done"
    assert lambda_env.modified.requests == [
        {"DBInstanceIdentifier": READER, "EnablePerformanceInsights": True, "ApplyImmediately": True}
    ]


def test_the_keep_stopped_handler_stops_the_retired_cluster_after_its_auto_start(lambda_env: RdsWorld) -> None:
    lambda_env.store.ensure("orders", "a")
    lambda_env.rds.start_db_cluster(DBClusterIdentifier=RETIRED_CLUSTER)
    summary = rds_keep_retired_stopped.handler(load_event("rds_cluster_auto_started"), FakeContext())  # type: ignore[arg-type]
    assert summary["outcome"] == "done"
    assert lambda_env.status(RETIRED_CLUSTER) == "stopped"


@pytest.mark.parametrize(
    "handler", [rds_apply_tags.handler, rds_enable_performance_insights.handler, rds_keep_retired_stopped.handler]
)
def test_the_confirmation_is_skipped_with_a_log_line(
    lambda_env: RdsWorld, json_logs: io.StringIO, handler: Any
) -> None:
    summary = handler(load_event("sns_subscription_confirmation"), FakeContext())
    assert summary["outcome"] == "skipped"
    messages = [line["message"] for line in json_lines(json_logs.getvalue())]
    assert any("SNS message" in m and "skipped: not an RDS event" in m for m in messages), messages


def test_a_failed_record_makes_the_handler_raise_naming_it(
    lambda_env: RdsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_env.add_autoscaled_reader()
    lambda_env.faults.arm("AddTagsToResource")  # AccessDenied on the tagging
    with pytest.raises(RdsRecordError, match=rf"rds_apply_tags: the record failed[\s\S]*{READER}[\s\S]*AccessDenied"):
        rds_apply_tags.handler(load_event("rds_instance_created"), FakeContext())  # type: ignore[arg-type]
    metrics = [line for line in json_lines(capsys.readouterr().out) if "_aws" in line]
    assert any(line.get("RdsRecordsFailed") == [1.0] for line in metrics)


@pytest.mark.parametrize(
    "handler", [rds_apply_tags.handler, rds_enable_performance_insights.handler, rds_keep_retired_stopped.handler]
)
@pytest.mark.parametrize("records", [0, 2], ids=["no-record", "two-records"])
def test_an_event_without_exactly_one_record_is_refused_and_nothing_is_done(
    lambda_env: RdsWorld, capsys: pytest.CaptureFixture[str], handler: Any, records: int
) -> None:
    lambda_env.add_autoscaled_reader()
    lambda_env.rds.start_db_cluster(DBClusterIdentifier=RETIRED_CLUSTER)
    created, started = record_of("rds_instance_created"), record_of("rds_cluster_auto_started")
    event = batch(*[created, started][:records])
    calls_before = len(lambda_env.faults.calls)
    with pytest.raises(ValueError, match=f"not an SNS event of one record: it has {records} records"):
        handler(event, FakeContext())
    assert lambda_env.faults.calls[calls_before:] == []  # not even a read
    assert "Role" not in lambda_env.instance_tags()
    assert lambda_env.status(RETIRED_CLUSTER) == "available"
    metrics = [line for line in json_lines(capsys.readouterr().out) if "_aws" in line]
    assert any(line.get("RdsInvocationFailed") == [1.0] for line in metrics)


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
        "from bluegreen.rds import entry\n"
        "assert entry._warm.current is None\n"
        "assert made == [], made\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("runtime_class", [RdsRuntime, Runtime], ids=["rds", "hooks"])
@pytest.mark.parametrize(
    ("plan_region", "environ", "expected"),
    [
        ("eu-west-1", {"AWS_REGION": "us-east-1"}, "eu-west-1"),
        (None, {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "eu-north-1"}, "us-east-1"),
        (None, {"AWS_DEFAULT_REGION": "eu-north-1"}, "eu-north-1"),
        (None, {}, None),
    ],
)
def test_both_runtimes_take_the_plans_region_lookup(
    runtime_class: Any, plan_region: str | None, environ: dict[str, str], expected: str | None
) -> None:
    plan = parse_plan({"application": "orders", **({"region": plan_region} if plan_region else {})})
    env = {"BLUEGREEN_STATE_TABLE": "bluegreen-state", **environ}
    if expected is None:
        with pytest.raises(PlanError, match=r"plan\.region: not set"):
            runtime_class.from_env(env, plan=plan)
        return
    assert runtime_class.from_env(env, plan=plan).region == expected == plan.resolved_region(env)


@pytest.mark.parametrize(
    ("module", "not_loaded"),
    [
        ("rds_apply_tags", ("bluegreen.hooks", "bluegreen.rds.keep_stopped", "bluegreen.flows")),
        ("rds_enable_performance_insights", ("bluegreen.hooks", "bluegreen.rds.keep_stopped", "bluegreen.flows")),
        ("rds_keep_retired_stopped", ("bluegreen.hooks", "bluegreen.rds.readers", "bluegreen.flows")),
    ],
)
def test_each_rds_function_imports_only_its_own_logic(module: str, not_loaded: tuple[str, ...]) -> None:
    """A cold start loads the function's own module, not the hooks' machinery nor the other functions'."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('bluegreen')))"
    env = {"PATH": "", "PYTHONPATH": "handlers:shared", "AWS_DEFAULT_REGION": "eu-central-1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout
    for name in not_loaded:
        assert f"'{name}'" not in loaded and f"'{name}." not in loaded, (name, loaded)
