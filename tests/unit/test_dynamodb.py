from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from bluegreen import StackReference
from bluegreen.tools.dynamodb import DynamoConfig, DynamoTools, TableDeletionProtectedError
from tests.conftest import REGION

Response = tuple[AWSResponse, dict[str, Any]]


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def create_table(name: str, *, protected: bool = False) -> None:
    dynamodb().create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=protected,
    )


def tables() -> set[str]:
    return set(dynamodb().list_tables()["TableNames"])


def ok(body: dict[str, Any]) -> Response:
    return AWSResponse("https://dynamodb", 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}


def error(code: str, message: str) -> Response:
    return AWSResponse("https://dynamodb", 400, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def intercept(tools: DynamoTools, operation: str, answer: Callable[[], Response | None]) -> list[str]:
    """Answer ``operation`` with ``answer()`` before it reaches moto (None lets moto answer); counts the calls."""
    calls: list[str] = []

    def respond(**_: Any) -> Response | None:
        calls.append(operation)
        return answer()

    tools._client("dynamodb").meta.events.register(f"before-call.dynamodb.{operation}", respond)
    return calls


@pytest.fixture
def dynamo_tools(aws: None) -> DynamoTools:
    create_table("table-a-dev")
    create_table("table-b-dev")
    # delay 0: a wait in these tests never sleeps (moto deletes a table at once anyway)
    config = DynamoConfig(region=REGION, table_name_a="table-a-dev", table_name_b="table-b-dev", delete_wait_delay=0)
    return DynamoTools(config)


def test_delete_table_deletes_that_stacks_table_only_and_is_idempotent(dynamo_tools: DynamoTools) -> None:
    dynamo_tools.delete_table(StackReference.B)
    assert tables() == {"table-a-dev"}
    dynamo_tools.delete_table("b")  # ResourceNotFoundException: already gone, done
    assert tables() == {"table-a-dev"}


def test_no_wait_unless_asked(dynamo_tools: DynamoTools) -> None:
    described = intercept(dynamo_tools, "DescribeTable", lambda: None)
    dynamo_tools.delete_table("a")
    assert described == []
    assert tables() == {"table-b-dev"}


def test_wait_for_table_delete_is_read_at_call_time(dynamo_tools: DynamoTools) -> None:
    described = intercept(dynamo_tools, "DescribeTable", lambda: None)
    dynamo_tools.config.wait_for_table_delete = True
    dynamo_tools.delete_table("a")
    assert described == ["DescribeTable"]  # the waiter's first check found it gone
    assert tables() == {"table-b-dev"}
    dynamo_tools.delete_table("a")  # already gone: done, nothing to wait for
    assert described == ["DescribeTable"]


def test_table_already_being_deleted_is_done_and_waited_for(dynamo_tools: DynamoTools) -> None:
    # moto deletes a table at once, so it never shows DELETING: play a deletion already under way,
    # that DynamoDB finishes after one more check.
    def delete_elsewhere() -> Response:
        dynamodb().delete_table(TableName="table-b-dev")
        return error("ResourceInUseException", "Attempt to change a resource which is still in use")

    statuses = ["DELETING", "DELETING"]
    intercept(dynamo_tools, "DeleteTable", delete_elsewhere)
    described = intercept(
        dynamo_tools,
        "DescribeTable",
        lambda: ok({"Table": {"TableName": "table-b-dev", "TableStatus": statuses.pop()}}) if statuses else None,
    )
    dynamo_tools.config.wait_for_table_delete = True
    dynamo_tools.delete_table("b")
    assert len(described) == 3  # DELETING seen by delete_table, DELETING then gone seen by the waiter
    assert tables() == {"table-a-dev"}


def test_table_being_created_is_a_clear_error(dynamo_tools: DynamoTools) -> None:
    # moto creates tables ACTIVE at once: play one that is still CREATING.
    intercept(dynamo_tools, "DeleteTable", lambda: error("ResourceInUseException", "in use"))
    intercept(
        dynamo_tools, "DescribeTable", lambda: ok({"Table": {"TableName": "table-b-dev", "TableStatus": "CREATING"}})
    )
    with pytest.raises(RuntimeError, match="'table-b-dev' is CREATING"):
        dynamo_tools.delete_table("b")


def test_deletion_protection_is_a_clear_error(dynamo_tools: DynamoTools) -> None:
    dynamodb().delete_table(TableName="table-b-dev")
    create_table("table-b-dev", protected=True)
    with pytest.raises(TableDeletionProtectedError, match="'table-b-dev' has deletion protection enabled"):
        dynamo_tools.delete_table("b")
    assert tables() == {"table-a-dev", "table-b-dev"}


def test_other_validation_errors_are_raised_as_they_are(dynamo_tools: DynamoTools) -> None:
    intercept(dynamo_tools, "DeleteTable", lambda: error("ValidationException", "something else"))
    with pytest.raises(ClientError, match="something else") as raised:
        dynamo_tools.delete_table("b")
    assert not isinstance(raised.value, TableDeletionProtectedError)


def test_a_wait_that_runs_out_is_a_timeout_naming_the_table(dynamo_tools: DynamoTools) -> None:
    # DeleteTable answered as accepted but never carried out: the table stays ACTIVE in moto.
    intercept(dynamo_tools, "DeleteTable", lambda: ok({"TableDescription": {"TableStatus": "DELETING"}}))
    described = intercept(dynamo_tools, "DescribeTable", lambda: None)
    dynamo_tools.config.wait_for_table_delete = True
    dynamo_tools.config.delete_wait_attempts = 3
    with pytest.raises(TimeoutError, match="'table-a-dev' still exists after 3 checks"):
        dynamo_tools.delete_table("a")
    assert len(described) == 3


def test_table_exists_and_status(dynamo_tools: DynamoTools) -> None:
    assert dynamo_tools.table_exists("a") is True
    assert dynamo_tools.table_status("a") == "ACTIVE"
    dynamo_tools.delete_table("a")
    assert dynamo_tools.table_exists("a") is False
    assert dynamo_tools.table_status("a") is None
    assert dynamo_tools.table_exists("b") is True


def test_invalid_reference_is_an_error(dynamo_tools: DynamoTools) -> None:
    with pytest.raises(ValueError, match="expected 'a' or 'b'"):
        dynamo_tools.delete_table("prod")
    assert tables() == {"table-a-dev", "table-b-dev"}
