#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vxlan
short_description: Manage VXLAN tunnel endpoints that stretch a Linux bridge across hosts
version_added: 0.1.0
description:
  - Create, update or delete a VXLAN device in the host or in a named network namespace, like
    C(ip link add NAME type vxlan id VNI ...). Put it on a bridge (O(master)) on each of several hosts, all
    with the same O(vni), and the bridges become one Ethernet segment over the hosts' own network (the underlay).
  - Addresses, MTU, up/down state and the bridge it is a port of are corrected in place.
  - For three or more hosts without a multicast underlay, O(remotes) lists the other endpoints; each gets a copy
    of broadcast and unknown frames (head-end replication, the all-zeros entries of C(bridge fdb append)).
    They are changed in place.
  - The kernel fixes O(vni), O(local), O(remote) or O(group), O(dstport) and O(dev) when it creates the
    device. When they differ from the task, the module fails and changes nothing, unless O(recreate=true)
    lets it delete and create the device again.
  - Like a bridge, a vxlan device is netns-local; it is created in O(netns) and never moved. Its UDP socket
    and its underlay (O(dev), O(local), O(remote)) belong to that namespace.
  - A name already held by a device of another kind is an error; the module then changes nothing.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.vxlan
notes:
  - The underlay must carry UDP to O(dstport) between the hosts; a firewall on the way must let it through.
  - Frames lose 50 bytes (IPv4 underlay) to the outer headers; keep the MTU of everything on the stretched
    bridge at or below the vxlan device's.
  - Two vxlan devices in one namespace cannot share the same O(vni), O(dstport) and O(local).
seealso:
  - module: netvirt.linux.bridge
  - module: netvirt.linux.veth
"""

EXAMPLES = r"""
- name: Stretch bridge br-lab to the peer host 10.99.0.2 (run the mirror task there)
  netvirt.linux.vxlan:
    name: vx-lab
    vni: 42
    local: 10.99.0.1
    remote: 10.99.0.2
    dev: eth0
    master: br-lab

- name: One segment among many hosts, by multicast
  netvirt.linux.vxlan:
    name: vx100
    vni: 100
    group: 239.1.1.100
    dev: eth1
    master: br100

- name: One segment among three hosts without multicast (each host lists the other two)
  netvirt.linux.vxlan:
    name: vx200
    vni: 200
    local: 10.99.0.1
    remotes: [10.99.0.2, 10.99.0.3]
    dev: eth0
    master: br200

- name: Change the peer of an existing endpoint (the device is recreated)
  netvirt.linux.vxlan:
    name: vx-lab
    vni: 42
    remote: 10.99.0.3
    dev: eth0
    master: br-lab
    recreate: true

- name: Remove the endpoint
  netvirt.linux.vxlan:
    name: vx-lab
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: ['create vxlan vx-lab in host with vni 42, local 10.99.0.1, remote 10.99.0.2, dstport 4789, dev eth0', attach vx-lab to bridge br-lab in host,
   set vx-lab up in host]}
vxlan: {description: 'The device after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.', returned: always, type: dict,
   contains: {
    addresses: {description: 'Addresses of the device, without kernel IPv6 link-local ones unless asked for.', type: list, elements: str, sample: []},
    dev: {description: Underlay interface; null when none is pinned., type: str, sample: eth0},
    dstport: {description: UDP destination port., type: int, sample: 4789},
    group: {description: Multicast group; null when none., type: str, sample: null},
    local: {description: Source address; null when the kernel chooses., type: str, sample: 10.99.0.1},
    master: {description: The bridge the device is a port of; null when none., type: str, sample: br-lab},
    mtu: {description: MTU of the device., type: int, sample: 1450},
    name: {description: Name of the device., type: str, sample: vx-lab},
    netns: {description: Namespace of the device; null for the host's own., type: str, sample: null},
    remote: {description: Unicast peer; null when none., type: str, sample: 10.99.0.2},
    remotes: {description: 'Head-end replication''s peers (O(remotes)), sorted; [] when none.', type: list, elements: str, sample: []},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    up: {description: Whether the device is administratively up., type: bool, sample: true},
    vni: {description: VXLAN network identifier., type: int, sample: 42}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("vxlan", "vxlan", mutually_exclusive=[("remote", "group")])


if __name__ == "__main__":
    main()
