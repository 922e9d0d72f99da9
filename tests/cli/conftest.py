"""The seeded two-stack world on moto, a plan file for it, and a way to run the ``bluegreen`` command."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

import bluegreen.aws
import bluegreen.engine
from bluegreen.cli import main
from bluegreen.local.seed import World, seed_world, smoke_function, verdict_section
from tests.conftest import REGION
from tests.support import kinesis_consumers
from tests.support.codedeploy import Shim, install_answers
from tests.support.faults import Faults

#: Operations that change nothing in AWS.
READ_PREFIXES = ("Get", "Describe", "List")


@dataclass
class Ran:
    """One run of the command: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``bluegreen`` in process against the seeded world; ``faults.calls`` is every AWS call it made."""

    world: World
    plan_file: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    faults: Faults = field(default_factory=Faults)

    def __call__(self, *argv: str, stdin: str | None = None, tty: bool = False) -> Ran:
        self.capsys.readouterr()
        self.monkeypatch.setattr("sys.stdin", _Stdin(stdin or "", tty))
        code = main([*argv])
        captured = self.capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    def with_plan(self, *argv: str, **kw: Any) -> Ran:
        """``argv`` after the plan file and the state table options."""
        return self(*argv, "--plan", str(self.plan_file), "--state-table", self.world.state_table, **kw)

    @property
    def changes(self) -> list[str]:
        """The calls made so far that are not reads."""
        return [name for name in self.faults.calls if not name.startswith(READ_PREFIXES)]


class _Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def cli(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    kinesis_consumers.install(monkeypatch)
    monkeypatch.setattr(bluegreen.engine, "POLL_INITIAL_SECONDS", 0.0)
    for name in ("BLUEGREEN_PLAN_FILE", "BLUEGREEN_PLAN_PARAMETER", "BLUEGREEN_PLAN", "BLUEGREEN_STATE_TABLE"):
        monkeypatch.delenv(name, raising=False)
    world = seed_world(REGION)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(world.plan, sort_keys=False), encoding="utf-8")
    runner = Cli(world, plan_file, capsys, monkeypatch)
    # Registered after seeding: it sees only the calls of clients made later, i.e. the command's.
    runner.faults.register(bluegreen.aws.default_session())
    yield runner


@pytest.fixture
def judged(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The seeded world with the seeded verdict in its plan, and smoke functions the emulator answers."""
    install_answers(monkeypatch, Shim())
    lam, role = boto3.client("lambda", region_name=REGION), boto3.client("iam", region_name=REGION)
    arn = role.get_role(RoleName="fn-role")["Role"]["Arn"]
    for stack in ("a", "b"):
        lam.create_function(
            FunctionName=smoke_function(stack), Runtime="python3.13", Role=arn, Handler="app.handler",
            Code={"ZipFile": b"PK"},
        )  # fmt: skip
    cli.world.plan = {**cli.world.plan, "verdict": verdict_section()}
    cli.plan_file.write_text(yaml.safe_dump(cli.world.plan, sort_keys=False), encoding="utf-8")
    return cli
