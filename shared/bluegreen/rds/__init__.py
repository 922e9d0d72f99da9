"""The RDS-event functions: RDS event notifications, as SNS delivers them to Lambda, for the plan's Aurora entries.

Three Lambda functions read them (``handlers/rds_*.py``, through :mod:`bluegreen.rds.entry`):

- :mod:`bluegreen.rds.readers`: ``rds_apply_tags`` and ``rds_enable_performance_insights``, for the
  readers Aurora Auto Scaling adds to a managed cluster;
- :mod:`bluegreen.rds.keep_stopped`: ``rds_keep_retired_stopped``, which stops again a retired cluster
  that AWS started by itself after seven days stopped.

What they share: :mod:`bluegreen.rds.records` (the one SNS record of an invocation, read from
``Records[0].Sns``, and what became of it) and :mod:`bluegreen.rds.runtime` (what a warm function
keeps: the plan, its Aurora tools, the record table; which managed cluster an identifier names).
Import from the modules; this package imports nothing, so that loading one of them loads no other.
"""
