"""CloudWatch: switch the actions of a stack's alarms on or off.

``DescribeAlarms`` returns metric alarms alone unless ``AlarmTypes`` asks for more; it returns each
type under its own member: ``MetricAlarms``, ``CompositeAlarms`` (since 2020) and ``LogAlarms`` (log
alarms: a CloudWatch Logs scheduled query against a threshold; ``PutLogAlarm``). See
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html and
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_LogAlarm.html.
``EnableAlarmActions`` / ``DisableAlarmActions`` take alarm names of any type.

botocore parses only the members its service model knows: with a botocore older than an alarm type
(the Lambda runtime's bundled one may be), CloudWatch's answer holds those alarms and botocore drops
them without a word. The tools read the client's own service model to know which types it can return
(:func:`readable_alarm_types`), ask for those only, and say once per process, as a warning naming the
botocore version, which types are left out (:meth:`CloudWatchTools.alarm_types_warning`; ``bluegreen
status`` shows it too). Those alarms' actions are then not switched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import botocore

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.literals import AlarmTypeType

logger = logging.getLogger(__name__)

#: Every kind of alarm ``DescribeAlarms`` returns only when asked for by type (it returns metric
#: alarms alone by default — the original missed composite alarms that way).
ALARM_TYPES: tuple[AlarmTypeType, ...] = ("MetricAlarm", "CompositeAlarm", "LogAlarm")
#: The ``DescribeAlarms`` response member that holds each alarm type.
ALARM_TYPE_MEMBERS: dict[AlarmTypeType, str] = {
    "MetricAlarm": "MetricAlarms",
    "CompositeAlarm": "CompositeAlarms",
    "LogAlarm": "LogAlarms",
}
#: ``EnableAlarmActions`` / ``DisableAlarmActions`` take at most this many alarm names per call.
MAX_ALARMS_PER_CALL = 100

_T = TypeVar("_T")

#: The warnings already logged in this process (each is logged once).
_warned: set[str] = set()
_warned_lock = threading.Lock()


def readable_alarm_types(client: Any) -> tuple[AlarmTypeType, ...]:
    """The types of :data:`ALARM_TYPES` that ``client``'s botocore can return from ``DescribeAlarms``.

    Read from the client's service model: a type counts when the response shape has its member
    (:data:`ALARM_TYPE_MEMBERS`) and the request has ``AlarmTypes`` (metric alarms are returned without it).
    """
    operation = client.meta.service_model.operation_model("DescribeAlarms")
    returned = operation.output_shape.members if operation.output_shape is not None else {}
    if "AlarmTypes" not in operation.input_shape.members:
        return ("MetricAlarm",)
    return tuple(kind for kind in ALARM_TYPES if ALARM_TYPE_MEMBERS[kind] in returned)


def unreadable_alarm_types(client: Any) -> tuple[AlarmTypeType, ...]:
    """The types of :data:`ALARM_TYPES` that ``client``'s botocore cannot return (empty when it returns all)."""
    readable = readable_alarm_types(client)
    return tuple(kind for kind in ALARM_TYPES if kind not in readable)


def alarm_types_warning(client: Any) -> str | None:
    """What the tools say when ``client``'s botocore cannot return some alarm types; None when it returns all."""
    missing = unreadable_alarm_types(client)
    if not missing:
        return None
    members = ", ".join(ALARM_TYPE_MEMBERS[kind] for kind in missing)
    return (
        f"botocore {botocore.__version__} cannot return CloudWatch alarms of type {', '.join(missing)} (its "
        f"DescribeAlarms has no {members}): those alarms are not listed and their actions are not switched; "
        "bundle a newer botocore with the code (or use a newer runtime) to switch them"
    )


@datatype(frozen=False)
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


@datatype(frozen=False, kw_only=True)
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

    def readable_alarm_types(self) -> tuple[AlarmTypeType, ...]:
        """The alarm types this tool's botocore can return, and so switches (see :func:`readable_alarm_types`)."""
        return readable_alarm_types(self._cloudwatch)

    def alarm_types_warning(self) -> str | None:
        """The warning when this tool's botocore cannot return every alarm type, else None; sends no request."""
        return alarm_types_warning(self._cloudwatch)

    def enable_alarms_actions(self, ref: StackReference | str) -> None:
        """``EnableAlarmActions`` on every alarm of the stack (metric, composite and log alarms, as botocore can).

        CloudWatch runs the alarms' actions again when their state changes. Idempotent: enabling
        enabled actions succeeds. Names go in batches of at most 100; with no matching alarm, no call.
        """
        self._set_actions(ref, enabled=True)

    def disable_alarms_actions(self, ref: StackReference | str) -> None:
        """``DisableAlarmActions`` on every alarm of the stack (metric, composite and log alarms, as botocore can).

        The alarms keep evaluating, but CloudWatch runs none of their actions (notifications, scaling).
        Idempotent: disabling disabled actions succeeds. Names go in batches of at most 100; with no
        matching alarm, no call.
        """
        self._set_actions(ref, enabled=False)

    def alarm_names(self, ref: StackReference | str) -> list[str]:
        """The names of the stack's alarms, sorted (``DescribeAlarms``, every page, every alarm type)."""
        return sorted(self.alarm_actions_enabled(ref))

    def alarm_actions_enabled(self, ref: StackReference | str) -> dict[str, bool]:
        """Whether each of the stack's alarms has its actions enabled, keyed by alarm name.

        Every type of alarm the client's botocore can return (:meth:`readable_alarm_types`); the others,
        once per process, are named in a warning (:meth:`alarm_types_warning`).
        """
        stack = self.alarm_stack(ref)
        kinds = self.readable_alarm_types()
        self._warn_once()
        found: dict[str, bool] = {}
        params: dict[str, Any] = {"AlarmNamePrefix": stack.alarm_prefix}
        if kinds != ("MetricAlarm",):  # metric alarms alone: the default, and all a botocore without AlarmTypes reads
            params["AlarmTypes"] = list(kinds)
        for page in self._cloudwatch.get_paginator("describe_alarms").paginate(**params):
            alarms = [alarm for kind in kinds for alarm in cast("list[Any]", page.get(ALARM_TYPE_MEMBERS[kind], []))]
            for alarm in alarms:
                name = alarm.get("AlarmName", "")
                if name and stack.matches(name):
                    found[name] = bool(alarm.get("ActionsEnabled", False))
        return found

    def _warn_once(self) -> None:
        warning = self.alarm_types_warning()
        if warning is None:
            return
        with _warned_lock:
            if warning in _warned:
                return
            _warned.add(warning)
        logger.warning("%s", warning)

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


def _batches(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in lists of at most ``size`` (a request's limit), in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
