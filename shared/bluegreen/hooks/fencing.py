"""The live-stack guard: no destructive step runs unless the record still says it may.

- **Fencing.** Every destructive step — and every undo of a prepare, which disables — first reads
  the record (one read per step, never reused: a duplicate delivery of the same execution, running at
  the same time, may have put the old stack back since any earlier read): the deployment must still
  be the one in flight, in the phase this run expects, and the step's stack must not be live. A
  superseded, duplicated or rolled-back run is refused before it touches anything.

The runs (:mod:`bluegreen.hooks.runs`), their undo (:mod:`bluegreen.hooks.undo`) and the settle
(:mod:`bluegreen.hooks.settle`) hand a :class:`Fence` to the engine as its guard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bluegreen.engine import LiveStackError, Step
from bluegreen.state import LiveRecord, Phase, StateStore


class DeploymentEndedError(LiveStackError):
    """CodeDeploy ended the deployment (stopped or failed it) while its retire ran: nothing irreversible is done."""


class Fence:
    """The guard of destructive steps: deployment D in flight in one of ``phases``, the step's stack not live.

    The runner holds the application's lease (:mod:`bluegreen.hooks.lease`), so no other runner changes the
    record meanwhile: the engine calls :meth:`wave` once for each batch of destructive steps it starts
    together, which reads the record once (a strongly consistent ``GetItem``) and checks every step
    of the batch; each step's own call (:meth:`__call__`) then checks against that read. Called for a
    step outside a wave, it reads the record itself.

    ``ended`` (the retire's) asks CodeDeploy whether the deployment has ended: asked once, before the
    first step past the reversible ones (a ``.disable`` step is reversible); a description refuses it.
    """

    def __init__(
        self,
        store: StateStore,
        application: str,
        deployment_id: str,
        phases: set[Phase],
        *,
        ended: Callable[[], str | None] | None = None,
    ) -> None:
        """Nothing is read until a step is checked."""
        self.store, self.application, self.deployment_id, self.phases = store, application, deployment_id, phases
        self.ended = ended
        self._lock = threading.Lock()
        self._read: LiveRecord | None = None
        self._answer: list[str | None] = []

    def wave(self, steps: list[Step]) -> None:
        """Read the record once and check every step of a batch about to start (raise to refuse them all)."""
        record = self.store.get(self.application)
        with self._lock:
            self._read = record
        for step in steps:
            self._check(step, record)

    def __call__(self, step: Step) -> None:
        """Check one step (against the wave's read, or a fresh one), then, past the reversible ones, CodeDeploy."""
        with self._lock:
            record = self._read
        self._check(step, record if record is not None else self.store.get(self.application))
        if self.ended is None or step.id.endswith(".disable"):
            return
        with self._lock:
            if not self._answer:
                self._answer.append(self.ended())
            answer = self._answer[0]
        if answer:
            raise DeploymentEndedError(f"refusing {step.id}: {answer}")

    def _check(self, step: Step, record: LiveRecord | None) -> None:
        if record is None:
            raise LiveStackError(f"no live-stack record for {self.application!r}: refusing {step.id}")
        if record.deployment_id != self.deployment_id or record.phase not in self.phases:
            raise LiveStackError(
                f"refusing {step.id}: the record now holds deployment {record.deployment_id} ({record.phase}), "
                f"not {self.deployment_id} ({' or '.join(sorted(self.phases))})"
            )
        if step.stack is record.live:
            raise LiveStackError(f"refusing {step.id}: stack {step.stack.value} is live")


def fence(store: StateStore, application: str, deployment_id: str, phases: set[Phase]) -> Fence:
    """The :class:`Fence` of deployment ``deployment_id`` in ``phases``."""
    return Fence(store, application, deployment_id, phases)
