"""CloudWatch: the actions of each stack's alarms, on while the stack works and off once retired.

A stack's alarms are the ones whose names start with its ``alarm_prefix`` (and end with its
``alarm_suffix``, when set); only their actions are switched — the alarms keep evaluating.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.reading.fields import _Checker, _join, _mapping, _opt_text
from bluegreen.refs import StackReference
from bluegreen.services._kit import Claim, Reading, Row, Service, Switch, ToolSource, mode_of, pick

if TYPE_CHECKING:
    from bluegreen.tools.cloudwatch import CloudWatchConfig, CloudWatchTools


@datatype(kw_only=True)
class AlarmSet:
    """A stack's alarms: names starting with ``alarm_prefix`` and, when set, ending with ``alarm_suffix``."""

    alarm_prefix: str
    alarm_suffix: str | None = None

    def overlaps(self, other: AlarmSet) -> bool:
        """Whether some alarm name would belong to both sets."""
        prefixes = self.alarm_prefix.startswith(other.alarm_prefix) or other.alarm_prefix.startswith(self.alarm_prefix)
        mine, theirs = self.alarm_suffix or "", other.alarm_suffix or ""
        return prefixes and (mine.endswith(theirs) or theirs.endswith(mine))

    def pattern(self) -> str:
        """The alarm names of this set, as ``prefix*suffix``."""
        return f"{self.alarm_prefix}*{self.alarm_suffix or ''}"

    def to_document(self) -> dict[str, Any]:
        """The alarm set as the plan document spells it."""
        return {"alarm_prefix": self.alarm_prefix} | (
            {"alarm_suffix": self.alarm_suffix} if self.alarm_suffix is not None else {}
        )


@datatype(kw_only=True)
class CloudWatchEntry:
    """The alarms of each stack, whose actions are switched on and off."""

    a: AlarmSet
    b: AlarmSet

    def config(self, region: str, account_id: str | None = None) -> CloudWatchConfig:
        """The :class:`~bluegreen.tools.cloudwatch.CloudWatchConfig` of this entry."""
        from bluegreen.tools.cloudwatch import AlarmStack, CloudWatchConfig  # noqa: PLC0415 - loaded when used

        return CloudWatchConfig(
            region=region,
            account_id=account_id,
            alarm_stack_a=AlarmStack(self.a.alarm_prefix, self.a.alarm_suffix),
            alarm_stack_b=AlarmStack(self.b.alarm_prefix, self.b.alarm_suffix),
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"a": self.a.to_document(), "b": self.b.to_document()}


def _read_alarms(c: _Checker, raw: object, path: str, ref: str) -> AlarmSet | None:
    if isinstance(raw, str):  # the shorthand `a: alarm-prefix`
        prefix = _opt_text(c, {ref: raw}, path.rpartition(".")[0], ref, spaces=True)
        return AlarmSet(alarm_prefix=prefix) if prefix else None
    f = _mapping(c, raw, path, ("alarm_prefix", "alarm_suffix"), "alarm_prefix and alarm_suffix, or just the prefix")
    if f is None:
        return None
    prefix = _opt_text(c, f, path, "alarm_prefix", required=f"the prefix of stack {ref}'s alarm names", spaces=True)
    suffix = _opt_text(c, f, path, "alarm_suffix", spaces=True)
    return AlarmSet(alarm_prefix=prefix, alarm_suffix=suffix) if prefix else None


def read(c: _Checker, raw: object, path: str) -> CloudWatchEntry | None:
    """Check one raw ``cloudwatch`` entry (each stack: ``{alarm_prefix, alarm_suffix}`` or just the prefix)."""
    f = _mapping(c, raw, path, ("a", "b"), "a CloudWatch entry")
    if f is None:
        return None
    mark = c.count()
    sets = {}
    for ref in ("a", "b"):
        if ref not in f:
            c.add(_join(path, ref), f"required — stack {ref}'s alarms: {{alarm_prefix: …, alarm_suffix: …}}")
        else:
            sets[ref] = _read_alarms(c, f[ref], _join(path, ref), ref)
    a, b = sets.get("a"), sets.get("b")
    return CloudWatchEntry(a=a, b=b) if a and b and c.count() == mark else None


def claims(entry: CloudWatchEntry, path: str) -> list[Claim]:
    """Nothing claimed by name: alarm sets are matched by pattern (the plan checks that no two overlap)."""
    return []


def check(c: _Checker, entries: list[tuple[str, CloudWatchEntry]]) -> None:
    """No alarm may belong to two alarm sets: each stack of each entry needs its own prefix or suffix."""
    alarms = [(_join(path, ref), getattr(entry, ref)) for path, entry in entries for ref in ("a", "b")]
    for index, (where, mine) in enumerate(alarms):
        other = next(((p, s) for p, s in alarms[:index] if s.overlaps(mine)), None)
        if other is not None:
            example = max(mine.alarm_prefix, other[1].alarm_prefix, key=len) + "…"
            example += max(mine.alarm_suffix or "", other[1].alarm_suffix or "", key=len)
            c.add(
                where,
                f"its alarms overlap those of {other[0]} (an alarm named {example!r} is in both): "
                "give each stack its own alarm prefix or suffix",
            )


def switches(entry: CloudWatchEntry, index: int, box: ToolSource, stack: StackReference) -> list[Switch]:
    """The actions of the stack's alarms."""
    cw: CloudWatchTools = box.tool("cloudwatch", index)
    alarms = pick(stack, entry.a, entry.b)
    describe = f"cloudwatch:DescribeAlarms prefix={alarms.alarm_prefix!r}"
    return [Switch(
        f"cloudwatch[{index}]", "cloudwatch", f"actions of alarms {alarms.pattern()!r}",
        partial(cw.enable_alarms_actions, stack), partial(cw.disable_alarms_actions, stack),
        (describe, "cloudwatch:EnableAlarmActions (batches of 100)"),
        (describe, "cloudwatch:DisableAlarmActions (batches of 100)"),
    )]  # fmt: skip


def rows(entry: CloudWatchEntry, index: int, box: ToolSource) -> list[Row]:
    """How many of each stack's alarms have their actions on."""

    def alarms(ref: StackReference) -> Reading:
        found = box.tool("cloudwatch", index).alarm_actions_enabled(ref)
        on = sum(found.values())
        state = f"actions on {on}/{len(found)}" if found else "no alarms"
        return state, mode_of(found.values()), {"alarms": found}

    names = (entry.a.pattern(), entry.b.pattern())
    return [Row(f"cloudwatch[{index}]", "cloudwatch", "alarm actions", True, names, alarms)]


SERVICE = Service(
    name="cloudwatch",
    title="CloudWatch",
    entry=CloudWatchEntry,
    read=read,
    claims=claims,
    check=check,
    tool=("cloudwatch", "CloudWatchTools"),
    switches=switches,
    rows=rows,
)
