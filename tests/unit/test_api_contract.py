"""The tools API of docs/api.md is a contract: every name, field and method exists as written."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import bluegreen
import bluegreen.tools as tools

CONFIG_FIELDS = {
    "EcsConfig": ["cluster", "service_name_a", "service_name_b", "desired_tasks"],
    "SqsConfig": ["queue_a", "queue_b"],
    "SnsConfig": ["topic_a", "topic_b"],
    "DynamoConfig": ["table_name_a", "table_name_b", "wait_for_table_delete"],
    "CloudWatchConfig": ["alarm_stack_a", "alarm_stack_b"],
    "KinesisConfig": ["stream_arn", "consumer_name_a", "consumer_name_b"],
    "LambdaConfig": ["lambda_name_a", "lambda_name_b", "alias"],
    "AuroraConfig": [
        "cluster_name_a",
        "cluster_name_b",
        "minimum_cluster_size",
        "skip_delete_snapshots",
        "namespace",
        "tags",
    ],
}

METHODS = {
    "EcsTools": ["disable_service", "enable_service"],
    "SqsTools": ["purge_queues"],
    "SnsTools": ["enable_subscription", "disable_subscription"],
    "DynamoTools": ["delete_table"],
    "CloudWatchTools": ["enable_alarms_actions", "disable_alarms_actions"],
    "KinesisTools": ["register_consumer", "describe_consumer", "deregister_consumer"],
    "LambdaTools": [
        "list_event_source_mappings",
        "enable_event_mapping",
        "disable_event_mapping",
        "enable_rule",
        "disable_rule",
        "create_event_source_mapping",
        "delete_event_mapping",
        "get_alias",
        "get_version",
        "get_latest_metrics",
    ],
    "AuroraTools": [
        "get_cluster_state",
        "get_reader_count",
        "scale_out",
        "scale_in",
        "start_database",
        "stop_database",
        "delete_database",
        "apply_tags",
        "enable_performance_insights",
        "get_tags_for_cluster",
    ],
}


def test_top_level_names() -> None:
    assert bluegreen.StackReference.A.value == "a"
    assert bluegreen.ClusterState.UNKNOWN.value == "unknown"


@pytest.mark.parametrize("name", sorted(CONFIG_FIELDS))
def test_configs_are_keyword_dataclasses_with_the_contract_fields(name: str) -> None:
    config = getattr(tools, name)
    assert dataclasses.is_dataclass(config)
    fields = {f.name: f for f in dataclasses.fields(config)}
    for required in ["region", "account_id", *CONFIG_FIELDS[name]]:
        assert required in fields, f"{name}.{required}"
    assert fields["account_id"].default is None
    assert all(f.kw_only for f in fields.values())


@pytest.mark.parametrize("name", sorted(METHODS))
def test_tools_take_a_config_and_an_optional_session_and_have_every_method(name: str) -> None:
    cls = getattr(tools, name)
    params = inspect.signature(cls.__init__).parameters
    assert list(params)[:2] == ["self", "config"]
    assert params["session"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["session"].default is None
    for method in METHODS[name]:
        assert callable(getattr(cls, method, None)), f"{name}.{method}"


def test_value_types_and_their_defaults() -> None:
    assert tools.QueuePair("q").dlq_name is None
    assert tools.AlarmStack("prefix").alarm_suffix is None
    topic = tools.TopicData("arn:aws:sns:eu-central-1:555:t:1")
    assert (topic.region, topic.enabled_filter, topic.disabled_filter) == (None, None, None)
    assert {f.name for f in dataclasses.fields(tools.LatestMetric)} == {
        "latest_metric_timestamp",
        "latest_metric_value",
        "stat",
    }


def test_config_defaults() -> None:
    aurora = tools.AuroraConfig(region="eu-central-1", cluster_name_a="a", cluster_name_b="b", minimum_cluster_size=1)
    assert (aurora.skip_delete_snapshots, aurora.namespace, aurora.tags) == (False, "*", {})
    lam = tools.LambdaConfig(region="eu-central-1", lambda_name_a="a", lambda_name_b="b")
    assert lam.alias is None
    ddb = tools.DynamoConfig(region="eu-central-1", table_name_a="a", table_name_b="b")
    assert ddb.wait_for_table_delete is False


def test_enhanced_performance_insights_signature() -> None:
    params = inspect.signature(tools.AuroraTools.enable_performance_insights).parameters
    assert params["re_enable_if_disabled"].default is True
    assert params["retry_delay"].default == 60.0
    assert params["retry_attempts"].default == 5
