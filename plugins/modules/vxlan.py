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
  - The kernel fixes O(vni), O(local), O(remote) or O(group), O(dstport) and O(dev) when it creates the
    device. When they differ from the task, the module fails and changes nothing, unless O(recreate=true)
    lets it delete and create the device again.
  - Like a bridge, a vxlan device is netns-local; it is created in O(netns) and never moved. Its UDP socket
    and its underlay (O(dev), O(local), O(remote)) belong to that namespace.
  - A name already held by a device of another kind is an error; the module then changes nothing.
author:
  - netvirt.linux developers (@netvirt)
options:
  name:
    description:
      - Name of the device, in O(netns). At most 15 characters.
    type: str
    required: true
  state:
    description:
      - V(present) makes the device exist as described; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  vni:
    description:
      - VXLAN network identifier, 0 to 16777215. Every endpoint of one stretched segment uses the same one.
      - Required when O(state=present). Fixed at creation; see O(recreate).
    type: int
  local:
    description:
      - Source address of the encapsulated packets; an address of this host on the underlay.
      - Omit it to let the kernel choose by route (an existing device's local address is then left alone).
      - Fixed at creation; see O(recreate).
    type: str
  remote:
    description:
      - Unicast address of the one peer endpoint that gets frames with unknown or broadcast destinations
        (point-to-point). Mutually exclusive with O(group).
      - With neither O(remote) nor O(group) the device has no default destination (forwarding entries
        are then added by other means, such as C(bridge fdb append)).
      - Fixed at creation; see O(recreate).
    type: str
  group:
    description:
      - Multicast group all endpoints join; needs O(dev). Mutually exclusive with O(remote).
      - Fixed at creation; see O(recreate).
    type: str
  dstport:
    description:
      - UDP destination port of the encapsulated packets. The default is IANA's VXLAN port; the kernel
        alone would choose 8472, so give that for peers set up with C(ip link) without C(dstport).
      - Fixed at creation; see O(recreate).
    type: int
    default: 4789
  dev:
    description:
      - The underlay interface, in the same namespace. Needed with O(group); with O(remote) it pins the
        packets to that interface and sizes the MTU from it.
      - Omit it to leave the choice to the routing table (an existing device's is then left alone).
      - Fixed at creation; see O(recreate).
    type: str
  recreate:
    description:
      - When a fixed parameter differs from the existing device, delete the device and create it again as
        described (addresses, MTU, O(master) and up/down from the task are then applied to the new device).
      - V(false) makes such a difference an error that changes nothing.
    type: bool
    default: false
  master:
    description:
      - The bridge the device is a port of; it must exist in the same namespace (netvirt.linux.bridge).
      - V('') detaches the device from its bridge. Omit it to leave the bridge membership alone.
      - A bridge that lists its ports with netvirt.linux.bridge's O(netvirt.linux.bridge#module:ports) must
        list this device too, or that task detaches it again.
    type: str
  addresses:
    description:
      - The exact set of addresses, in CIDR form (C(10.50.0.1/24)), on the device itself (not on the underlay).
      - Addresses not listed are removed, except the IPv6 link-local ones the kernel assigns itself.
      - Omit it to leave the addresses alone; V([]) removes them all.
    type: list
    elements: str
  mtu:
    description:
      - MTU of the device. Omit it to leave the MTU alone; a new device gets its underlay's MTU less the
        50 bytes (IPv4) or 70 bytes (IPv6) of outer headers when O(dev) is given, else 1500.
    type: int
  up:
    description:
      - Whether the device is administratively up.
    type: bool
    default: true
extends_documentation_fragment:
  - netvirt.linux._netns
  - netvirt.linux._attributes
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
actions:
  description: The changes made, or that would be made in check mode, in order.
  returned: always
  type: list
  elements: str
  sample: ["create vxlan vx-lab in host with vni 42, local 10.99.0.1, remote 10.99.0.2, dstport 4789, dev eth0",
           "attach vx-lab to bridge br-lab in host", "set vx-lab up in host"]
vxlan:
  description: The device after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the device.
      type: str
      sample: vx-lab
    netns:
      description: Namespace of the device; null for the host's own.
      type: str
      sample: null
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    vni:
      description: VXLAN network identifier.
      type: int
      sample: 42
    local:
      description: Source address; null when the kernel chooses.
      type: str
      sample: 10.99.0.1
    remote:
      description: Unicast peer; null when none.
      type: str
      sample: 10.99.0.2
    group:
      description: Multicast group; null when none.
      type: str
      sample: null
    dstport:
      description: UDP destination port.
      type: int
      sample: 4789
    dev:
      description: Underlay interface; null when none is pinned.
      type: str
      sample: eth0
    mtu:
      description: MTU of the device.
      type: int
      sample: 1450
    up:
      description: Whether the device is administratively up.
      type: bool
      sample: true
    addresses:
      description: Addresses of the device, without kernel IPv6 link-local ones unless they were asked for.
      type: list
      elements: str
      sample: []
    master:
      description: The bridge the device is a port of; null when none.
      type: str
      sample: br-lab
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("vxlan", "vxlan", mutually_exclusive=[("remote", "group")], required_if=[("state", "present", ("vni",))])


if __name__ == "__main__":
    main()
