"""The emulator's seeded world has every registered service, so the demo and these tests exercise each one."""

from __future__ import annotations

from bluegreen.plan import parse_plan
from bluegreen.services import REGISTRY
from tests.hooks.conftest import Harness
from tests.support.world import view


def test_the_seeded_world_has_every_service(harness: Harness) -> None:
    plan = parse_plan(harness.world.plan)
    for service in REGISTRY:
        assert getattr(plan, service.attribute), f"the emulator's seeded world has no {service.name} entry"
    assert view(harness.world, "a").working  # stack a, live, has every part on
