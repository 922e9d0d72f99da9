"""SQS: empty a retired stack's queue and its dead-letter queue."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import GetQueueUrlRequestTypeDef

logger = logging.getLogger(__name__)

#: Error codes of "the queue does not exist": the JSON protocol's and the legacy query protocol's.
_NO_QUEUE = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})
#: Error codes of "a purge of this queue started less than 60 seconds ago".
_PURGE_IN_PROGRESS = frozenset({"PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress"})


@datatype(frozen=False)
class QueuePair:
    """A stack's queue and, when it has one, its dead-letter queue (queue names, not URLs)."""

    queue_name: str
    dlq_name: str | None = None

    def names(self) -> list[str]:
        """The queue name, then the DLQ name when set."""
        return [self.queue_name] if not self.dlq_name else [self.queue_name, self.dlq_name]


@datatype(frozen=False, kw_only=True)
class SqsConfig(AwsConfig):
    """The queue pair of each stack. With ``account_id`` set, queues are looked up in that account."""

    queue_a: QueuePair
    queue_b: QueuePair


class SqsTools(BaseTools[SqsConfig]):
    """Purges the queue and DLQ of stack a or b, and reports how many messages they hold."""

    @property
    def _sqs(self) -> SQSClient:
        return cast("SQSClient", self._client("sqs"))

    def queue_pair(self, ref: StackReference | str) -> QueuePair:
        """The stack's :class:`QueuePair`."""
        return self._pick(ref, self.config.queue_a, self.config.queue_b)

    def queue_url(self, queue_name: str) -> str:
        """The queue's URL from SQS ``GetQueueUrl`` (in ``account_id``'s account when set).

        Raises ``LookupError`` naming the queue when it does not exist.
        """
        params: GetQueueUrlRequestTypeDef = {"QueueName": queue_name}
        if self.config.account_id:
            params["QueueOwnerAWSAccountId"] = self.config.account_id
        try:
            return self._sqs.get_queue_url(**params)["QueueUrl"]
        except ClientError as err:
            if _codes(err) & _NO_QUEUE:
                raise self._missing(queue_name) from err
            raise

    def purge_queues(self, ref: StackReference | str) -> None:
        """``PurgeQueue`` on the stack's queue, then on its DLQ when one is named.

        SQS deletes every message in them (in-flight ones included). Idempotent: purging an empty
        queue succeeds, and a purge refused because another began less than 60 seconds ago
        (``PurgeQueueInProgress``) counts as done — that purge empties the queue. A queue that does
        not exist raises ``LookupError`` naming it.
        """
        for name in self.queue_pair(ref).names():
            url = self.queue_url(name)
            try:
                self._sqs.purge_queue(QueueUrl=url)
            except ClientError as err:
                codes = _codes(err)
                if codes & _PURGE_IN_PROGRESS:
                    logger.info("SQS queue %r: a purge is already in progress; counted as done", name)
                    continue
                if codes & _NO_QUEUE:
                    raise self._missing(name) from err
                raise
            logger.info("SQS queue %r purged", name)

    def queue_depth(self, ref: StackReference | str) -> dict[str, int]:
        """Messages each of the stack's queues holds, keyed by queue name (``GetQueueAttributes``).

        A queue's depth is ``ApproximateNumberOfMessages`` + ``ApproximateNumberOfMessagesNotVisible``:
        the messages waiting and those received but not yet deleted (in flight) — exactly what a
        purge removes. Delayed messages are not counted. SQS's counts are approximate and may lag by
        up to a minute. A queue that does not exist raises ``LookupError`` naming it.
        """
        depths: dict[str, int] = {}
        for name in self.queue_pair(ref).names():
            url = self.queue_url(name)
            try:
                found = self._sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
            except ClientError as err:
                if _codes(err) & _NO_QUEUE:
                    raise self._missing(name) from err
                raise
            attributes = found.get("Attributes", {})
            depths[name] = int(attributes.get("ApproximateNumberOfMessages", "0")) + int(
                attributes.get("ApproximateNumberOfMessagesNotVisible", "0")
            )
        return depths

    def _missing(self, queue_name: str) -> LookupError:
        where = f"account {self.config.account_id}, " if self.config.account_id else ""
        return LookupError(
            f"SQS queue {queue_name!r} does not exist ({where}region {self.config.region}): "
            "check the queue names in the SqsConfig, or create the queue"
        )


def _codes(err: ClientError) -> set[str]:
    """The error's code, and its legacy query-protocol code when SQS sent one."""
    error: dict[str, object] = dict(err.response.get("Error", {}))
    return {code for code in (error.get("Code"), error.get("QueryErrorCode")) if isinstance(code, str) and code}
