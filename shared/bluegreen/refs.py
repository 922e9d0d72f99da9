"""Stack references (which copy of the stack, ``a`` or ``b``) and Aurora cluster states."""

from __future__ import annotations

import logging
from enum import StrEnum

logger = logging.getLogger(__name__)


class StackReference(StrEnum):
    """One of the two copies of the stack: ``StackReference.A`` ("a") or ``StackReference.B`` ("b").

    ``StackReference("A")`` and ``StackReference("b")`` both work (case does not matter); any other
    value raises ``ValueError`` — the original library silently took anything else as B, which
    pointed destructive calls at the wrong stack.
    """

    A = "a"
    B = "b"

    @property
    def partner(self) -> StackReference:
        """The other stack: ``A.partner`` is ``B`` and ``B.partner`` is ``A``."""
        return StackReference.B if self is StackReference.A else StackReference.A

    @classmethod
    def _missing_(cls, value: object) -> StackReference:
        if isinstance(value, str) and value.lower() in ("a", "b"):
            return cls(value.lower())
        raise ValueError(f"invalid stack reference {value!r}: expected 'a' or 'b'")


def as_ref(value: StackReference | str) -> StackReference:
    """Coerce ``value`` to a :class:`StackReference`, raising ``ValueError`` for anything but a/b."""
    return value if isinstance(value, StackReference) else StackReference(value)


class ClusterState(StrEnum):
    """The status of an Aurora DB cluster, as ``DescribeDBClusters`` reports it.

    A status this enum does not know becomes :attr:`UNKNOWN` (logged with the status AWS gave) and is
    treated as "not ready" by every wait.
    """

    AVAILABLE = "available"
    BACKING_UP = "backing-up"
    BACKTRACKING = "backtracking"
    CLONING_FAILED = "cloning-failed"
    CREATING = "creating"
    DELETING = "deleting"
    FAILING_OVER = "failing-over"
    INACCESSIBLE_ENCRYPTION_CREDENTIALS = "inaccessible-encryption-credentials"
    INACCESSIBLE_ENCRYPTION_CREDENTIALS_RECOVERABLE = "inaccessible-encryption-credentials-recoverable"
    LIMITLESS_DATA_MIGRATION_FAILED = "limitless-data-migration-failed"
    MAINTENANCE = "maintenance"
    MIGRATING = "migrating"
    MIGRATION_FAILED = "migration-failed"
    MODIFYING = "modifying"
    PROMOTING = "promoting"
    REBOOTING = "rebooting"
    RENAMING = "renaming"
    RESETTING_MASTER_CREDENTIALS = "resetting-master-credentials"
    SCALING_COMPUTE = "scaling-compute"
    STARTING = "starting"
    STOPPED = "stopped"
    STOPPING = "stopping"
    STORAGE_OPTIMIZATION = "storage-optimization"
    UPDATE_IAM_DB_AUTH = "update-iam-db-auth"
    UPGRADING = "upgrading"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> ClusterState:
        if isinstance(value, str) and value.lower() != value:
            try:
                return cls(value.lower())
            except ValueError:
                pass
        logger.warning("unknown Aurora cluster status %r: treated as not ready", value)
        return cls.UNKNOWN

    @property
    def is_ready(self) -> bool:
        """True only for ``available``: the cluster accepts connections and modifications."""
        return self is ClusterState.AVAILABLE
