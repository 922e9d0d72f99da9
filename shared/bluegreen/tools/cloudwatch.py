"""CloudWatch: switch the actions of a stack's alarms on or off."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from bluegreen.refs import StackReference
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.literals import AlarmTypeType

logger = logging.getLogger(__name__)

#: Every kind of alarm ``DescribeAlarms`` returns only when asked for by type (it returns metric
#: alarms alone by default — the original missed composite alarms that way).
ALARM_TYPES: tuple[AlarmTypeType, ...] = ("MetricAlarm", "CompositeAlarm", "LogAlarm")
#: ``EnableAlarmActions`` / ``DisableAlarmActions`` take at most this many alarm names per call.
MAX_ALARMS_PER_CALL = 100


@dataclass
class AlarmStack:
    """A stack's alarms: those whose names start with ``alarm_prefix`` and, when set, end with ``alarm_suffix``."""

    alarm_prefix: str
    alarm_suffix: str | None = None

    def __post_init__(self) -> None:
        """Refuse an empty prefix: it would select every alarm in the account and region."""
        if not self.alarm_prefix:
            raise ValueError("AlarmStack.alarm_prefix is empty: name the prefix of the stack's alarms")

    def matches(self, alarm_name: str) -> bool:
        """Whether ``alarm_name`` is one of this stack's alarms."""
        return alarm_name.startswith(self.alarm_prefix) and (
            not self.alarm_suffix or alarm_name.endswith(self.alarm_suffix)
        )


@dataclass(kw_only=True)
class CloudWatchConfig(AwsConfig):
    """The alarms of each stack, as a name prefix and an optional suffix."""

    alarm_stack_a: AlarmStack
    alarm_stack_b: AlarmStack


class CloudWatchTools(BaseTools[CloudWatchConfig]):
    """Turns the actions of stack a's or b's CloudWatch alarms on or off (the alarms keep evaluating)."""

    @property
    def _cloudwatch(self) -> CloudWatchClient:
        return cast("CloudWatchClient", self._client("cloudwatch"))

    def alarm_stack(self, ref: StackReference | str) -> AlarmStack:
        """The stack's :class:`AlarmStack`."""
        return self._pick(ref, self.config.alarm_stack_a, self.config.alarm_stack_b)

    def enable_alarms_actions(self, ref: StackReference | str) -> None:
        """``EnableAlarmActions`` on every alarm of the stack (metric, composite and log alarms).

        CloudWatch runs the alarms' actions again when their state changes. Idempotent: enabling
        enabled actions succeeds. Names go in batches of at most 100; with no matching alarm, no call.
        """
        self._set_actions(ref, enabled=True)

    def disable_alarms_actions(self, ref: StackReference | str) -> None:
        """``DisableAlarmActions`` on every alarm of the stack (metric, composite and log alarms).

        The alarms keep evaluating, but CloudWatch runs none of their actions (notifications, scaling).
        Idempotent: disabling disabled actions succeeds. Names go in batches of at most 100; with no
        matching alarm, no call.
        """
        self._set_actions(ref, enabled=False)

    def alarm_names(self, ref: StackReference | str) -> list[str]:
        """The names of the stack's alarms, sorted (``DescribeAlarms``, every page, every alarm type)."""
        return sorted(self.alarm_actions_enabled(ref))

    def alarm_actions_enabled(self, ref: StackReference | str) -> dict[str, bool]:
        """Whether each of the stack's alarms has its actions enabled, keyed by alarm name."""
        stack = self.alarm_stack(ref)
        found: dict[str, bool] = {}
        pages = self._cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=stack.alarm_prefix, AlarmTypes=list(ALARM_TYPES)
        )
        for page in pages:
            alarms = [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", []), *page.get("LogAlarms", [])]
            for alarm in alarms:
                name = alarm.get("AlarmName", "")
                if name and stack.matches(name):
                    found[name] = bool(alarm.get("ActionsEnabled", False))
        return found

    def _set_actions(self, ref: StackReference | str, *, enabled: bool) -> None:
        names = self.alarm_names(ref)
        if not names:
            logger.info("no CloudWatch alarm matches %s: nothing to %s", self.alarm_stack(ref), _verb(enabled))
            return
        for batch in _batches(names, MAX_ALARMS_PER_CALL):
            if enabled:
                self._cloudwatch.enable_alarm_actions(AlarmNames=batch)
            else:
                self._cloudwatch.disable_alarm_actions(AlarmNames=batch)
        logger.info("CloudWatch alarm actions %sd on %d alarms of stack %s", _verb(enabled), len(names), ref)


def _verb(enabled: bool) -> str:
    return "enable" if enabled else "disable"


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
