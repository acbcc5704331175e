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
  - Each entry's options are checked and converted as Ansible does a single module's options (a value from
    C(-e), such as C(mtu=9000), arrives as a string and becomes a number).
  - The description is then checked as a whole before anything is read or touched (duplicate names, ports, peers,
    masters, devices or namespaces that the lab does not describe, overlapping addresses on one interface, one
    address on two interfaces of a namespace, overlapping subnets on two interfaces of a namespace, one address
    twice on one L2 segment - a veth pair, or a bridge with its ports and the far ends of its veth ports -, a
    route's gateway on no subnet the lab gives its namespace); every problem is reported at once, by the entry's
    place in the description (for example C(veths[2])).
  - Each namespace is read once, over one netlink socket kept for the run; changes are applied in dependency
    order (namespaces, links, ports, addresses, up, routes).
  - "Ownership: every link the lab creates, and the loopback device of every namespace it creates, carries the
    interface alias C(netvirt:lab=NAME). O(state=absent) removes exactly the objects carrying the lab's marker,
    and O(prune=true) removes those the description no longer names. An object with a matching name but without
    the marker is never taken over nor removed: the task fails instead."
  - "Crash safety: before its first change a run records what it is about to create in the lab's record under
    C(/run/netvirt/labs/) (a tmpfs, like C(/run/netns)); if the run is killed before it has marked those objects,
    the next run of the same lab adopts them and carries on, or removes them with O(state=absent)."
  - The record also names the namespaces that may hold the lab's objects, so a run reads only those, the host
    and the namespaces its description names. Two runs of the same lab at once take turns on a per-lab lock.
  - O(state=absent) and O(prune=true) refuse to delete a namespace of the lab that holds a device the lab did
    not make (naming it), and change nothing.
  - In check mode nothing is written, not even the record.
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
      - Namespaces, each with the options of M(netvirt.linux.netns) except V(state).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the namespace.
        type: str
        required: true
      loopback:
        description:
          - Bring the loopback device C(lo) of the namespace up. With V(false) the module leaves C(lo) as it is.
        type: bool
        default: true
      sysctls:
        description:
          - Kernel settings of the namespace, as a mapping of C(net.*) keys to values, for example
            C(net.ipv4.ip_forward) for a namespace that routes; as M(netvirt.linux.netns)'s
            O(netvirt.linux.netns#module:sysctls).
          - Keys not listed are left alone. Booleans are written as V(1) and V(0).
        type: dict
  veths:
    description:
      - veth pairs, each with the options of M(netvirt.linux.veth) except V(state).
      - A namespace named here must be one of O(namespaces), or omitted for the host.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the first end, in O(veths[].netns). At most 15 characters.
        type: str
        required: true
      netns:
        description:
          - Namespace of the O(veths[].name) end; omit it for the host's own namespace.
        type: str
      peer:
        description:
          - Name of the other end, in O(veths[].peer_netns). At most 15 characters.
        type: str
        required: true
      peer_netns:
        description:
          - Namespace of the O(veths[].peer) end; omit it for the host's own namespace.
        type: str
      addresses:
        description:
          - The exact set of addresses, in CIDR form (C(10.1.1.2/24), C(fd00::1/64)), on the O(veths[].name) end.
          - Addresses not listed are removed, except the IPv6 link-local ones the kernel assigns itself.
          - Omit it to leave the addresses alone; V([]) removes them all.
        type: list
        elements: str
      peer_addresses:
        description:
          - The exact set of addresses on the O(veths[].peer) end, as for O(veths[].addresses).
        type: list
        elements: str
      mtu:
        description:
          - MTU of both ends. Omit it to leave the MTU alone (the kernel default is 1500).
        type: int
      up:
        description:
          - Whether both ends are administratively up. V(false) keeps (or sets) them down.
        type: bool
        default: true
  bridges:
    description:
      - Bridges, each with the options of M(netvirt.linux.bridge) except V(state).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the bridge, in O(bridges[].netns). At most 15 characters.
        type: str
        required: true
      netns:
        description:
          - Namespace of the bridge; omit it for the host's own namespace.
        type: str
      ports:
        description:
          - The exact set of interfaces attached to the bridge. Each entry is an interface name, or a
            dictionary with the interface's C(name) and optional port settings - C(cost) (STP path cost,
            1 to 65535), C(priority) (STP port priority, 0 to 63) and C(hairpin) (boolean; frames may leave
            through the port they came in on). Values are converted as Ansible converts options
            (C("10") becomes 10).
          - Every port must be a veth end or tap of the lab in the bridge's namespace.
          - Interfaces attached to the bridge but not listed are detached, not deleted.
          - Omit it to leave the ports alone; V([]) detaches them all.
        type: list
        elements: raw
      stp:
        description:
          - Whether the bridge runs the spanning tree protocol. Omit it to leave it alone (a new bridge has STP off).
        type: bool
      forward_delay:
        description:
          - Seconds a port spends listening and learning before forwarding, with up to two decimals; 2 to 30 while
            STP is on. Omit it to leave it alone (a new bridge has 15).
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
          - Seconds a learned MAC address stays in the forwarding database; V(0) floods every frame like a hub.
            Omit it to leave it alone (a new bridge has 300).
        type: float
      priority:
        description:
          - Bridge priority for the STP root election, 0 to 65535 (lower wins). Omit it to leave it alone
            (a new bridge has 32768).
        type: int
      addresses:
        description:
          - The exact set of addresses, in CIDR form, on the bridge itself, as for O(veths[].addresses).
        type: list
        elements: str
      mtu:
        description:
          - MTU of the bridge. Omit it to let the kernel manage it (the smallest MTU of the ports).
        type: int
      up:
        description:
          - Whether the bridge is administratively up. It does not change the ports' own up/down state.
        type: bool
        default: true
  taps:
    description:
      - tun/tap devices, each with the options of M(netvirt.linux.tap) except V(state) and V(recreate).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the device, in O(taps[].netns). At most 15 characters.
        type: str
        required: true
      netns:
        description:
          - Namespace of the device; omit it for the host's own namespace.
        type: str
      mode:
        description:
          - V(tap) for an Ethernet device (frames, can join a bridge), V(tun) for an IP point-to-point device.
          - Fixed at creation.
        type: str
        choices: [tap, tun]
        default: tap
      owner:
        description:
          - User, by name or numeric id, allowed to attach to the device without privileges. A name that is not a
            user on the managed host is an error. Omit it to leave the owner alone.
        type: str
      group:
        description:
          - Group, by name or numeric id, whose members may attach to the device without privileges. A name that
            is not a group on the managed host is an error. Omit it to leave the group alone.
        type: str
      multi_queue:
        description:
          - Whether the device has multiple queues. Fixed at creation; omitted, a new device has one queue.
        type: bool
      pi:
        description:
          - Whether each frame carries the 4-byte packet-information header. Omitted, a new device has none and an
            existing one is left alone.
        type: bool
      vnet_hdr:
        description:
          - Whether frames carry a virtio-net header. Omitted, a new device has none and an existing one is left
            alone.
        type: bool
      addresses:
        description:
          - The exact set of addresses, in CIDR form, on the device, as for O(veths[].addresses).
        type: list
        elements: str
      mtu:
        description:
          - MTU of the device. Omit it to leave the MTU alone (the kernel default is 1500).
        type: int
      master:
        description:
          - The bridge the device is a port of; a bridge of the lab in the same namespace that lists the tap among
            its O(bridges[].ports) (or does not manage its ports). Only O(taps[].mode=tap) devices can join a bridge.
        type: str
      up:
        description:
          - Whether the device is administratively up. It shows C(NO-CARRIER) until a program opens it.
        type: bool
        default: true
  routes:
    description:
      - Routes, each with the options of M(netvirt.linux.route) except V(state). Routes live in the lab's namespaces
        and go with them; a route in the host is not removed by O(state=absent).
    type: list
    elements: dict
    default: []
    suboptions:
      dst:
        description:
          - Destination network in CIDR form (C(10.0.2.0/24), C(fd00:2::/64)), or V(default) for the default route.
          - The address must be the network's own (C(10.0.2.0/24), not C(10.0.2.5/24)).
        type: str
        required: true
      gateway:
        description:
          - Next hop. In a namespace of the lab it must lie on a subnet the lab gives that namespace (in the subnet of
            an address of one of its interfaces, of O(routes[].dev) when given, or in the destination of a route
            of that namespace with a dev and no gateway); IPv6 link-local gateways are left to the kernel. In the
            host, which has interfaces the lab does not describe, the kernel decides.
        type: str
      dev:
        description:
          - Output device, an interface of the lab in the route's namespace (or C(lo)). Required when
            O(routes[].gateway) is not given.
        type: str
      metric:
        description:
          - Route metric (priority). Omit it for the kernel's default (0 for IPv4, 1024 for IPv6).
        type: int
      table:
        description:
          - Routing table, by number or as V(main), V(local) or V(default).
        type: str
        default: main
      netns:
        description:
          - Namespace of the route; omit it for the host's own namespace.
        type: str
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
from ansible_collections.netvirt.linux.plugins.module_utils._module import base_result, netvirt_module, run
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS, section_argument_spec
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build, marker, validate_lab_name

SECTIONS = tuple(SECTION_OPTIONS)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    prune=dict(type="bool", default=True),
    **section_argument_spec()
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
            desired = build({s: params[s] for s in SECTIONS}).objects
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
