"""Cold start of the functions, in fresh python3.13 processes, beside ``import boto3`` alone.

Every sample is a new interpreter (``python -c``) that times, with ``perf_counter``, the import of a
handler module with the functions' code (``handlers/*.py``, no ``.pyc``, as their build ships it) and
the layer as ``sam build`` makes it on ``PYTHONPATH``, in that order, as Lambda puts ``/var/task`` and
``/opt/python`` on the path; boto3 and Powertools come from the interpreter's venv, as the runtime's
boto3 and the Powertools layer come after them. ``PYTHONDONTWRITEBYTECODE`` is set: Lambda mounts code
and layers read-only, so nothing compiled at a cold start is kept. The "set-up" variants then time what
the first invocation does before its first request: the runtime (``bluegreen.hooks.entry.runtime()``:
the demo plan from ``BLUEGREEN_PLAN``, the record store, the toolbox), the flow's steps (which import
the tool modules and make the tools) and the clients, as many of each service as the hook made in the
wall-time runs. No request is sent. Interpreter start-up is the same for every variant and is left out.
A variant with the layer stripped of its ``.pyc`` shows what compiling costs. The variants run
round-robin (one warm-up round first, not counted), and each figure is the median of the rounds.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROUNDS = 15

#: What runs in each fresh interpreter: argv = kind, module, flow, clients (JSON).
PROBE = r"""
import importlib, json, sys, time
kind, module, flow, clients = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
started = time.perf_counter()
importlib.import_module(module)
imported = time.perf_counter()
out = {"import": imported - started}
if kind == "setup":
    from bluegreen.hooks import entry
    from bluegreen.aws import make_client
    from bluegreen.flows import prepare_steps, retire_steps
    from bluegreen.refs import StackReference
    runtime = entry.runtime()
    ready = time.perf_counter()
    if flow == "prepare":
        prepare_steps(runtime.plan, runtime.toolbox, StackReference.B)
    else:
        retire_steps(runtime.plan, runtime.toolbox, StackReference.A)
    built = time.perf_counter()
    first, further = {}, []
    for service, count in clients.items():
        for n in range(count):
            before = time.perf_counter()
            make_client(service, region=runtime.region)
            took = time.perf_counter() - before
            if n:
                further.append(took)
            else:
                first[service] = took
    done = time.perf_counter()
    out.update(runtime=ready - imported, steps=built - ready, clients=done - built, total=done - started)
    out.update(first_client=first, further_clients=further)
if module != "boto3":
    import bluegreen
    out["package"] = bluegreen.__file__
    out["handler"] = sys.modules[module].__file__
    yaml = sys.modules.get("yaml")
    out["yaml"] = getattr(yaml, "__file__", None)
    out["libyaml"] = bool(getattr(yaml, "__with_libyaml__", False)) if yaml else None
print(json.dumps(out))
"""

#: The functions' handler modules (template.yaml), the hooks first.
HANDLERS = ("before_allow_traffic", "after_allow_traffic", "after_allow_test_traffic", "deployment_state_changed",
            "rds_apply_tags", "rds_enable_performance_insights", "rds_keep_retired_stopped")  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """One thing to time: a module import, optionally with the first invocation's set-up."""

    key: str
    title: str
    module: str
    kind: str = "import"
    flow: str = ""
    #: Import from the layer stripped of its ``.pyc``.
    uncompiled: bool = False
    #: Import the handler without its ``import boto3`` first (boto3 loaded by bluegreen's imports).
    boto3_late: bool = False


@dataclass
class ColdStart:
    """The medians of every variant (seconds, by phase), the interpreter used and the import breakdown."""

    python: str
    rounds: int
    #: What each variant is, in the order they are shown.
    titles: dict[str, str] = field(default_factory=dict)
    #: The interpreter, as the report names it (``CPython 3.13.0, .venv-bench``).
    python_label: str = ""
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    breakdown: dict[str, float] = field(default_factory=dict)
    #: The same breakdown with the layer stripped of its ``.pyc``.
    breakdown_uncompiled: dict[str, float] = field(default_factory=dict)
    heaviest: list[tuple[str, float]] = field(default_factory=list)
    #: Whether any probe loaded PyYAML's C extension (None: none imported yaml).
    libyaml: bool | None = None

    def median(self, key: str, phase: str = "import") -> float:
        """The median of ``phase`` over the rounds of variant ``key``."""
        return float(statistics.median(float(sample[phase]) for sample in self.samples[key]))

    def first_clients(self, key: str) -> dict[str, float]:
        """The median time to make the first client of each service (in the order they were made)."""
        services = list(self.samples[key][0]["first_client"])
        return {s: statistics.median(sample["first_client"][s] for sample in self.samples[key]) for s in services}

    def further_client(self, key: str) -> float | None:
        """The median time to make a further client of a service already loaded; None when none was made."""
        values = [v for sample in self.samples[key] for v in sample["further_clients"]]
        return statistics.median(values) if values else None

    def spread(self, key: str, phase: str = "import") -> tuple[float, float]:
        """The smallest and largest ``phase`` over the rounds of variant ``key``."""
        values = [sample[phase] for sample in self.samples[key]]
        return min(values), max(values)


def variants() -> list[Variant]:
    """What to time: ``import boto3``, each handler's import, the hooks' set-up, and two imports beside.

    The two: the layer without its ``.pyc``, and a handler without its ``import boto3`` first.
    """
    found = [Variant("boto3", "`import boto3` alone", "boto3")]
    found += [Variant(handler, f"`import {handler}`", handler) for handler in HANDLERS]
    found += [
        Variant("prepare-setup", "before_allow_traffic: import + first-invocation set-up", "before_allow_traffic",
                "setup", "prepare"),
        Variant("retire-setup", "after_allow_traffic: import + first-invocation set-up", "after_allow_traffic",
                "setup", "retire"),
        Variant("prepare-uncompiled", "`import before_allow_traffic`, the layer without its `.pyc`",
                "before_allow_traffic", uncompiled=True),
        Variant("prepare-boto3-late", "`import before_allow_traffic` without its `import boto3` first",
                "before_allow_traffic", boto3_late=True),
    ]  # fmt: skip
    return found


def _environment(python_path: list[Path], plan: Mapping[str, Any], state_table: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(str(path) for path in python_path),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_REGION": str(plan.get("region") or "eu-central-1"),
            "AWS_DEFAULT_REGION": str(plan.get("region") or "eu-central-1"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "BLUEGREEN_PLAN": json.dumps(plan),
            "BLUEGREEN_STATE_TABLE": state_table,
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    return env


def _probe(python: str, variant: Variant, env: dict[str, str], clients: Mapping[str, int], cwd: Path) -> dict[str, Any]:
    args = [python, "-c", PROBE, variant.kind, variant.module, variant.flow, json.dumps(dict(clients))]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"cold-start probe {variant.key} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(
    python: str,
    *,
    python_label: str,
    plan: Mapping[str, Any],
    state_table: str,
    clients: Mapping[str, Mapping[str, int]],
    code: Path,
    layer_python: Path,
    uncompiled_python: Path,
    boto3_late_code: Path,
    rounds: int = ROUNDS,
) -> ColdStart:
    """Time every variant ``rounds`` times (after one warm-up round); ``clients`` by flow, from the wall-time runs.

    ``code`` holds the handler modules, ``boto3_late_code`` the same without their ``import boto3``;
    ``layer_python`` is the built layer's ``python/``, and ``uncompiled_python`` the same without ``.pyc``.
    """
    chosen = variants()
    layers = {v.key: uncompiled_python if v.uncompiled else layer_python for v in chosen}
    codes = {v.key: boto3_late_code if v.boto3_late else code for v in chosen}
    envs = {v.key: _environment([codes[v.key], layers[v.key]], plan, state_table) for v in chosen}
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_implementation(), platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    result = ColdStart(python=python, rounds=rounds, titles={v.key: v.title for v in chosen})
    result.python_label = f"{version}, {python_label}"
    for round_number in range(rounds + 1):
        for variant in chosen:
            sample = _probe(python, variant, envs[variant.key], clients.get(variant.flow, {}), codes[variant.key])
            expected = {"package": str(layers[variant.key]), "yaml": str(layers[variant.key]),
                        "handler": str(codes[variant.key])}  # fmt: skip
            for what, where in expected.items():  # yaml: only when imported (a JSON plan never imports it)
                if sample.get(what) is not None and not str(sample[what]).startswith(where):
                    raise RuntimeError(f"{variant.key} imported {what} from {sample[what]}, not from {where}")
            if sample.get("libyaml") is not None:
                result.libyaml = bool(result.libyaml) or sample["libyaml"]
            if round_number:
                result.samples.setdefault(variant.key, []).append(sample)
    result.breakdown, result.heaviest = import_breakdown(python, envs["before_allow_traffic"], code)
    result.breakdown_uncompiled, _ = import_breakdown(python, envs["prepare-uncompiled"], code)
    return result


#: How the import-time breakdown groups modules, by their top-level package.
GROUPS = {
    "bluegreen": "bluegreen (package and handler module)",
    "before_allow_traffic": "bluegreen (package and handler module)",
    "after_allow_traffic": "bluegreen (package and handler module)",
    "aws_lambda_powertools": "aws_lambda_powertools",
    "yaml": "yaml (PyYAML)",
    "_yaml": "yaml (PyYAML)",
}
STDLIB = "standard library"
BOTO = "boto3, botocore and their dependencies"


def _group(module: str) -> str:
    root = module.split(".", maxsplit=1)[0]
    if root in GROUPS:
        return GROUPS[root]
    if root in sys.stdlib_module_names or root.startswith("_"):
        return STDLIB
    return BOTO


def _tree(stderr: str, top: str) -> list[tuple[str, int, str]]:
    """``-X importtime`` lines under ``top``: (module, self µs, the package it is counted for).

    A standard-library module is counted for the nearest package above it that is not the standard
    library: the one that needed it first. importtime prints a module after everything it imports.
    """
    lines = []
    for line in stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            name = parts[2].lstrip()
            lines.append((name, int(parts[0]), (len(parts[2]) - len(name) - 1) // 2))
    found: list[tuple[str, int, str]] = []
    ancestors: list[str] = []
    for name, micros, level in reversed(lines):
        ancestors = [*ancestors[:level], name]
        if ancestors[0] != top:
            continue
        owner = next((_group(a) for a in reversed(ancestors) if _group(a) != STDLIB), STDLIB)
        found.append((name, micros, owner))
    return found


def import_breakdown(
    python: str, env: dict[str, str], cwd: Path, runs: int = 5
) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """``-X importtime`` of ``import before_allow_traffic``: self time by package, and the heaviest modules (medians).

    Each module's self time is counted for its package; a standard-library module's for the package
    that imported it first.
    """
    groups: dict[str, list[float]] = defaultdict(list)
    modules: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        args = [python, "-X", "importtime", "-c", "import before_allow_traffic"]
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=cwd)
        totals: Counter[str] = Counter()
        for name, micros, owner in _tree(done.stderr, "before_allow_traffic"):
            totals[owner] += micros
            modules[name].append(micros / 1e6)
        for group in {*GROUPS.values(), BOTO}:
            groups[group].append(totals[group] / 1e6)
    breakdown = {group: statistics.median(values) for group, values in groups.items()}
    heaviest = sorted(((name, statistics.median(values)) for name, values in modules.items()), key=lambda x: -x[1])
    return dict(sorted(breakdown.items(), key=lambda item: -item[1])), heaviest[:10]
