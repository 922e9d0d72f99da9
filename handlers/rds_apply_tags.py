"""RDS event handler: tags the readers that Aurora Auto Scaling adds to a managed cluster.

Subscribed (template.yaml) to the RDS events topic, which receives the events of every DB instance
(auto-scaled readers get generated names, so they are filtered here). On "DB instance created"
(RDS-EVENT-0005) for a reader whose ``application-autoscaling:resourceId`` tag names a cluster of a
plan aurora entry, it adds that entry's ``tags`` (or the cluster's own tags) plus ``Role=Reader``.
Anything else is logged and skipped; a record that fails (or an event that does not carry exactly
one record) makes the invocation raise, so the event goes to the on-failure destination.
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.rds.entry import RdsFunction, rds_handler

handler = rds_handler(RdsFunction.APPLY_TAGS)
