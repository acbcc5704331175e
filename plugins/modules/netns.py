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
extends_documentation_fragment:
  - netvirt.linux.kinds.netns
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
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: [create namespace iris_network, set lo up in iris_network]}
interfaces: {description: [The interfaces in the namespace after the task; empty when it is absent., Predicted in check mode.], returned: always, type: list,
   elements: dict, sample: [{name: lo, index: 1, kind: null, mtu: 65536, up: true, addresses: [127.0.0.1/8, '::1/128']}]}
netns: {description: The namespace after the task (predicted in check mode)., returned: always, type: dict, contains: {
    loopback_up: {description: Whether C(lo) is up., type: bool, sample: true},
    name: {description: Name of the namespace., type: str, sample: iris_network},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    sysctls: {description: 'The values of the managed sysctls, only when O(sysctls) is given.', type: dict, returned: when O(sysctls) is given,
       sample: {net.ipv4.ip_forward: '1'}}}}
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
