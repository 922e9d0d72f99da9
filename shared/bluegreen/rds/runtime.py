"""What a warm RDS-event function keeps (the plan, its Aurora tools, the record table), and the cluster an event names.

:class:`RdsRuntime` is made from the environment on the first invocation (:mod:`bluegreen.rds.entry`
keeps it while the Lambda is warm); :func:`find_target` tells which plan aurora entry, and which of its
two stacks, a cluster identifier names.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import boto3
from botocore.exceptions import ClientError

from bluegreen.aws import error_code, make_client
from bluegreen.datatypes import datatype
from bluegreen.plan import Plan, load_plan_from_env
from bluegreen.refs import StackReference
from bluegreen.state import TABLE_ENV, StateStore
from bluegreen.toolbox import Toolbox

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBInstanceTypeDef

    from bluegreen.tools.aurora import AuroraTools


@datatype
class Target:
    """The managed cluster a record is about: stack ``ref`` of ``plan.aurora[index]``, named ``cluster``."""

    index: int
    ref: StackReference
    cluster: str

    @property
    def path(self) -> str:
        """Where the plan names it: ``plan.aurora[0].b``."""
        return f"plan.aurora[{self.index}].{self.ref.value}"


def find_target(plan: Plan, cluster_id: str) -> Target | None:
    """The plan aurora entry and stack whose cluster is ``cluster_id`` (RDS identifiers ignore case), or None."""
    wanted = cluster_id.casefold()
    for index, entry in enumerate(plan.aurora):
        for ref, name in ((StackReference.A, entry.a), (StackReference.B, entry.b)):
            if name.casefold() == wanted:
                return Target(index, ref, name)
    return None


class RdsRuntime:
    """What a warm RDS-event Lambda keeps between invocations: the plan, its Aurora tools, the record table."""

    def __init__(
        self,
        plan: Plan,
        *,
        region: str,
        store: StateStore | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        """Hold the plan and make its toolbox; no client is made and no request sent until first used.

        ``store`` is the live-stack table (only the keep-stopped function reads it).
        """
        self.plan = plan
        self.region = region
        self.session = session
        self.toolbox = Toolbox(plan, region=region, account_id=plan.account_id, session=session)
        self._store = store
        self._rds: RDSClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, plan: Plan | None = None) -> RdsRuntime:
        """The plan from ``BLUEGREEN_PLAN_*`` (unless given) and, when ``BLUEGREEN_STATE_TABLE`` is set, the table.

        The region is :meth:`Plan.resolved_region`'s (the plan's, else ``AWS_REGION``, else
        ``AWS_DEFAULT_REGION``); with none of them, a :class:`~bluegreen.plan.PlanError` says so.
        """
        env = os.environ if environ is None else environ
        plan = plan if plan is not None else load_plan_from_env(env)
        store = StateStore.from_env(env) if env.get(TABLE_ENV, "").strip() else None
        return cls(plan, region=plan.resolved_region(env), store=store)

    @property
    def store(self) -> StateStore:
        """The live-stack table; ``LookupError`` when none was given."""
        if self._store is None:
            raise LookupError(f"{TABLE_ENV} is not set: set it to the name of the live-stack DynamoDB table")
        return self._store

    def aurora(self, index: int) -> AuroraTools:
        """The Aurora tool of ``plan.aurora[index]`` (made once)."""
        return self.toolbox.aurora(index)

    def describe_instance(self, identifier: str) -> DBInstanceTypeDef | None:
        """``DescribeDBInstances`` of one instance, or None when it does not exist (any more)."""
        with self._lock:
            if self._rds is None:
                self._rds = cast("RDSClient", make_client("rds", region=self.region, session=self.session))
            rds = self._rds
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=identifier).get("DBInstances", [])
        except ClientError as err:
            if error_code(err) == "DBInstanceNotFound":
                return None
            raise
        return found[0] if found else None
