"""One runner at a time per application: a lease in the live-stack table.

Whoever changes the stacks — a hook execution, the deployment-events handler, ``bluegreen run`` —
first takes the application's lease, an item ``<application>#lease`` of the live-stack table::

    owner          a token of the holder (random; a hook hands it to its own continuation)
    holder         who holds it, for messages ("after-allow-traffic hook execution e-1 of d-1")
    execution      the hook execution id of the holder ("" for others): a second delivery of the same
                   execution, finding its twin at work, returns without acting (the twin reports)
    lease_expires  epoch seconds: when the holder's own invocation ends (Lambda's remaining time)
    expires_at     a day later: DynamoDB's TTL deletes leases nobody released

It is taken with one conditional ``UpdateItem`` — free (no owner), expired, or already ours — and
released with another (``REMOVE owner`` on condition that it is still ours), also when the holder
raises. A Lambda retry after a crash or a timeout finds it released or expired. A lease that cannot
be written is not ignored: :meth:`Lease.acquire` raises, and the runner does not act.

A hook invocation takes it with :func:`take_for_hook`: its twin at work (a second delivery of the same
execution) is left to report; another runner's lease is waited for, then handed over to a new invocation.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from bluegreen.aws import error_code
from bluegreen.datatypes import datatype
from bluegreen.hooks.clock import HANDOVER_SECONDS
from bluegreen.runtime import HookResult
from bluegreen.state import StateStore

if TYPE_CHECKING:
    from bluegreen.hooks.clock import Clock
    from bluegreen.runtime import HookRequest, Reinvoker

logger = logging.getLogger(__name__)

#: How long an unreleased lease item stays in the table after it expired (TTL on ``expires_at``).
_CLEANUP_SECONDS = 86_400
#: Seconds between two tries of a lease another runner holds (a hook's; the deployment-events function
#: waits by its own, :mod:`bluegreen.hooks.events`).
LEASE_POLL_SECONDS = 2.0
#: The longest one hook invocation waits for a lease before it hands over to a new invocation.
LEASE_WAIT_SECONDS = 300.0


def lease_key(application: str) -> str:
    """The key of the application's lease item: ``<application>#lease``."""
    return f"{application}#lease"


def new_token() -> str:
    """A fresh owner token."""
    return secrets.token_hex(12)


@datatype
class LeaseHeld:
    """The lease is held by another runner: who, for which hook execution ("" for none), until when."""

    holder: str
    execution: str
    expires: float

    def describe(self, now: float) -> str:
        """``held by <holder> for another 12s`` — for messages."""
        return f"held by {self.holder} for another {max(0.0, self.expires - now):.0f}s"


class Lease:
    """The lease of one application, for one owner token (see the module docstring)."""

    def __init__(
        self,
        store: StateStore,
        application: str,
        *,
        owner: str,
        holder: str,
        execution: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Nothing is written until :meth:`acquire`."""
        self.store = store
        self.application = application
        self.owner = owner
        self.holder = holder
        self.execution = execution
        self.clock = clock
        self.held = False

    def acquire(self, expires: float) -> LeaseHeld | None:
        """Take (or renew) the lease until ``expires``; None when taken, else who holds it.

        Raises what DynamoDB raises otherwise: a lease that cannot be written must stop the runner.
        """
        now = self.clock()
        try:
            self.store.client.update_item(
                TableName=self.store.table_name,
                Key={"application": {"S": lease_key(self.application)}},
                UpdateExpression=(
                    "SET #owner = :me, holder = :holder, execution = :exec, lease_expires = :until, expires_at = :ttl"
                ),
                ConditionExpression="attribute_not_exists(#owner) OR #owner = :me OR lease_expires < :now",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":holder": {"S": self.holder},
                    ":exec": {"S": self.execution},
                    ":until": {"N": repr(float(expires))},
                    ":ttl": {"N": str(int(expires) + _CLEANUP_SECONDS)},
                    ":now": {"N": repr(float(now))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return _held(cast("dict[str, Any]", error.response.get("Item") or {}))
        self.held = True
        return None

    def wait(
        self,
        until: Callable[[], float],
        *,
        seconds: float,
        poll: float,
        sleep: Callable[[float], None],
        give_up: Callable[[], bool] = lambda: False,
    ) -> LeaseHeld | None:
        """Take the lease, trying again every ``poll`` seconds for up to ``seconds``; None once taken.

        ``until()`` gives the expiry to ask for at each try (the holder's invocation end); ``give_up()``
        stops the wait early. Returns who still holds it when the wait ends.
        """
        held = self.acquire(until())
        for _ in range(int(max(0.0, seconds) // poll)):
            if held is None or give_up():
                break
            sleep(poll)
            held = self.acquire(until())
        return held

    def keep_for_continuation(self, until: float) -> None:
        """Renew the lease until ``until`` for the continuation a hand-over sent (it takes it with our token).

        A failure is logged: the lease then expires with this invocation, and the continuation takes it
        again if nobody else has.
        """
        try:
            self.acquire(until)
        except Exception:
            logger.exception("%s: could not keep the lease for the continuation", self.application)

    def release(self) -> None:
        """Give the lease back when it is still ours; a failure is logged (it expires with the invocation)."""
        if not self.held:
            return
        self.held = False
        try:
            self.store.client.update_item(
                TableName=self.store.table_name,
                Key={"application": {"S": lease_key(self.application)}},
                UpdateExpression="REMOVE #owner, holder, execution, lease_expires",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                logger.warning(
                    "%s: the lease of %s had already passed to another runner", self.application, self.holder
                )
            else:
                logger.exception(
                    "%s: could not release the lease of %s (it expires by itself)", self.application, self.holder
                )
        except Exception:
            logger.exception(
                "%s: could not release the lease of %s (it expires by itself)", self.application, self.holder
            )

    def current(self) -> LeaseHeld | None:
        """Who holds the lease now (strongly consistent read), or None when nobody does."""
        found = self.store.client.get_item(
            TableName=self.store.table_name,
            Key={"application": {"S": lease_key(self.application)}},
            ConsistentRead=True,
        )
        item = found.get("Item") or {}
        if "owner" not in item:
            return None
        held = _held(item)
        return held if held.expires >= self.clock() else None


def _held(item: dict[str, Any]) -> LeaseHeld:
    return LeaseHeld(
        holder=str(item.get("holder", {}).get("S", "another runner")),
        execution=str(item.get("execution", {}).get("S", "")),
        expires=float(item.get("lease_expires", {}).get("N", "0")),
    )


def take_for_hook(
    lease: Lease,
    request: HookRequest,
    clock: Clock,
    reinvoke: Reinvoker | None,
    sleep: Callable[[float], None],
) -> LeaseHeld | HookResult | None:
    """Take the lease: None when taken; a result to return (handed over, or a twin at work); or who holds it.

    A second delivery of the same hook execution finding its twin at work returns without acting (the
    twin reports). Another runner's lease is waited for, then handed over to a new invocation.
    """

    def until() -> float:
        return clock.now() + clock.time_left()

    held = lease.acquire(until())
    if held is None:
        return None
    if held.execution == request.execution_id:
        return HookResult(None, f"another delivery of this hook execution is at work ({held.describe(clock.now())})")
    held = lease.wait(
        until,
        seconds=min(clock.time_left() - HANDOVER_SECONDS, LEASE_WAIT_SECONDS),
        poll=LEASE_POLL_SECONDS,
        sleep=sleep,
        give_up=lambda: clock.deadline_left() <= 0,
    )
    if held is None:
        return None
    if clock.deadline_left() <= 0 or reinvoke is None:
        return held
    reinvoke(request.continuation(list(request.done), list(request.started), clock.first_started, lease.owner))
    return HookResult(None, f"waiting for the application's lease, {held.describe(clock.now())}: handed over")
