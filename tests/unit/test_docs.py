"""The docs stand on their own: every path they name is in this repository, and nothing points outside it.

Checked in every Markdown file of the repository (README.md, CHANGELOG.md, docs/, examples/):

- every relative link ``[text](target)`` and reference definition ``[id]: target`` resolves to a file or
  directory inside the repository (the ``#anchor`` is dropped; ``http(s):``/``mailto:`` links and pure
  ``#anchor`` links are not checked);
- every inline code span that names a repository path resolves: one whose first segment is a top-level
  entry of the repository (``docs/x.md``, ``tests/unit/``, ``.ci/run``) or the package (``bluegreen/…``,
  under ``shared/``), one with a folder and a file extension (``hooks/runs.py``: from the repository
  root, the Markdown file's folder, ``shared/`` or ``shared/bluegreen/``), and a bare ``NAME.md``
  (somewhere in the repository). A folder alone in another tree (``python/`` of the layer's zip) is
  not taken for a repository path.

A link or path that resolves outside the repository is an error of its own: the docs may point at
nothing a clone does not hold.

Fenced code blocks are not searched for links or paths (commands and layouts, not references).
Generated outputs (``build/``, ``dist/``, ``.aws-sam/``) are not required to exist.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Folders that hold no documentation of the project (environments, caches, generated output).
SKIPPED_DIRS = frozenset(
    {".git", ".aws-sam", ".hypothesis", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist"}
)
#: First segments of paths that name what a command generates: not in a clean clone.
GENERATED = frozenset({"build", "dist", ".aws-sam"})
#: Where a path in an inline code span may be rooted, besides the Markdown file's own folder.
BASES = (ROOT, ROOT / "shared", ROOT / "shared" / "bluegreen")
#: Paths a how-to tells the reader to create: named on purpose, not expected to exist.
TO_CREATE = {
    "docs/design.md": {"bluegreen/tools/stepfunctions.py", "bluegreen/services/stepfunctions.py"},
}
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
FILE_SUFFIX = re.compile(r"\.(md|py|pyi|yaml|yml|toml|json|txt|sh|cfg|ini|html|png|svg)$")
PATH_TOKEN = re.compile(r"^[\w.*-]+(/[\w.*-]*)*$")


@functools.cache
def markdown_files() -> list[Path]:
    """Every Markdown file of the repository, but in environments, caches and generated output."""
    found = []
    for path in sorted(ROOT.rglob("*.md")):
        parts = path.relative_to(ROOT).parts[:-1]
        if any(part in SKIPPED_DIRS or part.startswith(".venv") or part.endswith(".egg-info") for part in parts):
            continue
        found.append(path)
    return found


@functools.cache
def top_level() -> frozenset[str]:
    """The names at the repository root (what a path's first segment may be), with the package."""
    names = {p.name for p in ROOT.iterdir() if not p.name.startswith(".venv") and p.name not in SKIPPED_DIRS}
    return frozenset(names | {"bluegreen"})


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def _exists(path: Path) -> bool:
    """``path`` exists (a glob: something matches it)."""
    if any(ch in path.name for ch in "*?["):
        return path.parent.is_dir() and any(path.parent.glob(path.name))
    return path.exists()


def _without_fences(text: str) -> str:
    """The text with fenced code blocks blanked (line numbers kept)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def link_problems(doc: Path, text: str) -> list[str]:
    """Relative links of ``text`` (the content of ``doc``) that do not resolve inside the repository."""
    problems = []
    prose = _without_fences(text)
    for pattern in (INLINE_LINK, REFERENCE):
        for match in pattern.finditer(prose):
            target = match.group(1)
            if target.startswith("#") or SCHEME.match(target):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if not path:
                continue
            resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (doc.parent / path)
            if not _inside(resolved):
                problems.append(f"line {_line(prose, match.start())}: link {target!r} points outside the repository")
            elif not resolved.exists():
                problems.append(f"line {_line(prose, match.start())}: link {target!r} names no file of the repository")
    return problems


def _path_candidates(token: str, doc: Path) -> list[Path] | None:
    """Where ``token`` may be, when it names a repository path; None when it is not a path."""
    token = token.split("::", 1)[0].rstrip(".,;")  # pytest node ids name their file
    if not PATH_TOKEN.match(token) or token in (".", ".."):
        return None
    first = token.split("/", 1)[0]
    if first in GENERATED:
        return None
    if first in (".", "..") and "/" in token:
        return [doc.parent / token]
    if "/" in token:
        if first == "bluegreen":
            return [ROOT / "shared" / token]
        if first in top_level() or FILE_SUFFIX.search(token):
            return [doc.parent / token, *(base / token for base in BASES)]
        return None
    if token.endswith(".md"):
        return [p for p in markdown_files() if p.name == token] or [ROOT / token]
    return None


def path_problems(doc: Path, text: str) -> list[str]:
    """Inline code spans of ``text`` (the content of ``doc``) that name a path the repository lacks."""
    problems = []
    prose = _without_fences(text)
    allowed = TO_CREATE.get(doc.relative_to(ROOT).as_posix() if _inside(doc) else "", set())
    for match in CODE_SPAN.finditer(prose):
        token = match.group(1).strip()
        candidates = _path_candidates(token, doc)
        if candidates is None or token in allowed:
            continue
        inside = [c for c in candidates if _inside(c)]
        if not inside:
            problems.append(f"line {_line(prose, match.start())}: `{token}` points outside the repository")
        elif not any(_exists(c) for c in inside):
            problems.append(f"line {_line(prose, match.start())}: `{token}` names no file of the repository")
    return problems


def problems_of(doc: Path, text: str) -> list[str]:
    """Everything wrong with ``text`` as the content of ``doc``."""
    return [*link_problems(doc, text), *path_problems(doc, text)]


# --------------------------------------------------------------------------- the repository's docs


def test_the_checked_files_include_the_readme_and_every_doc() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert "README.md" in names
    assert {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} <= names
    assert not any(".venv" in name for name in names)


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_and_path_of_a_doc_resolves_inside_the_repository(doc: Path) -> None:
    problems = problems_of(doc, doc.read_text(encoding="utf-8"))
    assert not problems, f"{doc.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_the_paths_a_howto_asks_to_create_do_not_exist_yet() -> None:
    # An entry of TO_CREATE that exists has become a normal reference: drop it from the list.
    for doc, paths in TO_CREATE.items():
        assert (ROOT / doc).exists(), doc
        for path in paths:
            assert not (ROOT / "shared" / path).exists(), f"{path} exists now: remove it from TO_CREATE"


# --------------------------------------------------------------------------- the checker itself

BROKEN = """\
# Sample

The design is in [DESIGN.md](DESIGN.md) and [the API](../specs/API.md); see also
[outside](../../elsewhere/README.md) and [a typo](docs/desing.md#the-flow).

The tools are in `specs/API.md`, `docs/operations.md`, `DESIGN.md`,
`hooks/nowhere.py` and `../../../outside`.

[ref]: docs/missing.md
"""

GOOD = """\
# Sample

The design is in [design.md](design.md#the-flow), the tools API in [api](./api.md), the README in
[the README](../README.md), the AWS docs at [AWS](https://docs.aws.amazon.com/) and [below](#sample).

Paths: `docs/design.md`, `tests/unit/`, `.ci/run`, `hooks/runs.py`, `bluegreen/local`, `api.md`,
`tests/unit/test_docs.py::test_good`, `../examples/lambda-app`, `build/reliability-figures.json` (generated), and
no paths:
`bluegreen status --output json`, `ssm:NAME`, `aws/sns`, `python/`, `<stack>-deployment-events`, `StackReference.A`.

```sh
cat ../not/checked/in/a/code/block.md
```
"""


def test_a_broken_sample_reports_every_broken_link_and_path() -> None:
    problems = problems_of(ROOT / "docs" / "sample.md", BROKEN)
    text = "\n".join(problems)
    assert "link 'DESIGN.md' names no file" in text
    assert "link '../specs/API.md' names no file" in text
    assert "link '../../elsewhere/README.md' points outside the repository" in text
    assert "link 'docs/desing.md#the-flow' names no file" in text
    assert "link 'docs/missing.md' names no file" in text
    for token in ("specs/API.md", "docs/operations.md", "DESIGN.md", "hooks/nowhere.py"):
        assert f"`{token}` names no file" in text, token
    assert "`../../../outside` points outside the repository" in text


def test_a_good_sample_has_no_problem() -> None:
    assert problems_of(ROOT / "docs" / "sample.md", GOOD) == []


def test_a_broken_link_fails_the_repository_check() -> None:
    # The parametrized test above fails on the same text: one broken link is enough.
    with pytest.raises(AssertionError, match=r"link 'DESIGN\.md' names no file"):
        problems = problems_of(ROOT / "README.md", "See [the design](DESIGN.md).\n")
        assert not problems, "\n".join(problems)
