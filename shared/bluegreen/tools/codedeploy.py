"""CodeDeploy: report the outcome of a lifecycle hook execution."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, cast

import boto3
from botocore.exceptions import ClientError

from bluegreen.aws import make_client

if TYPE_CHECKING:
    from mypy_boto3_codedeploy import CodeDeployClient
    from mypy_boto3_codedeploy.literals import LifecycleEventStatusType

logger = logging.getLogger(__name__)


class HookStatus(StrEnum):
    """The two statuses a hook reports to CodeDeploy."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class CodeDeployReporter:
    """Sends ``PutLifecycleEventHookExecutionStatus`` for a deployment's hook execution."""

    def __init__(self, *, region: str | None = None, session: boto3.Session | None = None) -> None:
        """Remember where to report; the client is made on the first report."""
        self.region = region
        self.session = session
        self._client: CodeDeployClient | None = None

    @property
    def client(self) -> CodeDeployClient:
        """The CodeDeploy client, made once."""
        if self._client is None:
            self._client = cast("CodeDeployClient", make_client("codedeploy", region=self.region, session=self.session))
        return self._client

    def report(self, deployment_id: str, execution_id: str, status: HookStatus | str) -> bool:
        """Report ``status`` for the hook execution; True when CodeDeploy took it.

        ``LifecycleEventAlreadyCompletedException`` (the execution already has a status, from an
        earlier delivery of the same event) means done: it returns False. Any other error raises,
        so that Lambda retries the invocation; a different status is never sent instead.
        """
        value: LifecycleEventStatusType = "Succeeded" if HookStatus(status) is HookStatus.SUCCEEDED else "Failed"
        try:
            self.client.put_lifecycle_event_hook_execution_status(
                deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=value
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "LifecycleEventAlreadyCompletedException":
                logger.info("hook execution %s already completed; %s not sent again", execution_id, value)
                return False
            raise
        logger.info("reported %s for hook execution %s of %s", value, execution_id, deployment_id)
        return True
