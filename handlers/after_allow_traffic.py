"""CodeDeploy hook that makes the replacement live and retires the old stack.

Wire it at AfterAllowTraffic (SAM ``DeploymentPreference.Hooks.PostTraffic`` for Lambda, AppSpec
``Hooks`` for ECS). One conditional write flips the live-stack record to the stack that
BeforeAllowTraffic prepared; then the old stack's subscriptions, mappings, rules, workers and alarm
actions are turned off, its queues purged, its consumers deregistered, tables deleted if the plan
says so, and last of all its Aurora clusters stopped (or deleted, or kept). If anything fails, it
re-enables the old stack and flips the record back before it reports Failed, so CodeDeploy's
automatic rollback finds the old stack ready.
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.hooks import Flow
from bluegreen.hooks.entry import hook_handler

handler = hook_handler(Flow.RETIRE)
