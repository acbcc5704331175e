#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Manage named Linux network namespaces
version_added: 0.1.0
description:
  - Create or delete a named network namespace, the way C(ip netns add) and C(ip netns delete) do
    (a bind mount under C(/run/netns)).
  - The name is matched exactly; C(mario) is not taken as present because C(mario2) exists.
  - Brings the namespace's loopback device up, as every lab needs.
  - Returns the namespace's interfaces.
author:
  - netvirt.linux developers (@netvirt)
options:
  name:
    description:
      - Name of the namespace.
    type: str
    required: true
  state:
    description:
      - V(present) creates the namespace if needed; V(absent) deletes it.
      - Deleting a namespace destroys the virtual devices in it (a veth end in it takes its peer with it)
        unless a process still holds the namespace open.
      - V(absent) on a namespace that does not exist reports no change.
    type: str
    choices: [present, absent]
    default: present
  loopback:
    description:
      - Bring the loopback device C(lo) of the namespace up.
      - With V(false) the module leaves C(lo) as it is.
    type: bool
    default: true
  sysctls:
    description:
      - Kernel settings of the namespace, as a mapping of C(net.*) keys to values, for example
        C(net.ipv4.ip_forward) for a namespace that routes.
      - Each namespace has its own C(net.*) settings; keys outside C(net.*) are refused because they would
        change the whole host.
      - Write a dot inside an interface name as C(/), as C(sysctl) does (C(net.ipv4.conf.eth0/100.rp_filter)).
      - Keys not listed are left alone. Booleans are written as V(1) and V(0).
    type: dict
extends_documentation_fragment:
  - netvirt.linux._attributes
requirements:
  - pyroute2 >= 0.9.7 on the managed host
notes:
  - Needs root (C(CAP_NET_ADMIN) and C(CAP_SYS_ADMIN)); run the task with privilege escalation (C(become)) or as root.
seealso:
  - module: netvirt.linux.veth
"""

EXAMPLES = r"""
- name: Create the namespace of seed lab 000, loopback up
  netvirt.linux.netns:
    name: iris_network

- name: A namespace that routes between its interfaces
  netvirt.linux.netns:
    name: router
    sysctls:
      net.ipv4.ip_forward: 1
      net.ipv6.conf.all.forwarding: 1

- name: Delete it
  netvirt.linux.netns:
    name: iris_network
    state: absent
"""

RETURN = r"""
actions:
  description: The changes made, or that would be made in check mode, in order.
  returned: always
  type: list
  elements: str
  sample: ["create namespace iris_network", "set lo up in iris_network"]
netns:
  description: The namespace after the task (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the namespace.
      type: str
      sample: iris_network
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    loopback_up:
      description: Whether C(lo) is up.
      type: bool
      sample: true
    sysctls:
      description: The values of the managed sysctls, only when O(sysctls) is given.
      type: dict
      returned: when O(sysctls) is given
      sample: {"net.ipv4.ip_forward": "1"}
interfaces:
  description:
    - The interfaces in the namespace after the task; empty when it is absent.
    - Predicted in check mode.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: lo, index: 1, kind: null, mtu: 65536, up: true, addresses: ["127.0.0.1/8", "::1/128"]}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def _interfaces(result, desired, outcome):
    after = result["netns"]
    space = outcome.world.spaces.get(desired.name) if after["state"] == "present" else None
    result["interfaces"] = [link.as_dict() for link in space.links.values()] if space else []


def main():
    run_module("netns", "netns", extra=_interfaces)


if __name__ == "__main__":
    main()
