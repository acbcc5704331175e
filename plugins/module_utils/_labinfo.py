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

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._kind_veth import peer_netns_of
from ansible_collections.netvirt.linux.plugins.module_utils._model import ARPHRD_LOOPBACK, HOST, Link, World, is_ipv6_link_local
from ansible_collections.netvirt.linux.plugins.module_utils._results import kernel_made
from ansible_collections.netvirt.linux.plugins.module_utils._topology import marker

FORMATS = ("mermaid", "dot")
DEFAULT_MTU = 1500

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


def _addresses(link: Link) -> List[str]:
    # The kernel gives every interface its IPv6 link-local address; a rebuilt one gets its own.
    return [a for a in link.addresses if not is_ipv6_link_local(a)]


def _label(netns: Optional[str]) -> str:
    return "host" if netns is HOST else netns


class LabReader:
    """What a kind's describe hook (Kind.describe) is handed: the read World, the namespaces in scope, what
    is described so far, and the helpers every kind shares. Kind files reach them through this object (a kind
    file imports no _labinfo)."""

    DEFAULT_MTU = DEFAULT_MTU
    is_loopback = staticmethod(is_loopback)
    addresses = staticmethod(_addresses)
    label = staticmethod(_label)

    def __init__(self, world: World, spaces: List[Optional[str]], lab: Optional[str],
                 sysctl_defaults: Optional[Dict[str, str]] = None,
                 chains: Optional[Dict[str, Dict[str, str]]] = None):
        self.world = world
        self.spaces = spaces
        self.mark = marker(lab) if lab is not None else None
        # A fresh namespace's net.* sysctls, and each namespace's iptables-save texts ({netns: {family: text}}).
        self.sysctl_defaults: Dict[str, str] = sysctl_defaults or {}
        self.chains: Dict[str, Dict[str, str]] = chains or {}
        self.info = LabInfo()
        self.described: Set[Endpoint] = set()
        self.seen: Set[Endpoint] = set()
        self.pending: List[Callable[[], None]] = []

    def mine(self, link: Link) -> bool:
        return self.mark is None or link.alias == self.mark

    def skip(self, netns, link: Link, reason: str) -> None:
        self.info.left_out.append({"namespace": netns, "name": link.name, "kind": link.kind, "reason": reason})

    def warn(self, message: str) -> None:
        self.info.warnings.append(message)

    def claim(self, netns: Optional[str], name: str) -> None:
        """Another device one entry describes (a veth's peer): described, and never an entry of its own."""
        self.seen.add((netns, name))
        self.described.add((netns, name))

    def later(self, finish: Callable[[], None]) -> None:
        """Run ``finish`` once every device is described (a bridge's ports), before the other kinds' sections."""
        self.pending.append(finish)

    @staticmethod
    def put(entry: dict, netns: Optional[str]) -> None:
        """The entry's ``netns``, said only when it is not the host."""
        if netns is not HOST:
            entry["netns"] = netns

    def entry(self, netns: Optional[str], link: Link) -> dict:
        """A device's entry so far: its name, and its namespace unless the host."""
        entry: dict = {"name": link.name}
        self.put(entry, netns)
        return entry

    @staticmethod
    def common(entry: dict, link: Link, mtu_default: Optional[int]) -> dict:
        """The options every device has: addresses, mtu (said when not the kernel's default), up."""
        entry["addresses"] = _addresses(link)
        if link.mtu is not None and link.mtu != mtu_default:
            entry["mtu"] = link.mtu
        entry["up"] = link.up
        return entry

    def devices(self) -> Dict[str, list]:
        """{section: entries} of every device kind: each device read, in name order, by its kind's hook."""
        sections: Dict[str, list] = {kind.section: [] for kind in _kinds.KINDS if kind.link_kind}
        for netns in self.spaces:
            space = self.world.spaces[netns]
            for link in sorted(space.links.values(), key=lambda item: item.name):
                key = (netns, link.name)
                if key in self.seen or is_loopback(link) or kernel_made(link) or not self.mine(link):
                    continue
                kind = _kinds.by_link_kind(link.kind)
                if kind is None or kind.describe is None:
                    self.skip(netns, link, "not a device netvirt.linux makes (%s)" % (
                        "kind %s" % link.kind if link.kind else "not a virtual device"))
                    continue
                entry = kind.describe(self, netns, link)
                if entry is not None:
                    sections[kind.section].append(entry)
                    self.described.add(key)
                    self.seen.add(key)
        return sections

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


def describe(world: World, lab: Optional[str] = None, only: Optional[List[str]] = None, host: bool = True,
             sysctl_defaults: Optional[Dict[str, str]] = None,
             chains: Optional[Dict[str, Dict[str, str]]] = None) -> LabInfo:
    """The topology description, links table and what was left out, for the namespaces in scope.

    Every section is its kind's (Kind.describe), in the registry's order: the devices first (each read by its
    kind's hook), then what waits for all of them (a bridge's ports), then the kinds that are no device.
    """
    spaces = scope(world, lab=lab, only=only, host=host)
    reader = LabReader(world, spaces, lab, sysctl_defaults=sysctl_defaults, chains=chains)
    topology: Dict[str, object] = {}
    if lab is not None:
        topology["name"] = lab
    sections = reader.devices()
    for finish in reader.pending:
        finish()
    for kind in _kinds.KINDS:
        if kind.link_kind:
            topology[kind.section] = sections[kind.section]
        elif kind.describe is not None:
            topology[kind.section] = kind.describe(reader)
    reader.info.topology = topology
    reader.info.links = reader.link_rows()
    if lab is not None and not any(topology.get(kind.section) for kind in _kinds.KINDS if kind.link_kind or kind.container):
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


def _shaping_text(entry: dict) -> str:
    """A shaping entry in a few words: ``10mbit 20ms 1%`` (rate, delay, loss)."""
    return " ".join(str(entry[option]) for option in ("rate", "delay", "loss") if entry.get(option))


def _with_shaping(label: str, entry: dict, shaped: dict) -> str:
    """A veth pair's edge label with its ends' shaping: one text when one end is shaped or both alike."""
    peer_ns = peer_netns_of(entry.get("netns"), entry.get("peer_netns"))
    ends = [(entry.get("netns"), entry["name"]), (peer_ns, entry["peer"])]
    # Either end's shaping, in the pair's own entry (shaping, peer_shaping) or in the shaping section.
    own = [_shaping_text(entry.get(option) or {}) for option in ("shaping", "peer_shaping")]
    texts = [(name, own[i] or shaped.get((netns, name), "")) for i, (netns, name) in enumerate(ends)
             if own[i] or shaped.get((netns, name))]
    if not texts:
        return label
    text = texts[0][1] if len({t for _name, t in texts}) == 1 else ", ".join("%s %s" % item for item in texts)
    return "%s, %s" % (label, text) if label else text


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
        shaped = {(entry.get("netns"), entry["interface"]): _shaping_text(entry)
                  for entry in topology.get("shaping") or () if entry.get("interface")}
        for entry in topology.get("veths") or ():
            one = self.ids[(entry.get("netns"), entry["name"])]
            other = self.ids[(peer_netns_of(entry.get("netns"), entry.get("peer_netns")), entry["peer"])]
            label = _with_shaping(_edge_label(entry), entry, shaped)
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
