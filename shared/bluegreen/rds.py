"""RDS event notifications, as SNS delivers them to a Lambda: routed to the plan's Aurora entries, record by record.

Three Lambda functions read them (``handlers/rds_*.py``, through :mod:`bluegreen.rds_entry`):

- :func:`apply_tags`: a reader that Aurora Auto Scaling added to a managed cluster (its
  ``application-autoscaling:resourceId`` tag is ``cluster:<a or b of a plan aurora entry>``) gets that
  entry's ``tags``, or the cluster's own tags, plus ``Role=Reader`` (on "DB instance created",
  RDS-EVENT-0005).
- :func:`enable_performance_insights`: the same readers get Performance Insights, on "DB instance
  created" and again after "Performance Insights has been disabled". While the instance is not ready
  it retries; the tries and the waits between them fit the invocation's remaining time
  (:func:`bounded_retries`), and when they are spent the record fails.
- :func:`bluegreen.keep_stopped.keep_retired_stopped`: stops again a retired cluster that AWS started by
  itself after seven days stopped.

How a batch is processed (:func:`run_batch`): every record on its own. A record that is no RDS event
(the subscription confirmation, a message that is not JSON), an event of another source type or of
another kind, an instance that no longer exists or that belongs to no managed cluster: each is
logged and skipped, never an exception. A record that fails does not stop the others; once all are
processed the handler raises one :class:`RdsBatchError` naming the failed records, so Lambda retries
the event and then sends it to the on-failure destination (nothing is lost). Processing a record
again is harmless: tags already in place are not written again, and Performance Insights already on
is left alone.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import ClientError

from bluegreen.aws import error_code, make_client
from bluegreen.plan import Plan, load_plan_from_env
from bluegreen.refs import StackReference
from bluegreen.state import TABLE_ENV, StateStore
from bluegreen.toolbox import Toolbox
from bluegreen.tools.aurora import AUTOSCALING_RESOURCE_TAG
from bluegreen.tools.rds_events import RdsEvent

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBInstanceTypeDef

    from bluegreen.tools.aurora import AuroraTools

logger = logging.getLogger(__name__)

#: Performance Insights: seconds between two tries while the instance is not ready.
PI_RETRY_DELAY_SECONDS = 60.0
#: Performance Insights: most tries per record (the first included), fewer when time is short.
PI_RETRY_ATTEMPTS = 10
#: Time kept free at the end of an invocation (logging, metrics, the hand-over): never slept into.
TIME_MARGIN_SECONDS = 30.0


class Outcome(StrEnum):
    """What became of one record."""

    DONE = "done"  # acted on (or what it asked for was already so)
    SKIPPED = "skipped"  # not for this function: logged and left alone
    PENDING = "pending"  # still waiting for AWS: handed over to another invocation
    FAILED = "failed"  # an error: the batch raises once every record is processed


@dataclass(frozen=True)
class RecordResult:
    """The outcome of record ``index`` (from 0) of a batch, and why."""

    index: int
    message_id: str | None
    source_id: str | None
    outcome: Outcome
    detail: str

    def describe(self) -> str:
        """One line for logs and errors: which record, what happened, why."""
        about = f"SNS message {self.message_id or '?'}"
        if self.source_id:
            about += f", source {self.source_id}"
        return f"record {self.index} ({about}): {self.outcome.value}: {self.detail}"


@dataclass(frozen=True)
class BatchResult:
    """The outcome of every record of one invocation of ``function``."""

    function: str
    results: tuple[RecordResult, ...]

    def count(self, outcome: Outcome) -> int:
        """How many records ended with ``outcome``."""
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def failed(self) -> tuple[RecordResult, ...]:
        """The records that failed."""
        return tuple(result for result in self.results if result.outcome is Outcome.FAILED)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready account: counts per outcome and one line per record (the handler's return value)."""
        return {
            "function": self.function,
            "records": len(self.results),
            **{outcome.value: self.count(outcome) for outcome in Outcome},
            "results": [result.describe() for result in self.results],
        }

    def raise_for_failures(self) -> None:
        """Raise :class:`RdsBatchError` when a record failed (after every record was processed)."""
        if self.failed:
            raise RdsBatchError(self)


class RdsBatchError(RuntimeError):
    """Records of a batch failed; the message names each one. The other records were processed."""

    def __init__(self, result: BatchResult) -> None:
        """Keep the batch result and name every failed record in the message."""
        self.result = result
        failed = result.failed
        lines = [
            f"{result.function}: {len(failed)} of {len(result.results)} records failed "
            "(the others were processed; Lambda retries the event, then sends it to the on-failure destination):"
        ]
        lines += [f"  {failure.describe()}" for failure in failed]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Target:
    """The managed cluster a record is about: stack ``ref`` of ``plan.aurora[index]``, named ``cluster``."""

    index: int
    ref: StackReference
    cluster: str

    @property
    def path(self) -> str:
        """Where the plan names it: ``plan.aurora[0].b``."""
        return f"plan.aurora[{self.index}].{self.ref.value}"


def find_target(plan: Plan, cluster_id: str) -> Target | None:
    """The plan aurora entry and stack whose cluster is ``cluster_id`` (RDS identifiers ignore case), or None."""
    wanted = cluster_id.casefold()
    for index, entry in enumerate(plan.aurora):
        for ref, name in ((StackReference.A, entry.a), (StackReference.B, entry.b)):
            if name.casefold() == wanted:
                return Target(index, ref, name)
    return None


class RdsRuntime:
    """What a warm RDS-event Lambda keeps between invocations: the plan, its Aurora tools, the record table."""

    def __init__(
        self,
        plan: Plan,
        *,
        region: str,
        store: StateStore | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        """Hold the plan and make its toolbox; no client is made and no request sent until first used.

        ``store`` is the live-stack table (only the keep-stopped function reads it).
        """
        self.plan = plan
        self.region = region
        self.session = session
        self.toolbox = Toolbox(plan, region=region, account_id=plan.account_id, session=session)
        self._store = store
        self._rds: RDSClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, plan: Plan | None = None) -> RdsRuntime:
        """The plan from ``BLUEGREEN_PLAN_*`` (unless given) and, when ``BLUEGREEN_STATE_TABLE`` is set, the table."""
        env = os.environ if environ is None else environ
        plan = plan if plan is not None else load_plan_from_env(env)
        region = plan.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise ValueError("no region: set plan.region, or AWS_REGION in the environment")
        store = StateStore.from_env(env) if env.get(TABLE_ENV, "").strip() else None
        return cls(plan, region=region, store=store)

    @property
    def store(self) -> StateStore:
        """The live-stack table; ``LookupError`` when none was given."""
        if self._store is None:
            raise LookupError(f"{TABLE_ENV} is not set: set it to the name of the live-stack DynamoDB table")
        return self._store

    def aurora(self, index: int) -> AuroraTools:
        """The Aurora tool of ``plan.aurora[index]`` (made once)."""
        return self.toolbox.aurora(index)

    def describe_instance(self, identifier: str) -> DBInstanceTypeDef | None:
        """``DescribeDBInstances`` of one instance, or None when it does not exist (any more)."""
        with self._lock:
            if self._rds is None:
                self._rds = cast("RDSClient", make_client("rds", region=self.region, session=self.session))
            rds = self._rds
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=identifier).get("DBInstances", [])
        except ClientError as err:
            if error_code(err) == "DBInstanceNotFound":
                return None
            raise
        return found[0] if found else None


RecordHandler = Callable[[Mapping[str, Any], RdsEvent | None], tuple[Outcome, str]]


def sns_records(event: object) -> list[Any]:
    """The ``Records`` of a Lambda SNS event; ``ValueError`` when ``event`` is no such event (wired wrong)."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValueError(
            "not an SNS event: expected a JSON object with a 'Records' list (subscribe this function to the "
            "RDS events topic)"
        )
    return records


def record_ids(record: object, parsed: RdsEvent | None) -> tuple[str | None, str | None]:
    """The SNS message id and the RDS source id of a record, for logs (None when absent)."""
    sns = record.get("Sns") if isinstance(record, Mapping) else None
    message_id = sns.get("MessageId") if isinstance(sns, Mapping) else None
    return (message_id if isinstance(message_id, str) else None), (parsed.source_id if parsed else None)


def parse(record: object) -> RdsEvent | None:
    """The RDS event a record carries, or None (logged) when it carries none."""
    return RdsEvent.from_sns_record(record) if isinstance(record, Mapping) else None


def log_result(function: str, result: RecordResult) -> None:
    """One log line per record: errors at ERROR, the rest at INFO."""
    (logger.error if result.outcome is Outcome.FAILED else logger.info)("%s: %s", function, result.describe())


def handle_record(
    function: str, index: int, record: object, parsed: RdsEvent | None, handle: RecordHandler
) -> RecordResult:
    """Run ``handle`` on one record and its parsed event; an exception becomes a failed result (logged)."""
    message_id, source_id = record_ids(record, parsed)
    if not isinstance(record, Mapping):
        outcome, detail = Outcome.SKIPPED, f"not an SNS record ({type(record).__name__})"
    else:
        try:
            outcome, detail = handle(record, parsed)
        except Exception as exc:
            logger.exception("%s: record %d (SNS message %s) failed", function, index, message_id)
            outcome, detail = Outcome.FAILED, f"{type(exc).__name__}: {exc}"
    return RecordResult(index, message_id, source_id, outcome, detail)


def run_batch(function: str, event: object, handle: RecordHandler) -> BatchResult:
    """Process every record of an SNS event with ``handle``, one at a time; failures are collected, not raised."""
    results = []
    for index, record in enumerate(sns_records(event)):
        result = handle_record(function, index, record, parse(record), handle)
        log_result(function, result)
        results.append(result)
    return BatchResult(function, tuple(results))


# --------------------------------------------------------------------------- auto-scaled readers

#: A DB instance identifier: 1 to 63 letters, digits and hyphens, a letter first, no "--", no "-" last.
_IDENTIFIER = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}")

NOT_AN_RDS_EVENT = "not an RDS event notification (a subscription confirmation, or a message that is no RDS JSON)"


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


def apply_tags(runtime: RdsRuntime, event: object) -> BatchResult:
    """Tag every new auto-scaling reader of a managed cluster that the batch announces (see the module docstring)."""

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

    return run_batch("rds_apply_tags", event, handle)


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
) -> BatchResult:
    """Turn Performance Insights on for every new (or PI-disabled) auto-scaling reader of a managed cluster.

    Each record's tries are bounded by :func:`bounded_retries` against ``time_left()`` at its start;
    when they are spent the record fails (``PerformanceInsightsError`` naming the instance).
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

    return run_batch("rds_enable_performance_insights", event, handle)
