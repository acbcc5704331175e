#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tap
short_description: Manage persistent tun/tap devices for user-space programs
version_added: 0.1.0
description:
  - Create, update or delete a persistent tun or tap device in the host or in a named network namespace,
    like C(ip tuntap add), so that a program (a VM, a VPN, a packet generator) can open it later through
    C(/dev/net/tun).
  - O(owner) and O(group) let an unprivileged program attach to the device.
  - Addresses, MTU, up/down state, the bridge it is a port of (O(master)), the owner and group, and the
    packet-info and vnet_hdr flags are corrected in place on an existing device.
  - The kernel fixes O(mode) and O(multi_queue) when it creates the device. When they differ from the task,
    the module fails and changes nothing, unless O(recreate=true) lets it delete and create the device again.
  - A device of that name found in the host while the task wants it in a named namespace is moved there
    (tun/tap devices can change namespace, unlike bridges); it then loses its addresses and its bridge.
  - A name already held by a device of another kind is an error; the module then changes nothing.
  - The kernel reports these devices as kind C(tun), taps included (C(ip -d link) shows C(tun type tap)).
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.tap
notes:
  - The device is made persistent (C(TUNSETPERSIST)), so it outlives the module; the program that opens it
    must ask for the same mode and multi_queue, and sets packet-info and vnet_hdr for itself.
  - Owner and group names are resolved on the managed host.
seealso:
  - module: netvirt.linux.bridge
  - module: netvirt.linux.netns
"""

EXAMPLES = r"""
- name: A tap for a VM run by user qemu, on bridge br0
  netvirt.linux.tap:
    name: tap0
    owner: qemu
    master: br0

- name: Seed 004's tun0 for a VPN program, with an address
  netvirt.linux.tap:
    name: tun0
    mode: tun
    group: vpn
    addresses: [192.168.1.2/24]

- name: A multi-queue tap with vnet headers in a namespace, recreated if it exists with other fixed flags
  netvirt.linux.tap:
    name: tap-mq
    netns: lab
    multi_queue: true
    vnet_hdr: true
    recreate: true

- name: Remove the device
  netvirt.linux.tap:
    name: tap0
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: [create tap tap0 in host (owner 107), attach tap0 to bridge br0 in host, set tap0 up in host]}
tap: {description: 'The device after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.', returned: always, type: dict,
   contains: {
    addresses: {description: 'Addresses of the device, without kernel IPv6 link-local ones unless asked for.', type: list, elements: str, sample: []},
    group: {description: Numeric id of the owning group; null when none., type: int, sample: null},
    master: {description: The bridge the device is a port of; null when none., type: str, sample: br0},
    mode: {description: V(tap) or V(tun)., type: str, sample: tap},
    mtu: {description: MTU of the device., type: int, sample: 1500},
    multi_queue: {description: Whether the device is multi-queue., type: bool, sample: false},
    name: {description: Name of the device., type: str, sample: tap0},
    netns: {description: Namespace of the device; null for the host's own., type: str, sample: null},
    owner: {description: Numeric id of the owning user; null when none., type: int, sample: 107},
    pi: {description: Whether frames carry the packet-information header., type: bool, sample: false},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    up: {description: Whether the device is administratively up., type: bool, sample: true},
    vnet_hdr: {description: Whether frames carry a virtio-net header., type: bool, sample: false}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("tap", "tap")


if __name__ == "__main__":
    main()
