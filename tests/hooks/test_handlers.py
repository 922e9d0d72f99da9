"""The Lambda entry points as Lambda calls them: plan and table from the environment, JSON logs, one report."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

import after_allow_traffic
import before_allow_traffic
import deployment_state_changed
from bluegreen.hooks import PROGRESS_KEY, entry
from tests.conftest import REGION
from tests.hooks.conftest import Harness
from tests.support.world import view


@dataclass
class FakeContext:
    function_name: str = "CodeDeployHook_bluegreen_prepare"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:CodeDeployHook_bluegreen_prepare"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture
def lambda_env(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("BLUEGREEN_PLAN", json.dumps(harness.world.plan))
    monkeypatch.setenv("BLUEGREEN_STATE_TABLE", harness.world.state_table)
    monkeypatch.setenv("BLUEGREEN_DEADLINE_MINUTES", "45")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "bluegreen")
    monkeypatch.setattr("bluegreen.engine.POLL_INITIAL_SECONDS", 0.0)
    for name in ("BLUEGREEN_PLAN_FILE", "BLUEGREEN_PLAN_PARAMETER"):
        monkeypatch.delenv(name, raising=False)
    entry.reset_runtime()
    yield harness
    entry.reset_runtime()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_both_handlers_deploy_and_log_the_deployment_id_on_every_line(
    lambda_env: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    copy = logging.StreamHandler(stream)  # the Powertools handler writes to the stdout of import time
    copy.setFormatter(entry.logger.registered_formatter)
    logging.getLogger("bluegreen").addHandler(copy)
    lambda_env.deployments.create("d-7")  # the deployment CodeDeploy runs
    prepare = {"DeploymentId": "d-7", "LifecycleEventHookExecutionId": "exec-prepare"}
    assert before_allow_traffic.handler(prepare, FakeContext())["status"] == "Succeeded"  # type: ignore[arg-type]
    retire = {"DeploymentId": "d-7", "LifecycleEventHookExecutionId": "exec-retire"}
    assert after_allow_traffic.handler(retire, FakeContext())["status"] == "Succeeded"  # type: ignore[arg-type]
    assert lambda_env.ledger.statuses == {"exec-prepare": "Succeeded", "exec-retire": "Succeeded"}
    assert entry.runtime().deadline_minutes == 45  # the template's cap beats the plan's 50
    logging.getLogger("bluegreen").removeHandler(copy)
    logs = json_lines(stream.getvalue())
    assert len(logs) > 10
    assert all(line.get("deployment_id") == "d-7" for line in logs), [x for x in logs if "deployment_id" not in x][:3]
    assert any(line["message"].startswith("step aurora[0].ready") for line in logs)  # a bluegreen.engine line
    metrics = [line for line in json_lines(capsys.readouterr().out) if "_aws" in line]
    assert any("HookSucceeded" in line for line in metrics)


def test_an_event_without_the_codedeploy_ids_raises_naming_the_missing_field(lambda_env: Harness) -> None:
    with pytest.raises(ValueError, match="missing LifecycleEventHookExecutionId"):
        before_allow_traffic.handler({"DeploymentId": "d-1"}, FakeContext())  # type: ignore[arg-type]
    assert lambda_env.ledger.calls == []


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ([], "must be a JSON object, got list"),
        ("d-1", "must be a JSON object, got str"),
        ({}, "missing DeploymentId and LifecycleEventHookExecutionId"),
        ({"DeploymentId": 7, "LifecycleEventHookExecutionId": "exec-1"}, "DeploymentId must be a string, got int"),
    ],
)
def test_a_malformed_hook_event_raises_naming_what_is_wrong(lambda_env: Harness, event: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        after_allow_traffic.handler(event, FakeContext())  # type: ignore[arg-type]
    assert lambda_env.ledger.calls == []


def test_the_hook_event_is_read_into_a_hook_request_and_its_continuation_is_plain_json() -> None:
    event = {
        "DeploymentId": "d-1",
        "LifecycleEventHookExecutionId": "exec-1",
        PROGRESS_KEY: {"done": ["a"], "started": ["a", "b"], "first_started": 5.0, "invocation": 2},
    }
    request = entry.hook_event(event)
    assert (request.deployment_id, request.execution_id) == ("d-1", "exec-1")
    assert (request.done, request.started, request.first_started, request.invocation) == (("a",), ("a", "b"), 5.0, 2)
    carried = json.loads(json.dumps(request.continuation(["a", "b"], ["a", "b", "c"], 5.0)))
    assert carried == {
        "DeploymentId": "d-1",
        "LifecycleEventHookExecutionId": "exec-1",
        PROGRESS_KEY: {"done": ["a", "b"], "started": ["a", "b", "c"], "first_started": 5.0, "invocation": 3},
    }


def test_a_missing_plan_reports_failed(lambda_env: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLUEGREEN_PLAN")
    event = {"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "exec-1"}
    result = before_allow_traffic.handler(event, FakeContext())  # type: ignore[arg-type]
    assert result["status"] == "Failed"
    assert "BLUEGREEN_PLAN" in result["message"]
    assert lambda_env.ledger.statuses == {"exec-1": "Failed"}


def test_the_deployment_events_handler_settles_a_stopped_deployment_and_logs_its_id(
    lambda_env: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_env.deployments.create("d-9")
    prepare = {"DeploymentId": "d-9", "LifecycleEventHookExecutionId": "exec-prepare"}
    assert before_allow_traffic.handler(prepare, FakeContext())["status"] == "Succeeded"  # type: ignore[arg-type]
    lambda_env.deployments.stop("d-9")  # a canary alarm
    event = lambda_env.deployments.state_change_event("d-9", "STOP")
    context = FakeContext(function_name="bluegreen-deployment-events")
    capsys.readouterr()
    answer = deployment_state_changed.handler(event, context)  # type: ignore[arg-type]
    assert answer["outcome"] == "settled", answer
    b = view(lambda_env.world, "b")
    assert b.desired_tasks == 0 and not b.subscription_enabled and b.consumer is None
    assert view(lambda_env.world, "a").working
    out = capsys.readouterr().out
    logs = json_lines(out)
    assert logs and all(line.get("deployment_id") == "d-9" for line in logs if "level" in line)
    assert any("DeploymentSettled" in line for line in logs if "_aws" in line)
    again = deployment_state_changed.handler(event, context)  # type: ignore[arg-type]  # EventBridge's duplicate
    assert again["outcome"] == "nothing"


def test_the_deployment_events_handler_raises_on_an_event_it_cannot_read(lambda_env: Harness) -> None:
    with pytest.raises(ValueError, match="no deploymentId"):
        deployment_state_changed.handler(  # type: ignore[arg-type]
            {
                "source": "aws.codedeploy",
                "detail-type": "CodeDeploy Deployment State-change Notification",
                "detail": {},
            },
            FakeContext(),
        )


@pytest.mark.parametrize("module", ["before_allow_traffic", "after_allow_traffic", "deployment_state_changed"])
def test_importing_a_handler_needs_no_plan_no_credentials_and_makes_no_client(module: str) -> None:
    # A fresh interpreter with no plan, no table, no region and no credentials: the import must succeed.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(["handlers", "shared"])}
    probe = (
        "import botocore.client; made = []; original = botocore.client.BaseClient.__init__; "
        "botocore.client.BaseClient.__init__ = lambda self, *a, **k: (made.append(1), original(self, *a, **k))[1]; "
        f"import {module}; "
        "from bluegreen.hooks import entry; assert entry._warm.current is None; assert made == [], made; "
        "import sys; print(sorted(m for m in sys.modules if m.startswith('bluegreen.tools.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['bluegreen.tools.codedeploy']"  # no service tool is imported up front


def test_a_warm_lambda_picks_up_a_changed_plan(lambda_env: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    first = entry.runtime()
    assert entry.runtime() is first  # unchanged plan: the same runtime, clients and all
    changed = dict(lambda_env.world.plan, deadline_minutes=30)
    monkeypatch.setenv("BLUEGREEN_PLAN", json.dumps(changed))
    second = entry.runtime()
    assert second is not first
    assert second.deadline_minutes == 30
