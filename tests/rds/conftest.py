"""The seeded two-stack world on moto, a runtime for the RDS event functions, and the sample events."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

import bluegreen.aws
from bluegreen.local.seed import World, _Seeder, seed_world
from bluegreen.plan import parse_plan
from bluegreen.rds.runtime import RdsRuntime
from bluegreen.state import StateStore
from bluegreen.tools.aurora import AUTOSCALING_RESOURCE_TAG
from tests.conftest import REGION
from tests.support import kinesis_consumers
from tests.support.faults import Faults

EVENTS = Path(__file__).resolve().parents[2] / "events"
#: The reader the sample events name (events/rds_instance_created.json and friends).
READER = "application-autoscaling-d1583f39-ab0b-4d73-87e4-4db2d83476b3"
LIVE_CLUSTER = "fn-db-a-dev"
RETIRED_CLUSTER = "fn-db-b-dev"


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, by file name without ``.json`` (a fresh copy each time)."""
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def record_of(name: str) -> dict[str, Any]:
    """The one record of a sample event."""
    records: list[dict[str, Any]] = load_event(name)["Records"]
    assert len(records) == 1
    return copy.deepcopy(records[0])


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SNS event carrying ``records`` (SNS delivers one; more are refused)."""
    return {"Records": list(records)}


class Captured:
    """Every request of one operation the code under test sent (its parameters), seen below the client."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(dict(params))


@dataclass
class RdsWorld:
    """The seeded world, the runtime the functions use, and what their clients sent."""

    world: World
    runtime: RdsRuntime
    faults: Faults
    modified: Captured
    stopped: Captured
    _rds: Any = field(default=None)

    @property
    def rds(self) -> Any:
        """A plain boto3 RDS client (not the code under test's), to arrange and read the world."""
        if self._rds is None:
            self._rds = boto3.client("rds", region_name=REGION)
        return self._rds

    @property
    def store(self) -> StateStore:
        return self.runtime.store

    def runtime_with(self, **aurora: Any) -> RdsRuntime:
        """A runtime whose plan's aurora entry has these settings changed (``tags``, ``namespace``, …)."""
        plan = dict(self.world.plan)
        plan["aurora"] = [{**plan["aurora"][0], **aurora}]
        return RdsRuntime(parse_plan(plan), region=self.runtime.region, store=self.runtime.store)

    def add_autoscaled_reader(self, cluster: str = LIVE_CLUSTER, identifier: str = READER) -> None:
        """A reader as Aurora Auto Scaling adds it: a generated name, tagged with its cluster."""
        self.rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBClusterIdentifier=cluster,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            Tags=[{"Key": AUTOSCALING_RESOURCE_TAG, "Value": f"cluster:{cluster}"}],
        )

    def instance_tags(self, identifier: str = READER) -> dict[str, str]:
        arn = self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceArn"]
        return {t["Key"]: t["Value"] for t in self.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}

    def status(self, cluster: str) -> str:
        return str(self.rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Status"])


def seed_aurora(region: str) -> World:
    """Only what the RDS functions read, named as :func:`seed_world` names it: the record table, and
    cluster a (available: a writer, two readers) and cluster b (stopped: a writer), both auto-scaled.

    A tenth of the time of the whole seeded world; the handler tests use that one (a full plan).
    """
    world = World(region=region, state_table="bluegreen-state")
    seeder = _Seeder(world, None, messages=0, readers=2)
    seeder.state_table()
    seeder.databases()  # the same clusters, readers and scalable targets as the whole world's
    world.plan = {
        "application": "orders",
        "region": region,
        "initial_live": "a",
        "aurora": [
            {
                "a": world.names["a"]["cluster"],
                "b": world.names["b"]["cluster"],
                "minimum_cluster_size": 1,
                "on_retire": "stop",
                "tags": {"team": "orders"},
            }
        ],
    }
    return world


def _rds_world(world: World) -> RdsWorld:
    session = bluegreen.aws.default_session()
    # Registered before the code under test makes its clients (they copy the session's handlers).
    faults, modified, stopped = Faults(), Captured(), Captured()
    faults.register(session)
    session.events.register("provide-client-params.rds.ModifyDBInstance", modified)
    session.events.register("provide-client-params.rds.StopDBCluster", stopped)
    runtime = RdsRuntime(parse_plan(world.plan), region=REGION, store=StateStore(world.state_table, region=REGION))
    return RdsWorld(world=world, runtime=runtime, faults=faults, modified=modified, stopped=stopped)


@pytest.fixture
def rds_world(aws: None) -> RdsWorld:
    """The Aurora part of the seeded world (:func:`seed_aurora`), and a runtime for it."""
    return _rds_world(seed_aurora(REGION))


@pytest.fixture
def full_rds_world(aws: None, monkeypatch: pytest.MonkeyPatch) -> RdsWorld:
    """The whole seeded two-stack world (:func:`seed_world`, every service in the plan), and a runtime for it."""
    kinesis_consumers.install(monkeypatch)  # the seeded world maps a function to a Kinesis consumer
    return _rds_world(seed_world(REGION))
