#!/usr/bin/env bash
# Prepare this machine for `make test` / `make lab` (run by `make venv`).
#
#  1. Debian packages the tests use (iptables, iproute2, ping, a C compiler for
#     python-iptables, graphviz), installed only when missing; `apt-get update` only if an
#     install is needed.
#  2. .venv from the newest usable Python, 3.11 .. 3.14 (pyenv's, python3.1x,
#     python3), with the requirements file for that Python:
#       3.12 .. 3.14  requirements-dev.txt        (ansible-core 2.21)
#       3.11          requirements-dev-py311.txt  (ansible-core 2.19: Debian 12's
#                     own python3; 2.20 and later need 3.12)
#     Skipped when the stamp file says the same Python, the same requirements
#     file and the same content are already installed.
#     NETVIRT_VENV_PYTHON=/path/to/python chooses the interpreter instead.
#  3. build/collections/ansible_collections/netvirt/linux -> repository root, so
#     ansible finds the collection by its name without installing it.
#
# Idempotent; a second run takes well under a second.
#
# `scripts/bootstrap.sh --which-python` only prints the interpreter and the
# requirements file it would use, and changes nothing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
VENV="$REPO/.venv"
STAMP="$VENV/.netvirt-stamp"
MIN_MINOR=11
MAX_MINOR=14

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

# -- 1. system packages --------------------------------------------------------

APT_UPDATED=0
apt_install() {
    [ "$#" -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: $*; install them as root (apt-get install -y $*)"
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

system_packages() {
    local missing=() pkg
    # iptables/iproute2/iputils-ping: what the modules drive and the tests assert with;
    # util-linux: unshare/nsenter for the test sandbox; gcc/libc6-dev: python-iptables
    # ships only a source distribution with a small C extension; git and shellcheck:
    # ansible-test sanity (it skips its shellcheck test when the program is missing).
    # openssh-server/-client: the multi-host tests' simulated lab hosts (tests/integration/multihost.py).
    # graphviz: dot, which draws lab_info's diagrams (make pictures, tests/integration/test_walkthrough.py).
    for pkg in iptables iproute2 iputils-ping util-linux gcc libc6-dev git shellcheck openssh-server openssh-client graphviz; do
        installed "$pkg" || missing+=("$pkg")
    done
    apt_install "${missing[@]}"
}

# -- 2. the virtual environment ------------------------------------------------

# Print "MAJOR MINOR PATH" for a candidate interpreter that runs, or nothing.
probe() {
    local version
    version=$("$1" -c 'import sys; print("%d %d" % sys.version_info[:2])' 2>/dev/null) || return 0
    printf '%s %s\n' "$version" "$1"
}

find_python() {
    local candidates=() c best="" best_minor=-1 major minor path
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    if [ -n "${NETVIRT_VENV_PYTHON:-}" ]; then
        printf '%s\n' "$NETVIRT_VENV_PYTHON"
        return
    fi
    for c in "$pyenv_root"/versions/*/bin/python3; do
        [ -x "$c" ] && candidates+=("$c")
    done
    for c in python3.14 python3.13 python3.12 python3; do
        c=$(command -v "$c" 2>/dev/null) && candidates+=("$c")
    done
    for c in "${candidates[@]}"; do
        read -r major minor path < <(probe "$c") || continue
        [ "$major" = 3 ] || continue
        if [ "$minor" -ge "$MIN_MINOR" ] && [ "$minor" -le "$MAX_MINOR" ] && [ "$minor" -gt "$best_minor" ]; then
            best=$path
            best_minor=$minor
        fi
    done
    [ -n "$best" ] || die "no Python 3.$MIN_MINOR..3.$MAX_MINOR found (pyenv, python3.1x, python3); set NETVIRT_VENV_PYTHON=/path/to/python"
    printf '%s\n' "$best"
}

# The pinned tool set for an interpreter: ansible-core 2.20+ needs Python 3.12.
requirements_for() {
    local minor
    minor=$("$1" -c 'import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else -1)') \
        || die "$1 does not run"
    if [ "$minor" -ge 12 ] && [ "$minor" -le "$MAX_MINOR" ]; then
        printf '%s\n' "$REPO/requirements-dev.txt"
    elif [ "$minor" -eq 11 ]; then
        printf '%s\n' "$REPO/requirements-dev-py311.txt"
    else
        die "$1 is Python 3.$minor; the tools need 3.$MIN_MINOR..3.$MAX_MINOR"
    fi
}

# Debian's own Python needs python3-venv (ensurepip) to make a venv.
ensure_venv_support() {
    local python=$1 minor
    "$python" -c 'import ensurepip, venv' 2>/dev/null && return 0
    case "$python" in
        /usr/bin/*)
            minor=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
            apt_install "python$minor-venv" "python$minor-dev"
            ;;
        *) die "$python cannot create virtual environments (no ensurepip)" ;;
    esac
}

venv() {
    local python wanted requirements
    python=$(find_python)
    requirements=$(requirements_for "$python")
    # The stamp names the interpreter, the requirements file and its content.
    wanted="$("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])') $(basename "$requirements") $(sha256sum "$requirements" | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return 0
    fi
    if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cut -d' ' -f1,2 "$STAMP")" = "$(printf '%s' "$wanted" | cut -d' ' -f1,2)" ]; then
        log "$(basename "$requirements") changed: updating $VENV"
    else
        log "creating $VENV with $python and $(basename "$requirements")"
        ensure_venv_support "$python"
        rm -rf "$VENV"
        "$python" -m venv "$VENV"
    fi
    rm -f "$STAMP"
    # -qq: errors only (this machine's pip.conf names local indexes that warn per package)
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check -r "$requirements"
    printf '%s\n' "$wanted" > "$STAMP"
    log "$VENV ready in ${SECONDS}s: $("$VENV/bin/python" -c 'import sys, ansible.release as r; print("Python", sys.version.split()[0], "ansible-core", r.__version__)')"
}

# -- 3. the collection by its name ---------------------------------------------

collection_link() {
    local link="$REPO/build/collections/ansible_collections/netvirt/linux"
    if [ -L "$link" ] && [ "$(readlink -f "$link")" = "$(readlink -f "$REPO")" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$link")"
    rm -rf "$link"
    ln -s "$REPO" "$link"
}

if [ "${1:-}" = --which-python ]; then
    python=$(find_python)
    requirements=$(requirements_for "$python")
    printf '%s %s\n' "$python" "$(basename "$requirements")"
    exit 0
fi
system_packages
venv
collection_link
