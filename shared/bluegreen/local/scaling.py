"""A scaling activity of Application Auto Scaling on ECS services, which moto never runs by itself.

AWS: "anytime a scaling policy is invoked or the RegisterScalableTarget API is called, Application
Auto Scaling retrieves the current capacity and compares it to the minimum and maximum capacity. If it
falls outside of the minimum-maximum range, then the capacity is updated to comply with the set minimum
and maximum" (https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html). A
worker service retired to desiredCount 0 under a target with min 1 is therefore started again by the
next scaling activity — unless that activity is suspended: with ``DynamicScalingOutSuspended`` (or
``DynamicScalingInSuspended``) no scaling policy adds (or removes) capacity, and with
``ScheduledScalingSuspended`` no scheduled action runs
(https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-suspend-resume-scaling.html).

moto keeps scalable targets and their ``SuspendedState`` but never scales anything. :func:`run_scaling_activity`
is the model, for tests and the emulator's caller to run when they choose (it is off unless called):
for every ECS service target (``ecs:service:DesiredCount``) in moto's Application Auto Scaling backend
whose service's desired count is outside [min, max], it puts the count back into the range — unless
the kind of activity that would do it is suspended. It acts on moto's backends in this process, so it
works the same under ``mock_aws`` and in the embedded emulator.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from bluegreen.datatypes import datatype

__all__ = ["ECS_DESIRED_COUNT", "ScalingActivity", "run_scaling_activity"]

ECS_DESIRED_COUNT = "ecs:service:DesiredCount"

Cause = Literal["policy", "scheduled"]


@datatype
class ScalingActivity:
    """What one activity did to a target whose service was outside its range.

    ``after`` equals ``before`` when the activity was suspended (``suspended`` names the flag that
    stopped it); otherwise ``after`` is the count it was put back to.
    """

    resource_id: str
    before: int
    after: int
    suspended: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the desired count was changed."""
        return self.after != self.before


def run_scaling_activity(
    *,
    region: str,
    account_id: str = DEFAULT_ACCOUNT_ID,
    cause: Cause = "policy",
    resource_ids: Collection[str] | None = None,
) -> list[ScalingActivity]:
    """Run one scaling activity on the ECS service targets of moto in ``region``; returns what it did.

    ``cause`` is what set it off: ``"policy"`` (a scaling policy invoked by its alarm: bringing the
    count up to the min is a scale-out, stopped by ``DynamicScalingOutSuspended``; down to the max a
    scale-in, stopped by ``DynamicScalingInSuspended``) or ``"scheduled"`` (a scheduled action,
    stopped by ``ScheduledScalingSuspended``). ``resource_ids`` (``service/<cluster>/<service>``)
    limits it to those targets. Targets whose service is within its range, or gone, are not listed.
    """
    targets: Any = applicationautoscaling_backends[account_id][region].targets.get(ECS_DESIRED_COUNT, {})
    ecs: Any = ecs_backends[account_id][region]
    done: list[ScalingActivity] = []
    for resource_id, target in list(targets.items()):
        if target.service_namespace != "ecs" or (resource_ids is not None and resource_id not in resource_ids):
            continue
        _, cluster, name = resource_id.split("/", 2)
        service = ecs.services.get(f"{cluster}:{name}")
        if service is None:
            continue
        before = int(service.desired_count)
        low, high = target.min_capacity, target.max_capacity
        after = max(before, low) if low is not None else before
        after = min(after, high) if high is not None else after
        if after == before:
            continue
        flag = _blocking_flag(cause, scale_out=after > before)
        if bool((target.suspended_state or {}).get(flag, False)):
            done.append(ScalingActivity(resource_id, before, before, suspended=flag))
            continue
        ecs.update_service({"cluster": cluster, "service": name, "desired_count": after})
        done.append(ScalingActivity(resource_id, before, after))
    return done


def _blocking_flag(cause: Cause, *, scale_out: bool) -> str:
    """The ``SuspendedState`` flag that stops this kind of activity."""
    if cause == "scheduled":
        return "ScheduledScalingSuspended"
    return "DynamicScalingOutSuspended" if scale_out else "DynamicScalingInSuspended"
