# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``route``: a unicast route in any table of a namespace, identified by table, destination and metric."""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass
from typing import Dict, Optional

from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_ROUTE, Action, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, NamespaceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind, nothing
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, Link, netns_label, validate_ifname, validate_netns_name, validate_state
from ansible_collections.netvirt.linux.plugins.module_utils._model import interface as parse_interface
from ansible_collections.netvirt.linux.plugins.module_utils._options import ACTIONS, NETNS, STATE, STATE_VALUE, VALUE, VIEW
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult

OPTIONS = dict(
    dst=dict(type="str", required=True, description=[
        "Destination network in CIDR form (C(10.0.2.0/24), C(fd00:2::/64)), or V(default) for the default route"
        " (IPv6 when O(gateway) is an IPv6 address).",
        "The address must be the network's own (C(10.0.2.0/24), not C(10.0.2.5/24)).",
    ]),
    gateway=dict(type="str", description=[
        "Next hop. It must be on a network connected to the namespace (in the subnet of an address of one of its"
        " interfaces that are up, of O(dev) when given, or in the destination of a route with a device and no"
        " gateway), as the kernel requires; otherwise the task fails before changing anything. IPv6 link-local"
        " gateways are left to the kernel.",
    ], section_description=[
        "Next hop. In a namespace of the lab it must lie on a subnet the lab gives that namespace (in the subnet of"
        " an address of one of its interfaces, of O(dev) when given, or in the destination of a route of that"
        " namespace with a dev and no gateway); IPv6 link-local gateways are left to the kernel. In the host, the"
        " same rule counts the host's own interfaces and routes too. Either way the lab is refused before anything"
        " is built.",
    ]),
    dev=dict(type="str", description=[
        "Output device; it must exist in the namespace. Required when O(gateway) is not given.",
    ], section_description=[
        "Output device, an interface of the lab in the route's namespace (or C(lo)). Required when O(gateway)"
        " is not given.",
    ]),
    metric=dict(type="int", description=[
        "Route metric (priority). Omit it for the kernel's default (0 for IPv4, 1024 for IPv6).",
        "Part of the route's identity; two routes to one destination can differ only by metric.",
    ], section_description=[
        "Route metric (priority). Omit it for the kernel's default (0 for IPv4, 1024 for IPv6).",
        "Part of the route's identity: a lab describing two routes with the same table, destination and metric"
        " is refused (they would replace each other).",
    ]),
    table=dict(type="str", default="main", description=[
        "Routing table, by number or as V(main), V(local) or V(default).",
    ]),
    netns=NETNS("the route"),
    state=STATE("the route", "A route with the same table, destination and metric but another gateway or device"
                " is replaced in place."),
)


RETURNS = dict(
    actions=ACTIONS("add route default via 10.0.1.254 in client"),
    route=VIEW("route", dict(
        dst=VALUE("str", "Destination network.", "0.0.0.0/0"),
        table=VALUE("int", "Routing table number.", 254),
        metric=VALUE("int", "Metric, the kernel's default when none was asked for.", 0),
        state=STATE_VALUE(),
        gateway=VALUE("str", "Next hop, if any. Only when present.", "10.0.1.254"),
        dev=VALUE("str", "Output device. Only when present.", "veth0"),
    ), absent=False),
)

RTN_UNICAST = 1
RT_SCOPE_LINK = 253

ROUTE_TABLES = {"main": 254, "local": 255, "default": 253}
# The metric the kernel gives a route added without one.
DEFAULT_METRIC = {4: 0, 6: 1024}


def normalize_table(table) -> int:
    if table is None:
        return ROUTE_TABLES["main"]
    if isinstance(table, str) and table in ROUTE_TABLES:
        return ROUTE_TABLES[table]
    try:
        number = int(table)
    except (TypeError, ValueError):
        raise ValidationError(
            "table %r is not a routing table: use main, local, default or a number from 1 to 4294967295"
            % (table,)) from None
    if not 1 <= number <= 0xFFFFFFFF:
        raise ValidationError("table %r is out of range: use a number from 1 to 4294967295" % (table,))
    return number


def normalize_destination(dst: str, gateway: Optional[str]) -> str:
    """'default' -> 0.0.0.0/0 (or ::/0 with an IPv6 gateway); a CIDR must be a network address."""
    if dst == "default":
        return "::/0" if gateway and ":" in gateway else "0.0.0.0/0"
    if not isinstance(dst, str) or "/" not in dst:
        raise ValidationError("dst %r must be 'default' or a network in CIDR form, e.g. 10.0.2.0/24" % (dst,))
    try:
        return ipaddress.ip_network(dst.strip()).with_prefixlen
    except ValueError as exc:
        raise ValidationError("dst %r is not a valid network: %s" % (dst, exc)) from None


@dataclass(frozen=True)
class Route:
    """A unicast route, identified like the kernel does: table, destination, metric."""

    dst: str
    gateway: Optional[str] = None
    dev: Optional[str] = None
    metric: Optional[int] = None
    # Given as a name (main, local, default) or a number; __post_init__ keeps the number.
    table: int = ROUTE_TABLES["main"]
    netns: Optional[str] = HOST
    state: str = "present"

    kind = "route"

    def __post_init__(self):
        validate_state(self.state)
        validate_netns_name(self.netns, "netns")
        if self.gateway is not None:
            try:
                object.__setattr__(self, "gateway", str(ipaddress.ip_address(self.gateway.strip())))
            except ValueError:
                raise ValidationError("gateway %r is not an IP address" % (self.gateway,)) from None
        object.__setattr__(self, "dst", normalize_destination(self.dst, self.gateway))
        object.__setattr__(self, "table", normalize_table(self.table))
        if self.dev is not None:
            validate_ifname(self.dev, "dev")
        if self.metric is not None and not 0 <= self.metric <= 0xFFFFFFFF:
            raise ValidationError("metric %r is out of range (0 to 4294967295)" % (self.metric,))
        if self.gateway is not None and ipaddress.ip_address(self.gateway).version != self.family:
            raise ValidationError("gateway %s and dst %s are not of the same IP version" % (self.gateway, self.dst))
        if self.state == "present" and self.gateway is None and self.dev is None:
            raise ValidationError("route to %s needs a gateway, a dev, or both" % self.dst)

    @property
    def family(self) -> int:
        return ipaddress.ip_network(self.dst).version

    @property
    def effective_metric(self) -> int:
        return DEFAULT_METRIC[self.family] if self.metric is None else self.metric

    @property
    def key(self) -> tuple:
        return ("route", self.netns, self.table, self.dst, self.effective_metric)


@dataclass(frozen=True)
class RouteEntry:
    """A unicast route as the kernel reports it."""

    dst: str
    table: int
    metric: int
    gateway: Optional[str] = None
    oif: Optional[int] = None
    proto: Optional[int] = None


@dataclass(frozen=True)
class SetRoute(Action):
    """Add or replace the route with this table, destination and metric."""

    netns: Optional[str]
    route: Route
    replace: bool = False
    phase = PHASE_ROUTE

    def describe(self) -> str:
        return "%s route %s in %s" % ("replace" if self.replace else "add", route_text(self.route), where(self.netns))

    def apply(self, kernel) -> None:
        route = self.route
        # A route straight out of a device reaches hosts on the link, as `ip route` sets it.
        kernel.replace_route(self.netns, route.dst, route.table, route.effective_metric, gateway=route.gateway or None,
                             oif=kernel.ifindex(self.netns, route.dev) if route.dev else None,
                             scope=None if route.gateway else RT_SCOPE_LINK)

    def undo(self, before):
        old = _route_before(before, self.netns, self.route)
        if old is False:
            return None
        return (SetRoute(self.netns, old, replace=True),) if old is not None else (DelRoute(self.netns, self.route),)

    def hint(self, code: int) -> Optional[str]:
        if code == errno.ENETUNREACH:
            return ("the gateway is not on a network connected to that namespace; give one of its interfaces "
                    "an address in the gateway's subnet first")
        return None


@dataclass(frozen=True)
class DelRoute(Action):
    netns: Optional[str]
    route: Route
    phase = PHASE_ROUTE - 1

    def describe(self) -> str:
        return "delete route %s in %s" % (route_text(self.route), where(self.netns))

    def apply(self, kernel) -> None:
        kernel.delete_route(self.netns, self.route.dst, self.route.table, self.route.effective_metric)

    def undo(self, before):
        old = _route_before(before, self.netns, self.route)
        return (SetRoute(self.netns, old),) if old else None


def _route_before(before, netns: Optional[str], route: Route):
    """The route of the same table, destination and metric as read before the run, as a Route; None
    when there was none; False when it cannot be told (not read, or its device not known by name)."""
    space = before.spaces.get(netns) if before is not None else None
    if space is None:
        return False
    entry = next((r for r in space.routes if (r.table, r.dst, r.metric) ==
                  (route.table, route.dst, route.effective_metric)), None)
    if entry is None:
        return None
    dev = None
    if entry.oif is not None:
        link = space.by_index(entry.oif)
        if link is None:
            return False
        dev = link.name
    return Route(entry.dst, gateway=entry.gateway, dev=dev, metric=entry.metric, table=entry.table, netns=netns)


def read(kernel, netns: Optional[str], _items) -> Dict[str, object]:
    """Unicast routes of every table, one dump."""
    entries = []
    for record in kernel.routes(netns):
        if record["type"] != RTN_UNICAST:
            continue
        entries.append(RouteEntry(dst=record["dst"], table=record["table"], metric=record["metric"],
                                  gateway=record["gateway"], oif=record["oif"], proto=record["proto"]))
    return {"routes": tuple(entries)}


def route_text(route: Route) -> str:
    words = ["default" if route.dst in ("0.0.0.0/0", "::/0") else route.dst]
    if route.gateway:
        words += ["via", route.gateway]
    if route.dev:
        words += ["dev", route.dev]
    if route.metric is not None:
        words += ["metric", str(route.metric)]
    if route.table != ROUTE_TABLES["main"]:
        words += ["table", str(route.table)]
    return " ".join(words)


def route_view(route: Route, entry: Optional[RouteEntry], dev: Optional[str]) -> dict:
    view = {"dst": route.dst, "table": route.table, "metric": route.effective_metric}
    if entry is None:
        view["state"] = "absent"
        return view
    view.update(state="present", gateway=entry.gateway, dev=dev)
    return view


def stands_on(desired: Route) -> list:
    return [(desired.netns, desired.dev)] if desired.dev else []


def reaches(desired: Route) -> list:
    """Its gateway, which must lie on a subnet connected to the namespace."""
    return [(desired.netns, desired.gateway)] if desired.gateway else []


def connects(desired: Route) -> list:
    """A route straight out of a device makes its destination a connected network, as the kernel sees it."""
    if desired.gateway is None and desired.dev is not None and desired.dev != "lo":
        return [(desired.netns, ipaddress.ip_network(desired.dst))]
    return []


def exclusive(desired: Route):
    """The kernel keeps one route per table, destination and metric (its identity, Route.key)."""
    table = next((name for name, number in ROUTE_TABLES.items() if number == desired.table), str(desired.table))
    return (desired.key, "route to %s (table %s, metric %d)" % (desired.dst, table, desired.effective_metric),
            "the kernel keeps one route per table, destination and metric, so the two would replace each other "
            "on every run: give one, or another metric")


RTPROT_KERNEL = 2  # a connected route the kernel derives from an address


def _connected(space, dev: Optional[str], family: int) -> list:
    """(network, device) the namespace reaches directly, as planned: the subnets of the addresses of its
    interfaces that are up, and routes straight out of an up device (no gateway); of ``dev`` alone if given."""
    # Planned links may share a placeholder index: listed by name, not looked up by index.
    links = sorted((link for link in space.links.values() if link.up and (dev is None or link.name == dev)),
                   key=lambda item: item.name)
    up = {link.index: link for link in links}
    found = []
    for link in links:
        for cidr in link.addresses:
            network = parse_interface(cidr).network
            if network.version == family and not network.is_link_local:
                found.append((network, link.name))
    for entry in space.routes:
        # The kernel's own connected routes come from the addresses above, as the plan leaves them.
        if entry.gateway is None and entry.oif in up and entry.proto != RTPROT_KERNEL:
            network = ipaddress.ip_network(entry.dst)
            if network.version == family:
                found.append((network, up[entry.oif].name))
    return found


def _check_gateway(p, desired: Route, space) -> None:
    """A gateway on no connected subnet: the kernel refuses the route (ENETUNREACH, EHOSTUNREACH), so it is
    refused before anything changes, in the host as in a namespace, counting what the host already has."""
    if desired.gateway is None or desired.dev == "lo":
        return
    gateway = ipaddress.ip_address(desired.gateway)
    if gateway.version == 6 and gateway.is_link_local:
        return  # reached through dev, which the kernel requires for it
    connected = _connected(space, desired.dev, gateway.version)
    if any(gateway in network for network, _dev in connected):
        return
    shown = ", ".join("%s on '%s'" % (network, dev) for network, dev in connected[:8]) or "none"
    if len(connected) > 8:
        shown += ", and %d more" % (len(connected) - 8)
    message = ("route %s in %s: gateway %s is not on a network connected to that namespace%s (connected, of "
               "interfaces that are up: %s); the kernel refuses such a route: give an interface there an address in "
               "the gateway's subnet (and bring it up) first" % (
                   route_text(desired), netns_label(desired.netns), gateway,
                   " through dev '%s'" % desired.dev if desired.dev else "", shown))
    if p.assume_missing:
        # Check mode previews a playbook: an earlier task may give that address.
        warning = message + "; check mode assumes an earlier task does"
        if warning not in p.warnings:
            p.warnings.append(warning)
        return
    raise ConflictError(message + " (nothing was changed)", netns=desired.netns, gateway=desired.gateway)


def plan_route(p, desired: Route) -> ObjectResult:
    if desired.state == "absent" and not p.exists(desired.netns):
        view = route_view(desired, None, None)
        return ObjectResult(desired.key, before=view, after=view)
    p.require_netns(desired.netns, "route %s" % route_text(desired))
    space = p.space(desired.netns)
    entry = next((r for r in space.routes if (r.table, r.dst, r.metric) ==
                  (desired.table, desired.dst, desired.effective_metric)), None)
    by_index = {link.index: link.name for link in space.links.values()}
    current_dev = by_index.get(entry.oif) if entry else None
    result = ObjectResult(desired.key, before=route_view(desired, entry, current_dev), after={})
    routes = [r for r in space.routes if r is not entry]

    if desired.state == "absent":
        if entry is not None:
            result.actions.append(DelRoute(desired.netns, desired))
        space.routes = tuple(routes)
        result.after = route_view(desired, None, None)
        return result

    if desired.dev is not None and space.get(desired.dev) is None and p.assume_missing:
        p.assume(desired.netns, desired.dev, Link(desired.dev, 0, None, 1500, True),
                 "device '%s' of route %s" % (desired.dev, route_text(desired)))
    if desired.dev is not None and space.get(desired.dev) is None:
        raise NamespaceMissingError(
            "route %s: there is no device '%s' in %s" % (route_text(desired), desired.dev, netns_label(desired.netns)),
            netns=desired.netns, dev=desired.dev)
    same = entry is not None and entry.gateway == desired.gateway and (
        desired.dev is None or current_dev == desired.dev)
    if not same:
        _check_gateway(p, desired, space)
        result.actions.append(SetRoute(desired.netns, desired, replace=entry is not None))
        new_dev = desired.dev if desired.dev is not None else current_dev
        entry = RouteEntry(desired.dst, desired.table, desired.effective_metric, desired.gateway,
                           oif=next((link.index for link in space.links.values() if link.name == new_dev), None))
        current_dev = new_dev
    space.routes = tuple(routes + [entry])
    result.after = route_view(desired, entry, current_dev)
    return result


# Route protocols the kernel (or a router advertisement, or an ICMP redirect) sets itself: not configuration.
RTPROT_OWN = frozenset((1, 2, 9))  # redirect, kernel, ra


def describe(reader) -> list:
    """lab_info: the routes of the namespaces in scope that are configuration, through described devices."""
    routes = []
    for netns in reader.spaces:
        space = reader.world.spaces[netns]
        for route in sorted(space.routes, key=lambda r: (r.table, ":" in r.dst, r.dst, r.metric)):
            if route.proto in RTPROT_OWN or route.table == ROUTE_TABLES["local"]:
                continue
            dev = space.by_index(route.oif) if route.oif else None
            if route.oif and (dev is None or (netns, dev.name) not in reader.described and not reader.is_loopback(dev)):
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
            reader.put(entry, netns)
            routes.append(entry)
    return routes


KIND = Kind(
    endpoints=nothing,
    name="route", desired=Route, plan=plan_route, options=OPTIONS, returns=RETURNS,
    owned=nothing, namespaces=lambda desired: [desired.netns], reads=lambda desired: [(desired.netns, "routes")],
    read=read, stands_on=stands_on, reaches=reaches, connects=connects,
    exclusive=exclusive,
    section_doc=("Routes live in the lab's namespaces and go with them; a route in the host is not removed by"
                 " O(state=absent).",),
    describe=describe,
    describe_reads=("routes",),
)
