"""What a warm hook function keeps, and what a hook invocation is: the runtime, the request, the flows.

:class:`Runtime` holds the plan, its tools, the record's table and CodeDeploy's clients between
invocations, and :class:`~bluegreen.warm.WarmRuntime` (re-exported here) keeps it while the Lambda is
warm; :class:`HookRequest` is one CodeDeploy lifecycle event plus the progress a re-invocation
carries; :class:`Scope` is the plan a deployment acts on and its tools. The runs
(:mod:`bluegreen.hooks.runs`), the settle (:mod:`bluegreen.hooks.settle`) and the hooks (:mod:`bluegreen.hooks`)
all read them from here, so none of them imports another to know its types.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum
from typing import Any

import boto3

from bluegreen.datatypes import datatype
from bluegreen.plan import Plan, load_plan_from_env, plan_from_snapshot, plan_snapshot
from bluegreen.state import LiveRecord, StateStore
from bluegreen.toolbox import Toolbox
from bluegreen.tools.codedeploy import CodeDeployDeployments, CodeDeployReporter, HookStatus
from bluegreen.warm import PROGRESS_KEY, Reinvoker, WarmRuntime, epoch_seconds, lambda_reinvoker

__all__ = [
    "DEADLINE_ENV",
    "PROGRESS_KEY",
    "Flow",
    "HookRequest",
    "HookResult",
    "Reinvoker",
    "Runtime",
    "Scope",
    "WarmRuntime",
    "epoch_seconds",
    "lambda_reinvoker",
]

logger = logging.getLogger(__name__)

#: The template's cap on a hook's deadline, in minutes (it also bounds the re-invocation events' age).
DEADLINE_ENV = "BLUEGREEN_DEADLINE_MINUTES"


@datatype
class Scope:
    """The plan a deployment acts on (the one kept with its record) and the tools of that plan."""

    plan: Plan
    box: Toolbox


class Flow(StrEnum):
    """Which hook: prepare the replacement (BeforeAllowTraffic), retire the old stack (AfterAllowTraffic), or judge.

    ``TEST_TRAFFIC`` judges a prepared replacement at an ECS deployment's AfterAllowTestTraffic (the
    plan's before-traffic verdict with ``at: test-traffic``); it changes nothing in AWS.
    """

    PREPARE = "before-allow-traffic"
    RETIRE = "after-allow-traffic"
    TEST_TRAFFIC = "after-allow-test-traffic"
    SETTLE = "settle"  # by hand only (``bluegreen run settle``): put an ended deployment's replacement back
    ABORT = "abort"  # by hand only (``bluegreen run abort``): stop a deployment in flight, then as SETTLE


@datatype
class HookRequest:
    """A CodeDeploy lifecycle hook event, plus the progress a re-invocation carries."""

    deployment_id: str
    execution_id: str
    done: tuple[str, ...] = ()
    started: tuple[str, ...] = ()
    first_started: float | None = None
    invocation: int = 1
    event: Mapping[str, Any] = field(default_factory=dict)
    token: str | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> HookRequest:
        """Read ``DeploymentId`` and ``LifecycleEventHookExecutionId``; raise ``ValueError`` naming a missing one."""
        if not isinstance(event, Mapping):
            raise ValueError(f"a CodeDeploy hook event must be a JSON object, got {type(event).__name__}")
        missing = [k for k in ("DeploymentId", "LifecycleEventHookExecutionId") if not event.get(k)]
        if missing:
            raise ValueError(f"not a CodeDeploy lifecycle hook event: missing {' and '.join(missing)}")
        for key in ("DeploymentId", "LifecycleEventHookExecutionId"):
            if not isinstance(event[key], str):
                raise ValueError(f"{key} must be a string, got {type(event[key]).__name__}")
        progress = event.get(PROGRESS_KEY) or {}
        if not isinstance(progress, Mapping):
            progress = {}
        done = progress.get("done") or []
        started = progress.get("started") or []
        first = progress.get("first_started")
        token = progress.get("token")
        return cls(
            deployment_id=event["DeploymentId"],
            execution_id=event["LifecycleEventHookExecutionId"],
            done=tuple(str(d) for d in done) if isinstance(done, list) else (),
            started=tuple(str(d) for d in started) if isinstance(started, list) else (),
            first_started=epoch_seconds(first),
            invocation=int(progress.get("invocation", 1)) if isinstance(progress.get("invocation", 1), int) else 1,
            event=event,
            token=token if isinstance(token, str) and token else None,
        )

    def continuation(
        self, done: list[str], started: list[str], first_started: float, token: str | None = None
    ) -> dict[str, Any]:
        """The event for the next invocation: the same event, plus the finished and started steps and the first start.

        ``started`` (every step begun so far, finished or not) lets a later failure undo a step that an
        earlier invocation left waiting; ``token`` is the lease's owner token, which the next
        invocation takes the lease again with.
        """
        event = {k: v for k, v in self.event.items() if k != PROGRESS_KEY}
        event[PROGRESS_KEY] = {
            "done": done,
            "started": sorted(set(started)),
            "first_started": first_started,
            "invocation": self.invocation + 1,
        }
        if token:
            event[PROGRESS_KEY]["token"] = token
        return event


@datatype(frozen=False)
class HookResult:
    """What a hook invocation did: the status it reported (None when it handed over), and why."""

    status: HookStatus | None
    message: str = ""
    done: list[str] = field(default_factory=list)
    reported: bool = False


class Runtime:
    """What a warm Lambda keeps between invocations: the plan, its tools, the record, the reporter."""

    def __init__(
        self,
        plan: Plan,
        *,
        store: StateStore,
        region: str,
        session: boto3.Session | None = None,
        deadline_minutes: int | None = None,
    ) -> None:
        """Hold the plan and make its toolbox (no client is made until a tool is first used).

        ``deadline_minutes`` (the template's ``BLUEGREEN_DEADLINE_MINUTES``, which also bounds the age
        of the re-invocation events) caps the plan's ``deadline_minutes``: the smaller one applies.
        """
        self.plan = plan
        self.deadline_minutes = min(plan.deadline_minutes, deadline_minutes or plan.deadline_minutes)
        self.store = store
        self.region = region
        self.session = session
        self.toolbox = Toolbox(plan, region=region, account_id=plan.account_id, session=session)
        #: The plan as a deployment that begins now keeps it with its record: (canonical JSON, sha256).
        self.snapshot = plan_snapshot(plan, region)
        # CodeDeploy calls the hook in the Lambda's own region, which may differ from the plan's.
        codedeploy_region = os.environ.get("AWS_REGION") or region
        self.reporter = CodeDeployReporter(region=codedeploy_region, session=session)
        self.deployments = CodeDeployDeployments(region=codedeploy_region, session=session)
        self._scopes: dict[str, Scope] = {self.snapshot[1]: Scope(plan, self.toolbox)}

    def scope_for(self, record: LiveRecord | None) -> Scope:
        """The plan ``record``'s deployment acts on (the one kept with it) and its tools; the current plan otherwise.

        A deployment prepared with an earlier plan is retired, continued and put back with that plan,
        never with one edited since. A record written before plans were kept with it gets the current one.
        """
        if record is None or not record.plan_json or not record.plan_sha256:
            return self._scopes[self.snapshot[1]]
        found = self._scopes.get(record.plan_sha256)
        if found is None:
            plan = plan_from_snapshot(record.plan_json)
            logger.warning(
                "deployment %s acts on the plan it began with (sha256 %s), not the current one (%s)",
                record.deployment_id,
                record.plan_sha256[:12],
                self.snapshot[1][:12],
            )
            box = Toolbox(plan, region=plan.region or self.region, account_id=plan.account_id, session=self.session)
            found = self._scopes[record.plan_sha256] = Scope(plan, box)
        return found

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, plan: Plan | None = None) -> Runtime:
        """Load the plan (``BLUEGREEN_PLAN_*``, unless given) and the record table (``BLUEGREEN_STATE_TABLE``)."""
        env = os.environ if environ is None else environ
        plan = plan if plan is not None else load_plan_from_env(env)
        region = plan.resolved_region(env)  # the plan's, else AWS_REGION, else AWS_DEFAULT_REGION; or a PlanError
        raw_deadline = env.get(DEADLINE_ENV, "")
        deadline = int(raw_deadline) if raw_deadline.isdigit() and int(raw_deadline) > 0 else None
        return cls(plan, store=StateStore.from_env(env), region=region, deadline_minutes=deadline)
