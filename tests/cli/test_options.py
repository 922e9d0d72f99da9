"""The arguments: --version, each command's own options (others are usage errors), README's invocations, completion."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import tomllib
from pathlib import Path

import pytest

import bluegreen
from bluegreen.cli import COMMAND_OPTIONS, main, parse_args
from bluegreen.cli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- --version


def test_version_prints_the_installed_distributions_version_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--version")
    assert (code, out, err) == (0, f"bluegreen {importlib.metadata.version('bluegreen')}\n", "")


def test_version_falls_back_to_the_packages_own_when_not_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    monkeypatch.setattr(bluegreen, "__version__", "9.8.7")
    assert _run(capsys, "--version") == (0, "bluegreen 9.8.7\n", "")


def test_the_packages_own_version_is_pyprojects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert bluegreen.__version__ == project["version"]


# --------------------------------------------------------------------------- each command's options


def test_every_command_says_which_options_it_takes() -> None:
    assert set(COMMAND_OPTIONS) == set(COMMANDS)


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "plan.yaml", "--state-table", "t"],
        ["--state-table", "t", "validate", "plan.yaml"],  # before the command too
        ["demo", "--output", "json"],
        ["--region", "eu-west-1", "demo"],
        ["emulator", "--plan", "plan.yaml"],
        ["status", "--managed-prefix", "orders-"],
        ["plan", "prepare", "--yes"],
        ["plan", "prepare", "--force"],
        ["status", "--deployment-id", "d-1"],
        ["completion", "bash", "--profile", "p"],
        ["validate", "--managed-prefix", "orders-", "--stack", "bluegreen-orders"],  # one or the other
    ],
)
def test_an_option_the_command_does_not_take_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert re.search(r"not an option of `bluegreen \w+`|unrecognized arguments|not allowed with", err), err


def test_an_option_given_first_names_the_command_and_what_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--state-table", "t", "--output", "json", "demo")
    assert code == 2
    assert err.splitlines()[-1] == (
        "bluegreen demo: error: --state-table and --output: not options of `bluegreen demo` (it takes --debug)"
    )


@pytest.mark.parametrize("first", [True, False])
def test_the_options_a_command_takes_work_before_or_after_it(first: bool) -> None:
    options = ["--plan", "p.yaml", "--state-table", "t", "--region", "eu-west-1", "--output", "json"]
    argv = [*options, "run", "prepare", "--force"] if first else ["run", "prepare", "--force", *options]
    args = parse_args(argv)
    given = (args.plan, args.state_table, args.region, args.output, args.force)
    assert given == ("p.yaml", "t", "eu-west-1", "json", True)
    assert (args.profile, args.debug) == (None, False)


def test_the_options_a_command_does_not_take_keep_their_defaults() -> None:
    args = parse_args(["demo", "--debug"])
    assert (args.plan, args.state_table, args.region, args.profile, args.output, args.debug) == (
        None,
        None,
        None,
        None,
        "text",
        True,
    )


def _readme_invocations() -> list[str]:
    """Every ``bluegreen …`` line of README.md's shell blocks, without its comment."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)
    lines = [line.split(" #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("bluegreen ")]


def test_the_readme_documents_some_invocations() -> None:
    commands = {shlex.split(line)[1] for line in _readme_invocations()}
    assert {"validate", "status", "plan", "run", "completion"} <= commands


@pytest.mark.parametrize("line", _readme_invocations())
def test_every_invocation_in_the_readme_parses(line: str) -> None:
    args = parse_args(shlex.split(line)[1:])
    assert args.command in COMMANDS


# --------------------------------------------------------------------------- completion


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_prints_a_script_naming_every_command(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    code, out, err = _run(capsys, "completion", shell)
    assert (code, err) == (0, "")
    for command in COMMANDS:
        assert command in out, command
    assert "--managed-prefix" in out and "--force" in out and out.endswith("\n")
    if shell == "bash":
        listed = re.search(r"^_shtab_bluegreen_subparsers=\((.*)\)$", out, flags=re.M)
        assert listed is not None and listed[1].split() == list(COMMANDS)
        assert "complete -o bashdefault -F _shtab_bluegreen bluegreen\n" in out
    else:
        assert out.startswith("#compdef bluegreen")


def test_completion_knows_only_bash_and_zsh(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "completion", "fish")[0] == 2
