"""Every registered service has every part, and the house reads the registry rather than a list of its own.

The registry (``bluegreen.services.REGISTRY``) is the one list of services. A service added there
without one of its parts — a Plan field, a reader, claims, a tool, status rows, a section in the
example plan, a line in the template's IAM — fails here, naming the part (the seeded world is checked
in ``tests/hooks/test_seeded_world.py``). Nothing here calls AWS.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from pathlib import Path

import pytest
import yaml

from bluegreen import StackReference
from bluegreen.engine import Step
from bluegreen.flows import prepare_steps, retire_steps, switches
from bluegreen.plan import SERVICES, Plan, PlanError, parse_plan
from bluegreen.reading.fields import _Checker
from bluegreen.services import REGISTRY, Claim, Phased, Row, Service, Switch, service
from bluegreen.services._kit import PREPARE_PHASES, RETIRE_PHASES
from bluegreen.toolbox import Toolbox
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "examples" / "plan.yaml").read_text())
A, B = StackReference.A, StackReference.B
NAMES = [found.name for found in REGISTRY]


def _example_plan() -> Plan:
    return parse_plan(EXAMPLE)


@pytest.fixture(scope="module")
def box() -> Toolbox:
    return Toolbox(_example_plan(), region=REGION)


def test_the_registry_is_the_plan_s_list_of_sections() -> None:
    assert tuple(NAMES) == SERVICES
    assert len(set(NAMES)) == len(NAMES)
    fields = {field.name for field in dataclasses.fields(Plan)}
    hints = typing.get_type_hints(Plan)
    for found in REGISTRY:
        assert found.attribute in fields, f"Plan has no field for {found.name}"
        assert hints[found.attribute] == tuple[found.entry, ...], f"Plan.{found.attribute} is not a tuple of entries"
        assert service(found.name) is found
    with pytest.raises(KeyError):
        service("stepfunctions")


@pytest.mark.parametrize("name", NAMES)
def test_every_service_has_every_part(name: str, box: Toolbox) -> None:
    found = service(name)
    assert isinstance(found, Service) and found.title
    # its tool: the module and class exist, and the tool is made from an entry of the example plan
    module, cls = found.tool
    tool_class = getattr(importlib.import_module(f"bluegreen.tools.{module}"), cls)
    entries = getattr(box.plan, found.attribute)
    assert entries, f"examples/plan.yaml has no {name} entry: every service is shown there"
    assert isinstance(box.tool(name, 0), tool_class)
    # its entry reads back what it writes
    checker = _Checker()
    entry = found.read(checker, entries[0].to_document(), f"plan.{name}[0]")
    assert checker.problems == [] and entry == entries[0]
    # its claims name paths inside the entry
    for claim in found.claims(entry, f"plan.{name}[0]"):
        assert isinstance(claim, Claim) and claim.path.startswith(f"plan.{name}[0].") and claim.identity
    # its status rows: at least one per entry, ids of its own
    rows = found.rows(entry, 0, box)
    assert rows and all(isinstance(row, Row) and row.id.startswith(f"{name}[0]") for row in rows)
    assert all(row.service == name for row in rows)
    # its parts for the flows give the right kinds, in known phases, on the stack asked for
    for stack in (A, B):
        assert all(
            isinstance(s, Switch) and s.id.startswith(f"{name}[0]") for s in found.switches(entry, 0, box, stack)
        )
        for phased, phases in ((found.prepare(entry, 0, box, stack), PREPARE_PHASES),
                               (found.retire(entry, 0, box, stack), RETIRE_PHASES)):  # fmt: skip
            for item in phased:
                assert isinstance(item, Phased) and item.phase in phases and isinstance(item.step, Step)
                assert item.step.id.startswith(f"{name}[0].") and item.step.service == name
    assert found.switches(entry, 0, box, A) or found.prepare(entry, 0, box, A) or found.retire(entry, 0, box, A), (
        f"{name} does nothing in either flow"
    )


@pytest.mark.parametrize("name", NAMES)
def test_every_service_is_read_and_checked_through_its_reader(name: str) -> None:
    bad = dict(EXAMPLE)
    bad[name] = [{"a": 1, "bogus": True}]
    with pytest.raises(PlanError) as raised:
        parse_plan(bad)
    paths = [path for path, _ in raised.value.problems]
    assert any(path.startswith(f"plan.{name}[0]") for path in paths), paths


@pytest.mark.parametrize("name", NAMES)
def test_every_service_is_in_the_flows_and_the_template(name: str, box: Toolbox) -> None:
    found = service(name)
    ids = {step.id for step in [*prepare_steps(box.plan, box, B), *retire_steps(box.plan, box, A)]}
    ids |= {f"{switch.id}.enable" for switch in switches(box.plan, box, B)}
    assert any(step_id.startswith(f"{name}[") for step_id in ids), f"no step of {name} in the flows"
    # the hooks' IAM names the service's actions: a service added without its permissions fails here
    template = (ROOT / "template.yaml").read_text()
    module = importlib.import_module(f"bluegreen.services.{found.tool[0]}")
    prefixes = {call.split(":")[0] for step in [*prepare_steps(box.plan, box, B), *retire_steps(box.plan, box, A)]
                if step.service == name for call in step.calls if ":" in call and not call.startswith("(")}  # fmt: skip
    for prefix in prefixes:
        assert f"{prefix}:" in template, f"template.yaml grants no {prefix}: action ({module.__name__})"


def test_the_design_doc_says_how_to_add_a_service() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    assert "## Adding a service" in design
    section = design.split("## Adding a service", 1)[1].split("\n## ", 1)[0]
    for needed in ("bluegreen/services/", "bluegreen/tools/", "REGISTRY", "Plan", "test_services.py"):
        assert needed in section, needed


def test_no_module_of_the_house_keeps_its_own_list_of_services() -> None:
    """The old parallel lists are gone: only the registry spells out the eight service names together."""
    package = ROOT / "shared" / "bluegreen"
    spelled = '"ecs", "sqs", "sns", "lambda", "cloudwatch", "kinesis", "dynamodb", "aurora"'
    holders = [path.relative_to(package).as_posix() for path in package.rglob("*.py") if spelled in path.read_text()]
    assert holders == [], holders
    for gone in ("_READERS", "_MODULES", "_claims"):
        users = [p.name for p in package.rglob("*.py") if f"{gone} " in p.read_text() or f"{gone}:" in p.read_text()]
        assert users == [], (gone, users)


def test_a_service_part_signature_takes_entry_index_tools_and_stack() -> None:
    for found in REGISTRY:
        for part in (found.switches, found.prepare, found.retire):
            assert len(inspect.signature(part).parameters) == 4, (found.name, part)
        assert len(inspect.signature(found.rows).parameters) == 3
