"""Aurora's DB instances: finding one, an auto-scaled reader of ours and its tags, busy members, deletion, and PI.

The functions take the RDS client; :class:`~bluegreen.tools.aurora.AuroraTools` calls them for its
cluster work (``stop_database``, ``delete_database``) and its RDS-event methods (``apply_tags``,
``enable_performance_insights``, ``get_tags_for_cluster``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from bluegreen.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBInstanceTypeDef, TagTypeDef

# The Aurora tool's logger: its records keep their name wherever the code lives.
logger = logging.getLogger("bluegreen.tools.aurora")

#: The tag Aurora Auto Scaling puts on the readers it adds; its value is ``cluster:<cluster id>``.
AUTOSCALING_RESOURCE_TAG = "application-autoscaling:resourceId"
#: Error codes meaning "the instance (or its cluster) is not ready for this yet".
NOT_READY = frozenset({"InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault"})


def find_instance(rds: RDSClient, id_or_arn: str) -> DBInstanceTypeDef | None:
    """The DB instance of that identifier or ARN (``DescribeDBInstances``), or None."""
    pages = rds.get_paginator("describe_db_instances").paginate(
        Filters=[{"Name": "db-instance-id", "Values": [id_or_arn]}]
    )
    for page in pages:
        for instance in page.get("DBInstances", []):
            return instance
    return None


def autoscaled_reader(
    rds: RDSClient, instance_id: str, *, clusters: Iterable[str], namespace: str
) -> DBInstanceTypeDef | None:
    """The instance when Auto Scaling added it to one of ``clusters`` (within ``namespace``), else None."""
    instance = find_instance(rds, instance_id)
    if instance is None:
        logger.info("DB instance %r not found: event ignored", instance_id)
        return None
    tags = {tag.get("Key"): tag.get("Value", "") for tag in instance.get("TagList", [])}
    resource = tags.get(AUTOSCALING_RESOURCE_TAG)
    ours = {f"cluster:{cluster}" for cluster in clusters}
    if resource not in ours or (namespace != "*" and namespace not in resource):
        logger.info("DB instance %r is no auto-scaled reader of this config (%r): ignored", instance_id, resource)
        return None
    return instance


def busy_members(rds: RDSClient, cluster: str) -> dict[str, str]:
    """The cluster's instances that are not available, with their status (``DescribeDBInstances``)."""
    pages = rds.get_paginator("describe_db_instances").paginate(
        Filters=[{"Name": "db-cluster-id", "Values": [cluster]}]
    )
    return {
        instance["DBInstanceIdentifier"]: instance.get("DBInstanceStatus", "")
        for page in pages
        for instance in page.get("DBInstances", [])
        if instance.get("DBInstanceStatus") != "available"
    }


def add_missing_tags(rds: RDSClient, instance: DBInstanceTypeDef, wanted: dict[str, str], *, label: str) -> None:
    """``AddTagsToResource`` with the ``wanted`` tags the instance does not carry yet (no call when none)."""
    held = {tag.get("Key"): tag.get("Value") for tag in instance.get("TagList", [])}
    missing: list[TagTypeDef] = [
        {"Key": key, "Value": value} for key, value in wanted.items() if held.get(key) != value
    ]
    if missing:
        rds.add_tags_to_resource(ResourceName=instance["DBInstanceArn"], Tags=missing)
        logger.info("DB instance %r tagged: %s", label, sorted(key for key in wanted))


def delete_instance(rds: RDSClient, identifier: str) -> None:
    """``DeleteDBInstance``; an instance already gone, or refused as not ready while it is being deleted, is done."""
    try:
        rds.delete_db_instance(DBInstanceIdentifier=identifier)
    except ClientError as err:
        code = error_code(err)
        if code == "DBInstanceNotFound":
            return
        if code in NOT_READY:
            instance = find_instance(rds, identifier)
            if instance is None or instance.get("DBInstanceStatus") == "deleting":
                return
        raise
    logger.info("DB instance %r deleting", identifier)


def enable_performance_insights(rds: RDSClient, name: str, *, attempts: int, delay: float) -> ClientError | None:
    """``ModifyDBInstance`` EnablePerformanceInsights=True, ApplyImmediately=True, tried ``attempts`` times.

    A try refused as not ready (:data:`NOT_READY`) is made again after ``delay`` seconds; other errors
    propagate at once. None once it is done; the last refusal when every try was refused.
    """
    last: ClientError | None = None
    for attempt in range(1, attempts + 1):
        try:
            rds.modify_db_instance(DBInstanceIdentifier=name, EnablePerformanceInsights=True, ApplyImmediately=True)
        except ClientError as err:
            if error_code(err) not in NOT_READY:
                raise
            last = err
            logger.info("DB instance %r not ready (try %d of %d): %s", name, attempt, attempts, err)
            if attempt < attempts:
                time.sleep(delay)
            continue
        logger.info("DB instance %r: Performance Insights enabled", name)
        return None
    return last
