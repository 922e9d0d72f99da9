"""Lambda: each stack's function, whose event-source mappings and EventBridge rules are switched.

The function itself is never touched: what stops a retired stack's function working is that its
mappings (SQS, Kinesis, DynamoDB streams…) are disabled and the EventBridge rules that target it
are disabled. A mapping in transition (Lambda answers ``ResourceInUseException``) is a wait in the
flows, polled by the engine, never a sleep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, PENDING, StepStatus
from bluegreen.reading.fields import _Checker, _join, _kind, _mapping, _opt_text, _text
from bluegreen.reading.names import _base_name, _check_alias, _check_bus, _check_function
from bluegreen.refs import StackReference
from bluegreen.services._kit import Claim, Reading, Row, Service, Switch, ToolSource, counted, mode_of, pick

if TYPE_CHECKING:
    from collections.abc import Callable

    from bluegreen.tools.lambda_ import LambdaConfig, LambdaTools

#: How long a flow's step waits for a mapping in transition (Lambda answers ``ResourceInUseException``
#: while a mapping is Creating, Enabling, Disabling or Updating) before it fails; the engine polls it
#: meanwhile (5 s, doubling up to 30 s). Lambda gives no figure; transitions take seconds to a minute.
MAPPING_BOUND_SECONDS = 300.0


@datatype(kw_only=True)
class LambdaEntry:
    """The function of each stack, whose event-source mappings and EventBridge rules are switched."""

    a: str
    b: str
    alias: str | None = None
    event_buses: tuple[str, ...] = ("default",)

    def config(self, region: str, account_id: str | None = None) -> LambdaConfig:
        """The :class:`~bluegreen.tools.lambda_.LambdaConfig` of this entry."""
        from bluegreen.tools.lambda_ import LambdaConfig  # noqa: PLC0415 - tools load only when used

        return LambdaConfig(
            region=region,
            account_id=account_id,
            lambda_name_a=self.a,
            lambda_name_b=self.b,
            alias=self.alias,
            event_bus_names=self.event_buses,
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        doc: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.alias is not None:
            doc["alias"] = self.alias
        doc["event_buses"] = list(self.event_buses)
        return doc


def read(c: _Checker, raw: object, path: str) -> LambdaEntry | None:
    """Check one raw ``lambda`` entry: two functions, an optional alias, the buses to look for rules on."""
    f = _mapping(c, raw, path, ("a", "b", "alias", "event_buses"), "a Lambda entry")
    if f is None:
        return None
    mark = c.count()
    a = _text(c, f, path, "a", "name stack a's function", check=_check_function)
    b = _text(c, f, path, "b", "name stack b's function", check=_check_function)
    alias = _opt_text(c, f, path, "alias", check=_check_alias)
    buses: tuple[str, ...] = ("default",)
    if "event_buses" in f:
        raw_buses, where = f["event_buses"], _join(path, "event_buses")
        if not isinstance(raw_buses, list) or not raw_buses:
            c.add(where, f"must be a non-empty list of EventBridge bus names or ARNs, got {_kind(raw_buses)}")
        else:
            listed = dict(enumerate(raw_buses))
            found = [_opt_text(c, listed, where, i, check=_check_bus) for i in listed]
            buses = tuple(bus for bus in found if bus)
            if len(set(buses)) != len(buses):
                c.add(where, "lists a bus twice")
    if c.count() != mark:
        return None
    return LambdaEntry(a=a, b=b, alias=alias, event_buses=buses)


def claims(entry: LambdaEntry, path: str) -> list[Claim]:
    """Each stack's function, by name (an ARN and a name of one function are one claim)."""
    return [Claim("function", (_base_name(entry.a),), _join(path, "a")),
            Claim("function", (_base_name(entry.b),), _join(path, "b"))]  # fmt: skip


def polled(fn: Callable[[], object]) -> Callable[[], StepStatus]:
    """``fn`` as a step action: a mapping still in transition is PENDING (polled again), not a sleep."""
    from bluegreen.tools.lambda_ import MappingBusyError  # noqa: PLC0415 - the tool module is loaded by now

    def action() -> StepStatus:
        try:
            fn()
        except MappingBusyError:
            return PENDING
        return DONE

    return action


def switches(entry: LambdaEntry, index: int, box: ToolSource, stack: StackReference) -> list[Switch]:
    """The stack's event-source mappings, and the EventBridge rules that target its function."""
    lam: LambdaTools = box.tool("lambda", index)
    fn = pick(stack, entry.a, entry.b)
    once = {"retry_attempts": 1}  # the engine polls a mapping in transition again: no sleep in a tool
    return [
        Switch(
            f"lambda[{index}].mappings", "lambda", f"event-source mappings of {fn}",
            polled(lambda: lam.enable_event_mapping(stack, **once)),
            polled(lambda: lam.disable_event_mapping(stack, **once)),
            (f"lambda:ListEventSourceMappings {fn}", "lambda:UpdateEventSourceMapping Enabled=true (each)"),
            (f"lambda:ListEventSourceMappings {fn}", "lambda:UpdateEventSourceMapping Enabled=false (each)"),
            bound=MAPPING_BOUND_SECONDS,
        ),
        Switch(
            f"lambda[{index}].rules", "lambda", f"EventBridge rules targeting {fn}",
            lambda: lam.enable_rule(stack), lambda: lam.disable_rule(stack),
            (f"events:ListRuleNamesByTarget {fn}", "events:EnableRule (each)"),
            (f"events:ListRuleNamesByTarget {fn}", "events:DisableRule (each)"),
        ),
    ]  # fmt: skip


def mapping_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``status --output json`` shows of each mapping."""
    return [{"uuid": m.get("UUID"), "source": m.get("EventSourceArn"), "state": m.get("State")} for m in found]


def rows(entry: LambdaEntry, index: int, box: ToolSource) -> list[Row]:
    """Each stack's mappings and rules, with how many are in each state."""

    def mappings(ref: StackReference) -> Reading:
        found = box.tool("lambda", index).list_event_source_mappings(ref)
        states = [str(m.get("State")) for m in found]
        return counted(states), mode_of(s == "Enabled" for s in states), {"mappings": mapping_rows(found)}

    def rules(ref: StackReference) -> Reading:
        found = box.tool("lambda", index).describe_rules(ref)
        listed = [{"name": r.get("Name"), "bus": r.get("EventBusName"), "state": r.get("State")} for r in found]
        states = [str(r.get("State")) for r in found]
        return counted(states), mode_of(s.startswith("ENABLED") for s in states), {"rules": listed}

    names = (f"{entry.a}:{entry.alias}", f"{entry.b}:{entry.alias}") if entry.alias else (entry.a, entry.b)
    return [
        Row(f"lambda[{index}].mappings", "lambda", "event-source mappings", True, names, mappings),
        Row(f"lambda[{index}].rules", "lambda", "EventBridge rules", True, names, rules),
    ]


SERVICE = Service(
    name="lambda",
    title="Lambda",
    entry=LambdaEntry,
    read=read,
    claims=claims,
    tool=("lambda_", "LambdaTools"),
    switches=switches,
    rows=rows,
)
