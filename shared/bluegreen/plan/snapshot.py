"""The plan a deployment acts on, kept with its record: canonical JSON and its sha256.

``begin`` stores the resolved plan (the region filled in) with the deployment, so that its retire,
its continuations, its put-backs and the deployment-events handler act on the plan it was prepared
with, never on one edited since (a renamed, added, removed or a/b-swapped entry between the hooks
must not touch the live stack). An edited plan takes effect at the next prepare.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from bluegreen.plan.checks import parse_plan
from bluegreen.plan.model import Plan, PlanError


def plan_snapshot(plan: Plan, region: str | None = None) -> tuple[str, str]:
    """``(canonical JSON, sha256 hex)`` of ``plan`` with its region resolved to ``region`` when it has none."""
    resolved = dataclasses.replace(plan, region=plan.region or region)
    text = json.dumps(resolved.to_document(), sort_keys=True, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def plan_from_snapshot(text: str) -> Plan:
    """The plan a snapshot holds (validated again); :class:`PlanError` when it cannot be read."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PlanError([("plan", f"the plan kept with the deployment is not JSON: {error}")], "the record") from None
    return parse_plan(document, source="the record")
