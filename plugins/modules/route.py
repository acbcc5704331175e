#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: route
short_description: Manage unicast routes in the host or in a network namespace
version_added: 0.1.0
description:
  - Add, change or delete one route, identified the way the kernel identifies it, by routing table,
    destination and metric.
  - A route with the same table, destination and metric but another gateway or device is replaced in place.
  - Routes the task does not name are left alone.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.route
seealso:
  - module: netvirt.linux.netns
  - module: netvirt.linux.veth
"""

EXAMPLES = r"""
- name: Default route of a client namespace through its router
  netvirt.linux.route:
    netns: client
    dst: default
    gateway: 10.0.1.254

- name: Reach a lab network through a device, in table 100
  netvirt.linux.route:
    netns: router
    dst: 10.0.9.0/24
    dev: up0
    table: "100"

- name: Remove it
  netvirt.linux.route:
    netns: router
    dst: 10.0.9.0/24
    table: "100"
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: [add route default via 10.0.1.254 in client]}
route: {description: The route after the task (predicted in check mode)., returned: always, type: dict, contains: {
    dev: {description: Output device. Only when present., type: str, sample: veth0},
    dst: {description: Destination network., type: str, sample: 0.0.0.0/0},
    gateway: {description: 'Next hop, if any. Only when present.', type: str, sample: 10.0.1.254},
    metric: {description: 'Metric, the kernel''s default when none was asked for.', type: int, sample: 0},
    state: {description: V(present) or V(absent)., type: str, sample: present},
    table: {description: Routing table number., type: int, sample: 254}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("route", "route")


if __name__ == "__main__":
    main()
