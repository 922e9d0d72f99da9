"""SNS: each stack's subscription, on with ``enabled_filter`` and off with ``disabled_filter``.

A subscription is switched by its filter policy, not deleted, so it keeps its ARN and settings.
SNS applies a filter policy change within up to 15 minutes, so the subscriptions are the one switch
that *settles*: the retire turns the old ones off only after ``settle_minutes``, and the rest of the
old stack only after its consumers drained for ``settle_minutes`` more (see :mod:`bluegreen.flows`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from bluegreen.datatypes import datatype
from bluegreen.reading.fields import _Checker, _copy, _join, _kind, _mapping, _text
from bluegreen.reading.names import _check_subscription_arn
from bluegreen.refs import StackReference
from bluegreen.services._kit import Claim, Reading, Row, Service, Switch, ToolSource, pick

if TYPE_CHECKING:
    from bluegreen.tools.sns import SnsConfig, SnsTools


@datatype(kw_only=True)
class SnsEntry:
    """The SNS subscription (ARN) of each stack, and the filter policies that enable and disable both."""

    a: str
    b: str
    enabled_filter: dict[str, Any] | None = None
    disabled_filter: dict[str, Any] | None = None

    def config(self, region: str, account_id: str | None = None) -> SnsConfig:
        """The :class:`~bluegreen.tools.sns.SnsConfig` of this entry (filters copied, regions from the ARNs)."""
        from bluegreen.tools.sns import SnsConfig, TopicData  # noqa: PLC0415 - tools load only when used

        def topic(arn: str) -> TopicData:
            return TopicData(
                arn, enabled_filter=_copy(self.enabled_filter), disabled_filter=_copy(self.disabled_filter)
            )

        return SnsConfig(region=region, account_id=account_id, topic_a=topic(self.a), topic_b=topic(self.b))

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        doc: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.enabled_filter is not None:
            doc["enabled_filter"] = _copy(self.enabled_filter)
        if self.disabled_filter is not None:
            doc["disabled_filter"] = _copy(self.disabled_filter)
        return doc


def _read_filter(c: _Checker, f: Mapping[str, Any], path: str, key: str) -> dict[str, Any] | None:
    if key not in f:
        return None
    value, where = f[key], _join(path, key)
    if not isinstance(value, dict):
        c.add(where, f"must be an SNS filter policy (a mapping), got {_kind(value)}")
        return None
    for name, rule in value.items():
        if not isinstance(name, str) or not isinstance(rule, list | dict):
            c.add(_join(where, name), "must be a list of values or a nested mapping (an SNS filter policy rule)")
            return None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        c.add(where, "must hold only JSON values (strings, numbers, booleans, null, lists and mappings)")
        return None
    return cast("dict[str, Any]", _copy(value))


def read(c: _Checker, raw: object, path: str) -> SnsEntry | None:
    """Check one raw ``sns`` entry: two subscription ARNs and, optionally, the two filter policies."""
    f = _mapping(c, raw, path, ("a", "b", "enabled_filter", "disabled_filter"), "an SNS entry")
    if f is None:
        return None
    mark = c.count()
    what = "give stack {}'s subscription ARN"
    a = _text(c, f, path, "a", what.format("a"), check=_check_subscription_arn)
    b = _text(c, f, path, "b", what.format("b"), check=_check_subscription_arn)
    enabled = _read_filter(c, f, path, "enabled_filter")
    disabled = _read_filter(c, f, path, "disabled_filter")
    if disabled == {}:
        c.add(_join(path, "disabled_filter"), "an empty policy matches every message: it would not disable anything")
    elif disabled is not None and disabled == (enabled if enabled is not None else {}):
        c.add(_join(path, "disabled_filter"), "is the same as enabled_filter: disabling would change nothing")
    if c.count() != mark:
        return None
    return SnsEntry(a=a, b=b, enabled_filter=enabled, disabled_filter=disabled)


def claims(entry: SnsEntry, path: str) -> list[Claim]:
    """Each stack's subscription, by ARN."""
    return [Claim("SNS subscription", (entry.a,), _join(path, "a")),
            Claim("SNS subscription", (entry.b,), _join(path, "b"))]  # fmt: skip


def switches(entry: SnsEntry, index: int, box: ToolSource, stack: StackReference) -> list[Switch]:
    """The stack's subscription, switched by its filter policy (a change that settles)."""
    sns: SnsTools = box.tool("sns", index)
    arn = pick(stack, entry.a, entry.b)
    return [Switch(
        f"sns[{index}]", "sns", f"subscription {arn}",
        partial(sns.enable_subscription, stack), partial(sns.disable_subscription, stack),
        (f"sns:SetSubscriptionAttributes FilterPolicy=enabled {arn}",),
        (f"sns:SetSubscriptionAttributes FilterPolicy=disabled {arn}",),
        settles=True,
    )]  # fmt: skip


def rows(entry: SnsEntry, index: int, box: ToolSource) -> list[Row]:
    """Whether each stack's subscription lets messages through."""

    def subscription(ref: StackReference) -> Reading:
        enabled = box.tool("sns", index).is_enabled(ref)
        return ("enabled" if enabled else "disabled"), ("on" if enabled else "off"), {"enabled": enabled}

    topic = entry.a.split(":")[5] if entry.a.count(":") >= 6 else entry.a
    return [Row(f"sns[{index}]", "sns", f"subscription to {topic}", True, (entry.a, entry.b), subscription)]


SERVICE = Service(
    name="sns",
    title="SNS",
    entry=SnsEntry,
    read=read,
    claims=claims,
    tool=("sns", "SnsTools"),
    switches=switches,
    rows=rows,
)
