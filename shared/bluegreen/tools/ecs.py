"""ECS: scale a stack's worker service up to its working size, or down to zero.

A worker service may have an Application Auto Scaling scalable target (namespace ``ecs``, resource
``service/<cluster>/<service>``, dimension ``ecs:service:DesiredCount``). AWS puts the desired count
of such a service back into the target's min-max range whenever a scaling policy is invoked or
``RegisterScalableTarget`` is called ("Application Auto Scaling concepts": *Scalable target*), so a
retired worker left at 0 below a min of 1 would be started again by the next scaling activity. The
tools therefore suspend the target's scaling when they retire the service, and resume it when they
prepare it ("Suspend and resume scaling for Application Auto Scaling"). The scaling policies, their
scheduled actions and the CloudWatch alarms of its target tracking policies are kept as they are:
those alarms belong to Application Auto Scaling, and are never touched here.

Sources:

- https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-suspend-resume-scaling.html
- https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html
- https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
- https://docs.aws.amazon.com/autoscaling/application/APIReference/API_SuspendedState.html
- https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final, cast

from bluegreen.datatypes import datatype
from bluegreen.refs import StackReference
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_application_autoscaling.type_defs import ScalableTargetTypeDef, SuspendedStateTypeDef
    from mypy_boto3_ecs import ECSClient

logger = logging.getLogger(__name__)

#: The Application Auto Scaling dimension of an ECS service's desired count.
ECS_DESIRED_COUNT: Final = "ecs:service:DesiredCount"
#: The three kinds of scaling activity Application Auto Scaling can suspend.
SUSPENDED_STATE_KEYS: Final = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")


def _suspended_state(suspended: bool) -> SuspendedStateTypeDef:
    return {
        "DynamicScalingInSuspended": suspended,
        "DynamicScalingOutSuspended": suspended,
        "ScheduledScalingSuspended": suspended,
    }


@datatype(frozen=False, kw_only=True)
class EcsConfig(AwsConfig):
    """The ECS cluster, the service of each stack in it, and the task count of a working service."""

    cluster: str
    service_name_a: str
    service_name_b: str
    desired_tasks: int


class EcsTools(BaseTools[EcsConfig]):
    """Scales the worker ECS service of stack a or b (``UpdateService`` desired count).

    When the service has an Application Auto Scaling scalable target, its scaling is suspended while
    the service is retired and resumed when it is prepared; a service without one is only scaled.
    """

    @property
    def _ecs(self) -> ECSClient:
        return cast("ECSClient", self._client("ecs"))

    @property
    def _aas(self) -> ApplicationAutoScalingClient:
        return cast("ApplicationAutoScalingClient", self._client("application-autoscaling"))

    def service_name(self, ref: StackReference | str) -> str:
        """The name of the stack's ECS service."""
        return self._pick(ref, self.config.service_name_a, self.config.service_name_b)

    def resource_id(self, ref: StackReference | str) -> str:
        """The Application Auto Scaling resource id of the stack's service: ``service/<cluster>/<service>``."""
        return f"service/{self.config.cluster}/{self.service_name(ref)}"

    def disable_service(self, ref: StackReference | str) -> None:
        """Retire the stack's service: suspend its auto scaling (if it has a target), then desired count 0.

        With a scalable target, ``RegisterScalableTarget`` first sets every ``SuspendedState`` flag
        (dynamic scale-in, dynamic scale-out, scheduled scaling) to true, without Min/MaxCapacity, so
        the target's range is kept (AWS leaves parameters that are not given unchanged). Then
        ``UpdateService`` desiredCount=0 and ECS stops the tasks. The order matters: AWS puts a
        target's capacity back into its min-max range whenever a scaling policy is invoked or
        ``RegisterScalableTarget`` is called, so a count set to 0 first could be raised to the min
        again before the suspension took hold; suspended, no policy or scheduled action changes it.

        Idempotent: a target already fully suspended is not registered again, and a count of 0 stays
        0. The scaling policies, scheduled actions and the alarms AWS made for target tracking are
        left as they are (AWS says not to edit those alarms).
        """
        target = self.scalable_target(ref)
        if target is not None and not _all_flags(target, True):
            self._set_suspended(target, True)
        self._set_desired_count(ref, 0)

    def enable_service(self, ref: StackReference | str) -> None:
        """Prepare the stack's service: desired count ``desired_tasks``, then resume its auto scaling.

        ``UpdateService`` desiredCount=``desired_tasks`` first; then, when the service has a scalable
        target whose scaling is suspended, ``RegisterScalableTarget`` sets every ``SuspendedState``
        flag back to false (Min/MaxCapacity are not given, so the range is kept). Resuming last means
        the count Application Auto Scaling finds when it takes over is ``desired_tasks``, not the 0 of
        the retired service. When resumed, AWS evaluates the policies whose alarms are in breach.

        ``desired_tasks`` should lie within the target's min-max range: outside it, AWS puts the count
        back into the range (up to the min, or down to the max) when ``RegisterScalableTarget`` is
        called or the next scaling policy is invoked. That is logged as a warning here, and not
        prevented: the range belongs to whoever registered the target.

        Idempotent: the count is set again, and a target already resumed is not registered again.
        """
        self._set_desired_count(ref, self.config.desired_tasks)
        target = self.scalable_target(ref)
        if target is None:
            return
        low, high = target["MinCapacity"], target["MaxCapacity"]
        if not low <= self.config.desired_tasks <= high:
            logger.warning(
                "ECS service %r: desired_tasks %d is outside its auto scaling range %d-%d; Application Auto "
                "Scaling will put the desired count back into that range",
                self.service_name(ref),
                self.config.desired_tasks,
                low,
                high,
            )
        if not _all_flags(target, False):
            self._set_suspended(target, False)

    def get_desired_count(self, ref: StackReference | str) -> int:
        """The stack's service desired count as ECS holds it now (``DescribeServices``)."""
        name = self.service_name(ref)
        found = self._ecs.describe_services(cluster=self.config.cluster, services=[name])
        services = found.get("services", [])
        if not services:
            raise LookupError(f"ECS service {name!r} not found in cluster {self.config.cluster!r}")
        return services[0].get("desiredCount", 0)

    def scalable_target(self, ref: StackReference | str) -> ScalableTargetTypeDef | None:
        """The service's Application Auto Scaling scalable target (``DescribeScalableTargets``), or None."""
        resource = self.resource_id(ref)
        pages = self._aas.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="ecs", ResourceIds=[resource], ScalableDimension=ECS_DESIRED_COUNT
        )
        for page in pages:
            for target in page.get("ScalableTargets", []):
                if target["ResourceId"] == resource:
                    return target
        return None

    def scaling_suspended(self, ref: StackReference | str) -> bool | None:
        """Whether the service's auto scaling is suspended: None when it has no scalable target.

        True only when every kind of scaling activity is suspended (dynamic scale-in and scale-out,
        scheduled scaling), as :meth:`disable_service` leaves it; a partial suspension is False.
        """
        target = self.scalable_target(ref)
        return None if target is None else _all_flags(target, True)

    def _set_suspended(self, target: ScalableTargetTypeDef, suspended: bool) -> None:
        self._aas.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=target["ResourceId"],
            ScalableDimension=ECS_DESIRED_COUNT,
            SuspendedState=_suspended_state(suspended),
        )
        logger.info("ECS scalable target %r: scaling %s", target["ResourceId"], "suspended" if suspended else "resumed")

    def _set_desired_count(self, ref: StackReference | str, count: int) -> None:
        self._ecs.update_service(cluster=self.config.cluster, service=self.service_name(ref), desiredCount=count)


def _all_flags(target: ScalableTargetTypeDef, value: bool) -> bool:
    """Whether every ``SuspendedState`` flag of the target is ``value`` (a missing flag is false, AWS's default)."""
    state = target.get("SuspendedState", {})
    return all(bool(state.get(key, False)) is value for key in SUSPENDED_STATE_KEYS)
