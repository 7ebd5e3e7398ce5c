#!/usr/bin/env bash
# The test command (see README): lint, then the unit, functional, kvm and
# devstack tests (tests/kvm: real QEMU guests on two namespaced libvirt hosts;
# tests/devstack: devstack/stack.sh and unstack.sh end to end) in one
# pytest run. Extra arguments go to pytest; when some of them name test files
# or folders (./run_tests.sh tests/kvm, tests/unit/test_cli.py::test_x) only
# those run. Skip the kvm and devstack tests with -m "not kvm" or VMCTL_TEST_SKIP_KVM=1;
# otherwise they run, and fail (never skip) when the lab cannot come up.
# Builds .venv on first use and when setup.cfg or tools/setup-test-env.sh
# changed (tools/setup-test-env.sh), or uses the venv named by VMCTL_VENV.
set -euo pipefail
cd "$(dirname "$0")"

venv=${VMCTL_VENV:-.venv}
if [ -z "${VMCTL_VENV:-}" ] && { [ ! -f .venv/.vmctl-installed ] || [ setup.cfg -nt .venv/.vmctl-installed ] ||
        [ tools/setup-test-env.sh -nt .venv/.vmctl-installed ]; }; then
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

# Arguments naming a path select what runs; without any, every suite.
named_paths=0
for arg in "$@"; do
    case $arg in -*) continue ;; esac
    if [ -e "${arg%%::*}" ]; then named_paths=1; fi
done
if [ "$named_paths" = 0 ]; then
    set -- tests/unit tests/functional tests/kvm tests/devstack "$@"
fi

python -m pytest -q -p no:cacheprovider --durations=15 "$@"
