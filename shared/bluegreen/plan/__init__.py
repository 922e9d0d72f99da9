"""The plan: one YAML/JSON document per application naming the resources of stack ``a`` and stack ``b``.

:func:`parse_plan` turns a parsed document into a frozen :class:`Plan`, or raises :class:`PlanError`
listing **every** problem of the document, each with its path (``plan.aurora[0].b: required — name
stack b's cluster``). :func:`load_plan_text` reads YAML or JSON text; :func:`load_plan_from_env` finds
the plan the way the hook Lambdas do. Each entry builds its tool's config with ``.config(region,
account_id)``; the tool modules are imported only then, so importing this package sends no request
and pulls in no tool.

Decisions the design left open (the rules a plan is held to):

- **Unknown keys are errors**, with the nearest known key suggested. So are settings that would have
  no effect: ``wait_for_delete`` without ``on_retire: delete`` (dynamodb), ``skip_delete_snapshots:
  true`` without ``on_retire: delete`` (aurora), ``mapping`` without ``feeds`` (kinesis).
- **null means "not given"**: an optional key set to null takes its default, a required one is
  reported as required, and a section that is null (``ecs:`` with its entries commented out) is empty.
- **Types are exact**: strings must be strings (an unquoted ``555``, ``yes`` or ``2024-01-01`` is a
  number, boolean or date in YAML, and is reported with the advice to quote it), integers must not be
  booleans or floats, booleans must be ``true``/``false`` (not ``"yes"``). Strings must not be blank
  nor start or end with whitespace (alarm prefixes and suffixes, where a space can matter, excepted).
- ``application`` is the partition key of the live-stack record: up to 2048 UTF-8 bytes (DynamoDB's
  limit), no control characters. ``region`` looks like ``eu-central-1``; ``account_id`` and the account
  in every ARN are 12 digits. When ``region`` is absent the hooks use the Lambda's own region
  (:meth:`Plan.resolved_region`); when ``account_id`` is absent the tools ask STS once.
- ``initial_live`` is ``a`` or ``b`` (either case); ``deadline_minutes`` is 1..55 (CodeDeploy fails a hook
  after 60 minutes; the hook must report first). ``settle_minutes`` (default 15, 0..55, fractions
  allowed) is how long SNS may take to apply a filter policy change: the retire waits it twice (the
  new subscriptions settling, the old consumers draining), so with SNS entries it must be under half
  of ``deadline_minutes``.
- **Names are checked against AWS's naming rules** (ECS service and cluster, SQS queue — a name,
  not a URL —, Lambda function and alias, Kinesis consumer, DynamoDB table, Aurora cluster), and ARNs
  must be of the right service: ``stream_arn`` a Kinesis *stream* ARN, SNS entries *subscription* ARNs
  (a topic ARN, or SNS's ``PendingConfirmation``, is reported as such).
- **Every resource belongs to one stack of one entry**: ``a`` and ``b`` naming the same resource, or
  two entries naming it, is an error (for SQS a queue and a DLQ count as the same kind). Alarm sets
  must not *overlap* either — ``{alarm_prefix: svc}`` and ``{alarm_prefix: svc, alarm_suffix: "- B"}``
  share every ``svc…- B`` alarm, and retiring one stack would silence the other's alarms.
- **SNS**: ``a`` and ``b`` are subscription ARNs (strings); the subscription's region is the one in
  its ARN. ``enabled_filter`` / ``disabled_filter`` (optional, shared by both stacks) are filter
  policies: mappings whose values are lists or mappings. A disabled filter of ``{}`` matches every
  message and the two filters being equal means disabling changes nothing: both are errors.
- **SQS / CloudWatch shorthand**: ``a: fn-queue-a`` means ``a: {queue: fn-queue-a}`` and ``a: "svc - A"``
  means ``a: {alarm_prefix: "svc - A"}``. :meth:`Plan.to_document` always writes the long form.
- **Lambda**: ``event_buses`` (default ``[default]``) lists the EventBridge buses whose rules that
  target the function are switched with it.
- **Kinesis**: ``feeds: {a: fn, b: fn}`` names the Lambda each consumer feeds (both required, and
  different); ``mapping`` sets the parameters of the re-created event-source mapping. Its keys are the
  snake_case of ``CreateEventSourceMapping``'s parameters (``starting_position``, ``batch_size``,
  ``maximum_batching_window_in_seconds``, ``parallelization_factor``, ``maximum_record_age_in_seconds``,
  ``maximum_retry_attempts``, ``bisect_batch_on_function_error``, ``tumbling_window_in_seconds``,
  ``function_response_types``) plus ``on_failure_destination`` (an SQS queue or SNS topic ARN, sent as
  ``DestinationConfig.OnFailure.Destination``), each checked against Lambda's limits.
  ``starting_position`` is ``LATEST`` (the default) or ``TRIM_HORIZON``; ``AT_TIMESTAMP`` is refused,
  as one fixed timestamp makes no sense for a mapping re-created at every deployment.
- ``minimum_cluster_size`` is 0..15 (an Aurora cluster has at most 15 readers). Aurora ``tags`` follow
  the RDS tag rules (at most 50; keys 1-128 characters, not ``aws:``; values up to 256).
- ``ecs`` ``desired_tasks`` is required and at least 1: the design names it in every ECS entry, and a
  working service of zero tasks is always a mistake.
- ``verdict`` (optional, :mod:`bluegreen.verdict.model`) names ``before_traffic``, ``before_retire``
  or both. ``at`` is ``prepare`` (default) or ``test-traffic``; ``alarm_names`` holds at most 100
  names per stack, none named for both; ``smoke.timeout_seconds`` is 1..300 (default 30) and its
  ``payload`` must be JSON; ``observe_minutes`` is 0 to under ``deadline_minutes``; the ``lambda``
  thresholds are ratios 0..1 (``max_error_rate``, ``max_throttle_rate``) or whole numbers of 0 or
  more, at least one given. Each threshold needs something of the plan to measure (``lambda``: a
  ``lambda`` entry or ``kinesis`` ``feeds``; ``kinesis``: ``feeds``; ``dlq``: an ``sqs`` entry with
  a ``dlq``), and with SNS entries ``observe_minutes + settle_minutes`` must be under
  ``deadline_minutes`` (:func:`~bluegreen.plan.checks._check_verdict`).
- **Loading**: a key repeated in one mapping is an error (YAML and JSON would silently keep the
  last one — a second ``aurora:`` would drop the first). YAML is read with a safe loader (no Python
  tags); merge keys (``<<: *base``) work. Of the three plan variables, one set to an empty string
  counts as unset; the SSM parameter is cached :data:`PLAN_CACHE_SECONDS` (see
  :func:`load_plan_from_env`).

A :class:`Plan` built with its constructor is trusted as given; only :func:`parse_plan` validates.

The package's rooms: :mod:`~bluegreen.plan.model` (the :class:`Plan` and :class:`PlanError`),
:mod:`~bluegreen.plan.checks` (:func:`parse_plan` and the whole-plan rules),
:mod:`~bluegreen.reading.fields` (typed fields, problems collected), :mod:`~bluegreen.reading.names` (AWS
names and ARNs) and :mod:`~bluegreen.plan.load` (text, environment variables and the SSM cache).
Each section's entry and reader are with its service, in :mod:`bluegreen.services`.
"""

from bluegreen.plan.checks import parse_plan
from bluegreen.plan.load import (
    PLAN_CACHE_SECONDS,
    PLAN_FILE_VAR,
    PLAN_PARAMETER_VAR,
    PLAN_VAR,
    clear_plan_cache,
    load_plan_from_env,
    load_plan_text,
)
from bluegreen.plan.model import (
    SERVICES,
    AlarmSet,
    AuroraEntry,
    CloudWatchEntry,
    DynamoEntry,
    EcsEntry,
    KinesisEntry,
    LambdaEntry,
    Plan,
    PlanError,
    SnsEntry,
    SqsEntry,
    SqsQueues,
    StackPair,
)
from bluegreen.plan.model import AuroraOnRetire as AuroraOnRetire  # the entries' type aliases, public as before
from bluegreen.plan.model import DynamoOnRetire as DynamoOnRetire
from bluegreen.plan.snapshot import plan_from_snapshot, plan_snapshot

__all__ = [
    "PLAN_CACHE_SECONDS",
    "PLAN_FILE_VAR",
    "PLAN_PARAMETER_VAR",
    "PLAN_VAR",
    "SERVICES",
    "AlarmSet",
    "AuroraEntry",
    "CloudWatchEntry",
    "DynamoEntry",
    "EcsEntry",
    "KinesisEntry",
    "LambdaEntry",
    "Plan",
    "PlanError",
    "SnsEntry",
    "SqsEntry",
    "SqsQueues",
    "StackPair",
    "clear_plan_cache",
    "load_plan_from_env",
    "load_plan_text",
    "parse_plan",
    "plan_from_snapshot",
    "plan_snapshot",
]
