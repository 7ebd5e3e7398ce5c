#!/usr/bin/env bash
# tools/kvm-lab/smoke.sh DATADIR — prove the lab works end to end:
#
#   1. build the test guest (guest/build.sh, cached) into DATADIR/guest,
#   2. bring the two libvirt hosts up (hosts.sh up DATADIR),
#   3. from the root namespace, define and start a TCG domain on h1 through
#      its unix-socket URI: direct kernel boot, 128 MiB, 1 vCPU, a copy of
#      the qcow2 disk as virtio, serial console to a file under DATADIR,
#   4. wait for heartbeats, live-migrate it peer-to-peer to h2 with virsh,
#   5. check it runs on h2 only, the heartbeat goes on with no gap in its
#      sequence and no CORRUPT line,
#   6. shut it down by ACPI (virsh shutdown) and wait for "shut off",
#   7. hosts.sh down DATADIR (skipped with VMCTL_LAB_KEEP=1).
#
# Exits non-zero on any failure, printing the serial log's tail. Prints the
# timings it measured. Settings: VMCTL_SMOKE_BOOT_WAIT (default 60 s),
# VMCTL_SMOKE_CMDLINE_EXTRA (default "vmctl.dirty_mib=32 vmctl.dirty_rate=8").
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DATADIR" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
mkdir -p "$1"
DATA=$(cd "$1" && pwd)
BOOT_WAIT=${VMCTL_SMOKE_BOOT_WAIT:-60}
EXTRA=${VMCTL_SMOKE_CMDLINE_EXTRA:-vmctl.dirty_mib=32 vmctl.dirty_rate=8}
DOM=vmctl-smoke
VMDIR=$DATA/vms/$DOM
SERIAL=$VMDIR/serial.log

log() { printf '==> %s\n' "$*" >&2; }
fail() {
    printf 'smoke.sh: FAILED: %s\n' "$*" >&2
    if [ -f "$SERIAL" ]; then
        echo "--- last lines of $SERIAL" >&2
        tail -n 15 "$SERIAL" >&2
    fi
    exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
    local rc=$?
    if [ "${VMCTL_LAB_KEEP:-0}" = 1 ]; then
        log "VMCTL_LAB_KEEP=1: lab left running ($HERE/hosts.sh down $DATA)"
    else
        "$HERE/hosts.sh" down "$DATA" >/dev/null 2>&1 || rc=1
    fi
    [ "$rc" -eq 0 ] && log "smoke OK" || log "smoke FAILED"
    exit "$rc"
}

T0=$(now)
log "building guest"
"$TOP/guest/build.sh" "$DATA/guest" >/dev/null
T_BUILD=$(since "$T0")

T=$(now)
"$HERE/hosts.sh" up "$DATA" >/dev/null
T_UP=$(since "$T")
trap cleanup EXIT
# shellcheck disable=SC1091
. "$DATA/lab.env"
H1=$VMCTL_LAB_H1_URI
H2=$VMCTL_LAB_H2_URI

# A leftover of an earlier failed run (hosts.sh down normally removes it).
for u in "$H1" "$H2"; do
    virsh -q -c "$u" destroy "$DOM" >/dev/null 2>&1 || true
    virsh -q -c "$u" undefine "$DOM" >/dev/null 2>&1 || true
done
rm -rf "$VMDIR"
mkdir -p "$VMDIR"
cp "$DATA/guest/disk.qcow2" "$VMDIR/disk.qcow2"

# The serial file is opened by the source QEMU and again by the destination
# QEMU during migration: append='on', or the destination truncates it.
cat >"$VMDIR/domain.xml" <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$DATA/guest/vmlinuz</kernel>
    <initrd>$DATA/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet $EXTRA</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='$VMDIR/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='$SERIAL' append='on'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF

# serial: the console log without the tty's carriage returns.
serial() { tr -d '\r' <"$SERIAL" 2>/dev/null || true; }
# hb_count: heartbeat lines so far.  last_hb: the last heartbeat's seq.
hb_count() { serial | grep -c '^HB ' || true; }
last_hb() { serial | awk '$1 == "HB" { s = $2 } END { print s }'; }
wait_hb_beyond() {  # wait_hb_beyond COUNT SECONDS: more than COUNT heartbeats
    local deadline
    deadline=$(($(date +%s) + $2))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        [ "$(hb_count)" -gt "$1" ] && return 0
        sleep 0.2
    done
    return 1
}
domstate() { timeout 20 virsh -q -c "$1" domstate "$DOM" 2>/dev/null | head -n1; }

log "starting $DOM on h1"
T=$(now)
virsh -q -c "$H1" define "$VMDIR/domain.xml" >/dev/null || fail "define on h1"
virsh -q -c "$H1" start "$DOM" >/dev/null || fail "start on h1"
T_START=$(since "$T")
wait_hb_beyond 0 "$BOOT_WAIT" || fail "no heartbeat within ${BOOT_WAIT}s of start"
T_FIRST_HB=$(since "$T")
serial | grep '^BOOT 1$' >/dev/null || fail "no 'BOOT 1' line (disk boot counter)"
serial | grep '^INIT acpid=' >/dev/null || fail "acpid not started in the guest"
wait_hb_beyond 10 20 || fail "heartbeat stalled before migration"

# watch_serial: print the wall time (ms) whenever the serial log grows; the
# largest gap while migrating is the pause the guest's output saw.
watch_serial() {
    local last=-1 size
    while :; do
        size=$(stat -c %s "$SERIAL" 2>/dev/null || echo 0)
        if [ "$size" != "$last" ]; then
            echo "${EPOCHREALTIME/./}" | cut -c1-13
            last=$size
        fi
        sleep 0.02
    done
}

log "live migration h1 -> h2 (p2p)"
HB_BEFORE=$(last_hb)
watch_serial >"$VMDIR/arrivals" &
WATCHER=$!
T=$(now)
# --unsafe: the disk IS shared (both hosts see the same path under DATADIR),
# but libvirt only trusts network/cluster file systems and refuses with
# "Migration without shared storage is unsafe" on a local ext4/xfs path.
timeout 120 virsh -q -c "$H1" migrate --live --p2p --persistent --undefinesource --unsafe \
    "$DOM" "$VMCTL_LAB_H2_PEER_URI" "$VMCTL_LAB_H2_MIGRATE_URI" || fail "virsh migrate"
T_MIGRATE=$(since "$T")
sleep 1    # let a second of heartbeats arrive after the switch-over
kill "$WATCHER" 2>/dev/null || true
wait "$WATCHER" 2>/dev/null || true
WALL_GAP=$(awk 'p != "" && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }' "$VMDIR/arrivals")
# Downtime as QEMU counted it, from the destination's completed-job record.
DOWNTIME=$(timeout 20 virsh -q -c "$H2" domjobinfo --completed "$DOM" 2>/dev/null |
    awk -F: '$1 ~ /^Total downtime/ { gsub(/[^0-9]/, "", $2); print $2 }')
[ "$(domstate "$H2")" = running ] || fail "not running on h2 after migration (state '$(domstate "$H2")')"
if virsh -q -c "$H1" list --all --name | grep -qx "$DOM"; then
    fail "still defined on h1 after --undefinesource"
fi
N=$(hb_count)
wait_hb_beyond $((N + 10)) 30 || fail "heartbeat did not go on on h2"

# The heartbeat sequence must have no hole (no lost or truncated output),
# and no page stamp may have changed behind the guest's back.
serial | grep '^HB ' | awk '
    prev != "" && $2 != prev + 1 { print "hole after HB " prev ": next is " $2; bad = 1 }
    { prev = $2 }
    END { exit bad }' >&2 || fail "heartbeat sequence has holes"
serial | grep 'CORRUPT' >/dev/null && fail "guest reported memory corruption"
# Largest gap between consecutive heartbeats in the guest's own clock after
# migration began. Under TCG the guest clock stops while the VM is paused,
# so this stays near the 200 ms period: use the wall-clock gap for downtime.
GAP=$(serial | grep '^HB ' | awk -v from="$HB_BEFORE" '
    $2 >= from && p != "" { d = $3 - p; if (d > m) m = d } { p = $3 } END { print m + 0 }')

log "ACPI shutdown on h2"
T=$(now)
virsh -q -c "$H2" shutdown "$DOM" >/dev/null || fail "virsh shutdown"
for _ in $(seq 150); do
    [ "$(domstate "$H2")" = "shut off" ] && break
    sleep 0.2
done
[ "$(domstate "$H2")" = "shut off" ] || fail "not shut off 30s after virsh shutdown (state '$(domstate "$H2")')"
T_SHUTDOWN=$(since "$T")
serial | grep '^INIT poweroff' >/dev/null || fail "guest did not log its poweroff"
virsh -q -c "$H2" undefine "$DOM" >/dev/null || fail "undefine on h2"

cat <<EOF
smoke timings (s): guest build ${T_BUILD}, hosts up ${T_UP}, define+start ${T_START},
  first heartbeat ${T_FIRST_HB} after start, migrate ${T_MIGRATE} (virsh wall),
  downtime ${DOWNTIME:-?} ms (libvirt), serial silent at most ${WALL_GAP} ms while migrating
  (wall clock; heartbeat period 200), largest heartbeat gap in guest clock ${GAP} ms,
  ACPI shutdown ${T_SHUTDOWN}, heartbeats $(hb_count), corrupt 0
EOF
