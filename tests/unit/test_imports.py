"""The package's rooms: no import circle (type-only and function-local imports included), none too big.

A loop in the design is a loop whether Python would trip on it or not (``if TYPE_CHECKING:`` and an
import inside a function only hide it), so every ``import bluegreen…`` / ``from bluegreen… import``
anywhere in a module counts as an arrow from that module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shared" / "bluegreen"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.AST, known: set[str]) -> set[str]:
    """The modules an import loads (``from bluegreen.x import y``: ``x``, or ``x.y`` when that is a module)."""
    found: set[str] = set()
    if isinstance(node, ast.Import):
        found |= {alias.name for alias in node.names if alias.name in known}
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("bluegreen"):
        for alias in node.names:
            submodule = f"{node.module}.{alias.name}"
            found.add(submodule if submodule in known else node.module)
    return found & known


def import_graph() -> dict[str, set[str]]:
    """Every module of the package and the modules of the package it imports, anywhere in its text."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        arrows: set[str] = set()
        for node in ast.walk(tree):
            arrows |= _targets(node, known)
        # A package's own __init__ is loaded with any of its modules: that arrow is not a design loop.
        graph[name] = {t for t in arrows if t != name and not name.startswith(f"{t}.")}
    return graph


def test_the_package_has_no_import_circle() -> None:
    graph = import_graph()
    assert "bluegreen.hooks" in graph and "bluegreen.runtime" in graph
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as circle:
        raise AssertionError(f"import circle: {' -> '.join(circle.args[1])}") from None


def test_the_check_sees_type_only_and_local_imports() -> None:
    graph = import_graph()
    assert "bluegreen.runtime" in graph["bluegreen.hooks.runs"]  # imported under TYPE_CHECKING only
    assert "bluegreen.tools.aurora" in graph["bluegreen.services.aurora"]  # imported inside a function
    graph["bluegreen.runtime"].add("bluegreen.hooks.runs")  # a loop drawn in: the check must see it
    try:
        TopologicalSorter(graph).prepare()
    except CycleError:
        return
    raise AssertionError("a circle through runtime and runs went unseen")


#: A room read in one sitting: past this many lines a module has two jobs (STYLE: "a few hundred lines").
MAX_MODULE_LINES = 410


def test_no_module_of_the_package_is_over_about_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    over = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert over == {}, f"split these by role: {over}"


#: Modules a handler's import must not load: each costs every cold start and serves no handler there.
#: Powertools' event data classes import every event type they know (about 10 ms on python3.13 for
#: the two keys of a hook event); difflib serves only the message of a bad plan; LambdaContext only annotations.
_NOT_AT_COLD_START = ("aws_lambda_powertools.utilities.data_classes", "aws_lambda_powertools.utilities.typing",
                      "difflib", "yaml", "bluegreen.cli", "rich")  # fmt: skip


_HOOKS = ("before_allow_traffic", "after_allow_traffic", "after_allow_test_traffic")

#: What only some functions need: the flows run by hand (the command line), CodeDeploy's state-change
#: events (the deployment-events function), the hooks' runtime (no RDS function builds one), a hook
#: invocation and its flows (the deployment-events function loads them only for an event to settle).
_ONLY_FOR = {
    "bluegreen.hooks.by_hand": (),
    "bluegreen.hooks.events": ("deployment_state_changed",),
    "bluegreen.runtime": (*_HOOKS, "deployment_state_changed"),
    "bluegreen.hooks.invocation": _HOOKS,
    "bluegreen.flows": _HOOKS,
}


def test_importing_a_handler_loads_nothing_it_does_not_use() -> None:
    handlers = sorted(path.stem for path in (ROOT / "handlers").glob("*.py"))
    probe = (
        "import importlib, json, sys\n"
        "sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "importlib.import_module(sys.argv[3])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_lambda_powertools', 'difflib',"
        " 'yaml', 'bluegreen', 'rich'))))\n"
    )
    loaded = {}
    for handler in handlers:  # each in a fresh interpreter, as a cold start imports it
        done = subprocess.run(
            [sys.executable, "-c", probe, str(ROOT / "handlers"), str(ROOT / "shared"), handler],
            capture_output=True,
            text=True,
            check=True,
        )
        loaded[handler] = json.loads(done.stdout)
    assert len(handlers) == 7
    assert "bluegreen.hooks.entry" in loaded["before_allow_traffic"]  # the probe sees what the handler loads
    for handler, modules in loaded.items():
        unwanted = [m for m in modules if any(m == bad or m.startswith(bad + ".") for bad in _NOT_AT_COLD_START)]
        assert unwanted == [], f"importing {handler} loads {unwanted}"
        for module, users in _ONLY_FOR.items():
            assert (module in modules) == (handler in users), f"importing {handler}: {module}"


def test_each_handler_imports_boto3_before_bluegreen() -> None:
    """Imported from inside bluegreen's chain of imports, boto3's ~400 modules load a dozen imports deeper than
    ``import boto3`` alone loads them, where CPython 3.13 before gh-142183's fix allocates and frees a frame
    stack chunk over a thousand times (about 10 ms of the cold start on this machine's 3.13.0)."""
    for path in sorted((ROOT / "handlers").glob("*.py")):
        imports = [node for node in ast.parse(path.read_text()).body if isinstance(node, ast.Import | ast.ImportFrom)]
        first = imports[0]
        assert isinstance(first, ast.Import) and [a.name for a in first.names] == ["boto3"], path.name
        assert any(isinstance(node, ast.ImportFrom) and node.module.startswith("bluegreen") for node in imports[1:])


def test_the_package_declares_its_dataclasses_with_datatype() -> None:
    """``@dataclass`` compiles each class's methods at import (about 0.5 ms a class on python3.13, every
    cold start); ``bluegreen.datatypes.datatype`` makes the same dataclass with shared methods."""
    by_decorator: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                for decorator in node.decorator_list:
                    target = ast.unparse(decorator.func if isinstance(decorator, ast.Call) else decorator)
                    by_decorator.setdefault(target, []).append(f"{name}.{node.name}")
    direct = by_decorator.get("dataclass", []) + by_decorator.get("dataclasses.dataclass", [])
    assert direct == [], f"declare these with @datatype (bluegreen.datatypes): {direct}"
    assert "bluegreen.state.record.LiveRecord" in by_decorator["datatype"]  # the walk sees the decorators
