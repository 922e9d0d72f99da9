"""DynamoDB: each stack's table, checked before the replacement takes traffic and, if asked, deleted on retire.

Tables are not switched: a stack's workers stop writing when they are switched off. With
``on_retire: delete`` the retired stack's table is deleted last of all (your infrastructure code must
recreate it before the next deployment back to that stack; the prepare checks it exists).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, PENDING, Step, StepStatus
from bluegreen.reading.fields import _bool, _Checker, _choice, _join, _mapping, _text
from bluegreen.reading.names import _base_name, _check_table
from bluegreen.refs import StackReference
from bluegreen.services._kit import Claim, Phased, Reading, Row, Service, ToolSource, done, pick

if TYPE_CHECKING:
    from bluegreen.tools.dynamodb import DynamoConfig, DynamoTools

DynamoOnRetire = Literal["keep", "delete"]


class MissingResourceError(RuntimeError):
    """A resource the plan names does not exist (for example a table deleted by an earlier retire)."""


@datatype(kw_only=True)
class DynamoEntry:
    """The table of each stack; with ``on_retire: delete`` the retired stack's table is deleted."""

    a: str
    b: str
    on_retire: DynamoOnRetire = "keep"
    wait_for_delete: bool = False

    def config(self, region: str, account_id: str | None = None) -> DynamoConfig:
        """The :class:`~bluegreen.tools.dynamodb.DynamoConfig` of this entry."""
        from bluegreen.tools.dynamodb import DynamoConfig  # noqa: PLC0415 - tools load only when used

        return DynamoConfig(
            region=region,
            account_id=account_id,
            table_name_a=self.a,
            table_name_b=self.b,
            wait_for_table_delete=self.wait_for_delete,
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"a": self.a, "b": self.b, "on_retire": self.on_retire, "wait_for_delete": self.wait_for_delete}


def read(c: _Checker, raw: object, path: str) -> DynamoEntry | None:
    """Check one raw ``dynamodb`` entry: two tables and what retiring does to the old one."""
    f = _mapping(c, raw, path, ("a", "b", "on_retire", "wait_for_delete"), "a DynamoDB entry")
    if f is None:
        return None
    mark = c.count()
    a = _text(c, f, path, "a", "name stack a's table", check=_check_table)
    b = _text(c, f, path, "b", "name stack b's table", check=_check_table)
    on_retire = _choice(c, f, path, "on_retire", ("keep", "delete"))
    wait = _bool(c, f, path, "wait_for_delete", False)
    if wait and on_retire != "delete":
        c.add(_join(path, "wait_for_delete"), "applies only with on_retire: delete")
    if c.count() != mark:
        return None
    return DynamoEntry(a=a, b=b, on_retire=cast("DynamoOnRetire", on_retire), wait_for_delete=wait)


def claims(entry: DynamoEntry, path: str) -> list[Claim]:
    """Each stack's table, by name."""
    return [Claim("table", (_base_name(entry.a),), _join(path, "a")),
            Claim("table", (_base_name(entry.b),), _join(path, "b"))]  # fmt: skip


def require_table(tool: DynamoTools, index: int, ref: StackReference) -> None:
    """Raise :class:`MissingResourceError` when stack ``ref``'s table of ``plan.dynamodb[index]`` is missing."""
    if not tool.table_exists(ref):
        name = tool.table_name(ref)
        raise MissingResourceError(
            f"plan.dynamodb[{index}].{ref.value}: table {name!r} does not exist — with on_retire: delete, "
            "your infrastructure code must recreate it before the next deployment back to this stack"
        )


def table_deleted(tools: DynamoTools, ref: StackReference, wait: bool) -> Callable[[], StepStatus]:
    """Delete the table; with ``wait``, done only once it is gone (polled, not slept on)."""

    def action() -> StepStatus:
        status = tools.table_status(ref)
        if status is None:
            return DONE
        if status != "DELETING":
            tools.delete_table(ref)
        return PENDING if wait else DONE

    return action


def prepare(entry: DynamoEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """Check the replacement's table exists before anything of it goes on."""
    table = pick(stack, entry.a, entry.b)
    return [Phased("check", Step(
        f"dynamodb[{index}].check", f"check table {table} exists", "dynamodb", stack,
        done(partial(require_table, box.tool("dynamodb", index), index, stack)),
        calls=(f"dynamodb:DescribeTable {table}",),
    ))]  # fmt: skip


def retire(entry: DynamoEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """With ``on_retire: delete``, delete the old stack's table, last of all."""
    if entry.on_retire != "delete":
        return []
    table = pick(stack, entry.a, entry.b)
    return [Phased("delete", Step(
        f"dynamodb[{index}].delete", f"delete table {table}", "dynamodb", stack,
        table_deleted(box.tool("dynamodb", index), stack, entry.wait_for_delete),
        destructive=True, irreversible=True, calls=(f"dynamodb:DeleteTable {table}",),
    ))]  # fmt: skip


def rows(entry: DynamoEntry, index: int, box: ToolSource) -> list[Row]:
    """Each stack's table status (missing once deleted)."""

    def table_status(ref: StackReference) -> Reading:
        tool = box.tool("dynamodb", index)
        status = tool.table_status(ref)
        if status is None:
            raise LookupError(tool.table_name(ref))
        return status, None, {"table_status": status}

    what = "table (deleted on retire)" if entry.on_retire == "delete" else "table"
    return [Row(f"dynamodb[{index}]", "dynamodb", what, False, (entry.a, entry.b), table_status)]


def _config(entry: DynamoEntry, region: str, account_id: str | None) -> DynamoConfig:
    """The flows poll for a deleted table to be gone instead of blocking a thread on a waiter."""
    return dataclasses.replace(entry.config(region, account_id), wait_for_table_delete=False)


SERVICE = Service(
    name="dynamodb",
    title="DynamoDB",
    entry=DynamoEntry,
    read=read,
    claims=claims,
    tool=("dynamodb", "DynamoTools"),
    config=_config,
    prepare=prepare,
    retire=retire,
    rows=rows,
)
