"""The embedded emulator, hosted in a process of its own for the benchmark: ``python -m bench.server``.

The hooks under test run in the benchmark's process; the emulator (moto's server plus the shim, with
its injected latency) runs here, so moto's request handling does not compete with the hooks' threads
for one interpreter lock — as AWS's servers do not. It speaks JSON lines on stdin/stdout:

    → {"seed": 4, "latency_ms": 30}     reset moto, seed 4 pairs per service with no latency, then
    ← {"plan": {...}, "state_table": "bluegreen-state", "seconds": 1.2}   inject the latency
    → {"quit": true}                    stop

The first line it prints is ``{"endpoint": "http://127.0.0.1:PORT", "region": "..."}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from bluegreen.local.emulator import Emulator
from bluegreen.local.seed import seed_world

REGION = "eu-central-1"


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> int:
    """Serve until stdin closes or a ``quit`` request comes."""
    with Emulator(region=REGION) as emulator:
        _reply({"endpoint": emulator.endpoint, "region": REGION})
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("quit"):
                break
            started = time.perf_counter()
            emulator.set_latency(0)
            emulator.reset()
            world = seed_world(REGION, pairs=int(request["seed"]))
            emulator.deployments.ensure("d-bench")  # the deployment CodeDeploy runs (the hooks ask about it)
            emulator.set_latency(float(request.get("latency_ms", 0)))
            _reply({"plan": world.plan, "state_table": world.state_table, "seconds": time.perf_counter() - started})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
