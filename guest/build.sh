#!/usr/bin/env bash
# guest/build.sh OUTDIR — build vmctl's tiny test guest into OUTDIR:
#
#   vmlinuz        a Debian cloud kernel (downloaded with apt-get download and
#                  unpacked with dpkg-deb: nothing is installed on the host)
#   initrd.img     busybox-static + guest/init + the virtio/ACPI modules +
#                  guest/dirtier.c built static (cpio newc, gzip)
#   disk.raw       a 16 MiB zeroed disk (sparse) and
#   disk.qcow2     the same as qcow2: the guest keeps a boot counter in its
#                  first sector. Copy it before use; never boot the original.
#   manifest.json  kernel version, sha256 of each file, default cmdline
#
# Cached by content: the inputs (this script, init, dirtier.c, the kernel
# package and version, busybox and gcc versions) are hashed into
# manifest.json; when they match and the files are there it does nothing.
# The downloaded kernel .deb is kept in $GUEST_CACHE (default OUTDIR/.cache).
#
# Settings (environment):
#   GUEST_KERNEL_PKG    exact package, e.g. linux-image-6.1.0-56-cloud-amd64
#   GUEST_KERNEL_SUITE  where to resolve linux-image-cloud-amd64 when
#                       GUEST_KERNEL_PKG is unset: "" (default: bookworm's
#                       candidate) or bookworm-backports
#   GUEST_DISK_MIB      disk size (default 16)
#
# Needs: apt-get, dpkg-deb, busybox-static, cpio, gzip, gcc (static libc),
# qemu-img, sha256sum (tools/kvm-lab/install-packages.sh installs them).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
GUEST_CACHE=${GUEST_CACHE:-$OUT/.cache}
GUEST_KERNEL_PKG=${GUEST_KERNEL_PKG:-}
GUEST_KERNEL_SUITE=${GUEST_KERNEL_SUITE:-}
GUEST_DISK_MIB=${GUEST_DISK_MIB:-16}
CMDLINE_DEFAULT="console=ttyS0 quiet"
BUSYBOX=/bin/busybox

# Modules the guest loads; their own dependencies are added first.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
         virtio_pci virtio_blk virtio_balloon button evdev)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'guest/build.sh: %s\n' "$*" >&2; exit 1; }

for tool in apt-cache apt-get dpkg-deb cpio gzip gcc qemu-img sha256sum; do
    command -v "$tool" >/dev/null || die "$tool missing: run tools/kvm-lab/install-packages.sh"
done
[ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
    die "$BUSYBOX is missing or not static: apt-get install busybox-static"

# --- Which kernel --------------------------------------------------------------
resolve_kernel_pkg() {
    local suite_opt=()
    [ -n "$GUEST_KERNEL_SUITE" ] && suite_opt=(-t "$GUEST_KERNEL_SUITE")
    apt-cache "${suite_opt[@]}" depends linux-image-cloud-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64$/ && !k { k = $2 } END { print k }'
}
# (No "exit" in these awk programs: an early exit kills apt-cache with
# SIGPIPE, which pipefail turns into a failure.)
pkg_version() {  # candidate version of package $1
    apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && !v { v = $2 } END { print v }'
}

KPKG=$GUEST_KERNEL_PKG
[ -n "$KPKG" ] || KPKG=$(resolve_kernel_pkg)
KVER_PKG=
[ -z "$KPKG" ] || KVER_PKG=$(pkg_version "$KPKG")
if [ -z "$KVER_PKG" ] || [ "$KVER_PKG" = "(none)" ]; then
    log "apt lists lack the kernel package; apt-get update"
    apt-get update -q >&2
    [ -n "$GUEST_KERNEL_PKG" ] || KPKG=$(resolve_kernel_pkg)
    [ -n "$KPKG" ] || die "cannot resolve linux-image-cloud-amd64 (suite '${GUEST_KERNEL_SUITE:-default}')"
    KVER_PKG=$(pkg_version "$KPKG")
fi
[ -n "$KVER_PKG" ] && [ "$KVER_PKG" != "(none)" ] || die "no installable candidate for $KPKG"
KREL=${KPKG#linux-image-}    # the kernel's uname -r

# --- Cache check ---------------------------------------------------------------
INPUT_HASH=$({
    sha256sum "$SRC/build.sh" "$SRC/init" "$SRC/dirtier.c" | awk '{ print $1 }'
    echo "$KPKG $KVER_PKG"
    dpkg-query -W -f='${Version}\n' busybox-static 2>/dev/null || sha256sum "$BUSYBOX"
    gcc -dumpfullversion
    echo "disk=$GUEST_DISK_MIB cmdline=$CMDLINE_DEFAULT modules=${MODULES[*]}"
} | sha256sum | awk '{ print $1 }')

cached() {
    local f
    [ -f "$OUT/manifest.json" ] || return 1
    grep -q "\"input_sha256\": \"$INPUT_HASH\"" "$OUT/manifest.json" || return 1
    for f in vmlinuz initrd.img disk.raw disk.qcow2; do
        [ -s "$OUT/$f" ] || return 1
        grep -q "\"$f\": \"$(sha256sum "$OUT/$f" | awk '{ print $1 }')\"" "$OUT/manifest.json" || return 1
    done
}
if cached; then
    log "guest up to date in $OUT ($KREL)"
    exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmctl-guest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- Kernel package --------------------------------------------------------------
mkdir -p "$GUEST_CACHE"
DEB=$GUEST_CACHE/${KPKG}_${KVER_PKG//:/%3a}_amd64.deb
if [ ! -s "$DEB" ]; then
    log "downloading $KPKG $KVER_PKG"
    rm -f "$GUEST_CACHE/${KPKG}"_*.deb
    # apt-get download writes into the current folder; as root it warns that
    # _apt cannot write there, which is harmless.
    (cd "$WORK" && apt-get download -q "$KPKG=$KVER_PKG" 2>&1 | { grep -v unsandboxed || true; } >&2) ||
        die "apt-get download $KPKG=$KVER_PKG failed"
    mv "$WORK"/"${KPKG}"_*.deb "$DEB"
fi
log "unpacking $(basename "$DEB")"
mkdir -p "$WORK/k"
dpkg-deb --fsys-tarfile "$DEB" |
    tar -x -C "$WORK/k" --wildcards './boot/vmlinuz-*' "./lib/modules/$KREL/kernel/*" \
        "./lib/modules/$KREL/modules.builtin" 2>/dev/null ||
    dpkg-deb -x "$DEB" "$WORK/k"
[ -f "$WORK/k/boot/vmlinuz-$KREL" ] || die "no boot/vmlinuz-$KREL in $DEB"
MODDIR=$WORK/k/lib/modules/$KREL

# --- Initramfs tree --------------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,run,tmp,etc/acpi,var/log,lib/modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
install -m 0755 "$SRC/init" "$ROOT/init"
echo "vmctl test guest" >"$ROOT/etc/vmctl-guest"   # dirtier's boot counter needs it
log "building dirtier"
gcc -O2 -static -Wall -Wextra -o "$ROOT/bin/dirtier" "$SRC/dirtier.c"
strip "$ROOT/bin/dirtier" 2>/dev/null || true

# find_module NAME: path of NAME's .ko[.xz|.zst|.gz] in the kernel tree.
find_module() {
    local alt=${1//_/-}
    find "$MODDIR/kernel" \( -name "$1.ko*" -o -name "$alt.ko*" \) -print -quit
}
# unpack_module SRC DEST: copy a module uncompressed (busybox insmod is plain).
unpack_module() {
    case $1 in
        *.ko.xz) xz -dc "$1" >"$2" ;;
        *.ko.zst) zstd -qdc "$1" >"$2" ;;
        *.ko.gz) gzip -dc "$1" >"$2" ;;
        *) cp "$1" "$2" ;;
    esac
}
# module_deps FILE: the depends= field of an (uncompressed) module.
module_deps() {
    tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}
ORDER=()
declare -A SEEN=()
add_module() {  # add_module NAME: its dependencies first, then itself
    local name=${1//-/_} src dep
    [ -n "${SEEN[$name]:-}" ] && return 0
    SEEN[$name]=1
    src=$(find_module "$name")
    if [ -z "$src" ]; then
        if grep -qE "/${name}\.ko$|/${name//_/-}\.ko$" "$MODDIR/modules.builtin" 2>/dev/null; then
            return 0    # built into this kernel
        fi
        die "module $name not found in $KPKG"
    fi
    unpack_module "$src" "$ROOT/lib/modules/$name.ko"
    for dep in $(module_deps "$ROOT/lib/modules/$name.ko"); do
        add_module "$dep"
    done
    ORDER+=("$name")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" >"$ROOT/etc/modules.order"
log "modules: ${ORDER[*]}"

log "packing initrd.img"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$WORK/initrd.img"
cp "$WORK/k/boot/vmlinuz-$KREL" "$WORK/vmlinuz"

log "making ${GUEST_DISK_MIB} MiB disk"
truncate -s "${GUEST_DISK_MIB}M" "$WORK/disk.raw"
qemu-img convert -q -f raw -O qcow2 "$WORK/disk.raw" "$WORK/disk.qcow2"

# --- Publish ------------------------------------------------------------------
for f in vmlinuz initrd.img disk.raw disk.qcow2; do
    mv -f "$WORK/$f" "$OUT/$f"
done
sha() { sha256sum "$OUT/$1" | awk '{ print $1 }'; }
cat >"$OUT/manifest.json.tmp" <<EOF
{
  "kernel_package": "$KPKG",
  "kernel_package_version": "$KVER_PKG",
  "kernel_version": "$KREL",
  "cmdline": "$CMDLINE_DEFAULT",
  "cmdline_options": "vmctl.dirty_mib=N vmctl.dirty_rate=R vmctl.hb_ms=T vmctl.disk=PATH",
  "modules": "${ORDER[*]}",
  "memory_mib_min": 128,
  "disk_mib": $GUEST_DISK_MIB,
  "files": {
    "vmlinuz": "$(sha vmlinuz)",
    "initrd.img": "$(sha initrd.img)",
    "disk.raw": "$(sha disk.raw)",
    "disk.qcow2": "$(sha disk.qcow2)"
  },
  "input_sha256": "$INPUT_HASH"
}
EOF
mv -f "$OUT/manifest.json.tmp" "$OUT/manifest.json"
log "guest built in $OUT ($KREL, initrd $(du -k "$OUT/initrd.img" | cut -f1) KiB)"
