"""DynamoDB: delete a retired stack's table, optionally waiting until it is gone."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError, WaiterError

from bluegreen.aws import error_code
from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)


class TableDeletionProtectedError(RuntimeError):
    """DeleteTable was refused because the table has deletion protection enabled."""


@datatype(frozen=False, kw_only=True)
class DynamoConfig(AwsConfig):
    """The table of each stack, and whether ``delete_table`` waits until the table is gone.

    ``wait_for_table_delete``, ``delete_wait_delay`` (seconds between ``DescribeTable`` checks) and
    ``delete_wait_attempts`` (checks, the first included; 20 s x 15 is about five minutes, as the
    original waited) are read each time ``delete_table`` is called.
    """

    table_name_a: str
    table_name_b: str
    wait_for_table_delete: bool = False
    delete_wait_delay: int = 20
    delete_wait_attempts: int = 15


class DynamoTools(BaseTools[DynamoConfig]):
    """Deletes the table of stack a or b, and tells whether it exists."""

    @property
    def _dynamodb(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self._client("dynamodb"))

    def table_name(self, ref: StackReference | str) -> str:
        """The name of the stack's table."""
        return self._pick(ref, self.config.table_name_a, self.config.table_name_b)

    def delete_table(self, ref: StackReference | str) -> None:
        """``DeleteTable`` on the stack's table; with ``wait_for_table_delete``, wait until it is gone.

        DynamoDB deletes the table, its items and its indexes. Idempotent: a table that is already
        gone (``ResourceNotFoundException``) or already being deleted is done (and waited for, when
        asked). A table with deletion protection raises :class:`TableDeletionProtectedError`; one that
        is being created or updated raises ``RuntimeError`` (DynamoDB refuses to delete it until it is
        ACTIVE); a wait that runs out of attempts raises ``TimeoutError``. All name the table.
        """
        name = self.table_name(ref)
        try:
            self._dynamodb.delete_table(TableName=name)
            logger.info("DynamoDB table %r: deletion started", name)
        except ClientError as err:
            code = error_code(err)
            if code == "ResourceNotFoundException":
                logger.info("DynamoDB table %r is already gone", name)
                return
            if code == "ResourceInUseException":
                status = self._status(name)
                if status is None:
                    return
                if status != "DELETING":
                    raise RuntimeError(
                        f"DynamoDB table {name!r} is {status}: DynamoDB refuses to delete it until it is ACTIVE; "
                        "run the step again once its creation or update has finished"
                    ) from err
                logger.info("DynamoDB table %r is already being deleted", name)
            elif code == "ValidationException" and self._deletion_protected(name):
                raise TableDeletionProtectedError(
                    f"DynamoDB table {name!r} has deletion protection enabled: turn it off "
                    "(UpdateTable DeletionProtectionEnabled=false, or in the table's infrastructure code) "
                    "or keep the table (on_retire: keep)"
                ) from err
            else:
                raise
        if self.config.wait_for_table_delete:
            self._wait_until_gone(name)

    def table_status(self, ref: StackReference | str) -> str | None:
        """The table's status from ``DescribeTable`` (``ACTIVE``, ``DELETING``…), or None when it does not exist."""
        return self._status(self.table_name(ref))

    def table_exists(self, ref: StackReference | str) -> bool:
        """Whether ``DescribeTable`` finds the stack's table (a table still being deleted exists)."""
        return self.table_status(ref) is not None

    def _status(self, name: str) -> str | None:
        try:
            return self._dynamodb.describe_table(TableName=name)["Table"].get("TableStatus", "UNKNOWN")
        except self._dynamodb.exceptions.ResourceNotFoundException:
            return None

    def _deletion_protected(self, name: str) -> bool:
        try:
            table = self._dynamodb.describe_table(TableName=name)["Table"]
        except self._dynamodb.exceptions.ResourceNotFoundException:
            return False
        return bool(table.get("DeletionProtectionEnabled"))

    def _wait_until_gone(self, name: str) -> None:
        delay, attempts = self.config.delete_wait_delay, self.config.delete_wait_attempts
        try:
            self._dynamodb.get_waiter("table_not_exists").wait(
                TableName=name, WaiterConfig={"Delay": delay, "MaxAttempts": attempts}
            )
        except WaiterError as err:
            if "Max attempts exceeded" in str(err):
                raise TimeoutError(
                    f"DynamoDB table {name!r} still exists after {attempts} checks {delay} s apart; "
                    "it is probably still being deleted: check it again later"
                ) from err
            raise
        logger.info("DynamoDB table %r is gone", name)
