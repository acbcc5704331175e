# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired and current state as plain data, with input validation.

No Ansible and no pyroute2 here: everything in this file is pure and
unit-tested with plain pytest.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError

# The namespace the module process runs in ("the host"). Named namespaces are
# the files under /run/netns, as `ip netns` manages them.
HOST = None

IFNAMSIZ = 16  # kernel limit including the trailing NUL
NETNS_NAME_MAX = 255
MTU_MIN = 68
MTU_MAX = 65535


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
    for char in name:
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
        raise ValidationError("%s '%s' is not a valid namespace name (no '/', not '.' or '..')" % (what, name))
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

    kind = "netns"

    def __post_init__(self):
        validate_netns_name(self.name, "netns name")
        validate_state(self.state)

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
    # IFLA_LINK_NETNSID: set when the peer lives in another namespace.
    link_netnsid: Optional[int] = None
    master: Optional[int] = None

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

    def get(self, ifname: str) -> Optional[Link]:
        return self.links.get(ifname)

    def by_index(self, index: Optional[int]) -> Optional[Link]:
        if index is None:
            return None
        for link in self.links.values():
            if link.index == index:
                return link
        return None


@dataclass
class World:
    """What the kernel holds: which named namespaces exist, and the links of those read."""

    namespaces: frozenset = frozenset()
    spaces: Dict[Optional[str], NamespaceState] = field(default_factory=dict)

    def exists(self, netns: Optional[str]) -> bool:
        return netns is HOST or netns in self.namespaces

    def space(self, netns: Optional[str]) -> NamespaceState:
        """The links of a namespace; an empty one if it does not (yet) exist or was not read."""
        return self.spaces.get(netns) or NamespaceState(netns)
