"""ECS: scale a stack's worker service up to its working size, or down to zero."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from bluegreen.refs import StackReference
from bluegreen.tools._base import AwsConfig, BaseTools

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient


@dataclass(kw_only=True)
class EcsConfig(AwsConfig):
    """The ECS cluster, the service of each stack in it, and the task count of a working service."""

    cluster: str
    service_name_a: str
    service_name_b: str
    desired_tasks: int


class EcsTools(BaseTools[EcsConfig]):
    """Scales the worker ECS service of stack a or b (``UpdateService`` desired count)."""

    @property
    def _ecs(self) -> ECSClient:
        return cast("ECSClient", self._client("ecs"))

    def service_name(self, ref: StackReference | str) -> str:
        """The name of the stack's ECS service."""
        return self._pick(ref, self.config.service_name_a, self.config.service_name_b)

    def disable_service(self, ref: StackReference | str) -> None:
        """Set the stack's service desired count to 0 (ECS stops its tasks); idempotent."""
        self._set_desired_count(ref, 0)

    def enable_service(self, ref: StackReference | str) -> None:
        """Set the stack's service desired count to ``desired_tasks`` (ECS starts tasks); idempotent."""
        self._set_desired_count(ref, self.config.desired_tasks)

    def get_desired_count(self, ref: StackReference | str) -> int:
        """The stack's service desired count as ECS holds it now (``DescribeServices``)."""
        name = self.service_name(ref)
        found = self._ecs.describe_services(cluster=self.config.cluster, services=[name])
        services = found.get("services", [])
        if not services:
            raise LookupError(f"ECS service {name!r} not found in cluster {self.config.cluster!r}")
        return services[0].get("desiredCount", 0)

    def _set_desired_count(self, ref: StackReference | str, count: int) -> None:
        self._ecs.update_service(cluster=self.config.cluster, service=self.service_name(ref), desiredCount=count)
