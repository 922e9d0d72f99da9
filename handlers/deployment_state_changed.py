"""CodeDeploy deployment-state handler: settles a deployment that CodeDeploy stopped or failed.

Invoked (template.yaml) by an EventBridge rule on CodeDeploy's "CodeDeploy Deployment State-change
Notification" events in state FAILURE, STOP or SUCCESS, for every application of the account and
region; deployments that are not this install's are skipped. When CodeDeploy stopped or failed a
deployment (a hook timed out, an alarm rolled it back, someone stopped it), no hook runs for it
again: this handler undoes a prepare (disables what prepare enabled) and puts back a stack that
retire had retired (re-enables it), re-invoking itself when that outlives one invocation. What
cannot finish raises, so the event goes to the on-failure destination.
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.hooks.entry import deployment_events_handler

handler = deployment_events_handler()
