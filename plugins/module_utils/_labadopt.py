# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A `topology` description (a lab_info reading) turned back into a lab file of nodes and links.

Pure: the other way from _labfile.compile_lab, used by lab_info's ``format: lab`` to adopt a lab made by
hand or by `topology`. Compiling what ``to_lab`` returns (routing ``none``) gives the description back.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._labfile import HOST_NODE
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS

_BRIDGE_AS_LINK = {"stp": False, "up": True}
_VETH_AS_LINK = {"up": True}


def to_lab(description: Mapping, name: Optional[str] = None) -> Tuple[dict, List[str]]:
    """A lab file (nodes and links) for a `topology` description, and notes on what kept its topology form.

    Namespaces become nodes (``net.ipv4.ip_forward`` their ``forward``); a veth pair between two namespaces (or
    a namespace and the host) becomes a link, and a bridge whose ports are all veth ends to other namespaces a
    LAN (``bridge_in`` its namespace, ``ports`` its ends, a bridge with addresses the interface of its namespace),
    every end and address written out, so that compiling the result with routing ``none`` gives the
    description back. What has no lab form (routes, vxlans, taps, a bridge with other ports or settings, ...)
    is kept as entries of the topology sections beside nodes and links, each said in the notes.
    """
    notes: List[str] = []
    given = {section: [{k: v for k, v in dict(entry).items() if v is not None} for entry in entries or []]
             for section, entries in description.items() if section in SECTION_OPTIONS}
    lab: Dict[str, Any] = {"name": name or description.get("name") or "adopted", "nodes": {}, "links": []}
    nodes: Dict[str, dict] = lab["nodes"]
    for position, entry in enumerate(given.get("namespaces", [])):
        node = entry["name"]
        if node == HOST_NODE:
            notes.append("namespaces[%d]: a namespace named 'host' cannot be a node (the name is the host's own "
                         "namespace): left out" % position)
            continue
        options: Dict[str, Any] = {}
        sysctls = dict(entry.get("sysctls") or {})
        forward = sysctls.pop("net.ipv4.ip_forward", None)
        if forward is not None:
            options["forward"] = str(forward) in ("1", "True", "true")
            if str(sysctls.get("net.ipv6.conf.all.forwarding", forward)) == str(forward):
                sysctls.pop("net.ipv6.conf.all.forwarding", None)
        if sysctls or entry.get("loopback") is False:
            notes.append("namespaces[%d]: %s of node %s have no lab form: left out" % (
                position, ", ".join(sorted(sysctls)) or "loopback false", node))
        nodes[node] = options

    def node_of(netns) -> Optional[str]:
        if netns in (None, ""):
            return HOST_NODE
        return netns if netns in nodes else None

    veths = given.get("veths", [])
    ends: Dict[Tuple[Optional[str], str], Tuple[int, str]] = {}
    for index, veth in enumerate(veths):
        netns = veth.get("netns") or None
        peer_netns = netns if "peer_netns" not in veth else (veth["peer_netns"] or None)
        ends[(netns, veth["name"])] = (index, "name")
        ends[(peer_netns, veth["peer"])] = (index, "peer")
    mastered = {(entry.get("netns") or None, entry["master"]) for entries in given.values() for entry in entries
                if entry.get("master")}
    ported = {(bridge.get("netns") or None, _port_name(port)) for bridge in given.get("bridges", [])
              for port in bridge.get("ports") or []}
    used: Set[int] = set()
    kept: Dict[str, List[dict]] = {}
    for position, bridge in enumerate(given.get("bridges", [])):
        lan = _bridge_as_link(bridge, veths, ends, ported, mastered, node_of)
        if lan is None:
            kept.setdefault("bridges", []).append(bridge)
            notes.append("bridges[%d]: bridge %s is kept as a topology entry (its ports or settings have no "
                         "lab form)" % (position, bridge["name"]))
            continue
        used.update(lan[1])
        lab["links"].append(lan[0])
    for index, veth in enumerate(veths):
        if index in used:
            continue
        link = _veth_as_link(veth, ported, mastered, node_of)
        if link is None:
            kept.setdefault("veths", []).append(veth)
            notes.append("veths[%d]: veth %s is kept as a topology entry" % (index, veth["name"]))
        else:
            lab["links"].append(link)
    for section, entries in given.items():
        if section in ("namespaces", "veths", "bridges") or not entries:
            continue
        kept.setdefault(section, []).extend(entries)
        notes.append("%s: kept as topology entries (%d)" % (section, len(entries)))
    uses_host = any(end.split(":")[0] == HOST_NODE for link in lab["links"] for end in link["nodes"]) or \
        any(link.get("bridge_in") == HOST_NODE for link in lab["links"])
    if uses_host or not nodes:
        # A lab file has at least one node: a lab of host devices only (a tap, a pair with both ends there)
        # is node `host`'s.
        nodes[HOST_NODE] = {}
    for section in SECTION_OPTIONS:
        if kept.get(section):
            lab[section] = kept[section]
    if not lab["links"]:
        del lab["links"]
    return lab, notes


def _port_name(port) -> str:
    return port["name"] if isinstance(port, Mapping) else port


def _veth_as_link(veth: dict, ported, mastered, node_of) -> Optional[dict]:
    netns = veth.get("netns") or None
    peer_netns = netns if "peer_netns" not in veth else (veth["peer_netns"] or None)
    one, other = node_of(netns), node_of(peer_netns)
    extra = set(veth) - {"name", "netns", "peer", "peer_netns", "addresses", "peer_addresses", "mtu", "shaping",
                         "peer_shaping"} - {k for k, v in _VETH_AS_LINK.items() if veth.get(k) == v}
    if one is None or other is None or extra or veth.get("shaping") != veth.get("peer_shaping") or \
            {(netns, veth["name"]), (peer_netns, veth["peer"])} & (ported | mastered):
        return None
    written = ["%s:%s" % (one, veth["name"]), "%s:%s" % (other, veth["peer"])]
    keys = written if one == other else [one, other]
    link: Dict[str, Any] = {"nodes": written, "addresses": {
        keys[0]: list(veth.get("addresses") or []), keys[1]: list(veth.get("peer_addresses") or [])}}
    if "mtu" in veth:
        link["mtu"] = veth["mtu"]
    if "shaping" in veth:
        link["shaping"] = veth["shaping"]
    return link


def _bridge_as_link(bridge: dict, veths, ends, ported, mastered, node_of) -> Optional[Tuple[dict, List[int]]]:
    netns = bridge.get("netns") or None
    holder = node_of(netns)
    extra = set(bridge) - {"name", "netns", "ports", "addresses"} - {
        k for k, v in _BRIDGE_AS_LINK.items() if bridge.get(k) == v}
    ports = bridge.get("ports") or []
    if holder is None or extra or (netns, bridge["name"]) in mastered or \
            any(isinstance(port, Mapping) and set(port) != {"name"} for port in ports):
        return None
    members: List[int] = []
    written, addresses, names, mtus, shapings = [], {}, {}, set(), []
    for port in map(_port_name, ports):
        found = ends.get((netns, port))
        if found is None:
            return None
        index, side = found
        veth = veths[index]
        own = veth.get("netns") or None
        peer = own if "peer_netns" not in veth else (veth["peer_netns"] or None)
        member_side = "peer" if side == "name" else "name"
        member_netns, member_name = (peer, veth["peer"]) if side == "name" else (own, veth["name"])
        member = node_of(member_netns)
        member_shaping = veth.get("shaping" if member_side == "name" else "peer_shaping")
        port_shaping = veth.get("peer_shaping" if member_side == "name" else "shaping")
        extra = set(veth) - {"name", "netns", "peer", "peer_netns", "addresses", "peer_addresses", "mtu", "shaping",
                             "peer_shaping"} - {k for k, v in _VETH_AS_LINK.items() if veth.get(k) == v}
        port_addresses = veth.get("peer_addresses" if member_side == "name" else "addresses")
        if member is None or member == holder or member in names or extra or port_shaping or port_addresses or \
                (member_netns, member_name) in ported | mastered:
            return None
        members.append(index)
        written.append("%s:%s" % (member, member_name))
        addresses[member] = list(veth.get("addresses" if member_side == "name" else "peer_addresses") or [])
        names[member] = port
        mtus.add(veth.get("mtu"))
        shapings.append(member_shaping)
    if len(mtus) > 1 or any(shaping != shapings[0] for shaping in shapings):
        return None
    if bridge.get("addresses"):
        written.append(holder)
        addresses[holder] = list(bridge["addresses"])
    if len(written) < 2:
        return None
    link: Dict[str, Any] = {"name": bridge["name"], "nodes": written, "bridge_in": holder, "ports": names,
                            "addresses": addresses}
    mtu = mtus.pop() if mtus else None
    if mtu is not None:
        link["mtu"] = mtu
    if shapings and shapings[0] is not None:
        link["shaping"] = shapings[0]
    return link, members
