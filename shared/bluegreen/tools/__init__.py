"""Per-service tools: each acts on stack ``a`` or ``b`` of one kind of AWS resource.

Every tool is ``XTools(config, *, session=None)``; its config is a keyword-built dataclass with
``region`` and ``account_id`` besides the fields of its service. Every method is idempotent: asking
for the state a resource already has is a success.
"""

from bluegreen.tools.aurora import AuroraConfig, AuroraTools
from bluegreen.tools.cloudwatch import AlarmStack, CloudWatchConfig, CloudWatchTools
from bluegreen.tools.dynamodb import DynamoConfig, DynamoTools
from bluegreen.tools.ecs import EcsConfig, EcsTools
from bluegreen.tools.kinesis import KinesisConfig, KinesisTools
from bluegreen.tools.lambda_ import LambdaConfig, LambdaTools, LatestMetric
from bluegreen.tools.sns import SnsConfig, SnsTools, TopicData
from bluegreen.tools.sqs import QueuePair, SqsConfig, SqsTools

__all__ = [
    "AlarmStack",
    "AuroraConfig",
    "AuroraTools",
    "CloudWatchConfig",
    "CloudWatchTools",
    "DynamoConfig",
    "DynamoTools",
    "EcsConfig",
    "EcsTools",
    "KinesisConfig",
    "KinesisTools",
    "LambdaConfig",
    "LambdaTools",
    "LatestMetric",
    "QueuePair",
    "SnsConfig",
    "SnsTools",
    "SqsConfig",
    "SqsTools",
    "TopicData",
]
