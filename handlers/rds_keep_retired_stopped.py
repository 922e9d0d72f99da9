"""RDS event handler: stops again a retired Aurora cluster that AWS started after seven days stopped.

Subscribed (template.yaml) to the RDS events topic, which receives every DB cluster event. It acts
only on RDS-EVENT-0153 ("DB cluster is being started due to it exceeding the maximum allowed time
being stopped") for a cluster of a plan aurora entry with ``on_retire: stop`` that is neither on the
live stack nor part of a deployment in flight (read from the live-stack record at every check). The
cluster is "starting" when the event comes: the handler waits until it is available, re-invoking
itself when its time runs low, and then stops it; after about 40 minutes it gives up and raises.
"""

import boto3  # noqa: F401  before bluegreen, at the depth `import boto3` alone loads it: docs/performance.md

from bluegreen.rds.entry import RdsFunction, rds_handler

handler = rds_handler(RdsFunction.KEEP_RETIRED_STOPPED)
