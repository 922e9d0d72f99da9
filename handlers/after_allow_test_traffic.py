"""CodeDeploy hook that judges an ECS deployment's replacement under test traffic, before any live traffic.

Wire it at AfterAllowTestTraffic in an ECS deployment's AppSpec ``Hooks`` when the plan's verdict
says ``before_traffic: {at: test-traffic}``: the replacement task set then serves the test listener,
and the verdict's checks (the replacement's alarms, the smoke function) run against it. It changes
nothing in AWS; it keeps the judgement in the live-stack record and reports Succeeded, or Failed
with the numbers (CodeDeploy then rolls back, and the deployment-events function puts the
replacement back to retired).
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.hooks import Flow
from bluegreen.hooks.entry import hook_handler

handler = hook_handler(Flow.TEST_TRAFFIC)
