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
  - "iptables chains (O(iptables_chains)) live in the lab's namespaces and go with them. Their rules are loaded
    into a throwaway namespace and every chain is planned before anything changes, so a rule iptables refuses
    fails the task, named by its place (for example C(iptables_chains[0])), with nothing changed. They are
    written once the netlink part of the lab is reconciled, and listed in the lab's record with the backend
    that wrote them: with O(prune=true), a chain the lab wrote in a namespace that stays, but that the
    description no longer names, is removed (a user-defined chain is deleted; a built-in chain is emptied and
    its policy set back to V(ACCEPT), as in a new namespace)."
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
      - For O(iptables_chains), the chains the lab's record says it wrote and the description no longer names.
    type: bool
    default: true
  iptables_backend:
    description:
      - Which variant of iptables writes the lab's O(iptables_chains), as M(netvirt.linux.iptables_chain)'s
        O(netvirt.linux.iptables_chain#module:backend). One for the whole lab, so that a chain's jumps reach
        the other chains of its table and C(iptables -S) in a namespace shows all of them.
      - V(auto) follows the host's C(iptables) command (C(iptables -V) says C(nf_tables) or C(legacy)).
      - V(nft) writes the nf_tables tables with C(iptables-nft-restore).
      - V(legacy) writes the x_tables tables with python-iptables, or with C(iptables-legacy-restore) where
        python-iptables does not work (with a warning).
      - Chains written by another backend in an earlier run are removed from it with O(prune=true).
    type: str
    choices: [auto, legacy, nft]
    default: auto
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
  iptables_chains:
    description:
      - iptables chains, each with the options of M(netvirt.linux.iptables_chain) except V(state) and V(backend)
        (O(iptables_backend) says it for the whole lab).
      - Each chain lives in one of the lab's namespaces (O(iptables_chains[].netns)), never in the host, where it
        would outlive the lab.
      - Reconciled after the namespaces, links and routes; a chain is described once per table, IP version and
        namespace.
    type: list
    elements: dict
    default: []
    suboptions:
      table:
        description:
          - The netfilter table.
        type: str
        choices: [filter, nat, mangle, raw, security]
        default: filter
      chain:
        description:
          - Name of the chain. A built-in chain of O(iptables_chains[].table) (C(INPUT), C(FORWARD), C(OUTPUT),
            C(PREROUTING), C(POSTROUTING) as the table has them), or a user-defined chain, created when missing.
          - At most 28 characters, no white space, quotes or control characters.
        type: str
        required: true
      policy:
        description:
          - Policy of a built-in chain. Omit it to leave the policy alone.
          - User-defined chains have no policy; giving one for them is an error (end the chain with a
            C(-j DROP) rule instead).
          - V(DROP) on a chain of table C(nat) is refused, as C(iptables -P) refuses it.
        type: str
        choices: [ACCEPT, DROP]
      rules:
        description:
          - The ordered list of rules the chain holds, each written as iptables arguments after C(-A CHAIN),
            as for M(netvirt.linux.iptables_chain)'s O(netvirt.linux.iptables_chain#module:rules).
          - The chain is made to hold exactly these rules in this order; rules not listed are removed.
            V([]) empties the chain; omit the option to leave the rules alone.
          - A jump (C(-j)/C(-g)) to a user-defined chain needs that chain to exist in the same namespace, table
            and IP version (described by the lab, or made otherwise).
        type: list
        elements: str
      ip_version:
        description:
          - Which tables to manage, V(ipv4) (C(iptables)), V(ipv6) (C(ip6tables)) or V(both), with the same
            rules.
        type: str
        choices: [ipv4, ipv6, both]
        default: ipv4
      netns:
        description:
          - Namespace of the chain, one of O(namespaces). Every entry needs one, since a chain in the host would
            outlive the lab; an entry without it is refused, by its place, with the description's other
            problems.
        type: str
extends_documentation_fragment:
  - netvirt.linux._attributes
requirements:
  - pyroute2 >= 0.9.7 on the managed host
  - for O(iptables_chains), the iptables command line tools as M(netvirt.linux.iptables_chain) needs them
notes:
  - Needs root (C(CAP_NET_ADMIN) and C(CAP_SYS_ADMIN)); run the task with privilege escalation (C(become)) or as root.
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
from ansible_collections.netvirt.linux.plugins.module_utils._kind_iptables_chain import OPTIONS as CHAIN_OPTIONS, LabChains
from ansible_collections.netvirt.linux.plugins.module_utils._module import base_result, netvirt_module, run
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS, section_argument_spec
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build, marker, validate_lab_name

SECTIONS = tuple(SECTION_OPTIONS)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    prune=dict(type="bool", default=True),
    iptables_backend=dict(type="str", choices=CHAIN_OPTIONS["backend"]["choices"],
                          default=CHAIN_OPTIONS["backend"]["default"]),
    **section_argument_spec()
)


def main():
    started = time.monotonic()
    module = netvirt_module(ARGUMENT_SPEC, netns_option=False, supports_check_mode=True)
    params = module.params
    chains = None
    try:
        lab = validate_lab_name(params["name"])
        if params["state"] == "absent":
            # The lab's chains live in its namespaces and go with them.
            desired, prune = [], True
        else:
            description = build({s: params[s] for s in SECTIONS})
            desired, prune = description.objects, params["prune"]
            chains = LabChains(description.chains, description.places, description.namespaces,
                               backend=params["iptables_backend"], prune=prune)
        # Results come from the plan's views: no second read of every namespace.
        outcome = run(module, desired, owner=marker(lab), prune=prune, read_back=False, chains=chains)
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    result = base_result(module, outcome)
    objects = outcome.plan.objects
    described = [
        {"key": list(obj.key), "changed": obj.changed, "actions": [a.describe() for a in obj.actions],
         "after": obj.after, "diff": {"before": obj.before, "after": obj.after}} for obj in objects]
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
        # One diff per object, so Ansible shows each change on its own.
        result["diff"] = [entry["diff"] for entry in entries]
    result["objects"] = [{key: value for key, value in entry.items() if key != "diff"} for entry in entries]
    result["summary"] = {
        "objects": len(described),
        "changed": sum(1 for entry in described if entry["changed"]),
        "removed": len(removed),
        "actions": len(result["actions"]),
    }
    result["elapsed"] = round(time.monotonic() - started, 4)
    result["peak_memory_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    module.exit_json(**result)


if __name__ == "__main__":
    main()
