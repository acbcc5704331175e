#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_info
short_description: See a lab - read the host's namespaces and devices as a topology description, a diagram and a table
version_added: 0.2.0
description:
  - Reads the host's own namespace and every named network namespace (C(ip netns)) - veth pairs, bridges with
    their ports and options, tun/tap devices, VXLAN and macvlan devices, addresses, up/down, MTU, the loopback
    state, routes, the C(net.*) sysctls that differ from a new namespace's, and iptables chains - and returns
    them as a description in M(netvirt.linux.topology)'s own input format, a diagram, and a table of links.
  - The description is an adoption - a lab made by hand (with C(ip), C(brctl) and C(iptables) commands, as the
    seed documents make theirs) becomes a description to keep in a repository, which M(netvirt.linux.topology)
    rebuilds on an empty host once it is given a name (see the examples).
  - Every device is read with the same netlink dump and decoded by the same kind parsers as the other modules
    use; a veth's two ends are paired by the peer's namespace (its link netnsid) and interface index, never
    by an index alone.
  - What a topology cannot make is left out of the description and listed in RV(left_out) with the reason -
    physical devices, devices of kinds this collection does not make, a veth whose other end is in a namespace
    that was not read (a container's, for example), a tun/tap device a program holds.
  - Changes nothing, so it runs the same in check mode and always reports C(changed=false).
author:
  - netvirt.linux developers (@netvirt)
options:
  lab:
    description:
      - Describe only this lab's objects - the namespaces whose loopback carries its ownership marker
        C(netvirt:lab=NAME) and the devices carrying it, in those namespaces and in the host (the marker
        M(netvirt.linux.topology) sets on everything it makes), with the routes and iptables chains of those
        namespaces and the routes through those devices. Two labs may reuse the same names in their own
        namespaces; each is described apart.
      - The description then carries O(lab) as its C(name).
    type: str
  namespaces:
    description:
      - Describe only these named namespaces (the host's own namespace is added unless O(host=false)).
      - Each must exist; a missing one is an error naming it.
      - Omit it to describe every named namespace.
    type: list
    elements: str
  host:
    description:
      - Describe the devices and routes of the host's own namespace (the namespace the module runs in) too.
      - The host's physical devices, and routes through them, are never described.
      - Its sysctls and iptables chains are never described - a topology keeps its chains in its namespaces.
    type: bool
    default: true
  format:
    description:
      - The language of RV(diagram) - V(mermaid) (a flowchart GitHub and GitLab draw in Markdown) or V(dot)
        (Graphviz; C(dot -Tsvg)).
      - V(lab) returns what was read as a lab file of nodes and links too (RV(lab_file), the input of
        M(netvirt.linux.lab)), so a lab made by hand or by M(netvirt.linux.topology) is adopted as nodes and
        links; RV(diagram) is then drawn in Mermaid.
    type: str
    choices: [mermaid, dot, lab]
    default: mermaid
extends_documentation_fragment:
  - netvirt.linux._attributes.read_only
requirements:
  - pyroute2 on the managed host
  - For iptables chains, the iptables commands (C(iptables-save)); without them chains are left out with a warning.
notes:
  - Reading inside namespaces needs root; run the task with privilege escalation (C(become)) or as root.
  - Per-interface sysctls (C(net.ipv4.conf.IFNAME.*)) are not described, nor is a bridge's VLAN filtering.
  - A bridge port's path cost is described when it differs from the one the kernel gives a new port of its
    kind (from the device's speed - 2 for a veth or a tap, 100 for a VXLAN device).
  - A veth pair is described with one MTU and one up/down state for both ends; when its ends differ, a warning
    says which value the description holds.
seealso:
  - module: netvirt.linux.topology
"""

EXAMPLES = r"""
- name: Read a lab made by hand
  netvirt.linux.lab_info:
  register: info

- name: Keep it as a description
  ansible.builtin.copy:
    content: "{{ info.topology | to_nice_yaml }}"
    dest: lab.yml
    mode: "0644"
  delegate_to: localhost

- name: Rebuild it on another host (or after a reboot), as lab mylab
  netvirt.linux.topology:
    name: mylab
    definition: "{{ info.topology }}"

- name: One lab's objects only, drawn with Graphviz
  netvirt.linux.lab_info:
    lab: seed002
    format: dot
  register: seed002

- name: Adopt a lab made by hand as nodes and links, in a lab file for netvirt.linux.lab
  netvirt.linux.lab_info:
    lab: seed002
    format: lab
  register: seed002_lab

- name: Keep it beside the playbook (ansible-playbook netvirt.linux.lab_up -e lab=seed002.lab.yml rebuilds it)
  ansible.builtin.copy:
    content: "{{ seed002_lab.lab_file | to_nice_yaml(sort_keys=false) }}"
    dest: seed002.lab.yml
    mode: "0644"
  delegate_to: localhost

- name: Two namespaces and what joins them, without the host
  netvirt.linux.lab_info:
    namespaces: [ns1, ns2]
    host: false
"""

RETURN = r"""
topology:
  description:
    - The description, in M(netvirt.linux.topology)'s input format - C(namespaces), C(veths), C(taps),
      C(vxlans), C(macvlans), C(bridges), C(routes) and C(iptables_chains), every section present (empty
      when nothing is described), every entry with the options of its section.
    - Pass it whole as M(netvirt.linux.topology)'s O(netvirt.linux.topology#module:definition). Without O(lab)
      it has no C(name); give one beside it (see the examples).
    - Addresses are the exact sets the kernel holds, kernel IPv6 link-local ones left out; a bridge's C(ports)
      lists every described device that is its port.
  returned: always
  type: dict
  sample:
    namespaces:
      - {name: bridge, loopback: false}
      - {name: net0, loopback: false}
      - {name: net1, loopback: false}
    veths:
      - {name: bridge-net0, netns: bridge, peer: net0-bridge, peer_netns: net0, addresses: [],
         peer_addresses: [10.0.1.1/24], up: true}
    taps: []
    vxlans: []
    macvlans: []
    bridges:
      - {name: br, netns: bridge, ports: [{name: bridge-net0}, {name: bridge-net1}], addresses: [], up: true}
    routes: []
    iptables_chains: []
diagram:
  description:
    - The lab drawn in O(format) - each namespace (and the host, when it holds described devices) a box
      (a Mermaid subgraph, a Graphviz cluster) named after it (C(netns NAME), C(host)), each device a node
      (veth ends rounded, bridges as hexagons in Mermaid and filled boxes in Graphviz), each veth pair an edge
      labelled with its two ends' addresses (V(10.0.0.1/30 -- 10.0.0.2/30), the first end's first; an end's
      alone as V(10.0.1.1/24 on net0-bridge)), each bridge port, macvlan parent and VXLAN underlay a dashed
      edge.
      - Graphviz input is an undirected C(graph); render it with C(dot -Tsvg).
  returned: always
  type: str
  sample: |
    flowchart LR
      subgraph ns0["netns bridge"]
        n0(["bridge-net0"])
        n2(["bridge-net1"])
        n4{{"br (bridge)"}}
      end
      subgraph ns1["netns net0"]
        n1(["net0-bridge"])
      end
      subgraph ns2["netns net1"]
        n3(["net1-bridge"])
      end
      n0 ---|"10.0.1.1/24 on net0-bridge"| n1
      n2 ---|"10.0.1.2/24 on net1-bridge"| n3
      n4 -.- n0
      n4 -.- n2
links:
  description: Every link of the described namespaces (with O(lab), the lab's and its namespaces' loopbacks).
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Its namespace; null for the host's own.
      type: str
      sample: net0
    name:
      description: Interface name.
      type: str
      sample: net0-bridge
    kind:
      description: The kernel's kind (C(veth), C(bridge), C(tun), C(vxlan), C(macvlan), ...), C(loopback), or
        C(device) for a device of no kind (a physical one).
      type: str
      sample: veth
    master:
      description: Name of the bridge (or other master) it is a port of; null when none.
      type: str
      sample: null
    peer:
      description: A veth's other end; null when it is not a veth or its other end was not read.
      type: str
      sample: bridge-net0
    peer_namespace:
      description: Namespace of RV(links[].peer); null for the host or when there is no peer.
      type: str
      sample: bridge
    addresses:
      description: Its addresses in CIDR form, kernel IPv6 link-local ones left out.
      type: list
      elements: str
      sample: [10.0.1.1/24]
    up:
      description: Whether it is administratively up.
      type: bool
      sample: true
    mtu:
      description: Its MTU.
      type: int
      sample: 1500
    lab:
      description: The lab whose ownership marker it carries; null when none.
      type: str
      sample: null
    described:
      description: Whether RV(topology) describes it.
      type: bool
      sample: true
left_out:
  description: Devices read but left out of RV(topology), each with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{namespace: null, name: eth0, kind: null, reason: "not a device netvirt.linux makes (not a virtual device)"}]
lab_file:
  description:
    - With O(format=lab), what was read as a lab file - C(name) (O(lab), else C(adopted)), C(nodes) (each
      namespace, C(forward) from its C(net.ipv4.ip_forward)), C(links) (each veth pair between two namespaces or a
      namespace and the host; each bridge whose ports are all veth ends to namespaces, as a LAN with
      C(bridge_in) and C(ports)), every interface name and address written out, so that M(netvirt.linux.lab)
      builds it back unchanged (with routing V(none)).
    - What has no lab form (routes, vxlans, taps, macvlans, shaping, iptables chains, a bridge with other ports
      or settings) is kept in its M(netvirt.linux.topology) section beside the nodes and links, each said in
      RV(lab_notes).
  returned: when O(format=lab)
  type: dict
  sample: {name: seed002, nodes: {net0: {}, net1: {}, bridge: {}},
           links: [{name: br, nodes: ["net0:net0-bridge", "net1:net1-bridge"], bridge_in: bridge,
                    ports: {net0: bridge-net0, net1: bridge-net1},
                    addresses: {net0: 10.0.1.1/24, net1: 10.0.1.2/24}}]}
lab_notes:
  description: With O(format=lab), what of RV(topology) kept its topology form in RV(lab_file), or was left out, and why.
  returned: when O(format=lab)
  type: list
  elements: str
  sample: ["routes[0]: a route has no lab form: kept in routes"]
summary:
  description: How many of each were described.
  returned: always
  type: dict
  sample: {namespaces: 3, veths: 2, taps: 0, vxlans: 0, macvlans: 0, bridges: 1, routes: 0, iptables_chains: 0}
"""

import os

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._module import netvirt_module, preflight

ARGUMENT_SPEC = dict(
    lab=dict(type="str"),
    namespaces=dict(type="list", elements="str"),
    host=dict(type="bool", default=True),
    format=dict(type="str", choices=["mermaid", "dot", "lab"], default="mermaid"),
)
SYSCTL_BASE = "/proc/sys/"


def sysctl_paths() -> dict:
    """In a new namespace (a forked child's): {key: path} of every net.* setting it can read and write.

    Per-interface entries are left out; a table's `all` and `default` entries are kept.
    """
    from ansible_collections.netvirt.linux.plugins.module_utils._model import SYSCTL_INTERFACE_TABLES, SYSCTL_NOT_INTERFACES

    paths = {}
    for directory, subdirectories, files in os.walk(SYSCTL_BASE + "net"):
        parts = directory[len(SYSCTL_BASE):].split("/")
        if len(parts) == 3 and (parts[1], parts[2]) in SYSCTL_INTERFACE_TABLES:
            subdirectories[:] = [name for name in subdirectories if name in SYSCTL_NOT_INTERFACES]
        for name in files:
            path = os.path.join(directory, name)
            try:
                if os.lstat(path).st_mode & 0o600 != 0o600:
                    continue
            except OSError:
                continue
            paths[".".join(part.replace(".", "/") for part in parts + [name])] = path
    return paths


def read_sysctls(paths: dict) -> dict:
    """{key: value} of the settings that can be read here (fields separated by single spaces)."""
    from ansible_collections.netvirt.linux.plugins.module_utils._model import sysctl_text

    values = {}
    for key, path in paths.items():
        try:
            # Paths a walk of /proc/sys/net found in a new namespace; never a link, only read.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            value = sysctl_text(os.read(fd, 65536).decode("utf-8", "replace"))
        except OSError:
            continue  # stable_secret and the like: unset, unreadable
        finally:
            os.close(fd)
        if value:
            values[key] = value
    return values


def fresh_sysctls() -> dict:
    """In a new namespace: {key: [path, value]} of every net.* setting (what `topology` gets for a new one)."""
    paths = sysctl_paths()
    values = read_sysctls(paths)
    return {key: [paths[key], value] for key, value in values.items()}


def sysctl_reader(paths: dict):
    """A read for Kernel.read: one namespace's values of these settings, read from inside it."""
    def read(kernel, netns, _items) -> dict:
        with kernel.inside(netns):
            return {"sysctls": read_sysctls(paths)}
    return read


def _saves(tools: dict) -> dict:
    from ansible_collections.netvirt.linux.plugins.module_utils._iptables import child_read

    return {family: child_read(save) for family, save in tools.items()}


def read_chains(names) -> tuple:
    """({netns: {family: iptables-save output}}, warnings) for the named namespaces: one child per namespace."""
    from ansible_collections.netvirt.linux.plugins.module_utils._iptables import resolve_backend
    from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import in_netns

    if not names:
        return {}, []
    try:
        backend = resolve_backend("auto")
    except NetvirtError as exc:
        return {}, ["iptables chains are not described: %s" % exc.msg]
    tools = {family: backend.tools[family].save for family in ("ipv4", "ipv6")}
    return {netns: in_netns(netns, _saves, tools) for netns in names}, []


def main():
    module = netvirt_module(ARGUMENT_SPEC, netns_option=False, supports_check_mode=True)
    params = module.params
    try:
        preflight()
        from ansible_collections.netvirt.linux.plugins.module_utils import _kinds, _labinfo
        from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST
        from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import SCRATCH, in_netns, list_namespaces, missing_message
        from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel
        from ansible_collections.netvirt.linux.plugins.module_utils._topology import validate_lab_name

        lab = validate_lab_name(params["lab"]) if params["lab"] is not None else None
        existing = list_namespaces()
        only = params["namespaces"]
        if only is not None:
            missing = [name for name in only if name not in existing]
            if missing:
                raise ValidationError("; ".join(missing_message(name) for name in missing) + " (nothing was read)",
                                      missing=missing)
        names = sorted(existing if only is None else set(only))
        fresh = in_netns(SCRATCH, fresh_sysctls)
        defaults = {key: value for key, (_path, value) in fresh.items()}
        # What the kinds' describe hooks need beyond links (routes), everywhere; sysctls in the named namespaces.
        described = [(kind.read, set(kind.describe_reads)) for kind in _kinds.KINDS if kind.describe_reads]
        sysctls = (sysctl_reader({key: path for key, (path, _value) in fresh.items()}), ())
        reads = {netns: described + [sysctls] for netns in names}
        reads[HOST] = described
        with Kernel() as kernel:
            world = kernel.read([HOST] + names, reads=reads)
        stale = sorted(set(names) & world.stale)
        if only is not None and stale:
            raise ValidationError("; ".join(
                "namespace '%s' cannot be entered: no network namespace is mounted on it (a stale entry)" % name
                for name in stale), stale=stale)
        for name in stale:
            module.warn("namespace '%s' is a stale entry of /run/netns (nothing mounted on it): left out" % name)
        in_scope = [ns for ns in _labinfo.scope(world, lab=lab, only=only, host=params["host"]) if ns is not HOST]
        chains, warnings = read_chains(in_scope)
        info = _labinfo.describe(world, lab=lab, only=only, host=params["host"], sysctl_defaults=defaults,
                                 chains=chains)
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    for warning in warnings + info.warnings:
        module.warn(warning)
    summary = {section: len(entries) for section, entries in info.topology.items() if isinstance(entries, list)}
    extra = {}
    if params["format"] == "lab":
        from ansible_collections.netvirt.linux.plugins.module_utils._labadopt import to_lab

        extra["lab_file"], extra["lab_notes"] = to_lab(info.topology, name=lab)
    language = "mermaid" if params["format"] == "lab" else params["format"]
    module.exit_json(changed=False, topology=info.topology, diagram=_labinfo.diagram(info.topology, language),
                     links=info.links, left_out=info.left_out, summary=summary, **extra)


if __name__ == "__main__":
    main()
