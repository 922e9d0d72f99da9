"""``python -m bench``: measure the hooks and write docs/performance.md (see bench/__init__.py)."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from bench import coldstart, layer, wall
from bench.minimum import minimum_calls
from bench.report import Figures, render
from bluegreen.hooks import Flow
from bluegreen.plan import parse_plan

ROOT = Path(__file__).resolve().parents[1]


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _machine(cold_python: str) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    memory = "memory unknown"
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    if Path("/proc/meminfo").exists():
        total = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        memory = f"{int(total.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    version = subprocess.run(
        [cold_python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "cpu": f"{cpu} {platform.machine()}",
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release().split('-')[0]}",
        "python": platform.python_version(),
        "cold_python": version,
        **{key: metadata.version(dist) for key, dist in
           (("boto3", "boto3"), ("botocore", "botocore"), ("powertools", "aws-lambda-powertools"), ("moto", "moto"))},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and write the report; 0 when it was written."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md", help="the report to write")
    parser.add_argument("--latency-ms", type=float, default=30.0, help="injected before every AWS call (30)")
    parser.add_argument("--pairs", default="1,4,16", help="plan sizes, in pairs per service (1,4,16)")
    parser.add_argument("--rounds", type=int, default=coldstart.ROUNDS, help="cold-start samples per variant (15)")
    args = parser.parse_args(argv)
    pairs = tuple(sorted({int(p) for p in args.pairs.split(",")}))
    started = time.perf_counter()
    try:
        python313 = layer.find_python313()
        _say(f"python3.13 for the cold starts ({python313})")
        cold_python = layer.cold_start_python(python313)
    except layer.BenchSetupError as error:
        _say(str(error))
        return 2
    runs: dict[tuple[Flow, int, str], wall.HookRun] = {}
    minimum = {}
    with tempfile.TemporaryDirectory(prefix="bluegreen-bench-") as work:
        _say("building the layer (shared/Makefile, and sam build when .venv-sam exists)")
        try:
            built = layer.build(Path(work), python313)
        except layer.BenchSetupError as error:
            _say(str(error))
            return 2
        uncompiled = layer.without_pyc(built.directory, Path(work) / "uncompiled" / "python")
        code = layer.function_code(Path(work) / "function")
        boto3_late = layer.function_code_boto3_late(Path(work) / "function-boto3-late")
        emulator = wall.EmulatorProcess()
        try:
            with wall.emulator_environment(emulator) as log:
                wall.run_deployment(emulator, log, 1, None, 0.0)  # warm-up: botocore loads its models
                for n in pairs:
                    for mode, workers in (("parallel", None), ("sequential", 1)):
                        begun = time.perf_counter()
                        prepare, retire, seeded = wall.run_deployment(emulator, log, n, workers, args.latency_ms)
                        runs[(Flow.PREPARE, n, mode)], runs[(Flow.RETIRE, n, mode)] = prepare, retire
                        _say(f"{n} pairs, {mode}: {time.perf_counter() - begun:.1f} s")
                    plan = parse_plan(seeded["plan"])
                    for flow in (Flow.PREPARE, Flow.RETIRE):
                        minimum[(flow, n)] = minimum_calls(flow, plan)
                    if n == pairs[0]:
                        demo = seeded
        finally:
            emulator.close()
        _say("cold starts")
        clients = {
            "prepare": dict(runs[(Flow.PREPARE, pairs[0], "parallel")].clients),
            "retire": dict(runs[(Flow.RETIRE, pairs[0], "parallel")].clients),
        }
        cold = coldstart.measure(
            cold_python,
            python_label="`BENCH_PYTHON`" if os.environ.get("BENCH_PYTHON") else f"`{layer.BENCH_VENV.name}`",
            plan=demo["plan"],
            state_table=demo["state_table"],
            clients=clients,
            code=code,
            layer_python=built.directory,
            uncompiled_python=uncompiled,
            boto3_late_code=boto3_late,
            rounds=args.rounds,
        )
    seconds = time.perf_counter() - started
    figures = Figures(
        machine=_machine(cold_python),
        latency_ms=args.latency_ms,
        poll_seconds=wall.POLL_SECONDS,
        pairs=pairs,
        runs=runs,
        minimum=minimum,
        cold=cold,
        layer=built,
        seconds=seconds,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(figures), encoding="utf-8")
    _say(f"wrote {args.out} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
