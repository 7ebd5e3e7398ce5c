#!/usr/bin/env bash
# devstack/stack.sh — bring up a complete vmctl cloud on this machine.
#
# One command, on a fresh Debian 12 machine (as root, or a user that may run
# apt-get and rabbitmqctl): a virtualenv with vmctl installed, RabbitMQ with
# a vhost of our own, a database, the four daemons (API, conductor,
# scheduler, VMCTL_COMPUTES fake computes), three flavors, and one server
# booted through the API. Everything it makes lives in devstack/data/
# (git-ignored); devstack/unstack.sh stops it. Running it again first stops
# what the previous run started (by its pid files), then starts afresh on
# the same data. See devstack/README.md for every step and variable.
set -euo pipefail

# --- Settings (each can be set in the environment) ---------------------------
TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMCTL_DATA=${VMCTL_DATA:-$TOP_DIR/devstack/data}
VMCTL_VENV=${VMCTL_VENV:-$VMCTL_DATA/venv}
VMCTL_PYTHON=${VMCTL_PYTHON:-python3}
VMCTL_DB=${VMCTL_DB:-sqlite}                      # sqlite | mysql | postgresql
VMCTL_DB_NAME=${VMCTL_DB_NAME:-vmctl}
VMCTL_DB_URL=${VMCTL_DB_URL:-}                    # overrides VMCTL_DB's URL
VMCTL_API_PORT=${VMCTL_API_PORT:-8774}
VMCTL_COMPUTES=${VMCTL_COMPUTES:-2}
VMCTL_VIRT=${VMCTL_VIRT:-fake}                    # only "fake" for now
VMCTL_RABBIT_HOST=${VMCTL_RABBIT_HOST:-127.0.0.1}
VMCTL_RABBIT_PORT=${VMCTL_RABBIT_PORT:-5672}
VMCTL_RABBIT_VHOST=${VMCTL_RABBIT_VHOST:-vmctl-devstack}
VMCTL_WAIT_SECONDS=${VMCTL_WAIT_SECONDS:-90}
VMCTL_BOOT_SERVER=${VMCTL_BOOT_SERVER:-demo}      # empty: boot nothing
VMCTL_IMAGE=${VMCTL_IMAGE:-cirros}                # no image service yet: any id

CONF=$VMCTL_DATA/vmctl.conf
PIDS=$VMCTL_DATA/pids
LOGS=$VMCTL_DATA/logs
API_URL=http://127.0.0.1:$VMCTL_API_PORT

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'stack.sh: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: retry COMMAND once a second.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq "$seconds"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "$what did not come up within ${seconds}s"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# apt_install PACKAGE...: install Debian packages (needs root).
apt_install() {
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# --- 0. Check the settings ---------------------------------------------------
case $VMCTL_DB in sqlite|mysql|postgresql) ;; *)
    die "VMCTL_DB must be sqlite, mysql or postgresql (got '$VMCTL_DB')" ;; esac
case $VMCTL_VIRT in fake) ;; *)
    die "VMCTL_VIRT=$VMCTL_VIRT: only the fake virt driver exists for now" ;; esac
[[ $VMCTL_COMPUTES =~ ^[1-9][0-9]*$ ]] || die "VMCTL_COMPUTES must be a positive integer"
[[ $VMCTL_API_PORT =~ ^[0-9]+$ ]] || die "VMCTL_API_PORT must be a port number"
[[ $VMCTL_DB_NAME =~ ^[A-Za-z0-9_]+$ ]] || die "VMCTL_DB_NAME: letters, digits, _ only"
mkdir -p "$VMCTL_DATA" "$PIDS" "$LOGS" "$VMCTL_DATA/state"

# --- 1. Stop what an earlier run started (idempotence) ----------------------
# unstack.sh stops exactly the processes our pid files name; the vhost and
# the data stay, so the cloud comes back with its servers.
if compgen -G "$PIDS/*.pid" >/dev/null; then
    log "stopping the daemons of an earlier run"
    VMCTL_DATA=$VMCTL_DATA "$TOP_DIR/devstack/unstack.sh" --keep-vhost
fi
if port_open 127.0.0.1 "$VMCTL_API_PORT"; then
    die "port $VMCTL_API_PORT is taken by a process stack.sh did not start; set VMCTL_API_PORT"
fi

# --- 2. Python virtualenv with vmctl installed (editable) --------------------
if [ ! -x "$VMCTL_VENV/bin/python" ]; then
    log "creating the virtualenv $VMCTL_VENV"
    if ! "$VMCTL_PYTHON" -m venv "$VMCTL_VENV" 2>/dev/null; then
        rm -rf "$VMCTL_VENV"
        apt_install python3-venv
        "$VMCTL_PYTHON" -m venv "$VMCTL_VENV"
    fi
fi
log "installing vmctl into $VMCTL_VENV (pip install -e)"
"$VMCTL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$TOP_DIR"
BIN=$VMCTL_VENV/bin

# --- 3. RabbitMQ: the running broker, or install and start one --------------
if ! port_open "$VMCTL_RABBIT_HOST" "$VMCTL_RABBIT_PORT"; then
    if ! command -v rabbitmq-server >/dev/null; then
        log "installing RabbitMQ"
        apt_install rabbitmq-server
    fi
    if ! port_open "$VMCTL_RABBIT_HOST" "$VMCTL_RABBIT_PORT"; then
        log "starting RabbitMQ"
        rabbitmq-server -detached
        wait_for RabbitMQ "$VMCTL_WAIT_SECONDS" port_open "$VMCTL_RABBIT_HOST" "$VMCTL_RABBIT_PORT"
    fi
fi
# Our own vhost keeps devstack's queues apart from anything else on the broker.
log "RabbitMQ vhost $VMCTL_RABBIT_VHOST (user guest)"
wait_for "rabbitmqctl" "$VMCTL_WAIT_SECONDS" rabbitmqctl -q await_startup
if ! rabbitmqctl -q list_vhosts | grep -qx -- "$VMCTL_RABBIT_VHOST"; then
    rabbitmqctl -q add_vhost "$VMCTL_RABBIT_VHOST"
fi
rabbitmqctl -q set_permissions -p "$VMCTL_RABBIT_VHOST" guest '.*' '.*' '.*'
TRANSPORT_URL="rabbit://guest:guest@$VMCTL_RABBIT_HOST:$VMCTL_RABBIT_PORT/$VMCTL_RABBIT_VHOST"

# --- 4. Database: SQLite file, or a MariaDB / PostgreSQL database -----------
ensure_mariadb() {
    command -v mariadbd >/dev/null || command -v mysqld >/dev/null || {
        log "installing MariaDB"; apt_install mariadb-server; }
    mysqladmin --user=root ping >/dev/null 2>&1 && return 0
    log "starting MariaDB"
    install -d -o mysql -g mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec "$(command -v mariadbd || command -v mysqld)"
    wait_for MariaDB "$VMCTL_WAIT_SECONDS" mysqladmin --user=root ping
}
ensure_postgresql() {
    command -v pg_ctlcluster >/dev/null || { log "installing PostgreSQL"; apt_install postgresql; }
    pg_isready --quiet --host=127.0.0.1 --port=5432 && return 0
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    wait_for PostgreSQL "$VMCTL_WAIT_SECONDS" pg_isready --quiet --host=127.0.0.1 --port=5432
}
case $VMCTL_DB in
sqlite)
    DB_URL=${VMCTL_DB_URL:-sqlite:///$VMCTL_DATA/vmctl.sqlite}
    ;;
mysql)
    ensure_mariadb
    # root over the unix socket (Debian's MariaDB authenticates root by uid).
    socket=$(mysql --user=root -N -B -e 'SELECT @@socket')
    DB_URL=${VMCTL_DB_URL:-mysql+pymysql://root@localhost/$VMCTL_DB_NAME?unix_socket=$socket}
    log "MariaDB database $VMCTL_DB_NAME"
    mysql --user=root -e "CREATE DATABASE IF NOT EXISTS \`$VMCTL_DB_NAME\` CHARACTER SET utf8mb4"
    ;;
postgresql)
    ensure_postgresql
    DB_URL=${VMCTL_DB_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/$VMCTL_DB_NAME}
    log "PostgreSQL database $VMCTL_DB_NAME"
    # Created as the postgres superuser over the local socket (peer auth).
    exists=$(runuser -u postgres -- psql -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$VMCTL_DB_NAME'")
    if [ "$exists" != 1 ]; then
        runuser -u postgres -- createdb "$VMCTL_DB_NAME"
    fi
    ;;
esac
# unstack.sh --clean drops this database again.
printf '%s\n' "$VMCTL_DB" > "$VMCTL_DATA/database"

# --- 5. Configuration files --------------------------------------------------
# One file shared by every daemon, plus one per compute naming its host.
log "writing $CONF"
cat > "$CONF" <<EOF
# Written by devstack/stack.sh; rewritten on every run.
[DEFAULT]
transport_url = $TRANSPORT_URL
state_path = $VMCTL_DATA/state
report_interval = 5
service_down_time = 30
graceful_shutdown_timeout = 10

[api]
listen = 127.0.0.1
port = $VMCTL_API_PORT
auth_strategy = noauth

[database]
connection = $DB_URL

[compute]
compute_driver = $VMCTL_VIRT
resource_report_interval = 10
EOF
rm -f "$VMCTL_DATA"/compute*.conf
for n in $(seq "$VMCTL_COMPUTES"); do
    cat > "$VMCTL_DATA/compute$n.conf" <<EOF
# Written by devstack/stack.sh: the compute agent of host compute$n.
[DEFAULT]
host = compute$n
EOF
done

# --- 6. Database schema ------------------------------------------------------
log "vmctl-manage db sync"
"$BIN/vmctl-manage" --config-file "$CONF" db sync

# --- 7. Start the daemons in the background ---------------------------------
# (the control services, then step 8 waits for them, then the computes)
# start NAME PROGRAM ARGS...: run detached (own session: closing the terminal
# does not stop it), output to logs/NAME.log, pid to pids/NAME.pid.
start() {
    local name=$1
    shift
    log "starting $name (log: $LOGS/$name.log)"
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! > "$PIDS/$name.pid"
}

# --- 8. Wait until every service is up --------------------------------------
export VMCTL_URL=$API_URL VMCTL_TOKEN=admin:admin
# up COMPUTES: every started daemon is alive, and os-services lists the API,
# conductor, scheduler and the first COMPUTES computes as "up", each of those
# computes with its hypervisor reported. Exit code 2: a daemon died.
up() {
    local pidfile
    for pidfile in "$PIDS"/*.pid; do
        kill -0 "$(cat "$pidfile")" 2>/dev/null || {
            echo "$(basename "$pidfile" .pid) exited; see its log" >&2; return 2; }
    done
    "$BIN/python" - "$API_URL" "$1" <<'EOF'
import json, sys, urllib.request
url, computes = sys.argv[1], int(sys.argv[2])
def get(path):
    req = urllib.request.Request(url + "/v2.1" + path, headers={
        "X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.53"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)
up = {(s["binary"], s["host"]) for s in get("/os-services")["services"] if s["state"] == "up"}
binaries = {b for b, _ in up}
hosts = {h for b, h in up if b == "vmctl-compute"}
nodes = {h["hypervisor_hostname"] for h in get("/os-hypervisors")["hypervisors"]
         if h["state"] == "up"}
wanted = {"compute%d" % n for n in range(1, computes + 1)}
control = {"vmctl-api", "vmctl-conductor", "vmctl-scheduler"} <= binaries
sys.exit(0 if control and wanted <= hosts and wanted <= nodes else 1)
EOF
}
# wait_up COMPUTES: poll up() once a second, at most VMCTL_WAIT_SECONDS.
wait_up() {
    local deadline=$((SECONDS + VMCTL_WAIT_SECONDS)) rc
    while true; do
        rc=0
        up "$1" 2>"$VMCTL_DATA/wait.err" || rc=$?
        [ "$rc" -eq 0 ] && break
        if [ "$rc" -eq 2 ] || [ "$SECONDS" -ge "$deadline" ]; then
            cat "$VMCTL_DATA/wait.err" >&2
            die "services did not come up within ${VMCTL_WAIT_SECONDS}s; logs are in $LOGS"
        fi
        sleep 1
    done
    rm -f "$VMCTL_DATA/wait.err"
}

# The control services first: a compute asks the conductor for its
# instances as it starts, and that call must find a conductor listening.
start vmctl-api "$BIN/vmctl-api" --config-file "$CONF"
start vmctl-conductor "$BIN/vmctl-conductor" --config-file "$CONF"
start vmctl-scheduler "$BIN/vmctl-scheduler" --config-file "$CONF"
log "waiting (at most ${VMCTL_WAIT_SECONDS}s) for the API, conductor and scheduler"
wait_up 0
for n in $(seq "$VMCTL_COMPUTES"); do
    start "vmctl-compute-compute$n" "$BIN/vmctl-compute" \
        --config-file "$CONF" --config-file "$VMCTL_DATA/compute$n.conf"
done
log "waiting (at most ${VMCTL_WAIT_SECONDS}s) for $VMCTL_COMPUTES computes"
wait_up "$VMCTL_COMPUTES"
"$BIN/vmctl" service list

# --- 9. Flavors --------------------------------------------------------------
log "flavors m1.tiny, m1.small, m1.medium"
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.tiny \
    --vcpus 1 --ram 512 --disk 1 --id 1 --if-missing
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.small \
    --vcpus 1 --ram 2048 --disk 20 --id 2 --if-missing
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.medium \
    --vcpus 2 --ram 4096 --disk 40 --id 3 --if-missing

# --- 10. Boot one server through the API, wait for ACTIVE -------------------
if [ -n "$VMCTL_BOOT_SERVER" ]; then
    existing=$("$BIN/vmctl" server list --json | "$BIN/python" -c '
import json, sys
name = sys.argv[1]
ids = [s["id"] for s in json.load(sys.stdin)["servers"]
       if s["name"] == name and s["status"] == "ACTIVE"]
print(ids[0] if ids else "")' "$VMCTL_BOOT_SERVER")
    if [ -n "$existing" ]; then
        log "server $VMCTL_BOOT_SERVER is already ACTIVE ($existing)"
    else
        log "booting server $VMCTL_BOOT_SERVER (m1.tiny, image $VMCTL_IMAGE)"
        "$BIN/vmctl" server create "$VMCTL_BOOT_SERVER" --flavor m1.tiny \
            --image "$VMCTL_IMAGE" --wait --timeout "$VMCTL_WAIT_SECONDS" >/dev/null
    fi
    "$BIN/vmctl" server list
fi

# --- 11. Summary -------------------------------------------------------------
cat <<EOF

vmctl is running ($VMCTL_COMPUTES fake compute hosts, database: $VMCTL_DB).

  API        $API_URL/v2.1   (noauth: X-Auth-Token user:project)
  config     $CONF (+ compute<N>.conf)
  logs       $LOGS/
  pid files  $PIDS/

Try:
  curl -s -H 'X-Auth-Token: admin:admin' -H 'OpenStack-API-Version: compute 2.88' \\
       $API_URL/v2.1/servers/detail
  export PATH=$BIN:\$PATH VMCTL_URL=$API_URL
  vmctl server list
  vmctl server create vm1 --flavor m1.small --image cirros --wait
  vmctl hypervisor list

Stop it:   devstack/unstack.sh          (add --clean to delete devstack/data)
EOF
