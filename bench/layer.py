"""The layer as ``sam build`` makes it, zipped the way SAM zips it, and the python3.13 that times it.

``BlueGreenLayer`` is built by ``BuildMethod: makefile``: ``sam build`` runs the ``build-BlueGreenLayer``
target of ``shared/Makefile`` with ``ARTIFACTS_DIR`` set, and zips ``python/`` with deflate. The
benchmark runs that target itself into a temporary ``ARTIFACTS_DIR`` (with the python3.13 found as
``scripts/template-check.sh`` finds it); when ``.venv-sam`` exists (``make template-check`` makes it) it
also runs ``sam build BlueGreenLayer``, checks that both hold the same files, and measures the one
``sam build`` made. Beside the layer as built, it zips the same files without their ``.pyc`` and the
``.pyc`` alone (what the choices would weigh), and rebuilds the layer as ``BuildMethod: python3.13``
built it before (PyYAML's arm64 wheel and the whole of ``shared/`` but SAM's excludes, no ``.pyc``),
to compare with.

The cold starts are timed with python3.13 in ``.venv-bench``, a venv made on first use with boto3,
botocore and aws-lambda-powertools at the versions of the project's ``.venv`` and nothing else
(PyYAML and bluegreen come from the layer, as in Lambda).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = ROOT / "shared" / "Makefile"
TARGET = "build-BlueGreenLayer"
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
BENCH_VENV = ROOT / ".venv-bench"
#: What the cold-start venv holds besides pip, pinned to the project's .venv (Lambda: runtime and Powertools layer).
BENCH_DISTRIBUTIONS = ("boto3", "botocore", "aws-lambda-powertools")
#: What SAM's Python builder leaves out of the copied source (aws-lambda-builders' ``PythonPipWorkflow``).
SAM_EXCLUDES = (".aws-sam", ".chalice", ".git", ".gitignore", "*.pyc", "__pycache__", "*.so", ".Python",
                "*.egg-info", "*.egg", "pip-log.txt", "pip-delete-this-directory.txt", "htmlcov", ".tox", ".nox",
                ".coverage", ".cache", ".pytest_cache", ".python-version", ".mypy_cache", ".dmypy.json", ".pyre",
                ".env", ".venv", "venv", "venv.bak", "env.bak", "ENV", "env", ".vscode", ".idea")  # fmt: skip
#: What pip writes into a wheel's metadata that SAM's unpacking does not.
PIP_ONLY = ("INSTALLER", "REQUESTED", "direct_url.json")
#: The zips measured, in the order the report shows them.
AS_BUILT = "as built: sources and `.pyc`"
SOURCES_ONLY = "the same without `.pyc` (sources only)"
COMPILED_ONLY = "the same with `.pyc` only (no sources)"
BEFORE = "before: `BuildMethod: python3.13` (until issue 13)"


class BenchSetupError(RuntimeError):
    """What the benchmark needs and could not find or make (python3.13, the layer, the cold-start venv)."""


@dataclass
class Layer:
    """The built layer's ``python/`` directory and what was measured of it (bytes)."""

    #: The ``python/`` measured: ``sam build``'s when it ran, else the makefile target's.
    directory: Path
    built_by: str
    #: Zipped sizes, by the names above; None: not measured.
    sizes: dict[str, int | None] = field(default_factory=dict)
    unzipped: int = 0
    files: int = 0
    modules: int = 0
    #: The compiled extension PyYAML's arm64 wheel carries (in the layer before, not now).
    c_extension: str | None = None
    sam_note: str = ""
    problem: str | None = None


def find_python313() -> str:
    """The python3.13 to build the layer with, as scripts/template-check.sh finds it (PYTHON313, pyenv, PATH)."""
    candidates = [os.environ.get("PYTHON313", "")]
    if shutil.which("pyenv"):
        done = subprocess.run(["pyenv", "prefix", "3.13.0"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            candidates.append(str(Path(done.stdout.strip()) / "bin" / "python3.13"))
    candidates.append(shutil.which("python3.13") or "")
    for candidate in filter(None, candidates):
        if _is_python313(candidate):
            return candidate
    raise BenchSetupError("no python3.13 found (set PYTHON313, or `pyenv install 3.13.0`): the layer is for 3.13")


def _is_python313(python: str) -> bool:
    check = [python, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"]
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == "True"


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["?"])[-1]


def cold_start_python(python313: str) -> str:
    """``BENCH_PYTHON`` if set (a python3.13 with boto3 and Powertools), else ``.venv-bench``'s, made when needed."""
    given = os.environ.get("BENCH_PYTHON")
    if given:
        if not _is_python313(given):
            raise BenchSetupError(f"BENCH_PYTHON={given} is not Python 3.13: the layer's .pyc are for 3.13")
        return given
    pins = [f"{name}=={metadata.version(name)}" for name in BENCH_DISTRIBUTIONS]
    python = BENCH_VENV / "bin" / "python"
    stamp = BENCH_VENV / ".installed"
    if python.exists() and stamp.exists() and stamp.read_text().split() == pins:
        return str(python)
    shutil.rmtree(BENCH_VENV, ignore_errors=True)
    steps = [[python313, "-m", "venv", str(BENCH_VENV)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins]]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchSetupError(f"could not make {BENCH_VENV.name}: {_last_line(done.stderr)}")
    stamp.write_text(" ".join(pins))
    return str(python)


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in SAM_EXCLUDES)


def _files(layer_root: Path) -> list[str]:
    return sorted(str(p.relative_to(layer_root)) for p in layer_root.rglob("*") if p.is_file())


def zipped_size(layer_root: Path, leave_out: tuple[str, ...] = ()) -> int:
    """Bytes of ``layer_root`` (holding ``python/``) deflated into a zip, minus the files matching ``leave_out``."""
    target = layer_root.parent / f"{layer_root.name}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in _files(layer_root):
            if not any(fnmatch.fnmatch(name, pattern) for pattern in leave_out):
                archive.write(layer_root / name, name)
    size = target.stat().st_size
    target.unlink()
    return size


def run_target(artifacts: Path, python313: str) -> Path:
    """Run shared/Makefile's layer target into ``artifacts`` (as ``sam build`` does); its ``python/``."""
    args = ["make", "--makefile", str(MAKEFILE), TARGET, f"ARTIFACTS_DIR={artifacts}"]
    env = {**os.environ, "PYTHON313": python313}
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise BenchSetupError(f"`make {TARGET}` failed: {_last_line(done.stderr)}")
    return artifacts / "python"


def _sam_build(work: Path) -> tuple[Path | None, str]:
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    if not sam.exists():
        return None, "not run: `.venv-sam` is absent (`make template-check` makes it)"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{sam.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    args = [str(sam), "build", "BlueGreenLayer", "--template-file", str(ROOT / "template.yaml"),
            "--build-dir", str(work / "sam"), "--no-cached", "--no-use-container"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    built = work / "sam" / "BlueGreenLayer"
    if done.returncode != 0 or not (built / "python").is_dir():
        return None, "`sam build` failed: " + _last_line(done.stderr or done.stdout)
    return built, ""


def _build_before(work: Path) -> tuple[int | None, str | None, str | None]:
    """The layer as ``BuildMethod: python3.13`` built it: zipped size, PyYAML's extension, or the problem."""
    layer_root = work / "before"
    python_dir = layer_root / "python"
    python_dir.mkdir(parents=True)
    requirements = ROOT / "shared" / "requirements.txt"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "--target", str(python_dir), "--platform", PLATFORM, "--python-version", PYTHON_VERSION,
           "--implementation", "cp", "--only-binary=:all:", "-r", str(requirements)]  # fmt: skip
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, None, "pip could not fetch the arm64 wheels: " + _last_line(done.stderr)
    for path in python_dir.glob("*.dist-info/*"):
        if path.name in PIP_ONLY:
            path.unlink()
    source = ROOT / "shared"
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or any(_excluded(part) for part in relative.parts) or relative.name == "Makefile":
            continue
        (python_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, python_dir / relative)
    extensions = sorted(python_dir.glob("yaml/_yaml*.so"))
    return zipped_size(layer_root), extensions[0].name if extensions else None, None


def build(work: Path, python313: str) -> Layer:
    """Build the layer under ``work`` and measure it (see the module docstring)."""
    made = run_target(work / "make", python313)
    sam_root, sam_problem = _sam_build(work)
    if sam_root is None:
        layer = Layer(directory=made, built_by=f"`make {TARGET}`", sam_note=sam_problem)
    else:
        same = _files(sam_root / "python") == _files(made)
        layer = Layer(directory=sam_root / "python", built_by="`sam build BlueGreenLayer`",
                      sam_note="the same files as the makefile target run alone" if same
                      else "**files differ** from the makefile target run alone")  # fmt: skip
    root = layer.directory.parent
    files = _files(root)
    layer.files = len(files)
    layer.modules = sum(1 for name in files if name.endswith(".py"))
    layer.unzipped = sum((root / name).stat().st_size for name in files)
    before, layer.c_extension, layer.problem = _build_before(work)
    layer.sizes = {
        AS_BUILT: zipped_size(root),
        SOURCES_ONLY: zipped_size(root, ("*.pyc",)),
        COMPILED_ONLY: zipped_size(root, ("*.py",)),
        BEFORE: before,
    }
    return layer


def without_pyc(layer_python: Path, target: Path) -> Path:
    """A copy of the layer's ``python/`` without its ``.pyc`` (what Lambda compiles at every cold start then)."""
    shutil.copytree(layer_python, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def function_code(target: Path) -> Path:
    """The functions' code (``handlers/*.py``, CodeUri), without ``.pyc``, as their build ships it."""
    target.mkdir(parents=True)
    for path in sorted((ROOT / "handlers").glob("*.py")):
        shutil.copy2(path, target / path.name)
    return target


def function_code_boto3_late(target: Path) -> Path:
    """The functions' code without each handler's ``import boto3``, so that bluegreen's own imports load boto3.

    That is how boto3 loaded before the handlers imported it first (docs/performance.md, section 3).
    """
    target.mkdir(parents=True)
    for path in sorted((ROOT / "handlers").glob("*.py")):
        kept = [line for line in path.read_text().splitlines(keepends=True) if not line.startswith("import boto3")]
        (target / path.name).write_text("".join(kept))
    return target
