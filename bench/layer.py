"""The layer's size: built the way ``sam build`` builds it for arm64, zipped the way SAM zips it.

``BuildMethod: python3.13`` with ``BuildArchitecture: arm64`` makes ``python/`` from two things:
``pip install -r shared/requirements.txt`` for the Lambda platform (manylinux2014_aarch64,
CPython 3.13, wheels only, no ``.pyc``), and a copy of everything under the ``ContentUri`` (``shared/``)
except SAM's excludes (``__pycache__``, ``*.pyc``, …). The zip is ``python/`` deflated. Besides what
ships, the size without what Lambda never imports (``bluegreen/local``, ``bluegreen/cli``,
``status.py`` and ``requirements.txt``) and without PyYAML's C extension (bluegreen parses plans with
the pure-Python ``SafeLoader``) is measured. When ``.venv-sam`` exists (``make template-check`` makes
it), the real ``sam build`` of the layer is zipped too, as a check.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
#: What SAM's Python builder leaves out of the copied source (aws-lambda-builders' ``PythonPipWorkflow``).
SAM_EXCLUDES = (".aws-sam", ".chalice", ".git", ".gitignore", "*.pyc", "__pycache__", "*.so", ".Python",
                "*.egg-info", "*.egg", "pip-log.txt", "pip-delete-this-directory.txt", "htmlcov", ".tox", ".nox",
                ".coverage", ".cache", ".pytest_cache", ".python-version", ".mypy_cache", ".dmypy.json", ".pyre",
                ".env", ".venv", "venv", "venv.bak", "env.bak", "ENV", "env", ".vscode", ".idea")  # fmt: skip
#: What pip writes into a wheel's metadata that SAM's unpacking does not.
PIP_ONLY = ("INSTALLER", "REQUESTED", "direct_url.json")
#: Files of the package that no Lambda function imports (the command line and the emulator).
NEVER_IMPORTED = ("python/bluegreen/local/*", "python/bluegreen/cli/*",
                  "python/bluegreen/status.py", "python/requirements.txt")  # fmt: skip
C_EXTENSION = ("python/yaml/_yaml*.so",)


@dataclass
class Layer:
    """The built layer's ``python/`` directory and the zipped size of each variant (bytes; None: not built)."""

    directory: Path | None
    sizes: dict[str, int | None] = field(default_factory=dict)
    unzipped: int | None = None
    c_extension: str | None = None
    problem: str | None = None
    sam: int | None = None
    sam_same_files: bool | None = None
    sam_note: str = ""


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in SAM_EXCLUDES)


def _copy_source(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(_excluded(part) for part in relative.parts) or path.is_dir():
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def _files(layer_root: Path) -> list[str]:
    return sorted(str(p.relative_to(layer_root)) for p in layer_root.rglob("*") if p.is_file())


def zipped_size(layer_root: Path, leave_out: tuple[str, ...] = ()) -> int:
    """Bytes of ``python/`` (under ``layer_root``) deflated into a zip, minus the files matching ``leave_out``."""
    target = layer_root.parent / f"{layer_root.name}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in _files(layer_root):
            if not any(fnmatch.fnmatch(name, pattern) for pattern in leave_out):
                archive.write(layer_root / name, name)
    size = target.stat().st_size
    target.unlink()
    return size


def build(work: Path) -> Layer:
    """Build the layer under ``work`` (``work/layer/python``) and measure it; a failed pip leaves sizes None."""
    layer_root = work / "layer"
    python_dir = layer_root / "python"
    python_dir.mkdir(parents=True)
    requirements = ROOT / "shared" / "requirements.txt"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "--target", str(python_dir), "--platform", PLATFORM, "--python-version", PYTHON_VERSION,
           "--implementation", "cp", "--only-binary=:all:", "-r", str(requirements)]  # fmt: skip
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    layer = Layer(directory=python_dir)
    if done.returncode != 0:
        layer.problem = "pip could not fetch the arm64 wheels: " + (done.stderr.strip().splitlines() or ["?"])[-1]
        layer.directory = None
        return layer
    for path in python_dir.glob("*.dist-info/*"):
        if path.name in PIP_ONLY:
            path.unlink()
    _copy_source(ROOT / "shared", python_dir)
    extensions = sorted(python_dir.glob("yaml/_yaml*.so"))
    layer.c_extension = extensions[0].name if extensions else None
    layer.unzipped = sum((layer_root / name).stat().st_size for name in _files(layer_root))
    layer.sizes = {
        "shipped": zipped_size(layer_root),
        "without never-imported files": zipped_size(layer_root, NEVER_IMPORTED),
        "without yaml's C extension": zipped_size(layer_root, C_EXTENSION),
        "without both": zipped_size(layer_root, NEVER_IMPORTED + C_EXTENSION),
    }
    _check_with_sam(work, layer_root, layer)
    return layer


def _check_with_sam(work: Path, layer_root: Path, layer: Layer) -> None:
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    if not sam.exists():
        layer.sam_note = "not run: `.venv-sam` is absent (`make template-check` makes it)"
        return
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{sam.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    args = [str(sam), "build", "BlueGreenLayer", "--template-file", str(ROOT / "template.yaml"),
            "--build-dir", str(work / "sam"), "--no-cached", "--no-use-container"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    built = work / "sam" / "BlueGreenLayer"
    if done.returncode != 0 or not (built / "python").is_dir():
        layer.sam_note = "`sam build` failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
        return
    layer.sam = zipped_size(built)
    layer.sam_same_files = _files(built) == _files(layer_root)
    layer.sam_note = "same files as the build above" if layer.sam_same_files else "files differ from the build above"
