#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: macvlan
short_description: Manage macvlan devices, each with its own MAC address on a parent interface
version_added: 0.2.0
description:
  - Create, update or delete a macvlan device in the host or in a named network namespace, like
    C(ip link add NAME link PARENT type macvlan mode MODE). A macvlan is a virtual interface with its own MAC
    address on a parent Ethernet interface (O(link)); several macvlans on one parent are like hosts on one switch
    port, without a bridge.
  - The macvlan is made in the namespace of its parent, O(netns) for both, and stays there; the module never
    moves it.
  - Addresses, MTU, up/down state and the O(mode) are corrected in place.
  - The kernel fixes the parent (O(link)) when it creates the device, and a change of O(mode) to or from
    V(passthru). When they differ from the task, the module fails and changes nothing, unless O(recreate=true)
    lets it delete and create the device again.
  - A name already held by a device of another kind is an error; the module then changes nothing.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.macvlan
notes:
  - The parent may be down when the macvlan is made, but no frame passes until the parent is up (and, for a
    veth end, its peer too). netvirt.linux.veth brings its ends up by default.
  - The kernel deletes a macvlan together with its parent.
  - O(mode=source) (a list of allowed source MAC addresses) is not offered.
seealso:
  - module: netvirt.linux.veth
  - module: netvirt.linux.topology
  - name: macvlan in the kernel's ip-link(8) manual
    description: C(ip link add ... type macvlan mode ...).
    link: https://man7.org/linux/man-pages/man8/ip-link.8.html
"""

EXAMPLES = r"""
- name: Two macvlans in bridge mode on the veth end up0 of namespace n1; they reach each other and up0's peer
  netvirt.linux.macvlan:
    name: "{{ item.name }}"
    netns: n1
    link: up0
    addresses: ["{{ item.address }}"]
  loop:
    - {name: mv0, address: 10.60.0.1/24}
    - {name: mv1, address: 10.60.0.2/24}

- name: Isolate them from each other (changed in place)
  netvirt.linux.macvlan:
    name: mv0
    netns: n1
    link: up0
    mode: private

- name: Move the macvlan to another parent (it is recreated)
  netvirt.linux.macvlan:
    name: mv0
    netns: n1
    link: up1
    recreate: true

- name: Remove the macvlan
  netvirt.linux.macvlan:
    name: mv0
    netns: n1
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: ['create macvlan mv0 in n1 on up0, mode bridge', add address 10.60.0.1/24 to mv0 in n1, set mv0 up in n1]}
macvlan: {description: 'The device after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.', returned: always, type: dict,
   contains: {
    addresses: {description: 'Addresses of the device, without kernel IPv6 link-local ones unless asked for.', type: list, elements: str,
       sample: [10.60.0.1/24]},
    link: {description: Name of the parent; null when the kernel reports it in another namespace., type: str, sample: up0},
    mode: {description: The macvlan mode., type: str, sample: bridge},
    mtu: {description: MTU of the device., type: int, sample: 1500},
    name: {description: Name of the device., type: str, sample: mv0},
    netns: {description: Namespace of the device and of its parent; null for the host's own., type: str, sample: n1},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    up: {description: Whether the device is administratively up., type: bool, sample: true}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("macvlan", "macvlan")


if __name__ == "__main__":
    main()
