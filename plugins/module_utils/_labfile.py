# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab file (nodes and links) compiled into one `topology` description per host.

Pure: data in, data out, no kernel. ``compile_lab(lab, hosts)`` returns a CompiledLab (placement, shares,
addresses, checks, summary()); _labadopt.to_lab(description) goes the other way. The same lab file and hosts
always give the same names, addresses and VNIs, and appending a node or a link changes none that exist
(routes may change: a new link can make a shorter path). What the file may say, beside issue 26's keys:

- Top level: ``vxlan: {vni_base, port}``, and any `topology` section but ``namespaces`` (``iptables_chains``,
  ``routes``, ``taps``, ...), its entries given to the host of the node their ``netns`` names (none: the
  first host). Unknown keys are errors.
- A link mapping: ``ports: {node: name}`` names a member's bridge-side end, ``vni`` a link's own VNI;
  ``addresses`` is keyed by node, or by ``node:ifname`` as written when a node is on a link twice (a veth with
  both ends in one namespace); a value is a CIDR or a list (IPv4 and IPv6; empty: no address).

What it makes of them:

- Interfaces. A node's interfaces are ``eth0``, ``eth1``, ... in the order its links appear; an end named
  in the file (``node:ifname``) takes no number, and an automatic name skips a name an earlier end of that
  namespace holds (a later explicit name that an earlier end holds is an error, never a rename). The
  reserved node ``host`` is the machine's own namespace (``netns`` omitted, ``peer_netns: ''``): its
  automatic names are ``<lab>-eth<k>`` (``<lab>``: the lab name's first 6 characters), as a machine has
  its own ``eth0``.
- Links. Two nodes on one host: one veth pair, the first end its ``name``. Three or more nodes,
  ``bridge_in``, or nodes on several hosts: a bridge named after the link (its ``name``, else ``br<index>``
  inside a node, ``<lab>-br<index>`` in the host's namespace) and for each member a veth from its
  interface (the veth's ``name``) to a port of the bridge (``peer``) named ``<bridge>-<node>``, else
  ``<bridge>-<position>`` or ``<bridge>-<crc>`` when that is too long or taken; every name is checked
  against the names of its namespace. A member that holds the bridge (the ``bridge_in`` node, or ``host``
  for a bridge in the host's namespace) has the bridge itself as its interface, with its addresses.
  ``mtu`` goes on every veth of the link; ``shaping`` on each member's own end (the veth's ``shaping``, and
  ``peer_shaping`` for the second end of a pair), so each direction is shaped once, as lab_info reads it back.
- Addresses. Links take IPv4 subnets from the pool in the order they appear (``p2p_prefix`` for two
  nodes, also across hosts; ``lan_prefix`` for more or with ``bridge_in``), the k-th node of a link host
  number k+1. A link whose every end has explicit addresses and no ``prefix`` takes no subnet. A link's
  subnet depends on the links before it only: an explicit ``prefix`` or explicit addresses overlapping an
  earlier automatic subnet is an error naming both, and an automatic subnet skips the explicit ones before
  it. With ``ipv6``, link i takes the pool's i-th /64 beside. One address on two ends is an error.
- Across hosts: a link whose nodes sit on several hosts is, on each host holding a member, a bridge in the
  host's namespace with a vxlan port (VNI ``vni_base + link index``, ``vni_base`` from the lab name's CRC-32
  unless given; ``local`` this host's underlay address, ``remote`` the other's, ``remotes`` the others' with
  three or more), its veths' MTU 1450 unless the link gives one.
- Forwarding. ``forward: true`` and transit nodes get ``net.ipv4.ip_forward: 1`` (and IPv6's
  ``net.ipv6.conf.all.forwarding`` when the lab has IPv6 addresses); ``forward: false`` and nodes that are
  someone's ``gateway`` without forwarding get 0, so that a machine whose namespaces inherit forwarding
  behaves as the checks say. The node ``host`` is refused ``forward`` and ``gateway`` (the machine's own
  forwarding and default route are not the lab's to set), never forwards in the checks, and is never a
  transit; under ``routing: static`` it gets routes to the lab's subnets like any node.
- Routing ``static``: for every node a route to every lab subnet it is not on, via the next hop of a
  shortest path (breadth first over nodes, links as hyperedges, per address family), through nodes that may
  forward (not ``host``, not ``forward: false``); of equal next hops, the one over the link that appears first,
  then the node declared first. Overlapping subnets on two links are refused there (a route would be ambiguous).
- Checks: every node to every other node's addresses, ``reachable`` where the compiled tables (connected
  subnets, static and default routes, longest prefix first, forwarding) carry a ping there and its reply
  from the target's address back to the source address the source would choose.
"""


from __future__ import annotations

import ipaddress
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _topology
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_shaping import LINK_OPTIONS as SHAPING_OPTIONS
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, validate_ifname, validate_netns_name
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS

HOST_NODE = "host"
DEFAULT_HOST = "localhost"
ROUTINGS = ("none", "static")
DEFAULT_ADDRESSING = {"ipv4": "10.128.0.0/16", "p2p_prefix": 30, "lan_prefix": 24, "ipv6": None}
TOP_KEYS = ("name", "addressing", "routing", "nodes", "links", "vxlan")
NODE_KEYS = ("forward", "gateway", "host")
LINK_KEYS = ("name", "nodes", "mtu", "shaping", "prefix", "addresses", "bridge_in", "ports", "vni")
VXLAN_KEYS = ("vni_base", "port")
VNI_MAX = 16777215
VXLAN_PORT = 4789
# The encapsulation's outer headers (IPv4 underlay): a cross-host link's veths are made this much smaller.
VXLAN_OVERHEAD = 50
IFNAME_MAX = 15
# The topology sections the compiler writes itself; the others a lab file may give beside nodes and links.
SECTION_ORDER = ("namespaces", "veths", "bridges", "vxlans", "routes")
# Of those, the one a lab file cannot add entries to (its namespaces are its nodes).
COMPILED_ONLY = ("namespaces",)

Namespace = Tuple[str, Optional[str]]  # (inventory host, netns or HOST)


class LabFileError(ValidationError):
    """Every problem of a lab file, one per line, each naming the node or link and the key."""

    def __init__(self, problems: Sequence[str]):
        problems = list(problems)
        super().__init__("the lab file has %d problem(s), nothing was changed:\n%s" % (
            len(problems), "\n".join(problems)), problems=problems)
        self.problems = problems


@dataclass
class CompiledLab:
    """What a lab file compiles to: one topology description per host, the addresses, the checks."""

    name: str
    placement: Dict[str, str]
    shares: Dict[str, dict]
    addresses: Dict[str, Dict[str, List[str]]]
    checks: List[dict]
    routing: str = "none"
    links: int = 0
    lans: int = 0
    # What the caller should know: what the checks do not simulate (iptables chains).
    notes: List[str] = field(default_factory=list)

    def checks_for(self, host: str) -> List[dict]:
        """The checks whose source node is placed on ``host`` (the node ``host`` is ``from`` omitted)."""
        return [check for check in self.checks
                if self.placement.get(check.get("from") or HOST_NODE) == host]

    def summary(self) -> str:
        hosts = len(self.shares)
        return "lab %s: %d node%s, %d link%s (%d LAN%s), %d host%s, routing %s" % (
            self.name, len(self.placement), _plural(len(self.placement)), self.links, _plural(self.links),
            self.lans, _plural(self.lans), hosts, _plural(hosts), self.routing)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


@dataclass
class _End:
    node: str
    index: int           # position in the link's nodes
    written: str         # as the file writes it ("h1" or "h1:uplink")
    ifname: Optional[str]
    explicit: bool
    holder: bool = False  # its interface is the link's bridge itself
    port: Optional[str] = None  # the bridge-side end of its veth
    addresses: List[Any] = field(default_factory=list)  # ip_interface objects, IPv4 first


@dataclass
class _Link:
    index: int
    ends: List[_End]
    name: Optional[str] = None
    mtu: Optional[int] = None
    shaping: Optional[dict] = None
    prefix: Any = None
    addresses: Dict[str, Any] = field(default_factory=dict)
    bridge_in: Optional[str] = None
    ports: Dict[str, str] = field(default_factory=dict)
    vni: Optional[int] = None
    lan: bool = False
    hosts: List[str] = field(default_factory=list)
    bridge: Optional[str] = None
    vxlan: Optional[str] = None
    subnets: List[Any] = field(default_factory=list)  # this link's networks (IPv4 first)
    automatic: bool = False  # its IPv4 subnet came from the pool

    @property
    def where(self) -> str:
        return "links[%d]" % self.index


@dataclass
class _Node:
    name: str
    index: int
    forward: Optional[bool] = None
    gateway: Optional[str] = None
    host: str = DEFAULT_HOST

    @property
    def netns(self) -> Optional[str]:
        return HOST if self.name == HOST_NODE else self.name


class _Compiler:
    def __init__(self, lab, hosts):
        self.problems: List[str] = []
        self.lab = lab
        self.hosts: Dict[str, Optional[str]] = dict(hosts) if hosts else {DEFAULT_HOST: None}
        self.nodes: Dict[str, _Node] = {}
        self.links: List[_Link] = []
        self.name = ""
        self.routing = "none"
        self.ipv4: Any = None
        self.ipv6: Any = None
        self.p2p_prefix = 30
        self.lan_prefix = 24
        self.vni_base = 0
        self.vxlan_port = VXLAN_PORT
        self.extra: Dict[str, list] = {}
        # (inventory host, netns) -> {interface name: what holds it}
        self.names: Dict[Namespace, Dict[str, str]] = {}
        self.forwarding: Dict[str, bool] = {}
        self.routes: Dict[str, List[Tuple[Any, Any, int]]] = {}  # node -> [(dst network, gateway ip, link)]

    def problem(self, text: str) -> None:
        self.problems.append(text)

    # ---- reading the file ----

    def read(self) -> None:
        lab = self.lab
        if not isinstance(lab, Mapping):
            raise LabFileError(["the lab file must be a mapping (name, nodes, links, ...), not %s" % type(lab).__name__])
        unknown = [key for key in lab if key not in TOP_KEYS and key not in SECTION_OPTIONS]
        if unknown:
            self.problem("%s: unknown key(s); a lab file takes %s and the topology sections %s" % (
                ", ".join(map(str, unknown)), ", ".join(TOP_KEYS), ", ".join(SECTION_OPTIONS)))
        for key in COMPILED_ONLY:
            if key in lab:
                self.problem("%s: the lab's namespaces are its nodes; declare them under nodes" % key)
        try:
            self.name = _topology.validate_lab_name(lab.get("name"))  # type: ignore[arg-type]  # it checks
        except ValidationError as exc:
            self.problem("name: %s" % exc.msg)
            self.name = str(lab.get("name") or "lab")
        self._read_addressing(lab.get("addressing"))
        routing = lab.get("routing", "none")
        routing = "none" if routing is None else routing
        if routing not in ROUTINGS:
            self.problem("routing: %r is not one of %s" % (routing, ", ".join(ROUTINGS)))
        else:
            self.routing = routing
        self._read_vxlan(lab.get("vxlan"))
        self._read_nodes(lab.get("nodes"))
        self._read_links(lab.get("links"))
        for section in SECTION_OPTIONS:
            if section in lab and section not in COMPILED_ONLY:
                entries = lab[section]
                if entries is None:
                    continue
                if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
                    self.problem("%s: a list of mappings (the topology section's entries)" % section)
                    continue
                self.extra[section] = [dict(entry) for entry in entries]

    def _read_addressing(self, addressing) -> None:
        if addressing is None:
            addressing = {}
        if not isinstance(addressing, Mapping):
            self.problem("addressing: a mapping of %s" % ", ".join(DEFAULT_ADDRESSING))
            addressing = {}
        unknown = sorted(set(addressing) - set(DEFAULT_ADDRESSING), key=str)
        if unknown:
            self.problem("addressing: unknown key(s) %s; it takes %s" % (
                ", ".join(map(str, unknown)), ", ".join(DEFAULT_ADDRESSING)))
        settings = dict(DEFAULT_ADDRESSING, **{k: v for k, v in addressing.items() if k in DEFAULT_ADDRESSING})
        for key, version in (("ipv4", 4), ("ipv6", 6)):
            value = settings[key]
            if value is None:
                continue
            try:
                pool = ipaddress.ip_network(str(value))
            except ValueError as exc:
                self.problem("addressing.%s: %r is not a network (%s)" % (key, value, exc))
                continue
            if pool.version != version:
                self.problem("addressing.%s: %s is not an IPv%d network" % (key, value, version))
            elif version == 6 and pool.prefixlen > 64:
                self.problem("addressing.ipv6: %s is smaller than the /64 each link takes" % value)
            else:
                setattr(self, key, pool)
        for key in ("p2p_prefix", "lan_prefix"):
            value = settings[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30:
                self.problem("addressing.%s: %r must be a prefix length from 1 to 30" % (key, value))
            else:
                setattr(self, key, value)

    def _read_vxlan(self, vxlan) -> None:
        self.vni_base = 0x10000 + zlib.crc32(self.name.encode("utf-8")) % 0xE00000
        if vxlan is None:
            return
        if not isinstance(vxlan, Mapping):
            self.problem("vxlan: a mapping of %s" % ", ".join(VXLAN_KEYS))
            return
        unknown = sorted(set(vxlan) - set(VXLAN_KEYS), key=str)
        if unknown:
            self.problem("vxlan: unknown key(s) %s; it takes %s" % (", ".join(map(str, unknown)), ", ".join(VXLAN_KEYS)))
        base = vxlan.get("vni_base")
        if base is not None:
            if isinstance(base, bool) or not isinstance(base, int) or not 1 <= base <= VNI_MAX:
                self.problem("vxlan.vni_base: %r must be a VNI from 1 to %d" % (base, VNI_MAX))
            else:
                self.vni_base = base
        port = vxlan.get("port")
        if port is not None:
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                self.problem("vxlan.port: %r must be a UDP port from 1 to 65535" % (port,))
            else:
                self.vxlan_port = port

    def _read_nodes(self, nodes) -> None:
        if not isinstance(nodes, Mapping) or not nodes:
            self.problem("nodes: a mapping of node names to their options, with at least one node")
            return
        first_host = next(iter(self.hosts))
        for index, (name, options) in enumerate(nodes.items()):
            where = "nodes.%s" % name
            if not isinstance(name, str):
                self.problem("nodes: node name %r must be a string" % (name,))
                continue
            if name != HOST_NODE:
                try:
                    validate_netns_name(name, "node name")
                except ValidationError as exc:
                    self.problem("%s: %s" % (where, exc.msg))
                    continue
                if ":" in name:
                    self.problem("%s: a node name cannot contain ':' (links write an end as node:ifname)" % where)
                    continue
            options = {} if options is None else options
            if not isinstance(options, Mapping):
                self.problem("%s: the node's options must be a mapping (%s), or {}" % (where, ", ".join(NODE_KEYS)))
                options = {}
            unknown = sorted(set(options) - set(NODE_KEYS), key=str)
            if unknown:
                self.problem("%s: unknown key(s) %s; a node takes %s" % (
                    where, ", ".join(map(str, unknown)), ", ".join(NODE_KEYS)))
            node = _Node(name, index, host=first_host)
            forward = options.get("forward")
            if forward is not None and not isinstance(forward, bool):
                self.problem("%s.forward: %r must be true or false" % (where, forward))
            elif forward is not None and name == HOST_NODE and forward:
                self.problem("%s.forward: the host's own forwarding is not the lab's to set; route through a "
                             "node instead" % where)
            else:
                node.forward = forward
            gateway = options.get("gateway")
            if gateway is not None:
                if name == HOST_NODE:
                    self.problem("%s.gateway: the host's own default route is not the lab's to set" % where)
                elif not isinstance(gateway, str) or gateway not in nodes:
                    self.problem("%s.gateway: unknown node %r (declare it under nodes)" % (where, gateway))
                elif gateway == name:
                    self.problem("%s.gateway: a node cannot be its own gateway" % where)
                else:
                    node.gateway = gateway
            host = options.get("host")
            if host is not None:
                if host not in self.hosts:
                    self.problem("%s.host: %r is not a host of this play (hosts: %s)" % (
                        where, host, ", ".join(self.hosts)))
                else:
                    node.host = host
            self.nodes[name] = node

    def _read_links(self, links) -> None:
        if links is None:
            return
        if not isinstance(links, list):
            self.problem("links: a list of links (node lists or mappings)")
            return
        for index, entry in enumerate(links):
            link = self._read_link(index, entry)
            if link is not None:
                self.links.append(link)

    def _read_link(self, index: int, entry) -> Optional[_Link]:
        where = "links[%d]" % index
        if isinstance(entry, list):
            entry = {"nodes": entry}
        if not isinstance(entry, Mapping):
            self.problem("%s: a list of nodes or a mapping (%s)" % (where, ", ".join(LINK_KEYS)))
            return None
        unknown = sorted(set(entry) - set(LINK_KEYS), key=str)
        if unknown:
            self.problem("%s: unknown key(s) %s; a link takes %s" % (
                where, ", ".join(map(str, unknown)), ", ".join(LINK_KEYS)))
        ends = entry.get("nodes")
        if not isinstance(ends, list) or len(ends) < 2:
            self.problem("%s.nodes: a link joins a list of at least two nodes" % where)
            return None
        link = _Link(index, [])
        ok = True
        for position, written in enumerate(ends):
            end = self._read_end("%s.nodes[%d]" % (where, position), position, written)
            ok = ok and end is not None
            if end is not None:
                link.ends.append(end)
        if not ok:
            return None
        name = entry.get("name")
        if name is not None:
            try:
                link.name = validate_ifname(name, "link name")
            except ValidationError as exc:
                self.problem("%s.name: %s (the link's bridge is named after it)" % (where, exc.msg))
                ok = False
        mtu = entry.get("mtu")
        if mtu is not None:
            if isinstance(mtu, bool) or not isinstance(mtu, int) or not 68 <= mtu <= 65535:
                self.problem("%s.mtu: %r must be an MTU from 68 to 65535" % (where, mtu))
            else:
                link.mtu = mtu
        shaping = entry.get("shaping")
        if shaping is not None:
            if not isinstance(shaping, Mapping):
                self.problem("%s.shaping: a mapping of %s" % (where, ", ".join(SHAPING_OPTIONS)))
            else:
                wrong = sorted(set(shaping) - set(SHAPING_OPTIONS), key=str)
                if wrong:
                    self.problem("%s.shaping: unknown key(s) %s; it takes %s" % (
                        where, ", ".join(map(str, wrong)), ", ".join(SHAPING_OPTIONS)))
                else:
                    link.shaping = dict(shaping)
        prefix = entry.get("prefix")
        if prefix is not None:
            try:
                link.prefix = ipaddress.ip_network(str(prefix))
                if link.prefix.version != 4:
                    self.problem("%s.prefix: %s is not an IPv4 network" % (where, prefix))
                    link.prefix = None
            except ValueError as exc:
                self.problem("%s.prefix: %r is not a network (%s)" % (where, prefix, exc))
        self._read_addresses(link, entry.get("addresses"))
        bridge_in = entry.get("bridge_in")
        if bridge_in is not None:
            if bridge_in not in self.nodes:
                self.problem("%s.bridge_in: unknown node %r (declare it under nodes)" % (where, bridge_in))
            else:
                link.bridge_in = bridge_in
        nodes = [end.node for end in link.ends]
        ports = entry.get("ports")
        if ports is not None:
            if not isinstance(ports, Mapping):
                self.problem("%s.ports: a mapping of member node to the name of its bridge-side end" % where)
            else:
                for node, port in ports.items():
                    if node not in nodes:
                        self.problem("%s.ports.%s: %r is not a node of this link" % (where, node, node))
                        continue
                    try:
                        link.ports[node] = validate_ifname(port, "interface name")
                    except ValidationError as exc:
                        self.problem("%s.ports.%s: %s" % (where, node, exc.msg))
        vni = entry.get("vni")
        if vni is not None:
            if isinstance(vni, bool) or not isinstance(vni, int) or not 1 <= vni <= VNI_MAX:
                self.problem("%s.vni: %r must be a VNI from 1 to %d" % (where, vni, VNI_MAX))
            else:
                link.vni = vni
        hosts = {self.nodes[node].host for node in nodes}
        link.hosts = [host for host in self.hosts if host in hosts]
        link.lan = len(link.ends) > 2 or link.bridge_in is not None or len(link.hosts) > 1
        if link.lan:
            seen: Set[str] = set()
            for end in link.ends:
                if end.node in seen:
                    self.problem("%s.nodes[%d]: node %s is on this LAN twice" % (where, end.index, end.node))
                    ok = False
                seen.add(end.node)
        if link.bridge_in is not None and len(link.hosts) > 1:
            self.problem("%s.bridge_in: the link spans hosts %s; a link across hosts has a bridge in each host's "
                         "own namespace" % (where, ", ".join(link.hosts)))
            ok = False
        elif link.bridge_in is not None and self.nodes[link.bridge_in].host not in link.hosts:
            self.problem("%s.bridge_in: node %s is on host %s, the link's nodes on %s" % (
                where, link.bridge_in, self.nodes[link.bridge_in].host, ", ".join(link.hosts)))
            ok = False
        if link.ports and not link.lan:
            self.problem("%s.ports: only a LAN (3 or more nodes, or bridge_in) has bridge-side ends" % where)
        return link if ok else None

    def _read_end(self, where: str, position: int, written) -> Optional[_End]:
        if not isinstance(written, str) or not written:
            self.problem("%s: %r must be a node name or node:ifname" % (where, written))
            return None
        node, _sep, ifname = written.partition(":")
        if node not in self.nodes:
            self.problem("%s: unknown node %r (declare it under nodes)" % (where, node))
            return None
        if _sep:
            try:
                validate_ifname(ifname, "interface name")
            except ValidationError as exc:
                message = exc.msg
                if len(ifname.encode("utf-8")) > IFNAME_MAX:
                    message = "interface name %r is longer than %d characters" % (ifname, IFNAME_MAX)
                self.problem("%s: %s" % (where, message))
                return None
        return _End(node, position, written, ifname or None, bool(_sep))

    def _read_addresses(self, link: _Link, addresses) -> None:
        where = "%s.addresses" % link.where
        if addresses is None:
            return
        if not isinstance(addresses, Mapping):
            self.problem("%s: a mapping of node (or node:ifname) to its address(es)" % where)
            return
        for key, value in addresses.items():
            ends = [end for end in link.ends if end.written == key] or [end for end in link.ends if end.node == key]
            if not ends:
                self.problem("%s.%s: %r is not an end of this link" % (where, key, key))
                continue
            if len(ends) > 1:
                self.problem("%s.%s: node %s is on this link twice; key its addresses by node:ifname" % (
                    where, key, key))
                continue
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list):
                self.problem("%s.%s: an address in CIDR form or a list of them" % (where, key))
                continue
            parsed = []
            for text in values:
                try:
                    if not isinstance(text, str) or "/" not in text:
                        raise ValueError("it has no prefix length")
                    parsed.append(ipaddress.ip_interface(text))
                except ValueError as exc:
                    self.problem("%s.%s: %r is not an address in CIDR form (%s)" % (where, key, text, exc))
            link.addresses[ends[0].written] = sorted(parsed, key=lambda a: a.version)

    # ---- names ----

    def space(self, host: str, netns: Optional[str]) -> Dict[str, str]:
        return self.names.setdefault((host, netns), {})

    def _tag(self) -> str:
        tag = "".join(c for c in self.name if c.isascii() and (c.isalnum() or c in "-_."))
        return (tag or "lab")[:6]

    def assign_names(self) -> None:
        counters: Dict[str, int] = {}
        for link in self.links:
            self._bridge_of(link)
            for end in link.ends:
                node = self.nodes[end.node]
                space = self.space(node.host, node.netns)
                if end.holder:
                    end.ifname = link.bridge
                    continue
                if end.explicit and end.ifname is not None:
                    holder = space.get(end.ifname)
                    if holder is not None:
                        self.problem("%s.nodes[%d]: interface name %r of %s is already %s" % (
                            link.where, end.index, end.ifname, _label(end.node), holder))
                        continue
                    ifname = end.ifname
                else:
                    ifname = end.ifname = self._automatic(node, space, counters)
                space[ifname] = "%s's interface" % link.where
            if link.lan:
                self._ports(link)

    def _automatic(self, node: _Node, space: Dict[str, str], counters: Dict[str, int]) -> str:
        number = counters.get(node.name, 0)
        prefix = "eth" if node.name != HOST_NODE else self._tag() + "-eth"
        while prefix + str(number) in space:
            number += 1
        counters[node.name] = number + 1
        return prefix + str(number)

    def _bridge_of(self, link: _Link) -> None:
        """The link's bridge (the same name on every host of the link) and the member that holds it."""
        if not link.lan:
            return
        netns = self.nodes[link.bridge_in].netns if link.bridge_in is not None else HOST
        holders = [end for end in link.ends if self.nodes[end.node].netns == netns
                   and (link.bridge_in is not None or end.node == HOST_NODE)]
        for end in holders:
            end.holder = True
        spaces = [self.space(host, netns) for host in link.hosts]
        named = [end.ifname for end in holders if end.explicit]
        wanted = link.name or (named[0] if named else None)
        if named and link.name and named[0] != link.name:
            self.problem("%s.nodes[%d]: %s holds the link's bridge, named %r by the link's name, not %r" % (
                link.where, holders[0].index, _label(holders[0].node), link.name, named[0]))
        if wanted is not None:
            candidates = [wanted]
        elif netns is HOST:
            suffix = "-br%d" % link.index
            candidates = [self._tag()[:IFNAME_MAX - len(suffix)] + suffix, "br%d" % link.index]
        else:
            candidates = ["br%d" % link.index, "br%d-%s" % (link.index, self._tag())]
        for candidate in candidates:
            taken = [space[candidate] for space in spaces if candidate in space]
            if not taken:
                link.bridge = candidate
                break
            if wanted is not None:
                key = "name" if link.name else "nodes[%d]" % holders[0].index
                self.problem("%s.%s: bridge name %r in %s is already %s" % (
                    link.where, key, candidate, _where(netns), taken[0]))
                link.bridge = candidate
                return
        else:
            self.problem("%s: no free name for the link's bridge in %s (tried %s); give the link a name" % (
                link.where, _where(netns), ", ".join(candidates)))
            link.bridge = candidates[0]
            return
        for space in spaces:
            space[link.bridge] = "%s's bridge" % link.where

    def _ports(self, link: _Link) -> None:
        for end in link.ends:
            if end.holder:
                continue
            node = self.nodes[end.node]
            netns = self.nodes[link.bridge_in].netns if link.bridge_in is not None else HOST
            space = self.space(node.host, netns)
            wanted = link.ports.get(end.node)
            if wanted is not None:
                if wanted in space:
                    self.problem("%s.ports.%s: interface name %r in %s is already %s" % (
                        link.where, end.node, wanted, _where(netns), space[wanted]))
                    continue
                end.port = wanted
            else:
                end.port = self._port_name(link, end, space)
                if end.port is None:
                    self.problem("%s.nodes[%d]: no free name for the bridge-side end of %s in %s; name it under "
                                 "ports" % (link.where, end.index, _label(end.node), _where(netns)))
                    continue
            space[end.port] = "%s's bridge-side end of %s" % (link.where, _label(end.node))
        if len(link.hosts) > 1:
            spaces = [self.space(host, HOST) for host in link.hosts]
            bridge = link.bridge or ""
            for candidate in (bridge + "-vx", bridge[:IFNAME_MAX - 3] + "-vx", "vx%d" % self.vni(link)):
                if len(candidate.encode("utf-8")) <= IFNAME_MAX and not any(candidate in space for space in spaces):
                    break
            else:
                self.problem("%s: no free name for the link's vxlan in the host's namespace" % link.where)
                return
            link.vxlan = candidate
            for space in spaces:
                space[candidate] = "%s's vxlan" % link.where

    def _port_name(self, link: _Link, end: _End, space: Dict[str, str]) -> Optional[str]:
        bridge = link.bridge or "br"
        node = "".join(c for c in end.node if c.isascii() and (c.isalnum() or c in "-_.")) or "n"
        digest = zlib.crc32(("%d/%s" % (link.index, end.written)).encode("utf-8")) & 0xFFFFFF
        suffixes = ["-" + node, "-%d" % end.index, "-%x" % digest]
        for suffix in suffixes:
            if len(suffix) > IFNAME_MAX - 1:
                continue
            candidate = bridge[:IFNAME_MAX - len(suffix)] + suffix
            if len(candidate.encode("utf-8")) > IFNAME_MAX or candidate in space:
                continue
            try:
                validate_ifname(candidate)
            except ValidationError:
                continue
            return candidate
        return None

    def vni(self, link: _Link) -> int:
        return link.vni if link.vni is not None else self.vni_base + link.index

    # ---- addresses ----

    def assign_addresses(self) -> None:
        cursor = int(self.ipv4.network_address) if self.ipv4 is not None else 0
        owners: Dict[Any, str] = {}
        for link in self.links:
            cursor = self._subnet(link, cursor)
            for end in link.ends:
                given = link.addresses.get(end.written)
                if given is not None:
                    end.addresses = list(given)
                    for address in given:
                        same = [s for s in link.subnets if s.version == address.version]
                        if (link.prefix is not None or link.automatic or address.version == 6) and same and \
                                address.network not in same:
                            self.problem("%s.addresses.%s: %s is outside the link's subnet %s" % (
                                link.where, end.written, address, same[0]))
                    continue
                for subnet in link.subnets:
                    if len(link.ends) + 1 >= subnet.num_addresses:
                        continue  # said once, below
                    ip = subnet.network_address + end.index + 1
                    end.addresses.append(ipaddress.ip_interface("%s/%d" % (ip, subnet.prefixlen)))
            for subnet in link.subnets:
                if len(link.ends) + 1 >= subnet.num_addresses and \
                        any(end.written not in link.addresses for end in link.ends):
                    self.problem("%s.nodes: %d nodes do not fit in %s (%s)" % (
                        link.where, len(link.ends), subnet,
                        "prefix" if link.prefix is not None else
                        "lan_prefix" if len(link.ends) > 2 or link.bridge_in is not None else "p2p_prefix"))
            for end in link.ends:
                for address in end.addresses:
                    other = owners.get(address.ip)
                    if other is not None:
                        key = "addresses.%s" % end.written if end.written in link.addresses else \
                            "nodes[%d]" % end.index
                        self.problem("%s.%s: %s is already %s" % (link.where, key, address, other))
                    else:
                        owners[address.ip] = "%s's address of %s" % (link.where, _label(end.node))

    def _subnet(self, link: _Link, cursor: int) -> int:
        earlier = [other for other in self.links if other.index < link.index]
        explicit_all = all(end.written in link.addresses for end in link.ends)
        if link.prefix is not None:
            link.subnets = [link.prefix]
            self._overlaps(link, link.prefix, earlier, "prefix")
        elif explicit_all:
            networks = []
            for end in link.ends:
                for address in link.addresses[end.written]:
                    if address.version == 4 and address.network not in networks:
                        networks.append(address.network)
                        self._overlaps(link, address.network, earlier, "addresses.%s" % end.written)
            link.subnets = networks
        elif self.ipv4 is None:
            link.subnets = []
        else:
            key = "lan_prefix" if len(link.ends) > 2 or link.bridge_in is not None else "p2p_prefix"
            prefixlen = getattr(self, key)
            if prefixlen < self.ipv4.prefixlen:
                self.problem("addressing.%s: a /%d is larger than the pool %s (%s takes one)" % (
                    key, prefixlen, self.ipv4, link.where))
                link.subnets = []
                return cursor
            size = 1 << (32 - prefixlen)
            taken = [s for other in earlier for s in other.subnets if s.version == 4]
            while True:
                cursor = (cursor + size - 1) // size * size
                candidate = ipaddress.ip_network("%s/%d" % (ipaddress.ip_address(cursor), prefixlen)) \
                    if cursor < 1 << 32 else None
                if candidate is None or not candidate.subnet_of(self.ipv4):
                    self.problem("addressing.ipv4: pool %s exhausted at %s" % (self.ipv4, link.where))
                    link.subnets = []
                    return 1 << 32
                clash = [s for s in taken if s.overlaps(candidate)]
                if not clash:
                    break
                cursor = int(max(clash, key=lambda s: int(s.broadcast_address)).broadcast_address) + 1
            link.subnets = [candidate]
            link.automatic = True
            cursor += size
        if self.ipv6 is not None:
            if link.index >= 1 << (64 - self.ipv6.prefixlen):
                self.problem("addressing.ipv6: pool %s exhausted at %s" % (self.ipv6, link.where))
            elif not explicit_all:
                link.subnets.append(ipaddress.ip_network("%s/64" % (
                    self.ipv6.network_address + (link.index << 64))))
        return cursor

    def _overlaps(self, link: _Link, network, earlier: List[_Link], key: str) -> None:
        for other in earlier:
            for subnet in other.subnets:
                if subnet.version == network.version and subnet.overlaps(network) and \
                        (other.automatic or self.routing == "static"):
                    self.problem("%s.%s: %s overlaps %s's %ssubnet %s" % (
                        link.where, key, network, other.where, "automatic " if other.automatic else "", subnet))

    # ---- routing ----

    def node_addresses(self) -> Dict[str, List[Tuple[Any, int]]]:
        """node -> [(ip_interface, link index)]."""
        table: Dict[str, List[Tuple[Any, int]]] = {name: [] for name in self.nodes}
        for link in self.links:
            for end in link.ends:
                table[end.node].extend((address, link.index) for address in end.addresses)
        return table

    def assign_routes(self) -> None:
        for node in self.nodes.values():
            self.forwarding[node.name] = bool(node.forward)
            self.routes[node.name] = []
        addresses = self.node_addresses()
        if self.routing == "static":
            self._static_routes(addresses)
        for node in self.nodes.values():
            if node.gateway is None:
                continue
            shared = [link for link in self.links if {node.name, node.gateway} <= {end.node for end in link.ends}]
            if not shared:
                self.problem("nodes.%s.gateway: %s shares no link with %s" % (node.name, node.name, node.gateway))
                continue
            found = False
            for version in (4, 6):
                # The first shared link where both have an address of the family.
                for link in shared:
                    gateway = [a for a, i in addresses[node.gateway] if i == link.index and a.version == version]
                    mine = [a for a, i in addresses[node.name] if i == link.index and a.version == version]
                    if gateway and mine:
                        default = ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
                        self.routes[node.name].append((default, gateway[0].ip, link.index))
                        found = True
                        break
            if not found:
                self.problem("nodes.%s.gateway: %s and %s have addresses on no link they share (%s)" % (
                    node.name, node.name, node.gateway, ", ".join(link.where for link in shared)))

    def _static_routes(self, addresses) -> None:
        order = list(self.nodes)
        for version in (4, 6):
            # Adjacency: nodes that both have an address of this family on a link.
            on: Dict[int, List[str]] = {}
            for link in self.links:
                on[link.index] = [end.node for end in link.ends if any(a.version == version for a in end.addresses)]
            neighbours: Dict[str, List[Tuple[int, int, str]]] = {name: [] for name in order}
            for index, members in on.items():
                for one in members:
                    for other in members:
                        if other != one:
                            neighbours[one].append((index, self.nodes[other].index, other))
            for name in order:
                neighbours[name] = sorted(set(neighbours[name]))
            subnets: List[Tuple[Any, int]] = []
            for link in self.links:
                for subnet in link.subnets:
                    if subnet.version == version and all(subnet != s for s, _i in subnets):
                        subnets.append((subnet, link.index))
                for end in link.ends:
                    for address in end.addresses:
                        if address.version == version and all(address.network != s for s, _i in subnets):
                            subnets.append((address.network, link.index))
            for subnet, index in subnets:
                distance = self._distances([n for n in on[index] if self.transit(n)], neighbours)
                for name in order:
                    if any(a.network == subnet for a, _i in addresses[name]) or name not in distance:
                        continue
                    hops = [(via, rank, other) for via, rank, other in neighbours[name]
                            if distance.get(other) == distance[name] - 1 and self.transit(other)]
                    if not hops:
                        continue
                    via, _rank, hop = hops[0]
                    gateway = [a.ip for a, i in addresses[hop] if i == via and a.version == version]
                    self.routes[name].append((subnet, gateway[0], via))
                    self.forwarding[hop] = True

    def transit(self, name: str) -> bool:
        """Whether traffic may pass through the node: not the host, not a node whose forwarding is off."""
        return name != HOST_NODE and self.nodes[name].forward is not False

    def _distances(self, sources: List[str], neighbours) -> Dict[str, int]:
        distance = {name: 0 for name in sources}
        queue = deque(sources)
        while queue:
            name = queue.popleft()
            if not self.transit(name):
                continue
            for _link, _rank, other in neighbours[name]:
                if other not in distance:
                    distance[other] = distance[name] + 1
                    queue.append(other)
        return distance

    # ---- the topology descriptions ----

    def shares(self) -> Dict[str, dict]:
        ipv6 = any(a.version == 6 for link in self.links for end in link.ends for a in end.addresses)
        sections: Dict[str, Dict[str, list]] = {host: {section: [] for section in SECTION_ORDER}
                                                for host in self.hosts}
        for node in self.nodes.values():
            if node.name == HOST_NODE:
                continue
            entry: Dict[str, Any] = {"name": node.name}
            forward = self.forwarding.get(node.name)
            if forward is not None and (forward or node.forward is False or self._is_gateway(node.name)):
                entry["sysctls"] = {"net.ipv4.ip_forward": 1 if forward else 0}
                if ipv6:
                    entry["sysctls"]["net.ipv6.conf.all.forwarding"] = 1 if forward else 0
            sections[node.host]["namespaces"].append(entry)
        for link in self.links:
            if link.lan:
                self._lan(link, sections)
            else:
                self._pair(link, sections[self.nodes[link.ends[0].node].host])
        for node in self.nodes.values():
            for dst, gateway, _link in self.routes[node.name]:
                route: Dict[str, Any] = {"dst": "default" if dst.prefixlen == 0 else str(dst), "gateway": str(gateway)}
                if node.netns is not HOST:
                    route = dict(netns=node.name, **route)
                sections[node.host]["routes"].append(route)
        first = next(iter(self.hosts))
        for section, entries in self.extra.items():
            for position, entry in enumerate(entries):
                netns = entry.get("netns")
                if netns in (None, ""):
                    sections[first].setdefault(section, []).append(entry)
                elif netns not in self.nodes or netns == HOST_NODE:
                    self.problem("%s[%d].netns: %r is not a node of the lab (omit netns for the host)" % (
                        section, position, netns))
                else:
                    sections[self.nodes[netns].host].setdefault(section, []).append(entry)
        result = {}
        for host, described in sections.items():
            share: Dict[str, Any] = {"name": self.name}
            share.update((section, entries) for section, entries in described.items() if entries)
            result[host] = share
        return result

    def _is_gateway(self, name: str) -> bool:
        return any(node.gateway == name for node in self.nodes.values())

    def _mtu(self, link: _Link) -> Optional[int]:
        if link.mtu is not None:
            return link.mtu
        return 1500 - VXLAN_OVERHEAD if len(link.hosts) > 1 else None

    def _pair(self, link: _Link, sections: Dict[str, list]) -> None:
        first, second = link.ends
        one, other = self.nodes[first.node], self.nodes[second.node]
        veth: Dict[str, Any] = {"name": first.ifname}
        if one.netns is not HOST:
            veth["netns"] = one.name
        veth["peer"] = second.ifname
        if other.netns != one.netns:
            veth["peer_netns"] = "" if other.netns is HOST else other.name
        veth["addresses"] = [str(a) for a in first.addresses]
        veth["peer_addresses"] = [str(a) for a in second.addresses]
        if link.mtu is not None:
            veth["mtu"] = link.mtu
        if link.shaping is not None:
            veth["shaping"] = dict(link.shaping)
            veth["peer_shaping"] = dict(link.shaping)
        sections["veths"].append(veth)

    def _lan(self, link: _Link, sections: Dict[str, Dict[str, list]]) -> None:
        netns = self.nodes[link.bridge_in].netns if link.bridge_in is not None else HOST
        mtu = self._mtu(link)
        for host in link.hosts:
            ports = []
            bridge: Dict[str, Any] = {"name": link.bridge}
            if netns is not HOST:
                bridge["netns"] = netns
            for end in link.ends:
                node = self.nodes[end.node]
                if node.host != host:
                    continue
                if end.holder:
                    bridge["addresses"] = [str(a) for a in end.addresses]
                    continue
                veth: Dict[str, Any] = {"name": end.ifname}
                if node.netns is not HOST:
                    veth["netns"] = node.name
                veth["peer"] = end.port
                if netns != node.netns:
                    veth["peer_netns"] = "" if netns is HOST else netns
                veth["addresses"] = [str(a) for a in end.addresses]
                if mtu is not None:
                    veth["mtu"] = mtu
                if link.shaping is not None:
                    veth["shaping"] = dict(link.shaping)
                sections[host]["veths"].append(veth)
                ports.append(end.port)
            if len(link.hosts) > 1 and link.vxlan is not None:
                vxlan: Dict[str, Any] = {"name": link.vxlan, "vni": self.vni(link), "dstport": self.vxlan_port}
                others = [self.hosts[other] for other in link.hosts if other != host]
                if self.hosts[host] is not None:
                    vxlan["local"] = self.hosts[host]
                if len(others) == 1:
                    vxlan["remote"] = others[0]
                else:
                    vxlan["remotes"] = others
                sections[host]["vxlans"].append(vxlan)
                ports.append(link.vxlan)
            bridge["ports"] = ports
            sections[host]["bridges"].append(bridge)

    def check_underlay(self) -> None:
        needed: Dict[str, List[str]] = {}
        for link in self.links:
            if len(link.hosts) > 1:
                for host in link.hosts:
                    needed.setdefault(host, []).append(link.where)
        for host, wheres in needed.items():
            address = self.hosts[host]
            if address is None:
                self.problem("hosts.%s: no underlay address (netvirt_underlay_address or ansible_host), which %s "
                             "across hosts need%s" % (host, ", ".join(wheres), "s" if len(wheres) == 1 else ""))
                continue
            try:
                ipaddress.ip_address(address)
            except ValueError:
                # Only where a vxlan needs it: ansible_host is often a DNS name, and a lab on one host needs none.
                need = "needs" if len(wheres) == 1 else "need"
                self.problem("hosts.%s: underlay address %r is not an IP address (set netvirt_underlay_address), "
                             "which %s across hosts %s" % (host, address, ", ".join(wheres), need))
        vnis: Dict[int, str] = {}
        for link in self.links:
            if len(link.hosts) > 1:
                vni = self.vni(link)
                if not 1 <= vni <= VNI_MAX:
                    self.problem("%s.vni: VNI %d (vni_base %d + link index) is over %d; set vxlan.vni_base" % (
                        link.where, vni, self.vni_base, VNI_MAX))
                elif vni in vnis:
                    self.problem("%s.vni: VNI %d is already %s's" % (link.where, vni, vnis[vni]))
                else:
                    vnis[vni] = link.where

    # ---- checks ----

    def checks(self) -> List[dict]:
        simulation = _Simulation(self)
        result = []
        for source in self.nodes:
            verdicts: Dict[str, List[str]] = {"reachable": [], "unreachable": []}
            for target in self.nodes:
                if target == source:
                    continue
                for address, _link in simulation.addresses[target]:
                    expect = "reachable" if simulation.reaches(source, address.ip) else "unreachable"
                    verdicts[expect].append(str(address.ip))
            for expect, targets in verdicts.items():
                if targets:
                    check: Dict[str, Any] = {"to": targets, "expect": expect}
                    if source != HOST_NODE:
                        check = {"from": source, "to": targets, "expect": expect}
                    result.append(check)
        return result

    def validate(self, shares: Dict[str, dict]) -> None:
        """The checks `topology` makes, on each host's share, before anything is built."""
        for host, share in shares.items():
            description = {}
            for section, entries in share.items():
                if section == "name":
                    continue
                options = SECTION_OPTIONS.get(section, {})
                # An option this collection's topology does not take yet (vxlan remotes) is not validated here.
                description[section] = [{k: v for k, v in entry.items() if k in options or k not in _COMPILED}
                                        for entry in entries]
            try:
                _topology.build(description)
            except ValidationError as exc:
                problems = exc.details.get("problems") or [exc.msg]
                self.problems.extend("hosts.%s: %s" % (host, problem) for problem in problems)


# Options the compiler itself may write that an older topology may not know.
_COMPILED = frozenset(("remotes",))


class _Simulation:
    """The lab's forwarding, as the compiled tables make it: longest prefix, connected first, then routes.

    Addresses are (version, integer) pairs and each table entry a (version, network, mask, gateway, link)
    tuple: a lab of 90 nodes asks for some 15,000 walks.
    """

    def __init__(self, compiler: _Compiler):
        self.addresses = compiler.node_addresses()
        self.forwarding = {name: forward and name != HOST_NODE for name, forward in compiler.forwarding.items()}
        self.table: Dict[str, List[Tuple[int, int, int, Optional[Tuple[int, int]], int]]] = {}
        for name, addresses in self.addresses.items():
            entries = [(a.network, None, index) for a, index in addresses] + list(compiler.routes.get(name, []))
            # Longest prefix first; of equal ones, connected before routes (the kernel's own order, metric 0).
            entries.sort(key=lambda entry: -entry[0].prefixlen)
            self.table[name] = [(network.version, int(network.network_address), int(network.netmask),
                                 None if gateway is None else _key(gateway), index)
                                for network, gateway, index in entries]
        self.local = {name: {_key(a.ip) for a, _i in addresses} for name, addresses in self.addresses.items()}
        self.owner: Dict[Tuple[int, Tuple[int, int]], str] = {}
        self.holder: Dict[Tuple[int, int], str] = {}
        for name, addresses in self.addresses.items():
            for address, index in addresses:
                self.owner.setdefault((index, _key(address.ip)), name)
                self.holder.setdefault(_key(address.ip), name)
        # (node, address) -> whether a packet that node received (or sends) for the address gets there.
        self._arrives: Dict[Tuple[str, Tuple[int, int]], bool] = {}

    def lookup(self, node: str, ip: Tuple[int, int]):
        version, value = ip
        for entry in self.table[node]:
            if entry[0] == version and value & entry[2] == entry[1]:
                return entry
        return None

    def following(self, node: str, ip: Tuple[int, int]) -> Optional[str]:
        """The node a packet for ``ip`` goes to next from ``node``, if any."""
        route = self.lookup(node, ip)
        if route is None:
            return None
        hop = ip if route[3] is None else route[3]
        following = self.owner.get((route[4], hop))
        return None if following == node else following

    def source(self, node: str, ip: Tuple[int, int]) -> Optional[Tuple[int, int]]:
        """The address a ping from ``node`` to ``ip`` is sent from: one on the way out, in the hop's subnet."""
        route = self.lookup(node, ip)
        if route is None:
            return None
        hop = ip if route[3] is None else route[3]
        candidates = [a for a, i in self.addresses[node] if i == route[4] and a.version == ip[0]]
        for address in candidates:
            if int(address.network.network_address) == hop[1] & int(address.network.netmask):
                return _key(address.ip)
        return _key(candidates[0].ip) if candidates else None

    def arrives(self, node: str, ip: Tuple[int, int]) -> bool:
        """Whether a packet for ``ip`` that ``node`` received from another node gets there."""
        path: List[str] = []
        result = False
        while True:
            key = (node, ip)
            if key in self._arrives:
                result = self._arrives[key]
                break
            if ip in self.local[node]:
                result = True
                break
            if node in path or not self.forwarding.get(node):
                break
            path.append(node)
            following = self.following(node, ip)
            if following is None:
                break
            node = following
        for visited in path:
            self._arrives[(visited, ip)] = result
        return result

    def sent(self, node: str, ip: Tuple[int, int]) -> bool:
        """Whether a packet ``node`` sends to ``ip`` gets there (the sender needs no forwarding)."""
        if ip in self.local[node]:
            return True
        following = self.following(node, ip)
        return following is not None and self.arrives(following, ip)

    def reaches(self, source: str, ip) -> bool:
        target = _key(ip)
        if not self.sent(source, target):
            return False
        back = self.source(source, target)
        return back is not None and self.sent(self.holder[target], back)


def _key(ip) -> Tuple[int, int]:
    return (ip.version, int(ip))


def _label(node: str) -> str:
    return "the host" if node == HOST_NODE else node


def _where(netns: Optional[str]) -> str:
    return "the host's namespace" if netns is HOST else "node %s" % netns


def compile_lab(lab, hosts: Optional[Mapping[str, Optional[str]]] = None, validate: Any = True) -> CompiledLab:
    """Compile a lab file (a mapping) for the play's hosts (host -> underlay address, in play order).

    ``validate``: check every host's share as `topology` does (True, the default), none (False), or only
    the share of the host named (an action plugin compiling the lab once per host checks its own).
    Raise LabFileError with every problem found.
    """
    compiler = _Compiler(lab, hosts)
    compiler.read()
    if compiler.problems:
        raise LabFileError(compiler.problems)
    compiler.assign_names()
    compiler.assign_addresses()
    compiler.check_underlay()
    if compiler.problems:
        raise LabFileError(compiler.problems)
    compiler.assign_routes()
    shares = compiler.shares()
    if compiler.problems:
        raise LabFileError(compiler.problems)
    if validate:
        compiler.validate(shares if validate is True else {validate: shares[validate]} if validate in shares else {})
    if compiler.problems:
        raise LabFileError(compiler.problems)
    addresses: Dict[str, Dict[str, List[str]]] = {name: {} for name in compiler.nodes}
    for link in compiler.links:
        for end in link.ends:
            if end.ifname is not None:
                addresses[end.node].setdefault(end.ifname, []).extend(str(a) for a in end.addresses)
    for interfaces in addresses.values():
        for ifname, cidrs in interfaces.items():
            interfaces[ifname] = sorted(cidrs, key=lambda c: 6 if ":" in c else 4)
    return CompiledLab(
        name=compiler.name,
        placement={name: node.host for name, node in compiler.nodes.items()},
        shares=shares,
        addresses=addresses,
        checks=compiler.checks(),
        routing=compiler.routing,
        links=len(compiler.links),
        lans=sum(1 for link in compiler.links if link.lan),
        notes=["checks: the lab's iptables_chains (%d) are not simulated: the checks say what its addresses, "
               "routes and forwarding do without them (NAT and filters may change what is reached)"
               % len(compiler.extra["iptables_chains"])] if compiler.extra.get("iptables_chains") else [],
    )


# ---- the other way: a topology description (lab_info's reading) as a lab file ----

# A bridge's options that a lab file's link has no word for, at the value it would leave them.
