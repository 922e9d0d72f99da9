"""Aurora's DB cluster: what its statuses mean, reading it, and deleting it with (or without) a final snapshot.

The functions take the RDS client; :class:`~bluegreen.tools.aurora.AuroraTools` decides when to call
them (``get_cluster_state``, ``delete_database``, …).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from bluegreen.aws import error_code
from bluegreen.refs import ClusterState

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBClusterTypeDef, DeleteDBClusterMessageTypeDef

# The Aurora tool's logger: its records keep their name wherever the code lives.
logger = logging.getLogger("bluegreen.tools.aurora")

#: Statuses in which a cluster is neither running nor on its way to running.
NOT_RUNNING = frozenset(
    {
        ClusterState.STOPPED,
        ClusterState.STOPPING,
        ClusterState.DELETING,
        ClusterState.UNKNOWN,
        ClusterState.INACCESSIBLE_ENCRYPTION_CREDENTIALS,
        ClusterState.INACCESSIBLE_ENCRYPTION_CREDENTIALS_RECOVERABLE,
        ClusterState.CLONING_FAILED,
        ClusterState.MIGRATION_FAILED,
        ClusterState.LIMITLESS_DATA_MIGRATION_FAILED,
    }
)
#: Statuses from which ``StartDBCluster`` starts a cluster.
STARTABLE = frozenset({ClusterState.STOPPED, ClusterState.INACCESSIBLE_ENCRYPTION_CREDENTIALS_RECOVERABLE})
_SNAPSHOT_ID_MAX = 255


def find_cluster(rds: RDSClient, name: str) -> DBClusterTypeDef | None:
    """The DB cluster of that identifier (``DescribeDBClusters``), or None when there is none."""
    try:
        clusters = rds.describe_db_clusters(DBClusterIdentifier=name).get("DBClusters", [])
    except ClientError as err:
        if error_code(err) == "DBClusterNotFoundFault":
            return None
        raise
    return clusters[0] if clusters else None


def delete_cluster(rds: RDSClient, name: str, identifier: str, *, skip_final_snapshot: bool) -> str | None:
    """``DeleteDBCluster`` on ``identifier`` (the cluster ``name`` found), with a final snapshot unless skipped.

    Returns the final snapshot's identifier (:func:`final_snapshot_identifier`), None when skipped. A
    cluster gone or being deleted meanwhile (read again after a refusal) is done: None.
    """
    params: DeleteDBClusterMessageTypeDef = {"DBClusterIdentifier": identifier}
    snapshot = None if skip_final_snapshot else final_snapshot_identifier(identifier)
    if snapshot is None:
        params["SkipFinalSnapshot"] = True
    else:
        params["SkipFinalSnapshot"] = False
        params["FinalDBSnapshotIdentifier"] = snapshot
    try:
        rds.delete_db_cluster(**params)
    except ClientError as err:
        if error_code(err) not in ("DBClusterNotFoundFault", "InvalidDBClusterStateFault"):
            raise
        again = find_cluster(rds, name)
        if again is not None and again.get("Status") != ClusterState.DELETING:
            raise
        logger.info("Aurora cluster %r is already gone or being deleted", name)
        return None
    logger.info("Aurora cluster %r deleting (final snapshot: %s)", name, snapshot or "skipped")
    return snapshot


def final_snapshot_identifier(cluster_name: str, *, now: datetime | None = None) -> str:
    """A final-snapshot identifier for the cluster: ``<cluster>-final-<UTC yyyymmdd-hhmmss>``.

    Valid by AWS's rules for any input: 1-255 letters, digits and hyphens, starting with a letter, no
    two hyphens in a row, not ending with a hyphen (other characters become hyphens; a name that does
    not start with a letter gets a ``cluster-`` prefix; a long name is cut).
    """
    suffix = f"-final-{(now or datetime.now(UTC)).astimezone(UTC):%Y%m%d-%H%M%S}"
    base = re.sub(r"[^a-z0-9]+", "-", cluster_name.lower()).strip("-")
    if not base[:1].isalpha():
        base = f"cluster-{base}".rstrip("-")
    return base[: _SNAPSHOT_ID_MAX - len(suffix)].rstrip("-") + suffix
