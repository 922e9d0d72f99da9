"""The two functions for the readers Aurora Auto Scaling adds: their tags, and Performance Insights.

Both read "DB instance created" (RDS-EVENT-0005) events, as SNS delivers them (one record per
invocation, :mod:`bluegreen.rds.records`), through ``handlers/rds_*.py`` and :mod:`bluegreen.rds.entry`:

- :func:`apply_tags`: a reader that Aurora Auto Scaling added to a managed cluster (its
  ``application-autoscaling:resourceId`` tag is ``cluster:<a or b of a plan aurora entry>``) gets that
  entry's ``tags``, or the cluster's own tags, plus ``Role=Reader``.
- :func:`enable_performance_insights`: the same readers get Performance Insights, on "DB instance
  created" and again after "Performance Insights has been disabled". While the instance is not ready
  it retries; the tries and the waits between them fit the invocation's remaining time
  (:func:`bounded_retries`), and when they are spent the record fails.

A record that is no RDS event (the subscription confirmation, a message that is not JSON), an event of
another source type or of another kind, an instance that no longer exists or that belongs to no
managed cluster: each is logged and skipped, never an exception. A record that fails makes the
handler raise, so Lambda retries the event and then sends it to the on-failure destination (nothing
is lost). Processing a record again is harmless: tags already in place are not written again, and
Performance Insights already on is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bluegreen.rds.records import NOT_AN_RDS_EVENT, TIME_MARGIN_SECONDS, Outcome, RecordResult, delivery, run_record
from bluegreen.rds.runtime import RdsRuntime, Target, find_target
from bluegreen.tools.aurora import AUTOSCALING_RESOURCE_TAG
from bluegreen.tools.rds_events import RdsEvent

#: Performance Insights: seconds between two tries while the instance is not ready.
PI_RETRY_DELAY_SECONDS = 60.0
#: Performance Insights: most tries per record (the first included), fewer when time is short.
PI_RETRY_ATTEMPTS = 10

#: A DB instance identifier: 1 to 63 letters, digits and hyphens, a letter first, no "--", no "-" last.
_IDENTIFIER = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}")


def reader_target(runtime: RdsRuntime, instance_id: str) -> tuple[Target | None, str]:
    """The managed cluster whose Aurora auto-scaling reader ``instance_id`` is, or None and why not.

    Read from ``DescribeDBInstances``: the ``application-autoscaling:resourceId`` tag that Aurora
    Auto Scaling puts on the readers it adds is ``cluster:<cluster id>``.
    """
    if not _IDENTIFIER.fullmatch(instance_id) or instance_id.endswith("-"):
        # RDS never names an instance so; asking would fail the record (InvalidParameterValue), or, for an
        # empty id, list every instance of the account and act on the first.
        return None, f"{instance_id!r} is no DB instance identifier: the event names no instance"
    instance = runtime.describe_instance(instance_id)
    if instance is None:
        return None, f"DB instance {instance_id!r} not found (deleted since the event?)"
    tags = {tag.get("Key"): tag.get("Value", "") for tag in instance.get("TagList", [])}
    resource = tags.get(AUTOSCALING_RESOURCE_TAG) or ""
    if not resource.startswith("cluster:"):
        return None, f"DB instance {instance_id!r} is no Aurora auto-scaling reader (no {AUTOSCALING_RESOURCE_TAG} tag)"
    cluster = resource.removeprefix("cluster:")
    target = find_target(runtime.plan, cluster)
    if target is None:
        return None, f"DB instance {instance_id!r} is a reader of cluster {cluster!r}, which the plan does not manage"
    return target, ""


def _not_for_readers(event: RdsEvent, wanted: Callable[[RdsEvent], bool], kinds: str) -> str | None:
    """Why an event is not for a reader function (None when it is)."""
    if not event.is_instance_event:
        return f"an event of a {event.source_type}, not of a DB instance"
    if not wanted(event):
        return f"not {kinds} ({event.event_id or 'no event id'}: {event.message!r})"
    return None


def apply_tags(runtime: RdsRuntime, event: object) -> RecordResult:
    """Tag the new auto-scaling reader of a managed cluster that the event announces (see the module docstring)."""

    def handle(record: Mapping[str, Any], parsed: RdsEvent | None) -> tuple[Outcome, str]:
        if parsed is None:
            return Outcome.SKIPPED, NOT_AN_RDS_EVENT
        why = _not_for_readers(parsed, lambda e: e.is_instance_created, '"DB instance created"')
        if why is not None:
            return Outcome.SKIPPED, why
        target, why = reader_target(runtime, parsed.source_id)
        if target is None:
            return Outcome.SKIPPED, why
        if not runtime.aurora(target.index).apply_tags(record):
            return Outcome.SKIPPED, f"reader of {target.cluster} ({target.path}) outside the entry's namespace"
        return Outcome.DONE, f"reader of {target.cluster} ({target.path}): tags and Role=Reader in place"

    return run_record("rds_apply_tags", delivery(event), handle)


def bounded_retries(
    time_left: float,
    *,
    delay: float = PI_RETRY_DELAY_SECONDS,
    attempts: int = PI_RETRY_ATTEMPTS,
    margin: float = TIME_MARGIN_SECONDS,
) -> int:
    """How many tries (``delay`` seconds apart, at most ``attempts``) fit in ``time_left`` seconds less ``margin``.

    At least one: a try takes a second, and a record with no time left fails (and is retried by
    Lambda) rather than being skipped.
    """
    budget = time_left - margin
    if budget <= 0:
        return 1
    if delay <= 0:
        return max(1, attempts)
    return max(1, min(attempts, int(budget // delay) + 1))


def enable_performance_insights(
    runtime: RdsRuntime,
    event: object,
    *,
    time_left: Callable[[], float],
    retry_delay: float = PI_RETRY_DELAY_SECONDS,
    retry_attempts: int = PI_RETRY_ATTEMPTS,
    margin: float = TIME_MARGIN_SECONDS,
) -> RecordResult:
    """Turn Performance Insights on for the new (or PI-disabled) auto-scaling reader of a managed cluster.

    The tries are bounded by :func:`bounded_retries` against ``time_left()`` at the start; when they
    are spent the record fails (``PerformanceInsightsError`` naming the instance).
    """

    def wanted(event: RdsEvent) -> bool:
        return event.is_instance_created or event.is_performance_insights_disabled

    def handle(record: Mapping[str, Any], parsed: RdsEvent | None) -> tuple[Outcome, str]:
        if parsed is None:
            return Outcome.SKIPPED, NOT_AN_RDS_EVENT
        why = _not_for_readers(parsed, wanted, '"DB instance created" nor "Performance Insights has been disabled"')
        if why is not None:
            return Outcome.SKIPPED, why
        target, why = reader_target(runtime, parsed.source_id)
        if target is None:
            return Outcome.SKIPPED, why
        tries = bounded_retries(time_left(), delay=retry_delay, attempts=retry_attempts, margin=margin)
        tool = runtime.aurora(target.index)
        if not tool.enable_performance_insights(record, True, retry_delay=retry_delay, retry_attempts=tries):
            return Outcome.SKIPPED, f"reader of {target.cluster} ({target.path}) outside the entry's namespace"
        return Outcome.DONE, f"reader of {target.cluster} ({target.path}): Performance Insights on"

    return run_record("rds_enable_performance_insights", delivery(event), handle)
