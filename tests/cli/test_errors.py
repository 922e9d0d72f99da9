"""One-line errors and exit codes that scripts can use; the Lambda layer never imports the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bluegreen.aws
from bluegreen.cli import main
from tests.cli.conftest import Cli


def _one_line(err: str) -> str:
    assert err.startswith("bluegreen: error: ") and err.count("\n") == 1, err
    return err


def test_a_missing_state_table_exits_4(cli: Cli) -> None:
    ran = cli("status", "--plan", str(cli.plan_file), "--state-table", "no-such-table")
    assert ran.code == 4
    assert "live-stack table 'no-such-table' not found in eu-central-1" in _one_line(ran.err)


def test_no_state_table_is_a_usage_error(cli: Cli) -> None:
    ran = cli("status", "--plan", str(cli.plan_file))
    assert ran.code == 2
    assert "no state table: pass --state-table NAME or set BLUEGREEN_STATE_TABLE" in _one_line(ran.err)


def test_the_state_table_variable_is_read(cli: Cli) -> None:
    cli.monkeypatch.setenv("BLUEGREEN_STATE_TABLE", cli.world.state_table)
    cli.monkeypatch.setenv("BLUEGREEN_PLAN_FILE", str(cli.plan_file))
    assert cli("status", "--record-only").code == 0


def test_a_missing_plan_file_exits_4(cli: Cli, tmp_path: Path) -> None:
    ran = cli("plan", "prepare", "--plan", str(tmp_path / "gone.yaml"), "--state-table", cli.world.state_table)
    assert ran.code == 4
    assert "plan file" in _one_line(ran.err) and "not found" in ran.err
    assert cli.faults.calls == []


def test_an_invalid_plan_exits_2_naming_the_paths(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"application": "orders", "ecs": [{"a": "x"}]}), encoding="utf-8")
    ran = cli("status", "--plan", str(path), "--state-table", cli.world.state_table)
    assert ran.code == 2
    assert ran.err.startswith("bluegreen: error: invalid plan from")
    assert "plan.ecs[0].b: required" in ran.err


def test_refused_credentials_exit_3(cli: Cli) -> None:
    cli.faults.arm("GetItem", code="UnrecognizedClientException", status=400)
    ran = cli.with_plan("status")
    assert ran.code == 3
    assert "AWS refused the request: UnrecognizedClientException" in _one_line(ran.err)


def test_access_denied_on_the_record_exits_3(cli: Cli) -> None:
    cli.faults.arm("GetItem", code="AccessDeniedException", status=400)
    ran = cli.with_plan("plan", "prepare")
    assert ran.code == 3
    assert "AccessDeniedException" in _one_line(ran.err)


def test_json_errors_are_json_on_stdout_too(cli: Cli) -> None:
    ran = cli("status", "--plan", str(cli.plan_file), "--state-table", "nope", "--output", "json")
    assert ran.code == 4
    assert ran.json["error"]["exit_code"] == 4
    assert "live-stack table 'nope' not found" in ran.json["error"]["message"]


def test_debug_shows_the_traceback(cli: Cli) -> None:
    ran = cli("status", "--plan", str(cli.plan_file), "--state-table", "nope", "--debug")
    assert ran.code == 4
    assert "Traceback (most recent call last)" in ran.err
    assert ran.err.rstrip().splitlines()[-1].startswith("bluegreen: error: live-stack table 'nope'")


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli("plan", "sideways", "--plan", str(cli.plan_file)).code == 2
    assert cli().code == 2
    assert cli("--help").code == 0


def test_no_credentials_at_all_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No moto here: botocore finds no credentials and sends nothing."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(bluegreen.aws, "_default_session", None)
    plan = tmp_path / "plan.yaml"
    plan.write_text("application: orders\nregion: eu-central-1\n", encoding="utf-8")
    code = main(["status", "--plan", str(plan), "--state-table", "bluegreen-state"])
    err = capsys.readouterr().err
    assert code == 3
    assert "no usable AWS credentials: Unable to locate credentials" in _one_line(err)


def test_an_unknown_profile_exits_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    plan = tmp_path / "plan.yaml"
    plan.write_text("application: orders\nregion: eu-central-1\n", encoding="utf-8")
    code = main(["status", "--plan", str(plan), "--state-table", "t", "--profile", "nobody"])
    assert code == 3
    assert "nobody" in _one_line(capsys.readouterr().err)


def test_the_lambda_layer_never_imports_the_command_line() -> None:
    code = (
        "import sys, bluegreen.hooks, bluegreen.hooks.entry, bluegreen.flows, bluegreen.toolbox\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'moto')"
        " or m in ('bluegreen.cli', 'bluegreen.status'))\n"
        "assert not bad, bad\n"
        "import bluegreen.cli\n"
        "assert 'rich' not in sys.modules, 'importing the cli module must not import rich'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_an_endpoint_that_cannot_be_reached_exits_3(cli: Cli) -> None:
    cli.monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    cli.monkeypatch.setenv("BLUEGREEN_MAX_ATTEMPTS", "1")
    ran = cli.with_plan("status", "--record-only")
    assert ran.code == 3
    assert "cannot reach AWS" in _one_line(ran.err)


def test_an_unreachable_endpoint_blames_the_emulator_only_when_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError  # noqa: PLC0415

    from bluegreen.cli.errors import classify  # noqa: PLC0415

    unreachable = EndpointConnectionError(endpoint_url="https://dynamodb.xx-nowhere-1.amazonaws.com/")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    code, message = classify(unreachable)
    assert code == 3 and "is the region right" in message and "emulator" not in message
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert "is the emulator running" in classify(unreachable)[1]


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_port_that_is_no_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--port", port]) == 2  # never a silently different port
    assert "port" in capsys.readouterr().err
