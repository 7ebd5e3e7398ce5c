#!/usr/bin/env bash
# tools/kvm-lab/install-packages.sh [VENV] — install what the real-hypervisor
# lab needs on a Debian 12 machine, idempotently:
#
#   * QEMU >= 9 from Debian's bookworm-backports suite (Debian 12's own 7.2
#     loses dirty pages in TCG live migration; see shared/KVM-LAB.md),
#   * libvirt 9.0 from bookworm (daemon, QEMU driver, virsh, headers),
#   * the tools guest/build.sh uses (busybox-static, cpio, gcc, ...),
#   * libvirt-python (PyPI) into VENV (argument, or $VMCTL_VENV).
#
# The second run is fast: when every package is present and QEMU is new
# enough it never calls apt-get. Needs root for the apt part.
set -euo pipefail

VENV=${1:-${VMCTL_VENV:-}}
BACKPORTS_LIST=/etc/apt/sources.list.d/vmctl-bookworm-backports.sources
QEMU_MIN_MAJOR=9

# From bookworm-backports.
BACKPORT_PKGS=(qemu-system-x86 qemu-utils)
# From bookworm. libvirt-daemon-system pulls in systemd units only as files;
# without systemd running it installs fine and we start the daemons by hand.
BOOKWORM_PKGS=(
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system
    libvirt-clients libvirt-dev pkg-config
    busybox-static cpio gcc libc6-dev iproute2 util-linux gzip
)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install-packages.sh: %s\n' "$*" >&2; exit 1; }

# pkg_installed NAME: dpkg says NAME is fully installed.
pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# qemu_major: major version of the qemu-system-x86_64 on PATH (0 if none).
qemu_major() {
    local v
    v=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
    echo "${v:-0}"
}

# debian_mirror: the URI of the apt entry carrying the plain "bookworm" suite.
debian_mirror() {
    local f
    # deb822 files: find a stanza whose Suites include bookworm.
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        [ "$f" = "$BACKPORTS_LIST" ] && continue
        awk '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri=""; ok=0; next }
            tolower($1) == "uris:"   { uri=$2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == "bookworm") ok=1 }
            END { if (uri != "" && ok) print uri }
        ' "$f" | head -n1
    done | head -n1 | grep . && return 0
    # One-line format.
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { u=$2; if (u ~ /^\[/) u=$3; for (i = 2; i <= NF; i++) if ($i == "bookworm") { print u; exit } }' |
        grep . && return 0
    return 1
}

add_backports() {
    if grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' \
            /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    local mirror
    mirror=$(debian_mirror) || die "no apt entry for Debian bookworm found in /etc/apt/sources.list{,.d}; is this Debian 12?"
    log "adding bookworm-backports ($mirror) as $BACKPORTS_LIST"
    cat >"$BACKPORTS_LIST" <<EOF
# Added by vmctl tools/kvm-lab/install-packages.sh: QEMU >= 9 for TCG live
# migration. Packages come from here only when asked for with -t.
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    APT_UPDATED=0
}

APT_UPDATED=0
apt_update() {
    [ "$APT_UPDATED" = 1 ] && return 0
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
}

install_system_packages() {
    local missing=() p
    for p in "${BOOKWORM_PKGS[@]}" "${BACKPORT_PKGS[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ] && [ "$(qemu_major)" -ge "$QEMU_MIN_MAJOR" ]; then
        log "system packages present (QEMU $(qemu_major).x); apt skipped"
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]:-qemu from bookworm-backports}"
    # libvirt-daemon-system's maintainer scripts would start libvirtd in the
    # root namespace; the lab starts its own daemons (hosts.sh). Forbid
    # service starts for the duration unless a policy already exists.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    add_backports
    apt_update
    export DEBIAN_FRONTEND=noninteractive
    log "installing from bookworm-backports: ${BACKPORT_PKGS[*]}"
    apt-get install -y -q --no-install-recommends -t bookworm-backports "${BACKPORT_PKGS[@]}"
    log "installing from bookworm: ${BOOKWORM_PKGS[*]}"
    apt-get install -y -q --no-install-recommends "${BOOKWORM_PKGS[@]}"
}

check_qemu() {
    local major
    major=$(qemu_major)
    if [ "$major" -lt "$QEMU_MIN_MAJOR" ]; then
        die "qemu-system-x86_64 on PATH is '$(command -v qemu-system-x86_64 || echo none)' \
version ${major}; need >= ${QEMU_MIN_MAJOR} (Debian 12's 7.2 corrupts TCG live migrations). \
Install it with: apt-get install -t bookworm-backports qemu-system-x86 qemu-utils"
    fi
    log "$(qemu-system-x86_64 --version | head -n1) at $(command -v qemu-system-x86_64)"
}

install_libvirt_python() {
    [ -n "$VENV" ] || { log "no venv given (argument or VMCTL_VENV): libvirt-python skipped"; return 0; }
    [ -x "$VENV/bin/python" ] || die "$VENV/bin/python not found: not a virtualenv"
    if "$VENV/bin/python" -c 'import libvirt' 2>/dev/null; then
        log "libvirt-python present in $VENV ($("$VENV/bin/python" -c 'import libvirt; print(libvirt.getVersion())'))"
        return 0
    fi
    local inc
    inc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    [ -e "$inc/Python.h" ] || die "Python headers missing ($inc/Python.h); install python3-dev for $VENV's interpreter"
    log "building libvirt-python into $VENV (up to a minute)"
    "$VENV/bin/python" -m pip install -q libvirt-python
    "$VENV/bin/python" -c 'import libvirt' || die "libvirt-python installed but does not import"
}

install_system_packages
check_qemu
install_libvirt_python
log "kvm-lab packages ready"
