"""SNS filter policy propagation, as AWS has it: a change reaches deliveries only after a while.

"Additions or changes to a subscription filter policy require up to 15 minutes to fully take
effect" (Amazon SNS Developer Guide, "Amazon SNS subscription filter policies"). moto applies a
new policy to the very next publish. This model keeps, for each subscription, the policies it was
given and when each takes effect (the time it was set plus that subscription's delay); a publish
is filtered by the newest policy already in effect. ``GetSubscriptionAttributes`` answers the new
policy at once, as AWS does: nothing a caller can read shows the delay.

The delay is :attr:`FilterPropagation.delay_seconds` (0: off, moto's behaviour), or one of its own
for a subscription in :attr:`FilterPropagation.delays` (AWS promises no order between two
subscriptions: a test can make the new stack's subscription slow to turn on and the old one's
quick to turn off, the worst case for a message that must match one of them).
"""

from __future__ import annotations

import threading
import time
from dataclasses import field
from typing import Any

from moto.sns.models import SNSBackend, Subscription
from moto.sns.utils import FilterPolicyMatcher

from bluegreen.datatypes import datatype

__all__ = ["FilterPropagation"]


@datatype
class _Change:
    """One filter policy set on a subscription: its matcher (None: no policy) and when it takes effect."""

    matcher: FilterPolicyMatcher | None
    effective_at: float


@datatype(frozen=False)
class FilterPropagation:
    """The delay of each subscription's filter changes, and the changes still propagating."""

    delay_seconds: float = 0.0
    delays: dict[str, float] = field(default_factory=dict)
    clock: Any = time.monotonic
    _changes: dict[str, list[_Change]] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def delay_of(self, subscription_arn: str) -> float:
        """The delay a filter change of that subscription takes to reach its deliveries, in seconds."""
        return self.delays.get(subscription_arn, self.delay_seconds)

    def clear(self) -> None:
        """Forget the changes in flight (every policy in effect at once); the delays set stay."""
        with self._lock:
            self._changes.clear()

    def _record(self, subscription: Subscription, before: FilterPolicyMatcher | None) -> None:
        arn = subscription.arn
        now = self.clock()
        with self._lock:
            history = self._changes.setdefault(arn, [_Change(before, float("-inf"))])
            history.append(_Change(subscription._filter_policy_matcher, now + self.delay_of(arn)))
            # Keep the newest change in effect and every one after it; older ones can never apply again.
            in_effect = [i for i, change in enumerate(history) if change.effective_at <= now]
            del history[: in_effect[-1] if in_effect else 0]

    def _effective(self, subscription: Subscription) -> tuple[bool, FilterPolicyMatcher | None]:
        """(tracked, the matcher in effect now) — untracked subscriptions use moto's own matcher."""
        now = self.clock()
        with self._lock:
            history = self._changes.get(subscription.arn)
            if not history:
                return False, None
            in_effect = [change for change in history if change.effective_at <= now]
            return True, in_effect[-1].matcher if in_effect else history[0].matcher

    def patches(self) -> list[tuple[type, str, Any]]:
        """(class, attribute, replacement) for the shim's patches.

        SetSubscriptionAttributes(FilterPolicy) is remembered with its delay; a publish uses the policy in effect.
        """
        original_set = SNSBackend.set_subscription_attributes
        original_publish = Subscription.publish
        model = self

        def set_subscription_attributes(backend: SNSBackend, arn: str, name: str, value: Any) -> None:
            found = [s for s in backend.subscriptions.values() if s.arn == arn]
            before = found[0]._filter_policy_matcher if found else None
            original_set(backend, arn, name, value)
            if found and name in ("FilterPolicy", "FilterPolicyScope") and model.delay_of(arn) > 0:
                model._record(found[0], before)

        def publish(subscription: Subscription, message: str, message_id: str, *args: Any, **kw: Any) -> None:
            tracked, matcher = model._effective(subscription)
            if not tracked:
                original_publish(subscription, message, message_id, *args, **kw)
                return
            attributes = kw.get("message_attributes", args[1] if len(args) > 1 else None)
            if matcher is not None and not matcher.matches(attributes, message):
                return
            with model._lock:  # moto's publish filters with the newest policy: hand it the one in effect
                newest = subscription._filter_policy_matcher
                subscription._filter_policy_matcher = None
                try:
                    original_publish(subscription, message, message_id, *args, **kw)
                finally:
                    subscription._filter_policy_matcher = newest

        return [
            (SNSBackend, "set_subscription_attributes", set_subscription_attributes),
            (Subscription, "publish", publish),
        ]
