"""The verdict: the replacement proves itself before traffic reaches it, and under live traffic before the retire.

- :mod:`~bluegreen.verdict.model`: the plan's ``verdict`` section (:class:`Verdict`), read and checked.
- :mod:`~bluegreen.verdict.judge`: measurements against thresholds, pure (:class:`~bluegreen.verdict.judge.Judgement`).
- :mod:`~bluegreen.verdict.steps`: the read-only step of each moment, which the flows place before
  anything is enabled for traffic or touched on the old stack.
- What it reads from AWS is in :mod:`bluegreen.tools.verdict`.
"""

from bluegreen.verdict.model import BeforeRetire, BeforeTraffic, Smoke, Verdict, read_verdict

__all__ = ["BeforeRetire", "BeforeTraffic", "Smoke", "Verdict", "read_verdict"]
