#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: topology
short_description: Reconcile a whole lab - namespaces, veths, bridges, taps, routes, iptables chains - in one task
version_added: 0.1.0
description:
  - Builds, updates or removes a whole lab described as lists of namespaces, veth pairs, bridges, taps,
    routes and iptables chains, in one task, with the same engines as the single-object modules (each entry takes
    that module's options).
  - Each entry's options are checked and converted as Ansible does a single module's options (a value from
    C(-e), such as C(mtu=9000), arrives as a string and becomes a number).
  - The description is then checked as a whole before anything is read or touched (duplicate names, ports, peers,
    masters, devices or namespaces that the lab does not describe, one address on two interfaces of a namespace,
    one address twice on one L2 segment - a veth pair, or a bridge with its ports and the far ends of its veth
    ports -, a route's gateway on no subnet the lab gives its namespace, and what contradicts itself as the kernel
    would say - a macvlan made on a bridge's port, a device with two masters, two vxlans with one vni, dstport and
    address family in a namespace, two routes with one table, destination and metric); every problem is reported
    at once, by the entry's place in the description (for example C(veths[2])).
  - What the kernel accepts is never refused, only warned of - overlapping subnets on two interfaces of a
    namespace (seed 004 puts a bridge's address beside a veth's on one subnet), overlapping addresses on one
    interface.
  - Objects are planned, whatever the order of the sections and entries, each after what it stands on (its
    namespace, a macvlan's parent, a vxlan's underlay, a bridge's ports, a port's master, the interface whose
    subnet holds a route's gateway), in the registry's order otherwise; objects that stand on each other are
    refused. Before changing anything, a host route's gateway must be on a subnet connected to the host (its own
    interfaces count) and a vxlan's vni free in its namespace, as the kernel would require.
  - Each namespace is read once, over one netlink socket kept for the run; changes are applied in dependency
    order (namespaces, links, ports, addresses, up, routes).
  - "Ownership: every link the lab creates, and the loopback device of every namespace it creates, carries the
    interface alias C(netvirt:lab=NAME). O(state=absent) removes exactly the objects carrying the lab's marker,
    and O(prune=true) removes those the description no longer names. An object with a matching name but without
    the marker is never taken over nor removed: the task fails instead."
  - "One rule decides for a re-run, a prune and a teardown alike: an interface is the lab's when its marker says
    so, or when the lab's record lists it as made by a run killed before it could mark it. An object is the
    lab's only when every interface it stands for is: a veth pair one of whose ends lost the marker (for example
    C(ip link set h0 alias mine)) is refused by a re-run, and O(state=absent) and O(prune=true) refuse to delete
    it (deleting one end deletes the other), naming the end, with nothing changed. They also refuse to destroy,
    through what they delete, a device the lab did not make: one a namespace of the lab holds, the other end of a
    pair in a namespace that is not the lab's, a macvlan made on a device of the lab."
  - "Crash safety: before its first change a run records what it is about to create in the lab's record under
    C(/run/netvirt/labs/) (a tmpfs, like C(/run/netns)); if the run is killed before it has marked those objects,
    the next run of the same lab adopts them and carries on, or removes them with O(state=absent)."
  - The record also names the namespaces that may hold the lab's objects, so a run reads only those, the host
    and the namespaces its description names. Two runs of the same lab at once take turns on a per-lab lock.
  - O(state=absent) and O(prune=true) refuse to delete a namespace of the lab that holds a device the lab did
    not make (naming it), and change nothing.
  - "iptables chains (O(iptables_chains)) live in the lab's namespaces and go with them. Their rules are loaded
    into a throwaway namespace and every chain is planned before anything changes, so a rule iptables refuses
    fails the task, named by its place (for example C(iptables_chains[0])), with nothing changed. They are
    written once the netlink part of the lab is reconciled (when that fails, what the run changed in the netlink
    part is undone), and listed in the lab's record with the backend that wrote them: with O(prune=true), a
    chain the lab wrote in a namespace that stays, but that the description no longer names, is removed (a
    user-defined chain is deleted; a built-in chain is emptied and its policy set back to V(ACCEPT), as in a
    new namespace)."
  - In check mode nothing is written, not even the record.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.topology
  - netvirt.linux._netns.requirements
  - netvirt.linux._attributes
requirements:
  - for O(iptables_chains), the iptables command line tools as M(netvirt.linux.iptables_chain) needs them
notes:
  - Reads every network namespace of the host, to find what the lab owns.
seealso:
  - module: netvirt.linux.netns
  - module: netvirt.linux.veth
  - module: netvirt.linux.bridge
  - module: netvirt.linux.tap
  - module: netvirt.linux.route
  - module: netvirt.linux.iptables_chain
"""

EXAMPLES = r"""
- name: Three namespaces on one bridge in the host, in one task (peer_netns '' is the host)
  netvirt.linux.topology:
    name: star
    namespaces:
      - {name: h1}
      - {name: h2}
      - {name: h3}
    veths:
      - {name: eth0, netns: h1, addresses: [10.0.0.1/24], peer: h1-br, peer_netns: ''}
      - {name: eth0, netns: h2, addresses: [10.0.0.2/24], peer: h2-br, peer_netns: ''}
      - {name: eth0, netns: h3, addresses: [10.0.0.3/24], peer: h3-br, peer_netns: ''}
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
                                'veth': {'name': 'eth0', 'netns': 'n%d' % i, 'peer': 'n%d-br' % i, 'peer_netns': '',
                                         'addresses': ['10.0.%d.%d/16' % (i // 250, i % 250 + 1)]}}) -%}
      {%- endfor -%}
      {{ hosts }}

- name: Two namespaces joined by a veth; b accepts ssh from a only, and drops the rest
  netvirt.linux.topology:
    name: fw
    namespaces:
      - {name: a}
      - {name: b}
    veths:
      - {name: eth0, netns: a, addresses: [10.1.1.1/24], peer: eth0, peer_netns: b, peer_addresses: [10.1.1.2/24]}
    iptables_chains:
      - netns: b
        chain: INPUT
        policy: DROP
        rules:
          - -i lo -j ACCEPT
          - -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
          - -s 10.1.1.1 -p tcp --dport 22 -j ACCEPT

- name: Read a lab made by hand
  netvirt.linux.lab_info:
  register: info

- name: Adopt it as lab adopted - the whole description in one option, no templated task arguments
  netvirt.linux.topology:
    name: adopted
    definition: "{{ info.topology }}"

- name: A description kept in a file (sections, name and all)
  netvirt.linux.topology:
    definition: "{{ lookup('ansible.builtin.file', 'lab.yml') | from_yaml }}"

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
  description:
    - One entry per object of the description, then one per object removed by ownership (for iptables chains, by
      the lab's record).
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description:
        - Kind, namespace and name of the object; for an iptables chain, C(iptables_chain), namespace, table,
          chain and IP version.
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
  description:
    - Counts of objects described, changed (created ones included) and removed, and of actions.
    - Under C(kinds), per kind of object, how many were created, changed (other than created) and removed; the
      three counts are disjoint, and a kind the run saw no object of is left out.
    - A removal counts the objects the build counted - a veth pair once, every device, route and iptables chain
      that goes with a namespace of the lab -, so O(state=absent) after a build removes what the build created.
  returned: always
  type: dict
  sample:
    objects: 7
    changed: 7
    removed: 0
    actions: 31
    kinds:
      netns: {"created": 3, "changed": 0, "removed": 0}
      veth: {"created": 3, "changed": 0, "removed": 0}
      bridge: {"created": 1, "changed": 0, "removed": 0}
  contains:
    objects:
      description: Objects the description names.
      type: int
    changed:
      description: Objects of the description that changed, created ones included.
      type: int
    removed:
      description: Objects the lab owned and removed (with O(state=absent) or O(prune=true)), those that go with a
        namespace of the lab included.
      type: int
    actions:
      description: Changes made, or that would be made in check mode.
      type: int
    kinds:
      description: Per kind (V(netns), V(veth), V(bridge), V(route), V(iptables_chain), ...), a dict of
        C(created), C(changed) and C(removed) counts.
      type: dict
summary_text:
  description: The per-kind counts of RV(summary) in one line, for people.
  returned: always
  type: str
  sample: "created: 3 netns, 3 veth, 1 bridge; changed: none; removed: none"
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

from ansible_collections.netvirt.linux.plugins.module_utils import _definition as definition
from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_iptables_chain import LabChains, lock_timeout
from ansible_collections.netvirt.linux.plugins.module_utils._module import base_result, netvirt_module, run
from ansible_collections.netvirt.linux.plugins.module_utils._options import argument_spec
from ansible_collections.netvirt.linux.plugins.module_utils._report import counts_text, lab_counts, object_diff
from ansible_collections.netvirt.linux.plugins.module_utils._specs import LAB_OPTIONS, SECTION_OPTIONS, section_argument_spec
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build, marker, validate_lab_name

SECTIONS = tuple(SECTION_OPTIONS)

ARGUMENT_SPEC = dict(argument_spec(LAB_OPTIONS), **section_argument_spec())


def main():
    started = time.monotonic()
    module = netvirt_module(ARGUMENT_SPEC, netns_option=False, supports_check_mode=True,
                            mutually_exclusive=[("definition", section) for section in SECTIONS])
    chains = None
    try:
        params = definition.merge(module.params, ARGUMENT_SPEC, SECTIONS)
        lab = validate_lab_name(params["name"])
        lock = lock_timeout(params["lock_timeout"])
        if params["state"] == "absent":
            # The lab's chains live in its namespaces and go with them.
            desired, prune = [], True
        else:
            description = build({s: params[s] for s in SECTIONS})
            for warning in description.warnings:
                module.warn(warning)
            desired, prune = description.objects, params["prune"]
            chains = LabChains(description.chains, description.places, description.namespaces,
                               backend=params["iptables_backend"], prune=prune,
                               lock_timeout=lock)
        # Results come from the plan's views: no second read of every namespace.
        outcome = run(module, desired, owner=marker(lab), prune=prune, read_back=False, chains=chains)
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    result = base_result(module, outcome)
    objects = outcome.plan.objects
    described = [
        {"key": list(obj.key), "changed": obj.changed, "actions": [a.describe() for a in obj.actions],
         "after": obj.after, "diff": object_diff(obj)} for obj in objects]
    removed = described[len(desired):]
    described = described[:len(desired)]
    if chains is not None:
        for warning in chains.warnings:
            module.warn(warning)
        chain_described, chain_removed = chains.results()
        described += chain_described
        removed += chain_removed
        result["changed"] = result["changed"] or chains.changed
        result["actions"] += chains.actions()
    entries = described + removed
    if module._diff:
        # One diff per object, its headers naming it (`veth eth0 in h1`), so Ansible shows each change on its own.
        result["diff"] = [entry["diff"] for entry in entries]
    result["objects"] = [{key: value for key, value in entry.items() if key != "diff"} for entry in entries]
    kinds = lab_counts(described, removed)
    result["summary"] = {
        "objects": len(described),
        "changed": sum(1 for entry in described if entry["changed"]),
        "removed": len(removed),
        "actions": len(result["actions"]),
        "kinds": kinds,
    }
    result["summary_text"] = counts_text(kinds)
    result["elapsed"] = round(time.monotonic() - started, 4)
    result["peak_memory_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    module.exit_json(**result)


if __name__ == "__main__":
    main()
