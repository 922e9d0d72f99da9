"""What ``bluegreen status`` shows: the live stack, the deployment in flight, and every resource pair side by side.

:func:`collect_status` reads the live-stack record (one ``GetItem``) and then, for each entry of the
plan and each stack, what AWS holds now, through the tools' read-only helpers. It changes nothing:
every call it makes is a ``Get*``, ``Describe*`` or ``List*`` call.

One row per thing the flows switch or touch, with the id of the steps that act on it (``ecs[0]``,
``lambda[0].mappings``, ``lambda[0].rules``, …), in the plan's section order; each service's
descriptor (:mod:`bluegreen.services`) says what its rows read:

- ``ecs[i]``: the worker service's desired count (on when > 0);
- ``sqs[i]``: the messages in the queue and its DLQ, waiting and in flight (no mode);
- ``sns[i]``: the subscription enabled or disabled, from its filter policy;
- ``lambda[i].mappings`` / ``lambda[i].rules``: the event-source mappings' and EventBridge rules' states
  (``2 Enabled``; on when all are enabled);
- ``cloudwatch[i]``: the alarms whose actions are on, of all matching alarms;
- ``kinesis[i]``: the consumer's status and, with ``feeds``, the fed function's mapping on it;
- ``dynamodb[i]``: the table status (no mode);
- ``aurora[i]``: the cluster status, its reader count and its min reader capacity (on when available).

Decisions made here, where nothing else fixed them:

- **Missing is a state, not an error**: a resource that does not exist (a table deleted by an
  ``on_retire: delete``, a service never created) is shown as ``missing``. A read that fails
  otherwise (AccessDenied on one service, throttling past the retries) is shown in its cell as
  ``error: …`` and listed in :attr:`StatusReport.errors`; the rest of the report is still read.
  Credentials that are refused or absent (:func:`is_access_problem`) stop the whole report: every
  other read would fail the same way.
- **Modes**: a row whose stack can be on or off (``switch``) gets ``on``, ``off`` or ``partly``
  (some of its mappings, rules or alarms on and some off; a cluster starting or stopping); queue
  depths and table statuses have no mode. A stack whose switches are all on is ``working``, all off
  ``retired``, otherwise ``mixed`` (``unknown`` when a read failed).
- **Warnings** name what looks wrong: the live stack's switches that are not on and its resources
  that are missing, the replacement of a *prepared* deployment that is not fully on, a
  deployment flipped but never retired, and alarm types this botocore cannot return (so
  ``cloudwatch[i]`` leaves them out, and the tools, run with it, do not switch them).
- **No record yet**: live is the plan's ``initial_live`` and ``recorded`` is false ("no deployment yet").
- Reads run in parallel on a small thread pool (:data:`MAX_WORKERS`); the report keeps plan order.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import field
from typing import Any

from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from bluegreen.aws import error_code, error_message
from bluegreen.datatypes import datatype
from bluegreen.plan import Plan, plan_snapshot
from bluegreen.refs import StackReference
from bluegreen.services import REGISTRY, Row
from bluegreen.services._kit import Mode
from bluegreen.state import LiveRecord, Phase, StateStore
from bluegreen.toolbox import Toolbox

__all__ = [
    "MAX_WORKERS",
    "Mode",
    "ResourceStatus",
    "StackState",
    "StatusReport",
    "collect_status",
    "is_access_problem",
]

#: Reads made at once.
MAX_WORKERS = 8

#: Error codes that mean the caller's credentials are refused, absent or not allowed (not a missing resource).
ACCESS_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)
#: Of those, the ones that mean the credentials themselves are bad (every call would fail): they stop a report.
_CREDENTIAL_CODES = ACCESS_ERROR_CODES - {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_MISSING_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NotFound",
        "NotFoundException",
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "DBClusterNotFoundFault",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)
_CREDENTIAL_EXCEPTIONS = (
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    CredentialRetrievalError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)


def is_access_problem(exc: BaseException, *, credentials_only: bool = False) -> bool:
    """Whether ``exc`` means AWS cannot be used with these credentials: none found, refused, expired, or denied.

    ``credentials_only`` leaves out AccessDenied-like refusals (the credentials work; one action is not allowed).
    """
    if isinstance(exc, _CREDENTIAL_EXCEPTIONS):
        return True
    return error_code(exc) in (_CREDENTIAL_CODES if credentials_only else ACCESS_ERROR_CODES)


@datatype
class StackState:
    """One stack's side of a row: the resource's name, a short state, and the values behind it."""

    name: str
    state: str
    mode: Mode | None = None
    missing: bool = False
    error: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "name": self.name,
            "state": self.state,
            "mode": self.mode,
            "missing": self.missing,
            "error": self.error,
            "data": dict(self.data),
        }


@datatype
class ResourceStatus:
    """One row: a thing of the plan (``id`` as the flows' step ids name it) and its state in stack a and b."""

    id: str
    service: str
    what: str
    switch: bool
    a: StackState
    b: StackState

    def stack(self, ref: StackReference) -> StackState:
        """The side of stack ``ref``."""
        return self.a if ref is StackReference.A else self.b

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "id": self.id,
            "service": self.service,
            "what": self.what,
            "switch": self.switch,
            "a": self.a.as_dict(),
            "b": self.b.as_dict(),
        }


@datatype
class StatusReport:
    """The record and the resources of one application, as :func:`collect_status` read them."""

    application: str
    region: str
    state_table: str
    live: StackReference
    record: LiveRecord | None
    resources: tuple[ResourceStatus, ...] = ()
    resources_read: bool = True
    #: The sha256 of the plan in force now (a deployment in flight acts on the one kept with its record).
    plan_sha256: str | None = None
    #: What the tools say about the botocore they run with (alarm types it cannot return), once each.
    tool_warnings: tuple[str, ...] = ()

    @property
    def plan_differs(self) -> bool:
        """True when the deployment on record was prepared with another plan than the one in force now."""
        record = self.record
        return bool(record and record.plan_sha256 and self.plan_sha256 and record.plan_sha256 != self.plan_sha256)

    @property
    def recorded(self) -> bool:
        """False before the first deployment: there is no record, and live is the plan's ``initial_live``."""
        return self.record is not None

    @property
    def replacement(self) -> StackReference:
        """The stack the deployment in flight, or the next one, brings in."""
        return self.record.replacement_stack if self.record is not None else self.live.partner

    def role(self, ref: StackReference) -> str:
        """``live``; or for the other stack ``old`` while a flipped deployment retires it, else ``replacement``."""
        if ref is self.live:
            return "live"
        record = self.record
        if record is not None and record.in_flight and record.phase is Phase.FLIPPED:
            return "old"
        return "replacement"

    def condition(self, ref: StackReference) -> str | None:
        """``working`` (every switch on), ``retired`` (every switch off), ``mixed``, ``unknown`` (a read failed).

        None when the report has no switch (or its resources were not read).
        """
        sides = [row.stack(ref) for row in self.resources]
        if any(side.error for side in sides):
            return "unknown"
        modes = [row.stack(ref).mode for row in self.resources if row.switch]
        if not modes:
            return None
        if all(mode == "on" for mode in modes):
            return "working"
        if all(mode == "off" for mode in modes):
            return "retired"
        return "mixed"

    @property
    def errors(self) -> list[str]:
        """Every read that failed, as ``<row>.<stack>: <error>``."""
        return [
            f"{row.id}.{ref.value}: {side.error}"
            for row in self.resources
            for ref in StackReference
            if (side := row.stack(ref)).error
        ]

    @property
    def warnings(self) -> list[str]:
        """What looks wrong (see the module docstring)."""
        found: list[str] = []
        record = self.record
        if record is not None and record.in_flight and record.phase is Phase.FLIPPED:
            found.append(
                f"deployment {record.deployment_id} is flipped but stack {self.live.partner} is not retired yet: while "
                "CodeDeploy runs it its retire is at work; once CodeDeploy ended it, `bluegreen run settle` (or the "
                "deployment-events function, or the next prepare) settles it as CodeDeploy ended it"
            )
        elif record is not None and record.deployment_id is not None and not record.settled and not record.in_flight:
            found.append(
                f"deployment {record.deployment_id} ended {record.phase} but its replacement {record.replacement} is "
                "not put back yet: the deployment-events function, `bluegreen run settle` or the next prepare does it"
            )
        if self.plan_differs and record is not None:
            found.append(
                f"deployment {record.deployment_id} acts on the plan it was prepared with (sha256 "
                f"{(record.plan_sha256 or '')[:12]}), not the current one ({(self.plan_sha256 or '')[:12]}): "
                "the current plan takes effect at the next prepare"
            )
        found.extend(self.tool_warnings)
        checked = [(self.live, "live stack")]
        if record is not None and record.in_flight and record.phase is Phase.PREPARED:
            checked.append((self.replacement, f"replacement (deployment {record.deployment_id} is prepared)"))
        for ref, who in checked:
            for row in self.resources:
                side = row.stack(ref)
                if side.missing:
                    found.append(f"{who} {ref}: {row.id} ({side.name}) is missing")
                elif row.switch and side.mode in ("off", "partly"):
                    found.append(f"{who} {ref}: {row.id} ({row.what}) is {side.mode}: {side.state}")
        return found

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what ``bluegreen status --output json`` prints)."""
        record = self.record
        deployment = None
        if record is not None and record.deployment_id is not None:
            deployment = dict(record.as_dict()["deployment"])
            deployment["in_flight"] = record.in_flight
        return {
            "application": self.application,
            "region": self.region,
            "state_table": self.state_table,
            "recorded": self.recorded,
            "live": self.live.value,
            "replacement": self.replacement.value,
            "deployment": deployment,
            "history": [dict(entry) for entry in record.history] if record is not None else [],
            "stacks": {ref.value: {"role": self.role(ref), "condition": self.condition(ref)} for ref in StackReference},
            "resources": [row.as_dict() for row in self.resources] if self.resources_read else None,
            "plan_sha256": self.plan_sha256,
            "plan_differs": self.plan_differs,
            "warnings": self.warnings,
            "errors": self.errors,
        }


def collect_status(plan: Plan, toolbox: Toolbox, store: StateStore, *, resources: bool = True) -> StatusReport:
    """Read the record and (unless ``resources`` is false) every resource pair of ``plan``; change nothing.

    The record's table must exist (a missing one raises ``LookupError`` naming it); refused or
    absent credentials raise the botocore error (see :func:`is_access_problem`).
    """
    record = store.get(plan.application)
    live = record.live if record is not None else plan.initial_live
    rows = _rows(plan, toolbox) if resources else []
    cells = [(row, ref) for row in rows for ref in StackReference]
    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="bluegreen-status") as pool:
        states = list(pool.map(lambda cell: _read(*cell), cells))
    read = iter(states)
    statuses = tuple(ResourceStatus(row.id, row.service, row.what, row.switch, next(read), next(read)) for row in rows)
    return StatusReport(
        application=plan.application,
        region=toolbox.region,
        state_table=store.table_name,
        live=live,
        record=record,
        resources=statuses,
        resources_read=resources,
        plan_sha256=plan_snapshot(plan, toolbox.region)[1],
        tool_warnings=_tool_warnings(plan, toolbox) if resources else (),
    )


def _tool_warnings(plan: Plan, box: Toolbox) -> tuple[str, ...]:
    """The alarm-type warning of each CloudWatch entry's client, once each (no request: the service model says)."""
    found = (box.cloudwatch(i).alarm_types_warning() for i in range(len(plan.cloudwatch)))
    return tuple(dict.fromkeys(warning for warning in found if warning))


# --------------------------------------------------------------------------- rows and their readers


def _rows(plan: Plan, box: Toolbox) -> list[Row]:
    """Each service's rows for each of its entries, in the plan's section order."""
    return [row for service in REGISTRY for index, entry in enumerate(getattr(plan, service.attribute))
            for row in service.rows(entry, index, box)]  # fmt: skip


def _read(row: Row, ref: StackReference) -> StackState:
    name = row.names[0] if ref is StackReference.A else row.names[1]
    try:
        state, mode, data = row.read(ref)
    except (KeyError, IndexError):
        raise  # a response of an unexpected shape is a bug to see, not a missing resource
    except LookupError:
        return StackState(name, "missing", missing=True)
    except Exception as exc:  # a failed read is shown in its cell, unless credentials fail
        if is_access_problem(exc, credentials_only=True):
            raise
        if error_code(exc) in _MISSING_CODES:
            return StackState(name, "missing", missing=True)
        message = f"{error_code(exc) or type(exc).__name__}: {_first_line(exc)}"
        return StackState(name, f"error: {message}", error=message)
    return StackState(name, state, mode, data=data)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return error_message(exc)
    return str(exc).splitlines()[0] if str(exc) else ""
