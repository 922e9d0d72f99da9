"""Kinesis: register and deregister a stack's enhanced fan-out consumer on a shared data stream.

Calls go to the stream's region (the one in ``stream_arn``; ``region`` when the ARN has none).
Registering is idempotent: a consumer that is already registered is returned as it is.
Deregistering is idempotent: a consumer that is gone (or going) is done. Deregistration names the
consumer by its ARN only, as AWS recommends; moto 5.x also drops every *other* consumer of the
stream when ``StreamARN`` is in a ``DeregisterStreamConsumer`` request, which this avoids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from bluegreen.aws import error_code
from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference, as_ref
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

_NOT_FOUND = "ResourceNotFoundException"
_IN_USE = "ResourceInUseException"


@datatype(frozen=False, kw_only=True)
class KinesisConfig(AwsConfig):
    """The data stream both stacks read, and the enhanced fan-out consumer name of each stack."""

    stream_arn: str
    consumer_name_a: str
    consumer_name_b: str


class KinesisTools(BaseTools[KinesisConfig]):
    """Registers, describes and deregisters the stream consumer of stack a or b."""

    @property
    def _kinesis(self) -> KinesisClient:
        return cast("KinesisClient", self._client("kinesis", self.stream_region))

    @property
    def stream_region(self) -> str:
        """The stream's region: the one in ``stream_arn`` (``ValueError`` when it is not a stream ARN)."""
        parts = self.config.stream_arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
            raise ValueError(
                f"{self.config.stream_arn!r} is not a Kinesis stream ARN "
                "(arn:<partition>:kinesis:<region>:<account>:stream/<name>)"
            )
        return parts[3] or self.config.region

    def consumer_name(self, ref: StackReference | str) -> str:
        """The name of the stack's stream consumer."""
        return self._pick(ref, self.config.consumer_name_a, self.config.consumer_name_b)

    def register_consumer(self, ref: StackReference | str) -> dict[str, Any]:
        """Register the stack's consumer on the stream (``RegisterStreamConsumer``) and return its description.

        A consumer that is already registered (found by ``DescribeStreamConsumer`` first, or reported
        by ``ResourceInUseException``) is done: its description is returned and nothing changes.
        The description has ``ConsumerName``, ``ConsumerARN``, ``ConsumerStatus`` (``CREATING`` for a
        few seconds after registration, then ``ACTIVE``) and ``ConsumerCreationTimestamp``. A consumer
        still being deregistered (``DELETING``) cannot be registered yet: that raises ``RuntimeError``.
        """
        name = self.consumer_name(ref)
        existing = self._find(name)
        if existing is not None and existing.get("ConsumerStatus") != "DELETING":
            return existing
        try:
            made = self._kinesis.register_stream_consumer(StreamARN=self.config.stream_arn, ConsumerName=name)
        except ClientError as err:
            if error_code(err) != _IN_USE:
                raise
            existing = self._find(name)
            if existing is not None and existing.get("ConsumerStatus") != "DELETING":
                return existing
            stack = as_ref(ref).value
            if existing is not None:
                raise RuntimeError(
                    f"stack {stack}: Kinesis consumer {name!r} of {self.config.stream_arn} is still being "
                    "deregistered (DELETING); register it again once it is gone"
                ) from err
            raise RuntimeError(
                f"stack {stack}: Kinesis consumer {name!r} cannot be registered on {self.config.stream_arn} now "
                f"(the stream must be ACTIVE): {err.response.get('Error', {}).get('Message', '')}; try again shortly"
            ) from err
        return dict(made["Consumer"])

    def describe_consumer(self, ref: StackReference | str) -> dict[str, Any]:
        """The stack's consumer as ``DescribeStreamConsumer`` gives it (its ``ConsumerDescription``).

        Raises ``LookupError`` naming the consumer and the stream when it is not registered.
        """
        name = self.consumer_name(ref)
        found = self._find(name)
        if found is None:
            raise LookupError(
                f"stack {as_ref(ref).value}: Kinesis consumer {name!r} is not registered on {self.config.stream_arn}"
            )
        return found

    def consumer_status(self, ref: StackReference | str) -> str | None:
        """The stack's consumer status (``CREATING``, ``ACTIVE``, ``DELETING``), or None when not registered."""
        found = self._find(self.consumer_name(ref))
        return None if found is None else str(found.get("ConsumerStatus"))

    def deregister_consumer(self, ref: StackReference | str) -> None:
        """Deregister the stack's consumer (``DeregisterStreamConsumer`` by its ``ConsumerARN`` only); idempotent.

        The consumer's ARN comes from ``DescribeStreamConsumer``. A consumer that is not registered,
        or is already being deregistered (``DELETING``), is done; no other consumer is touched.
        """
        found = self._find(self.consumer_name(ref))
        if found is None or found.get("ConsumerStatus") == "DELETING":
            return
        try:
            self._kinesis.deregister_stream_consumer(ConsumerARN=found["ConsumerARN"])
        except ClientError as err:
            if error_code(err) != _NOT_FOUND:
                raise

    def _find(self, name: str) -> dict[str, Any] | None:
        """The consumer's ``ConsumerDescription``, or None when the stream has no consumer by that name."""
        try:
            found = self._kinesis.describe_stream_consumer(StreamARN=self.config.stream_arn, ConsumerName=name)
        except ClientError as err:
            if error_code(err) == _NOT_FOUND:
                return None
            raise
        return dict(found["ConsumerDescription"])
