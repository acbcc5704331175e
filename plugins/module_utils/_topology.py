# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole lab as one description: turned into the engine's own objects.

Pure: every object is built by the same model classes the single-object
modules use, and the description is checked as a whole (duplicates, dangling
references, overlapping addresses) so that every problem is reported at once,
before anything is read or touched.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    Bridge,
    Netns,
    Route,
    Tap,
    Veth,
    control_character,
)

# Ownership marker: the interface alias (IFLA_IFALIAS) of every link a lab
# creates, and of the loopback device of every namespace it creates.
MARKER_PREFIX = "netvirt:lab="
LAB_NAME_MAX = 64


def marker(lab: str) -> str:
    return MARKER_PREFIX + lab


def validate_lab_name(name: str) -> str:
    if not isinstance(name, str) or not name or len(name) > LAB_NAME_MAX or any(c.isspace() for c in name):
        raise ValidationError("lab name %r must be 1 to %d characters without white space" % (name, LAB_NAME_MAX))
    control = control_character(name)
    if control is not None:
        # The name becomes every object's marker (the interface alias).
        raise ValidationError("lab name %r contains the control character %r" % (name, control))
    return name


# Each section: the model class its entries build. The options of an entry
# are declared once, in _specs.SECTION_OPTIONS, as the module's suboptions:
# Ansible has converted and type-checked them before build() sees them.
SECTIONS: Dict[str, type] = {
    "namespaces": Netns,
    "veths": Veth,
    "bridges": Bridge,
    "taps": Tap,
    "routes": Route,
}


@dataclass
class Description:
    """The objects of one lab, in dependency-friendly order, and what they occupy."""

    objects: list = field(default_factory=list)
    # (netns, ifname) -> "veths[0]" etc.: every interface the lab owns.
    endpoints: Dict[Tuple[Optional[str], str], str] = field(default_factory=dict)
    namespaces: List[str] = field(default_factory=list)


def _where(netns: Optional[str]) -> str:
    return "the host" if netns is HOST else "namespace '%s'" % netns


def build(description: Dict[str, list], resolve_id: Optional[Callable] = None,
          convert_port: Optional[Callable] = None) -> Description:
    """Build and check the lab; raise one ValidationError listing every problem.

    Entries are dicts of their section's options, as Ansible validated them.
    ``resolve_id(value, option)`` turns a tap's owner or group name into an id;
    ``convert_port(entry)`` converts a bridge port given as a dict (ValueError
    when it does not fit).
    """
    problems: List[str] = []
    result = Description()
    built: Dict[str, list] = {section: [] for section in SECTIONS}
    unbuilt: set = set()

    for section, cls in SECTIONS.items():
        for index, entry in enumerate(description.get(section) or []):
            where = "%s[%d]" % (section, index)
            # Ansible refuses unknown keys before this; the guard keeps a
            # section's entry from ever setting what the whole lab decides (state).
            unknown = sorted(set(entry) - set(SECTION_OPTIONS[section]))
            if unknown:
                problems.append("%s: unknown key(s) %s; %s take %s" % (
                    where, ", ".join(unknown), section, ", ".join(SECTION_OPTIONS[section])))
                continue
            kwargs = {k: v for k, v in entry.items() if v is not None}
            try:
                if section == "taps" and resolve_id is not None:
                    for option in ("owner", "group"):
                        if option in kwargs:
                            kwargs[option] = resolve_id(str(kwargs[option]), option)
                if section == "bridges" and convert_port is not None and kwargs.get("ports"):
                    kwargs["ports"] = _converted_ports(kwargs["ports"], convert_port)
                obj = cls(**kwargs)
            except NetvirtError as exc:
                problems.append("%s%s" % (where, exc.msg if exc.msg.startswith(".") else ": " + exc.msg))
                # Said once: references to it are not problems of their own.
                unbuilt.add((section, entry.get("netns"), entry.get("name")))
                continue
            built[section].append((where, obj))

    _check_references(built, result, problems, unbuilt)
    if problems:
        raise ValidationError(
            "the topology has %d problem(s), nothing was changed: %s" % (len(problems), "; ".join(problems)),
            problems=problems)
    result.objects = _in_dependency_order(built)
    return result


def _converted_ports(ports: list, convert_port: Callable) -> list:
    converted = []
    for index, port in enumerate(ports):
        if isinstance(port, dict):
            try:
                port = convert_port(port)
            except ValueError as exc:
                raise ValidationError(".ports[%d]: %s" % (index, exc)) from None
        converted.append(port)
    return converted


def _in_dependency_order(built: Dict[str, list]) -> list:
    """Namespaces, veths, taps, bridges, routes: a bridge's ports exist before it is planned.

    A tap whose bridge lists it among its ports is attached by the bridge, so
    its own ``master`` is dropped; a tap joining a bridge whose ports are not
    managed is planned after that bridge instead.
    """
    managed_ports = {(b.netns, b.name) for _where, b in built["bridges"] if b.ports is not None}
    early_taps, late_taps = [], []
    for _where, tap in built["taps"]:
        if tap.master and (tap.netns, tap.master) in managed_ports:
            early_taps.append(replace(tap, master=None))
        elif tap.master:
            late_taps.append(tap)
        else:
            early_taps.append(tap)

    def objects(section: str) -> list:
        return [obj for _where, obj in built[section]]

    return (objects("namespaces") + objects("veths") + early_taps + objects("bridges") + late_taps
            + objects("routes"))


def _check_references(built: Dict[str, list], result: Description, problems: List[str],
                      unbuilt=frozenset()) -> None:
    namespaces: Dict[str, str] = {}
    for where, ns in built["namespaces"]:
        if ns.name in namespaces:
            problems.append("%s: namespace '%s' is already described by %s" % (where, ns.name, namespaces[ns.name]))
        namespaces[ns.name] = where
    result.namespaces = list(namespaces)

    def known_netns(where: str, netns: Optional[str], what: str = "netns") -> None:
        if netns is not HOST and netns not in namespaces:
            problems.append("%s: %s '%s' is not one of the lab's namespaces" % (where, what, netns))

    endpoints = result.endpoints
    # (netns, ifname) -> the CIDRs the lab gives that interface; None when it
    # leaves them alone.
    addresses: Dict[Endpoint, Optional[List[str]]] = {}
    segments = _Segments()

    def occupy(where: str, netns: Optional[str], name: str, cidrs) -> None:
        key = (netns, name)
        if key in endpoints:
            problems.append("%s: interface '%s' in %s is already described by %s" % (
                where, name, _where(netns), endpoints[key]))
            return
        endpoints[key] = where
        addresses[key] = None if cidrs is None else list(cidrs)

    for where, veth in built["veths"]:
        known_netns(where, veth.netns)
        known_netns(where, veth.peer_netns, "peer_netns")
        occupy(where, veth.netns, veth.name, veth.addresses)
        occupy(where, veth.peer_netns, veth.peer, veth.peer_addresses)
        segments.join((veth.netns, veth.name), (veth.peer_netns, veth.peer))
    for where, tap in built["taps"]:
        known_netns(where, tap.netns)
        occupy(where, tap.netns, tap.name, tap.addresses)
    bridges: Dict[Endpoint, Bridge] = {}
    for where, bridge in built["bridges"]:
        known_netns(where, bridge.netns)
        occupy(where, bridge.netns, bridge.name, bridge.addresses)
        bridges[(bridge.netns, bridge.name)] = bridge

    port_of: Dict[Endpoint, str] = {}
    for where, bridge in built["bridges"]:
        for port in bridge.ports or ():
            key = (bridge.netns, port.name)
            if key not in endpoints or key in bridges:
                problems.append("%s: port '%s' is not a veth end or tap the lab describes in %s" % (
                    where, port.name, _where(bridge.netns)))
            elif key in port_of:
                problems.append("%s: port '%s' is already a port of bridge '%s'" % (where, port.name, port_of[key]))
            else:
                port_of[key] = bridge.name
                segments.join((bridge.netns, bridge.name), key)
    for where, tap in built["taps"]:
        if tap.master:
            bridge = bridges.get((tap.netns, tap.master))
            if bridge is None and ("bridges", tap.netns, tap.master) in unbuilt:
                continue
            if bridge is None:
                problems.append("%s: master '%s' is not a bridge the lab describes in %s" % (
                    where, tap.master, _where(tap.netns)))
            elif bridge.ports is not None and tap.name not in {p.name for p in bridge.ports}:
                problems.append("%s: master is '%s' but that bridge's ports do not list '%s'" % (
                    where, tap.master, tap.name))
            else:
                segments.join((tap.netns, tap.master), (tap.netns, tap.name))

    for where, route in built["routes"]:
        known_netns(where, route.netns)
        if route.dev is not None and route.dev != "lo" and (route.netns, route.dev) not in endpoints:
            problems.append("%s: dev '%s' is not an interface the lab describes in %s" % (
                where, route.dev, _where(route.netns)))

    _check_addresses(addresses, endpoints, problems)
    _check_subnets(addresses, endpoints, problems)
    _check_segments(addresses, endpoints, segments, set(bridges), problems)
    _check_gateways(built["routes"], addresses, set(namespaces), problems)


Endpoint = Tuple[Optional[str], str]


class _Segments:
    """Interfaces joined into L2 segments (union-find): veth ends, a bridge and its ports."""

    def __init__(self) -> None:
        self._parent: Dict[Endpoint, Endpoint] = {}

    def find(self, key: Endpoint) -> Endpoint:
        root = key
        while self._parent.get(root, root) != root:
            root = self._parent[root]
        while key != root:  # path compression: S(N) labs join thousands of ports
            self._parent[key], key = root, self._parent.get(key, key)
        return root

    def join(self, one: Endpoint, other: Endpoint) -> None:
        self._parent[self.find(one)] = self.find(other)


def _interfaces(addresses):
    """(key, ip_interface) for every address the lab gives, link-local ones left out.

    The kernel gives every interface its own link-local address and subnet, so
    those never conflict between interfaces.
    """
    for key, cidrs in addresses.items():
        for cidr in cidrs or ():
            interface = ipaddress.ip_interface(cidr)
            if not interface.ip.is_link_local:
                yield key, interface


def _check_addresses(addresses, endpoints, problems: List[str]) -> None:
    owner_of_ip: Dict[Tuple[Optional[str], str], Tuple[str, str]] = {}
    for (netns, name), cidrs in addresses.items():
        if not cidrs:
            continue
        where = endpoints[(netns, name)]
        networks = [ipaddress.ip_interface(c).network for c in cidrs]
        for i in range(len(networks)):
            for j in range(i + 1, len(networks)):
                if networks[i].version == networks[j].version and networks[i].overlaps(networks[j]):
                    problems.append("%s: addresses %s and %s of '%s' overlap" % (where, cidrs[i], cidrs[j], name))
        for cidr in cidrs:
            ip = str(ipaddress.ip_interface(cidr).ip)
            other = owner_of_ip.get((netns, ip))
            if other is not None:
                problems.append("%s: address %s of '%s' is also on '%s' (%s) in %s" % (
                    where, ip, name, other[1], other[0], _where(netns)))
            else:
                owner_of_ip[(netns, ip)] = (where, name)


def _check_subnets(addresses, endpoints, problems: List[str]) -> None:
    """Two interfaces of one namespace on overlapping subnets: the namespace cannot tell where to send.

    CIDR blocks either nest or are disjoint, so with the wider blocks seen
    first, each block only has to look up its own supernets.
    """
    seen: Dict[tuple, Tuple[Endpoint, str]] = {}
    for key, interface in sorted(_interfaces(addresses), key=lambda item: item[1].network.prefixlen):
        network = interface.network
        for prefixlen in range(network.prefixlen + 1):
            wider = network.supernet(new_prefix=prefixlen)
            other = seen.get((key[0], wider))
            # The same address twice is _check_addresses's problem; one interface's own overlaps too.
            if other is None or other[0] == key or other[1] == str(interface.ip):
                continue
            problems.append("%s: subnet %s of '%s' (%s) overlaps subnet %s of '%s' (%s) in %s; each subnet "
                            "of a namespace must be on one interface" % (
                                endpoints[key], network, key[1], interface, wider, other[0][1],
                                endpoints[other[0]], _where(key[0])))
        seen.setdefault((key[0], network), (key, str(interface.ip)))


def _check_segments(addresses, endpoints, segments: _Segments, bridges, problems: List[str]) -> None:
    """One address twice on one L2 segment (across namespaces: within one, _check_addresses tells)."""
    owner: Dict[Tuple[Endpoint, object], Endpoint] = {}
    for key, interface in _interfaces(addresses):
        segment = segments.find(key)
        other = owner.setdefault((segment, interface.ip), key)
        if other == key or other[0] == key[0]:
            continue
        members = [k for k in bridges if segments.find(k) == segment]
        via = ("bridge " + ", ".join("'%s' in %s" % (k[1], _where(k[0])) for k in sorted(members, key=str))
               if members else "a veth pair")
        problems.append("%s: address %s of '%s' in %s is also on '%s' in %s (%s), on the same L2 segment (%s)" % (
            endpoints[key], interface.ip, key[1], _where(key[0]), other[1], _where(other[0]), endpoints[other],
            via))


def _check_gateways(routes, addresses, namespaces, problems: List[str]) -> None:
    """A route's gateway must be on a subnet the lab gives the route's namespace (on its dev, if given).

    Only in the lab's own namespaces: the host has interfaces and routes the
    lab does not describe. A route with a dev and no gateway makes its
    destination a connected network too, as the kernel sees it.
    """
    for where, route in routes:
        if route.gateway is None or route.netns not in namespaces or route.dev == "lo":
            continue
        gateway = ipaddress.ip_address(route.gateway)
        if gateway.is_link_local:
            continue
        subnets = [(key[1], interface.network) for key, interface in _interfaces(addresses)
                   if key[0] == route.netns and route.dev in (None, key[1])]
        subnets += [(other.dev, ipaddress.ip_network(other.dst)) for _w, other in routes
                    if other.netns == route.netns and other.gateway is None and other.dev is not None
                    and route.dev in (None, other.dev)]
        if any(gateway in network for _dev, network in subnets):
            continue
        target = _where(route.netns)
        if route.dev:
            target = "interface '%s' in %s" % (route.dev, target)
        given = ", ".join("%s on '%s'" % (network, dev) for dev, network in subnets) or "none"
        problems.append("%s: gateway %s is on no subnet the lab gives %s (it gives %s); the gateway must be "
                        "in the subnet of an address of that namespace's interfaces" % (where, gateway, target, given))
