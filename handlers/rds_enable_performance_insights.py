"""RDS event handler: turns Performance Insights on for the readers Aurora Auto Scaling adds.

Subscribed (template.yaml) to the RDS events topic. On "DB instance created" (RDS-EVENT-0005), and
again on "Performance Insights has been disabled", for a reader of a cluster of a plan aurora entry,
it sends ``ModifyDBInstance EnablePerformanceInsights=true``, retrying while the instance is not ready
for as long as the invocation's remaining time allows. What cannot finish raises, so the event goes
to the on-failure destination.
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.rds.entry import RdsFunction, rds_handler

handler = rds_handler(RdsFunction.ENABLE_PERFORMANCE_INSIGHTS)
