#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: topology
short_description: Reconcile a whole lab - namespaces, veths, bridges, taps, routes - in one task
version_added: 0.1.0
description:
  - Builds, updates or removes a whole lab described as lists of namespaces, veth pairs, bridges, taps and
    routes, in one task, with the same engine as the single-object modules (each entry takes that module's
    options).
  - The description is checked as a whole before anything is touched (duplicate names, ports, peers, masters,
    devices or namespaces that the lab does not describe, overlapping addresses on one interface, one address on
    two interfaces of a namespace); every problem is reported at once.
  - Each namespace is read once, over one netlink socket kept for the run; changes are applied in dependency
    order (namespaces, links, ports, addresses, up, routes).
  - "Ownership: every link the lab creates, and the loopback device of every namespace it creates, carries the
    interface alias C(netvirt:lab=NAME). O(state=absent) removes exactly the objects carrying the lab's marker,
    and O(prune=true) removes those the description no longer names. An object with a matching name but without
    the marker is never taken over nor removed: the task fails instead."
author:
  - netvirt.linux developers (@netvirt)
options:
  name:
    description:
      - Name of the lab; the ownership marker is C(netvirt:lab=NAME). 1 to 64 characters, no white space.
    type: str
    required: true
  state:
    description:
      - V(present) makes the kernel hold the lab as described.
      - V(absent) removes every object marked as the lab's, whatever the description says (it may be omitted).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - With O(state=present), remove the lab's objects (by marker) that the description no longer names.
    type: bool
    default: true
  namespaces:
    description:
      - Namespaces, each with the options of M(netvirt.linux.netns) (V(name), V(loopback), V(sysctls)).
    type: list
    elements: dict
    default: []
  veths:
    description:
      - veth pairs, each with the options of M(netvirt.linux.veth) except V(state) (V(name), V(netns), V(peer),
        V(peer_netns), V(addresses), V(peer_addresses), V(mtu), V(up)).
      - A namespace named here must be one of O(namespaces), or omitted for the host.
    type: list
    elements: dict
    default: []
  bridges:
    description:
      - Bridges, each with the options of M(netvirt.linux.bridge) except V(state); every port must be a veth end or
        tap of the lab in the bridge's namespace.
    type: list
    elements: dict
    default: []
  taps:
    description:
      - tun/tap devices, each with the options of M(netvirt.linux.tap) except V(state) and V(recreate); a V(master)
        must be a bridge of the lab that lists the tap among its ports (or does not manage its ports).
    type: list
    elements: dict
    default: []
  routes:
    description:
      - Routes, each with the options of M(netvirt.linux.route) except V(state); a V(dev) must be an interface of the
        lab. Routes live in the lab's namespaces and go with them; a route in the host is not removed by
        O(state=absent).
    type: list
    elements: dict
    default: []
extends_documentation_fragment:
  - netvirt.linux._attributes
requirements:
  - pyroute2 >= 0.9.7 on the managed host
notes:
  - Needs root (C(CAP_NET_ADMIN) and C(CAP_SYS_ADMIN)); run the task with privilege escalation (C(become)) or as root.
  - Reads every network namespace of the host, to find what the lab owns.
seealso:
  - module: netvirt.linux.netns
  - module: netvirt.linux.veth
  - module: netvirt.linux.bridge
  - module: netvirt.linux.tap
  - module: netvirt.linux.route
"""

EXAMPLES = r"""
- name: Three namespaces on one bridge, in one task
  netvirt.linux.topology:
    name: star
    namespaces:
      - {name: h1}
      - {name: h2}
      - {name: h3}
    veths:
      - {name: eth0, netns: h1, addresses: [10.0.0.1/24], peer: h1-br}
      - {name: eth0, netns: h2, addresses: [10.0.0.2/24], peer: h2-br}
      - {name: eth0, netns: h3, addresses: [10.0.0.3/24], peer: h3-br}
    bridges:
      - {name: br-star, stp: false, ports: [h1-br, h2-br, h3-br]}

- name: A hundred namespaces on one bridge, written as a loop
  netvirt.linux.topology:
    name: s100
    namespaces: "{{ lab_hosts | map(attribute='ns') | list }}"
    veths: "{{ lab_hosts | map(attribute='veth') | list }}"
    bridges:
      - {name: br-s100, ports: "{{ lab_hosts | map(attribute='veth.peer') | list }}"}
  vars:
    lab_hosts: >-
      {%- set hosts = [] -%}
      {%- for i in range(100) -%}
      {%- set _ = hosts.append({'ns': {'name': 'n%d' % i},
                                'veth': {'name': 'eth0', 'netns': 'n%d' % i, 'peer': 'n%d-br' % i,
                                         'addresses': ['10.0.%d.%d/16' % (i // 250, i % 250 + 1)]}}) -%}
      {%- endfor -%}
      {{ hosts }}

- name: Remove everything the lab made, and nothing else
  netvirt.linux.topology:
    name: star
    state: absent
"""

RETURN = r"""
actions:
  description: The changes made, or that would be made in check mode, in the order they are applied.
  returned: always
  type: list
  elements: str
  sample: ["create namespace h1", "create veth eth0 in h1 with peer h1-br in host", "mark lo in h1 as netvirt:lab=star"]
objects:
  description: One entry per object of the description, then one per object removed by ownership.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: Kind, namespace and name of the object.
      type: list
      sample: ["veth", "h1", "eth0"]
    changed:
      description: Whether the object changed.
      type: bool
      sample: true
    actions:
      description: The changes to this object.
      type: list
      elements: str
      sample: ["create veth eth0 in h1 with peer h1-br in host"]
    after:
      description: The object after the task, as the single-object module returns it.
      type: dict
      sample: {"name": "eth0", "netns": "h1", "state": "present"}
summary:
  description: Counts of objects described, changed and removed, and of actions.
  returned: always
  type: dict
  sample: {"objects": 7, "changed": 7, "removed": 0, "actions": 31}
elapsed:
  description: Seconds the module spent reading, planning and applying (without Ansible's own overhead).
  returned: always
  type: float
  sample: 0.412
peak_memory_kb:
  description: Peak resident memory of the module process, in KiB.
  returned: always
  type: int
  sample: 41200
"""

import resource
import time

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError
from ansible_collections.netvirt.linux.plugins.module_utils._module import (
    base_result,
    netvirt_module,
    resolve_id,
    run,
)
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build, marker, validate_lab_name

SECTIONS = ("namespaces", "veths", "bridges", "taps", "routes")

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    prune=dict(type="bool", default=True),
    **{section: dict(type="list", elements="dict", default=[]) for section in SECTIONS}
)


def main():
    started = time.monotonic()
    module = netvirt_module(ARGUMENT_SPEC, netns_option=False, supports_check_mode=True)
    params = module.params
    try:
        lab = validate_lab_name(params["name"])
        if params["state"] == "absent":
            desired, prune = [], True
        else:
            desired = build({s: params[s] for s in SECTIONS}, resolve_id=resolve_id).objects
            prune = params["prune"]
        # Results come from the plan's views: no second read of every namespace.
        outcome = run(module, desired, owner=marker(lab), prune=prune, read_back=False)
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    result = base_result(module, outcome)
    if module._diff:
        # One diff per object, so Ansible shows each change on its own.
        result["diff"] = outcome.diffs()
    objects = outcome.plan.objects
    result["objects"] = [
        {"key": list(obj.key), "changed": obj.changed, "actions": [a.describe() for a in obj.actions],
         "after": obj.after} for obj in objects]
    result["summary"] = {
        "objects": len(desired),
        "changed": sum(1 for obj in objects[:len(desired)] if obj.changed),
        "removed": len(objects) - len(desired),
        "actions": len(result["actions"]),
    }
    result["elapsed"] = round(time.monotonic() - started, 4)
    result["peak_memory_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    module.exit_json(**result)


if __name__ == "__main__":
    main()
