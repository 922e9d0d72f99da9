"""CodeDeploy hook that prepares the replacement stack.

Wire it at BeforeAllowTraffic for a Lambda deployment (SAM ``DeploymentPreference.Hooks.PreTraffic``)
and at BeforeInstall for an ECS deployment (AppSpec ``Hooks``): it records the deployment as in
flight, starts the replacement's Aurora clusters and waits until they are available, matches their
reader capacity to the live stack, then enables the replacement's subscriptions, event-source
mappings, rules, workers, alarm actions and Kinesis consumers. It reports Succeeded or Failed to
CodeDeploy exactly once; a failed prepare puts the replacement back to retired.
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.hooks import Flow
from bluegreen.hooks.entry import hook_handler

handler = hook_handler(Flow.PREPARE)
