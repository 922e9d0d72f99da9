"""The one Powertools Logger and Metrics of every bluegreen Lambda function.

The Logger *is* the stdlib logger "bluegreen": every ``bluegreen.*`` module logger propagates to it,
so every line is JSON with the keys the handlers append (deployment id, hook execution id, flow).
One instance per process, shared by the hook handlers and the RDS-event handlers (a second
``Logger`` of the same service would not get Powertools' formatter). What a warm function keeps
between invocations is :class:`bluegreen.runtime.WarmRuntime`'s.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="bluegreen")
metrics = Metrics(namespace="bluegreen", service="bluegreen")
