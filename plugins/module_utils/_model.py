# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every kind shares: input validation, and the current state as plain data.

Each kind's desired dataclass lives in its own file (_kind_*.py). No Ansible and no pyroute2 here: everything in this file is pure and
unit-tested with plain pytest.
"""

from __future__ import annotations

import functools
import ipaddress
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, ClassVar, Dict, Iterable, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import HOST, NETNS_RUN_DIR, netns_label, stale_message  # noqa: F401 - re-exported; pylint: disable=unused-import

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
    if name in ("all", "default"):
        # Their per-device settings would be /proc/sys/net/ipv4/conf/all and .../default, the namespace's own:
        # the kernel refuses to register a device of either name (EINVAL).
        raise ValidationError("%s '%s' is refused by the kernel (net.ipv4.conf.%s is the namespace's own "
                              "setting, not a device's); choose another name" % (what, name, name))
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
    if "%" in name:
        # The kernel takes a name holding '%' as a template (dev_alloc_name: 'v%d' makes v0, or v1 when v0
        # is taken): the device would get another name than the one asked for, and no device ever has it.
        raise ValidationError(
            "%s '%s' contains '%%', which the kernel reads as a numbering template ('v%%d' creates v0, v1, ...), "
            "not as part of the name; choose a name without '%%'" % (what, name))
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
    if "%" in value:
        # ipaddress takes 'fe80::1%eth0/64' (a scope); an interface address has no zone: its interface is the
        # device it is put on, and the kernel's address would silently be 'fe80::1/64'.
        raise ValidationError("%s %r carries a zone ('%%...'); an interface's address has none (its interface is the "
                              "device it is on): write it without the '%%' part" % (what, value))
    try:
        iface = interface(value.strip())
    except ValueError as exc:
        raise ValidationError("%s %r is not a valid CIDR address: %s" % (what, value, exc)) from None
    problem = address_refused(iface)
    if problem is not None:
        raise ValidationError("%s %r %s" % (what, value, problem))
    return iface.with_prefixlen


def address_refused(iface) -> Optional[str]:
    """Why the kernel would refuse, or not store, ``iface`` on an ordinary device (not lo); None when it takes it.

    Tried on the kernel: IPv4 0.0.0.0 is accepted by RTM_NEWADDR and never stored (a task would report a change
    on every run); IPv6 '::', multicast and ::1 are refused (EADDRNOTAVAIL, EINVAL). IPv4 multicast, loopback,
    class E and 255.255.255.255 are stored as given, and so are accepted here.
    """
    address = iface.ip
    if address.is_unspecified:
        return ("is the unspecified address (%s), which the kernel %s on an interface; give the interface's own "
                "address" % (address, "never stores" if address.version == 4 else "refuses"))
    if address.version == 6 and address.is_multicast:
        return ("is an IPv6 multicast address, which the kernel refuses as an interface address; join a group "
                "instead, or give a unicast address")
    if address.version == 6 and address.is_loopback:
        return "is the IPv6 loopback address, which the kernel allows only on lo (where it is always present)"
    return None


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


# These are asked many times about the same few strings in a run (validation, the lab's address checks,
# every view of every device sorts and filters its addresses), and ipaddress parses slowly: a
# thousand-namespace plan parsed addresses 16 times each. Pure functions of a string (an interface is
# immutable): cached.
@functools.lru_cache(maxsize=1 << 16)
def interface(cidr: str):
    """ipaddress.ip_interface(cidr), parsed once per run (ValueError when it is none)."""
    return ipaddress.ip_interface(cidr)


@functools.lru_cache(maxsize=1 << 16)
def address_sort_key(cidr: str):
    iface = interface(cidr)
    return (iface.version, iface.ip, iface.network.prefixlen)


@functools.lru_cache(maxsize=1 << 16)
def is_ipv6_link_local(cidr: str) -> bool:
    return ":" in cidr and interface(cidr).ip.is_link_local


IPV6_MIN_MTU = 1280


def check_ipv6_mtu(mtu: Optional[int], addresses: Optional[Iterable[str]], what: str = "addresses") -> None:
    """An MTU below IPv6's minimum turns IPv6 off on the device: the kernel refuses its IPv6 addresses (EINVAL),
    and drops those it had when the MTU is lowered."""
    if mtu is None or mtu >= IPV6_MIN_MTU:
        return
    six = [cidr for cidr in addresses or () if ":" in cidr]
    if six:
        raise ValidationError(
            "mtu %d is below %d, IPv6's minimum: the kernel turns IPv6 off on such a device and would not keep its "
            "IPv6 address %s (%s); raise mtu to %d or more, or drop the IPv6 addresses"
            % (mtu, IPV6_MIN_MTU, six[0], what, IPV6_MIN_MTU))


def validate_device(obj) -> None:
    """What every device's desired state checks (state, name, netns, mtu, up); its addresses stored normalized."""
    validate_state(obj.state)
    validate_ifname(obj.name, "name")
    validate_netns_name(obj.netns, "netns")
    validate_mtu(obj.mtu)
    object.__setattr__(obj, "addresses", normalize_addresses(obj.addresses, "addresses"))
    check_ipv6_mtu(obj.mtu, obj.addresses)
    check_bool(obj.up, "up")


def validate_master(obj) -> None:
    """A device's ``master`` (None: leave alone; '': none): a valid name, not the device itself."""
    if obj.master:
        validate_ifname(obj.master, "master")
        if obj.master == obj.name:
            raise ValidationError("%s '%s' cannot be its own master" % (obj.kind, obj.name))


@dataclass(frozen=True)
class Device:
    """The fields every device's desired state shares, validated once (validate_device).

    A kind's dataclass derives from it (or from PortDevice), adds its own fields, each with a default, and
    calls ``super().__post_init__()`` before its own checks. Only ``name`` is ever given by position.
    """

    name: str
    netns: Optional[str] = HOST
    # None: leave the addresses alone; stored normalized (sorted, CIDR), so equal inputs compare equal.
    addresses: Optional[Tuple[str, ...]] = None
    mtu: Optional[int] = None
    up: bool = True
    state: str = "present"

    kind: ClassVar[str]

    def __post_init__(self):
        validate_device(self)

    @property
    def key(self) -> Tuple[str, Optional[str], str]:
        return (self.kind, self.netns, self.name)


@dataclass(frozen=True)
class PortDevice(Device):
    """A device that may be a bridge's port."""

    # None: leave the master alone; "": no master.
    master: Optional[str] = None

    def __post_init__(self):
        super().__post_init__()
        validate_master(self)


def validate_state(state: str) -> str:
    if state not in ("present", "absent"):
        raise ValidationError("state must be 'present' or 'absent', not %r" % (state,))
    return state


def check_int(value, low: int, high: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError("%s %r is out of range; use %d to %d" % (what, value, low, high))


def check_bool(value, what: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError("%s must be true or false, not %r" % (what, value))


def ip_or_none(value, what: str):
    if value is None:
        return None
    if "%" in str(value):
        # ipaddress keeps a scope ('fe80::1%eth0'), which netlink has no room for: the device is named apart.
        raise ValidationError("%s %r carries a zone ('%%...'); give the address alone (the interface is an option "
                              "of its own)" % (what, value))
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ValidationError("%s %r is not an IP address" % (what, value)) from None


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
    # IFLA_LINK of a kind with a peer (a veth): the peer's ifindex in the peer's namespace.
    link_index: Optional[int] = None
    # IFLA_LINK_NETNSID: set when the peer lives in another namespace; a
    # number that only has a meaning inside this link's own namespace.
    link_netnsid: Optional[int] = None
    master: Optional[int] = None
    # Kind-specific details, read from the same link dump by the kind's own
    # parser (IFLA_INFO_DATA: a bridge's options, a tap's flags, a vxlan's
    # fixed parameters), and a port's settings on its master
    # (IFLA_INFO_SLAVE_DATA, parsed by the master's kind).
    info: Optional[object] = None
    port: Optional[object] = None
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


@dataclass
class NamespaceState:
    """Links of one namespace, by name."""

    name: Optional[str]
    links: Dict[str, Link] = field(default_factory=dict)
    # Read only when a desired object needs them.
    routes: Tuple[object, ...] = ()
    sysctls: Dict[str, str] = field(default_factory=dict)
    # The devices' qdiscs, and what the kernel lacks of them (_kind_shaping.Qdiscs), when a shaping needs them.
    qdiscs: Optional[object] = None
    # Destinations of vxlan devices' all-zeros forwarding entries, {ifindex: (_kind_vxlan.FdbEntry, ...)}, when read.
    fdb: Optional[Dict[int, tuple]] = None

    def get(self, ifname: str) -> Optional[Link]:
        return self.links.get(ifname)

    def by_index(self, index: Optional[int]) -> Optional[Link]:
        if index is None:
            return None
        for link in self.links.values():
            if link.index == index:
                return link
        return None


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
            if link.link_index is None:
                continue
            peer_ns = netns if link.link_netnsid is None else peer_namespace(netns, link)
            if peer_ns not in spaces or (peer_ns == netns and link.link_netnsid is not None):
                continue
            peer = by_index[peer_ns].get(link.link_index)
            if peer is None or peer.kind != link.kind or peer.link_index != link.index:
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
