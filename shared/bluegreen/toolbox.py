"""The tools of one plan, made on first use and reused: one tool (and so one set of clients) per entry.

Only the services a plan uses are ever imported or get clients. A warm Lambda keeps its
:class:`Toolbox`, so its clients (and their connection pools) are reused by the next invocation;
the tools are safe to share between the engine's threads (boto3 clients are thread-safe).
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from typing import TYPE_CHECKING, Any

import boto3

from bluegreen.refs import StackReference

if TYPE_CHECKING:
    from bluegreen.plan import Plan
    from bluegreen.tools.aurora import AuroraTools
    from bluegreen.tools.cloudwatch import CloudWatchTools
    from bluegreen.tools.dynamodb import DynamoTools
    from bluegreen.tools.ecs import EcsTools
    from bluegreen.tools.kinesis import KinesisTools
    from bluegreen.tools.lambda_ import LambdaTools
    from bluegreen.tools.sns import SnsTools
    from bluegreen.tools.sqs import SqsTools


class MissingResourceError(RuntimeError):
    """A resource the plan names does not exist (for example a table deleted by an earlier retire)."""


class Toolbox:
    """Makes the tool for each plan entry once, on first use, in the plan's region and account."""

    def __init__(
        self, plan: Plan, *, region: str, account_id: str | None = None, session: boto3.Session | None = None
    ) -> None:
        """Keep the plan and where to act; no tool or client is made yet."""
        self.plan = plan
        self.region = region
        self.account_id = account_id
        self.session = session
        self._tools: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def _get(self, section: str, index: int) -> Any:
        key = (section, index)
        with self._lock:
            tool = self._tools.get(key)
            if tool is None:
                tool = self._make(section, index)
                self._tools[key] = tool
            return tool

    def _make(self, section: str, index: int) -> Any:
        if section == "fed":
            lambda_module = importlib.import_module("bluegreen.tools.lambda_")
            feeds = self.plan.kinesis[index].feeds
            assert feeds is not None
            config = lambda_module.LambdaConfig(
                region=self.region, account_id=self.account_id, lambda_name_a=feeds.a, lambda_name_b=feeds.b
            )
            return lambda_module.LambdaTools(config, session=self.session)
        entry = getattr(self.plan, section)[index]
        config = entry.config(self.region, self.account_id)
        if section == "dynamodb":
            # the retire flow polls for the table to be gone instead of blocking a thread on a waiter
            config = dataclasses.replace(config, wait_for_table_delete=False)
        module_name, class_name = _MODULES[section]
        module = importlib.import_module(f"bluegreen.tools.{module_name}")
        return getattr(module, class_name)(config, session=self.session)

    def ecs(self, index: int) -> EcsTools:
        """The ECS tool of ``plan.ecs[index]``."""
        return self._get("ecs", index)  # type: ignore[no-any-return]

    def sqs(self, index: int) -> SqsTools:
        """The SQS tool of ``plan.sqs[index]``."""
        return self._get("sqs", index)  # type: ignore[no-any-return]

    def sns(self, index: int) -> SnsTools:
        """The SNS tool of ``plan.sns[index]``."""
        return self._get("sns", index)  # type: ignore[no-any-return]

    def lambda_(self, index: int) -> LambdaTools:
        """The Lambda tool of ``plan.lambda_[index]``."""
        return self._get("lambda_", index)  # type: ignore[no-any-return]

    def cloudwatch(self, index: int) -> CloudWatchTools:
        """The CloudWatch tool of ``plan.cloudwatch[index]``."""
        return self._get("cloudwatch", index)  # type: ignore[no-any-return]

    def kinesis(self, index: int) -> KinesisTools:
        """The Kinesis tool of ``plan.kinesis[index]``."""
        return self._get("kinesis", index)  # type: ignore[no-any-return]

    def fed_lambda(self, index: int) -> LambdaTools:
        """A Lambda tool for the functions that ``plan.kinesis[index]``'s consumers feed."""
        return self._get("fed", index)  # type: ignore[no-any-return]

    def dynamodb(self, index: int) -> DynamoTools:
        """The DynamoDB tool of ``plan.dynamodb[index]``."""
        return self._get("dynamodb", index)  # type: ignore[no-any-return]

    def aurora(self, index: int) -> AuroraTools:
        """The Aurora tool of ``plan.aurora[index]``."""
        return self._get("aurora", index)  # type: ignore[no-any-return]

    def require_table(self, index: int, ref: StackReference) -> None:
        """Raise :class:`MissingResourceError` when stack ``ref``'s table of ``plan.dynamodb[index]`` is missing."""
        tool = self.dynamodb(index)
        if not tool.table_exists(ref):
            name = tool.table_name(ref)
            raise MissingResourceError(
                f"plan.dynamodb[{index}].{ref.value}: table {name!r} does not exist — with on_retire: delete, "
                "your infrastructure code must recreate it before the next deployment back to this stack"
            )


_MODULES: dict[str, tuple[str, str]] = {
    "ecs": ("ecs", "EcsTools"),
    "sqs": ("sqs", "SqsTools"),
    "sns": ("sns", "SnsTools"),
    "lambda_": ("lambda_", "LambdaTools"),
    "cloudwatch": ("cloudwatch", "CloudWatchTools"),
    "kinesis": ("kinesis", "KinesisTools"),
    "dynamodb": ("dynamodb", "DynamoTools"),
    "aurora": ("aurora", "AuroraTools"),
}
