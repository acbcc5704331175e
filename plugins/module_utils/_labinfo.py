# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `lab_info` makes of a read kernel: a `topology` description, a links table, a diagram.

Pure: the input is a World the kernel adapter read (every device decoded by
its kind's parser, veth peers resolved by netnsid and peer index), the
``net.*`` sysctl values of a fresh namespace, and iptables-save texts; the
output is plain data. The description uses `topology`'s own sections and
options (_specs.SECTION_OPTIONS), so that passing it back to `topology`
rebuilds the same kernel state.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._iptables_rules import TABLES, parse_save
from ansible_collections.netvirt.linux.plugins.module_utils._kind_bridge import BRIDGE_DEFAULTS, centis_to_seconds
from ansible_collections.netvirt.linux.plugins.module_utils._kind_route import DEFAULT_METRIC, ROUTE_TABLES
from ansible_collections.netvirt.linux.plugins.module_utils._kind_veth import peer_netns_of, peer_netns_option
from ansible_collections.netvirt.linux.plugins.module_utils._model import ARPHRD_LOOPBACK, HOST, Link, World, is_ipv6_link_local
from ansible_collections.netvirt.linux.plugins.module_utils._results import kernel_made
from ansible_collections.netvirt.linux.plugins.module_utils._topology import marker

FORMATS = ("mermaid", "dot")
# Route protocols the kernel (or a router advertisement, or an ICMP redirect) sets itself: not configuration.
RTPROT_OWN = frozenset((1, 2, 9))  # redirect, kernel, ra
RT_TABLE_LOCAL = ROUTE_TABLES["local"]
# Sysctls that differ in every namespace by design (random keys), or cannot be read back.
SYSCTL_VOLATILE = ("net.ipv4.tcp_fastopen_key", "stable_secret")
DEFAULT_MTU = 1500
VXLAN_OVERHEAD = 50
PORT_PRIORITY_DEFAULT = 32
# The path cost the kernel gives a new port (br_port_cost: from the device's speed, 100 when it has none):
# a port's cost is described when it differs.
PORT_COST_DEFAULT = {"veth": 2, "tun": 2, "vxlan": 100}

Endpoint = Tuple[Optional[str], str]


@dataclass
class LabInfo:
    """What `lab_info` returns, but the diagram."""

    topology: Dict[str, object] = field(default_factory=dict)
    links: List[dict] = field(default_factory=list)
    # Devices read but not described, each with why: {namespace, name, kind, reason}.
    left_out: List[dict] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def is_loopback(link: Link) -> bool:
    return link.link_type == ARPHRD_LOOPBACK or (link.name == "lo" and link.kind is None)


def lab_namespaces(world: World, lab: str) -> List[str]:
    """The named namespaces whose loopback carries the lab's marker (a lab marks every namespace it makes)."""
    mark = marker(lab)
    return sorted(ns for ns, space in world.spaces.items()
                  if ns is not HOST and getattr(space.get("lo"), "alias", None) == mark)


def scope(world: World, lab: Optional[str] = None, only: Optional[List[str]] = None,
          host: bool = True) -> List[Optional[str]]:
    """The namespaces described, the host first: every read one, ``only`` those named, a lab's own."""
    named = sorted(ns for ns in world.spaces if ns is not HOST)
    if only is not None:
        named = [ns for ns in named if ns in only]
    if lab is not None:
        mine = set(lab_namespaces(world, lab))
        named = [ns for ns in named if ns in mine]
    return ([HOST] if host and HOST in world.spaces else []) + named


def sysctl_changes(values: Mapping[str, Optional[str]], defaults: Mapping[str, str]) -> Dict[str, str]:
    """The ``net.*`` settings whose value differs from a fresh namespace's."""
    changed = {}
    for key, value in sorted(values.items()):
        if value is None or not value or key not in defaults or any(word in key for word in SYSCTL_VOLATILE):
            continue
        if value != defaults[key]:
            changed[key] = value
    return changed


def _addresses(link: Link) -> List[str]:
    # The kernel gives every interface its IPv6 link-local address; a rebuilt one gets its own.
    return [a for a in link.addresses if not is_ipv6_link_local(a)]


def _put(entry: dict, netns_key: str, netns: Optional[str]) -> None:
    if netns is not HOST:
        entry[netns_key] = netns


def _label(netns: Optional[str]) -> str:
    return "host" if netns is HOST else netns


class _Reader:
    def __init__(self, world: World, spaces: List[Optional[str]], lab: Optional[str]):
        self.world = world
        self.spaces = spaces
        self.mark = marker(lab) if lab is not None else None
        self.info = LabInfo()
        self.described: Set[Endpoint] = set()

    def mine(self, link: Link) -> bool:
        return self.mark is None or link.alias == self.mark

    def skip(self, netns, link: Link, reason: str) -> None:
        self.info.left_out.append({"namespace": netns, "name": link.name, "kind": link.kind, "reason": reason})

    def devices(self) -> Dict[str, list]:
        sections: Dict[str, list] = {kind.section: [] for kind in _kinds.KINDS if kind.link_kind}
        seen: Set[Endpoint] = set()
        for netns in self.spaces:
            space = self.world.spaces[netns]
            for link in sorted(space.links.values(), key=lambda item: item.name):
                key = (netns, link.name)
                if key in seen or is_loopback(link) or kernel_made(link) or not self.mine(link):
                    continue
                kind = _kinds.by_link_kind(link.kind)
                if kind is None:
                    self.skip(netns, link, "not a device netvirt.linux makes (%s)" % (
                        "kind %s" % link.kind if link.kind else "not a virtual device"))
                    continue
                entry = getattr(self, "_" + kind.name)(netns, link, seen)
                if entry is not None:
                    sections[kind.section].append(entry)
                    self.described.add(key)
                    seen.add(key)
        return sections

    def _common(self, entry: dict, link: Link, mtu_default: Optional[int]) -> dict:
        entry["addresses"] = _addresses(link)
        if link.mtu is not None and link.mtu != mtu_default:
            entry["mtu"] = link.mtu
        entry["up"] = link.up
        return entry

    def _veth(self, netns, link: Link, seen: Set[Endpoint]) -> Optional[dict]:
        if link.peer is None:
            self.skip(netns, link, "its peer is in a namespace that was not read (unnamed, or left out)")
            return None
        peer_ns, peer_name = link.peer
        if peer_ns not in self.spaces:
            self.skip(netns, link, "its peer '%s' is in %s, which is left out" % (peer_name, _label(peer_ns)))
            return None
        peer = self.world.spaces[peer_ns].links[peer_name]
        if not self.mine(peer):
            self.skip(netns, link, "its peer '%s' in %s is not the lab's" % (peer_name, _label(peer_ns)))
            return None
        seen.add((peer_ns, peer_name))
        self.described.add((peer_ns, peer_name))
        entry: dict = {"name": link.name}
        _put(entry, "netns", netns)
        entry["peer"] = peer_name
        peer_option = peer_netns_option(netns, peer_ns)
        if peer_option is not None:
            entry["peer_netns"] = peer_option
        entry["addresses"] = _addresses(link)
        entry["peer_addresses"] = _addresses(peer)
        if link.mtu != DEFAULT_MTU or peer.mtu != DEFAULT_MTU:
            entry["mtu"] = link.mtu
            if peer.mtu != link.mtu:
                self.info.warnings.append("veth %s in %s has MTU %s, its peer %s in %s MTU %s: described with %s" % (
                    link.name, _label(netns), link.mtu, peer_name, _label(peer_ns), peer.mtu, link.mtu))
        entry["up"] = link.up and peer.up
        if link.up != peer.up:
            self.info.warnings.append(
                "veth %s in %s is %s, its peer %s in %s %s: a topology sets both ends alike, described as down"
                % (link.name, _label(netns), "up" if link.up else "down", peer_name, _label(peer_ns),
                   "up" if peer.up else "down"))
        return entry

    def _tap(self, netns, link: Link, _seen) -> Optional[dict]:
        info: Any = link.info
        if info is None or not info.persist:
            self.skip(netns, link, "a tun/tap device a program holds (not persistent): it goes with the program")
            return None
        entry: dict = {"name": link.name}
        _put(entry, "netns", netns)
        entry["mode"] = info.mode
        if info.owner is not None:
            entry["owner"] = str(info.owner)
        if info.group is not None:
            entry["group"] = str(info.group)
        for flag in ("multi_queue", "pi", "vnet_hdr"):
            entry[flag] = bool(getattr(info, flag))
        return self._common(entry, link, DEFAULT_MTU)

    def _vxlan(self, netns, link: Link, _seen) -> Optional[dict]:
        info: Any = link.info
        entry: dict = {"name": link.name}
        _put(entry, "netns", netns)
        entry["vni"] = info.vni
        for option in ("local", "remote", "group"):
            if getattr(info, option):
                entry[option] = getattr(info, option)
        if info.dstport is not None:
            entry["dstport"] = info.dstport
        dev = self.world.spaces[netns].by_index(info.dev) if info.dev else None
        mtu_default = DEFAULT_MTU - VXLAN_OVERHEAD
        if dev is not None:
            entry["dev"] = dev.name
            mtu_default = dev.mtu - VXLAN_OVERHEAD
        return self._common(entry, link, mtu_default)

    def _macvlan(self, netns, link: Link, _seen) -> Optional[dict]:
        info: Any = link.info
        parent = self.world.spaces[netns].by_index(info.parent) if info and not info.parent_elsewhere else None
        if parent is None:
            self.skip(netns, link, "its parent device is in another namespace")
            return None
        entry: dict = {"name": link.name}
        _put(entry, "netns", netns)
        entry["link"] = parent.name
        if info.mode:
            entry["mode"] = info.mode
        return self._common(entry, link, parent.mtu)

    def _bridge(self, netns, link: Link, _seen) -> Optional[dict]:
        info: Any = link.info
        entry: dict = {"name": link.name}
        _put(entry, "netns", netns)
        entry["ports"] = []  # filled in once every device is known (ports_of)
        if info is not None:
            for option, default in BRIDGE_DEFAULTS.items():
                value = getattr(info, option)
                if value != default:
                    entry[option] = value if option in ("stp", "priority") else centis_to_seconds(value)
        entry["addresses"] = _addresses(link)
        entry["up"] = link.up
        entry["_mtu"] = link.mtu
        return entry

    @staticmethod
    def auto_cost(space, link: Link) -> Optional[int]:
        """The cost the kernel would give this port by itself; None when not known (never described)."""
        if link.kind == "macvlan" and link.info is not None:
            parent = space.by_index(getattr(link.info, "parent", None))
            return PORT_COST_DEFAULT.get(parent.kind or "") if parent is not None else None
        return PORT_COST_DEFAULT.get(link.kind or "")

    def ports_of(self, bridges: List[dict]) -> None:
        """Each bridge's ports: the described devices whose master it is, with their non-default settings."""
        for entry in bridges:
            netns = entry.get("netns")
            space = self.world.spaces[netns]
            bridge: Any = space.get(entry["name"])
            mtus = []
            for link in sorted(space.links.values(), key=lambda item: item.name):
                port_info: Any = link.port
                if link.master != bridge.index:
                    continue
                if (netns, link.name) not in self.described:
                    if self.mine(link):
                        self.info.warnings.append("bridge %s in %s: port %s is not described (see left_out)" % (
                            bridge.name, _label(netns), link.name))
                    continue
                port: dict = {"name": link.name}
                if port_info is not None and port_info.cost not in (None, self.auto_cost(space, link)):
                    port["cost"] = port_info.cost
                if port_info is not None and port_info.priority not in (None, PORT_PRIORITY_DEFAULT):
                    port["priority"] = port_info.priority
                if port_info is not None and port_info.hairpin:
                    port["hairpin"] = True
                entry["ports"].append(port)
                mtus.append(link.mtu)
            mtu = entry.pop("_mtu")
            if mtu != (min(mtus) if mtus else DEFAULT_MTU):
                entry["mtu"] = mtu

    def routes(self) -> List[dict]:
        routes = []
        for netns in self.spaces:
            space = self.world.spaces[netns]
            entries: List[Any] = list(space.routes)
            for route in sorted(entries, key=lambda r: (r.table, ":" in r.dst, r.dst, r.metric)):
                if route.proto in RTPROT_OWN or route.table == RT_TABLE_LOCAL:
                    continue
                dev = space.by_index(route.oif) if route.oif else None
                if route.oif and (dev is None or (netns, dev.name) not in self.described and not is_loopback(dev)):
                    continue  # a route of the host's own network, or through a device left out
                network = ipaddress.ip_network(route.dst)
                if network.is_multicast or (network.version == 6 and network.is_link_local):
                    continue
                entry: dict = {"dst": route.dst}
                if route.gateway:
                    entry["gateway"] = route.gateway
                if dev is not None:
                    entry["dev"] = dev.name
                if route.metric != DEFAULT_METRIC[network.version]:
                    entry["metric"] = route.metric
                if route.table != ROUTE_TABLES["main"]:
                    entry["table"] = str(route.table)
                _put(entry, "netns", netns)
                routes.append(entry)
        return routes

    def link_rows(self) -> List[dict]:
        rows = []
        for netns in self.spaces:
            space = self.world.spaces[netns]
            for link in sorted(space.links.values(), key=lambda item: item.index):
                if not self.mine(link) and not (is_loopback(link) and netns is not HOST):
                    continue
                master = space.by_index(link.master) if link.master else None
                alias = link.alias or ""
                rows.append({
                    "namespace": netns,
                    "name": link.name,
                    "kind": "loopback" if is_loopback(link) else (link.kind or "device"),
                    "master": master.name if master is not None else None,
                    "peer": link.peer[1] if link.peer else None,
                    "peer_namespace": link.peer[0] if link.peer else None,
                    "addresses": _addresses(link),
                    "up": link.up,
                    "mtu": link.mtu,
                    "lab": alias[len(marker("")):] if alias.startswith(marker("")) else None,
                    "described": (netns, link.name) in self.described,
                })
        return rows


def chain_entries(saved: Dict[str, Dict[str, str]]) -> List[dict]:
    """`iptables_chains` entries from each namespace's iptables-save output ({netns: {family: text}}).

    A user-defined chain is described with its rules; a built-in chain only when it holds rules or its
    policy is not ACCEPT. A chain alike in both families is one entry with ``ip_version: both``.
    """
    entries = []
    for netns in sorted(saved):
        found: Dict[tuple, dict] = {}
        for family in ("ipv4", "ipv6"):
            text = saved[netns].get(family) or ""
            tables = [line[1:] for line in text.splitlines() if line.startswith("*") and line[1:] in TABLES]
            for table in tables:
                state = parse_save(text, table)
                for name, chain in state.chains.items():
                    if chain.policy is not None and chain.policy == "ACCEPT" and not chain.rules:
                        continue
                    entry: dict = {"table": table, "chain": name}
                    if chain.policy is not None:
                        entry["policy"] = chain.policy
                    entry["rules"] = list(chain.rules)
                    entry["netns"] = netns
                    found.setdefault((table, chain.policy is not None, name), {})[family] = entry
        for (_table, _builtin, _name), families in sorted(found.items()):
            if len(families) == 2 and families["ipv4"] == families["ipv6"]:
                entries.append(dict(families["ipv4"], ip_version="both"))
            else:
                entries.extend(dict(entry, ip_version=family) for family, entry in sorted(families.items()))
    return entries


def describe(world: World, lab: Optional[str] = None, only: Optional[List[str]] = None, host: bool = True,
             sysctl_defaults: Optional[Dict[str, str]] = None,
             chains: Optional[Dict[str, Dict[str, str]]] = None) -> LabInfo:
    """The topology description, links table and what was left out, for the namespaces in scope."""
    spaces = scope(world, lab=lab, only=only, host=host)
    reader = _Reader(world, spaces, lab)
    topology: Dict[str, object] = {}
    if lab is not None:
        topology["name"] = lab
    namespaces = []
    for netns in spaces:
        if netns is HOST:
            continue
        space = world.spaces[netns]
        lo = space.get("lo")
        entry: dict = {"name": netns, "loopback": bool(lo is not None and lo.up)}
        sysctls = sysctl_changes(space.sysctls, sysctl_defaults or {})
        if sysctls:
            entry["sysctls"] = sysctls
        namespaces.append(entry)
    topology["namespaces"] = namespaces
    sections = reader.devices()
    reader.ports_of(sections.get("bridges", []))
    for kind in _kinds.KINDS:
        if kind.link_kind:
            topology[kind.section] = sections[kind.section]
    topology["routes"] = reader.routes()
    chain_spaces = {ns: text for ns, text in (chains or {}).items() if ns is not HOST and ns in spaces}
    topology["iptables_chains"] = chain_entries(chain_spaces)
    reader.info.topology = topology
    reader.info.links = reader.link_rows()
    if lab is not None and not namespaces and not any(topology[kind.section] for kind in _kinds.KINDS if kind.link_kind):
        reader.info.warnings.append("nothing read carries the marker of lab '%s' (%s)" % (lab, marker(lab)))
    return reader.info


# ---------------------------------------------------------------- diagrams ---


def _edge_label(entry: dict) -> str:
    """A veth pair's addresses, the first end's first: ``10.0.0.1/30 -- 10.0.0.2/30``; one end's alone with its
    name (``10.0.1.1/24 on net0-bridge``)."""
    left, right = ", ".join(entry.get("addresses") or ()), ", ".join(entry.get("peer_addresses") or ())
    if left and right:
        return "%s -- %s" % (left, right)
    if left or right:
        return "%s on %s" % (left, entry["name"]) if left else "%s on %s" % (right, entry["peer"])
    return ""


class _Graph:
    """Boxes (namespaces), nodes (devices) and edges (veth pairs, bridge ports) from a description."""

    def __init__(self, topology: dict):
        self.boxes: Dict[Optional[str], List[Tuple[str, str, str]]] = {}
        self.edges: List[Tuple[str, str, str, str]] = []
        self.ids: Dict[Endpoint, str] = {}
        names = [ns["name"] for ns in topology.get("namespaces") or ()]
        for netns in names:
            self.boxes[netns] = []
        for kind in _kinds.KINDS:
            if not kind.link_kind:
                continue
            for entry in topology.get(kind.section) or ():
                label = entry["name"]
                addresses = list(entry.get("addresses") or ())
                if kind.name == "veth":
                    self.node(entry.get("netns"), entry["name"], entry["name"], "veth")
                    self.node(peer_netns_of(entry.get("netns"), entry.get("peer_netns")), entry["peer"], entry["peer"],
                              "veth")
                    continue
                shape = "bridge" if kind.name == "bridge" else "device"
                text = "%s (%s)" % (label, kind.name) + "".join("\n" + a for a in addresses)
                self.node(entry.get("netns"), entry["name"], text, shape)
        for entry in topology.get("veths") or ():
            one = self.ids[(entry.get("netns"), entry["name"])]
            other = self.ids[(peer_netns_of(entry.get("netns"), entry.get("peer_netns")), entry["peer"])]
            label = _edge_label(entry)
            self.edges.append((one, other, label, "veth"))
        for entry in topology.get("bridges") or ():
            bridge = self.ids[(entry.get("netns"), entry["name"])]
            for port in entry.get("ports") or ():
                port_id = self.ids.get((entry.get("netns"), port["name"] if isinstance(port, dict) else port))
                if port_id is not None:
                    self.edges.append((bridge, port_id, "", "port"))
        # A device made on another (a macvlan on its parent, a vxlan on its underlay): a dashed edge too.
        for section, option in (("macvlans", "link"), ("vxlans", "dev")):
            for entry in topology.get(section) or ():
                lower = self.ids.get((entry.get("netns"), entry.get(option)))
                if lower is not None:
                    self.edges.append((lower, self.ids[(entry.get("netns"), entry["name"])], "", "port"))

        if HOST in self.boxes:
            # The host first, as `ip` shows it.
            self.boxes = dict([(HOST, self.boxes.pop(HOST))] + list(self.boxes.items()))

    def node(self, netns: Optional[str], name: str, text: str, shape: str) -> None:
        if (netns, name) in self.ids:
            return
        node_id = "n%d" % len(self.ids)
        self.ids[(netns, name)] = node_id
        self.boxes.setdefault(netns, []).append((node_id, text, shape))


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", "<br/>")


def mermaid(topology: dict) -> str:
    """A Mermaid flowchart: one subgraph per namespace (and the host), devices as nodes, veth pairs as edges."""
    graph = _Graph(topology)
    lines = ["flowchart LR"]
    for index, (netns, nodes) in enumerate(graph.boxes.items()):
        lines.append('  subgraph ns%d["%s"]' % (index, _mermaid_text("host" if netns is HOST else "netns " + netns)))
        for node_id, text, shape in nodes:
            opening, closing = {"bridge": ("{{", "}}"), "veth": ("([", "])")}.get(shape, ("[", "]"))
            lines.append('    %s%s"%s"%s' % (node_id, opening, _mermaid_text(text), closing))
        lines.append("  end")
    for one, other, label, style in graph.edges:
        arrow = "---" if style == "veth" else "-.-"
        lines.append('  %s %s%s %s' % (one, arrow, '|"%s"|' % _mermaid_text(label) if label else "", other))
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def dot(topology: dict) -> str:
    """A Graphviz digraph (drawn undirected): one cluster per namespace, devices as nodes, veth pairs as edges."""
    graph = _Graph(topology)
    lines = ["graph lab {", "  rankdir=LR;", '  fontname="sans-serif";', '  node [fontname="sans-serif"];',
             '  edge [fontname="sans-serif"];']
    for index, (netns, nodes) in enumerate(graph.boxes.items()):
        lines.append("  subgraph cluster_%d {" % index)
        lines.append('    label="%s";' % _dot_text("host" if netns is HOST else "netns " + netns))
        lines.append("    style=rounded;")
        if not nodes:
            # An empty cluster is not drawn: give the namespace a point to stand on.
            lines.append('    ns%d_empty [label="", shape=point, style=invis];' % index)
        for node_id, text, shape in nodes:
            look = {"bridge": "shape=box, style=filled, fillcolor=lightgrey", "veth": "shape=ellipse"}.get(shape, "shape=box")
            lines.append('    %s [label="%s", %s];' % (node_id, _dot_text(text), look))
        lines.append("  }")
    for one, other, label, style in graph.edges:
        attributes: List[str] = ['label="%s"' % _dot_text(label)] if label else []
        if style != "veth":
            attributes.append("style=dashed")
        lines.append("  %s -- %s%s;" % (one, other, " [%s]" % ", ".join(attributes) if attributes else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def diagram(topology: dict, fmt: str = "mermaid") -> str:
    return dot(topology) if fmt == "dot" else mermaid(topology)
