"""A Lambda function's latest metrics: one ``GetMetricData`` read of :data:`LAMBDA_METRICS` over a short window.

The function takes the CloudWatch client; :class:`~bluegreen.tools.lambda_.LambdaTools` calls it
(``get_latest_metrics``) and makes a :class:`~bluegreen.tools.lambda_.LatestMetric` of each point.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDataQueryTypeDef, MetricStatTypeDef

#: The metrics :meth:`LambdaTools.get_latest_metrics` reads (namespace ``AWS/Lambda``), each with its statistic.
LAMBDA_METRICS: tuple[tuple[str, str], ...] = (
    ("IteratorAge", "Maximum"),
    ("Errors", "Sum"),
    ("ConcurrentExecutions", "Maximum"),
    ("Invocations", "Sum"),
    ("Duration", "Average"),
    ("Throttles", "Sum"),
)
#: How far back :meth:`LambdaTools.get_latest_metrics` looks, and the period of its data points.
METRICS_WINDOW = timedelta(minutes=5)
METRICS_PERIOD_SECONDS = 60


def latest_points(cloudwatch: CloudWatchClient, name: str, alias: str | None) -> dict[str, tuple[datetime, float, str]]:
    """The newest data point of each of :data:`LAMBDA_METRICS` for function ``name``: (timestamp, value, statistic).

    ``GetMetricData`` (every page, newest first) in ``AWS/Lambda`` over :data:`METRICS_WINDOW` up to
    now, at :data:`METRICS_PERIOD_SECONDS`, with dimension ``FunctionName``, plus ``Resource`` =
    ``name:alias`` when ``alias`` is given. Keyed by metric name; metrics with no data are left out.
    """
    dimensions: list[DimensionTypeDef] = [{"Name": "FunctionName", "Value": name}]
    if alias:
        dimensions.append({"Name": "Resource", "Value": f"{name}:{alias}"})
    by_id = {metric.lower(): (metric, stat) for metric, stat in LAMBDA_METRICS}
    queries: list[MetricDataQueryTypeDef] = []
    for query_id, (metric, stat) in by_id.items():
        metric_stat: MetricStatTypeDef = {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dimensions},
            "Period": METRICS_PERIOD_SECONDS,
            "Stat": stat,
        }
        queries.append({"Id": query_id, "MetricStat": metric_stat, "ReturnData": True})
    end = datetime.now(UTC)
    paginator = cloudwatch.get_paginator("get_metric_data")
    latest: dict[str, tuple[datetime, float, str]] = {}
    pages = paginator.paginate(
        MetricDataQueries=queries, StartTime=end - METRICS_WINDOW, EndTime=end, ScanBy="TimestampDescending"
    )
    for page in pages:
        for result in page.get("MetricDataResults", []):
            known = by_id.get(result.get("Id", ""))
            if known is None:
                continue
            metric, stat = known
            for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                seen = latest.get(metric)
                if seen is None or stamp > seen[0]:
                    latest[metric] = (stamp, float(value), stat)
    return latest
