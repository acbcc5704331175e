# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired and current state as plain data, with input validation.

No Ansible and no pyroute2 here: everything in this file is pure and
unit-tested with plain pytest.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, Iterable, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError

# The namespace the module process runs in ("the host"). Named namespaces are
# the files under /run/netns, as `ip netns` manages them.
HOST = None

IFNAMSIZ = 16  # kernel limit including the trailing NUL
CONTROL_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
NETNS_NAME_MAX = 255
MTU_MIN = 68
MTU_MAX = 65535


def control_character(text: str) -> Optional[str]:
    """The first control character of ``text`` (C0/C1 controls, format characters, line and paragraph
    separators, unassigned code points), or None. Spaces, including no-break ones, are not controls."""
    for char in text:
        if unicodedata.category(char) in CONTROL_CATEGORIES:
            return char
    return None


def netns_label(netns: Optional[str]) -> str:
    """How a namespace is named in messages."""
    return "the host namespace" if netns is HOST else "namespace '%s'" % netns


def validate_ifname(name: str, what: str = "interface name") -> str:
    """Apply the kernel's own rules (dev_valid_name) before touching anything."""
    if not isinstance(name, str) or not name:
        raise ValidationError("%s must be a non-empty string" % what)
    if len(name.encode("utf-8")) >= IFNAMSIZ:
        raise ValidationError(
            "%s '%s' is %d characters long; Linux allows at most %d"
            % (what, name, len(name.encode("utf-8")), IFNAMSIZ - 1)
        )
    if name in (".", ".."):
        raise ValidationError("%s '%s' is not allowed" % (what, name))
    if 0xA0 in name.encode("utf-8"):
        # The kernel's isspace() takes byte 0xa0 (Latin-1 no-break space) for white space, so
        # dev_valid_name() refuses any name whose UTF-8 holds it ('à', 'Ġ', ...).
        raise ValidationError(
            "%s %r holds the byte 0xa0 in UTF-8, which the kernel reads as white space; choose another name"
            % (what, name))
    for char in name:
        if control_character(char) is not None:
            raise ValidationError("%s %r contains the control character %r" % (what, name, char))
        if char in "/:" or char.isspace():
            raise ValidationError(
                "%s '%s' contains %r; interface names cannot contain '/', ':' or white space"
                % (what, name, char)
            )
    return name


def validate_netns_name(name: Optional[str], what: str = "netns") -> Optional[str]:
    """Namespace names are file names under /run/netns."""
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise ValidationError("%s must be a non-empty string (omit it for the host namespace)" % what)
    if name in (".", "..") or "/" in name or "\0" in name:
        raise ValidationError("%s %r is not a valid namespace name (no '/', not '.' or '..')" % (what, name))
    if name.startswith("-"):
        # `ip netns exec -x ...` would read it as an option.
        raise ValidationError("%s %r is not a valid namespace name: it must not begin with '-'" % (what, name))
    control = control_character(name)
    if control is not None:
        raise ValidationError("%s %r is not a valid namespace name: it contains the control character %r"
                              % (what, name, control))
    if len(name.encode("utf-8")) > NETNS_NAME_MAX:
        raise ValidationError("%s '%s' is longer than %d bytes" % (what, name, NETNS_NAME_MAX))
    return name


def validate_mtu(mtu: Optional[int], what: str = "mtu") -> Optional[int]:
    if mtu is None:
        return None
    if not isinstance(mtu, int) or isinstance(mtu, bool) or not MTU_MIN <= mtu <= MTU_MAX:
        raise ValidationError("%s %r is out of range; use %d to %d" % (what, mtu, MTU_MIN, MTU_MAX))
    return mtu


def normalize_cidr(value: str, what: str = "address") -> str:
    """'10.1.1.1/24' -> '10.1.1.1/24'; 'fd00::0001/64' -> 'fd00::1/64'."""
    if not isinstance(value, str) or "/" not in value:
        raise ValidationError(
            "%s %r has no prefix length; write it in CIDR form, e.g. 10.1.1.1/24" % (what, value)
        )
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError as exc:
        raise ValidationError("%s %r is not a valid CIDR address: %s" % (what, value, exc)) from None
    return iface.with_prefixlen


def normalize_addresses(values: Optional[Iterable[str]], what: str = "addresses") -> Optional[Tuple[str, ...]]:
    """Validate a list of CIDRs; None means 'not managed'. Returns a sorted tuple."""
    if values is None:
        return None
    seen: Dict[str, str] = {}
    for value in values:
        cidr = normalize_cidr(value, what="%s entry" % what)
        address = cidr.split("/")[0]
        if address in seen:
            raise ValidationError(
                "%s lists %s twice (%r and %r)" % (what, address, seen[address], value)
            )
        seen[address] = value
    return tuple(sorted((normalize_cidr(v) for v in values), key=address_sort_key))


def address_sort_key(cidr: str):
    iface = ipaddress.ip_interface(cidr)
    return (iface.version, iface.ip, iface.network.prefixlen)


def is_ipv6_link_local(cidr: str) -> bool:
    return ipaddress.ip_interface(cidr).ip.is_link_local and ":" in cidr


def validate_state(state: str) -> str:
    if state not in ("present", "absent"):
        raise ValidationError("state must be 'present' or 'absent', not %r" % (state,))
    return state


# ---------------------------------------------------------------- desired ---


@dataclass(frozen=True)
class Netns:
    """A named network namespace."""

    name: str
    state: str = "present"
    loopback: bool = True
    # net.* sysctls of the namespace: ((key, value), ...); None = not managed.
    sysctls: Optional[Tuple[Tuple[str, str], ...]] = None

    kind = "netns"

    def __post_init__(self):
        validate_netns_name(self.name, "netns name")
        validate_state(self.state)
        object.__setattr__(self, "sysctls", normalize_sysctls(
            dict(self.sysctls) if isinstance(self.sysctls, (tuple, list)) else self.sysctls))

    @property
    def key(self) -> Tuple[str, str]:
        return ("netns", self.name)


@dataclass(frozen=True)
class Veth:
    """A veth pair: ``name`` in ``netns`` and ``peer`` in ``peer_netns``."""

    name: str
    peer: Optional[str] = None
    netns: Optional[str] = HOST
    peer_netns: Optional[str] = HOST
    addresses: Optional[Tuple[str, ...]] = None
    peer_addresses: Optional[Tuple[str, ...]] = None
    mtu: Optional[int] = None
    up: bool = True
    state: str = "present"

    kind = "veth"

    def __post_init__(self):
        validate_state(self.state)
        validate_ifname(self.name, "name")
        validate_netns_name(self.netns, "netns")
        validate_netns_name(self.peer_netns, "peer_netns")
        if self.peer is not None:
            validate_ifname(self.peer, "peer")
        if self.state == "present" and self.peer is None:
            raise ValidationError("peer is required when state is present")
        if self.peer is not None and self.name == self.peer and self.netns == self.peer_netns:
            raise ValidationError(
                "name and peer are both '%s' in %s; the two ends of a veth pair need "
                "different names unless they live in different namespaces" % (self.name, netns_label(self.netns))
            )
        validate_mtu(self.mtu)
        # Store the normalized form so that equal inputs compare equal.
        object.__setattr__(self, "addresses", normalize_addresses(self.addresses, "addresses"))
        object.__setattr__(self, "peer_addresses", normalize_addresses(self.peer_addresses, "peer_addresses"))

    @property
    def key(self) -> Tuple[str, Optional[str], str]:
        return ("veth", self.netns, self.name)


# ---------------------------------------------------------- bridge / tap ---

# Bridge timers travel over netlink in clock_t units (USER_HZ = 100 on every
# Linux architecture): the module speaks seconds, as brctl does.
CENTIS = 100
BRIDGE_DEFAULTS = {
    # What the kernel gives a new bridge (br_dev_setup / br_stp_timer_init).
    "stp": False,
    "forward_delay": 1500,
    "hello_time": 200,
    "max_age": 2000,
    "ageing_time": 30000,
    "priority": 32768,
}
# (option, lowest, highest) in seconds; the kernel's own ranges (br_private.h).
BRIDGE_TIMER_RANGES = (
    ("forward_delay", 0, 30),
    ("hello_time", 1, 10),
    ("max_age", 6, 40),
    ("ageing_time", 0, 1000000),
)
PORT_COST_RANGE = (1, 65535)
PORT_PRIORITY_RANGE = (0, 63)
BRIDGE_PRIORITY_RANGE = (0, 65535)
TAP_MODES = ("tap", "tun")


def seconds_to_centis(value) -> int:
    return int(round(float(value) * CENTIS))


def centis_to_seconds(value: int) -> float:
    return value / float(CENTIS)


def _check_int(value, low: int, high: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError("%s %r is out of range; use %d to %d" % (what, value, low, high))


def _check_bool(value, what: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError("%s must be true or false, not %r" % (what, value))


@dataclass(frozen=True)
class BridgePort:
    """One interface a bridge should hold, with optional port settings."""

    name: str
    cost: Optional[int] = None
    priority: Optional[int] = None
    hairpin: Optional[bool] = None

    def __post_init__(self):
        validate_ifname(self.name, "ports entry name")
        _check_int(self.cost, PORT_COST_RANGE[0], PORT_COST_RANGE[1], "cost of port '%s'" % self.name)
        _check_int(self.priority, PORT_PRIORITY_RANGE[0], PORT_PRIORITY_RANGE[1],
                   "priority of port '%s'" % self.name)
        _check_bool(self.hairpin, "hairpin of port '%s'" % self.name)

    def settings(self) -> Dict[str, object]:
        """The port settings the task manages (those it gives)."""
        values = {"cost": self.cost, "priority": self.priority, "hairpin": self.hairpin}
        return {k: v for k, v in values.items() if v is not None}


PORT_KEYS = ("name", "cost", "priority", "hairpin")


def normalize_ports(values) -> Optional[Tuple[BridgePort, ...]]:
    """ports: names or dicts -> BridgePorts sorted by name; None means 'not managed'."""
    if values is None:
        return None
    ports: Dict[str, BridgePort] = {}
    for value in values:
        if isinstance(value, BridgePort):
            port = value
        elif isinstance(value, str):
            port = BridgePort(value)
        elif isinstance(value, dict):
            unknown = sorted(set(value) - set(PORT_KEYS))
            if unknown:
                raise ValidationError(
                    "ports entry %r has unknown key(s) %s; use %s" % (value, ", ".join(unknown), ", ".join(PORT_KEYS)))
            if "name" not in value:
                raise ValidationError("ports entry %r has no name" % (value,))
            port = BridgePort(**value)
        else:
            raise ValidationError("ports entries must be interface names or dicts with a name, not %r" % (value,))
        if port.name in ports:
            raise ValidationError("ports lists '%s' twice" % port.name)
        ports[port.name] = port
    return tuple(ports[name] for name in sorted(ports))


@dataclass(frozen=True)
class Bridge:
    """A Linux bridge in ``netns``. Timers are in seconds."""

    name: str
    netns: Optional[str] = HOST
    addresses: Optional[Tuple[str, ...]] = None
    mtu: Optional[int] = None
    up: bool = True
    ports: Optional[Tuple[BridgePort, ...]] = None
    stp: Optional[bool] = None
    forward_delay: Optional[float] = None
    hello_time: Optional[float] = None
    max_age: Optional[float] = None
    ageing_time: Optional[float] = None
    priority: Optional[int] = None
    state: str = "present"

    kind = "bridge"

    def __post_init__(self):
        validate_state(self.state)
        validate_ifname(self.name, "name")
        validate_netns_name(self.netns, "netns")
        validate_mtu(self.mtu)
        _check_bool(self.stp, "stp")
        _check_int(self.priority, BRIDGE_PRIORITY_RANGE[0], BRIDGE_PRIORITY_RANGE[1], "priority")
        for option, low, high in BRIDGE_TIMER_RANGES:
            value = getattr(self, option)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValidationError("%s %r is out of range; use %s to %s seconds" % (option, value, low, high))
        if self.stp and self.forward_delay is not None and self.forward_delay < 2:
            raise ValidationError(
                "forward_delay %r is too short for a bridge running STP; the kernel needs 2 to 30 seconds"
                % (self.forward_delay,))
        object.__setattr__(self, "addresses", normalize_addresses(self.addresses, "addresses"))
        object.__setattr__(self, "ports", normalize_ports(self.ports))
        if self.ports and any(port.name == self.name for port in self.ports):
            raise ValidationError("bridge '%s' cannot be a port of itself" % self.name)

    @property
    def key(self) -> Tuple[str, Optional[str], str]:
        return ("bridge", self.netns, self.name)

    def options(self) -> Dict[str, int]:
        """The bridge options the task manages, in kernel units (timers in centiseconds)."""
        wanted: Dict[str, int] = {}
        if self.stp is not None:
            wanted["stp"] = self.stp
        for option, _low, _high in BRIDGE_TIMER_RANGES:
            value = getattr(self, option)
            if value is not None:
                wanted[option] = seconds_to_centis(value)
        if self.priority is not None:
            wanted["priority"] = self.priority
        return wanted


@dataclass(frozen=True)
class Tap:
    """A persistent tun/tap device. ``None`` flags mean: ip tuntap's default at creation, left alone after."""

    name: str
    netns: Optional[str] = HOST
    mode: str = "tap"
    owner: Optional[int] = None
    group: Optional[int] = None
    multi_queue: Optional[bool] = None
    pi: Optional[bool] = None
    vnet_hdr: Optional[bool] = None
    addresses: Optional[Tuple[str, ...]] = None
    mtu: Optional[int] = None
    # None: leave the master alone; "": no master.
    master: Optional[str] = None
    up: bool = True
    recreate: bool = False
    state: str = "present"

    kind = "tap"

    def __post_init__(self):
        validate_state(self.state)
        validate_ifname(self.name, "name")
        validate_netns_name(self.netns, "netns")
        validate_mtu(self.mtu)
        if self.mode not in TAP_MODES:
            raise ValidationError("mode must be 'tap' or 'tun', not %r" % (self.mode,))
        _check_int(self.owner, 0, 2 ** 32 - 2, "owner")
        _check_int(self.group, 0, 2 ** 32 - 2, "group")
        for flag in ("multi_queue", "pi", "vnet_hdr"):
            _check_bool(getattr(self, flag), flag)
        if self.master:
            validate_ifname(self.master, "master")
            if self.master == self.name:
                raise ValidationError("tap '%s' cannot be its own master" % self.name)
            if self.mode == "tun":
                raise ValidationError(
                    "a device in mode tun carries IP packets, not Ethernet frames, and cannot join bridge '%s'; "
                    "use mode tap" % self.master)
        object.__setattr__(self, "addresses", normalize_addresses(self.addresses, "addresses"))

    @property
    def key(self) -> Tuple[str, Optional[str], str]:
        return ("tap", self.netns, self.name)

    def creation_flags(self) -> Dict[str, bool]:
        """The flags a new device gets: the ones asked for, else ip tuntap's defaults (all off)."""
        return {flag: bool(getattr(self, flag)) for flag in ("multi_queue", "pi", "vnet_hdr")}


# ---------------------------------------------------------------- current ---


@dataclass(frozen=True)
class Link:
    """One interface as the kernel reports it."""

    name: str
    index: int
    kind: Optional[str]  # IFLA_INFO_KIND; None for lo and physical devices
    mtu: int
    up: bool
    addresses: Tuple[str, ...] = ()
    # IFLA_LINK: for a veth, the peer's ifindex in the peer's namespace.
    link_index: Optional[int] = None
    # IFLA_LINK_NETNSID: set when the peer lives in another namespace; a
    # number that only has a meaning inside this link's own namespace.
    link_netnsid: Optional[int] = None
    master: Optional[int] = None
    # Kind-specific details, read from the same link dump: a bridge's options
    # (IFLA_INFO_DATA), a bridge port's settings (IFLA_INFO_SLAVE_DATA) and a
    # tun/tap device's flags (IFLA_INFO_DATA of kind tun).
    bridge: Optional["BridgeInfo"] = None
    port: Optional["PortInfo"] = None
    tun: Optional["TunInfo"] = None
    vxlan: Optional["VxlanInfo"] = None
    # IFLA_IFALIAS: carries the ownership marker of a topology lab.
    alias: Optional[str] = None
    # A veth's other end as (namespace, name), set by resolve_peers(); None when
    # it is not a veth or its peer lives in a namespace that was not read.
    peer: Optional[Tuple[Optional[str], str]] = None
    # The hardware type (ARPHRD_*: 1 Ethernet, 772 loopback); None when not read (planned links).
    link_type: Optional[int] = None

    def managed_addresses(self, desired: Iterable[str] = ()) -> Tuple[str, ...]:
        """Addresses the module owns: kernel IPv6 link-local ones are left alone unless asked for."""
        wanted = set(desired)
        return tuple(a for a in self.addresses if a in wanted or not is_ipv6_link_local(a))

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "index": self.index,
            "kind": self.kind,
            "mtu": self.mtu,
            "up": self.up,
            "addresses": list(self.addresses),
        }


@dataclass(frozen=True)
class BridgeInfo:
    """A bridge's options as the kernel reports them (timers in centiseconds)."""

    stp: bool = BRIDGE_DEFAULTS["stp"]
    forward_delay: int = BRIDGE_DEFAULTS["forward_delay"]
    hello_time: int = BRIDGE_DEFAULTS["hello_time"]
    max_age: int = BRIDGE_DEFAULTS["max_age"]
    ageing_time: int = BRIDGE_DEFAULTS["ageing_time"]
    priority: int = BRIDGE_DEFAULTS["priority"]


@dataclass(frozen=True)
class PortInfo:
    """A bridge port's settings."""

    cost: Optional[int] = None
    priority: Optional[int] = None
    hairpin: bool = False


@dataclass(frozen=True)
class TunInfo:
    """A tun/tap device's flags; owner and group are None when unset."""

    mode: str = "tap"
    owner: Optional[int] = None
    group: Optional[int] = None
    pi: bool = False
    vnet_hdr: bool = False
    multi_queue: bool = False
    persist: bool = True
    # A program has the device open (it has carrier): its flags are the program's.
    attached: bool = False


@dataclass
class NamespaceState:
    """Links of one namespace, by name."""

    name: Optional[str]
    links: Dict[str, Link] = field(default_factory=dict)
    # Read only when a desired object needs them.
    routes: Tuple["RouteEntry", ...] = ()
    sysctls: Dict[str, str] = field(default_factory=dict)

    def get(self, ifname: str) -> Optional[Link]:
        return self.links.get(ifname)

    def by_index(self, index: Optional[int]) -> Optional[Link]:
        if index is None:
            return None
        for link in self.links.values():
            if link.index == index:
                return link
        return None


NETNS_RUN_DIR = "/run/netns"


def stale_message(netns: str) -> str:
    return ("'%s' in %s is a stale entry: no network namespace is mounted on it (left by a crashed "
            "`ip netns add`, or a stray file); remove it with netvirt.linux.netns state=absent "
            "(or `ip netns delete %s`)" % (netns, NETNS_RUN_DIR, netns))


def resolve_peers(spaces: Dict[Optional[str], "NamespaceState"],
                  peer_namespace: Callable[[Optional[str], Link], Optional[str]]) -> None:
    """Set ``Link.peer`` on every veth whose other end is among ``spaces``.

    THE PEER RULE: a veth's peer is (namespace, ifindex), never an ifindex
    alone. Every new namespace numbers its devices from 1, so index 2 in one
    namespace says nothing about index 2 in another. IFLA_LINK gives the peer's
    index; the namespace is this link's own when IFLA_LINK_NETNSID is absent,
    else the one that netnsid names, as ``peer_namespace(netns, link)`` finds
    it (the kernel adapter asks the kernel, RTM_GETNSID; tests pass a table).
    Everything that pairs ends or decides a pair is "ours" goes through
    ``Link.peer``.
    """
    by_index = {netns: {link.index: link for link in space.links.values()} for netns, space in spaces.items()}
    for netns, space in spaces.items():
        for name, link in list(space.links.items()):
            if link.kind != "veth" or link.link_index is None:
                continue
            peer_ns = netns if link.link_netnsid is None else peer_namespace(netns, link)
            if peer_ns not in spaces or (peer_ns == netns and link.link_netnsid is not None):
                continue
            peer = by_index[peer_ns].get(link.link_index)
            if peer is None or peer.kind != "veth" or peer.link_index != link.index:
                continue
            space.links[name] = replace(link, peer=(peer_ns, peer.name))


@dataclass
class World:
    """What the kernel holds: which named namespaces exist, and the links of those read."""

    namespaces: frozenset = frozenset()
    spaces: Dict[Optional[str], NamespaceState] = field(default_factory=dict)
    # Entries of /run/netns with no namespace mounted on them (a crashed
    # `ip netns add`, a stray file): listed, but nothing can enter them.
    stale: frozenset = frozenset()

    def space(self, netns: Optional[str]) -> NamespaceState:
        """The links of a namespace; an empty one if it does not (yet) exist or was not read."""
        return self.spaces.get(netns) or NamespaceState(netns)


# ----------------------------------------------------------------- routes ---

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
    table: Optional[object] = None
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


# --------------------------------------------------------------- sysctls ---

SYSCTL_PREFIX = "net."
SYSCTL_ROOT = "/proc/sys/net/"
# Keys with an interface in them: net.<family>.<conf|neigh>.<interface>.<setting>.
SYSCTL_INTERFACE_TABLES = (("ipv4", "conf"), ("ipv6", "conf"), ("ipv4", "neigh"), ("ipv6", "neigh"))
# Not interfaces: the tables' own entries for every and for future interfaces.
SYSCTL_NOT_INTERFACES = ("all", "default")


def _sysctl_parts(key) -> Tuple[str, ...]:
    """The path components under /proc/sys of a key; refuses anything that could leave /proc/sys/net.

    sysctl(8) writes a dot inside a component (eth0.100) as '/': the conversion
    comes first, so that every check sees the components that will be opened.
    """
    if not isinstance(key, str) or not key.startswith(SYSCTL_PREFIX):
        raise ValidationError(
            "sysctl %r is not a per-namespace setting: only net.* keys can be set for a namespace" % (key,))
    control = control_character(key)
    if control is not None or any(char.isspace() for char in key):
        raise ValidationError("sysctl key %r contains %r; keys hold no white space or control characters"
                              % (key, control or next(char for char in key if char.isspace())))
    parts = tuple(part.replace("/", ".") for part in key.split("."))
    for part in parts:
        if part in ("", ".", ".."):
            raise ValidationError(
                "sysctl key %r is not a valid key: its parts, with '/' read as '.' as sysctl(8) does, must not be "
                "empty, '.' or '..'" % (key,))
    if len(parts) < 3:
        raise ValidationError("sysctl key %r is not a valid key: name a setting, e.g. net.ipv4.ip_forward" % (key,))
    return parts


def normalize_sysctl_key(key: str) -> str:
    """Only net.* settings are per namespace; anything else would change the whole host."""
    _sysctl_parts(key)
    return key


def sysctl_path(key: str) -> str:
    """net.ipv4.conf.eth0/100.forwarding -> /proc/sys/net/ipv4/conf/eth0.100/forwarding, as sysctl(8) does.

    Always a path under /proc/sys/net/ (checked again against symlinks where it is opened).
    """
    path = "/proc/sys/" + "/".join(_sysctl_parts(key))
    if not path.startswith(SYSCTL_ROOT):  # pragma: no cover - _sysctl_parts makes this impossible
        raise ValidationError("sysctl %r does not resolve under %s" % (key, SYSCTL_ROOT))
    return path


def sysctl_interface(key: str) -> Optional[str]:
    """The interface a per-interface key names (net.ipv4.conf.eth0.rp_filter -> eth0), else None."""
    parts = _sysctl_parts(key)
    if len(parts) >= 5 and parts[1:3] in SYSCTL_INTERFACE_TABLES and parts[3] not in SYSCTL_NOT_INTERFACES:
        return parts[3]
    return None


def sysctl_generic_key(key: str) -> str:
    """The same setting for the table's `default` entry: what a new interface starts with."""
    interface = sysctl_interface(key)
    if interface is None:
        return key
    parts = key.split(".")
    return ".".join(parts[:3] + ["default"] + parts[4:])


def sysctl_text(text: str) -> str:
    """A value as read from /proc/sys: fields separated by single spaces (the kernel uses tabs)."""
    return " ".join(text.split())


def normalize_sysctl_value(value, key: str = "") -> str:
    """A value to write: a string or number without control characters, fields separated by single spaces."""
    what = "sysctl %s" % key if key else "sysctl value"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int)):
        raise ValidationError("%s: the value must be a string or a number, not %r" % (what, value))
    text = str(value)
    # A tab separates fields, as the kernel itself prints them; any other control character
    # (a newline above all: the kernel would take the first line only) is refused.
    control = control_character(text.replace("\t", " "))
    if control is not None:
        raise ValidationError("%s: the value %r contains the control character %r; give fields separated by "
                              "spaces, on one line" % (what, text, control))
    text = sysctl_text(text)
    if not text:
        raise ValidationError("%s: the value is empty" % what)
    return text


def normalize_sysctls(values) -> Optional[Tuple[Tuple[str, str], ...]]:
    if values is None:
        return None
    if not isinstance(values, dict):
        raise ValidationError("sysctls must be a mapping of net.* keys to values")
    return tuple(sorted((normalize_sysctl_key(k), normalize_sysctl_value(v, k)) for k, v in values.items()))


# ------------------------------------------------------------------ vxlan ---

VNI_RANGE = (0, 2 ** 24 - 1)
VXLAN_PORT = 4789  # IANA's port; the kernel's own default (8472) predates it


def _ip_or_none(value, what: str):
    if value is None:
        return None
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ValidationError("%s %r is not an IP address" % (what, value)) from None


@dataclass(frozen=True)
class VxlanInfo:
    """A vxlan device's fixed parameters as the kernel reports them; ``dev`` is an ifindex."""

    vni: Optional[int] = None
    local: Optional[str] = None
    remote: Optional[str] = None
    group: Optional[str] = None
    dstport: Optional[int] = None
    dev: Optional[int] = None


@dataclass(frozen=True)
class Vxlan:
    """A VXLAN tunnel endpoint in ``netns``; like a bridge it can never change namespace."""

    name: str
    vni: Optional[int] = None
    local: Optional[str] = None
    remote: Optional[str] = None
    group: Optional[str] = None
    dstport: int = VXLAN_PORT
    dev: Optional[str] = None
    netns: Optional[str] = HOST
    addresses: Optional[Tuple[str, ...]] = None
    mtu: Optional[int] = None
    # None: leave the master alone; "": no master.
    master: Optional[str] = None
    up: bool = True
    recreate: bool = False
    state: str = "present"

    kind = "vxlan"
    # What the kernel fixes when it creates the device, in the order messages name them.
    FIXED = ("vni", "local", "remote", "group", "dstport", "dev")

    def __post_init__(self):
        validate_state(self.state)
        validate_ifname(self.name, "name")
        validate_netns_name(self.netns, "netns")
        validate_mtu(self.mtu)
        if self.state == "present" and self.vni is None:
            raise ValidationError("vni is required when state is present")
        _check_int(self.vni, VNI_RANGE[0], VNI_RANGE[1], "vni")
        _check_int(self.dstport, 1, 65535, "dstport")
        local = _ip_or_none(self.local, "local")
        remote = _ip_or_none(self.remote, "remote")
        group = _ip_or_none(self.group, "group")
        if remote is not None and group is not None:
            raise ValidationError("remote and group are mutually exclusive: give the one peer (remote) or the "
                                  "multicast group all endpoints join (group)")
        for option, address in (("local", local), ("remote", remote), ("group", group)):
            if address is not None and address.is_unspecified:
                raise ValidationError("%s %s is the unspecified address; give a real address or omit %s"
                                      % (option, address, option))
        if local is not None and local.is_multicast:
            raise ValidationError("local %s is a multicast address; local is this endpoint's own unicast address"
                                  % local)
        if remote is not None and remote.is_multicast:
            raise ValidationError("remote %s is a multicast address; give it as group (with dev) instead" % remote)
        if group is not None and not group.is_multicast:
            raise ValidationError("group %s is not a multicast address (224.0.0.0/4 or ff00::/8); "
                                  "for a single peer use remote" % group)
        if group is not None and self.dev is None:
            raise ValidationError("group %s needs dev, the interface that joins the multicast group" % group)
        versions = {a.version for a in (local, remote, group) if a is not None}
        if len(versions) > 1:
            raise ValidationError("local, remote and group must all be IPv4 or all be IPv6")
        if self.dev is not None:
            validate_ifname(self.dev, "dev")
        if self.master:
            validate_ifname(self.master, "master")
            if self.master == self.name:
                raise ValidationError("vxlan '%s' cannot be its own master" % self.name)
        for option, value in (("local", local), ("remote", remote), ("group", group)):
            object.__setattr__(self, option, None if value is None else str(value))
        object.__setattr__(self, "addresses", normalize_addresses(self.addresses, "addresses"))

    @property
    def key(self) -> Tuple[str, Optional[str], str]:
        return ("vxlan", self.netns, self.name)
