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

wait_for() {  # wait_for DESCRIPTION SECONDS COMMAND...
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq "$seconds"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    log "$what did not come up within ${seconds}s"
    return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
rabbitmq_up() { port_open 127.0.0.1 5672; }
mariadb_up() { mysqladmin --user=root ping; }
postgresql_up() { pg_isready --quiet --host=127.0.0.1 --port=5432; }

APT_UPDATED=0
ensure_packages() {  # ensure_packages COMMAND PACKAGE...
    local cmd=$1
    shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    apt_install "$@"
}

apt_install() {  # apt_install PACKAGE...
    log "installing $*"
    # A fresh machine (a container image) may have no package lists yet.
    if [ "$APT_UPDATED" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

ensure_rabbitmq() {
    ensure_packages rabbitmq-server rabbitmq-server
    rabbitmq_up && return 0
    log "starting RabbitMQ"
    rabbitmq-server -detached
    wait_for RabbitMQ 90 rabbitmq_up
}

ensure_mariadb() {
    ensure_packages mariadbd mariadb-server
    mariadb_up >/dev/null 2>&1 && return 0
    log "starting MariaDB"
    install -d -o mysql -g mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB 60 mariadb_up
}

ensure_postgresql() {
    ensure_packages pg_ctlcluster postgresql
    postgresql_up && return 0
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    wait_for PostgreSQL 60 postgresql_up
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

ensure_rabbitmq
ensure_mariadb
ensure_postgresql
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
