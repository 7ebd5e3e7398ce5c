#!/usr/bin/env bash
# devstack/unstack.sh — stop exactly what devstack/stack.sh started.
#
#   devstack/unstack.sh             delete the servers (libvirt: their guests),
#                                   stop the daemons, take the lab hosts down,
#                                   delete the RabbitMQ vhost
#   devstack/unstack.sh --clean     also drop the database stack.sh made and
#                                   delete devstack/data (venv included)
#   devstack/unstack.sh --keep-vhost --keep-lab
#                                   stop the vmctl daemons only (stack.sh uses
#                                   it before starting again; guests go on)
#
# Daemons are found only through the pid files in devstack/data/pids, and a
# pid is signalled only if /proc says it is still the vmctl program that file
# was written for: nothing else on the machine is touched. Each gets SIGTERM
# (they drain and exit), then SIGKILL if still alive after VMCTL_STOP_SECONDS.
# The lab hosts (VMCTL_VIRT=libvirt) go down with tools/kvm-lab/hosts.sh
# down, which destroys leftover domains, stops its own daemons by pid and
# deletes the namespaces.
set -euo pipefail

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMCTL_DATA=${VMCTL_DATA:-$TOP_DIR/devstack/data}
# The vhost and database stack.sh made (it records them), unless set here.
STACKED_RABBIT_VHOST= STACKED_DB_NAME=
if [ -r "$VMCTL_DATA/stack.settings" ]; then
    # shellcheck disable=SC1091
    . "$VMCTL_DATA/stack.settings"
fi
VMCTL_RABBIT_VHOST=${VMCTL_RABBIT_VHOST:-${STACKED_RABBIT_VHOST:-vmctl-devstack}}
VMCTL_DB_NAME=${VMCTL_DB_NAME:-${STACKED_DB_NAME:-vmctl}}
VMCTL_STOP_SECONDS=${VMCTL_STOP_SECONDS:-15}
VMCTL_DELETE_SECONDS=${VMCTL_DELETE_SECONDS:-60}
VMCTL_VENV=${VMCTL_VENV:-$VMCTL_DATA/venv}
PIDS=$VMCTL_DATA/pids
LAB=$VMCTL_DATA/lab

clean=false
keep_vhost=false
keep_lab=false
for arg in "$@"; do
    case $arg in
    --clean) clean=true ;;
    --keep-vhost) keep_vhost=true ;;
    --keep-lab) keep_lab=true ;;
    -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
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

# --- 1. libvirt: delete every server through the API while it runs --------
# (their guests go, and the database keeps no server whose guest is gone).
# Bounded by VMCTL_DELETE_SECONDS; hosts.sh down destroys whatever is left.
lab_used=false
[ -s "$VMCTL_DATA/lab.settings" ] && [ -d "$LAB" ] && lab_used=true
api_pid=$(cat "$PIDS/vmctl-api.pid" 2>/dev/null || true)
if $lab_used && ! $keep_lab && [[ $api_pid =~ ^[0-9]+$ ]] && ours "$api_pid" vmctl-api \
        && [ -x "$VMCTL_VENV/bin/python" ]; then
    port=$(sed -n 's/^port = //p' "$VMCTL_DATA/vmctl.conf" 2>/dev/null || true)
    log "deleting the servers (at most ${VMCTL_DELETE_SECONDS}s)"
    # A token of admin (admin:admin on a noauth cloud), see devstack/token.py.
    token=$("$VMCTL_VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/token.py" \
        "http://127.0.0.1:${port:-8774}" "$VMCTL_DATA/admin-password" || true)
    "$VMCTL_VENV/bin/python" - "http://127.0.0.1:${port:-8774}" "$VMCTL_DELETE_SECONDS" \
        "$token" <<'EOF' || log "could not delete every server; hosts.sh down destroys their domains"
import json, sys, time, urllib.error, urllib.request
url, seconds, token = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def call(method, path):
    req = urllib.request.Request(url + "/v2.1" + path, method=method,
                                 headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None
def servers():
    return call("GET", "/servers?all_tenants=1")["servers"]
deadline = time.monotonic() + seconds
asked = set()
while True:
    left = servers()
    if not left:
        sys.exit(0)
    for server in left:
        if server["id"] not in asked:
            try:
                call("DELETE", "/servers/%s" % server["id"])
                print("==> deleting server %s (%s)" % (server["name"], server["id"]),
                      file=sys.stderr)
            except urllib.error.HTTPError as exc:
                print("==> DELETE %s: HTTP %s" % (server["id"], exc.code), file=sys.stderr)
            asked.add(server["id"])
    if time.monotonic() > deadline:
        sys.exit("%d server(s) still there" % len(left))
    time.sleep(0.5)
EOF
fi

# --- 2. Stop every daemon named by a pid file -------------------------------
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

# --- 3. Wait for them to exit; SIGKILL whatever outlives the bound ----------
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

# --- 4. libvirt: take the lab hosts down (domains, daemons, namespaces) ----
if $lab_used && ! $keep_lab; then
    # shellcheck disable=SC1091
    . "$VMCTL_DATA/lab.settings"
    log "taking the lab hosts $VMCTL_LAB_PREFIX-h* down (tools/kvm-lab/hosts.sh down $LAB)"
    VMCTL_LAB_PREFIX=$VMCTL_LAB_PREFIX VMCTL_LAB_NET=$VMCTL_LAB_NET \
        VMCTL_LAB_HOSTS=$VMCTL_LAB_HOSTS "$TOP_DIR/tools/kvm-lab/hosts.sh" down "$LAB"
fi

# --- 5. Delete the RabbitMQ vhost (its queues and exchanges go with it) -----
if ! $keep_vhost && command -v rabbitmqctl >/dev/null; then
    if rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx -- "$VMCTL_RABBIT_VHOST"; then
        log "deleting RabbitMQ vhost $VMCTL_RABBIT_VHOST"
        rabbitmqctl -q delete_vhost "$VMCTL_RABBIT_VHOST"
    fi
fi

# --- 6. --clean: drop the database stack.sh created, delete devstack/data ---
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
