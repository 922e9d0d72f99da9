"""The BlueGreenLayer as ``sam build`` makes it: shared/Makefile's ``build-BlueGreenLayer`` target.

The target is run once for the module into a temporary ``ARTIFACTS_DIR`` (about two seconds; pip needs
the package index, or its cache, for the PyYAML wheel). It needs a python3.13, found as
scripts/template-check.sh finds it (``PYTHON313``, pyenv's 3.13.0, ``python3.13`` on PATH); without
one the tests are skipped. The layer ships each module's source and its ``.pyc`` for CPython 3.13
(unchecked-hash): the source keeps the lines of tracebacks in the logs, the ``.pyc`` spare every cold
start the compilation (Lambda mounts layers read-only, so nothing compiled there is kept).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from bench.layer import BenchSetupError, find_python313

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "shared" / "Makefile"
PACKAGE = ROOT / "shared" / "bluegreen"
HANDLERS = sorted(path.stem for path in (ROOT / "handlers").glob("*.py"))
#: What no Lambda function imports (relative to the package): the command line, the emulator, `status`.
LEFT_OUT = ("cli", "local", "status.py")
#: The flags of a ``.pyc`` header: bit 0 hash-based, bit 1 check the source (PEP 552).
UNCHECKED_HASH = 0b01


@pytest.fixture(scope="module")
def python313() -> str:
    try:
        found = find_python313()  # as bench and scripts/template-check.sh find it: PYTHON313, pyenv, PATH
    except BenchSetupError as missing:
        pytest.skip(f"{missing}")
    if shutil.which("make") is None:
        pytest.skip("no `make`: sam build runs the layer's makefile with it")
    return found


@pytest.fixture(scope="module")
def layer(python313: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built layer's ``python/`` directory (what Lambda mounts as /opt/python)."""
    artifacts = tmp_path_factory.mktemp("BlueGreenLayer")
    args = ["make", "--makefile", str(MAKEFILE), "build-BlueGreenLayer", f"ARTIFACTS_DIR={artifacts}"]
    # Run from elsewhere, as sam build does (it runs make in a scratch copy of shared/).
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=artifacts,
                          env={**os.environ, "PYTHON313": python313})  # fmt: skip
    assert done.returncode == 0, f"build-BlueGreenLayer failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert sorted(path.name for path in artifacts.iterdir()) == ["python"]
    return artifacts / "python"


def _relative(root: Path, pattern: str) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob(pattern) if "__pycache__" not in path.parts}


def test_layer_holds_the_package_but_what_no_function_imports(layer: Path) -> None:
    for name in LEFT_OUT:
        assert not (layer / "bluegreen" / name).exists(), name
    wanted = {name for name in _relative(PACKAGE, "*.py") if name.split("/")[0] not in LEFT_OUT}
    assert _relative(layer / "bluegreen", "*.py") == wanted  # every other module, nothing else
    assert not (layer / "requirements.txt").exists()
    assert not list(layer.glob("*.egg-info"))


def test_layer_holds_pure_python_pyyaml_and_no_native_code(layer: Path) -> None:
    assert (layer / "yaml" / "__init__.py").is_file()
    assert (layer / "yaml" / "constructor.py").is_file()  # SafeLoader, pure Python
    native = [p for p in layer.rglob("*") if p.suffix in {".so", ".pyd"} or ".so." in p.name]
    assert native == []  # one layer for arm64 and x86_64 functions
    assert not (layer / "_yaml").exists()  # PyYAML's shim for its C extension


def test_every_module_is_compiled_for_python313_unchecked(layer: Path, python313: str) -> None:
    magic = subprocess.run(
        [python313, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    sources = sorted(layer.rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert compiled.is_file(), f"{source.relative_to(layer)} has no .pyc for CPython 3.13"
        header = compiled.read_bytes()[:8]
        assert header[:4].hex() == magic, compiled
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, compiled  # the source is never read
    stray = [p for p in layer.rglob("*.pyc") if p.parent.name != "__pycache__" or ".cpython-313." not in p.name]
    assert stray == []
    compiled_files = layer.rglob("__pycache__/*.pyc")
    orphans = [p for p in compiled_files if not (p.parents[1] / f"{p.name.split('.')[0]}.py").exists()]
    assert orphans == []


def test_pyc_files_name_the_layer_path_lambda_mounts(layer: Path, python313: str) -> None:
    probe = "import marshal, sys\ncode = marshal.loads(open(sys.argv[1], 'rb').read()[16:])\nprint(code.co_filename)\n"
    compiled = layer / "bluegreen" / "hooks" / "__pycache__" / "entry.cpython-313.pyc"
    done = subprocess.run([python313, "-c", probe, str(compiled)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "/opt/python/bluegreen/hooks/entry.py"


#: What each fresh interpreter runs: import a handler, then say where its modules came from.
PROBE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
import yaml
print(json.dumps({
    "handler": callable(getattr(module, "handler", None)),
    "libyaml": yaml.__with_libyaml__,
    "files": sorted({m.__file__ for name, m in list(sys.modules.items())
                     if name.split(".")[0] in {"bluegreen", "yaml"} and getattr(m, "__file__", None)}),
}))
"""


@pytest.mark.parametrize("handler", HANDLERS)
def test_each_handler_imports_from_the_layer_alone(layer: Path, handler: str, tmp_path: Path) -> None:
    """``handlers/`` and the layer on the path, boto3 and Powertools from the venv, and not ``shared/``.

    ``-S`` leaves out the venv's ``.pth`` files (the editable install puts ``shared/`` on the path);
    the venv's site-packages come after the layer, as the runtime's boto3 comes after the layers.
    """
    site_packages = sysconfig.get_paths()["purelib"]
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(ROOT / "handlers"), str(layer), site_packages]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "POWERTOOLS_METRICS_DISABLED": "true",
    })  # fmt: skip
    args = [sys.executable, "-S", "-c", PROBE, handler]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, f"{handler} does not import from the layer alone:\n{done.stderr[-3000:]}"
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["handler"] is True
    assert found["libyaml"] is False
    outside = [name for name in found["files"] if not name.startswith(str(layer))]
    assert outside == []
