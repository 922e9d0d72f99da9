"""bluegreen: whole-stack blue/green and canary deployments on AWS.

The package is the shared Lambda layer: per-service tools (:mod:`bluegreen.tools`) that act on stack
``a`` or stack ``b`` of an application, and the hooks built on them.
"""

from bluegreen.refs import ClusterState, StackReference

__all__ = ["ClusterState", "StackReference"]
