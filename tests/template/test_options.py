"""The template's options, checked with their conditions applied, and its Serverless Application Repository metadata.

- ``EnableRdsHandlers``: a condition over the whole RDS part; with "false" nothing of it is left, nothing
  left refers to it, and cfn-lint finds the rest valid.
- The SNS filter policy of each RDS function's subscription, run by a small evaluator of SNS filter
  policies (MessageBody scope; the operators the template uses) against the RDS events of the samples
  and tests: a function receives exactly the events its code acts on (the code's own predicates decide).
- ``AlarmTopicArn``, ``LoggingConfig``, ``ManagedNamePrefix``, ``PowertoolsLayerArn``,
  ``PermissionsBoundary``, the ``HookToolsPolicyArn`` output.
- ``AWS::ServerlessRepo::Application``: complete, within the repository's limits, and consistent with
  pyproject.toml and the files it names.

Conditions are applied here the way CloudFormation does after SAM's transform: SAM gives the
resources it generates for a function (role, subscription, permission, invoke config) the function's
condition, so removing the conditional SAM resources removes them too.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from bluegreen.rds.keep_stopped import AUTO_STARTED_MESSAGE, is_auto_start
from bluegreen.tools.rds_events import INSTANCE_CREATED_MESSAGE, PI_DISABLED_MESSAGE, RdsEvent
from tests.template.test_template import RDS_FUNCTIONS, ROOT, TEMPLATE, load
from tests.unit.rds_events import rds_event, sns_record

NO_VALUE = {"Ref": "AWS::NoValue"}
RDS_CONDITION = "RdsHandlersEnabled"
#: Everything the RDS event handlers are made of, in the template as written.
RDS_PART = {
    "RdsEventsKey",
    "RdsEventsTopic",
    "RdsEventsTopicPolicy",
    "RdsInstanceEventSubscription",
    "RdsClusterEventSubscription",
    "RdsApplyTagsLogGroup",
    "RdsPerformanceInsightsLogGroup",
    "RdsKeepRetiredStoppedLogGroup",
    *RDS_FUNCTIONS,
}
TOPIC = "arn:aws:sns:eu-central-1:123456789012:paging"
BOUNDARY = "arn:aws:iam::123456789012:policy/platform/boundary"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load(TEMPLATE)


# --- conditions, applied ------------------------------------------------------------------------------


def parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """The template's parameters: the ``given`` values, else the defaults (a parameter without one stays out)."""
    values = {name: str(spec["Default"]) for name, spec in template["Parameters"].items() if "Default" in spec}
    unknown = set(given) - set(template["Parameters"])
    assert not unknown, f"no such parameter: {unknown}"
    return values | given


def holds(expression: Any, template: dict[str, Any], values: dict[str, str]) -> Any:
    """The value of a condition expression (the condition functions, Ref to a parameter, literals)."""
    if isinstance(expression, dict) and len(expression) == 1:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return holds(template["Conditions"][argument], template, values)
        if function == "Ref":
            return values[argument]
        operands = [holds(item, template, values) for item in argument]
        if function == "Fn::Equals":
            return operands[0] == operands[1]
        if function == "Fn::Not":
            return not operands[0]
        if function == "Fn::And":
            return all(operands)
        if function == "Fn::Or":
            return any(operands)
        raise ValueError(f"not a condition function: {function}")
    return expression


def condition_is_true(name: str, template: dict[str, Any], values: dict[str, str]) -> bool:
    return bool(holds({"Condition": name}, template, values))


def pruned(template: dict[str, Any], **given: str) -> dict[str, Any]:
    """The template less its resources and outputs whose condition is false, and the conditions then unused.

    The parameters' defaults become the given values, so that the result is the template an install with
    them would be: what is left must stand on its own (cfn-lint).
    """
    values = parameter_values(template, given)
    out = copy.deepcopy(template)
    for section in ("Resources", "Outputs"):
        out[section] = {
            name: body
            for name, body in out[section].items()
            if "Condition" not in body or condition_is_true(body["Condition"], template, values)
        }
    for name, value in given.items():
        out["Parameters"][name]["Default"] = value
    used = set(referenced_conditions({k: v for k, v in out.items() if k != "Conditions"}))
    while True:  # conditions used by used conditions
        more = {c for name in used for c in referenced_conditions(out["Conditions"][name])} - used
        if not more:
            break
        used |= more
    out["Conditions"] = {name: body for name, body in out["Conditions"].items() if name in used}
    return out


def applied(template: dict[str, Any], **given: str) -> dict[str, Any]:
    """:func:`pruned`, then each ``Fn::If`` replaced by its branch, ``AWS::NoValue`` dropped, given parameters set."""
    values = parameter_values(template, given)

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, if_true, if_false = node["Fn::If"]
                return resolve(if_true if condition_is_true(name, template, values) else if_false)
            if set(node) == {"Ref"} and node["Ref"] in given:
                return given[node["Ref"]]
            resolved = {key: resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value != NO_VALUE}
        if isinstance(node, list):
            return [resolve(item) for item in node if resolve(item) != NO_VALUE]
        return node

    kept = pruned(template, **given)
    return {key: (value if key in ("Conditions", "Parameters") else resolve(value)) for key, value in kept.items()}


def referenced_conditions(node: Any) -> Iterator[str]:
    """The condition names a part of a template uses (``Condition`` keys, ``Fn::If``, ``{"Condition": …}``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Condition" and isinstance(value, str):
                yield value
            elif key == "Fn::If":
                yield value[0]
                yield from referenced_conditions(value[1:])
            else:
                yield from referenced_conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from referenced_conditions(item)


def referenced_names(node: Any) -> Iterator[str]:
    """Every logical id or parameter a part of a template names (Ref, GetAtt, ${…} of Sub, DependsOn)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".")[0]
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    if name not in variables:
                        yield name.split(".")[0]
                yield from referenced_names(variables)
            elif key == "DependsOn":
                yield from ([value] if isinstance(value, str) else value)
            else:
                yield from referenced_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from referenced_names(item)


def lint_problems(document: dict[str, Any]) -> list[str]:
    matches = lint(json.dumps(document, indent=1), config=ManualArgs(regions=["us-east-1", "eu-central-1"]))
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches if m.rule.id[0] in "EW"]


def test_the_resolver_applies_conditions_as_cloudformation_does(template: dict[str, Any]) -> None:
    values = parameter_values(template, {"PowertoolsLayerArn": "arn:aws:lambda:eu-central-1:1:layer:x:1"})
    assert condition_is_true("UsePublicPowertoolsLayer", template, parameter_values(template, {}))
    assert not condition_is_true("UsePublicPowertoolsLayer", template, values)
    small = {
        "Parameters": {"P": {"Type": "String", "Default": ""}},
        "Conditions": {"Set": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]}, "Unused": {"Fn::Equals": ["a", "a"]}},
        "Resources": {
            "Kept": {"Type": "X", "Properties": {"A": {"Fn::If": ["Set", [{"Ref": "P"}], NO_VALUE]}, "B": 1}},
            "Gone": {"Type": "X", "Condition": "Set"},
        },
        "Outputs": {"O": {"Condition": "Set", "Value": {"Ref": "Gone"}}},
    }
    empty = applied(small)
    assert empty["Resources"] == {"Kept": {"Type": "X", "Properties": {"B": 1}}}
    assert empty["Outputs"] == {}
    assert set(empty["Conditions"]) == {"Set"}  # "Unused" is dropped
    full = applied(small, P="v")
    assert full["Resources"]["Kept"]["Properties"] == {"A": ["v"], "B": 1}
    assert set(full["Resources"]) == {"Kept", "Gone"}
    assert set(full["Outputs"]) == {"O"}
    assert set(pruned(small, P="v")["Conditions"]) == {"Set"}


# --- EnableRdsHandlers ------------------------------------------------------------------------------


def test_enable_rds_handlers_is_a_true_false_parameter_defaulting_to_true(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["EnableRdsHandlers"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == "true"
    assert parameter["AllowedValues"] == ["true", "false"]
    assert template["Conditions"][RDS_CONDITION] == {"Fn::Equals": [{"Ref": "EnableRdsHandlers"}, "true"]}


def test_the_rds_condition_covers_the_whole_rds_part_and_only_it(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    conditional = {name for name, body in resources.items() if body.get("Condition") == RDS_CONDITION}
    assert conditional == RDS_PART
    rds_types = ("AWS::RDS::", "AWS::SNS::", "AWS::KMS::")
    for name, body in resources.items():
        handler = body.get("Properties", {}).get("Handler", "")
        if name.startswith("Rds") or body["Type"].startswith(rds_types) or handler.startswith("rds_"):
            assert name in RDS_PART, name
    # Every output about the RDS part carries the condition.
    for name, output in template["Outputs"].items():
        if set(referenced_names(output)) & RDS_PART:
            assert output.get("Condition") == RDS_CONDITION, name
    assert template["Outputs"]["RdsEventsTopicArn"]["Condition"] == RDS_CONDITION


def test_with_rds_handlers_off_no_rds_resource_is_left_nor_named(template: dict[str, Any]) -> None:
    off = applied(template, EnableRdsHandlers="false")
    resources = off["Resources"]
    assert not set(resources) & RDS_PART
    assert not [name for name in resources if "Rds" in name]
    assert not [
        r["Type"] for r in resources.values() if r["Type"].startswith(("AWS::RDS::", "AWS::SNS::", "AWS::KMS::"))
    ]
    handlers = {r["Properties"]["Handler"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"}
    assert handlers == {
        "before_allow_traffic.handler",
        "after_allow_traffic.handler",
        "after_allow_test_traffic.handler",
        "deployment_state_changed.handler",
    }
    assert not [name for name in off["Outputs"] if "Rds" in name]
    # Nothing left names what is gone: every name is a resource, a parameter or a pseudo parameter.
    known = set(resources) | set(off["Parameters"])
    named = (
        set(referenced_names(resources)) | set(referenced_names(off["Outputs"])) | set(referenced_names(off["Globals"]))
    )
    assert {n for n in named - known if not n.startswith("AWS::")} == set()


def test_with_rds_handlers_on_the_whole_rds_part_is_there(template: dict[str, Any]) -> None:
    on = applied(template)  # the default
    assert set(on["Resources"]) >= RDS_PART
    assert "RdsEventsTopicArn" in on["Outputs"]


@pytest.mark.parametrize("enabled", ["true", "false"])
def test_the_template_with_the_condition_applied_is_valid(template: dict[str, Any], enabled: str) -> None:
    # cfn-lint on what CloudFormation would deploy: a reference to a removed resource is an error there.
    assert lint_problems(pruned(template, EnableRdsHandlers=enabled)) == []


# --- the RDS subscriptions' filter policies --------------------------------------------------------------

#: The operators of SNS filter policies the evaluator below implements (a policy using another fails the test).
OPERATORS = frozenset({"suffix", "prefix", "equals-ignore-case", "exists"})


def sns_filter_matches(policy: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether SNS delivers a message whose JSON body is ``body`` to a subscription with this MessageBody policy.

    Every key of the policy must match (AND); a key's list matches when one of its values does (OR);
    ``$or`` holds when one of its policies does. A plain string matches the same string (case-sensitive);
    ``prefix``/``suffix`` the start/end of a string, ``equals-ignore-case`` a string in any case;
    ``{"exists": false}`` matches a key the body lacks, ``true`` one it has. A key the body lacks matches
    nothing but ``{"exists": false}``.
    """
    for key, rule in policy.items():
        if key == "$or":
            if not any(sns_filter_matches(branch, body) for branch in rule):
                return False
        elif isinstance(rule, dict):  # a nested property (MessageBody scope only)
            inner = body.get(key)
            if not isinstance(inner, dict) or not sns_filter_matches(rule, inner):
                return False
        elif not any(_value_matches(condition, key in body, body.get(key)) for condition in rule):
            return False
    return True


def _value_matches(condition: Any, present: bool, value: Any) -> bool:
    if not isinstance(condition, dict):
        return present and value == condition
    ((operator, operand),) = condition.items()
    if operator not in OPERATORS:
        raise ValueError(f"operator {operator!r} is not modelled: add it to the evaluator")
    if operator == "exists":
        return present is operand
    if not present or not isinstance(value, str):
        return False
    if operator == "prefix":
        return value.startswith(operand)
    if operator == "suffix":
        return value.endswith(operand)
    return value.lower() == str(operand).lower()  # equals-ignore-case


def combinations(policy: dict[str, Any]) -> int:
    """SNS's complexity measure: the product of the number of values of each key, an ``$or`` adding its branches'."""
    total = 1
    for key, rule in policy.items():
        if key == "$or":
            total *= sum(combinations(branch) for branch in rule)
        elif isinstance(rule, dict):
            total *= combinations(rule)
        else:
            total *= len(rule)
    return total


def policy_keys(policy: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, rule in policy.items():
        keys |= set().union(*(policy_keys(b) for b in rule)) if key == "$or" else {key}
    return keys


@pytest.mark.parametrize(
    ("policy", "body", "delivered"),
    [
        ({"k": ["a"]}, {"k": "a"}, True),
        ({"k": ["a"]}, {"k": "A"}, False),
        ({"k": ["a", "b"]}, {"k": "b"}, True),
        ({"k": ["a"]}, {}, False),
        ({"k": [{"suffix": "-0005"}]}, {"k": "x#RDS-EVENT-0005"}, True),
        ({"k": [{"suffix": "-0005"}]}, {"k": "x#RDS-EVENT-0005 "}, False),
        ({"k": [{"prefix": "db-"}]}, {"k": "db-cluster"}, True),
        ({"k": [{"equals-ignore-case": "db instance created"}]}, {"k": "DB Instance Created"}, True),
        ({"k": [{"equals-ignore-case": "db instance created"}]}, {"k": "DB instance created."}, False),
        ({"k": [{"exists": False}]}, {}, True),
        ({"k": [{"exists": False}]}, {"k": "x"}, False),
        ({"k": ["a"], "j": ["b"]}, {"k": "a", "j": "c"}, False),  # AND between keys
        ({"$or": [{"k": ["a"]}, {"j": ["b"]}]}, {"j": "b"}, True),
        ({"$or": [{"k": ["a"]}, {"j": ["b"]}]}, {"k": "b", "j": "a"}, False),
        ({"k": ["a"], "$or": [{"j": ["b"]}, {"i": ["c"]}]}, {"k": "x", "i": "c"}, False),
        ({"n": {"k": ["a"]}}, {"n": {"k": "a"}}, True),
        ({"n": {"k": ["a"]}}, {"n": "a"}, False),
    ],
)
def test_the_filter_evaluator_matches_as_sns_does(
    policy: dict[str, Any], body: dict[str, Any], delivered: bool
) -> None:
    assert sns_filter_matches(policy, body) is delivered


def test_the_filter_evaluator_refuses_an_operator_it_does_not_model() -> None:
    with pytest.raises(ValueError, match="anything-but"):
        sns_filter_matches({"k": [{"anything-but": ["a"]}]}, {"k": "b"})


@pytest.fixture(scope="module")
def filter_policies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each RDS function's filter policy (the one SNS event of each), checked for SNS's scope and limits."""
    found = {}
    for name in RDS_FUNCTIONS:
        (event,) = template["Resources"][name]["Properties"]["Events"].values()
        props = event["Properties"]
        assert props["FilterPolicyScope"] == "MessageBody"  # RDS sends no message attributes
        policy = props["FilterPolicy"]
        assert len(policy_keys(policy)) <= 5, name  # SNS: at most five keys
        assert combinations(policy) <= 150, name  # SNS: at most 150 combinations
        assert len(policy.get("$or", [{}, {}])) >= 2, name  # SNS reads "$or" as an operator only so
        found[name] = policy
    return found


def acts_on(function: str, body: dict[str, Any]) -> bool:
    """Whether the function's code acts on the RDS event (rather than skipping it as not its kind).

    The code's own predicates (bluegreen.rds.readers' and keep_stopped's): the readers' functions want an
    event of a DB instance, "DB instance created" by id or text, or (Performance Insights) "Performance
    Insights has been disabled"; keep-stopped wants RDS-EVENT-0153 of a DB cluster, by id or, without one,
    by text. What follows (is the instance a managed reader, is the cluster retired) is read from AWS.
    """
    event = RdsEvent.from_sns_record(sns_record(body))
    assert event is not None
    if function == "RdsApplyTagsFunction":
        return event.is_instance_event and event.is_instance_created
    if function == "RdsPerformanceInsightsFunction":
        return event.is_instance_event and (event.is_instance_created or event.is_performance_insights_disabled)
    return is_auto_start(event)


def _sample_bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((ROOT / "events").glob("rds_*.json")):
        (record,) = json.loads(path.read_text())["Records"]
        yield path.stem, json.loads(record["Sns"]["Message"])


#: (source type, event id or None, message): events RDS sends, and the variants the code accepts.
RDS_EVENTS: list[tuple[str, str | None, str]] = [
    ("db-instance", "RDS-EVENT-0005", INSTANCE_CREATED_MESSAGE),
    ("db-instance", "RDS-EVENT-0005", "anything"),  # matched by its id
    ("db-instance", None, INSTANCE_CREATED_MESSAGE),  # by its text
    ("db-instance", None, "DB instance created."),
    ("db-instance", None, "DB Instance Created"),
    ("db-instance", "RDS-EVENT-0003", INSTANCE_CREATED_MESSAGE),  # the code matches the text whatever the id
    ("db-instance", None, PI_DISABLED_MESSAGE),
    ("db-instance", None, "Performance Insights has been disabled."),
    ("db-instance", "RDS-EVENT-0003", "DB instance deleted"),
    ("db-instance", "RDS-EVENT-0006", "DB instance restarted"),
    ("db-instance", "RDS-EVENT-0087", "DB instance stopped"),
    ("db-instance", "RDS-EVENT-0088", "DB instance started"),
    (
        "db-instance",
        "RDS-EVENT-0154",
        "DB instance is being started due to it exceeding the maximum allowed time being stopped.",
    ),
    ("db-instance", None, "Performance Insights has been enabled"),
    ("db-instance", "RDS-EVENT-0153", AUTO_STARTED_MESSAGE),  # 0153 of an instance: not the cluster event
    ("db-cluster", "RDS-EVENT-0153", f"{AUTO_STARTED_MESSAGE}."),
    ("db-cluster", "RDS-EVENT-0153", "anything"),
    ("db-cluster", None, AUTO_STARTED_MESSAGE),
    ("db-cluster", None, f"The {AUTO_STARTED_MESSAGE}."),
    ("db-cluster", None, f"the {AUTO_STARTED_MESSAGE.upper()}"),
    ("db-cluster", "RDS-EVENT-0151", f"{AUTO_STARTED_MESSAGE}."),  # the text under another id: not it
    ("db-cluster", "RDS-EVENT-0151", "DB cluster started"),
    ("db-cluster", "RDS-EVENT-0150", "DB cluster stopped"),
    ("db-cluster", "RDS-EVENT-0170", "DB cluster created"),
    ("db-cluster", None, "DB cluster started"),
    ("db-cluster", "RDS-EVENT-0005", INSTANCE_CREATED_MESSAGE),  # a cluster event with an instance's id
    ("db-cluster", None, PI_DISABLED_MESSAGE),
    ("db-snapshot", "RDS-EVENT-0042", "Manual snapshot created"),
    ("db-parameter-group", "RDS-EVENT-0037", "Updated parameter"),
]


def rds_bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    yield from _sample_bodies()
    for source_type, event_id, message in RDS_EVENTS:
        yield (
            f"{source_type} {event_id} {message!r}",
            rds_event("fn-db-b-dev", message, event_id, source_type=source_type),
        )


@pytest.mark.parametrize("function", list(RDS_FUNCTIONS))
def test_a_function_receives_exactly_the_rds_events_it_acts_on(
    filter_policies: dict[str, dict[str, Any]], function: str
) -> None:
    policy = filter_policies[function]
    received, filtered = [], []
    for label, body in rds_bodies():
        wanted = acts_on(function, body)
        delivered = sns_filter_matches(policy, body)
        assert delivered is wanted, f"{function}: {label}: acted on {wanted}, delivered {delivered}"
        (received if delivered else filtered).append(label)
    assert received, function  # it still gets its events
    assert len(filtered) > len(received), function  # and most of the topic's are filtered out


def test_the_sample_events_reach_the_functions_that_act_on_them(filter_policies: dict[str, dict[str, Any]]) -> None:
    reaching = {
        name: sorted(function for function, policy in filter_policies.items() if sns_filter_matches(policy, body))
        for name, body in _sample_bodies()
    }
    assert reaching == {
        "rds_cluster_auto_started": ["RdsKeepRetiredStoppedFunction"],
        "rds_instance_created": ["RdsApplyTagsFunction", "RdsPerformanceInsightsFunction"],
        "rds_instance_deleted": [],
        "rds_performance_insights_disabled": ["RdsPerformanceInsightsFunction"],
    }


def test_every_rds_message_carries_its_source_type(filter_policies: dict[str, dict[str, Any]]) -> None:
    # The policies require "Event Source" (RDS writes it into every notification); the code would also
    # take an event without it (a message published by hand), which the filter drops.
    for name, body in _sample_bodies():
        assert body["Event Source"] in ("db-instance", "db-cluster"), name
    for policy in filter_policies.values():
        assert policy["Event Source"] in (["db-instance"], ["db-cluster"])


# --- AlarmTopicArn -----------------------------------------------------------------------------------


def test_alarm_topic_arn_is_optional_and_an_sns_topic_arn(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AlarmTopicArn"]
    assert parameter["Default"] == ""
    assert parameter["ConstraintDescription"]
    pattern = re.compile(parameter["AllowedPattern"])
    for good in (
        "",
        TOPIC,
        "arn:aws-cn:sns:cn-north-1:123456789012:pager",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-c",
    ):
        assert pattern.fullmatch(good), good
    for bad in (
        "paging",
        "arn:aws:sqs:eu-central-1:123456789012:q",
        "arn:aws:sns:eu-central-1:1234:t",
        f"{TOPIC}:sub-id",
    ):
        assert not pattern.fullmatch(bad), bad


def test_the_on_failure_alarm_notifies_the_alarm_topic_only_when_one_is_set(template: dict[str, Any]) -> None:
    assert template["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    silent = applied(template)["Resources"]["OnFailureQueueAlarm"]["Properties"]
    assert "AlarmActions" not in silent
    assert "OKActions" not in silent
    paging = applied(template, AlarmTopicArn=TOPIC)["Resources"]["OnFailureQueueAlarm"]["Properties"]
    assert paging["AlarmActions"] == [TOPIC]
    assert paging["OKActions"] == [TOPIC]
    assert paging["Threshold"] == 0 and paging["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("topic", ["", TOPIC])
def test_the_template_lints_with_and_without_an_alarm_topic(template: dict[str, Any], topic: str) -> None:
    assert lint_problems(pruned(template, AlarmTopicArn=topic)) == []


# --- LoggingConfig -------------------------------------------------------------------------------------


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def test_every_function_logs_to_its_own_log_group(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    found = functions(template)
    assert len(found) == 7
    groups = set()
    for name, function in found.items():
        config = function["Properties"]["LoggingConfig"]
        assert set(config) == {"LogGroup"}, name  # the rest comes from Globals
        group_id = config["LogGroup"]["Ref"]
        group = resources[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup"
        function_name = function["Properties"]["FunctionName"]["Fn::Sub"]
        assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}, name
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group.get("Condition") == function.get("Condition"), name  # both there, or neither
        groups.add(group_id)
    assert len(groups) == len(found)  # one each


def test_functions_log_powertools_json_lines_at_the_log_level_parameter(template: dict[str, Any]) -> None:
    function = template["Globals"]["Function"]
    # Text: Lambda adds no level filter of its own. With JSON it would, and its level (ApplicationLogLevel,
    # AWS_LAMBDA_LOG_LEVEL in the function) would override LOG_LEVEL in Powertools' Logger (template.yaml).
    assert function["LoggingConfig"] == {"LogFormat": "Text"}
    assert function["Environment"]["Variables"]["LOG_LEVEL"] == {"Ref": "LogLevel"}  # Powertools' level
    for name, body in functions(template).items():
        assert "LogFormat" not in body["Properties"]["LoggingConfig"], name


# --- ManagedNamePrefix, PowertoolsLayerArn, PermissionsBoundary, HookToolsPolicyArn ---------------------


def test_managed_name_prefix_is_lower_case_at_least_three_characters_and_ends_in_a_hyphen(
    template: dict[str, Any],
) -> None:
    prefix = template["Parameters"]["ManagedNamePrefix"]
    assert prefix["MinLength"] == 3
    assert prefix["ConstraintDescription"]
    pattern = re.compile(prefix["AllowedPattern"])
    for good in ("orders-", "a1-", "abc-", "my-app-", "team1-orders-dev-"):
        assert pattern.fullmatch(good), good
    for bad in ("Orders-", "orders", "orders--", "-orders-", "1orders-", "orders_x-", "orders.x-", "or*-", "my--app-"):
        assert not pattern.fullmatch(bad), bad
    assert not pattern.fullmatch("a") and len("a-") < prefix["MinLength"]


def test_samconfig_prefix_fits_the_constraint(template: dict[str, Any]) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = dict(item.split("=", 1) for item in config["default"]["deploy"]["parameters"]["parameter_overrides"])
    prefix, spec = overrides["ManagedNamePrefix"], template["Parameters"]["ManagedNamePrefix"]
    assert prefix == "orders-"
    assert re.fullmatch(spec["AllowedPattern"], prefix)
    assert spec["MinLength"] <= len(prefix) <= spec["MaxLength"]


def test_powertools_layer_arn_is_empty_or_a_layer_version_arn(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["PowertoolsLayerArn"]
    assert parameter["Default"] == ""
    assert parameter["ConstraintDescription"]
    pattern = re.compile(parameter["AllowedPattern"])
    public = template["Globals"]["Function"]["Layers"][1]["Fn::If"][1]["Fn::Sub"]
    for partition, region in (("aws", "eu-central-1"), ("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")):
        arn = (
            public.replace("${AWS::Partition}", partition)
            .replace("${AWS::Region}", region)
            .replace("${Architecture}", "arm64")
            .replace("${PowertoolsLayerVersion}", "27")
        )
        assert pattern.fullmatch(arn), arn  # what the template itself builds fits
    assert pattern.fullmatch("")
    assert pattern.fullmatch("arn:aws:lambda:ca-west-1:123456789012:layer:my_powertools-v3:4")
    for bad in (
        "arn:aws:lambda:eu-central-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64",  # no version
        "arn:aws:lambda:eu-central-1:123456789012:function:f",
        "arn:aws:lambda:eu-central-1:123456789012:layer:x:latest",
        "AWSLambdaPowertoolsPythonV3-python313-arm64:27",
    ):
        assert not pattern.fullmatch(bad), bad


def test_permissions_boundary_applies_to_every_role_the_stack_creates(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["PermissionsBoundary"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch(BOUNDARY)
    assert pattern.fullmatch("arn:aws-us-gov:iam::123456789012:policy/Boundary+1")
    for bad in ("boundary", "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::123456789012:role/r"):
        assert not pattern.fullmatch(bad), bad
    assert template["Globals"]["Function"]["PermissionsBoundary"] == {
        "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, NO_VALUE]
    }
    # SAM makes each function's role (it gets the boundary from Globals); no role is made otherwise, and
    # no function brings a role of its own (which the boundary would not reach).
    resources = template["Resources"]
    for name, body in resources.items():
        if body["Type"] == "AWS::IAM::Role":
            assert body["Properties"]["PermissionsBoundary"] == {
                "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, NO_VALUE]
            }, name
    for name, function in functions(template).items():
        assert "Role" not in function["Properties"], name
        assert "PermissionsBoundary" not in function["Properties"], name  # Globals' holds
    assert "PermissionsBoundary" not in applied(template)["Globals"]["Function"]
    assert applied(template, PermissionsBoundary=BOUNDARY)["Globals"]["Function"]["PermissionsBoundary"] == BOUNDARY


def test_the_hook_tools_policy_arn_is_an_exported_output(template: dict[str, Any]) -> None:
    output = template["Outputs"]["HookToolsPolicyArn"]
    assert output["Value"] == {"Ref": "HookToolsPolicy"}  # a managed policy's Ref is its ARN
    assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-HookToolsPolicyArn"}
    assert "Condition" not in output


# --- Serverless Application Repository ------------------------------------------------------------------

SAR_KEYS = {
    "Name",
    "Description",
    "Author",
    "SpdxLicenseId",
    "LicenseUrl",
    "ReadmeUrl",
    "Labels",
    "HomePageUrl",
    "SemanticVersion",
    "SourceCodeUrl",
}


@pytest.fixture(scope="module")
def sar(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Metadata"]["AWS::ServerlessRepo::Application"]
    return found


def test_the_sar_metadata_is_complete_and_within_the_repositorys_limits(sar: dict[str, Any]) -> None:
    assert set(sar) == SAR_KEYS
    # No intrinsic functions: SAM publishes the values as they are.
    assert all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v)) for v in sar.values())
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", sar["Name"])
    assert 1 <= len(sar["Description"]) <= 256
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", sar["Author"]) and len(sar["Author"]) <= 127
    assert 1 <= len(sar["Labels"]) <= 10
    for label in sar["Labels"]:
        assert re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label), label
    for key in ("HomePageUrl", "SourceCodeUrl"):
        assert sar[key].startswith("https://"), key
    assert re.fullmatch(r"\d+\.\d+\.\d+", sar["SemanticVersion"])


def test_the_sar_metadata_agrees_with_pyproject_and_the_files_it_names(sar: dict[str, Any]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sar["SemanticVersion"] == project["version"]
    assert sar["Name"] == project["name"]
    assert sar["SpdxLicenseId"] == project["license"] == "MIT"
    # Local files until `sam package` uploads them (sam publish needs their S3 copies).
    readme, license_file = ROOT / sar["ReadmeUrl"], ROOT / sar["LicenseUrl"]
    assert sar["ReadmeUrl"] == project["readme"] == "README.md"
    assert readme.is_file()
    assert sar["LicenseUrl"] == "LICENSE"
    assert license_file.is_file(), "LICENSE is missing at the repository root"
    assert "Permission is hereby granted, free of charge" in license_file.read_text()  # the MIT text
    for path in (readme, license_file):
        assert path.stat().st_size < 5 * 1024 * 1024  # the repository's limit


def test_the_readme_says_how_to_publish(sar: dict[str, Any]) -> None:
    readme = (ROOT / sar["ReadmeUrl"]).read_text()
    assert "## Publish to the Serverless Application Repository" in readme
    for command in ("sam package", "sam publish"):
        assert command in readme, command
    # No public repository yet: the URLs are placeholders the README names, for the publisher to replace.
    assert sar["SourceCodeUrl"] == sar["HomePageUrl"] == "https://github.com/OWNER/bluegreen"
    assert sar["SourceCodeUrl"] in readme
