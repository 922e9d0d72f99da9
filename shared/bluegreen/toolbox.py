"""The tools of one plan, made on first use and reused: one tool (and so one set of clients) per entry.

Only the services a plan uses are ever imported or get clients; each service's descriptor
(:mod:`bluegreen.services`) says which tool serves its entries. A warm Lambda keeps its
:class:`Toolbox`, so its clients (and their connection pools) are reused by the next invocation;
the tools are safe to share between the engine's threads (boto3 clients are thread-safe).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3

from bluegreen.refs import StackReference
from bluegreen.services import service
from bluegreen.services.dynamodb import MissingResourceError, require_table
from bluegreen.services.kinesis import fed_tool

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
    from bluegreen.tools.verdict import VerdictTools


__all__ = ["MissingResourceError", "Toolbox"]


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

    def tool(self, section: str, index: int) -> Any:
        """The tool of entry ``index`` of section ``section`` (``"lambda"``…), made on first use.

        ``"fed"`` is the Lambda tool of the functions that ``plan.kinesis[index]``'s consumers feed;
        ``"verdict"`` (index 0) reads what the plan's verdict judges.
        """
        key = (section, index)
        with self._lock:
            tool = self._tools.get(key)
            if tool is None:
                tool = self._make(section, index)
                self._tools[key] = tool
            return tool

    def _make(self, section: str, index: int) -> Any:
        if section == "verdict":
            from bluegreen.tools.verdict import VerdictConfig, VerdictTools  # noqa: PLC0415 - loaded when used

            return VerdictTools(VerdictConfig(region=self.region, account_id=self.account_id), session=self.session)
        if section == "fed":
            tool = fed_tool(self.plan.kinesis[index], self.region, self.account_id, self.session)
            if tool is None:
                raise LookupError(f"plan.kinesis[{index}] feeds no function")
            return tool
        found = service(section)
        entry = getattr(self.plan, found.attribute)[index]
        return found.make_tool(entry, self.region, self.account_id, self.session)

    def ecs(self, index: int) -> EcsTools:
        """The ECS tool of ``plan.ecs[index]``."""
        return self.tool("ecs", index)  # type: ignore[no-any-return]

    def sqs(self, index: int) -> SqsTools:
        """The SQS tool of ``plan.sqs[index]``."""
        return self.tool("sqs", index)  # type: ignore[no-any-return]

    def sns(self, index: int) -> SnsTools:
        """The SNS tool of ``plan.sns[index]``."""
        return self.tool("sns", index)  # type: ignore[no-any-return]

    def lambda_(self, index: int) -> LambdaTools:
        """The Lambda tool of ``plan.lambda_[index]``."""
        return self.tool("lambda", index)  # type: ignore[no-any-return]

    def cloudwatch(self, index: int) -> CloudWatchTools:
        """The CloudWatch tool of ``plan.cloudwatch[index]``."""
        return self.tool("cloudwatch", index)  # type: ignore[no-any-return]

    def kinesis(self, index: int) -> KinesisTools:
        """The Kinesis tool of ``plan.kinesis[index]``."""
        return self.tool("kinesis", index)  # type: ignore[no-any-return]

    def fed_lambda(self, index: int) -> LambdaTools:
        """A Lambda tool for the functions that ``plan.kinesis[index]``'s consumers feed."""
        return self.tool("fed", index)  # type: ignore[no-any-return]

    def dynamodb(self, index: int) -> DynamoTools:
        """The DynamoDB tool of ``plan.dynamodb[index]``."""
        return self.tool("dynamodb", index)  # type: ignore[no-any-return]

    def aurora(self, index: int) -> AuroraTools:
        """The Aurora tool of ``plan.aurora[index]``."""
        return self.tool("aurora", index)  # type: ignore[no-any-return]

    def verdict(self) -> VerdictTools:
        """The tool that reads what the plan's verdict judges (alarms, the smoke function, metrics)."""
        return self.tool("verdict", 0)  # type: ignore[no-any-return]

    def require_table(self, index: int, ref: StackReference) -> None:
        """Raise :class:`MissingResourceError` when stack ``ref``'s table of ``plan.dynamodb[index]`` is missing."""
        require_table(self.dynamodb(index), index, ref)
