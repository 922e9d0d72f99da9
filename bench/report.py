"""docs/performance.md, written from the figures: the structure is fixed, only the figures change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bench.coldstart import HANDLERS, ColdStart
from bench.layer import AS_BUILT, BEFORE, COMPILED_ONLY, SOURCES_ONLY, Layer
from bench.minimum import REDUNDANT
from bench.wall import HookRun
from bluegreen.hooks import Flow

MB = 1_000_000
KB = 1_000
#: Issue 13's targets: each handler's import against `import boto3`, and the layer zipped.
IMPORT_BOUND = 1.2
LAYER_BOUND = 300 * KB
OWN = "bluegreen (package and handler module)"
FLOWS = (Flow.PREPARE, Flow.RETIRE)
NAMES = {Flow.PREPARE: "prepare", Flow.RETIRE: "retire"}


@dataclass
class Figures:
    """Everything the report shows."""

    machine: dict[str, str]
    latency_ms: float
    poll_seconds: float
    pairs: tuple[int, ...]
    #: (flow, pairs, "parallel" | "sequential") -> the run
    runs: dict[tuple[Flow, int, str], HookRun]
    #: (flow, pairs) -> the minimum calls
    minimum: dict[tuple[Flow, int], Counter[str]]
    cold: ColdStart
    layer: Layer
    seconds: float


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _s(seconds: float) -> str:
    return f"{seconds:.2f}"


def _x(ratio: float) -> str:
    return f"{ratio:.2f} \u00d7"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _service(operation: str) -> str:
    return operation.split(":", 1)[0]


class Report:
    """Builds the Markdown, section by section."""

    def __init__(self, figures: Figures) -> None:
        """Keep the figures."""
        self.f = figures
        self.lines: list[str] = []

    def add(self, *lines: str) -> None:
        """Append lines (a paragraph is one line; Markdown wraps it)."""
        self.lines.extend(lines)

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        """A Markdown table, then a blank line."""
        self.add("| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|")
        self.add(*("| " + " | ".join(row) + " |" for row in rows), "")

    # -- figures derived from the runs ---------------------------------------------------------------

    def run(self, flow: Flow, pairs: int, mode: str = "parallel") -> HookRun:
        """One measured run."""
        return self.f.runs[(flow, pairs, mode)]

    def wall_ratio(self, flow: Flow, pairs: int) -> float:
        """Parallel wall time over sequential wall time."""
        return self.run(flow, pairs).seconds / self.run(flow, pairs, "sequential").seconds

    def call_ratio(self, flow: Flow, pairs: int) -> float:
        """Calls made (parallel run) over the minimum."""
        return len(self.run(flow, pairs).calls) / sum(self.f.minimum[(flow, pairs)].values())

    def cold_ratio(self, key: str, phase: str = "import") -> float:
        """A cold-start variant's median over the median of ``import boto3``."""
        return self.f.cold.median(key, phase) / self.f.cold.median("boto3")

    # -- sections ------------------------------------------------------------------------------------

    def build(self) -> str:
        """The whole document."""
        self.header()
        self.targets()
        self.wall_time()
        self.calls()
        self.cold_start()
        self.layer_size()
        self.notes()
        return "\n".join(self.lines).rstrip() + "\n"

    def header(self) -> None:
        """Title, machine, how to reproduce."""
        m = self.f.machine
        self.add(
            "# Performance",
            "",
            "<!-- Written by `make bench` (bench/report.py): edit the generator, not this file. -->",
            "",
            "What a deployment pays for the hooks: the wall time of each hook against AWS-like latency, the AWS "
            "calls it makes against the fewest its flow needs, the cold start of its Lambda function, and the "
            "size of the layer. Every figure below comes from one run of `make bench`; the text around them "
            "explains the method.",
            "",
            f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['memory']}), {m['os']}: hooks and "
            f"emulator on Python {m['python']}, cold starts on Python {m['cold_python']}; boto3 {m['boto3']}, "
            f"botocore {m['botocore']}, aws-lambda-powertools {m['powertools']}, moto {m['moto']}. "
            f"`make bench` took {self.f.seconds:.0f} s.",
            "",
            "## Reproduce",
            "",
            "```sh",
            "make setup    # once: .venv with the project and its dev extras",
            "make bench    # about two and a half minutes; rewrites docs/performance.md",
            "```",
            "",
            "`make bench` runs `.venv/bin/python -m bench`; `python -m bench --help` lists its options "
            "(latency, plan sizes, rounds, output file). It needs no AWS account and no Docker. It needs a "
            "python3.13 — the Lambda runtime's version, for which the layer's `.pyc` are compiled — found as "
            "`scripts/template-check.sh` finds it (`PYTHON313`, pyenv's 3.13.0, `python3.13` on PATH), and the "
            "network once, for pip: the PyYAML wheel of the layer, and `.venv-bench`, a python3.13 venv with "
            "boto3, botocore and aws-lambda-powertools at the versions of the project's `.venv`, made on first "
            "use, in which the cold starts run (pip's cache serves both after). "
            "`BENCH_PYTHON=/path/to/python3.13` times them with another python3.13 that can import boto3 and "
            "aws-lambda-powertools. The hooks' wall time runs on the `.venv` interpreter. Figures move by "
            "10\u201320 % from run to run on a shared machine; the structure of this page does not.",
            "",
        )

    def targets(self) -> None:
        """The issue's targets against the figures."""
        f = self.f
        rows = []
        for pairs, bound in ((4, 0.5), (16, 0.25)):
            if pairs in f.pairs:
                ratios = {flow: self.wall_ratio(flow, pairs) for flow in FLOWS}
                ok = all(r <= bound for r in ratios.values())
                rows.append([
                    f"hook wall time at {pairs} pairs ≤ {bound} \u00d7 sequential",
                    ", ".join(f"{NAMES[flow]} {_x(r)}" for flow, r in ratios.items()),
                    _verdict(ok) + ("" if ok else ": clients made per tool, and reads in series; see sections 1, 2"),
                ])  # fmt: skip
        calls = {(flow, pairs): self.call_ratio(flow, pairs) for flow in FLOWS for pairs in f.pairs}
        worst = max(calls.values())
        rows.append([
            "API calls ≤ 1.2 \u00d7 the minimum",
            ", ".join(f"{NAMES[flow]} {_x(min(calls[(flow, p)] for p in f.pairs))}\u2013"
                      f"{_x(max(calls[(flow, p)] for p in f.pairs))}" for flow in FLOWS),
            _verdict(worst <= 1.2) + ("" if worst <= 1.2 else ": redundant reads, see section 2"),
        ])  # fmt: skip
        rows.append(self._import_target())
        rows.append(self._cold_target("import + first-invocation set-up", "-setup", "total", 2.5))
        built = f.layer.sizes.get(AS_BUILT)
        rows.append([
            f"layer ≤ {LAYER_BOUND // KB} KB zipped",
            "not measured" if built is None else f"{built:,} bytes ({built / KB:.0f} KB)",
            "not measured" if built is None else _verdict(built <= LAYER_BOUND)
            + ("" if built <= LAYER_BOUND else ": the `.pyc`, see section 4"),
        ])  # fmt: skip
        self.add("## Targets", "")
        self.table(["target (from the issue)", "measured", "verdict"], rows)
        self.add(
            "The wall-time targets compare each hook with the same hook run one step at a time; the call "
            "target compares the calls made with the model of section 2; the cold-start targets compare "
            "medians of fresh python3.13 processes with the median of `import boto3` alone, the layer as "
            "`sam build` makes it; KB is 10³ bytes.",
            "",
        )

    def _import_target(self) -> list[str]:
        """Issue 13's target: each handler's import from the layer as built, against ``import boto3``."""
        ratios = {handler: self.cold_ratio(handler) for handler in HANDLERS}
        ok = all(r <= IMPORT_BOUND for r in ratios.values())
        return [
            f"each handler's import ≤ {IMPORT_BOUND} \u00d7 `import boto3`",
            ", ".join(f"`{handler}` {_x(r)}" for handler, r in ratios.items()),
            _verdict(ok) + ("" if ok else ": Powertools and bluegreen's own modules, see section 3"),
        ]

    def _cold_target(self, what: str, suffix: str, phase: str, bound: float) -> list[str]:
        """A cold-start target's row for the two hooks."""
        ratios = {flow: self.cold_ratio(f"{NAMES[flow]}{suffix}", phase) for flow in FLOWS}
        ok = all(r <= bound for r in ratios.values())
        verdict = _verdict(ok) + ("" if ok else ": the clients' service models, see section 3")
        measured = ", ".join(f"{NAMES[flow]} {_x(r)}" for flow, r in ratios.items())
        return [f"{what} ≤ {bound} \u00d7 `import boto3`", measured, verdict]

    def wall_time(self) -> None:
        """Section 1."""
        f = self.f
        self.add(
            "## 1. Hook wall time",
            "",
            f"Each hook runs through `bluegreen.hooks.handle` — record, steps, report to CodeDeploy — against "
            f"the embedded emulator with **{f.latency_ms:g} ms injected before every request** (the shim's "
            "latency, as a real region adds). The emulator runs in a process of its own (`bench/server.py`), "
            "so that moto's request handling does not take the hooks' interpreter lock, as AWS's servers do "
            "not. For each plan size a fresh world is seeded with N pairs of every service "
            "(`seed_world(pairs=N)`, no latency while seeding) and one deployment is run: prepare (a → b), "
            "then retire. Each hook gets a fresh `Runtime`, so it makes its clients during the run, as a first "
            "invocation does; botocore's loaded service models are shared (the cold-start section counts "
            "loading them). *Parallel* is the engine's default pool "
            f"({self.run(Flow.PREPARE, f.pairs[0]).workers} workers); *sequential* is the same hook with "
            "`max_workers=1`, which runs one step at a time, every call after the one before (the record's "
            "calls are sequential in both). The *calls end to end* column adds up the sequential run's call "
            "durations: about the sequential wall time less the hook's own CPU time. "
            f"`bluegreen.engine.POLL_INITIAL_SECONDS` is set to {f.poll_seconds:g} s (the emulator's "
            "clusters are available at once; a real start takes minutes, and the hook hands that wait to a "
            "re-invocation instead of sleeping on it). A botocore `before-call`/`after-call` hook on "
            "`bluegreen.aws.default_session()` counts and times every call (each page of a list is one call).",
            "",
        )
        rows = []
        for flow in FLOWS:
            for pairs in f.pairs:
                par, seq = self.run(flow, pairs), self.run(flow, pairs, "sequential")
                rows.append([
                    NAMES[flow], str(pairs), str(len(par.calls)), _s(par.seconds), _s(seq.seconds),
                    _s(seq.call_seconds), _x(par.seconds / seq.seconds), str(sum(par.clients.values())),
                    _s(par.client_seconds),
                ])  # fmt: skip
        self.table(
            ["hook", "pairs", "calls", "parallel s", "sequential s", "calls end to end s", "parallel / sequential",
             "clients made", "making them s"],
            rows,
        )  # fmt: skip
        big = max(f.pairs)
        par = self.run(Flow.PREPARE, big)
        self.add(
            f"At {big} pairs the prepare hook made {sum(par.clients.values())} clients for "
            f"{len(par.clients)} services, {_s(par.client_seconds)} s of its {_s(par.seconds)} s: the tools "
            "share one client per service and region per process (`bluegreen.aws.shared_client`, made on "
            "first use under a lock; clients are thread-safe), whatever the number of plan entries. "
            "The parallel runs' calls also take longer each than the sequential runs' "
            f"({self._per_call(par)} ms a call against {self._per_call(self.run(Flow.PREPARE, big, 'sequential'))} "
            "ms one at a time, for prepare at that size) — the emulator serves them all from one process — so "
            "the ratios above understate what a real region, which serves concurrent calls independently, "
            "would give.",
            "",
        )

    @staticmethod
    def _per_call(run: HookRun) -> str:
        return f"{run.call_seconds / max(1, len(run.calls)) * 1000:.0f}"

    def calls(self) -> None:
        """Section 2."""
        f = self.f
        self.add(
            "## 2. API calls against the minimum",
            "",
            "**The model** (`bench/minimum.py`). For the seeded world — every resource needs a change and every "
            "list fits one page (each function has one mapping and one rule to switch, each stack three alarms, "
            "each queue a DLQ; the emulator's clusters and consumers are ready at the first look) — a flow "
            "cannot avoid: every write that makes a change, once; every read whose answer it acts on and "
            "cannot know otherwise, once per hook (the list that finds the mappings, rules or alarms to switch; "
            "a cluster's state before its start or stop, and one poll after the start; the live cluster's "
            "reader count; the consumer's state, and in retire its ARN); the lookups the design requires "
            "instead of building names, once per resource per process (`GetFunction` for a function ARN, "
            "`GetQueueUrl` for a queue URL); the record; and following the deployment — the application's "
            "lease (taken and released), CodeDeploy's view of the deployment (`GetDeployment` at the start, and "
            "in retire once more before the first irreversible step), the lifecycle event's start for the "
            "deadline (`ListDeploymentTargets`, `GetDeploymentTarget`), and under the lease one fence read of "
            "the record per wave of destructive steps. Not in the minimum: a read that only tells whether an "
            "idempotent write is needed, the same read twice.",
            "",
            "- *Prepare, per pair of every service (19 calls):* `DescribeTable`; `DescribeDBClusters` \u00d73 "
            "(state, poll, the live reader count), `StartDBCluster`, `RegisterScalableTarget`; "
            "`SetSubscriptionAttributes`; `GetFunction`, `ListEventSourceMappings`, `UpdateEventSourceMapping`, "
            "`ListRuleNamesByTarget`, `EnableRule`; `UpdateService`; `DescribeAlarms`, `EnableAlarmActions`; "
            "`DescribeStreamConsumer`, `RegisterStreamConsumer`, and for the function it feeds "
            "`ListEventSourceMappings`, `CreateEventSourceMapping`.",
            "- *Prepare, per hook (11 calls, and 1 more with clusters):* the record — one read to decide, the "
            "deployment's write, the first start, `prepared`, the report's record — and the report; the lease "
            "(2), `GetDeployment`, `ListDeploymentTargets`, `GetDeploymentTarget`; one filtered "
            "`DescribeDBClusters`, the last look that every replacement cluster is still available.",
            "- *Retire, per pair of every service (20 calls):* `SetSubscriptionAttributes`; `GetFunction`, "
            "`ListEventSourceMappings`, `UpdateEventSourceMapping`, `ListRuleNamesByTarget`, `DisableRule`; "
            "`UpdateService`; `DescribeAlarms`, `DisableAlarmActions`; `GetQueueUrl` \u00d72, `PurgeQueue` "
            "\u00d72; `ListEventSourceMappings`, `DeleteEventSourceMapping`, `DescribeStreamConsumer`, "
            "`DeregisterStreamConsumer`; `RegisterScalableTarget` (the new live cluster), `DescribeDBClusters`, "
            "`StopDBCluster`.",
            "- *Retire, per hook (12 calls, and a fence read per wave of destructive steps):* the record — one "
            "read to decide, the first start, the flip, the finish, the report's record (every write is "
            "conditional and returns the item it was refused on) — and the report; the lease (2), "
            "`GetDeployment` (2), `ListDeploymentTargets`, `GetDeploymentTarget`.",
            "",
        )
        pairs = f.pairs
        for flow in FLOWS:
            rows = []
            services = sorted({_service(op) for p in pairs for op in (*self.run(flow, p).operations,
                                                                       *f.minimum[(flow, p)])})  # fmt: skip
            for service in services:
                row = [service]
                for p in pairs:
                    made = sum(n for op, n in self.run(flow, p).operations.items() if _service(op) == service)
                    least = sum(n for op, n in f.minimum[(flow, p)].items() if _service(op) == service)
                    row.append(f"{made} / {least}")
                rows.append(row)
            total = ["**all**"]
            for p in pairs:
                total.append(
                    f"**{len(self.run(flow, p).calls)} / {sum(f.minimum[(flow, p)].values())}** "
                    f"({_x(self.call_ratio(flow, p))})"
                )
            rows.append(total)
            self.add(f"**{NAMES[flow].capitalize()}** — calls made (parallel run) / minimum, by service:", "")
            self.table(["service", *(f"{p} pair{'s' if p > 1 else ''}" for p in pairs)], rows)
        self.add(
            "Sequential runs make slightly different counts (the fence re-reads the record once a second, "
            "and racing steps duplicate fewer reads); the parallel runs are the ones shipped.",
            "",
            "**The redundant calls**, by operation — made beyond the minimum at 1 and at "
            f"{max(pairs)} pairs, why, and the fix suggested (none applied by the benchmark):",
            "",
        )
        rows = []
        for flow in FLOWS:
            ops = sorted({op for p in pairs for op in self.run(flow, p).operations})
            for op in ops:
                extra = [self.run(flow, p).operations[op] - f.minimum[(flow, p)][op] for p in (min(pairs), max(pairs))]
                if max(extra) <= 0:
                    continue
                reason = REDUNDANT.get((flow, op), "not explained by the model: look at the flow")
                rows.append([NAMES[flow], f"`{op}`", f"+{extra[0]}", f"+{extra[1]}", reason])
        self.table(["hook", "call", f"extra ({min(pairs)})", f"extra ({max(pairs)})", "why, and the fix"], rows)

    def cold_start(self) -> None:
        """Section 3."""
        c = self.f.cold
        self.add(
            "## 3. Cold start",
            "",
            f"Each figure is the median of {c.rounds} fresh interpreters ({c.python_label}), after one "
            "warm-up round, variants taken in turn. A probe times `import <handler>` with the functions' code "
            "(`handlers/*.py`, no `.pyc`, as their build ships it) and the layer's `python/` as "
            f"{self.f.layer.built_by} makes it on `PYTHONPATH`, in that order, as Lambda puts `/var/task` and "
            "`/opt/python` on the path; boto3 and Powertools come from the venv, after them, as the runtime's "
            "boto3 and the Powertools layer do. `PYTHONDONTWRITEBYTECODE` is set: Lambda mounts code and layers "
            "read-only, so what a cold start compiles is not kept. The set-up variants then time what the first "
            "invocation does before its first request: `bluegreen.hooks.entry.runtime()` with the demo plan "
            "(the seeded one-pair plan, inline in `BLUEGREEN_PLAN`), the flow's steps (which import the tool "
            "modules and make the tools), and the clients, as many per service as that hook made in the "
            "wall-time run. No request is sent, so no network time is counted; interpreter start-up is the "
            "same for every variant and is left out. The last variant imports from a copy of the layer "
            "without its `.pyc`, as `BuildMethod: python3.13` shipped it: what compiling at every cold start "
            "costs.",
            "",
        )
        rows = []
        for key, title in c.titles.items():
            phase = "total" if "setup" in key else "import"
            low, high = c.spread(key, phase)
            rows.append(
                [title, _ms(c.median(key, phase)), f"{_ms(low)}\u2013{_ms(high)}", _x(self.cold_ratio(key, phase))]
            )
        self.table(["what", "median ms", "range ms", "\u00d7 `import boto3`"], rows)
        for flow in FLOWS:
            key = f"{NAMES[flow]}-setup"
            clients = self.run(flow, min(self.f.pairs)).clients
            self.add(
                f"{NAMES[flow].capitalize()} set-up, medians: import {_ms(c.median(key))} ms, runtime (plan, "
                f"store, toolbox) {_ms(c.median(key, 'runtime'))} ms, steps and tools "
                f"{_ms(c.median(key, 'steps'))} ms, {sum(clients.values())} clients of {len(clients)} services "
                f"{_ms(c.median(key, 'clients'))} ms.",
                "",
            )
        first = c.first_clients("prepare-setup")
        further = c.further_client("prepare-setup")
        self.add(
            "Making the clients is most of the set-up: botocore reads each service's model (and, for the "
            "process's first client, the endpoint and partition data) once per process. The prepare hook's "
            "first client of each service, in the order the hook makes them (medians):",
            "",
        )
        self.table(["service", "ms"], [[f"`{service}`", _ms(seconds)] for service, seconds in first.items()])
        self.add(
            "A further client of a service already loaded costs "
            + ("nothing here (none was made)" if further is None else f"{further * 1000:.1f} ms")
            + " — the per-tool clients of section 1 cost little each at one pair, and add up with the plan. In "
            "a real first invocation each client is made by the step that first needs it, on the engine's "
            "threads, so part of this time overlaps other steps' network waits.",
            "",
            "**Where the import goes** — `python -X importtime -c 'import before_allow_traffic'`, self time "
            "summed by package, each standard-library module counted for the package that imported it first "
            "(median of 5; importtime's own overhead inflates every figure a little):",
            "",
        )
        uncompiled = c.breakdown_uncompiled
        self.table(
            ["package", "ms, layer as built", "ms, layer without `.pyc`"],
            [[group, f"{seconds * 1000:.1f}",
              f"{uncompiled[group] * 1000:.1f}" if group in uncompiled else "\u2014"]
             for group, seconds in c.breakdown.items()],
        )  # fmt: skip
        self.add("The heaviest single modules (self time):", "")
        self.table(["module", "ms"], [[f"`{name}`", f"{seconds * 1000:.1f}"] for name, seconds in c.heaviest])
        pt = c.breakdown.get("aws_lambda_powertools", 0.0)
        ym = c.breakdown.get("yaml (PyYAML)", 0.0)
        ym_uncompiled = c.breakdown_uncompiled.get("yaml (PyYAML)", ym)
        own = c.breakdown.get(OWN, 0.0)
        boto3 = c.median("boto3")
        prepare = c.median("before_allow_traffic")
        compiling = c.median("prepare-uncompiled") - prepare
        self.add(
            "**What the `.pyc` save, and where the rest goes.** Importing `before_allow_traffic` from the layer "
            f"without its `.pyc` takes {compiling * 1000:.0f} ms more than from the layer as built "
            f"({_x(self.cold_ratio('prepare-uncompiled'))} `import boto3` against "
            f"{_x(self.cold_ratio('before_allow_traffic'))}): Lambda mounts the layer read-only, so without "
            "them every cold start compiles bluegreen and PyYAML again. The rest of a handler's import beyond "
            f"`import boto3` ({(prepare - boto3) * 1000:.0f} ms for `before_allow_traffic`; "
            f"{IMPORT_BOUND} \u00d7 allows {(IMPORT_BOUND - 1) * boto3 * 1000:.0f} ms) is what the table above "
            f"counts: Powertools ({pt * 1000:.0f} ms), used by the handlers' decorators at import; PyYAML "
            f"({ym * 1000:.0f} ms; {ym_uncompiled * 1000:.0f} ms without `.pyc`), which `load_plan_text` imports "
            "only for a plan that is not JSON, at the first invocation (a JSON plan never loads it); and "
            f"bluegreen's own modules with the standard-library modules they are first to import "
            f"({own * 1000:.0f} ms): about fifty modules, each of which the first invocation needs (the plan's "
            "reader and checks, the services' steps, the record, the engine); the tool modules and PyYAML load "
            "with the plan instead. Their dataclasses are made by `@datatype` (`bluegreen.datatypes`), which "
            "compiles nothing per class, where `@dataclass` compiled each class's methods at import (about "
            "0.5 ms a class on python3.13). boto3 and botocore are needed by the first invocation anyway; "
            "deferring them would only move their cost from the import to the set-up. The handler modules themselves "
            "(a few lines each, in the functions' code) are compiled at each cold start, which costs nothing "
            "measurable. The clients' service models are the rest of the set-up; one client per service and "
            "region per process keeps that to one load each.",
            "",
        )
        late = c.median("prepare-boto3-late") - prepare
        self.add(
            "**Import order.** Each handler's first line of code is `import boto3`, before bluegreen. Left to "
            "bluegreen's own imports, boto3 and its ~400 modules load a dozen imports deeper than `import boto3` "
            "alone loads them; on CPython 3.13 before its fix of gh-142183 (made on the 3.13 branch in March "
            "2026), code run at such a depth can cross a boundary of the interpreter's frame stack again and "
            "again, and CPython maps and unmaps a stack chunk each time. Here (3.13.0) the regular expressions "
            "urllib3, botocore and the email package compile at import do, over a thousand times (seen with "
            "`strace -c -e trace=mmap,munmap`, measured once by hand): the variant without that first line, in "
            "the table above, takes "
            f"{late * 1000:.0f} ms more ({_x(self.cold_ratio('prepare-boto3-late'))} `import boto3`). With "
            "boto3 first, its modules load as in `import boto3` alone, and a CPython with the fix pays the "
            "same either way. `tests/unit/test_imports.py` keeps the order.",
            "",
        )

    def layer_size(self) -> None:
        """Section 4."""
        layer = self.f.layer
        sizes = layer.sizes
        self.add(
            "## 4. Layer size",
            "",
            "`BlueGreenLayer` is built by `BuildMethod: makefile`: `sam build` runs `make build-BlueGreenLayer` "
            "of `shared/Makefile` with `ARTIFACTS_DIR` set, which makes `python/` (Lambda's `/opt/python`) of "
            "`shared/requirements.txt` — PyYAML, installed from its manylinux2014_aarch64 wheel for CPython 3.13 "
            "with its optional C extension removed, since the plan loader uses the pure-Python "
            "`yaml.SafeLoader` and one layer serves arm64 and x86_64 functions (the target fails if any "
            "compiled extension is left) — and of the bluegreen package without what no function imports "
            "(`cli/`, `local/`, `status.py`), every module compiled by python3.13 "
            "(`compileall --invalidation-mode unchecked-hash`, the `.pyc` naming `/opt/python/…` for "
            f"tracebacks). Measured here: the `python/` of {layer.built_by} ({layer.files} files, "
            f"{layer.modules} modules with their `.pyc`, {layer.unzipped:,} bytes unzipped); `sam build` "
            f"check: {layer.sam_note}. Zipped with deflate as SAM does; KB is 10³ bytes.",
            "",
        )
        rows = [
            [name, "\u2014" if size is None else f"{size:,}", "\u2014" if size is None else f"{size / KB:.0f}"]
            for name, size in sizes.items()
        ]
        self.table(["layer zip", "bytes", "KB"], rows)
        before = sizes.get(BEFORE)
        built, sources, compiled = sizes[AS_BUILT] or 0, sizes[SOURCES_ONLY] or 0, sizes[COMPILED_ONLY] or 0
        compiling = self.f.cold.median("prepare-uncompiled") - self.f.cold.median("before_allow_traffic")
        self.add(
            "*Before* is the layer as `BuildMethod: python3.13` built it, rebuilt here the same way (pip for "
            "manylinux2014_aarch64, wheels only, no `.pyc`, and a copy of everything under `shared/` but SAM's "
            "excludes): it carried `cli/`, `local/`, `status.py` and `requirements.txt`, which no function "
            f"imports, and PyYAML's arm64 C extension (`{layer.c_extension or 'none found'}`), most of its "
            "size, which an x86_64 function could not even load"
            + (f"; not measured this time: {layer.problem}" if layer.problem else "")
            + ".",
            "",
            f"The {LAYER_BOUND // KB} KB target was set for the layer without that extension and without "
            f"`.pyc`: the sources alone zip to {sources / KB:.0f} KB. The `.pyc` compress less than their "
            "sources (bytecode, constants, docstrings and line tables) and add "
            f"{(built - sources) / KB:.0f} KB; without the sources the `.pyc` alone would zip to "
            f"{compiled / KB:.0f} KB. The layer ships both: the `.pyc` spare every cold start the compilation "
            f"({compiling * 1000:.0f} ms of `import before_allow_traffic` here, section 3), and the sources give "
            f"the tracebacks in the logs their lines, for {(built - compiled) / KB:.0f} KB more for Lambda to "
            "fetch and unpack when it starts an execution environment.",
            "",
        )
        if before:
            self.add(f"As built, the layer is {built / before:.0%} of the zip before.", "")

    def notes(self) -> None:
        """What the figures leave out."""
        libyaml = self.f.cold.libyaml
        self.add(
            "## Notes",
            "",
            "- The emulator answers at once where AWS takes seconds to minutes (a cluster starting, a consumer "
            "becoming active): a real prepare hook spends most of its life waiting, and hands that wait to a "
            "re-invocation rather than sleeping on a bill. These figures are what the hooks themselves cost.",
            "- moto serves every request from one process; under the parallel runs' concurrency each call takes "
            "longer than its injected latency, which a real region would not add.",
            "- Cold starts here run on a local disk with warm file caches; Lambda's first import also reads the "
            "code from its storage. The ratios to `import boto3` are the comparable part.",
            "- PyYAML's C extension was "
            + ("**loaded** by a probe: the layer should hold none" if libyaml else "loaded by no probe")
            + " (`yaml.__with_libyaml__`); the plans are parsed by the pure-Python `yaml.SafeLoader`.",
            "",
        )


def render(figures: Figures) -> str:
    """The document for ``figures``."""
    return Report(figures).build()
