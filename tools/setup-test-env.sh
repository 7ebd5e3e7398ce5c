#!/usr/bin/env bash
# Prepare a machine for the test suite, idempotently: make sure Python 3.11
# can make a venv and build extensions, and that the system
# services the tests use answer (RabbitMQ, MariaDB, PostgreSQL), build .venv
# and install vmctl with its test extras into it; for the kvm tests install
# QEMU/libvirt and libvirt-python (tools/kvm-lab/install-packages.sh, fast
# when done) and build the test guest into its cache (VMCTL_KVM_GUEST_DIR,
# default ~/.cache/vmctl/kvm-guest). VMCTL_TEST_SKIP_KVM=1 skips the kvm part.
# Called by run_tests.sh (when .venv is missing or setup.cfg or this script
# changed) and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# wait_for, port_open, apt_install, ensure_rabbitmq/mariadb/postgresql
# (shared with devstack/stack.sh).
# shellcheck source=services.sh
. tools/services.sh

ensure_packages() {  # ensure_packages COMMAND PACKAGE...
    local cmd=$1
    shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    apt_install "$@"
}

# Python 3.11 able to make a venv (ensurepip) and build libvirt-python
# (Python.h): on Debian that is python3.11-venv and python3.11-dev.
python_ready() {
    python3.11 -c 'import ensurepip, os, sysconfig
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))'
}
ensure_python() {
    python_ready >/dev/null 2>&1 && return 0
    ensure_packages python3.11 python3.11
    python_ready >/dev/null 2>&1 && return 0
    apt_install python3.11-venv python3.11-dev
}

ensure_rabbitmq 127.0.0.1 5672 90
ensure_mariadb 60
ensure_postgresql 60
ensure_python

if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3.11 -m venv .venv
fi
log "installing vmctl into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ "${VMCTL_TEST_SKIP_KVM:-}" != 1 ]; then
    log "preparing the kvm lab: packages, libvirt-python, test guest"
    tools/kvm-lab/install-packages.sh "$PWD/.venv"
    guest_dir=${VMCTL_KVM_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vmctl/kvm-guest}
    mkdir -p "$guest_dir"
    # The lock tests/fixtures/kvm.py takes too: one build at a time.
    flock "$guest_dir/.build.lock" guest/build.sh "$guest_dir"
fi

touch .venv/.vmctl-installed
