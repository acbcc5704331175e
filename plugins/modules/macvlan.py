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
options:
  name:
    description:
      - Name of the macvlan device, in O(netns). At most 15 characters.
    type: str
    required: true
  state:
    description:
      - V(present) makes the device exist as described; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  link:
    description:
      - The parent, the Ethernet interface the macvlan is made on (a veth end, a tap, a physical NIC), in the
        same namespace O(netns). Required when O(state=present).
      - It must not be a bridge or bond port (the kernel refuses those), nor a macvlan itself.
      - Fixed at creation; see O(recreate).
    type: str
  mode:
    description:
      - How macvlans of one parent reach each other. V(bridge) switches frames between them directly;
        V(private) isolates them from each other; V(vepa) sends every frame out of the parent, so they reach
        each other only through a switch that reflects frames (hairpin); V(passthru) gives the one macvlan the
        parent itself (no other macvlan on that parent).
      - Changed in place, except to or from V(passthru), which the kernel fixes at creation; see O(recreate).
    type: str
    choices: [bridge, private, vepa, passthru]
    default: bridge
  recreate:
    description:
      - When the parent O(link) differs from the existing device's, or O(mode) must change to or from
        V(passthru), delete the device and create it again as described (it gets a new MAC address; addresses,
        MTU and up/down from the task are then applied to the new device).
      - V(false) makes such a difference an error that changes nothing.
    type: bool
    default: false
  addresses:
    description:
      - The exact set of addresses, in CIDR form (C(10.1.1.2/24), C(fd00::1/64)), on the macvlan.
      - Addresses not listed are removed, except the IPv6 link-local ones the kernel assigns itself.
      - Omit it to leave the addresses alone; V([]) removes them all.
    type: list
    elements: str
  mtu:
    description:
      - MTU of the macvlan, at most its parent's. Omit it to leave the MTU alone (a new macvlan gets its
        parent's).
    type: int
  up:
    description:
      - Whether the device is administratively up. Traffic also needs the parent up.
    type: bool
    default: true
extends_documentation_fragment:
  - netvirt.linux._netns
  - netvirt.linux._attributes
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
actions:
  description: The changes made, or that would be made in check mode, in order.
  returned: always
  type: list
  elements: str
  sample: ["create macvlan mv0 in n1 on up0, mode bridge", "add address 10.60.0.1/24 to mv0 in n1",
           "set mv0 up in n1"]
macvlan:
  description: The device after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the device.
      type: str
      sample: mv0
    netns:
      description: Namespace of the device and of its parent; null for the host's own.
      type: str
      sample: n1
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    link:
      description: Name of the parent; null when the kernel reports it in another namespace.
      type: str
      sample: up0
    mode:
      description: The macvlan mode.
      type: str
      sample: bridge
    mtu:
      description: MTU of the device.
      type: int
      sample: 1500
    up:
      description: Whether the device is administratively up.
      type: bool
      sample: true
    addresses:
      description: Addresses of the device, without kernel IPv6 link-local ones unless they were asked for.
      type: list
      elements: str
      sample: ["10.60.0.1/24"]
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("macvlan", "macvlan", required_if=[("state", "present", ("link",))])


if __name__ == "__main__":
    main()
