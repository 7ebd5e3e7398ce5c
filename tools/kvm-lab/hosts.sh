#!/usr/bin/env bash
# tools/kvm-lab/hosts.sh up|down|status DATADIR — two libvirt "hosts" on this
# one machine, for real-guest tests and live migration (see doc/kvm-lab.md).
#
# Each host hN (h1, h2) is
#   * a network namespace ${VMCTL_LAB_PREFIX}-hN with lo up and one end of a
#     veth pair: ${VMCTL_LAB_NET}.1/24 on h1, ${VMCTL_LAB_NET}.2/24 on h2
#     (the addresses exist only inside the namespaces);
#   * a private mount + UTS namespace (hostname ${VMCTL_LAB_PREFIX}-hN) in
#     which DATADIR/hN/{run,etc/libvirt,var/lib/libvirt,var/log/libvirt,
#     var/cache/libvirt} are bind-mounted over the real folders;
#   * virtlogd and libvirtd (listening on TCP at its address, no auth) with
#     their own config (distinct host_uuid, QEMU as root, no cgroups, no
#     security driver, migration over its address).
#
# From the root namespace a host is reached through its unix socket:
#   qemu+unix:///system?socket=DATADIR/hN/run/libvirt/libvirt-sock
# and hosts reach each other (peer-to-peer migration) at
#   qemu+tcp://${VMCTL_LAB_NET}.N/system   (data: tcp://${VMCTL_LAB_NET}.N)
# Paths under DATADIR (outside the bind-mounted folders) are the same for
# both hosts: put guest kernels, disks and serial logs there ("shared storage").
#
# up is idempotent (a running host is left alone, a half-started one is
# restarted); down destroys leftover domains, stops exactly the daemons whose
# pid files it wrote and removes the namespaces; status prints each host.
# DATADIR/lab.env records the URIs in shell syntax for scripts and tests.
#
# Settings (environment): VMCTL_LAB_PREFIX (default vmctl), VMCTL_LAB_NET
# (default 10.250.0), VMCTL_LAB_HOSTS (default 2), VMCTL_LAB_WARM=0 to skip
# warming the capabilities cache.
set -euo pipefail

PREFIX=${VMCTL_LAB_PREFIX:-vmctl}
NET=${VMCTL_LAB_NET:-10.250.0}
NHOSTS=${VMCTL_LAB_HOSTS:-2}
WARM=${VMCTL_LAB_WARM:-1}
QEMU_BIN=${VMCTL_LAB_QEMU:-/usr/bin/qemu-system-x86_64}
BIND_DIRS=(/run /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt)
OWNER_DIR=/run/vmctl-lab    # root namespace: which DATADIR owns a namespace

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'hosts.sh: %s\n' "$*" >&2; exit 1; }
usage() { echo "usage: $0 up|down|status DATADIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
ACTION=$1
mkdir -p "$2"
DATA=$(cd "$2" && pwd)
for d in "${BIND_DIRS[@]}"; do
    case $DATA/ in "$d"/*) die "DATADIR must not be under $d (it is bind-mounted per host)" ;; esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, mounts)"

hosts() { seq 1 "$NHOSTS"; }
ns() { echo "$PREFIX-h$1"; }
addr() { echo "$NET.$1"; }
hdir() { echo "$DATA/h$1"; }
uri() { echo "qemu+unix:///system?socket=$(hdir "$1")/run/libvirt/libvirt-sock"; }
peer_uri() { echo "qemu+tcp://$(addr "$1")/system"; }
mig_uri() { echo "tcp://$(addr "$1")"; }

# alive PIDFILE NAME: the pid in PIDFILE runs a process called NAME.
alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && running "$pid"
}

# answers N: host N's libvirtd answers on its socket.
answers() {
    timeout 10 virsh -q -c "$(uri "$1")" version >/dev/null 2>&1
}

# --- configuration -----------------------------------------------------------
write_config() {  # write_config N
    local h a uuid
    h=$(hdir "$1")
    a=$(addr "$1")
    mkdir -p "$h/run" "$h/etc/libvirt/qemu/networks/autostart" "$h/var/lib/libvirt" \
        "$h/var/log/libvirt" "$h/var/cache/libvirt"
    # A distinct host UUID per host, kept across runs: with equal UUIDs libvirt
    # refuses to migrate ("Attempt to migrate guest to the same host").
    [ -s "$h/host_uuid" ] || cat /proc/sys/kernel/random/uuid >"$h/host_uuid"
    uuid=$(cat "$h/host_uuid")
    cat >"$h/etc/libvirt/libvirtd.conf" <<EOF
# Written by tools/kvm-lab/hosts.sh: test host $(ns "$1"). No auth: test only.
listen_tls = 0
listen_tcp = 1
listen_addr = "$a"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
max_clients = 64
EOF
    cat >"$h/etc/libvirt/qemu.conf" <<EOF
# Written by tools/kvm-lab/hosts.sh: test host $(ns "$1").
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
migration_address = "$a"
migration_host = "$a"
EOF
    cat >"$h/etc/libvirt/virtlogd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
    printf 'uri_default = "qemu:///system"\n' >"$h/etc/libvirt/libvirt.conf"
    # No default network (no virbr0, no dnsmasq): drop any autostart link.
    rm -f "$h/etc/libvirt/qemu/networks/autostart/"*.xml
}

# --- network -----------------------------------------------------------------
net_up() {
    local n
    for n in $(hosts); do
        ip netns list | awk '{ print $1 }' | grep -qx "$(ns "$n")" || ip netns add "$(ns "$n")"
        ip -n "$(ns "$n")" link set lo up
    done
    # One veth pair per host, all joined by a bridge in h1's namespace when
    # there are more than two hosts; for two, a plain pair h1 <-> h2.
    if [ "$NHOSTS" -eq 2 ]; then
        if ! ip -n "$(ns 1)" link show lab0 >/dev/null 2>&1; then
            ip -n "$(ns 2)" link del lab0 2>/dev/null || true
            ip link add lab0 netns "$(ns 1)" type veth peer name lab0 netns "$(ns 2)"
        fi
    else
        ip -n "$(ns 1)" link show labbr >/dev/null 2>&1 ||
            ip -n "$(ns 1)" link add labbr type bridge
        ip -n "$(ns 1)" link set labbr up
        for n in $(hosts); do
            if ! ip -n "$(ns "$n")" link show lab0 >/dev/null 2>&1; then
                if [ "$n" -eq 1 ]; then
                    ip -n "$(ns 1)" link add lab0 type veth peer name lab1p
                else
                    ip link add lab0 netns "$(ns "$n")" type veth peer name "lab${n}p" netns "$(ns 1)"
                fi
            fi
            ip -n "$(ns 1)" link set "lab${n}p" master labbr up
        done
    fi
    for n in $(hosts); do
        ip -n "$(ns "$n")" addr replace "$(addr "$n")/24" dev lab0
        ip -n "$(ns "$n")" link set lab0 up
    done
}

# --- daemons -----------------------------------------------------------------
start_host() {  # start_host N
    local n=$1 h name
    h=$(hdir "$n")
    name=$(ns "$n")
    if alive "$h/libvirtd.pid" libvirtd && alive "$h/virtlogd.pid" virtlogd && answers "$n"; then
        log "$name already up"
        return 0
    fi
    stop_host "$n" quiet
    write_config "$n"
    rm -f "$h/run/libvirt/libvirt-sock" "$h/run/libvirtd.pid" "$h/run/virtlogd.pid"
    # The daemons keep the private mount namespace alive after the shell ends.
    # QEMU processes they start inherit it (and the network namespace).
    ip netns exec "$name" unshare --uts --mount --propagation private \
        /bin/sh -eu -c '
            h=$1; shift
            for d in "$@"; do mount --bind "$h$d" "$d"; done
            mkdir -p /run/libvirt /run/lock /var/lib/libvirt/qemu /var/cache/libvirt/qemu
            hostname "$HOSTNAME_LAB"
            virtlogd -d -p "$h/virtlogd.pid"
            libvirtd -d --listen -p "$h/libvirtd.pid"
        ' lab "$h" "${BIND_DIRS[@]}" \
        >>"$h/daemons.out" 2>&1 \
        || { tail -n 20 "$h/daemons.out" >&2; die "$name: starting virtlogd/libvirtd failed"; }
    for _ in $(seq 100); do
        answers "$n" && break
        sleep 0.1
    done
    answers "$n" || { tail -n 20 "$h/var/log/libvirt/libvirtd.log" >&2 || true; die "$name: libvirtd does not answer on $(uri "$n")"; }
    echo "$DATA" >"$OWNER_DIR/$name.datadir"
    log "$name up: libvirtd pid $(cat "$h/libvirtd.pid"), virtlogd pid $(cat "$h/virtlogd.pid")"
}

warm_host() {  # warm_host N: the first capabilities probe takes 5-20 s
    local u
    u=$(uri "$1")
    virsh -q -c "$u" capabilities >/dev/null &&
        virsh -q -c "$u" domcapabilities --virttype qemu --emulatorbin "$QEMU_BIN" \
            --arch x86_64 >/dev/null
}

# running PID: PID exists and is not a zombie (a daemon's parent here is
# PID 1 of the sandbox, which may reap late).
running() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() {  # stop_pid PIDFILE NAME: TERM, wait up to 10 s, then KILL
    local pid
    alive "$1" "$2" || { rm -f "$1"; return 0; }
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 200); do
        running "$pid" || break
        sleep 0.05
    done
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$1"
}

stop_host() {  # stop_host N [quiet]
    local n=$1 h name u dom pid
    h=$(hdir "$n")
    name=$(ns "$n")
    u=$(uri "$n")
    if alive "$h/libvirtd.pid" libvirtd && answers "$n"; then
        for dom in $(timeout 20 virsh -q -c "$u" list --name 2>/dev/null); do
            log "$name: destroying leftover domain $dom"
            timeout 20 virsh -q -c "$u" destroy "$dom" >/dev/null 2>&1 || true
        done
        for dom in $(timeout 20 virsh -q -c "$u" list --all --name 2>/dev/null); do
            timeout 20 virsh -q -c "$u" undefine "$dom" >/dev/null 2>&1 || true
        done
    fi
    stop_pid "$h/libvirtd.pid" libvirtd
    stop_pid "$h/virtlogd.pid" virtlogd
    # Anything still in our namespace was started by these daemons (QEMU of
    # a domain libvirtd could not destroy): stop it by its pid.
    if owned "$n" && ip netns list | awk '{ print $1 }' | grep -qx "$name"; then
        for pid in $(ip netns pids "$name" 2>/dev/null); do
            log "$name: killing leftover process $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
    owned "$n" && rm -f "$OWNER_DIR/$name.datadir"
    [ "${2:-}" = quiet ] || log "$name stopped"
}

owned() {  # owned N: namespace N belongs to this DATADIR (or to no lab)
    local owner
    owner=$(cat "$OWNER_DIR/$(ns "$1").datadir" 2>/dev/null || true)
    [ -z "$owner" ] || [ "$owner" = "$DATA" ]
}

check_owner() {  # refuse to take over namespaces another DATADIR runs
    local n name owner
    mkdir -p "$OWNER_DIR"
    for n in $(hosts); do
        name=$(ns "$n")
        owner=$(cat "$OWNER_DIR/$name.datadir" 2>/dev/null || true)
        if [ -n "$owner" ] && [ "$owner" != "$DATA" ] && [ -s "$owner/h$n/libvirtd.pid" ] &&
                alive "$owner/h$n/libvirtd.pid" libvirtd; then
            die "$name is in use by the lab in $owner (run: $0 down $owner, or set VMCTL_LAB_PREFIX/VMCTL_LAB_NET)"
        fi
    done
}

write_env() {
    local n
    {
        echo "# Written by tools/kvm-lab/hosts.sh up: source it."
        echo "VMCTL_LAB_DATA='$DATA'"
        echo "VMCTL_LAB_HOSTS='$NHOSTS'"
        for n in $(hosts); do
            echo "VMCTL_LAB_H${n}_NS='$(ns "$n")'"
            echo "VMCTL_LAB_H${n}_ADDR='$(addr "$n")'"
            echo "VMCTL_LAB_H${n}_URI='$(uri "$n")'"
            echo "VMCTL_LAB_H${n}_PEER_URI='$(peer_uri "$n")'"
            echo "VMCTL_LAB_H${n}_MIGRATE_URI='$(mig_uri "$n")'"
        done
    } >"$DATA/lab.env"
}

print_hosts() {
    local n state
    for n in $(hosts); do
        if answers "$n"; then
            state="up ($(timeout 10 virsh -q -c "$(uri "$n")" list --all --name 2>/dev/null | grep -c . || true) domains)"
        else
            state=down
        fi
        printf '%s: %s\n  uri:     %s\n  peer:    %s\n  migrate: %s\n' \
            "$(ns "$n")" "$state" "$(uri "$n")" "$(peer_uri "$n")" "$(mig_uri "$n")"
    done
}

case $ACTION in
up)
    command -v libvirtd >/dev/null && command -v virtlogd >/dev/null && command -v virsh >/dev/null ||
        die "libvirt missing: run tools/kvm-lab/install-packages.sh"
    check_owner
    net_up
    export HOSTNAME_LAB
    for n in $(hosts); do
        HOSTNAME_LAB=$(ns "$n")
        start_host "$n"
    done
    if [ "$WARM" = 1 ]; then
        log "warming capabilities"
        pids=()
        for n in $(hosts); do warm_host "$n" & pids+=($!); done
        for p in "${pids[@]}"; do wait "$p" || die "capabilities probe failed (see $(hdir 1)/var/log/libvirt/libvirtd.log)"; done
    fi
    write_env
    print_hosts
    ;;
down)
    dels=()
    for n in $(hosts); do
        if owned "$n"; then
            dels+=("$(ns "$n")")
        else
            log "$(ns "$n") belongs to another lab ($(cat "$OWNER_DIR/$(ns "$n").datadir")): left alone"
        fi
        stop_host "$n"
    done
    # Deleting a namespace removes its veth/bridge ends too.
    for name in "${dels[@]}"; do
        ip netns del "$name" 2>/dev/null || true
    done
    rm -f "$DATA/lab.env"
    log "lab down"
    ;;
status)
    print_hosts
    ;;
*) usage ;;
esac
