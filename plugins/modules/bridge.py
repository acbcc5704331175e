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
options:
  name:
    description:
      - Name of the bridge, in O(netns). At most 15 characters.
    type: str
    required: true
  state:
    description:
      - V(present) makes the bridge exist as described; V(absent) deletes it. Deleting a bridge detaches
        its ports; the kernel never deletes them with it.
    type: str
    choices: [present, absent]
    default: present
  ports:
    description:
      - The exact set of interfaces attached to the bridge. Each entry is an interface name, or a
        dictionary with the interface's C(name) and optional port settings - C(cost) (STP path cost,
        1 to 65535), C(priority) (STP port priority, 0 to 63) and C(hairpin) (boolean; frames may leave
        through the port they came in on, also called reflective relay).
      - Every interface must already exist in the bridge's namespace (create veth ends or taps first).
        An interface attached to another bridge is moved to this one.
      - Interfaces attached to the bridge but not listed are detached, not deleted.
      - Omit it to leave the ports alone; V([]) detaches them all.
      - A port setting that is not given is left as it is.
    type: list
    elements: raw
  stp:
    description:
      - Whether the bridge runs the spanning tree protocol (in the kernel). Omit it to leave it alone
        (a new bridge has STP off).
    type: bool
  forward_delay:
    description:
      - Time, in seconds, a port spends in the listening and learning states before forwarding, with
        up to two decimals. 2 to 30 while STP is on. Omit it to leave it alone (a new bridge has 15).
    type: float
  hello_time:
    description:
      - Interval in seconds between STP hello packets, 1 to 10. Omit it to leave it alone (a new bridge has 2).
    type: float
  max_age:
    description:
      - Maximum age in seconds of STP information, 6 to 40. Omit it to leave it alone (a new bridge has 20).
    type: float
  ageing_time:
    description:
      - Time in seconds a learned MAC address stays in the forwarding database; V(0) makes the bridge
        flood every frame like a hub. Omit it to leave it alone (a new bridge has 300).
    type: float
  priority:
    description:
      - Bridge priority for the STP root election, 0 to 65535 (lower wins). Omit it to leave it alone
        (a new bridge has 32768).
    type: int
  addresses:
    description:
      - The exact set of addresses, in CIDR form (C(10.0.1.254/24), C(fd00::1/64)), on the bridge itself.
      - Addresses not listed are removed, except the IPv6 link-local ones the kernel assigns itself.
      - Omit it to leave the addresses alone; V([]) removes them all.
    type: list
    elements: str
  mtu:
    description:
      - MTU of the bridge. Omit it to let the kernel manage it (the smallest MTU of the ports, 1500 when
        the bridge has none).
      - A bridge MTU set by hand sticks when ports join.
    type: int
  up:
    description:
      - Whether the bridge is administratively up. It does not change the ports' own up/down state.
    type: bool
    default: true
extends_documentation_fragment:
  - netvirt.linux._netns
  - netvirt.linux._attributes
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
actions:
  description: The changes made, or that would be made in check mode, in order.
  returned: always
  type: list
  elements: str
  sample: ["create bridge br-test in host with stp off", "attach br-tap1 to bridge br-test in host", "set br-test up in host"]
bridge:
  description: The bridge after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the bridge.
      type: str
      sample: br-test
    netns:
      description: Namespace of the bridge; null for the host's own.
      type: str
      sample: null
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    up:
      description: Whether the bridge is administratively up.
      type: bool
      sample: true
    mtu:
      description: MTU of the bridge.
      type: int
      sample: 1500
    addresses:
      description: Addresses of the bridge, without kernel IPv6 link-local ones unless they were asked for.
      type: list
      elements: str
      sample: ["10.0.1.254/24"]
    stp:
      description: Whether STP is on.
      type: bool
      sample: false
    forward_delay:
      description: Forward delay in seconds.
      type: float
      sample: 15.0
    hello_time:
      description: Hello time in seconds.
      type: float
      sample: 2.0
    max_age:
      description: Max age in seconds.
      type: float
      sample: 20.0
    ageing_time:
      description: MAC ageing time in seconds.
      type: float
      sample: 300.0
    priority:
      description: Bridge priority.
      type: int
      sample: 32768
    ports:
      description: The attached interfaces by name, with the port settings the task manages.
      type: list
      elements: dict
      sample: [{"name": "br-tap1"}, {"name": "br-tap2", "cost": 10}]
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("bridge", "bridge")


if __name__ == "__main__":
    main()
