#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: veth
short_description: Manage veth pairs, each end in its own network namespace
version_added: 0.1.0
description:
  - Create, update or delete a veth pair whose ends live in the host or in named network namespaces.
  - Each end is created straight in its namespace. A pair that already exists with the right names
    but sits in other namespaces (for example made the way the C(ip) tutorials do it, both ends in the
    host and then one moved) is moved where it belongs, not duplicated.
  - Addresses, MTU and up/down state are corrected in place.
  - A name already held by a device of another kind, or by a veth paired with another peer, is an error;
    the module then changes nothing.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.veth
notes:
  - A veth end moved between namespaces loses its addresses and goes down; the module moves first and
    sets addresses and state afterwards.
  - A freshly upped veth shows C(NO-CARRIER) for a moment until the kernel sees its peer up.
seealso:
  - module: netvirt.linux.netns
"""

EXAMPLES = r"""
- name: Seed lab 000 - the host joined to namespace iris_network
  netvirt.linux.veth:
    name: veth0
    addresses: [10.1.1.2/24]
    peer: iris_veth
    peer_netns: iris_network
    peer_addresses: [10.1.1.1/24]

- name: Two namespaces joined directly, MTU 9000
  netvirt.linux.veth:
    name: tap1
    netns: ns1
    peer: tap2
    peer_netns: ns2
    mtu: 9000

- name: Both ends in namespace lab1 (an omitted peer_netns is the namespace of the first end)
  netvirt.linux.veth:
    name: v0
    netns: lab1
    peer: v0p

- name: First end in namespace lab1, its peer in the host's own namespace (the empty string)
  netvirt.linux.veth:
    name: eth0
    netns: lab1
    peer: lab1-br
    peer_netns: ""

- name: Create a pair but keep it down
  netvirt.linux.veth:
    name: veth-a
    peer: veth-b
    up: false

- name: Remove the pair
  netvirt.linux.veth:
    name: veth0
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: [create veth veth0 in host with peer iris_veth in iris_network, add address 10.1.1.2/24 to veth0 in host]}
veth: {description: 'The pair after the task (predicted in check mode). Only C(name), C(netns) and C(state) when absent.', returned: always, type: dict,
   contains: {
    addresses: {description: 'Addresses of the first end, without kernel IPv6 link-local ones unless asked for.', type: list, elements: str,
       sample: [10.1.1.2/24]},
    mtu: {description: MTU of the first end., type: int, sample: 1500},
    name: {description: Name of the first end., type: str, sample: veth0},
    netns: {description: Namespace of the first end; null for the host's own., type: str, sample: null},
    peer: {description: Name of the other end., type: str, sample: iris_veth},
    peer_addresses: {description: 'Addresses of the other end, likewise.', type: list, elements: str, sample: [10.1.1.1/24]},
    peer_mtu: {description: MTU of the other end., type: int, sample: 1500},
    peer_netns: {description: Namespace of the other end; null for the host's own., type: str, sample: iris_network},
    peer_shaping: {description: 'The other end''s, likewise. Only when set.', type: dict, sample: {rate: 10mbit, delay: 20ms}},
    shaping: {description: 'The first end''s shaping (a root qdisc of M(netvirt.linux.shaping)), as O(shaping) takes it. Only when set.', type: dict,
       sample: {rate: 10mbit}},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    up: {description: Whether both ends are administratively up., type: bool, sample: true}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("veth", "veth")


if __name__ == "__main__":
    main()
