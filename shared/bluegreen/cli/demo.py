"""``bluegreen demo``: four deployments on the embedded emulator, through the real handlers.

It starts the emulator, seeds the ``orders`` application (stack a live and working, stack b retired;
messages in the queues, Aurora readers), puts the plan in SSM as a real install would, then runs four
deployments. Each calls the real Lambda handlers (from ``handlers/`` when run from the repository; the
same code, :mod:`bluegreen.hooks.entry`'s factories, otherwise) with CodeDeploy's events, shows every step as
it runs, what each handler reported, and both stacks side by side before and after:

1. a → b and 2. b → a: CodeDeploy calls ``before_allow_traffic`` then ``after_allow_traffic``; both
   report Succeeded, and the deployment succeeds.
3. a → b again, stopped by its canary alarm: ``before_allow_traffic`` prepares stack b, then CodeDeploy
   stops the deployment (it rolls the traffic back and never calls AfterAllowTraffic), leaving both
   stacks working. Its STOP state-change event goes to the real ``deployment_state_changed`` handler,
   which settles the deployment: stack b back to retired, the record's deployment rolled back.
4. a → b, a bad release: the plan's verdict passes before traffic (the smoke function answers), but
   under live traffic stack b's function fails (CloudWatch holds its errors): ``after_allow_traffic``
   judges it first and reports Failed with the numbers, before anything of stack a is touched.
   CodeDeploy fails the deployment; its FAILURE event settles it: a live and working, b retired.

Last, Aurora auto scaling "adds" a reader to the live cluster and the RDS event handlers tag it and
turn Performance Insights on. The demo succeeds (exit code 0) when every outcome was the expected one
and, at the end, the record and what AWS holds agree: a live and working, b retired.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

import bluegreen.engine
from bluegreen.aws import make_client
from bluegreen.cli import render
from bluegreen.cli.demo_checks import settled_problems
from bluegreen.datatypes import datatype
from bluegreen.local.emulator import PLAN_PARAMETER, Emulator
from bluegreen.local.scaling import run_scaling_activity
from bluegreen.local.seed import World, seed_world
from bluegreen.refs import StackReference

if TYPE_CHECKING:
    from bluegreen.status import StatusReport

REGION = "eu-central-1"
STACK_NAME = "bluegreen-demo"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@datatype(frozen=False)
class _Context:
    """What Lambda passes a handler: enough of it for Powertools and the hooks' re-invocation."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = ""
    seconds: float = 900.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@contextmanager
def _logger_level(name: str, level: int) -> Iterator[None]:
    """The logger ``name`` at ``level`` while the block runs."""
    found = logging.getLogger(name)
    saved = found.level
    found.setLevel(level)
    try:
        yield
    finally:
        found.setLevel(saved)


@contextmanager
def _quiet_lambda_environment(extra: dict[str, str]) -> Iterator[None]:
    """The environment a deployed hook has, minus its JSON log lines and metrics on the terminal."""
    wanted = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true", **extra}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    poll = bluegreen.engine.POLL_INITIAL_SECONDS
    bluegreen.engine.POLL_INITIAL_SECONDS = 0.2  # the emulator's clusters start at once
    try:
        yield
    finally:
        bluegreen.engine.POLL_INITIAL_SECONDS = poll
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _handler(module: str) -> Handler:
    """The real handler module from ``handlers/`` of the repository this package was installed from."""
    handlers = Path(__file__).resolve().parents[3] / "handlers"
    if (handlers / f"{module}.py").exists() and str(handlers) not in sys.path:
        sys.path.insert(0, str(handlers))
    try:
        found: Handler = importlib.import_module(module).handler
    except ModuleNotFoundError:  # installed without the repository: the same doors the handler files open
        from bluegreen.hooks import Flow  # noqa: PLC0415
        from bluegreen.hooks.entry import deployment_events_handler, hook_handler  # noqa: PLC0415
        from bluegreen.rds.entry import RdsFunction, rds_handler  # noqa: PLC0415

        doors: dict[str, Callable[[], Handler]] = {
            "before_allow_traffic": lambda: hook_handler(Flow.PREPARE),
            "after_allow_traffic": lambda: hook_handler(Flow.RETIRE),
            "deployment_state_changed": deployment_events_handler,
            "rds_apply_tags": lambda: rds_handler(RdsFunction.APPLY_TAGS),
            "rds_enable_performance_insights": lambda: rds_handler(RdsFunction.ENABLE_PERFORMANCE_INSIGHTS),
        }
        found = doors[module]()
    return found


class Demo:
    """One run of the demo against a started emulator."""

    def __init__(self, emulator: Emulator, world: World) -> None:
        self.emulator = emulator
        self.world = world
        self.console = render.make_console()
        self.ok = True
        self.functions: dict[str, str] = {}

    def create_functions(self) -> None:
        """The hook and deployment-events functions, as the template makes them (their re-invocations are queued)."""
        iam, lam = make_client("iam", region=REGION), make_client("lambda", region=REGION)
        role = iam.create_role(RoleName="bluegreen-hooks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        names = {
            "prepare": f"CodeDeployHook_{STACK_NAME}_prepare",
            "retire": f"CodeDeployHook_{STACK_NAME}_retire",
            "events": f"{STACK_NAME}-deployment-events",
        }
        for key, name in names.items():
            created = lam.create_function(
                FunctionName=name, Runtime="python3.13", Role=role, Handler="x.handler", Code={"ZipFile": b"PK"}
            )
            self.functions[key] = created["FunctionArn"]

    def show_stacks(self, title: str) -> StatusReport:
        """Both stacks side by side, read from the emulator the way ``bluegreen status`` reads AWS."""
        from bluegreen.hooks.entry import runtime  # noqa: PLC0415 - after the environment is set
        from bluegreen.status import collect_status  # noqa: PLC0415

        rt = runtime()
        report = collect_status(rt.plan, rt.toolbox, rt.store)
        self.console.rule(f"[bold]{title}")
        self.console.print(render.status_table(report))
        return report

    @contextmanager
    def _steps(self) -> Iterator[None]:
        """Show every step event a handler sends while the block runs (the hooks' ``entry.listeners``)."""
        from bluegreen.hooks import entry  # noqa: PLC0415

        with render.Progress(self.console, []) as progress:
            entry.listeners.append(progress.event)
            try:
                yield
            finally:
                entry.listeners.remove(progress.event)

    def _continue(self, handler: Handler, context: _Context, result: dict[str, Any], key: str) -> dict[str, Any]:
        """Run the handler's async re-invocations (the emulator holds them) while ``result[key]`` says it continues."""
        for _ in range(50):
            if str(result.get(key, "")).lower() != "continued":
                break
            mine = [i for i in self.emulator.take_invocations() if i.function_arn == context.invoked_function_arn]
            if not mine:
                break
            result = handler(mine[-1].event, context)
        return result

    def hook(self, module: str, deployment: str, suffix: str, *, expect: str = "Succeeded") -> None:
        """Call one hook handler with CodeDeploy's event; show its steps and the status it reported (``expect``ed)."""
        handler = _handler(module)
        execution = f"{deployment}-{suffix}-{uuid.uuid4().hex[:8]}"
        event = {"DeploymentId": deployment, "LifecycleEventHookExecutionId": execution}
        context = _Context(f"CodeDeployHook_{STACK_NAME}_{suffix}", self.functions[suffix], aws_request_id=execution)
        started = time.monotonic()
        self.console.print(f"[bold cyan]{module}[/]  deployment {deployment}")
        quiet = logging.CRITICAL if expect != "Succeeded" else logging.NOTSET  # an expected failure: the line says it
        with self._steps(), _logger_level("bluegreen", quiet) if quiet else contextlib.nullcontext():
            result = handler(event, context)
            result = self._continue(handler, context, result, "status")
        reported = self.emulator.hook_statuses.get(execution, "nothing")
        mark = "[green]" if reported == "Succeeded" else ("[yellow]" if reported == expect else "[red]")
        self.console.print(
            f"  CodeDeploy ← {mark}{reported}[/]  ({time.monotonic() - started:.1f}s) {render.esc(result['message'])}"
        )
        self.ok = self.ok and reported == expect

    def deploy(self, deployment: str, *, busy_reader: bool = False) -> None:
        """One deployment: CodeDeploy starts it, calls prepare, then retire; it succeeds.

        ``busy_reader``: an instance of the cluster the retire stops is being modified when the retire
        starts, and for a few seconds more (RDS refuses to stop the cluster meanwhile: the stop waits).
        """
        self.emulator.deployments.create(deployment)
        self.hook("before_allow_traffic", deployment, "prepare")
        released: threading.Timer | None = None
        if busy_reader:
            from bluegreen.hooks.entry import runtime  # noqa: PLC0415

            record = runtime().store.get("orders")
            old = (record.live if record else StackReference.A).value
            reader = f"{self.world.names[old]['cluster']}-writer"
            self.emulator.shim.busy.mark(reader, region=REGION)
            self.console.print(
                f"[bold yellow]an instance of the old stack's cluster is being modified[/] ({reader}): "
                "RDS refuses to stop the cluster until it is available again"
            )
            released = threading.Timer(4.5, lambda: self.emulator.shim.busy.release(reader, region=REGION))
            released.start()
        try:
            self.hook("after_allow_traffic", deployment, "retire")
        finally:
            if released is not None:
                released.join()
        self.emulator.deployments.succeed(deployment)

    def scaling_activity(self) -> None:
        """Application Auto Scaling runs an activity on every worker service: retired ones stay at 0."""
        activities = run_scaling_activity(region=REGION)
        self.console.print(
            "[bold]Application Auto Scaling runs a scaling activity[/] (it puts desired counts back into min-max)"
        )
        for activity in activities:
            held = "[green]stays at 0: scaling suspended by the retire[/]" if not activity.changed else ""
            moved = f"[red]{activity.before} → {activity.after}[/]" if activity.changed else ""
            self.console.print(f"  {activity.resource_id}: {held or moved}")
            self.ok = self.ok and not activity.changed

    def state_changed(self, deployment: str, state: str) -> str:
        """Deliver CodeDeploy's state-change event to the deployment-events handler; show its steps and outcome."""
        handler = _handler("deployment_state_changed")
        event = self.emulator.deployments.state_change_event(deployment, state, region=REGION)
        context = _Context(f"{STACK_NAME}-deployment-events", self.functions["events"], aws_request_id=event["id"])
        started = time.monotonic()
        self.console.print(f"[bold cyan]deployment_state_changed[/]  {state} of deployment {deployment} (EventBridge)")
        try:
            with self._steps(), _logger_level("bluegreen", logging.ERROR):  # its warnings: the outcome line says it
                result: dict[str, Any] = handler(event, context)
                result = self._continue(handler, context, result, "outcome")
        except Exception as exc:  # noqa: BLE001 - shown, and the demo fails
            self.console.print(f"  [red]raised {type(exc).__name__}:[/] {render.esc(exc)}")
            self.ok = False
            return "raised"
        outcome = str(result.get("outcome"))
        mark = "[green]" if outcome == "settled" else "[red]"
        self.console.print(
            f"  outcome {mark}{outcome}[/]  ({time.monotonic() - started:.1f}s) {render.esc(result.get('message', ''))}"
        )
        return outcome

    def stopped_deployment(self, deployment: str) -> None:
        """A deployment the canary alarm stops after prepare; the STOP event settles it: b back to retired."""
        self.emulator.deployments.create(deployment)
        self.hook("before_allow_traffic", deployment, "prepare")
        self.console.print(
            f"[bold yellow]the canary alarm goes off:[/] CodeDeploy stops {deployment} and rolls the traffic back "
            "to stack a; it never calls AfterAllowTraffic"
        )
        self.emulator.deployments.stop(deployment)
        self.show_stacks(f"{deployment} stopped: both stacks working (the danger: b still consumes beside a)")
        outcome = self.state_changed(deployment, "STOP")
        report = self.show_stacks(f"after {deployment} settled: a live and working, b's consumers and workers off")
        problems = ([] if outcome == "settled" else [f"outcome {outcome}, not settled"]) + settled_problems(
            report, deployment
        )
        record = report.record
        if record is not None:
            settled = "settled" if record.settled else "not settled"
            self.console.print(
                f"record: live {record.live} · deployment {record.deployment_id} {record.phase} · {settled}"
            )
        for problem in problems:
            self.console.print(f"  [red]✗ {render.esc(problem)}[/]")
        self.ok = self.ok and not problems

    def bad_release(self, deployment: str) -> None:
        """Stack b fails under live traffic: the retire's verdict stops the release before stack a is touched."""
        from bluegreen.hooks.entry import runtime  # noqa: PLC0415 - after the environment is set

        self.emulator.deployments.create(deployment)
        self.hook("before_allow_traffic", deployment, "prepare")
        function = self.world.names["b"]["fn"]
        cloudwatch = make_client("cloudwatch", region=REGION)
        for metric, value in (("Invocations", 20.0), ("Errors", 9.0)):
            datum = {"MetricName": metric, "Dimensions": [{"Name": "FunctionName", "Value": function}], "Value": value}
            cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[datum])
        self.console.print(
            "[bold yellow]stack b fails under live traffic:[/] CloudWatch holds 9 errors in 20 invocations of "
            + function
        )
        self.hook("after_allow_traffic", deployment, "retire", expect="Failed")
        record = runtime().store.get("orders")
        for moment, judgement in record.verdicts if record is not None else ():
            render.print_verdict(self.console, moment, judgement)
        self.emulator.deployments.fail(deployment)
        outcome = self.state_changed(deployment, "FAILURE")
        report = self.show_stacks(f"after {deployment} settled: a live and working, b retired (never touched: a)")
        problems = ([] if outcome == "settled" else [f"outcome {outcome}, not settled"]) + settled_problems(
            report, deployment
        )
        for problem in problems:
            self.console.print(f"  [red]✗ {render.esc(problem)}[/]")
        self.ok = self.ok and not problems

    def new_reader(self) -> None:
        """Aurora auto scaling adds a reader to the live cluster; the RDS handlers tag it and turn PI on."""
        from bluegreen.hooks.entry import runtime  # noqa: PLC0415

        live = runtime().store.get("orders")
        cluster = self.world.names[live.live.value if live else "a"]["cluster"]
        reader = f"application-autoscaling-{uuid.uuid4()}"
        rds = make_client("rds", region=REGION)
        rds.create_db_instance(
            DBInstanceIdentifier=reader, DBClusterIdentifier=cluster, Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            Tags=[{"Key": "application-autoscaling:resourceId", "Value": f"cluster:{cluster}"}],
        )  # fmt: skip
        arn = rds.describe_db_instances(DBInstanceIdentifier=reader)["DBInstances"][0]["DBInstanceArn"]
        message = {
            "Event Source": "db-instance", "Event Time": time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime()),
            "Identifier Link": f"https://console.aws.amazon.com/rds/home?region={REGION}#dbinstance:id={reader}",
            "Source ID": reader, "Source ARN": arn, "Event Message": "DB instance created",
            "Event ID": "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0005",
        }  # fmt: skip
        event = {
            "Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(message)}}]
        }
        self.console.rule("[bold]Aurora auto scaling adds a reader to the live cluster")
        self.console.print(f"RDS-EVENT-0005 'DB instance created' for {reader} (cluster {cluster})")
        for module in ("rds_apply_tags", "rds_enable_performance_insights"):
            context = _Context(f"{STACK_NAME}-{module}", f"arn:aws:lambda:{REGION}:123456789012:function:{module}")
            try:
                _handler(module)(event, context)
            except Exception as exc:  # noqa: BLE001 - shown, and the demo fails
                self.console.print(f"  [red]{module} failed:[/] {render.esc(exc)}")
                self.ok = False
        tags = {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}
        insights = self.emulator.performance_insights(reader)
        self.console.print(f"  tags: {render.esc(tags)}")
        self.console.print(f"  Performance Insights: {'[green]on[/]' if insights else '[red]off[/]'}")
        self.ok = self.ok and tags.get("Role") == "Reader" and tags.get("team") == "orders" and insights


#: How long the demo's SNS filter changes take to apply, and the settle window that covers it.
DEMO_FILTER_DELAY = 1.0
DEMO_SETTLE_MINUTES = 0.025
#: The live traffic the demo's verdict watches before the retire touches the old stack (AWS: minutes).
DEMO_OBSERVE_MINUTES = 0.01


def run_demo(*, region: str = REGION) -> int:
    """Run the whole demo; 0 when every outcome was the expected one and the stacks ended as they should."""
    started = time.monotonic()
    # SNS filter changes take DEMO_FILTER_DELAY seconds to apply (AWS: up to 15 minutes), so the retire
    # waits its settle windows (the plan's settle_minutes, as 15 minutes cover AWS's delay).
    with Emulator(region=region, filter_delay_seconds=DEMO_FILTER_DELAY) as emulator:
        world = seed_world(
            region, settle_minutes=DEMO_SETTLE_MINUTES, verdict=True, observe_minutes=DEMO_OBSERVE_MINUTES
        )
        make_client("ssm", region=region).put_parameter(
            Name=PLAN_PARAMETER, Type="String", Value=yaml.safe_dump(world.plan, sort_keys=False)
        )
        env = {"BLUEGREEN_PLAN_PARAMETER": PLAN_PARAMETER, "BLUEGREEN_STATE_TABLE": world.state_table}
        with _quiet_lambda_environment(env):
            demo = Demo(emulator, world)
            demo.console.rule("[bold]bluegreen demo — the orders application on the embedded emulator")
            demo.console.print(f"emulator at {emulator.endpoint}; plan in SSM {PLAN_PARAMETER}; no AWS account used")
            demo.create_functions()
            demo.show_stacks("before: stack a live, stack b retired")
            demo.console.rule("[bold]deployment 1: a → b")
            demo.deploy("d-demo-1")
            demo.show_stacks("after deployment 1: b live, a retired")
            demo.scaling_activity()
            demo.console.rule("[bold]deployment 2: b → a")
            demo.deploy("d-demo-2", busy_reader=True)
            demo.show_stacks("after deployment 2: a live again, b retired")
            demo.console.rule("[bold]deployment 3: a → b, stopped by its canary alarm")
            demo.stopped_deployment("d-demo-3")
            demo.console.rule("[bold]deployment 4: a → b, a bad release stopped by the verdict")
            demo.bad_release("d-demo-4")
            demo.new_reader()
            verdict = "[bold green]every outcome was the expected one" if demo.ok else "[bold red]something failed"
            demo.console.rule(f"{verdict}[/] in {time.monotonic() - started:.1f}s")
            return 0 if demo.ok else 1
