"""Per-service tools: each acts on stack ``a`` or ``b`` of one kind of AWS resource.

Every tool is ``XTools(config, *, session=None)``; its config is a keyword-built dataclass with
``region`` and ``account_id`` besides the fields of its service. Every method is idempotent: asking
for the state a resource already has is a success.
"""

from bluegreen.tools.ecs import EcsConfig, EcsTools

__all__ = ["EcsConfig", "EcsTools"]
