"""AWS's naming rules: checks of regions, account ids, resource names and ARNs of the right service.

Each ``_check_*`` takes a string and returns None when it is fine, else the problem in words.
"""

from __future__ import annotations

import re

from bluegreen.reading.fields import Check

_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):(?P<service>[a-z0-9-]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _check_region(value: str) -> str | None:
    return None if _REGION.fullmatch(value) else f"{value!r} is not a region name like eu-central-1"


def _check_account(value: str) -> str | None:
    return None if _ACCOUNT.fullmatch(value) else f"{value!r} is not an AWS account id (12 digits)"


def _check_application(value: str) -> str | None:
    if len(value.encode("utf-8")) > 2048:
        return "must be at most 2048 bytes (UTF-8): it is the record's DynamoDB partition key"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "must not contain control characters"
    if "#" in value:
        return "must not contain '#': the live-stack table keeps hook reports under '<application>#report#…'"
    return None


def _arn_problem(value: str, service: str, shape: str) -> tuple[re.Match[str] | None, str | None]:
    """The parsed ARN of ``service``, or the problem with ``value`` (``shape`` shows the expected form)."""
    found = _ARN.fullmatch(value)
    if found is None or found["service"] != service:
        return None, f"must be an ARN of the form {shape}"
    if not _REGION.fullmatch(found["region"]):
        return None, f"the region {found['region']!r} in the ARN is not a region name like eu-central-1"
    if not _ACCOUNT.fullmatch(found["account"]):
        return None, f"the account {found['account']!r} in the ARN is not an AWS account id (12 digits)"
    return found, None


def _name_or_arn(what: str, *, name: str, rule: str, service: str, resource: str, shape: str) -> Check:
    """A check of ``what``: a name matching ``name`` (``rule`` in words), or an ARN of ``service``.

    The ARN's resource part must match ``resource`` (``shape`` in words).
    """
    name_re, resource_re = re.compile(name), re.compile(resource)
    arn_shape = f"arn:aws:{service}:<region>:<account>:{shape}"

    def check(value: str) -> str | None:
        if not value.startswith("arn:"):
            return None if name_re.fullmatch(value) else f"must be {what} ({rule}) or its ARN"
        found, problem = _arn_problem(value, service, arn_shape)
        if problem is None and found is not None and not resource_re.fullmatch(found["resource"]):
            problem = f"must be an ARN of the form {arn_shape}"
        return problem and f"must be {what} or its ARN: {problem.removeprefix('must be ')}"

    return check


_NAME_255 = "letters, digits, hyphens and underscores, up to 255"
_check_cluster = _name_or_arn(
    "an ECS cluster name",
    name=r"[A-Za-z0-9_-]{1,255}",
    rule=_NAME_255,
    service="ecs",
    resource=r"cluster/[A-Za-z0-9_-]{1,255}",
    shape="cluster/<name>",
)
_check_service = _name_or_arn(
    "an ECS service name",
    name=r"[A-Za-z0-9_-]{1,255}",
    rule=_NAME_255,
    service="ecs",
    resource=r"service/([A-Za-z0-9_-]{1,255}/)?[A-Za-z0-9_-]{1,255}",
    shape="service/<cluster>/<name>",
)
_check_function = _name_or_arn(
    "a Lambda function name",
    name=r"[A-Za-z0-9_-]{1,64}",
    rule="letters, digits, hyphens and underscores, up to 64",
    service="lambda",
    resource=r"function:[A-Za-z0-9_-]{1,64}",
    shape="function:<name> (no version or alias: set alias)",
)
_check_table = _name_or_arn(
    "a DynamoDB table name",
    name=r"[A-Za-z0-9_.-]{3,255}",
    rule="3 to 255 letters, digits, underscores, hyphens and dots",
    service="dynamodb",
    resource=r"table/[A-Za-z0-9_.-]{3,255}",
    shape="table/<name>",
)


def _check_queue(value: str) -> str | None:
    if value.startswith(("https://", "http://")):
        return "must be the queue's name, not its URL (the tools look the URL up with GetQueueUrl)"
    if value.startswith("arn:"):
        return "must be the queue's name, not its ARN"
    base = value.removesuffix(".fifo")
    if len(value) > 80 or not _SIMPLE_NAME.fullmatch(base):
        return "must be an SQS queue name (letters, digits, hyphens and underscores, up to 80, .fifo allowed)"
    return None


def _check_alias(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value) and not value.isdigit():
        return None
    return "must be a Lambda alias name (letters, digits, hyphens and underscores, up to 128, not only digits)"


def _check_bus(value: str) -> str | None:
    if value.startswith("arn:"):
        return _arn_problem(value, "events", "arn:aws:events:<region>:<account>:event-bus/<name>")[1]
    if re.fullmatch(r"[A-Za-z0-9._/-]{1,256}", value):
        return None
    return "must be an EventBridge bus name (letters, digits, . _ - /, up to 256) or ARN"


def _check_consumer(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", value):
        return None
    return "must be a Kinesis consumer name (letters, digits, underscores, hyphens and dots, up to 128)"


def _check_stream_arn(value: str) -> str | None:
    found, problem = _arn_problem(value, "kinesis", "arn:aws:kinesis:<region>:<account>:stream/<stream name>")
    if problem or found is None:
        return problem
    if "/consumer/" in found["resource"]:
        return "is a consumer ARN: give the stream's ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"
    if not re.fullmatch(r"stream/[A-Za-z0-9_.-]{1,128}", found["resource"]):
        return "must be a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"
    return None


def _check_subscription_arn(value: str) -> str | None:
    if value.lower().replace(" ", "") in ("pendingconfirmation", "pending"):
        return "is SNS's PendingConfirmation: confirm the subscription, then give the ARN SNS assigns it"
    shape = "arn:aws:sns:<region>:<account>:<topic>:<subscription id>"
    found, problem = _arn_problem(value, "sns", shape)
    if problem or found is None:
        return problem and problem.replace("an ARN", "an SNS subscription ARN")
    parts = found["resource"].split(":")
    if len(parts) == 1:
        return "is a topic ARN: give the subscription's ARN (the topic ARN, ':' and the subscription id)"
    topic_ok = len(parts[0]) <= 256 and _SIMPLE_NAME.fullmatch(parts[0].removesuffix(".fifo"))
    if len(parts) != 2 or not topic_ok or not _UUID.fullmatch(parts[1]):
        return f"must be an SNS subscription ARN ({shape}, the id a UUID)"
    return None


def _check_aurora(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}", value) and not value.endswith("-"):
        return None
    return (
        "must be an Aurora cluster identifier (1 to 63 letters, digits and hyphens, starting with a letter, "
        "no two hyphens in a row, not ending with one)"
    )


def _base_name(value: str) -> str:
    """The bare resource name in a name or an ARN (case kept)."""
    if not value.startswith("arn:"):
        return value
    resource = value.split(":", 5)[-1]
    return re.split(r"[:/]", resource)[-1]
