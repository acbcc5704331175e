#!/bin/sh
# Molecule's dependency step for every scenario of this collection's roles:
# make this checkout the collection netvirt.linux under DIR (the scenario's
# ephemeral directory, which its provisioner puts first on
# ANSIBLE_COLLECTIONS_PATH), as a link. Nothing is installed where anything
# else looks: not ~/.ansible/collections, where ansible-compat's prerun would
# install it (the scenarios set `prerun: false`), so a later
# `ansible-galaxy collection install` of a tarball is never "Nothing to do".
set -eu
[ "$#" -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$root/galaxy.yml" ] || { echo "$0: $root holds no galaxy.yml" >&2; exit 1; }
mkdir -p "$1/ansible_collections/netvirt"
ln -sfn "$root" "$1/ansible_collections/netvirt/linux"
echo "netvirt.linux: $1/ansible_collections/netvirt/linux -> $root"
