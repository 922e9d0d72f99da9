"""The emulator's life: start, reach it through AWS_ENDPOINT_URL, stop with nothing left listening; serve."""

from __future__ import annotations

import io
import os
import re
import socket
import threading
import time
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import bluegreen.aws
from bluegreen.aws import make_client
from bluegreen.local import shim
from bluegreen.local.emulator import PLAN_PARAMETER, Emulator, serve
from tests.conftest import REGION


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_it_starts_and_stops_leaving_no_port_listening() -> None:
    emu = Emulator(region=REGION)
    started = time.perf_counter()
    emu.start()
    start_seconds = time.perf_counter() - started
    assert emu.running and re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.endpoint)
    assert shim.installed() is emu.shim
    port = emu.port
    assert port is not None and not refused(port)
    stopping = time.perf_counter()
    emu.stop()
    stop_seconds = time.perf_counter() - stopping
    assert refused(port)
    assert shim.installed() is None
    assert not emu.running
    emu.stop()  # idempotent
    print(f"emulator start {start_seconds * 1000:.1f} ms, stop {stop_seconds * 1000:.1f} ms")  # -s shows it


def test_a_client_kept_from_before_the_stop_reaches_nothing_after_it() -> None:
    with Emulator(region=REGION) as emu:
        sqs = boto3.client("sqs", config=Config(retries={"total_max_attempts": 1}))
        sqs.create_queue(QueueName="q")
        assert len(sqs.list_queues()["QueueUrls"]) == 1
    with pytest.raises(EndpointConnectionError):
        sqs.list_queues()
    assert not emu.running


def test_the_environment_points_every_client_at_it_and_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = bluegreen.aws.default_session()
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.example.invalid")
    before = dict(os.environ)
    with Emulator(region="eu-west-1") as emu:
        assert os.environ["AWS_ENDPOINT_URL"] == emu.endpoint
        assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_SQS"):
            assert name not in os.environ
        assert bluegreen.aws.default_session() is not stale
        sqs = make_client("sqs")
        sqs.create_queue(QueueName="orders")
        assert sqs.list_queues()["QueueUrls"][0].startswith(emu.endpoint)
        assert boto3.client("sqs").list_queues()["QueueUrls"] == sqs.list_queues()["QueueUrls"]
        assert emu.environ() == {
            "AWS_ENDPOINT_URL": emu.endpoint,
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    assert dict(os.environ) == before


def test_each_start_begins_with_an_empty_world() -> None:
    with Emulator(region=REGION):
        make_client("sqs").create_queue(QueueName="left-over")
    with Emulator(region=REGION):
        assert make_client("sqs").list_queues().get("QueueUrls", []) == []


def test_it_listens_on_a_chosen_port_and_fails_to_start_when_that_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            Emulator(region=REGION, port=port).start()
        assert shim.installed() is None  # the failed start took its shim away again
    with Emulator(region=REGION, port=port) as emu:
        assert emu.endpoint == f"http://127.0.0.1:{port}"


def test_one_emulator_at_a_time_since_moto_state_is_global() -> None:
    with Emulator(region=REGION) as emu:
        with pytest.raises(RuntimeError, match="already running"):
            Emulator(region=REGION).start()
        assert emu.running and shim.installed() is emu.shim
    with Emulator(region=REGION):  # and another once it stopped
        pass


def test_endpoint_before_start_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="call start"):
        _ = Emulator().endpoint


def test_serve_seeds_the_world_prints_what_to_export_and_stops_cleanly() -> None:
    out, stop = io.StringIO(), threading.Event()
    server = threading.Thread(target=serve, kwargs={"region": REGION, "out": out, "until": stop})
    server.start()
    deadline = time.monotonic() + 60
    while "Ctrl-C" not in out.getvalue():
        assert server.is_alive() and time.monotonic() < deadline, out.getvalue()
        time.sleep(0.05)
    text = out.getvalue()
    exports = dict(re.findall(r"^export (\w+)=(\S+)$", text, re.MULTILINE))
    assert exports["AWS_REGION"] == REGION and exports["AWS_ACCESS_KEY_ID"] == "testing"
    assert exports["BLUEGREEN_STATE_TABLE"] == "bluegreen-state"
    assert exports["BLUEGREEN_PLAN_PARAMETER"] == PLAN_PARAMETER
    assert "unset AWS_PROFILE" in text
    plan_file = Path(re.findall(r"^plan file: (\S+)", text, re.MULTILINE)[0])
    plan = yaml.safe_load(plan_file.read_text())
    assert plan["application"] == "orders"
    ssm = boto3.client(
        "ssm", endpoint_url=exports["AWS_ENDPOINT_URL"], region_name=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip
    assert yaml.safe_load(ssm.get_parameter(Name=PLAN_PARAMETER)["Parameter"]["Value"]) == plan
    stop.set()
    server.join(10)
    assert not server.is_alive()
    assert "emulator stopped" in out.getvalue()
    assert not plan_file.exists()
    assert refused(int(exports["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]))
