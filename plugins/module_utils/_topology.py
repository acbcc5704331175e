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


# Each section: the model class and the keys it takes (as the single-object
# module of that kind names them; `state` belongs to the whole topology).
SECTIONS: Dict[str, Tuple[type, Tuple[str, ...]]] = {
    "namespaces": (Netns, ("name", "loopback", "sysctls")),
    "veths": (Veth, ("name", "netns", "peer", "peer_netns", "addresses", "peer_addresses", "mtu", "up")),
    "bridges": (Bridge, ("name", "netns", "addresses", "mtu", "up", "ports", "stp", "forward_delay",
                         "hello_time", "max_age", "ageing_time", "priority")),
    "taps": (Tap, ("name", "netns", "mode", "owner", "group", "multi_queue", "pi", "vnet_hdr", "addresses",
                   "mtu", "master", "up")),
    "routes": (Route, ("dst", "gateway", "dev", "metric", "table", "netns")),
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


def build(description: Dict[str, list], resolve_id: Optional[Callable] = None) -> Description:
    """Build and check the lab; raise one ValidationError listing every problem.

    ``resolve_id(value, option)`` turns a tap's owner or group name into an id.
    """
    problems: List[str] = []
    result = Description()
    built: Dict[str, list] = {section: [] for section in SECTIONS}

    for section, (cls, keys) in SECTIONS.items():
        for index, entry in enumerate(description.get(section) or []):
            where = "%s[%d]" % (section, index)
            if not isinstance(entry, dict):
                problems.append("%s: must be a mapping, not %r" % (where, entry))
                continue
            unknown = sorted(set(entry) - set(keys))
            if unknown:
                problems.append("%s: unknown key(s) %s; %s take %s" % (
                    where, ", ".join(unknown), section, ", ".join(keys)))
                continue
            kwargs = {k: v for k, v in entry.items() if v is not None}
            try:
                if section == "taps" and resolve_id is not None:
                    for option in ("owner", "group"):
                        if option in kwargs:
                            kwargs[option] = resolve_id(str(kwargs[option]), option)
                obj = cls(**kwargs)
            except NetvirtError as exc:
                problems.append("%s: %s" % (where, exc.msg))
                continue
            except TypeError as exc:
                problems.append("%s: %s" % (where, exc))
                continue
            built[section].append((where, obj))

    _check_references(built, result, problems)
    if problems:
        raise ValidationError(
            "the topology has %d problem(s), nothing was changed: %s" % (len(problems), "; ".join(problems)),
            problems=problems)
    result.objects = _in_dependency_order(built)
    return result


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


def _check_references(built: Dict[str, list], result: Description, problems: List[str]) -> None:
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
    addresses: Dict[Tuple[Optional[str], str], List[str]] = {}

    def occupy(where: str, netns: Optional[str], name: str, cidrs) -> None:
        key = (netns, name)
        if key in endpoints:
            problems.append("%s: interface '%s' in %s is already described by %s" % (
                where, name, _where(netns), endpoints[key]))
            return
        endpoints[key] = where
        if cidrs:
            addresses[key] = list(cidrs)

    for where, veth in built["veths"]:
        known_netns(where, veth.netns)
        known_netns(where, veth.peer_netns, "peer_netns")
        occupy(where, veth.netns, veth.name, veth.addresses)
        occupy(where, veth.peer_netns, veth.peer, veth.peer_addresses)
    for where, tap in built["taps"]:
        known_netns(where, tap.netns)
        occupy(where, tap.netns, tap.name, tap.addresses)
    bridges: Dict[Tuple[Optional[str], str], Bridge] = {}
    for where, bridge in built["bridges"]:
        known_netns(where, bridge.netns)
        occupy(where, bridge.netns, bridge.name, bridge.addresses)
        bridges[(bridge.netns, bridge.name)] = bridge

    port_of: Dict[Tuple[Optional[str], str], str] = {}
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
    for where, tap in built["taps"]:
        if tap.master:
            bridge = bridges.get((tap.netns, tap.master))
            if bridge is None:
                problems.append("%s: master '%s' is not a bridge the lab describes in %s" % (
                    where, tap.master, _where(tap.netns)))
            elif bridge.ports is not None and tap.name not in {p.name for p in bridge.ports}:
                problems.append("%s: master is '%s' but that bridge's ports do not list '%s'" % (
                    where, tap.master, tap.name))

    for where, route in built["routes"]:
        known_netns(where, route.netns)
        if route.dev is not None and route.dev != "lo" and (route.netns, route.dev) not in endpoints:
            problems.append("%s: dev '%s' is not an interface the lab describes in %s" % (
                where, route.dev, _where(route.netns)))

    _check_addresses(addresses, endpoints, problems)


def _check_addresses(addresses, endpoints, problems: List[str]) -> None:
    owner_of_ip: Dict[Tuple[Optional[str], str], Tuple[str, str]] = {}
    for (netns, name), cidrs in addresses.items():
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
