#!/usr/bin/env bash
# devstack/unstack.sh — stop exactly what devstack/stack.sh started.
#
#   devstack/unstack.sh             stop the daemons, delete the RabbitMQ vhost
#   devstack/unstack.sh --clean     also drop the database stack.sh made and
#                                   delete devstack/data (venv included)
#   devstack/unstack.sh --keep-vhost  stop the daemons only (stack.sh uses it
#                                   before starting again)
#
# Daemons are found only through the pid files in devstack/data/pids, and a
# pid is signalled only if /proc says it is still the vmctl program that file
# was written for: nothing else on the machine is touched. Each gets SIGTERM
# (they drain and exit), then SIGKILL if still alive after VMCTL_STOP_SECONDS.
set -euo pipefail

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMCTL_DATA=${VMCTL_DATA:-$TOP_DIR/devstack/data}
VMCTL_RABBIT_VHOST=${VMCTL_RABBIT_VHOST:-vmctl-devstack}
VMCTL_DB_NAME=${VMCTL_DB_NAME:-vmctl}
VMCTL_STOP_SECONDS=${VMCTL_STOP_SECONDS:-15}
PIDS=$VMCTL_DATA/pids

clean=false
keep_vhost=false
for arg in "$@"; do
    case $arg in
    --clean) clean=true ;;
    --keep-vhost) keep_vhost=true ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "unstack.sh: unknown argument $arg (try --help)" >&2; exit 1 ;;
    esac
done

log() { printf '==> %s\n' "$*" >&2; }

# ours PID NAME: is PID alive and running the vmctl program NAME was for?
# (a pid file left by a crashed run may name a pid reused by something else)
ours() {
    local pid=$1 name=$2 program=$2
    case $name in vmctl-compute-*) program=vmctl-compute ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "/$program "
}

# --- 1. Stop every daemon named by a pid file -------------------------------
pids=()
names=()
if [ -d "$PIDS" ]; then
    for pidfile in "$PIDS"/*.pid; do
        [ -e "$pidfile" ] || continue
        name=$(basename "$pidfile" .pid)
        pid=$(cat "$pidfile")
        if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$name"; then
            log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        else
            log "$name is not running"
            rm -f "$pidfile"
        fi
    done
fi

# --- 2. Wait for them to exit; SIGKILL whatever outlives the bound ----------
deadline=$((SECONDS + VMCTL_STOP_SECONDS))
for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    name=${names[$i]}
    while ours "$pid" "$name" && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.2
    done
    if ours "$pid" "$name"; then
        log "$name (pid $pid) still running after ${VMCTL_STOP_SECONDS}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDS/$name.pid"
done

# --- 3. Delete the RabbitMQ vhost (its queues and exchanges go with it) -----
if ! $keep_vhost && command -v rabbitmqctl >/dev/null; then
    if rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx -- "$VMCTL_RABBIT_VHOST"; then
        log "deleting RabbitMQ vhost $VMCTL_RABBIT_VHOST"
        rabbitmqctl -q delete_vhost "$VMCTL_RABBIT_VHOST"
    fi
fi

# --- 4. --clean: drop the database stack.sh created, delete devstack/data ---
if $clean; then
    db_kind=$(cat "$VMCTL_DATA/database" 2>/dev/null || echo sqlite)
    case $db_kind in
    mysql)
        log "dropping MariaDB database $VMCTL_DB_NAME"
        mysql --user=root -e "DROP DATABASE IF EXISTS \`$VMCTL_DB_NAME\`" ;;
    postgresql)
        log "dropping PostgreSQL database $VMCTL_DB_NAME"
        runuser -u postgres -- dropdb --if-exists "$VMCTL_DB_NAME" ;;
    esac
    log "deleting $VMCTL_DATA"
    rm -rf "$VMCTL_DATA"
fi
log "done"
