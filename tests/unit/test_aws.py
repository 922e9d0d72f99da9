from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from bluegreen import aws
from bluegreen.aws import error_code, error_message
from bluegreen.tools._base import AwsConfig, BaseTools
from tests.conftest import ACCOUNT_ID, REGION


def test_clients_use_standard_retry_mode_with_bounded_attempts() -> None:
    client = aws.make_client("sqs", region=REGION)
    retries = client.meta.config.retries
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == aws.DEFAULT_MAX_ATTEMPTS
    assert client.meta.region_name == REGION


def test_max_attempts_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEGREEN_MAX_ATTEMPTS", "12")
    assert aws.make_client("sqs").meta.config.retries["total_max_attempts"] == 12
    monkeypatch.setenv("BLUEGREEN_MAX_ATTEMPTS", "zero")
    assert aws.max_attempts() == aws.DEFAULT_MAX_ATTEMPTS


def test_aws_endpoint_url_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    assert aws.make_client("ecs", region=REGION).meta.endpoint_url == "http://127.0.0.1:4599"


def test_an_explicit_session_is_used() -> None:
    session = boto3.Session(region_name="us-west-2")
    assert aws.make_client("sns", session=session).meta.region_name == "us-west-2"


def test_tools_make_each_client_once_per_region_and_ask_sts_once(aws: None) -> None:
    tools: BaseTools[AwsConfig] = BaseTools(AwsConfig(region=REGION))
    calls: list[str] = []
    first = tools._client("sqs")
    assert tools._client("sqs") is first
    assert tools._client("sqs", "us-east-1") is not first
    tools._client("sts").meta.events.register("before-call.sts.GetCallerIdentity", lambda **_: calls.append("sts"))
    assert tools.account_id == ACCOUNT_ID
    assert tools.partition == "aws"
    assert tools.account_id == ACCOUNT_ID
    assert calls == ["sts"]


def test_configured_account_id_needs_no_sts() -> None:
    tools: BaseTools[AwsConfig] = BaseTools(AwsConfig(region=REGION, account_id="555"))
    assert tools.account_id == "555"


def test_error_code_and_message_of_a_client_error_and_of_anything_else() -> None:
    refused = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetItem")
    assert (error_code(refused), error_message(refused)) == ("ThrottlingException", "Rate exceeded")
    bare = ClientError({}, "GetItem")  # no Error in the response: no code, the error's own text
    assert error_code(bare) == "" and error_message(bare) == str(bare)
    assert (error_code(ValueError("x")), error_message(ValueError("x"))) == ("", "x")
