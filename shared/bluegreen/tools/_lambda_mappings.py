"""Lambda's event-source mappings: listing them (by ARN and by name, merged), their state, switching, deleting.

The functions take the Lambda client; :class:`~bluegreen.tools.lambda_.LambdaTools` calls them
(``list_event_source_mappings``, ``enable_event_mapping``, ``disable_event_mapping``,
``create_event_source_mapping``, ``delete_event_mapping``). A mapping in transition is tried again
here; when every try was refused the last refusal is returned, and the tool raises
:class:`~bluegreen.tools.lambda_.MappingBusyError` naming the mapping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bluegreen.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# The Lambda tool's logger: its records keep their name wherever the code lives.
logger = logging.getLogger("bluegreen.tools.lambda_")

#: The mapping states that count as on / off: a mapping on its way there is left alone.
MAPPING_ON = frozenset({"Enabled", "Enabling"})
MAPPING_OFF = frozenset({"Disabled", "Disabling"})


def plain(response: Mapping[str, Any]) -> dict[str, Any]:
    """A response as a plain dict, without boto3's ``ResponseMetadata``."""
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def list_mappings(lam: LambdaClient, function: str, event_source_arn: str | None = None) -> list[dict[str, Any]]:
    """Every page of ``ListEventSourceMappings`` for ``function`` (a name or ARN), of one source when given."""
    paginator = lam.get_paginator("list_event_source_mappings")
    pages = (
        paginator.paginate(FunctionName=function, EventSourceArn=event_source_arn)
        if event_source_arn
        else paginator.paginate(FunctionName=function)
    )
    return [plain(mapping) for page in pages for mapping in page.get("EventSourceMappings", [])]


def merged_mappings(
    lam: LambdaClient, functions: Iterable[str], event_source_arn: str | None = None
) -> list[dict[str, Any]]:
    """The mappings listed for each of ``functions`` in turn (target ARN, then target name), merged by ``UUID``.

    The first listing that shows a mapping is the one kept (see :mod:`bluegreen.tools.lambda_` for why both).
    """
    merged: dict[str, dict[str, Any]] = {}
    for function in functions:
        for mapping in list_mappings(lam, function, event_source_arn):
            merged.setdefault(str(mapping["UUID"]), mapping)
    return list(merged.values())


def mapping_for_source(lam: LambdaClient, functions: Iterable[str], event_source_arn: str) -> dict[str, Any] | None:
    """The first of :func:`merged_mappings` from ``event_source_arn`` that is not being deleted, or None."""
    for mapping in merged_mappings(lam, functions, event_source_arn):
        if mapping.get("State") != "Deleting":
            return mapping
    return None


def mapping_state(lam: LambdaClient, uuid: str) -> str | None:
    """The mapping's ``State`` now (``GetEventSourceMapping``), or None when it is gone."""
    try:
        return lam.get_event_source_mapping(UUID=uuid).get("State", "")
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def switch_mapping(
    lam: LambdaClient, function: str, mapping: Mapping[str, Any], enabled: bool, *, delay: float, attempts: int
) -> ClientError | None:
    """``UpdateEventSourceMapping`` Enabled=``enabled`` on one mapping of ``function``, tried ``attempts`` times.

    A mapping already in the wanted state (or on its way there), gone, or being deleted is left alone.
    A try refused with ``ResourceInUseException`` is made again after ``delay`` seconds, once the
    mapping's state is read again; other errors propagate at once. None once it is done; the last
    refusal when every try was refused.
    """
    uuid = str(mapping["UUID"])
    wanted = MAPPING_ON if enabled else MAPPING_OFF
    state: str | None = mapping.get("State", "")
    for attempt in range(1, attempts + 1):
        if state is None or state in wanted:
            return None
        if state == "Deleting":
            logger.info("event-source mapping %s of %s is being deleted: left alone", uuid, function)
            return None
        try:
            lam.update_event_source_mapping(UUID=uuid, Enabled=enabled)
            logger.info("event-source mapping %s of %s: Enabled=%s", uuid, function, enabled)
            return None
        except ClientError as error:
            code = error_code(error)
            if code == "ResourceNotFoundException":
                return None
            if code != "ResourceInUseException":
                raise
            if attempt == attempts:
                return error
        time.sleep(delay)
        state = mapping_state(lam, uuid)
    return None


def delete_mapping(lam: LambdaClient, uuid: str, *, delay: float, attempts: int) -> tuple[ClientError, str] | None:
    """``DeleteEventSourceMapping`` of ``uuid``, tried ``attempts`` times.

    A mapping already gone, or found being deleted after a refusal, is done. A try refused with
    ``ResourceInUseException`` is made again after ``delay`` seconds; other errors propagate at once.
    None once it is done; the last refusal and the mapping's ``State`` then when every try was refused.
    """
    for attempt in range(1, attempts + 1):
        try:
            lam.delete_event_source_mapping(UUID=uuid)
            return None
        except ClientError as error:
            code = error_code(error)
            if code == "ResourceNotFoundException":
                return None
            if code != "ResourceInUseException":
                raise
            state = mapping_state(lam, uuid)
            if state is None or state == "Deleting":
                return None
            if attempt == attempts:
                return error, state
        time.sleep(delay)
    return None
