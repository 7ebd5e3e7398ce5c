#!/usr/bin/env bash
# The test command (see README): lint, then unit and functional tests.
# Extra arguments go to pytest. Uses .venv, or the venv named by VMCTL_VENV.
set -euo pipefail
cd "$(dirname "$0")"

venv=${VMCTL_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
    echo "no virtualenv at $venv: run .ci/run, or set VMCTL_VENV" >&2
    exit 1
fi
export VIRTUAL_ENV
VIRTUAL_ENV=$(cd "$venv" && pwd)
export PATH="$VIRTUAL_ENV/bin:$PATH"

lint_dirs=()
for dir in vmctl tests bench; do
    if [ -d "$dir" ]; then lint_dirs+=("$dir"); fi
done
ruff check "${lint_dirs[@]}"

python -m pytest -q -p no:cacheprovider --durations=15 tests/unit tests/functional "$@"
