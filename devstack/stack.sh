#!/usr/bin/env bash
# devstack/stack.sh — bring up a complete vmctl cloud on this machine.
#
# One command, on a fresh Debian 12 machine (as root): a virtualenv with
# vmctl installed, RabbitMQ with a vhost of our own, a database, the
# daemons (API with its image service, conductor, scheduler, one compute
# agent per hypervisor host), flavors, and one server booted through the API.
#
# VMCTL_VIRT=libvirt (default): real hypervisors. Installs QEMU 10 and
# libvirt (tools/kvm-lab/install-packages.sh), builds the tiny test guest
# (guest/build.sh), brings up VMCTL_COMPUTES (2) libvirt hosts in their own
# namespaces (tools/kvm-lab/hosts.sh), runs one libvirt compute per host,
# uploads the guest through the image API and boots it until its heartbeat
# shows on the serial console.
# VMCTL_VIRT=fake: VMCTL_COMPUTES compute agents with the fake driver.
#
# Everything it makes lives in devstack/data/ (git-ignored);
# devstack/unstack.sh stops it. Running it again first stops the vmctl
# daemons of the previous run (by their pid files) — the lab hosts and their
# guests keep running — then starts afresh on the same data. See
# devstack/README.md for every step and variable.
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
VMCTL_VIRT=${VMCTL_VIRT:-libvirt}                 # libvirt | fake
VMCTL_COMPUTES=${VMCTL_COMPUTES:-2}
VMCTL_RABBIT_HOST=${VMCTL_RABBIT_HOST:-127.0.0.1}
VMCTL_RABBIT_PORT=${VMCTL_RABBIT_PORT:-5672}
VMCTL_RABBIT_VHOST=${VMCTL_RABBIT_VHOST:-vmctl-devstack}
VMCTL_GUEST_DIR=${VMCTL_GUEST_DIR:-}              # empty: $VMCTL_DATA/guest
VMCTL_WAIT_SECONDS=${VMCTL_WAIT_SECONDS:-90}
VMCTL_BOOT_SERVER=${VMCTL_BOOT_SERVER:-demo}      # empty: boot nothing
VMCTL_LIVE_MIGRATE=${VMCTL_LIVE_MIGRATE:-1}       # 1: then live-migrate it to the other host
VMCTL_AUTH=${VMCTL_AUTH:-vmctl}                   # vmctl (identity service) | noauth
# libvirt only: the lab's namespaces are <prefix>-h1, <prefix>-h2 and its
# addresses <net>.1, <net>.2 (distinct from the test lab's vmctl / 10.250.0).
VMCTL_LAB_PREFIX=${VMCTL_LAB_PREFIX:-vmctl-ds}
VMCTL_LAB_NET=${VMCTL_LAB_NET:-10.251.0}
VMCTL_GUEST_CMDLINE=${VMCTL_GUEST_CMDLINE:-console=ttyS0 quiet vmctl.dirty_mib=16 vmctl.dirty_rate=2}
if [ "$VMCTL_VIRT" = libvirt ]; then
    VMCTL_FLAVOR=${VMCTL_FLAVOR:-m1.nano}
    VMCTL_IMAGE=${VMCTL_IMAGE:-}                  # empty: the uploaded test guest
else
    VMCTL_FLAVOR=${VMCTL_FLAVOR:-m1.tiny}
    VMCTL_IMAGE=${VMCTL_IMAGE:-cirros}            # the fake driver boots any id
fi

CONF=$VMCTL_DATA/vmctl.conf
PIDS=$VMCTL_DATA/pids
LOGS=$VMCTL_DATA/logs
LAB=$VMCTL_DATA/lab          # tools/kvm-lab/hosts.sh DATADIR (bind-mounted parts: lab/hN/)
GUEST=${VMCTL_GUEST_DIR:-$VMCTL_DATA/guest}   # guest/build.sh output (a cache)
HOSTS_DIR=$VMCTL_DATA/hosts  # per compute: instances/, _base/ (outside lab/hN/)
API_URL=http://127.0.0.1:$VMCTL_API_PORT
KEYS=$VMCTL_DATA/fernet-keys             # token keys of the identity service
ADMIN_PASSWORD_FILE=$VMCTL_DATA/admin-password
SERVICE_PASSWORD_FILE=$VMCTL_DATA/service-password   # the computes' user vmctl-compute
CLOUDS_YAML=$VMCTL_DATA/clouds.yaml
STARTED=$SECONDS

log() { printf '\n==> [%ss] %s\n' "$((SECONDS - STARTED))" "$*" >&2; }
die() { printf 'stack.sh: %s\n' "$*" >&2; exit 1; }

# wait_for, port_open, apt_install, ensure_rabbitmq/mariadb/postgresql
# (shared with tools/setup-test-env.sh).
# shellcheck source=../tools/services.sh
. "$TOP_DIR/tools/services.sh"

# --- 0. Check the settings ---------------------------------------------------
case $VMCTL_DB in sqlite|mysql|postgresql) ;; *)
    die "VMCTL_DB must be sqlite, mysql or postgresql (got '$VMCTL_DB')" ;; esac
case $VMCTL_VIRT in fake|libvirt) ;; *)
    die "VMCTL_VIRT must be libvirt or fake (got '$VMCTL_VIRT')" ;; esac
case $VMCTL_AUTH in vmctl|noauth) ;; *)
    die "VMCTL_AUTH must be vmctl or noauth (got '$VMCTL_AUTH')" ;; esac
[[ $VMCTL_COMPUTES =~ ^[1-9][0-9]*$ ]] || die "VMCTL_COMPUTES must be a positive integer"
[[ $VMCTL_API_PORT =~ ^[0-9]+$ ]] || die "VMCTL_API_PORT must be a port number"
[[ $VMCTL_DB_NAME =~ ^[A-Za-z0-9_]+$ ]] || die "VMCTL_DB_NAME: letters, digits, _ only"
[[ $VMCTL_LAB_PREFIX =~ ^[A-Za-z0-9-]+$ ]] || die "VMCTL_LAB_PREFIX: letters, digits, - only"
[[ $VMCTL_LAB_NET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VMCTL_LAB_NET: three octets, e.g. 10.251.0"
if [ "$VMCTL_VIRT" = libvirt ] && [ "$(id -u)" -ne 0 ]; then
    die "VMCTL_VIRT=libvirt needs root (namespaces, libvirtd); VMCTL_VIRT=fake does not"
fi
# The database remembers which hosts ran which guests: a cloud made with one
# virt driver cannot be restarted with the other.
if [ -s "$VMCTL_DATA/virt" ] && [ "$(cat "$VMCTL_DATA/virt")" != "$VMCTL_VIRT" ]; then
    die "devstack/data was made with VMCTL_VIRT=$(cat "$VMCTL_DATA/virt"); run devstack/unstack.sh --clean first to switch to $VMCTL_VIRT"
fi
mkdir -p "$VMCTL_DATA" "$PIDS" "$LOGS" "$VMCTL_DATA/state"
printf '%s\n' "$VMCTL_VIRT" > "$VMCTL_DATA/virt"
# unstack.sh reads what to delete from here (its environment may differ).
printf 'STACKED_RABBIT_VHOST=%q\nSTACKED_DB_NAME=%q\n' \
    "$VMCTL_RABBIT_VHOST" "$VMCTL_DB_NAME" > "$VMCTL_DATA/stack.settings"

# --- 1. Stop what an earlier run started (idempotence) ----------------------
# unstack.sh stops exactly the processes our pid files name; the vhost, the
# data, the lab hosts and their guests stay, so the cloud comes back with
# its servers.
if compgen -G "$PIDS/*.pid" >/dev/null; then
    log "stopping the daemons of an earlier run"
    VMCTL_DATA=$VMCTL_DATA "$TOP_DIR/devstack/unstack.sh" --keep-vhost --keep-lab
fi
if port_open 127.0.0.1 "$VMCTL_API_PORT"; then
    die "port $VMCTL_API_PORT is taken by a process stack.sh did not start; set VMCTL_API_PORT"
fi

# --- 2. Python virtualenv with vmctl installed (editable) --------------------
if [ ! -x "$VMCTL_VENV/bin/python" ]; then
    log "creating the virtualenv $VMCTL_VENV"
    if ! "$VMCTL_PYTHON" -m venv "$VMCTL_VENV" 2>/dev/null; then
        rm -rf "$VMCTL_VENV"
        apt_install python3-venv || die "could not install python3-venv"
        "$VMCTL_PYTHON" -m venv "$VMCTL_VENV"
    fi
fi
log "installing vmctl into $VMCTL_VENV (pip install -e)"
"$VMCTL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$TOP_DIR"
BIN=$VMCTL_VENV/bin
# The `openstack` command (python-openstackclient, from PyPI) that the summary
# suggests; installed once, kept on later runs.
if [ ! -x "$BIN/openstack" ]; then
    log "installing python-openstackclient into $VMCTL_VENV"
    "$BIN/python" -m pip install --quiet --disable-pip-version-check python-openstackclient
fi

# --- 3. libvirt only: packages, the test guest, the two lab hosts -----------
if [ "$VMCTL_VIRT" = libvirt ]; then
    log "QEMU, libvirt and libvirt-python (tools/kvm-lab/install-packages.sh)"
    "$TOP_DIR/tools/kvm-lab/install-packages.sh" "$VMCTL_VENV"
    log "building the test guest into $GUEST (guest/build.sh; cached)"
    mkdir -p "$GUEST"
    # The lock tools/setup-test-env.sh and the kvm tests take: one build at a time.
    flock "$GUEST/.build.lock" "$TOP_DIR/guest/build.sh" "$GUEST" >"$LOGS/guest-build.log" 2>&1 ||
        { tail -n 20 "$LOGS/guest-build.log" >&2; die "guest/build.sh failed; see $LOGS/guest-build.log"; }
    log "lab hosts $VMCTL_LAB_PREFIX-h1..h$VMCTL_COMPUTES on $VMCTL_LAB_NET.0/24 (tools/kvm-lab/hosts.sh up $LAB)"
    # unstack.sh needs the same settings to take this lab down.
    cat > "$VMCTL_DATA/lab.settings" <<EOF
VMCTL_LAB_PREFIX='$VMCTL_LAB_PREFIX'
VMCTL_LAB_NET='$VMCTL_LAB_NET'
VMCTL_LAB_HOSTS='$VMCTL_COMPUTES'
EOF
    VMCTL_LAB_PREFIX=$VMCTL_LAB_PREFIX VMCTL_LAB_NET=$VMCTL_LAB_NET \
        VMCTL_LAB_HOSTS=$VMCTL_COMPUTES "$TOP_DIR/tools/kvm-lab/hosts.sh" up "$LAB"
    # shellcheck disable=SC1091
    . "$LAB/lab.env"
fi

# --- 4. RabbitMQ: the running broker, or install and start one --------------
ensure_rabbitmq "$VMCTL_RABBIT_HOST" "$VMCTL_RABBIT_PORT" "$VMCTL_WAIT_SECONDS" ||
    die "no RabbitMQ at $VMCTL_RABBIT_HOST:$VMCTL_RABBIT_PORT"
# Our own vhost keeps devstack's queues apart from anything else on the broker.
log "RabbitMQ vhost $VMCTL_RABBIT_VHOST (user guest)"
wait_for "rabbitmqctl" "$VMCTL_WAIT_SECONDS" rabbitmqctl -q await_startup || die "RabbitMQ is not ready"
if ! rabbitmqctl -q list_vhosts | grep -qx -- "$VMCTL_RABBIT_VHOST"; then
    rabbitmqctl -q add_vhost "$VMCTL_RABBIT_VHOST"
fi
rabbitmqctl -q set_permissions -p "$VMCTL_RABBIT_VHOST" guest '.*' '.*' '.*'
TRANSPORT_URL="rabbit://guest:guest@$VMCTL_RABBIT_HOST:$VMCTL_RABBIT_PORT/$VMCTL_RABBIT_VHOST"

# --- 5. Database: SQLite file, or a MariaDB / PostgreSQL database -----------
case $VMCTL_DB in
sqlite)
    DB_URL=${VMCTL_DB_URL:-sqlite:///$VMCTL_DATA/vmctl.sqlite}
    ;;
mysql)
    ensure_mariadb "$VMCTL_WAIT_SECONDS" || die "MariaDB is not running"
    # root over the unix socket (Debian's MariaDB authenticates root by uid).
    socket=$(mysql --user=root -N -B -e 'SELECT @@socket')
    DB_URL=${VMCTL_DB_URL:-mysql+pymysql://root@localhost/$VMCTL_DB_NAME?unix_socket=$socket}
    log "MariaDB database $VMCTL_DB_NAME"
    mysql --user=root -e "CREATE DATABASE IF NOT EXISTS \`$VMCTL_DB_NAME\` CHARACTER SET utf8mb4"
    ;;
postgresql)
    ensure_postgresql "$VMCTL_WAIT_SECONDS" || die "PostgreSQL is not running"
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

# --- 6. Configuration files --------------------------------------------------
# One file shared by every daemon here; one per compute after step 7, when
# the computes' service user exists.
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
auth_strategy = $VMCTL_AUTH

[identity]
# Token keys; rotate with: vmctl-manage --config-file $CONF fernet rotate
key_repository = $KEYS
# Catalog, identity links and WWW-Authenticate (never the request's Host).
public_endpoint = $API_URL

[database]
connection = $DB_URL

[compute]
compute_driver = $VMCTL_VIRT
resource_report_interval = 10

[image]
# The image service vmctl-api serves (computes download images from it).
api_url = $API_URL/image
EOF
# --- 7. Database schema ------------------------------------------------------
log "vmctl-manage db sync"
"$BIN/vmctl-manage" --config-file "$CONF" db sync

# --- 7b. Identity: token keys, the admin user and project, clouds.yaml -------
# The admin password is made once, kept in a 0600 file, and given to
# bootstrap through the environment (never on a command line). Both steps
# are idempotent: a second run finds the keys, roles, user and project.
if [ "$VMCTL_AUTH" = vmctl ]; then
    log "identity: fernet keys in $KEYS, user admin on project admin"
    "$BIN/vmctl-manage" --config-file "$CONF" fernet setup
    if [ ! -s "$ADMIN_PASSWORD_FILE" ]; then
        (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))' \
            > "$ADMIN_PASSWORD_FILE")
    fi
    chmod 600 "$ADMIN_PASSWORD_FILE"
    VMCTL_BOOTSTRAP_PASSWORD=$(cat "$ADMIN_PASSWORD_FILE") \
        "$BIN/vmctl-manage" --config-file "$CONF" bootstrap --username admin \
        --project admin --password-env VMCTL_BOOTSTRAP_PASSWORD
    # The computes' own user (role service on project "service", not admin:
    # it reads images by id and nothing else): they fetch images with its
    # tokens. Its password lives in their 0600 config files.
    if [ ! -s "$SERVICE_PASSWORD_FILE" ]; then
        (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))' \
            > "$SERVICE_PASSWORD_FILE")
    fi
    VMCTL_BOOTSTRAP_PASSWORD=$(cat "$SERVICE_PASSWORD_FILE") \
        "$BIN/vmctl-manage" --config-file "$CONF" bootstrap --username vmctl-compute \
        --project service --role service --password-env VMCTL_BOOTSTRAP_PASSWORD
    (umask 077; cat > "$CLOUDS_YAML" <<EOF
# Written by devstack/stack.sh: OS_CLOUD=vmctl OS_CLIENT_CONFIG_FILE=$CLOUDS_YAML
clouds:
  vmctl:
    auth:
      auth_url: $API_URL/identity/v3
      username: admin
      password: "$(cat "$ADMIN_PASSWORD_FILE")"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: public
EOF
    )
    export OS_CLOUD=vmctl OS_CLIENT_CONFIG_FILE=$CLOUDS_YAML
    unset VMCTL_URL VMCTL_TOKEN
else
    rm -f "$ADMIN_PASSWORD_FILE" "$SERVICE_PASSWORD_FILE" "$CLOUDS_YAML"
    export VMCTL_URL=$API_URL VMCTL_TOKEN=admin:admin
fi
# --- 7b. One configuration file per compute -----------------------------------
# Built by vmctl-manage compute-conf (vmctl/deploy/compute_conf.py), the
# code the kvm test fixture builds its computes' files with: the tests run
# computes configured as these. Mode 0600 (the service user's password);
# the password is read from its file, never put on a command line.
rm -f "$VMCTL_DATA"/compute*.conf
for n in $(seq "$VMCTL_COMPUTES"); do
    args=(--output "$VMCTL_DATA/compute$n.conf" --host "compute$n"
          --header "Written by devstack/stack.sh: the compute agent of host compute$n.")
    if [ "$VMCTL_VIRT" = libvirt ]; then
        # Lab host h$n's libvirtd, reached from the root namespace through its
        # socket; TCG (/dev/kvm here runs only PVM guest kernels, see
        # doc/kvm-lab.md); the agents offer disks to each other on loopback
        # (the lab's addresses exist only inside its namespaces). Instances
        # outside $LAB/h$n/ (bind-mounted inside the host), so the agent
        # and the host's libvirtd see them at the same path.
        mkdir -p "$HOSTS_DIR/compute$n/instances" "$HOSTS_DIR/compute$n/_base"
        args+=(--lab-env "$LAB/lab.env" --lab-host "$n" --host-dir "$HOSTS_DIR/compute$n")
    fi
    if [ "$VMCTL_AUTH" = vmctl ]; then
        args+=(--service-auth-url "$API_URL/identity/v3" --service-username vmctl-compute
               --service-project service --service-password-file "$SERVICE_PASSWORD_FILE")
    fi
    "$BIN/vmctl-manage" compute-conf "${args[@]}" >/dev/null
done

# admin_token: a token of admin (noauth: admin:admin); fails while the API is down.
admin_token() { "$BIN/python" "$TOP_DIR/devstack/token.py" "$API_URL" "$ADMIN_PASSWORD_FILE"; }

# --- 8. Start the daemons in the background ---------------------------------
# (the control services, then step 9 waits for them, then the computes)
# start NAME PROGRAM ARGS...: run detached (own session: closing the terminal
# does not stop it), output to logs/NAME.log, pid to pids/NAME.pid.
start() {
    local name=$1
    shift
    log "starting $name (log: $LOGS/$name.log)"
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! > "$PIDS/$name.pid"
}

# --- 9. Wait until every service is up --------------------------------------
# up COMPUTES: every started daemon is alive, and os-services lists the API,
# conductor, scheduler and the first COMPUTES computes as "up", each of those
# computes with its hypervisor reported. Exit code 2: a daemon died.
up() {
    local pidfile
    for pidfile in "$PIDS"/*.pid; do
        kill -0 "$(cat "$pidfile")" 2>/dev/null || {
            echo "$(basename "$pidfile" .pid) exited; see its log" >&2; return 2; }
    done
    local token
    token=$(admin_token) || return 1
    "$BIN/python" - "$API_URL" "$1" "$token" <<'EOF'
import json, sys, urllib.request
url, computes, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def get(path):
    req = urllib.request.Request(url + "/v2.1" + path, headers={
        "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.53"})
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
# Every API call below uses this token (valid for an hour).
VMCTL_ADMIN_TOKEN=$(admin_token)
export VMCTL_ADMIN_TOKEN
for n in $(seq "$VMCTL_COMPUTES"); do
    start "vmctl-compute-compute$n" "$BIN/vmctl-compute" \
        --config-file "$CONF" --config-file "$VMCTL_DATA/compute$n.conf"
done
log "waiting (at most ${VMCTL_WAIT_SECONDS}s) for $VMCTL_COMPUTES $VMCTL_VIRT computes"
wait_up "$VMCTL_COMPUTES"
"$BIN/vmctl" service list

# --- 10. Flavors -------------------------------------------------------------
log "flavors m1.nano, m1.tiny, m1.small, m1.medium"
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.nano \
    --vcpus 1 --ram 128 --disk 1 --id 42 --if-missing
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.tiny \
    --vcpus 1 --ram 512 --disk 1 --id 1 --if-missing
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.small \
    --vcpus 1 --ram 2048 --disk 20 --id 2 --if-missing
"$BIN/vmctl-manage" --config-file "$CONF" flavor create m1.medium \
    --vcpus 2 --ram 4096 --disk 40 --id 3 --if-missing

# --- 11. libvirt only: the test guest in the image service -------------------
# Three public images: the kernel (aki), the initramfs (ari) and the qcow2
# disk naming both, with the kernel command line. Kept when an image of that
# name already holds the same bytes (sha256) and properties; replaced if not.
if [ "$VMCTL_VIRT" = libvirt ]; then
    log "uploading the test guest to the image service ($API_URL/image)"
    GUEST_IMAGE=$("$BIN/python" - "$API_URL/image" "$GUEST" "$VMCTL_GUEST_CMDLINE" <<'EOF'
import hashlib, json, os, sys, urllib.error, urllib.request
base, guest, cmdline = sys.argv[1:4]
TOKEN = {"X-Auth-Token": os.environ["VMCTL_ADMIN_TOKEN"]}

def call(method, path, body=None, headers=None, data=None):
    hdrs = dict(TOKEN, **(headers or {}))
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        sys.exit("%s %s: HTTP %s %s" % (method, path, exc.code, exc.read()[:300]))
    return json.loads(raw) if raw else None

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

def ensure(name, filename, disk_format, container_format, props):
    path = os.path.join(guest, filename)
    want = sha256(path)
    found = call("GET", "/v2/images?name=%s" % name)["images"]
    for image in found:
        if (image["status"] == "active" and image.get("os_hash_value") == want
                and all(image.get(k) == v for k, v in props.items())):
            print("  %-20s %s (kept)" % (name, image["id"]), file=sys.stderr)
            return image["id"]
    for image in found:
        call("DELETE", "/v2/images/%s" % image["id"])
    image = call("POST", "/v2/images", dict(
        props, name=name, disk_format=disk_format, container_format=container_format,
        visibility="public"))
    with open(path, "rb") as f:
        call("PUT", "/v2/images/%s/file" % image["id"], data=f, headers={
            "Content-Type": "application/octet-stream",
            "Content-Length": str(os.path.getsize(path))})
    print("  %-20s %s (uploaded %s)" % (name, image["id"], filename), file=sys.stderr)
    return image["id"]

kernel = ensure("vmctl-guest-kernel", "vmlinuz", "aki", "aki", {})
ramdisk = ensure("vmctl-guest-initrd", "initrd.img", "ari", "ari", {})
print(ensure("vmctl-guest", "disk.qcow2", "qcow2", "bare", {
    "kernel_id": kernel, "ramdisk_id": ramdisk, "os_command_line": cmdline}))
EOF
)
    VMCTL_IMAGE=${VMCTL_IMAGE:-$GUEST_IMAGE}
fi

# --- 12. Boot one server, wait for its heartbeat, live-migrate it ---------
# wait_for_heartbeat WHERE: a heartbeat of $SERVER_ID newer than the first
# console reading ("HB <seq> <uptime_ms>", every 200 ms): the guest runs.
wait_for_heartbeat() {
    log "waiting (at most ${VMCTL_WAIT_SECONDS}s) for the heartbeat of $VMCTL_BOOT_SERVER $1"
    "$BIN/python" - "$API_URL" "$SERVER_ID" "$VMCTL_WAIT_SECONDS" <<'EOF'
import json, os, sys, time, urllib.error, urllib.request
url, server, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
def last_hb():
    req = urllib.request.Request(
        "%s/v2.1/servers/%s/action" % (url, server), method="POST",
        data=json.dumps({"os-getConsoleOutput": {"length": 20}}).encode(),
        headers={"X-Auth-Token": os.environ["VMCTL_ADMIN_TOKEN"],
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            output = json.load(resp)["output"]
    except urllib.error.HTTPError as exc:
        return None, "(console: HTTP %s %s)" % (exc.code, exc.read()[:300])
    seqs = [int(l.split()[1]) for l in output.replace("\r", "").splitlines()
            if l.startswith("HB ") and len(l.split()) == 3 and l.split()[1].isdigit()]
    return (seqs[-1] if seqs else None), output
start = time.monotonic()
first, output = last_hb()
while time.monotonic() - start < seconds:
    seq, output = last_hb()
    if seq is not None and (first is None or seq > first):
        print("  heartbeat HB %d after %.1fs" % (seq, time.monotonic() - start), file=sys.stderr)
        sys.exit(0)
    time.sleep(0.5)
sys.exit("no heartbeat from server %s within %ss; console tail:\n%s"
         % (server, seconds, output[-2000:]))
EOF
}

SERVER_ID=
if [ -n "$VMCTL_BOOT_SERVER" ]; then
    # Through the API with the admin token (the vmctl CLI's output is for
    # people; scripts here talk HTTP).
    SERVER_ID=$("$BIN/python" - "$API_URL" "$VMCTL_BOOT_SERVER" "$VMCTL_FLAVOR" "$VMCTL_IMAGE" \
        "$VMCTL_WAIT_SECONDS" <<'EOF'
import json, os, sys, time, urllib.error, urllib.request
url, name, flavor, image, seconds = sys.argv[1:6]
HEADERS = {"X-Auth-Token": os.environ["VMCTL_ADMIN_TOKEN"],
           "OpenStack-API-Version": "compute 2.88", "Content-Type": "application/json"}

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + "/v2.1" + path, data=data, method=method,
                                 headers=HEADERS)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        sys.exit("%s %s: HTTP %s %s" % (method, path, exc.code, exc.read()[:300]))

active = [s["id"] for s in call("GET", "/servers/detail")["servers"]
          if s["name"] == name and s["status"] == "ACTIVE"]
if active:
    print("==> server %s is already ACTIVE (%s)" % (name, active[0]), file=sys.stderr)
    print(active[0])
    sys.exit(0)
flavors = call("GET", "/flavors")["flavors"]
flavor_id = next((f["id"] for f in flavors if flavor in (f["id"], f["name"])), flavor)
print("==> booting server %s (flavor %s, image %s)" % (name, flavor, image), file=sys.stderr)
server = call("POST", "/servers", {"server": {"name": name, "flavorRef": flavor_id,
                                              "imageRef": image}})["server"]
deadline = time.monotonic() + float(seconds)
while True:
    shown = call("GET", "/servers/%s" % server["id"])["server"]
    if shown["status"] == "ACTIVE" and not shown.get("OS-EXT-STS:task_state"):
        print(server["id"])
        sys.exit(0)
    if shown["status"] == "ERROR" or time.monotonic() > deadline:
        sys.exit("server %s is %s: %s" % (server["id"], shown["status"], shown.get("fault")))
    time.sleep(1)
EOF
)
    if [ "$VMCTL_VIRT" = libvirt ]; then
        wait_for_heartbeat "on its serial console"
    fi
    if [ "$VMCTL_LIVE_MIGRATE" = 1 ]; then
        # What vmctl is for: move the running guest to the other host. The
        # CLI shows the progress and the convergence policy's decisions.
        log "live-migrating $VMCTL_BOOT_SERVER to the other host"
        "$BIN/vmctl" server live-migrate "$SERVER_ID" --wait --timeout "$VMCTL_WAIT_SECONDS"
        if [ "$VMCTL_VIRT" = libvirt ]; then
            wait_for_heartbeat "on the destination"
        fi
    fi
    "$BIN/vmctl" server list
fi

# --- 13. Summary -------------------------------------------------------------
if [ "$VMCTL_VIRT" = libvirt ]; then
    what="$VMCTL_COMPUTES libvirt compute hosts (QEMU/TCG, lab $VMCTL_LAB_PREFIX-h*)"
else
    what="$VMCTL_COMPUTES fake compute hosts"
fi
cat <<EOF

vmctl is running ($what, database: $VMCTL_DB) — took $((SECONDS - STARTED))s.

  API        $API_URL/v2.1   (auth_strategy $VMCTL_AUTH)
  images     $API_URL/image/v2/images
EOF
if [ "$VMCTL_AUTH" = vmctl ]; then
    cat <<EOF
  identity   $API_URL/identity/v3   (user admin, project admin, domain Default)
  password   $ADMIN_PASSWORD_FILE   (0600)
  clouds     $CLOUDS_YAML   (cloud "vmctl")
EOF
fi
cat <<EOF
  config     $CONF (+ compute<N>.conf)
  logs       $LOGS/
  pid files  $PIDS/
EOF
if [ "$VMCTL_VIRT" = libvirt ]; then
    cat <<EOF
  guest      image $VMCTL_IMAGE (vmctl-guest: kernel + initramfs + qcow2), flavor $VMCTL_FLAVOR
EOF
    for n in $(seq "$VMCTL_COMPUTES"); do
        v=VMCTL_LAB_H${n}_URI
        printf '  compute%s   lab host %s-h%s, %s\n' "$n" "$VMCTL_LAB_PREFIX" "$n" "${!v}"
    done
    cat <<EOF
  guests     $HOSTS_DIR/compute<N>/instances/<server id>/{disk,console.log}
  QEMU logs  $LAB/h<N>/var/log/libvirt/qemu/instance-<server id>.log
EOF
fi
cat <<EOF

Try:
EOF
if [ "$VMCTL_AUTH" = vmctl ]; then
    cat <<EOF
  export PATH=$BIN:\$PATH OS_CLOUD=vmctl OS_CLIENT_CONFIG_FILE=$CLOUDS_YAML
  openstack server list
  TOKEN=\$(devstack/token.py $API_URL $ADMIN_PASSWORD_FILE)   # an admin token, for curl
EOF
else
    cat <<EOF
  export PATH=$BIN:\$PATH VMCTL_URL=$API_URL VMCTL_TOKEN=admin:admin
  TOKEN=admin:admin
EOF
fi
cat <<EOF
  vmctl server list
  vmctl server create vm1 --flavor $VMCTL_FLAVOR --image $VMCTL_IMAGE --wait
  vmctl host list
  curl -s -H "X-Auth-Token: \$TOKEN" -H 'OpenStack-API-Version: compute 2.88' \\
       $API_URL/v2.1/servers/detail
EOF
if [ "$VMCTL_VIRT" = libvirt ]; then
    cat <<EOF
  # the guest's serial console (heartbeat "HB <seq> <uptime_ms>" every 200 ms):
  curl -s -H "X-Auth-Token: \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"os-getConsoleOutput": {"length": 10}}' $API_URL/v2.1/servers/${SERVER_ID:-<id>}/action
  virsh -c '$VMCTL_LAB_H1_URI' list --all
EOF
fi
cat <<EOF

Stop it:   devstack/unstack.sh          (add --clean to delete devstack/data)
EOF
