"""SNS: switch a stack's topic subscription on or off with its filter policy.

A subscription is never deleted: it is *disabled* by a filter policy that no message matches and
*enabled* again by a policy that every message matches (``SetSubscriptionAttributes``,
``AttributeName=FilterPolicy``). Both are plain overwrites, so doing either twice is harmless.

**Enabled** (default ``{}``): the AWS guide "Removing a subscription filter policy" says to
overwrite the policy with an empty JSON body; the subscription then accepts every message
published to the topic.

**Disabled** (default :data:`DISABLED_FILTER`, ``{"bluegreen-subscription-disabled": [{"exists": true}]}``):
the original library used ``{"bypassBlacklist": true}``, which SNS now rejects (every value in a
filter policy must be an array or, for body policies, an object). The replacement uses the
``exists`` operator ("Key matching" in the SNS guide): a message is delivered only when it carries
a message attribute — or, for a subscription whose ``FilterPolicyScope`` is ``MessageBody``, a
top-level body property — named ``bluegreen-subscription-disabled``, which no publisher sets. The
policy is flat (one key, one value: well inside the 5-key / 150-combination limits), the key is a
legal message attribute name, and ``exists`` is documented for both scopes, so SNS accepts it
whatever the subscription's scope; a non-JSON body never matches a non-empty body policy either.

Custom ``enabled_filter`` / ``disabled_filter`` on :class:`TopicData` win over both defaults.
SNS applies a changed filter policy within up to 15 minutes (eventual consistency).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from bluegreen.aws import error_code, error_message
from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference, as_ref
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

#: The filter policy of an enabled subscription: no filter, every message is delivered.
ENABLED_FILTER: dict[str, Any] = {}

#: The filter policy of a disabled subscription: matches only messages carrying an attribute (or
#: body property) that no publisher sets; valid for both ``MessageAttributes`` and ``MessageBody`` scopes.
DISABLED_FILTER: dict[str, Any] = {"bluegreen-subscription-disabled": [{"exists": True}]}


@datatype(frozen=False)
class TopicData:
    """A stack's SNS subscription and the filter policies that enable and disable it.

    ``region`` is the subscription's region when it differs from the one in its ARN (it seldom
    does); ``enabled_filter`` / ``disabled_filter`` are filter policies as JSON-able dicts that
    replace :data:`ENABLED_FILTER` / :data:`DISABLED_FILTER`.
    """

    subscription_arn: str
    region: str | None = None
    enabled_filter: dict[str, Any] | None = None
    disabled_filter: dict[str, Any] | None = None


@datatype(frozen=False, kw_only=True)
class SnsConfig(AwsConfig):
    """The SNS subscription of stack a and of stack b."""

    topic_a: TopicData
    topic_b: TopicData


class SnsTools(BaseTools[SnsConfig]):
    """Enables and disables the SNS subscription of stack a or b through its filter policy.

    Each call goes to the subscription's own region, with one client per region made once.
    """

    def _sns(self, region: str) -> SNSClient:
        return cast("SNSClient", self._client("sns", region))

    def topic(self, ref: StackReference | str) -> TopicData:
        """The stack's :class:`TopicData`."""
        return self._pick(ref, self.config.topic_a, self.config.topic_b)

    def subscription_arn(self, ref: StackReference | str) -> str:
        """The ARN of the stack's subscription (checked to look like one; ``ValueError`` when not)."""
        arn = self.topic(ref).subscription_arn
        parts = arn.split(":")
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "sns" or not parts[3] or not parts[6]:
            raise ValueError(
                f"stack {as_ref(ref).value}: {arn!r} is not an SNS subscription ARN "
                "(arn:<partition>:sns:<region>:<account>:<topic>:<id>); a subscription that is still "
                "pending confirmation has no ARN yet"
            )
        return arn

    def subscription_region(self, ref: StackReference | str) -> str:
        """The region the stack's subscription lives in: ``TopicData.region``, else the one in its ARN."""
        return self.topic(ref).region or self.subscription_arn(ref).split(":")[3]

    def enabled_filter(self, ref: StackReference | str) -> dict[str, Any]:
        """The filter policy that enables the stack's subscription: the custom one, else ``{}``."""
        custom = self.topic(ref).enabled_filter
        return copy.deepcopy(ENABLED_FILTER) if custom is None else custom

    def disabled_filter(self, ref: StackReference | str) -> dict[str, Any]:
        """The filter policy that disables the stack's subscription: the custom one, else :data:`DISABLED_FILTER`."""
        custom = self.topic(ref).disabled_filter
        return copy.deepcopy(DISABLED_FILTER) if custom is None else custom

    def enable_subscription(self, ref: StackReference | str) -> None:
        """Set the stack's subscription filter policy to the enabled filter (messages flow again); idempotent."""
        self._set_filter_policy(ref, self.enabled_filter(ref))

    def disable_subscription(self, ref: StackReference | str) -> None:
        """Set the stack's subscription filter policy to the disabled filter (no message matches); idempotent."""
        self._set_filter_policy(ref, self.disabled_filter(ref))

    def get_filter_policy(self, ref: StackReference | str) -> dict[str, Any]:
        """The filter policy SNS holds for the stack's subscription (``GetSubscriptionAttributes``); ``{}`` if none."""
        arn = self.subscription_arn(ref)
        region = self.subscription_region(ref)
        try:
            found = self._sns(region).get_subscription_attributes(SubscriptionArn=arn)
        except ClientError as err:
            explained = self._explain(err, ref, arn, region)
            if explained is None:
                raise
            raise explained from err
        raw = found.get("Attributes", {}).get("FilterPolicy", "")
        policy = json.loads(raw) if raw else {}
        return cast("dict[str, Any]", policy)

    def is_enabled(self, ref: StackReference | str) -> bool:
        """True unless the stack's subscription holds its disabled filter (compared as JSON, not as text)."""
        return self.get_filter_policy(ref) != self.disabled_filter(ref)

    def _set_filter_policy(self, ref: StackReference | str, policy: dict[str, Any]) -> None:
        arn = self.subscription_arn(ref)
        region = self.subscription_region(ref)
        try:
            self._sns(region).set_subscription_attributes(
                SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy)
            )
        except ClientError as err:
            explained = self._explain(err, ref, arn, region, policy)
            if explained is None:
                raise
            raise explained from err

    @staticmethod
    def _explain(
        err: ClientError,
        ref: StackReference | str,
        arn: str,
        region: str,
        policy: dict[str, Any] | None = None,
    ) -> Exception | None:
        """A clearer error for a missing subscription or a rejected policy; None to re-raise ``err`` as it is."""
        code = error_code(err)
        message = error_message(err)
        stack = as_ref(ref).value
        if code in ("NotFound", "NotFoundException"):
            return LookupError(f"stack {stack}: SNS subscription {arn!r} not found in {region}: {message}")
        if code in ("InvalidParameter", "InvalidParameterException") and policy is not None:
            return ValueError(
                f"stack {stack}: SNS rejected the filter policy {json.dumps(policy)} "
                f"for subscription {arn!r}: {message}"
            )
        return None
