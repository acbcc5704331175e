#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of an action plugin (plugins/action/lab.py), which does the work: it compiles the lab
# on the controller and runs netvirt.linux.topology on each host.

from __future__ import annotations

DOCUMENTATION = r"""
module: lab
short_description: Build a lab written as nodes and links - on one host or spread over the play's hosts
version_added: 0.2.0
description:
  - Builds, updates or removes a lab written as a lab file - nodes (each a network namespace of that name) and
    links between them (a veth pair for two nodes, a bridge for three or more) - with interface names,
    addresses, routes and, across hosts, VXLAN tunnels made for it.
  - "The lab file: C(name) (required, the lab's ownership marker), C(addressing) (the IPv4 pool, default
    C(10.128.0.0/16), prefixes for two-node and LAN links, an optional IPv6 pool), C(routing) (V(none) or
    V(static)), C(nodes) (node name to options - C(forward), C(gateway), C(host); the reserved node C(host)
    is the machine's own namespace) and C(links) (a list of node-name lists, C(node:ifname) ends, or mappings
    with C(nodes), C(name), C(mtu), C(shaping), C(prefix), C(addresses), C(bridge_in)). See the README."
  - The same file always gives the same names and addresses, and appending a node or a link changes nothing
    that exists.
  - The lab is compiled on the controller for every host of the play (C(ansible_play_hosts_all), in play
    order). A node is placed on the play's first host unless its C(host) names another; each host builds its
    own share with M(netvirt.linux.topology) (the play's forks build the hosts in parallel), and a link whose
    nodes sit on different hosts is joined by VXLAN over the hosts' own network. A host's underlay address is
    its C(netvirt_underlay_address) host variable, else its C(ansible_host).
  - Every problem of the lab file is reported at once, naming the node or the link and the key (also as
    RV(problems)), and fails the task before anything is read or changed on the host (in check mode too).
  - The lab file is the lab's whole truth on each host - with O(prune=true), what an earlier version of the
    lab made on a host and the file no longer places there is removed, on a host the lab no longer uses too.
  - Besides what M(netvirt.linux.topology) returns, the task returns the lab's addresses and the reachability
    checks of the nodes on this host, ready for M(netvirt.linux.reachability).
author:
  - netvirt.linux developers (@netvirt)
options:
  src:
    description:
      - Path of a lab file (YAML) on the controller. A relative path is looked for as M(ansible.builtin.template)
        looks for its source - in the role's C(files/), then beside the playbook (and in its C(files/)).
      - The file is read as data, not templated.
      - Exactly one of O(src) and O(lab) is required.
    type: path
  lab:
    description:
      - The lab file's content as a mapping, given in the task (or from a variable).
      - Exactly one of O(src) and O(lab) is required.
    type: dict
  state:
    description:
      - V(present) builds this host's share of the lab, V(absent) removes everything carrying the lab's marker
        on this host, whatever the lab file says besides its C(name).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - With O(state=present), remove the lab's objects on this host (by their marker) that the lab no longer
        places here - a link or a node removed from the file, or moved to another host.
      - V(false) only adds and changes.
    type: bool
    default: true
  iptables_backend:
    description:
      - Passed to M(netvirt.linux.topology) as its O(netvirt.linux.topology#module:iptables_backend); omitted,
        that module's default.
    type: str
    choices: [auto, legacy, nft]
  lock_timeout:
    description:
      - Passed to M(netvirt.linux.topology) as its O(netvirt.linux.topology#module:lock_timeout); omitted,
        that module's default.
    type: int
extends_documentation_fragment:
  - netvirt.linux._netns.requirements
  - netvirt.linux._attributes.action_plugin
notes:
  - The hosts of the play must be the lab's hosts - C(ansible_play_hosts_all), so run it in a play over them
    (C(--limit) takes hosts out of the lab's placement, and a node placed on such a host is an error).
  - A host the lab places no node on gets an empty share; with O(prune=true) that removes what an earlier
    version of the lab put there.
seealso:
  - module: netvirt.linux.topology
  - module: netvirt.linux.reachability
  - module: netvirt.linux.lab_info
"""

EXAMPLES = r"""
- name: Two hosts behind a router, from a lab file beside the playbook
  netvirt.linux.lab:
    src: lab.yml
  register: built
  # lab.yml:
  #   name: first
  #   routing: static
  #   nodes: {h1: {}, r1: {}, h3: {}}
  #   links: [[h1, r1], [r1, h3]]

- name: Prove every node reaches every other
  netvirt.linux.reachability:
    checks: "{{ built.checks }}"

- name: The same lab written in the task, with h3 on the inventory host lab2 (the play runs on lab1 and lab2)
  netvirt.linux.lab:
    lab:
      name: first
      routing: static
      nodes: {h1: {}, r1: {}, h3: {host: lab2}}
      links: [[h1, r1], [r1, h3]]

- name: Remove it
  netvirt.linux.lab:
    src: lab.yml
    state: absent
"""

RETURN = r"""
lab:
  description: The lab's name.
  returned: always
  type: str
  sample: first
placement:
  description: Node name to the inventory host it is placed on.
  returned: always
  type: dict
  sample: {h1: localhost, r1: localhost, h3: localhost}
addresses:
  description: "Every node's addresses, C({node: {ifname: [cidr, ...]}}), IPv4 first, for the whole lab."
  returned: always
  type: dict
  sample: {h1: {eth0: [10.128.0.1/30]}, r1: {eth0: [10.128.0.2/30], eth1: [10.128.0.5/30]},
           h3: {eth0: [10.128.0.6/30]}}
checks:
  description:
    - The reachability checks whose source node is on this host, in M(netvirt.linux.reachability)'s
      O(netvirt.linux.reachability#module:checks) format - every node to every other node's addresses,
      V(reachable) where the lab gives a path there and back, V(unreachable) where it does not. A source of
      V(null) is the node C(host), the machine's own namespace.
  returned: always
  type: list
  elements: dict
  sample:
    - {from: h1, to: [10.128.0.2, 10.128.0.5], expect: reachable}
    - {from: h1, to: [10.128.0.6], expect: reachable}
topology:
  description: This host's share of the lab, the M(netvirt.linux.topology) description that was built.
  returned: always
  type: dict
  sample:
    name: first
    namespaces: [{name: h1}, {name: h3}, {name: r1}]
    veths:
      - {name: eth0, netns: h1, peer: eth0, peer_netns: r1, addresses: [10.128.0.1/30],
         peer_addresses: [10.128.0.2/30]}
summary_text:
  description: The lab in one line, then what this host's run did (M(netvirt.linux.topology)'s RV(summary_text)).
  returned: always
  type: str
  sample: "lab first: 3 nodes, 2 links, 1 host, routing static; localhost: created: 3 netns, 2 veth, 2 route"
problems:
  description: When the lab file has mistakes (the task fails), each of them, naming the node or link and the key.
  returned: failure
  type: list
  elements: str
  sample: ["links[1].nodes: unknown node 'h9' (declare it under nodes)"]
actions:
  description: The changes made on this host, or that would be made in check mode, in the order they are applied.
  returned: success
  type: list
  elements: str
  sample: ["create namespace h1", "create veth eth0 in h1 with peer eth0 in r1"]
objects:
  description: M(netvirt.linux.topology)'s RV(netvirt.linux.topology#module:objects) for this host's share.
  returned: success
  type: list
  elements: dict
summary:
  description: M(netvirt.linux.topology)'s RV(netvirt.linux.topology#module:summary) for this host's share.
  returned: success
  type: dict
  sample: {objects: 7, changed: 7, removed: 0, actions: 31}
"""
