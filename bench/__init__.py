"""The benchmark: hook wall time, AWS calls, cold start and layer size, written to docs/performance.md.

``make bench`` (``.venv/bin/python -m bench``) runs, in about a minute and a half:

- :mod:`bench.layer` — the layer built by ``shared/Makefile`` (``BuildMethod: makefile``), as ``sam build``
  builds it, zipped; and the python3.13 venv (``.venv-bench``) the cold starts run in;
- :mod:`bench.wall` — the prepare and retire hooks against the embedded emulator (hosted by
  :mod:`bench.server` in a process of its own) with a fixed latency on every AWS call, for plans of
  1, 4 and 16 pairs per service, in parallel and one step at a time, every call counted;
- :mod:`bench.minimum` — the calls each flow cannot avoid, to compare the counts with;
- :mod:`bench.coldstart` — each handler's import from the built layer, and the hooks' first-invocation
  set-up, in fresh python3.13 processes, beside ``import boto3`` alone;
- :mod:`bench.report` — the Markdown.

Nothing here changes what the hooks do; it only sets the engine's first poll interval short, since
the emulator's clusters are available at once.
"""
