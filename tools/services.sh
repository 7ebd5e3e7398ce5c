# tools/services.sh — sourced (not run) by devstack/stack.sh and
# tools/setup-test-env.sh: install (Debian packages), start and wait for the
# system services vmctl uses — RabbitMQ, MariaDB, PostgreSQL — idempotently:
# a service that answers is left alone. A function that fails says why on
# stderr and returns non-zero; the caller decides whether that is fatal.

svc_log() { printf '==> %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for DESCRIPTION SECONDS COMMAND...: retry COMMAND once a second.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq "$seconds"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    svc_log "$what did not come up within ${seconds}s"
    return 1
}

# apt_install PACKAGE...: install Debian packages (needs root; the package
# lists are updated once per script: a fresh machine may have none).
VMCTL_APT_UPDATED=${VMCTL_APT_UPDATED:-0}
apt_install() {
    [ "$(id -u)" -eq 0 ] || { svc_log "need root to apt-get install $*"; return 1; }
    svc_log "installing $*"
    if [ "$VMCTL_APT_UPDATED" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || return 1
        VMCTL_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

# ensure_rabbitmq HOST PORT SECONDS: a broker answering at HOST:PORT, and
# rabbitmqctl (vhosts are made with it).
ensure_rabbitmq() {
    local host=$1 port=$2 seconds=$3
    command -v rabbitmqctl >/dev/null || apt_install rabbitmq-server || return 1
    port_open "$host" "$port" && return 0
    port_open "$host" "$port" && return 0      # the package started it
    svc_log "starting RabbitMQ"
    rabbitmq-server -detached
    wait_for RabbitMQ "$seconds" port_open "$host" "$port"
}

# ensure_mariadb SECONDS: MariaDB answering root over its unix socket.
ensure_mariadb() {
    local seconds=$1
    command -v mariadbd >/dev/null || command -v mysqld >/dev/null ||
        apt_install mariadb-server || return 1
    mysqladmin --user=root ping >/dev/null 2>&1 && return 0
    svc_log "starting MariaDB"
    install -d -o mysql -g mysql /run/mysqld
    start-stop-daemon --start --oknodo --background \
        --exec "$(command -v mariadbd || command -v mysqld)"
    wait_for MariaDB "$seconds" mysqladmin --user=root ping
}

# ensure_postgresql SECONDS: the newest PostgreSQL cluster on 127.0.0.1:5432.
ensure_postgresql() {
    local seconds=$1
    command -v pg_ctlcluster >/dev/null || apt_install postgresql || return 1
    pg_isready --quiet --host=127.0.0.1 --port=5432 && return 0
    svc_log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    wait_for PostgreSQL "$seconds" pg_isready --quiet --host=127.0.0.1 --port=5432
}
