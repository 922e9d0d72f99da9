"""What the demo checks after a deployment CodeDeploy ended: the record and both stacks, as a settle leaves them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bluegreen.refs import StackReference
from bluegreen.state import Phase

if TYPE_CHECKING:
    from bluegreen.status import StatusReport


def settled_problems(report: StatusReport, deployment: str) -> list[str]:
    """What differs from a stopped deployment settled, in the record and in what AWS holds.

    The record: live a, ``deployment`` rolled back and settled. AWS: stack a working; stack b's
    workers at 0, subscription disabled, and every other switch the prepare turned on off again,
    its Aurora cluster stopped.
    """
    a, b = StackReference.A, StackReference.B
    record = report.record
    problems: list[str] = []
    if record is None:
        return ["no record"]
    if record.live is not a:
        problems.append(f"the record says live {record.live}, not a")
    if record.deployment_id != deployment or record.phase is not Phase.ROLLED_BACK or not record.settled:
        problems.append(f"the record holds {record.describe()}, not {deployment} rolled-back and settled")
    if report.condition(a) != "working":
        problems.append(f"stack a is {report.condition(a)}, not working")
    for row in report.resources:
        side = row.stack(b)
        if row.switch and side.mode != "off":
            problems.append(f"{row.id} of stack b: {side.state}, not off")
        if row.service == "ecs" and side.data.get("desired_count") != 0:
            problems.append(f"{row.id} of stack b: {side.state}, not desired 0")
        if row.service == "sns" and side.data.get("enabled") is not False:
            problems.append(f"{row.id} of stack b: {side.state}, not disabled")
    return problems
