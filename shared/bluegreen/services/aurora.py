"""Aurora: each stack's cluster, started and scaled out for the replacement, stopped (or deleted) on retire.

The prepare starts the replacement's cluster and waits until it is available, then raises its
auto-scaled reader minimum to the live cluster's reader count (so it takes traffic at the same
size). The retire gives the new live cluster's minimum back to the plan's, then stops the old one
(``on_retire: stop``; a cluster busy with an instance change is waited for) or, last of all, deletes
it (``on_retire: delete``, with a final snapshot unless ``skip_delete_snapshots``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast

from bluegreen.datatypes import datatype
from bluegreen.engine import DONE, PENDING, Step, StepStatus
from bluegreen.reading.fields import (
    _bool,
    _Checker,
    _choice,
    _int,
    _join,
    _kind,
    _mapping,
    _not_a_string,
    _opt_text,
    _text,
)
from bluegreen.reading.names import _check_aurora
from bluegreen.refs import ClusterState, StackReference
from bluegreen.services._kit import Claim, Mode, Phased, Reading, Row, Service, ToolSource, done, pick

if TYPE_CHECKING:
    from bluegreen.tools.aurora import AuroraConfig, AuroraTools

logger = logging.getLogger(__name__)

AuroraOnRetire = Literal["stop", "delete", "keep"]

#: Cluster states that will not become available (or stoppable) by waiting.
BROKEN = {
    ClusterState.DELETING,
    ClusterState.CLONING_FAILED,
    ClusterState.MIGRATION_FAILED,
    ClusterState.INACCESSIBLE_ENCRYPTION_CREDENTIALS,
    ClusterState.LIMITLESS_DATA_MIGRATION_FAILED,
}


@datatype(kw_only=True)
class AuroraEntry:
    """The Aurora cluster of each stack, its minimum reader count, and what retiring does to it."""

    a: str
    b: str
    minimum_cluster_size: int = 1
    on_retire: AuroraOnRetire = "stop"
    skip_delete_snapshots: bool = False
    namespace: str = "*"
    tags: dict[str, str] = field(default_factory=dict)

    def config(self, region: str, account_id: str | None = None) -> AuroraConfig:
        """The :class:`~bluegreen.tools.aurora.AuroraConfig` of this entry (tags copied)."""
        from bluegreen.tools.aurora import AuroraConfig  # noqa: PLC0415 - tools load only when used

        return AuroraConfig(
            region=region,
            account_id=account_id,
            cluster_name_a=self.a,
            cluster_name_b=self.b,
            minimum_cluster_size=self.minimum_cluster_size,
            skip_delete_snapshots=self.skip_delete_snapshots,
            namespace=self.namespace,
            tags=dict(self.tags),
        )

    def to_document(self) -> dict[str, Any]:
        """The entry as the plan document spells it."""
        return {
            "a": self.a,
            "b": self.b,
            "minimum_cluster_size": self.minimum_cluster_size,
            "on_retire": self.on_retire,
            "skip_delete_snapshots": self.skip_delete_snapshots,
            "namespace": self.namespace,
            "tags": dict(self.tags),
        }


# --------------------------------------------------------------------------- reading a plan entry


def _read_tags(c: _Checker, raw: object, path: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        c.add(path, f"must be a mapping of tag keys to values, got {_kind(raw)}")
        return {}
    if len(raw) > 50:
        c.add(path, "must hold at most 50 tags")
    tags: dict[str, str] = {}
    charset = re.compile(r"[\w\s.:/=+@-]*")
    for key, value in raw.items():
        where = _join(path, key)
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not charset.fullmatch(key):
            c.add(where, "a tag key must be 1 to 128 letters, digits, spaces and . : / = + - @ _")
        elif key.lower().startswith("aws:"):
            c.add(where, "tag keys starting with aws: are reserved for AWS")
        elif not isinstance(value, str):
            c.add(where, _not_a_string(value))
        elif len(value) > 256 or not charset.fullmatch(value):
            c.add(where, "a tag value must be up to 256 letters, digits, spaces and . : / = + - @ _")
        else:
            tags[key] = value
    return tags


def read(c: _Checker, raw: object, path: str) -> AuroraEntry | None:
    """Check one raw ``aurora`` entry: two clusters, the reader minimum, what retiring does, tags."""
    keys = ("a", "b", "minimum_cluster_size", "on_retire", "skip_delete_snapshots", "namespace", "tags")
    f = _mapping(c, raw, path, keys, "an Aurora entry")
    if f is None:
        return None
    mark = c.count()
    a = _text(c, f, path, "a", "name stack a's cluster", check=_check_aurora)
    b = _text(c, f, path, "b", "name stack b's cluster", check=_check_aurora)
    size = _int(
        c,
        f,
        path,
        "minimum_cluster_size",
        default=1,
        ok=lambda n: 0 <= n <= 15,
        message="must be an integer from 0 to 15 (the reader count an Aurora cluster keeps; it has at most 15)",
    )
    on_retire = _choice(c, f, path, "on_retire", ("stop", "delete", "keep"))
    skip = _bool(c, f, path, "skip_delete_snapshots", False)
    if skip and on_retire != "delete":
        c.add(_join(path, "skip_delete_snapshots"), "applies only with on_retire: delete")
    namespace = _opt_text(c, f, path, "namespace") or "*"
    tags = _read_tags(c, f["tags"], _join(path, "tags")) if "tags" in f else {}
    if c.count() != mark:
        return None
    return AuroraEntry(
        a=a,
        b=b,
        minimum_cluster_size=size,
        on_retire=cast("AuroraOnRetire", on_retire),
        skip_delete_snapshots=skip,
        namespace=namespace,
        tags=tags,
    )


def claims(entry: AuroraEntry, path: str) -> list[Claim]:
    """Each stack's cluster, by identifier (RDS identifiers are not case-sensitive)."""
    return [Claim("Aurora cluster", (entry.a.lower(),), _join(path, "a")),
            Claim("Aurora cluster", (entry.b.lower(),), _join(path, "b"))]  # fmt: skip


# --------------------------------------------------------------------------- the flows' steps


def cluster_ready(tools: AuroraTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Start the cluster when stopped; done once it is available (a stopping cluster is waited for first)."""

    def action() -> StepStatus:
        state = tools.get_cluster_state(ref)
        if state is ClusterState.AVAILABLE:
            return DONE
        if state is ClusterState.STOPPED:
            tools.start_database(ref)
            return PENDING
        if state in BROKEN:
            raise RuntimeError(f"cluster {tools.cluster_name(ref)} is {state.value}: it will not become available")
        return PENDING

    return action


def cluster_stopped(tools: AuroraTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Stop the cluster once it can be stopped; a cluster busy modifying or backing up is waited for.

    RDS refuses ``StopDBCluster`` (``InvalidDBInstanceState``) while one of the cluster's instances is
    busy — a reader auto scaling adds or removes, Performance Insights being turned on: that is a
    wait too (``ClusterBusyError``), not a failure that would put the whole retire back. So is a
    status that changed between the read and the stop (``ClusterStateError``): the next poll reads it
    again, and a cluster that can never stop (deleting, failed) raises then.
    """

    def action() -> StepStatus:
        state = tools.get_cluster_state(ref)
        if state in (ClusterState.STOPPED, ClusterState.STOPPING):
            return DONE
        if state is ClusterState.AVAILABLE:
            # Imported here: a handler imports no tool module before it needs one (its cold start).
            from bluegreen.tools.aurora import ClusterStateError  # noqa: PLC0415

            try:
                tools.stop_database(ref)
            except ClusterStateError as busy:
                # A reader being added, removed or modified (ClusterBusyError), or the cluster's status
                # changed since it was read: read it again at the next poll (broken states raise there).
                logger.info("cluster %s cannot stop yet: %s", tools.cluster_name(ref), busy)
                return PENDING
            return DONE
        if state in BROKEN:
            raise RuntimeError(f"cluster {tools.cluster_name(ref)} is {state.value}: it cannot be stopped")
        return PENDING

    return action


def cluster_restarted(tools: AuroraTools, ref: StackReference) -> Callable[[], StepStatus]:
    """Undo of a stop: start the cluster again as soon as it has stopped (a stopping cluster cannot start)."""

    def action() -> StepStatus:
        state = tools.get_cluster_state(ref)
        if state is ClusterState.STOPPED:
            tools.start_database(ref)
            return DONE
        if state is ClusterState.STOPPING:
            return PENDING
        if state in BROKEN:
            raise RuntimeError(f"cluster {tools.cluster_name(ref)} is {state.value}: it cannot be started")
        return DONE

    return action


def stop_step(entry: AuroraEntry, index: int, box: ToolSource, stack: StackReference, *, undo: bool) -> Step:
    """Stop ``stack``'s cluster (destructive); with ``undo``, a put-back starts it again."""
    tools: AuroraTools = box.tool("aurora", index)
    name = pick(stack, entry.a, entry.b)
    step = Step(
        f"aurora[{index}].stop", f"stop cluster {name}", "aurora", stack, cluster_stopped(tools, stack),
        destructive=True, calls=(f"rds:StopDBCluster {name}",),
    )  # fmt: skip
    if not undo:
        return step
    return dataclasses.replace(step, undo=cluster_restarted(tools, stack), undo_calls=(f"rds:StartDBCluster {name}",))


def prepare(entry: AuroraEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """Start the replacement's cluster and wait until available; then its reader minimum := the live count."""
    aurora: AuroraTools = box.tool("aurora", index)
    name, live = pick(stack, entry.a, entry.b), pick(stack, entry.b, entry.a)
    return [
        Phased("ready", Step(
            f"aurora[{index}].ready", f"start cluster {name} and wait until available", "aurora", stack,
            cluster_ready(aurora, stack),
            calls=(f"rds:DescribeDBClusters {name}", f"rds:StartDBCluster {name} (when stopped)"),
        )),
        Phased("ready", Step(
            f"aurora[{index}].scale-out", f"min readers of {name} := the reader count of {live}", "aurora", stack,
            done(partial(aurora.scale_out, stack)), depends_on=(f"aurora[{index}].ready",),
            calls=(f"rds:DescribeDBClusters {live}", f"application-autoscaling:RegisterScalableTarget cluster:{name}"),
            undo=partial(aurora.scale_in, stack),
            undo_calls=(f"application-autoscaling:RegisterScalableTarget cluster:{name}",),
        ), gate=False),
    ]  # fmt: skip


def retire(entry: AuroraEntry, index: int, box: ToolSource, stack: StackReference) -> list[Phased]:
    """The new live cluster's minimum back to the plan's; then the old cluster stopped or, last, deleted."""
    aurora: AuroraTools = box.tool("aurora", index)
    new = stack.partner
    name, live = pick(stack, entry.a, entry.b), pick(new, entry.a, entry.b)
    found = [Phased("scale-in", Step(
        f"aurora[{index}].scale-in", f"min readers of {live} := {entry.minimum_cluster_size}", "aurora", new,
        done(partial(aurora.scale_in, new)),
        calls=(f"application-autoscaling:RegisterScalableTarget cluster:{live}",),
        undo=partial(aurora.scale_out, new),
        undo_calls=(f"application-autoscaling:RegisterScalableTarget cluster:{live}",),
    ))]  # fmt: skip
    if entry.on_retire == "stop":
        found.append(Phased("stop", stop_step(entry, index, box, stack, undo=True)))
    elif entry.on_retire == "delete":
        snapshot = "no final snapshot" if entry.skip_delete_snapshots else "with a final snapshot"
        found.append(Phased("delete", Step(
            f"aurora[{index}].delete", f"delete cluster {name} ({snapshot})", "aurora", stack,
            done(partial(aurora.delete_database, stack)), destructive=True, irreversible=True,
            calls=(f"rds:DeleteDBInstance (members of {name})", f"rds:DeleteDBCluster {name}"),
        )))  # fmt: skip
    return found


def confirm(entry: AuroraEntry, index: int, box: ToolSource, stack: StackReference) -> None:
    """Raise unless ``stack``'s cluster is available (a stop may have landed after it was waited for)."""
    tools: AuroraTools = box.tool("aurora", index)
    state = tools.get_cluster_state(stack)
    if state is not ClusterState.AVAILABLE:
        raise RuntimeError(f"cluster {tools.cluster_name(stack)} is {state.value}, not available")


def rows(entry: AuroraEntry, index: int, box: ToolSource) -> list[Row]:
    """Each stack's cluster status, reader count and reader minimum."""

    def cluster(ref: StackReference) -> Reading:
        tool = box.tool("aurora", index)
        status = tool.get_cluster_state(ref)
        readers, minimum = tool.get_reader_count(ref), tool.get_min_capacity(ref)
        mode: Mode = "on" if status.value == "available" else "off" if status.value == "stopped" else "partly"
        state = f"{status.value} · {readers} reader{'s' if readers != 1 else ''} · min {minimum}"
        return state, mode, {"status": status.value, "readers": readers, "min_capacity": minimum}

    return [Row(f"aurora[{index}]", "aurora", "Aurora cluster", True, (entry.a, entry.b), cluster)]


SERVICE = Service(
    name="aurora",
    title="Aurora",
    entry=AuroraEntry,
    read=read,
    claims=claims,
    tool=("aurora", "AuroraTools"),
    prepare=prepare,
    retire=retire,
    confirm=confirm,
    rows=rows,
)
