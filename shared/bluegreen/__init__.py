"""bluegreen: whole-stack blue/green and canary deployments on AWS.

The package is the shared Lambda layer: per-service tools (:mod:`bluegreen.tools`) that act on stack
``a`` or stack ``b`` of an application, and the hooks built on them.
"""

from bluegreen.refs import ClusterState, StackReference

__all__ = ["ClusterState", "StackReference", "__version__"]

#: The package's version when it is not installed (``bluegreen --version`` prefers the installed
#: distribution's); kept equal to pyproject.toml's by tests/cli/test_options.py.
__version__ = "0.1.0"
