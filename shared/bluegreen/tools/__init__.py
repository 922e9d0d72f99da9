"""Per-service tools: each acts on stack ``a`` or ``b`` of one kind of AWS resource.

Every tool is ``XTools(config, *, session=None)``; its config is a keyword-built dataclass with
``region`` and ``account_id`` besides the fields of its service. Every method is idempotent: asking
for the state a resource already has is a success.

The names below are imported on first use (PEP 562), so ``import bluegreen.tools.ecs`` — or a hook
whose plan has no Aurora — never loads the other services' modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bluegreen.tools.aurora import AuroraConfig, AuroraTools
    from bluegreen.tools.cloudwatch import AlarmStack, CloudWatchConfig, CloudWatchTools
    from bluegreen.tools.codedeploy import CodeDeployReporter, HookStatus
    from bluegreen.tools.dynamodb import DynamoConfig, DynamoTools
    from bluegreen.tools.ecs import EcsConfig, EcsTools
    from bluegreen.tools.kinesis import KinesisConfig, KinesisTools
    from bluegreen.tools.lambda_ import LambdaConfig, LambdaTools, LatestMetric, MappingBusyError
    from bluegreen.tools.sns import SnsConfig, SnsTools, TopicData
    from bluegreen.tools.sqs import QueuePair, SqsConfig, SqsTools

_WHERE = {
    "AuroraConfig": "aurora",
    "AuroraTools": "aurora",
    "AlarmStack": "cloudwatch",
    "CloudWatchConfig": "cloudwatch",
    "CloudWatchTools": "cloudwatch",
    "CodeDeployReporter": "codedeploy",
    "HookStatus": "codedeploy",
    "DynamoConfig": "dynamodb",
    "DynamoTools": "dynamodb",
    "EcsConfig": "ecs",
    "EcsTools": "ecs",
    "KinesisConfig": "kinesis",
    "KinesisTools": "kinesis",
    "LambdaConfig": "lambda_",
    "LambdaTools": "lambda_",
    "LatestMetric": "lambda_",
    "MappingBusyError": "lambda_",
    "SnsConfig": "sns",
    "SnsTools": "sns",
    "TopicData": "sns",
    "QueuePair": "sqs",
    "SqsConfig": "sqs",
    "SqsTools": "sqs",
}

__all__ = [
    "AlarmStack",
    "AuroraConfig",
    "AuroraTools",
    "CloudWatchConfig",
    "CloudWatchTools",
    "CodeDeployReporter",
    "DynamoConfig",
    "DynamoTools",
    "EcsConfig",
    "EcsTools",
    "HookStatus",
    "KinesisConfig",
    "KinesisTools",
    "LambdaConfig",
    "LambdaTools",
    "LatestMetric",
    "MappingBusyError",
    "QueuePair",
    "SnsConfig",
    "SnsTools",
    "SqsConfig",
    "SqsTools",
    "TopicData",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bluegreen.tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bluegreen.tools.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
