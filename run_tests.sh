#!/usr/bin/env bash
# The test command (see README): lint, then unit and functional tests.
# Extra arguments go to pytest. Builds .venv on first use (tools/setup-test-env.sh),
# or uses the venv named by VMCTL_VENV.
set -euo pipefail
cd "$(dirname "$0")"

venv=${VMCTL_VENV:-.venv}
if [ -z "${VMCTL_VENV:-}" ] && { [ ! -f .venv/.vmctl-installed ] || [ setup.cfg -nt .venv/.vmctl-installed ]; }; then
    tools/setup-test-env.sh
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
