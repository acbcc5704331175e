#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge
short_description: Manage Linux bridges, their options and their ports, in any network namespace
version_added: 0.1.0
description:
  - Create, update or delete a Linux bridge in the host or in a named network namespace.
  - STP, timers and priority, MTU, addresses and up/down state are corrected in place on an existing bridge.
  - O(ports) is the exact set of interfaces attached to the bridge, optionally with per-port settings.
    Interfaces not listed are detached (never deleted); a listed interface that does not exist in the
    bridge's namespace is an error.
  - A bridge is identified by its name and namespace. The kernel marks bridges netns-local, so a bridge
    cannot move between namespaces. When the task wants a bridge in a named namespace that does not hold
    it yet, while the host holds a bridge of that name, the module fails and says what to do rather
    than build a second bridge beside the first.
  - A name already held by a device of another kind is an error; the module then changes nothing.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.bridge
notes:
  - Timers are in seconds, as C(brctl) takes them; C(ip -d link) shows them in hundredths of a second.
  - VLAN filtering is not offered; it needs a kernel built with C(CONFIG_BRIDGE_VLAN_FILTERING).
  - A port's default STP cost comes from its link speed and may change when its carrier changes, so it
    is only managed when a port's C(cost) is given.
  - To move a bridge to another namespace, delete it (O(state=absent)) and create it in the target
    namespace; move the ports there too (netvirt.linux.veth moves veth ends, netvirt.linux.tap moves taps).
seealso:
  - module: netvirt.linux.veth
  - module: netvirt.linux.tap
  - module: netvirt.linux.netns
"""

EXAMPLES = r"""
- name: Seed lab 003 - bridge br-test in the host, STP off, two veth ends attached
  netvirt.linux.bridge:
    name: br-test
    stp: false
    ports:
      - br-tap1
      - br-tap2

- name: Seed lab 002 - bridge br inside namespace "bridge"
  netvirt.linux.bridge:
    name: br
    netns: bridge
    ports: [bridge-net0, bridge-net1]

- name: A bridge with an address (seed 004's br0), STP on with short timers and a port cost
  netvirt.linux.bridge:
    name: br0
    addresses: [10.0.1.254/24]
    stp: true
    forward_delay: 4
    hello_time: 1
    priority: 4096
    ports:
      - name: veth-a
        cost: 10
      - name: tap0
        hairpin: true

- name: Detach every port but keep the bridge
  netvirt.linux.bridge:
    name: br0
    ports: []

- name: Remove the bridge (its ports are detached, not deleted)
  netvirt.linux.bridge:
    name: br
    netns: bridge
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: [create bridge br-test in host with stp off, attach br-tap1 to bridge br-test in host, set br-test up in host]}
bridge: {description: 'The bridge after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.', returned: always, type: dict,
   contains: {
    addresses: {description: 'Addresses of the bridge, without kernel IPv6 link-local ones unless asked for.', type: list, elements: str,
       sample: [10.0.1.254/24]},
    ageing_time: {description: MAC ageing time in seconds., type: float, sample: 300.0},
    forward_delay: {description: Forward delay in seconds., type: float, sample: 15.0},
    hello_time: {description: Hello time in seconds., type: float, sample: 2.0},
    max_age: {description: Max age in seconds., type: float, sample: 20.0},
    mtu: {description: MTU of the bridge., type: int, sample: 1500},
    name: {description: Name of the bridge., type: str, sample: br-test},
    netns: {description: Namespace of the bridge; null for the host's own., type: str, sample: null},
    ports: {description: 'The attached interfaces by name, with the port settings the task manages.', type: list, elements: dict, sample: [{name: br-tap1},
       {name: br-tap2, cost: 10}]},
    priority: {description: Bridge priority., type: int, sample: 32768},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    stp: {description: Whether STP is on., type: bool, sample: false},
    up: {description: Whether the bridge is administratively up., type: bool, sample: true}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("bridge", "bridge")


if __name__ == "__main__":
    main()
