"""Aurora reader capacity through Application Auto Scaling: the cluster's scalable target, its minimum, its removal.

The target of a cluster is namespace ``rds``, resource ``cluster:<name>``, dimension
:data:`READ_REPLICA_COUNT`. The functions take the Application Auto Scaling client and the cluster's
name; :class:`~bluegreen.tools.aurora.AuroraTools` calls them (``get_min_capacity``,
``set_min_capacity``, ``delete_database``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from bluegreen.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_application_autoscaling.type_defs import (
        RegisterScalableTargetRequestTypeDef,
        ScalableTargetTypeDef,
    )

# The Aurora tool's logger: its records keep their name wherever the code lives.
logger = logging.getLogger("bluegreen.tools.aurora")

#: The Application Auto Scaling dimension of an Aurora cluster's reader count.
READ_REPLICA_COUNT: Final = "rds:cluster:ReadReplicaCount"


def scalable_target(aas: ApplicationAutoScalingClient, name: str) -> ScalableTargetTypeDef | None:
    """The cluster's reader-count target (``DescribeScalableTargets``), or None when none is registered."""
    resource = f"cluster:{name}"
    pages = aas.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="rds", ResourceIds=[resource], ScalableDimension=READ_REPLICA_COUNT
    )
    for page in pages:
        for target in page.get("ScalableTargets", []):
            if target["ResourceId"] == resource:
                return target
    return None


def set_min_capacity(aas: ApplicationAutoScalingClient, name: str, capacity: int, *, region: str) -> None:
    """``RegisterScalableTarget`` MinCapacity := ``capacity`` on the cluster's target (see ``AuroraTools``).

    ``LookupError`` naming the cluster (and ``region``) when it has no target; the max is raised to
    ``capacity`` when below it; no call when the min already is ``capacity``.
    """
    target = scalable_target(aas, name)
    if target is None:
        raise LookupError(
            f"Aurora cluster {name!r} has no Application Auto Scaling target {READ_REPLICA_COUNT} "
            f"(resource cluster:{name}, region {region}): register one before scaling it"
        )
    if target["MinCapacity"] == capacity:
        logger.info("Aurora cluster %r: min reader capacity already %d", name, capacity)
        return
    params: RegisterScalableTargetRequestTypeDef = {
        "ServiceNamespace": "rds",
        "ResourceId": target["ResourceId"],
        "ScalableDimension": READ_REPLICA_COUNT,
        "MinCapacity": capacity,
    }
    if capacity > target["MaxCapacity"]:
        logger.warning(
            "Aurora cluster %r: max reader capacity raised from %d to %d to allow that minimum",
            name,
            target["MaxCapacity"],
            capacity,
        )
        params["MaxCapacity"] = capacity
    aas.register_scalable_target(**params)
    logger.info("Aurora cluster %r: min reader capacity %d -> %d", name, target["MinCapacity"], capacity)


def deregister_scalable_target(aas: ApplicationAutoScalingClient, name: str) -> None:
    """``DeregisterScalableTarget`` on the cluster's reader-count target, when it has one.

    A target deregistered meanwhile (``ObjectNotFoundException``) counts as deregistered.
    """
    target = scalable_target(aas, name)
    if target is None:
        logger.info("Aurora cluster %r has no auto scaling target to deregister", name)
        return
    try:
        aas.deregister_scalable_target(
            ServiceNamespace="rds", ResourceId=target["ResourceId"], ScalableDimension=READ_REPLICA_COUNT
        )
    except ClientError as err:
        if error_code(err) != "ObjectNotFoundException":
            raise
        logger.info("Aurora cluster %r: auto scaling target already deregistered", name)
        return
    logger.info("Aurora cluster %r: auto scaling target deregistered", name)
