#!/bin/sh
# Probe the kernel features netvirt.linux labs need, changing nothing.
# Usage: kernel_features.sh FEATURE... (netns veth bridge tun vxlan)
# Prints one line per missing feature, "netvirt-missing: FEATURE: why", and
# nothing of its own when all are there. The prefix lets the role tell these
# lines from what a login shell prints on the same tty (a motd, a .bashrc's
# warnings: pyenv's rehash, for one). Each device is tried in a throwaway network namespace
# (unshare --net) that vanishes with the probe, so no device outlives it.
# Without iproute2 (a fresh host, before the role installs it) the probe falls
# back to the kernel's module list and build configuration.

say() {
    echo "netvirt-missing: $*"
}

config_has() {
    # CONFIG_X=y or =m in the running kernel's configuration, when it is readable.
    release=$(uname -r)
    for file in "/boot/config-$release" /proc/config.gz; do
        [ -r "$file" ] || continue
        case "$file" in
            *.gz) zcat "$file" 2>/dev/null | grep -Eq "^$1=(y|m)" && return 0 ;;
            *) grep -Eq "^$1=(y|m)" "$file" && return 0 ;;
        esac
        return 1
    done
    # No configuration to read: look for the module itself.
    [ -d "/sys/module/$2" ] && return 0
    grep -Eq "/$2\.ko" "/lib/modules/$release/modules.dep" "/lib/modules/$release/modules.builtin" 2>/dev/null
}

if [ "$(id -u)" -ne 0 ]; then
    say "privileges: the probe runs as uid $(id -u); run the role as root (become: true)"
    exit 0
fi
if ! command -v unshare >/dev/null 2>&1; then
    say "unshare: util-linux's unshare is missing; install util-linux"
    exit 0
fi
if unshare --net true 2>/dev/null; then
    netns=yes
else
    netns=no
fi
have_ip=no
command -v ip >/dev/null 2>&1 && have_ip=yes

try_link() {
    # try_link FEATURE CONFIG MODULE ip-arguments...
    feature=$1 config=$2 module=$3
    shift 3
    if [ "$netns" = yes ] && [ "$have_ip" = yes ]; then
        out=$(unshare --net ip "$@" 2>&1) && return 0
        say "$feature: the kernel refused a test device ($(echo "$out" | head -n 1)); needs $config"
        return 0
    fi
    config_has "$config" "$module" || say "$feature: the kernel has no $config"
}

for feature in "$@"; do
    case "$feature" in
        netns)
            [ "$netns" = yes ] || say "netns: cannot create a network namespace (unshare --net failed); needs CONFIG_NET_NS" ;;
        veth)
            try_link veth CONFIG_VETH veth link add nvprobe0 type veth peer name nvprobe1 ;;
        bridge)
            try_link bridge CONFIG_BRIDGE bridge link add nvprobe0 type bridge ;;
        tun)
            if [ ! -c /dev/net/tun ]; then
                say "tun: /dev/net/tun is missing; needs CONFIG_TUN"
            else
                try_link tun CONFIG_TUN tun tuntap add nvprobe0 mode tap
            fi ;;
        vxlan)
            try_link vxlan CONFIG_VXLAN vxlan link add nvprobe0 type vxlan id 1 dstport 4789 ;;
        *)
            say "$feature: unknown feature (use netns, veth, bridge, tun, vxlan)" ;;
    esac
done
exit 0
