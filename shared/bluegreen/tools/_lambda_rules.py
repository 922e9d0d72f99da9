"""EventBridge rules that target a Lambda function: finding them by target, describing and switching them.

A rule is given by its name and its bus (``"default"`` or a custom bus name/ARN). The functions take the
EventBridge client; :class:`~bluegreen.tools.lambda_.LambdaTools` calls them (``list_rules``,
``describe_rules``, ``enable_rule``, ``disable_rule``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from bluegreen.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import DescribeRuleResponseTypeDef

# The Lambda tool's logger: its records keep their name wherever the code lives.
logger = logging.getLogger("bluegreen.tools.lambda_")

DEFAULT_EVENT_BUS = "default"
#: The rule states that count as on / off.
RULE_ON = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})
RULE_OFF = frozenset({"DISABLED"})


def bus_param(bus: str) -> dict[str, str]:
    """``EventBusName`` for a rule on a custom bus; nothing for the default bus."""
    return {} if bus == DEFAULT_EVENT_BUS else {"EventBusName": bus}


def rule_names(events: EventBridgeClient, target: str, bus: str, *, region: str) -> list[str]:
    """The names of the rules on ``bus`` with ``target`` as a target (every page of ``ListRuleNamesByTarget``).

    A bus that does not exist raises ``LookupError`` naming it (and ``region``).
    """
    paginator = events.get_paginator("list_rule_names_by_target")
    names: list[str] = []
    try:
        for page in paginator.paginate(TargetArn=target, EventBusName=bus):
            names.extend(page.get("RuleNames", []))
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise LookupError(f"EventBridge bus {bus!r} not found in {region}") from error
        raise
    return names


def describe_rule(events: EventBridgeClient, name: str, bus: str) -> DescribeRuleResponseTypeDef | None:
    """``DescribeRule`` of the rule ``name`` on ``bus``, or None when it is gone."""
    try:
        return events.describe_rule(Name=name, **bus_param(bus))
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def switch_rule(events: EventBridgeClient, name: str, bus: str, enabled: bool) -> None:
    """``EnableRule`` / ``DisableRule`` of the rule ``name`` on ``bus``; a rule gone meanwhile is skipped.

    Enabling describes the rule first and leaves an enabled one alone, so that a rule
    ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` keeps that state. ``DisableRule`` of a disabled
    rule is a no-op: disabling does not look first.
    """
    if enabled:
        described = describe_rule(events, name, bus)
        if described is None or described.get("State") in RULE_ON:
            return
    try:
        if enabled:
            events.enable_rule(Name=name, **bus_param(bus))
        else:
            events.disable_rule(Name=name, **bus_param(bus))
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return
    logger.info("EventBridge rule %s on bus %s: enabled=%s", name, bus, enabled)
