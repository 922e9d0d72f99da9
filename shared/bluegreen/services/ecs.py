"""ECS: each stack's worker service, scaled to ``desired_tasks`` while it works and to 0 once retired.

Retiring suspends the service's Application Auto Scaling (so no scaling activity brings the retired
workers back) and sets its desired count to 0; preparing sets the count and resumes scaling.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from bluegreen.datatypes import datatype
from bluegreen.reading.fields import _Checker, _int, _join, _mapping, _text
from bluegreen.reading.names import _base_name, _check_cluster, _check_service
from bluegreen.refs import StackReference
from bluegreen.services._kit import Claim, Reading, Row, Service, Switch, ToolSource, pick

if TYPE_CHECKING:
    from bluegreen.tools.ecs import EcsConfig, EcsTools


@datatype(kw_only=True)
class EcsEntry:
    """The worker ECS service of each stack in ``cluster``, and its task count when working."""

    cluster: str
    a: str
    b: str
    desired_tasks: int

    def config(self, region: str, account_id: str | None = None) -> EcsConfig:
        """The :class:`~bluegreen.tools.ecs.EcsConfig` of this entry."""
        from bluegreen.tools.ecs import EcsConfig  # noqa: PLC0415 - tools load only when used

        return EcsConfig(
            region=region,
            account_id=account_id,
            cluster=self.cluster,
            service_name_a=self.a,
            service_name_b=self.b,
            desired_tasks=self.desired_tasks,
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {"cluster": self.cluster, "a": self.a, "b": self.b, "desired_tasks": self.desired_tasks}


def read(c: _Checker, raw: object, path: str) -> EcsEntry | None:
    """Check one raw ``ecs`` entry."""
    f = _mapping(c, raw, path, ("cluster", "a", "b", "desired_tasks"), "an ECS entry")
    if f is None:
        return None
    mark = c.count()
    cluster = _text(c, f, path, "cluster", "name the ECS cluster of both services", check=_check_cluster)
    a = _text(c, f, path, "a", "name stack a's ECS service", check=_check_service)
    b = _text(c, f, path, "b", "name stack b's ECS service", check=_check_service)
    if "desired_tasks" not in f:
        c.add(_join(path, "desired_tasks"), "required — the task count of a working service")
    tasks = _int(
        c, f, path, "desired_tasks", default=1, ok=lambda n: n >= 1, message="must be an integer of at least 1"
    )
    return EcsEntry(cluster=cluster, a=a, b=b, desired_tasks=tasks) if c.count() == mark else None


def claims(entry: EcsEntry, path: str) -> list[Claim]:
    """Each stack's service, known by cluster and service name."""
    cluster = _base_name(entry.cluster)
    return [Claim("ECS service", (cluster, _base_name(entry.a)), _join(path, "a")),
            Claim("ECS service", (cluster, _base_name(entry.b)), _join(path, "b"))]  # fmt: skip


def switches(entry: EcsEntry, index: int, box: ToolSource, stack: StackReference) -> list[Switch]:
    """The stack's worker service: desired count and scaling on, or suspended scaling and 0 tasks."""
    ecs: EcsTools = box.tool("ecs", index)
    service = pick(stack, entry.a, entry.b)
    return [Switch(
        f"ecs[{index}]", "ecs", f"worker service {entry.cluster}/{service}",
        partial(ecs.enable_service, stack), partial(ecs.disable_service, stack),
        (
            f"ecs:UpdateService {entry.cluster}/{service} desiredCount={entry.desired_tasks}",
            "application-autoscaling:RegisterScalableTarget (scaling resumed, when it has a target)",
        ),
        (
            "application-autoscaling:RegisterScalableTarget (scaling suspended, when it has a target)",
            f"ecs:UpdateService {entry.cluster}/{service} desiredCount=0",
        ),
    )]  # fmt: skip


def rows(entry: EcsEntry, index: int, box: ToolSource) -> list[Row]:
    """The desired count of each stack's service (on above 0)."""

    def desired(ref: StackReference) -> Reading:
        count = box.tool("ecs", index).get_desired_count(ref)
        return f"desired {count}", "on" if count > 0 else "off", {"desired_count": count}

    return [Row(f"ecs[{index}]", "ecs", f"worker service in {entry.cluster}", True, (entry.a, entry.b), desired)]


SERVICE = Service(
    name="ecs",
    title="ECS",
    entry=EcsEntry,
    read=read,
    claims=claims,
    tool=("ecs", "EcsTools"),
    switches=switches,
    rows=rows,
)
