"""Lambda: a stack's triggers on or off (event-source mappings, EventBridge rules), its version and latest metrics.

The function of stack a or b is ``lambda_name_a`` / ``lambda_name_b``. Its ARN is the one Lambda
reports (``GetFunction``), never one built from the config's region and account — the original
library built it by hand and so missed functions whenever the account id was wrong or absent. With
``alias`` set, mappings and rule targets are those of the alias ARN (``<function ARN>:<alias>``).

Event-source mappings are listed twice and merged by ``UUID``: by the function's ARN and by its name
(each with ``:alias`` when set). ``ListEventSourceMappings`` takes ``FunctionName`` as a name, a full
or partial ARN, qualified or not, and AWS resolves it to the function, so a mapping is found however it
was created — SAM creates them by name, this module by ARN — and both listings return the same set
(https://docs.aws.amazon.com/lambda/latest/api/API_ListEventSourceMappings.html). A backend that
matches the string a mapping was created with (moto, which bluegreen's emulator shim corrects; people
also test hooks of their own on plain moto) finds each mapping through one of the two listings. The
cost is one more ``ListEventSourceMappings`` per listing on AWS; nothing else changes there. Listing by
``EventSourceArn`` instead would need every source known in advance, and listing everything and
filtering on ``FunctionArn`` reads every mapping of the region (and moto reports a mapping of an alias
with the version's ARN).

:class:`LambdaTools` is the whole public tool: it finds the function, checks its arguments and raises
the errors below. The AWS calls are in private rooms of their own: :mod:`~bluegreen.tools._lambda_mappings`
(event-source mappings: listing and merging, the state, switching and deleting one with its retries),
:mod:`~bluegreen.tools._lambda_rules` (EventBridge rules by target, describe, switch) and
:mod:`~bluegreen.tools._lambda_metrics` (the latest metrics from CloudWatch).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import ClientError

from bluegreen.aws import error_code
from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference, as_ref
from bluegreen.tools import _lambda_mappings, _lambda_metrics, _lambda_rules
from bluegreen.tools._base import AwsConfig, BaseTools
from bluegreen.tools._lambda_mappings import MAPPING_OFF as _MAPPING_OFF  # noqa: F401 - importable here as before
from bluegreen.tools._lambda_mappings import MAPPING_ON as _MAPPING_ON  # noqa: F401 - importable here as before
from bluegreen.tools._lambda_mappings import plain as _plain
from bluegreen.tools._lambda_metrics import LAMBDA_METRICS as LAMBDA_METRICS  # noqa: PLC0414
from bluegreen.tools._lambda_metrics import METRICS_PERIOD_SECONDS as METRICS_PERIOD_SECONDS  # noqa: PLC0414
from bluegreen.tools._lambda_metrics import METRICS_WINDOW as METRICS_WINDOW  # noqa: PLC0414
from bluegreen.tools._lambda_rules import DEFAULT_EVENT_BUS as DEFAULT_EVENT_BUS  # noqa: PLC0414
from bluegreen.tools._lambda_rules import RULE_OFF as _RULE_OFF  # noqa: F401 - importable here as before
from bluegreen.tools._lambda_rules import RULE_ON as _RULE_ON  # noqa: F401 - importable here as before

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient

logger = logging.getLogger(__name__)

#: Guards the function-ARN cache kept on each Lambda client (shared by every tool and thread using it).
_ARN_LOCK = threading.Lock()


class MappingBusyError(RuntimeError):
    """An event-source mapping still in transition (``ResourceInUseException``) after every try.

    Lambda refuses to update or delete a mapping while it is ``Creating``, ``Enabling``, ``Disabling``
    or ``Updating``; it settles by itself. The flows treat this as a wait (the step is polled again).
    """


@datatype(frozen=False, kw_only=True)
class LambdaConfig(AwsConfig):
    """The function of each stack, the alias its triggers point at (if any), and the buses to search for rules.

    ``event_bus_names`` lists the EventBridge buses (names or ARNs) whose rules :meth:`LambdaTools.enable_rule`
    and :meth:`LambdaTools.disable_rule` look through; the default bus only, unless rules on custom buses
    target the function too.
    """

    lambda_name_a: str
    lambda_name_b: str
    alias: str | None = None
    event_bus_names: tuple[str, ...] = (DEFAULT_EVENT_BUS,)


@datatype
class LatestMetric:
    """The most recent data point of one Lambda metric: its timestamp, value and statistic (``Sum``, ``Maximum``…)."""

    latest_metric_timestamp: datetime
    latest_metric_value: float
    stat: str


@datatype
class RuleRef:
    """One EventBridge rule: its name and the bus it lives on (``"default"`` or a custom bus name/ARN)."""

    name: str
    event_bus_name: str = DEFAULT_EVENT_BUS


class LambdaTools(BaseTools[LambdaConfig]):
    """Turns a stack's Lambda triggers on and off, and reads its alias, version and latest metrics.

    Event-source mappings (SQS, Kinesis, DynamoDB streams…) are switched with ``UpdateEventSourceMapping``;
    EventBridge rules that target the function with ``EnableRule`` / ``DisableRule``. Both skip what is
    already in the wanted state, so every switch is idempotent and a repeat sends no update.
    """

    def __init__(self, config: LambdaConfig, *, session: boto3.Session | None = None) -> None:
        """Keep ``config`` and the optional ``boto3.Session``; no request is sent yet."""
        super().__init__(config, session=session)

    @property
    def _lambda(self) -> LambdaClient:
        return cast("LambdaClient", self._client("lambda"))

    @property
    def _events(self) -> EventBridgeClient:
        return cast("EventBridgeClient", self._client("events"))

    @property
    def _cloudwatch(self) -> CloudWatchClient:
        return cast("CloudWatchClient", self._client("cloudwatch"))

    # -- names and ARNs -------------------------------------------------------------------------

    def function_name(self, ref: StackReference | str) -> str:
        """The name of the stack's Lambda function."""
        return self._pick(ref, self.config.lambda_name_a, self.config.lambda_name_b)

    def function_arn(self, ref: StackReference | str) -> str:
        """The stack's unqualified function ARN as Lambda reports it (``GetFunction``), asked once per function.

        Raises ``LookupError`` naming the function when it does not exist.
        """
        name = self.function_name(ref)
        # One GetFunction per function per client: the cache lives on the (shared) client, under a lock,
        # so steps that start together do not each look it up.
        with _ARN_LOCK:
            cache: dict[str, str] = self._lambda.__dict__.setdefault("_bluegreen_function_arns", {})
            return cache.get(name) or self._look_up_arn(ref, name, cache)

    def _look_up_arn(self, ref: StackReference | str, name: str, cache: dict[str, str]) -> str:
        try:
            found = self._lambda.get_function(FunctionName=name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise LookupError(
                    f"Lambda function {name!r} of stack {as_ref(ref).value} not found in {self.config.region}"
                ) from error
            raise
        # arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>] — keep it unqualified.
        arn = ":".join(found["Configuration"]["FunctionArn"].split(":")[:7])
        cache[name] = arn
        return arn

    def target_arn(self, ref: StackReference | str) -> str:
        """The ARN the stack's mappings and rules point at: the function ARN, plus ``:alias`` when ``alias`` is set."""
        arn = self.function_arn(ref)
        return f"{arn}:{self.config.alias}" if self.config.alias else arn

    def target_name(self, ref: StackReference | str) -> str:
        """The stack's function by bare name, as SAM names it in a mapping: ``name``, or ``name:alias`` with ``alias``.

        The name is the one in :meth:`function_arn`, so a config that gives the function by ARN gets it too.
        """
        name = self.function_arn(ref).rsplit(":", 1)[-1]
        return f"{name}:{self.config.alias}" if self.config.alias else name

    # -- event-source mappings ------------------------------------------------------------------

    def list_event_source_mappings(self, ref: StackReference | str) -> list[dict[str, Any]]:
        """Every event-source mapping of the stack's function (or alias), however it was created.

        Every page of ``ListEventSourceMappings`` by :meth:`target_arn`, then by :meth:`target_name`,
        merged by ``UUID`` (first seen kept): see the module docstring for why both.
        """
        return self._mappings_of(ref)

    def enable_event_mapping(
        self, ref: StackReference | str, *, retry_delay: float = 5.0, retry_attempts: int = 6
    ) -> None:
        """Enable every event-source mapping of the stack's function (``UpdateEventSourceMapping`` Enabled=True).

        Mappings already ``Enabled`` or ``Enabling`` are left alone (idempotent: a repeat sends no update);
        one being deleted is skipped. A mapping in transition (``ResourceInUseException``) is retried up to
        ``retry_attempts`` tries in all, ``retry_delay`` seconds apart, then a :class:`MappingBusyError` (a
        ``RuntimeError``) names it.
        """
        self._switch_mappings(ref, True, retry_delay, retry_attempts)

    def disable_event_mapping(
        self, ref: StackReference | str, *, retry_delay: float = 5.0, retry_attempts: int = 6
    ) -> None:
        """Disable every event-source mapping of the stack's function (``UpdateEventSourceMapping`` Enabled=False).

        Mappings already ``Disabled`` or ``Disabling`` are left alone (idempotent); retries as in
        :meth:`enable_event_mapping`.
        """
        self._switch_mappings(ref, False, retry_delay, retry_attempts)

    def create_event_source_mapping(
        self, ref: StackReference | str, event_source_arn: str, **params: Any
    ) -> dict[str, Any]:
        """Create a mapping from ``event_source_arn`` to the stack's function (or alias) and return it.

        ``params`` are further ``CreateEventSourceMapping`` parameters (``BatchSize``, ``StartingPosition``…).
        Idempotent: when the function already has a mapping for this source — created by name or by
        ARN — it is returned unchanged (found by listing first, or after the ``ResourceConflictException``
        AWS answers a second mapping of the same function and source with, e.g. from a concurrent create);
        ``params`` are not applied to an existing mapping. The mapping is created with :meth:`target_arn`.
        """
        clash = {"FunctionName", "EventSourceArn"} & params.keys()
        if clash:
            raise ValueError(f"{sorted(clash)} are set by create_event_source_mapping itself: leave them out")
        target = self.target_arn(ref)
        existing = self._mapping_for_source(ref, event_source_arn)
        if existing is not None:
            return existing
        try:
            created = self._lambda.create_event_source_mapping(
                FunctionName=target, EventSourceArn=event_source_arn, **params
            )
        except ClientError as error:
            if error_code(error) != "ResourceConflictException":
                raise
            existing = self._mapping_for_source(ref, event_source_arn)
            if existing is None:
                raise
            return existing
        return _plain(created)

    def delete_event_mapping(self, uuid: str, *, retry_delay: float = 5.0, retry_attempts: int = 6) -> None:
        """Delete the event-source mapping ``uuid`` (``DeleteEventSourceMapping``).

        A mapping already gone, or already being deleted, is done (idempotent). A mapping in transition
        (``ResourceInUseException``) is retried as in :meth:`enable_event_mapping`.
        """
        _check_attempts(retry_attempts)
        refused = _lambda_mappings.delete_mapping(self._lambda, uuid, delay=retry_delay, attempts=retry_attempts)
        if refused is not None:
            error, state = refused
            raise MappingBusyError(
                f"event-source mapping {uuid} could not be deleted: still in transition "
                f"(State={state}) after {retry_attempts} attempts"
            ) from error

    # -- EventBridge rules ----------------------------------------------------------------------

    def list_rules(self, ref: StackReference | str) -> list[RuleRef]:
        """Every EventBridge rule, on each bus of ``event_bus_names``, with the stack's target ARN as a target.

        Every page of ``ListRuleNamesByTarget``; a bus that does not exist raises ``LookupError`` naming it.
        """
        target = self.target_arn(ref)
        return [
            RuleRef(name, bus)
            for bus in self.config.event_bus_names
            for name in _lambda_rules.rule_names(self._events, target, bus, region=self.config.region)
        ]

    def describe_rules(self, ref: StackReference | str) -> list[dict[str, Any]]:
        """``DescribeRule`` of every rule :meth:`list_rules` finds (``Name``, ``EventBusName``, ``State``…)."""
        described = (self._describe_rule(rule) for rule in self.list_rules(ref))
        return [rule for rule in described if rule is not None]

    def enable_rule(self, ref: StackReference | str) -> None:
        """Enable every EventBridge rule that targets the stack's function (``EnableRule``).

        Rules already enabled are left alone (idempotent: a repeat sends no update; a rule
        ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` keeps that state); a rule deleted meanwhile is skipped.
        """
        self._switch_rules(ref, True)

    def disable_rule(self, ref: StackReference | str) -> None:
        """Disable every EventBridge rule that targets the stack's function (``DisableRule``); idempotent."""
        self._switch_rules(ref, False)

    # -- alias, version, metrics ----------------------------------------------------------------

    def get_alias(self, ref: StackReference | str, name: str) -> dict[str, Any]:
        """The alias ``name`` of the stack's function (``GetAlias``: ``AliasArn``, ``FunctionVersion``…).

        Raises ``LookupError`` naming the alias and function when either does not exist.
        """
        function = self.function_name(ref)
        try:
            return _plain(self._lambda.get_alias(FunctionName=function, Name=name))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise LookupError(f"alias {name!r} of Lambda function {function!r} not found") from error
            raise

    def get_version(self, ref: StackReference | str) -> str:
        """The version the stack's triggers invoke.

        With ``alias``: the version the alias points to (``GetAlias`` ``FunctionVersion``; during a weighted
        shift, the primary one). Without: ``GetFunction``'s version of the unqualified function, which is
        ``$LATEST`` — what the unqualified ARN that its mappings and rules target runs. For the newest
        published version see :meth:`get_latest_published_version`.
        """
        if self.config.alias:
            return str(self.get_alias(ref, self.config.alias)["FunctionVersion"])
        name = self.function_name(ref)
        found = self._lambda.get_function(FunctionName=name)
        version = found.get("Configuration", {}).get("Version")
        if not version:
            raise LookupError(f"Lambda did not report a version for function {name!r}")
        return version

    def get_latest_published_version(self, ref: StackReference | str) -> str | None:
        """The highest published version number of the stack's function (every page), or None when none is."""
        paginator = self._lambda.get_paginator("list_versions_by_function")
        numbers = [
            int(version["Version"])
            for page in paginator.paginate(FunctionName=self.function_name(ref))
            for version in page.get("Versions", [])
            if version.get("Version", "").isdigit()
        ]
        return str(max(numbers)) if numbers else None

    def get_latest_metrics(self, ref: StackReference | str) -> dict[str, LatestMetric]:
        """The latest data point of each of :data:`LAMBDA_METRICS` over the last five minutes, by metric name.

        ``GetMetricData`` (every page, newest first) in ``AWS/Lambda`` at 60 s, with dimension
        ``FunctionName``, plus ``Resource`` = ``name:alias`` when ``alias`` is set. Metrics with no data
        in the window are left out.
        """
        points = _lambda_metrics.latest_points(self._cloudwatch, self.function_name(ref), self.config.alias)
        return {metric: LatestMetric(*point) for metric, point in points.items()}

    # -- internals ------------------------------------------------------------------------------

    def _mappings_of(self, ref: StackReference | str, event_source_arn: str | None = None) -> list[dict[str, Any]]:
        """The stack's mappings listed by target ARN and by target name, merged by UUID (see the module docstring)."""
        functions = (self.target_arn(ref), self.target_name(ref))
        return _lambda_mappings.merged_mappings(self._lambda, functions, event_source_arn)

    def _mapping_for_source(self, ref: StackReference | str, event_source_arn: str) -> dict[str, Any] | None:
        functions = (self.target_arn(ref), self.target_name(ref))
        return _lambda_mappings.mapping_for_source(self._lambda, functions, event_source_arn)

    def _switch_mappings(self, ref: StackReference | str, enabled: bool, retry_delay: float, attempts: int) -> None:
        _check_attempts(attempts)
        function = self.function_name(ref)
        for mapping in self.list_event_source_mappings(ref):
            refused = _lambda_mappings.switch_mapping(
                self._lambda, function, mapping, enabled, delay=retry_delay, attempts=attempts
            )
            if refused is not None:
                raise MappingBusyError(
                    f"event-source mapping {mapping['UUID']} of Lambda function {function!r} could not be set to "
                    f"Enabled={enabled}: still in transition after {attempts} attempts"
                ) from refused

    def _describe_rule(self, rule: RuleRef) -> dict[str, Any] | None:
        described = _lambda_rules.describe_rule(self._events, rule.name, rule.event_bus_name)
        return None if described is None else _plain(described)

    def _switch_rules(self, ref: StackReference | str, enabled: bool) -> None:
        for rule in self.list_rules(ref):
            _lambda_rules.switch_rule(self._events, rule.name, rule.event_bus_name, enabled)


def _bus_param(rule: RuleRef) -> dict[str, str]:
    """``EventBusName`` for a rule on a custom bus; nothing for the default bus."""
    return _lambda_rules.bus_param(rule.event_bus_name)


def _check_attempts(attempts: int) -> None:
    if attempts < 1:
        raise ValueError(f"retry_attempts must be at least 1 (every try counts, the first included), got {attempts}")
