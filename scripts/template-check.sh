#!/usr/bin/env bash
# Checks template.yaml the way CI does: `sam validate --lint`, `sam build` (no Docker) and checkov.
#
# aws-sam-cli and checkov each pin their own boto3 / botocore, so each gets its own venv, apart
# from the project's .venv: `.venv-sam` (python3.13, the Lambda runtime: `sam build` needs a
# `python3.13` on PATH and finds the venv's) and `.venv-checkov`. Both are made on first use and
# reused afterwards (a fresh aws-sam-cli install takes a few minutes). Offline-safe: telemetry is
# off and checkov runs with --skip-download.
#
# Environment:
#   PYTHON313   interpreter for the venvs (default: pyenv's 3.13.0 when pyenv exists, else python3.13)
#   BUILD_DIR   where `sam build` writes (default: a temporary directory, removed on exit)
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_VENV=.venv-sam
CHECKOV_VENV=.venv-checkov
# Versions known to work with this template; raise them deliberately.
SAM_SPEC='aws-sam-cli>=1.130,<2'
CHECKOV_SPEC='checkov>=3.2,<4'

find_python313() {
    if [[ -n "${PYTHON313:-}" ]]; then
        echo "$PYTHON313"
    elif command -v pyenv >/dev/null 2>&1 && prefix="$(pyenv prefix 3.13.0 2>/dev/null)"; then
        echo "$prefix/bin/python3.13"
    elif command -v python3.13 >/dev/null 2>&1; then
        command -v python3.13
    else
        echo "template-check: no python3.13 found (install it, or set PYTHON313)" >&2
        return 1
    fi
}

# make_venv DIR PACKAGE-SPEC EXECUTABLE: create DIR with python3.13 and install the spec, unless
# DIR/bin/EXECUTABLE already runs.
make_venv() {
    local dir=$1 spec=$2 exe=$3 python
    if [[ -x "$dir/bin/$exe" ]]; then
        return 0
    fi
    python="$(find_python313)"
    echo "template-check: creating $dir with $python and installing $spec"
    local started=$SECONDS
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip
    "$dir/bin/python" -m pip install --quiet "$spec"
    echo "template-check: $dir ready in $((SECONDS - started)) s"
}

make_venv "$SAM_VENV" "$SAM_SPEC" sam
make_venv "$CHECKOV_VENV" "$CHECKOV_SPEC" checkov

export SAM_CLI_TELEMETRY=0
# sam build looks up `python3.13` on PATH; the SAM venv's interpreter is one.
export PATH="$PWD/$SAM_VENV/bin:$PATH"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
build_dir=${BUILD_DIR:-$work_dir/build}

echo "== sam validate --lint"
sam validate --lint --template-file template.yaml

# --no-cached: a throw-away build keeps nothing in .aws-sam/ (samconfig.toml's `cached` is for
# developers' repeated builds).
echo "== sam build (no container) into $build_dir"
sam build --template-file template.yaml --build-dir "$build_dir" --no-cached --no-use-container --parallel

echo "== checkov"
"$CHECKOV_VENV/bin/checkov" -f template.yaml --framework cloudformation --skip-download --quiet --compact

echo "template-check: all passed"
