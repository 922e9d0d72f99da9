"""The services bluegreen switches, one descriptor each, registered once: :data:`REGISTRY`.

Every list that must know the services reads this one: the plan's sections and their readers
(:mod:`bluegreen.plan`), the tools a plan needs (:mod:`bluegreen.toolbox`), the steps of the prepare
and the retire (:mod:`bluegreen.flows`), the rows of ``bluegreen status`` (:mod:`bluegreen.status`).
Each ``bluegreen/services/<name>.py`` holds one service's plan entry, its reader, the resources it
claims, and what the flows and the status do with it (see :class:`~bluegreen.services._kit.Service`).
The order here is the order of the plan's sections and of the steps within a phase.

Adding a service: write its tool (``bluegreen/tools/<name>.py``) and its descriptor
(``bluegreen/services/<name>.py``), add the descriptor here and a field for its entries on
:class:`~bluegreen.plan.Plan`; ``tests/unit/test_services.py`` checks every registered service has
every part.
"""

from __future__ import annotations

from typing import Any

from bluegreen.services import aurora, cloudwatch, dynamodb, ecs, kinesis, lambda_, sns, sqs
from bluegreen.services._kit import Claim, Phased, Row, Service, Switch, ToolSource

__all__ = ["REGISTRY", "Claim", "Phased", "Row", "Service", "Switch", "ToolSource", "service"]

#: Every service, in the order of the plan's sections.
REGISTRY: tuple[Service[Any], ...] = (
    ecs.SERVICE,
    sqs.SERVICE,
    sns.SERVICE,
    lambda_.SERVICE,
    cloudwatch.SERVICE,
    kinesis.SERVICE,
    dynamodb.SERVICE,
    aurora.SERVICE,
)

_BY_NAME = {found.name: found for found in REGISTRY}


def service(name: str) -> Service[Any]:
    """The descriptor of section ``name`` (``"lambda"``); ``KeyError`` for a name no service has."""
    return _BY_NAME[name]
