#!/usr/bin/env bash
# `make try`: a seed lab inside a private network sandbox, with a shell in it.
#
#   make try                              seed lab 002 (playbooks/seed002_bridge_netns.yml)
#   make try LAB=seed003_bridge_host      another playbook of playbooks/, by its name without .yml
#   make try TRY_COMMAND='ip netns list'  run that command in the sandbox instead of a shell
#                                         (the exit status is the command's)
#
# Labs that need other hosts (a `# test-hosts: N` header above 1) or that write the
# machine's files (the lab_host role) are refused before anything runs: the
# sandbox isolates the network, not the filesystem.
#
# The sandbox is `unshare --net --mount --uts --pid --fork` with its own tmpfs on
# /run/netns and /run/netvirt: the lab's namespaces, links and iptables chains
# exist only in there, and the machine's own network is never read or changed.
# The playbook builds the lab and prints its reachability matrix; then `ip netns`,
# `ip netns exec net0 ping 10.0.1.2` and the like work in the shell. Leaving the
# shell (exit, Ctrl-D) ends the sandbox: its pid namespace ends every process
# still in it, and with the last one the kernel frees the lab.
#
# Run as root (make try runs `make venv` first).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
VENV="$REPO/.venv"
LAB=${1:-${LAB:-seed002_bridge_netns}}
[ -n "$LAB" ] || LAB=seed002_bridge_netns
PLAYBOOK="$REPO/playbooks/$LAB.yml"

die() { printf 'try: %s\n' "$*" >&2; exit 1; }

# Why a playbook cannot be tried here, or nothing. The sandbox isolates the network (and /run/netns,
# /run/netvirt) only: a lab that needs other hosts, or that writes the machine's own files (the
# lab_host role installs packages and a venv under /opt/netvirt), is refused before anything runs.
why_not() {
    local book=$1 hosts imported books=("$1") reasons=()
    hosts=$(sed -n 's/^# test-hosts: *\([0-9][0-9]*\).*/\1/p' "$book" | head -n 1)
    if [ -n "$hosts" ] && [ "$hosts" -gt 1 ]; then
        reasons+=("it needs $hosts lab hosts reached over SSH, and make try builds one host inside a sandbox")
    fi
    while read -r imported; do
        [ -n "$imported" ] && books+=("$(dirname "$book")/$imported")
    done < <(sed -n 's/^ *ansible.builtin.import_playbook: *\([A-Za-z0-9_.-]*\).*/\1/p' "$book")
    if grep -qs 'netvirt\.linux\.lab_host' "${books[@]}"; then
        reasons+=("its role netvirt.linux.lab_host installs packages and writes /opt/netvirt/venv on this machine's own filesystem, which the sandbox does not isolate (it isolates the network only)")
    fi
    [ "${#reasons[@]}" -eq 0 ] || { local IFS=';'; printf '%s' "${reasons[*]}" | sed 's/;/; and /g'; }
}

labs() {
    local book names=()
    for book in "$REPO"/playbooks/*.yml; do
        [ -n "$(why_not "$book")" ] || names+=("$(basename "$book" .yml)")
    done
    printf '%s ' "${names[@]}"
}

# Inside the sandbox this script is pid 1 of its own pid namespace.
if [ "${NETVIRT_TRY_INSIDE:-}" != 1 ] || [ "$$" -ne 1 ]; then
    # -- outside: check, then start the sandbox with this script inside --------
    [[ "$LAB" =~ ^[A-Za-z0-9_-]+$ ]] || die "LAB=$LAB is not a playbook name; choose one of: $(labs)"
    [ -f "$PLAYBOOK" ] || die "no playbook playbooks/$LAB.yml; choose one of: $(labs)"
    reason=$(why_not "$PLAYBOOK")
    [ -z "$reason" ] || die "cannot try playbooks/$LAB.yml: $reason. Nothing was built. It can try: $(labs)"
    [ "$(id -u)" -eq 0 ] || die "needs root for its private sandbox (unshare --net --mount --uts --pid); run it as root"
    [ -x "$VENV/bin/ansible-playbook" ] || die "no $VENV: run make venv first"
    command -v unshare >/dev/null || die "unshare is missing (Debian package util-linux)"
    mkdir -p /run/netns /run/netvirt
    # The sandbox's init is this script again: pid 1 of a new pid namespace.
    NETVIRT_TRY_HOST_NETNS=$(readlink /proc/self/ns/net)
    export NETVIRT_TRY_INSIDE=1 NETVIRT_TRY_HOST_NETNS
    exec unshare --net --mount --uts --pid --fork --mount-proc --propagation private "$0" "$LAB"
fi

# -- inside the sandbox -----------------------------------------------------------
if [ -z "${NETVIRT_TRY_HOST_NETNS:-}" ] || [ "$(readlink /proc/self/ns/net)" = "$NETVIRT_TRY_HOST_NETNS" ]; then
    die "the sandbox shares the host's network namespace; refusing to build anything"
fi
unset NETVIRT_TRY_INSIDE NETVIRT_TRY_HOST_NETNS
mount -t tmpfs netvirt-try /run/netns
mount -t tmpfs netvirt-try-state /run/netvirt
ip link set lo up
hostname netvirt-try

export ANSIBLE_COLLECTIONS_PATH="$REPO/build/collections"
export ANSIBLE_LOCALHOST_WARNING=False
export ANSIBLE_INVENTORY_UNPARSED_WARNING=False
export ANSIBLE_RETRY_FILES_ENABLED=False
export PATH="$VENV/bin:$PATH"

printf '==> try: building playbooks/%s.yml in a private network sandbox\n' "$LAB"
built=0
"$VENV/bin/ansible-playbook" -i localhost, -c local -e "ansible_python_interpreter=$VENV/bin/python" \
    "$PLAYBOOK" || built=$?

if [ -n "${TRY_COMMAND:-}" ]; then
    [ "$built" -eq 0 ] || die "the playbook failed ($built); not running TRY_COMMAND"
    printf '==> try: %s\n' "$TRY_COMMAND"
    status=0
    bash -c "$TRY_COMMAND" || status=$?
    exit "$status"
fi

if [ "$built" -ne 0 ]; then
    printf '==> try: the playbook failed (%d); the shell shows what it left\n' "$built" >&2
fi
rcfile=$(mktemp /tmp/netvirt-try-rc.XXXXXX)
cat >"$rcfile" <<EOF
[ -f ~/.bashrc ] && . ~/.bashrc
PS1='[netvirt-try $LAB] \\w# '
EOF
cat <<EOF
==> try: you are in the sandbox; the host's network is not in here.
      ip netns                      the lab's namespaces
      ip netns exec NS ip -br addr  a namespace's addresses
      ip netns exec NS ping ADDR    traffic across the lab
    exit (or Ctrl-D) ends the sandbox and the lab with it.
EOF
status=0
bash --rcfile "$rcfile" -i || status=$?
rm -f "$rcfile"
exit "$status"
