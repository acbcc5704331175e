# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole lab as one description: turned into the engine's own objects.

Pure: every object is built by the same model classes the single-object
modules use, and the description is checked as a whole (duplicates, dangling
references, what contradicts itself) so that every problem is reported at
once, before anything is read or touched. What the kernel accepts (and the
seeds do) is never refused: overlapping subnets in one namespace are a warning.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import by_section
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, control_character
from ansible_collections.netvirt.linux.plugins.module_utils._model import interface as parse_interface  # a cached parse
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS

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


# Each section builds objects of one kind, in the registry's order. The options
# of an entry are its kind's (_specs.SECTION_OPTIONS), declared as the module's
# suboptions: Ansible has converted and type-checked them before build() sees them.
SECTIONS: Dict[str, type] = {}
# Sections of the kinds the netfilter engine reconciles (iptables_chains): built and checked here with the
# others, but handed to that engine apart (Description.chains), never to the netlink planner.
NETFILTER_SECTIONS: Dict[str, type] = {}


@_kinds.derived
def _sections() -> None:
    for table, engine in ((SECTIONS, "netlink"), (NETFILTER_SECTIONS, "netfilter")):
        table.clear()
        table.update((kind.section, kind.desired) for kind in _kinds.KINDS if kind.engine == engine)


@dataclass
class Description:
    """The objects of one lab, in dependency-friendly order, and what they occupy."""

    objects: list = field(default_factory=list)
    # (netns, ifname) -> "veths[0]" etc.: every interface the lab owns.
    endpoints: Dict[Tuple[Optional[str], str], str] = field(default_factory=dict)
    namespaces: List[str] = field(default_factory=list)
    # The netfilter engine's objects (iptables chains), in the description's order ...
    chains: list = field(default_factory=list)
    # ... and each one's place in it: chain.key -> "iptables_chains[0]".
    places: Dict[tuple, str] = field(default_factory=dict)
    # What the kernel accepts but is likely a mistake (overlapping subnets in one namespace): told, not refused.
    warnings: List[str] = field(default_factory=list)


def _where(netns: Optional[str]) -> str:
    return "the host" if netns is HOST else "namespace '%s'" % netns


def build(description: Dict[str, list]) -> Description:
    """Build and check the lab; raise one ValidationError listing every problem.

    Entries are dicts of their section's options, as Ansible validated them;
    each is built by its kind (``Kind.build``: a tap's owner name becomes an
    id, a bridge's port dicts are converted).
    """
    problems: List[str] = []
    result = Description()
    built: Dict[str, list] = {section: [] for section in list(SECTIONS) + list(NETFILTER_SECTIONS)}
    unbuilt: set = set()

    for section in built:
        kind = by_section(section)
        for index, entry in enumerate(description.get(section) or []):
            where = "%s[%d]" % (section, index)
            # Ansible refuses unknown keys before this; the guard keeps a
            # section's entry from ever setting what the whole lab decides (state).
            unknown = sorted(set(entry) - set(SECTION_OPTIONS[section]))
            if unknown:
                problems.append("%s: unknown key(s) %s; %s take %s" % (
                    where, ", ".join(unknown), section, ", ".join(SECTION_OPTIONS[section])))
                continue
            try:
                obj = kind.build(dict(entry))
            except NetvirtError as exc:
                problems.append("%s%s" % (where, exc.msg if exc.msg.startswith(".") else ": " + exc.msg))
                # Said once: references to it are not problems of their own.
                unbuilt.add((entry.get("netns"), entry.get("name")))
                continue
            built[section].append((where, obj))
            for extra in kind.expand(obj) if kind.expand is not None else ():
                built[_kinds.get(extra.kind).section].append((where, extra))

    netlink = {section: built[section] for section in SECTIONS}
    chains = [entry for section in NETFILTER_SECTIONS for entry in built[section]]
    _check_references(netlink, result, problems, unbuilt, result.warnings)
    _check_chains(chains, result.namespaces, problems)
    if problems:
        raise ValidationError(
            "the topology has %d problem(s), nothing was changed: %s" % (len(problems), "; ".join(problems)),
            problems=problems)
    result.objects = _objects(netlink)
    result.chains = [chain for _where, chain in chains]
    result.places = {chain.key: where for where, chain in chains}
    return result


def _check_chains(chains, namespaces: List[str], problems: List[str]) -> None:
    """A lab's chains live in its namespaces (and go with them); each chain is described once."""
    described: Dict[tuple, str] = {}
    for where, chain in chains:
        if chain.netns is HOST:
            problems.append("%s: netns is required: a chain in the host would outlive the lab; the lab's chains "
                            "live in its namespaces (%s)" % (where, ", ".join(namespaces) or "it describes none"))
        elif chain.netns not in namespaces:
            problems.append("%s: netns '%s' is not one of the lab's namespaces; the lab's chains live in its "
                            "namespaces" % (where, chain.netns))
        for family in chain.families:
            key = (chain.netns, family, chain.table, chain.chain)
            if key in described:
                problems.append("%s: chain %s of table %s (%s) in %s is already described by %s" % (
                    where, chain.chain, chain.table, family, _where(chain.netns), described[key]))
                break
            described[key] = where


def _objects(built: Dict[str, list]) -> list:
    """The objects, in the registry's order; the planner plans each after what it stands on
    (_plan.dependency_order).

    A device whose bridge lists it among its ports is attached by the bridge,
    so its own ``master`` is dropped (it would make the two stand on each other).
    """
    managed_ports = {(b.netns, b.name) for entries in built.values() for _where, b in entries
                     if getattr(b, "ports", None) is not None}
    objects = []
    for entries in built.values():
        for _where, obj in entries:
            master = getattr(obj, "master", None)
            objects.append(replace(obj, master=None) if master and (obj.netns, master) in managed_ports else obj)
    return objects


def _check_references(built: Dict[str, list], result: Description, problems: List[str],
                      unbuilt=frozenset(), warnings: Optional[List[str]] = None) -> None:
    warnings = problems if warnings is None else warnings
    kinds = {section: by_section(section) for section in built}
    namespaces: Dict[str, str] = {}
    for section, entries in built.items():
        for where, ns in entries if kinds[section].container else ():
            if ns.name in namespaces:
                problems.append("%s: namespace '%s' is already described by %s" % (
                    where, ns.name, namespaces[ns.name]))
            namespaces[ns.name] = where
    result.namespaces = list(namespaces)

    endpoints = result.endpoints
    # (netns, ifname) -> the CIDRs the lab gives that interface; None when it
    # leaves them alone.
    addresses: Dict[Endpoint, Optional[List[str]]] = {}
    segments = _Segments()
    masters: Dict[Endpoint, object] = {}

    def occupy(where: str, netns: Optional[str], name: str, cidrs) -> None:
        key = (netns, name)
        if key in endpoints:
            problems.append("%s: interface '%s' in %s is already described by %s" % (
                where, name, _where(netns), endpoints[key]))
            return
        endpoints[key] = where
        addresses[key] = None if cidrs is None else list(cidrs)

    for section, entries in built.items():
        kind = kinds[section]
        for where, obj in entries:
            for option in ("netns", "peer_netns"):
                netns = getattr(obj, option, HOST) if not kind.container else HOST
                if netns is not HOST and netns not in namespaces:
                    problems.append("%s: %s '%s' is not one of the lab's namespaces" % (where, option, netns))
            ends = kind.endpoints(obj)
            for netns, name, cidrs in ends:
                occupy(where, netns, name, cidrs)
            for netns, name, _cidrs in ends[1:]:
                # The ends of one object (a veth pair) are one L2 segment.
                segments.join((ends[0][0], ends[0][1]), (netns, name))
            if kind.new_port is not None:
                masters[(obj.netns, obj.name)] = obj

    port_of = _check_ports(built, endpoints, masters, segments, problems)
    _check_masters(built, masters, segments, problems, unbuilt, port_of)
    _check_takeovers(built, kinds, port_of, problems)
    _check_exclusive(built, kinds, problems)
    routes = built.get("routes", [])
    for where, route in routes:
        if route.dev is not None and route.dev != "lo" and (route.netns, route.dev) not in endpoints:
            problems.append("%s: dev '%s' is not an interface the lab describes in %s" % (
                where, route.dev, _where(route.netns)))

    _check_addresses(addresses, endpoints, problems, warnings)
    _check_subnets(addresses, endpoints, warnings)
    _check_segments(addresses, endpoints, segments, set(masters), problems)
    _check_gateways(routes, addresses, set(namespaces), problems)


def _check_ports(built, endpoints, masters, segments, problems: List[str]) -> Dict[Endpoint, Tuple[str, str]]:
    """A bridge's ports: interfaces the lab describes in its namespace, each on one bridge only.

    Returns {port: (bridge, where the bridge is described)}.
    """
    port_of: Dict[Endpoint, Tuple[str, str]] = {}
    for entries in built.values():
        for where, bridge in entries:
            if masters.get((getattr(bridge, "netns", HOST), getattr(bridge, "name", None))) is not bridge:
                continue
            for port in bridge.ports or ():
                key = (bridge.netns, port.name)
                if key not in endpoints or key in masters:
                    problems.append("%s: port '%s' is not an interface the lab describes in %s" % (
                        where, port.name, _where(bridge.netns)))
                elif key in port_of:
                    problems.append("%s: port '%s' is already a port of bridge '%s'" % (
                        where, port.name, port_of[key][0]))
                else:
                    port_of[key] = (bridge.name, where)
                    segments.join((bridge.netns, bridge.name), key)
    return port_of


def _check_masters(built, masters, segments, problems: List[str], unbuilt, port_of) -> None:
    """A device's ``master``: a bridge of the lab in its namespace, which lists it if it manages its ports,
    and no other bridge lists it (a device has one master)."""
    for entries in built.values():
        for where, obj in entries:
            master = getattr(obj, "master", None)
            if not master:
                continue
            other = port_of.get((obj.netns, obj.name))
            if other is not None and other[0] != master:
                problems.append("%s: master is '%s' but bridge '%s' (%s) lists '%s' among its ports; a device "
                                "has one master" % (where, master, other[0], other[1], obj.name))
                continue
            bridge = masters.get((obj.netns, master))
            if bridge is None and (obj.netns, master) in unbuilt:
                continue
            if bridge is None:
                problems.append("%s: master '%s' is not a bridge the lab describes in %s" % (
                    where, master, _where(obj.netns)))
            elif bridge.ports is not None and obj.name not in {p.name for p in bridge.ports}:
                problems.append("%s: master is '%s' but that bridge's ports do not list '%s'" % (
                    where, master, obj.name))
            else:
                segments.join((obj.netns, master), (obj.netns, obj.name))
                port_of.setdefault((obj.netns, obj.name), (master, where))


def _check_takeovers(built, kinds, port_of, problems: List[str]) -> None:
    """A device whose receive path an object takes (a macvlan's parent) is no bridge's port.

    The kernel gives a device's receive handler to one upper kind: a bridge
    port refuses a macvlan (EBUSY), and a macvlan's parent refuses a bridge.
    """
    for section, entries in built.items():
        for where, obj in entries:
            for netns, name in kinds[section].takes_over(obj):
                bridge = port_of.get((netns, name))
                if bridge is not None:
                    problems.append(
                        "%s: %s '%s' is made on '%s', which bridge '%s' (%s) takes as a port in %s; the kernel "
                        "gives a device's frames to its bridge or to its %ss, not both (EBUSY): choose another "
                        "parent, or take '%s' off the bridge" % (where, obj.kind, obj.name, name, bridge[0],
                                                                 bridge[1], _where(netns), obj.kind, name))


def _check_exclusive(built, kinds, problems: List[str]) -> None:
    """What the kernel allows one of per namespace (Kind.exclusive), described twice."""
    taken: Dict[tuple, Tuple[str, Any]] = {}
    for section, entries in built.items():
        if kinds[section].exclusive is None:
            continue
        for where, obj in entries:
            found = kinds[section].exclusive(obj)
            if found is None:
                continue
            key, what, why = found
            if key in taken:
                first_where, first = taken[key]
                name = getattr(first, "name", None)
                problems.append("%s: %s in %s is already taken by %s%s; %s" % (
                    where, what, _where(obj.netns), first_where,
                    " (%s '%s')" % (first.kind, name) if name else "", why))
            else:
                taken[key] = (where, obj)


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
            parsed = parse_interface(cidr)
            if not parsed.ip.is_link_local:
                yield key, parsed


def _check_addresses(addresses, endpoints, problems: List[str], warnings: List[str]) -> None:
    """One address on two interfaces of a namespace is refused; overlapping subnets of one interface are told
    (the kernel takes the second as a secondary address)."""
    owner_of_ip: Dict[Tuple[Optional[str], str], Tuple[str, str]] = {}
    for (netns, name), cidrs in addresses.items():
        if not cidrs:
            continue
        where = endpoints[(netns, name)]
        networks = [parse_interface(c).network for c in cidrs]
        for i in range(len(networks)):
            for j in range(i + 1, len(networks)):
                if networks[i].version == networks[j].version and networks[i].overlaps(networks[j]):
                    warnings.append("%s: addresses %s and %s of '%s' overlap" % (where, cidrs[i], cidrs[j], name))
        for cidr in cidrs:
            ip = str(parse_interface(cidr).ip)
            other = owner_of_ip.get((netns, ip))
            if other is not None:
                problems.append("%s: address %s of '%s' is also on '%s' (%s) in %s" % (
                    where, ip, name, other[1], other[0], _where(netns)))
            else:
                owner_of_ip[(netns, ip)] = (where, name)


def _check_subnets(addresses, endpoints, warnings: List[str]) -> None:
    """Two interfaces of one namespace on overlapping subnets: told, not refused.

    The kernel accepts it (seed 004 puts br0 192.0.2.101/24 beside veth1
    192.0.2.102/24), and routes to the subnet by the first route it finds;
    it is most often a mistake, so it is said.

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
            warnings.append("%s: subnet %s of '%s' (%s) overlaps subnet %s of '%s' (%s) in %s; the kernel "
                            "sends the overlap's traffic out of one of them only" % (
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
    # Each namespace's connected subnets, (dev, network), read once: a lab routed statically has a route per
    # node and subnet, and reading every interface again for each route made this quadratic.
    connected: Dict[Optional[str], List[tuple]] = {}
    for key, interface in _interfaces(addresses):
        connected.setdefault(key[0], []).append((key[1], interface.network))
    device_routes: Dict[Optional[str], List[tuple]] = {}
    for _w, other in routes:
        if other.gateway is None and other.dev is not None:
            device_routes.setdefault(other.netns, []).append((other.dev, ipaddress.ip_network(other.dst)))
    for where, route in routes:
        if route.gateway is None or route.netns not in namespaces or route.dev == "lo":
            continue
        gateway = ipaddress.ip_address(route.gateway)
        if gateway.is_link_local:
            continue
        subnets = [(dev, network) for dev, network in connected.get(route.netns, ()) if route.dev in (None, dev)]
        subnets += [(dev, network) for dev, network in device_routes.get(route.netns, ())
                    if route.dev in (None, dev)]
        if any(gateway in network for _dev, network in subnets):
            continue
        target = _where(route.netns)
        if route.dev:
            target = "interface '%s' in %s" % (route.dev, target)
        given = ", ".join("%s on '%s'" % (network, dev) for dev, network in subnets) or "none"
        problems.append("%s: gateway %s is on no subnet the lab gives %s (it gives %s); the gateway must be "
                        "in the subnet of an address of that namespace's interfaces" % (where, gateway, target, given))
