# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``vxlan``: a VXLAN tunnel endpoint, netns-local like a bridge, its fixed parameters guarded.

``remotes`` is head-end replication: the device's own forwarding entry for the
all-zeros MAC address, with one destination per remote, as `bridge fdb append
00:00:00:00:00:00 dev DEV dst ADDR` makes it (frames with an unknown or
broadcast destination are copied to each). Unlike the fixed parameters it is
changed in place; the set of destinations of that entry, as the kernel reads
it back (Kernel.fdb_entries), is compared with ``remotes`` and made equal.
"""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass
from typing import Any, Dict, NamedTuple, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _nlwire
from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_ADDRESS, PHASE_CREATE_LINK, LinkAction, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, KernelError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    MTU_MAX,
    MTU_MIN,
    Link,
    NamespaceState,
    PortDevice,
    check_int,
    ip_or_none,
    netns_label,
    validate_ifname,
)
from ansible_collections.netvirt.linux.plugins.module_utils._options import ADDRESSES, DEVICE_RETURNS, IFNAME, MASTER, MTU, NETNS, RECREATE, STATE, UP, VALUE
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, device_view

_VNI = ("VXLAN network identifier, 0 to 16777215. Every endpoint of one stretched segment uses the same one."
        " The kernel allows one device per O(vni), O(dstport) and address family in a namespace (whatever its"
        " O(local), O(remote) or O(dev)): a second is refused before anything changes.")
OPTIONS = dict(
    name=IFNAME("the device"),
    netns=NETNS("the device"),
    state=STATE("the device"),
    vni=dict(type="int", description=[_VNI, "Required when O(state=present). Fixed at creation; see O(recreate)."],
             section_description=[_VNI, "Fixed at creation; see O(recreate)."]),
    local=dict(type="str", description=[
        "Source address of the encapsulated packets; an address of this host on the underlay.",
        "Omit it to let the kernel choose by route (an existing device's local address is then left alone).",
        "Fixed at creation; see O(recreate).",
    ]),
    remote=dict(type="str", description=[
        "Unicast address of the one peer endpoint that gets frames with unknown or broadcast destinations"
        " (point-to-point). Mutually exclusive with O(group).",
        "With neither O(remote) nor O(group) the device has no default destination (forwarding entries"
        " are then added by O(remotes), or by other means, such as C(bridge fdb append)).",
        "Fixed at creation; see O(recreate).",
    ]),
    remotes=dict(type="list", elements="str", description=[
        "Unicast addresses of the peer endpoints that each get a copy of frames with unknown or broadcast"
        " destinations (head-end replication): a segment of three or more endpoints with no multicast underlay.",
        "Written as the device's forwarding entry for the all-zeros MAC address with one destination per address,"
        " as C(bridge fdb append 00:00:00:00:00:00 dev DEV dst ADDR) makes it; destinations of that entry not"
        " listed are removed, so V([]) removes them all. Omit it to leave the entry alone.",
        "A set: the order does not matter and an address given twice counts once. Changed in place.",
        "Mutually exclusive with O(remote) and O(group). Of one address family, that of O(local) when given;"
        " IPv6 addresses need an IPv6 O(local) (the kernel makes the device for IPv4 otherwise).",
    ]),
    group=dict(type="str", description=[
        "Multicast group all endpoints join; needs O(dev). Mutually exclusive with O(remote).",
        "Fixed at creation; see O(recreate).",
    ]),
    dstport=dict(type="int", default=4789, description=[
        "UDP destination port of the encapsulated packets. The default is IANA's VXLAN port; the kernel"
        " alone would choose 8472, so give that for peers set up with C(ip link) without C(dstport).",
        "Fixed at creation; see O(recreate).",
    ]),
    dev=dict(type="str", description=[
        "The underlay interface, in the same namespace. Needed with O(group); with O(remote) it pins the"
        " packets to that interface and sizes the MTU from it.",
        "Omit it to leave the choice to the routing table (an existing device's is then left alone).",
        "Fixed at creation; see O(recreate).",
    ]),
    recreate=RECREATE("a fixed parameter differs"),
    master=MASTER(),
    addresses=ADDRESSES("the device itself (not on the underlay)", "C(10.50.0.1/24)"),
    mtu=MTU("the device", "Omit it to leave the MTU alone; a new device gets its underlay's MTU less the"
            " 50 bytes (IPv4) or 70 bytes (IPv6) of outer headers when O(dev) is given, else 1500."),
    up=UP("the device"),
)


RETURNS = DEVICE_RETURNS("vxlan", [
    "create vxlan vx-lab in host with vni 42, local 10.99.0.1, remote 10.99.0.2, dstport 4789, dev eth0",
    "attach vx-lab to bridge br-lab in host", "set vx-lab up in host",
], dict(
    vni=VALUE("int", "VXLAN network identifier.", 42),
    local=VALUE("str", "Source address; null when the kernel chooses.", "10.99.0.1"),
    remote=VALUE("str", "Unicast peer; null when none.", "10.99.0.2"),
    group=VALUE("str", "Multicast group; null when none.", None),
    remotes=VALUE("list", "Head-end replication's peers (O(remotes)), sorted; [] when none.", [],
                  elements="str"),
    dstport=VALUE("int", "UDP destination port.", 4789),
    dev=VALUE("str", "Underlay interface; null when none is pinned.", "eth0"),
), name="vx-lab", mtu=1450, master="br-lab")


VNI_RANGE = (0, 2 ** 24 - 1)
VXLAN_PORT = 4789  # IANA's port; the kernel's own default (8472) predates it


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
class Vxlan(PortDevice):
    """A VXLAN tunnel endpoint in ``netns``; like a bridge it can never change namespace."""

    vni: Optional[int] = None
    local: Optional[str] = None
    remote: Optional[str] = None
    group: Optional[str] = None
    dstport: int = VXLAN_PORT
    dev: Optional[str] = None
    recreate: bool = False
    remotes: Optional[Tuple[str, ...]] = None

    kind = "vxlan"
    # What the kernel fixes when it creates the device, in the order messages name them.
    FIXED = ("vni", "local", "remote", "group", "dstport", "dev")

    def __post_init__(self):
        super().__post_init__()
        if self.state == "present" and self.vni is None:
            raise ValidationError("vni is required when state is present")
        check_int(self.vni, VNI_RANGE[0], VNI_RANGE[1], "vni")
        check_int(self.dstport, 1, 65535, "dstport")
        local = ip_or_none(self.local, "local")
        remote = ip_or_none(self.remote, "remote")
        group = ip_or_none(self.group, "group")
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
        remotes = _remotes(self.remotes)
        if remotes is not None and (remote is not None or group is not None):
            raise ValidationError("remotes and %s are mutually exclusive: give the peers every endpoint copies "
                                  "unknown and broadcast frames to (remotes), or the one default destination "
                                  "(%s)" % ("remote" if remote is not None else "group",
                                            "remote" if remote is not None else "group"))
        versions = {a.version for a in (local, remote, group) if a is not None}
        if len(versions) > 1:
            raise ValidationError("local, remote and group must all be IPv4 or all be IPv6")
        if remotes:
            families = {a.version for a in remotes}
            if len(families) > 1 or (versions and families != versions):
                raise ValidationError("remotes %s: every address must be IPv%d, as %s" % (
                    ", ".join(str(a) for a in remotes), next(iter(versions or families)),
                    "local %s is" % local if local is not None else "the first is"))
            if families == {6} and local is None:
                raise ValidationError("remotes %s are IPv6: give local, an IPv6 address of this host, so that the "
                                      "kernel makes the device for IPv6" % ", ".join(str(a) for a in remotes))
            versions = families
        # The kernel's largest vxlan MTU leaves room for the outer headers below IP's 65535 (vxlan_max_mtu).
        headroom = VXLAN_HEADROOM[6 if 6 in versions else 4]
        if self.mtu is not None and self.mtu > MTU_MAX - headroom:
            raise ValidationError("mtu %d is out of range for a vxlan device: the kernel keeps %d bytes for the %s outer "
                                  "headers below %d; use %d to %d" % (self.mtu, headroom, "IPv6" if headroom == 70
                                                                      else "IPv4", MTU_MAX, MTU_MIN, MTU_MAX - headroom))
        if self.dev is not None:
            validate_ifname(self.dev, "dev")
        for option, value in (("local", local), ("remote", remote), ("group", group)):
            object.__setattr__(self, option, None if value is None else str(value))
        if remotes is not None:
            object.__setattr__(self, "remotes", tuple(str(a) for a in remotes))


def _remotes(given) -> Optional[list]:
    """The remotes as addresses, sorted, each once; each a unicast address of a peer."""
    if given is None:
        return None
    if isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)):
        raise ValidationError("remotes must be a list of addresses, not %r" % (given,))
    found = set()
    for value in given:
        address = ip_or_none(value, "remotes")
        if address is None:
            raise ValidationError("remotes: an empty entry; give an address of a peer endpoint")
        if address.is_unspecified:
            raise ValidationError("remotes: %s is the unspecified address; give a peer's own address" % address)
        if address.is_multicast:
            raise ValidationError("remotes: %s is a multicast address; remotes are peers' unicast addresses (a "
                                  "multicast underlay is group, with dev)" % address)
        found.add(address)
    return sorted(found, key=_address_order)


def _address_order(address) -> tuple:
    """IPv4 before IPv6, then by value: how remotes are listed and changed."""
    address = ipaddress.ip_address(address)
    return (address.version, address)


# Bytes of outer headers a vxlan device leaves room for below its underlay's MTU.
VXLAN_HEADROOM = {4: 50, 6: 70}


@dataclass(frozen=True)
class CreateVxlan(LinkAction):
    vni: int
    local: Optional[str] = None
    remote: Optional[str] = None
    group: Optional[str] = None
    dstport: int = 4789
    dev: Optional[str] = None
    phase = PHASE_CREATE_LINK

    def creates(self):
        return ((self.netns, self.name),)

    def apply(self, kernel) -> None:
        values: Dict[str, object] = {"IFLA_VXLAN_ID": self.vni, "IFLA_VXLAN_PORT": self.dstport}
        six = any(":" in a for a in (self.local, self.remote, self.group) if a)
        if self.local:
            values["IFLA_VXLAN_LOCAL6" if six else "IFLA_VXLAN_LOCAL"] = self.local
        destination = self.remote or self.group
        if destination:
            values["IFLA_VXLAN_GROUP6" if six else "IFLA_VXLAN_GROUP"] = destination
        if self.dev is not None:
            values["IFLA_VXLAN_LINK"] = kernel.ifindex(self.netns, self.dev)
        kernel.new_link(self.netns, self.name, "vxlan", vxlan_data(values))

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EEXIST:
            return ("a device with that name, or another vxlan device in that namespace with the same vni, "
                    "dstport and address family, already exists")
        return None

    def describe(self) -> str:
        words = ["create vxlan %s in %s with vni %d" % (self.name, where(self.netns), self.vni)]
        for option in ("local", "remote", "group", "dstport", "dev"):
            value = getattr(self, option)
            if value is not None:
                words.append("%s %s" % (option, value))
        return ", ".join(words)


# The forwarding entry head-end replication is written as: frames with an unknown or broadcast destination.
ALL_ZEROS = "00:00:00:00:00:00"
# After the device exists, before its addresses (the entries need the device only).
PHASE_REMOTES = PHASE_ADDRESS - 1


class FdbEntry(NamedTuple):
    """One destination of a vxlan's all-zeros forwarding entry; port, vni and via (an underlay ifindex) are None
    when the kernel leaves them out, as it does for the device's own, which is what a remote is."""

    dst: str
    port: Optional[int] = None
    vni: Optional[int] = None
    via: Optional[int] = None

    @property
    def remote(self) -> bool:
        return self.port is None and self.vni is None and self.via is None

    def words(self) -> str:
        extra = [(key, getattr(self, key)) for key in ("port", "vni", "via") if getattr(self, key) is not None]
        return " ".join([self.dst] + ["%s %s" % pair for pair in extra])


@dataclass(frozen=True)
class ChangeRemote(LinkAction):
    """One destination added to the all-zeros entry (``add``: `bridge fdb append 00:00:00:00:00:00 dev DEV dst
    ADDR`) or removed from it (`bridge fdb del ...`); each puts the other back."""

    entry: FdbEntry = FdbEntry("")
    add: bool = True
    phase = PHASE_REMOTES

    def describe(self) -> str:
        return "%s remote %s %s %s in %s" % ("add" if self.add else "remove", self.entry.words(),
                                             "to" if self.add else "from", self.name, where(self.netns))

    def apply(self, kernel) -> None:
        change = kernel.fdb_append if self.add else kernel.fdb_delete
        change(self.netns, kernel.ifindex(self.netns, self.name), ALL_ZEROS, *self.entry)

    def undo(self, before):
        return (ChangeRemote(self.netns, self.name, self.entry, not self.add),)

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EAFNOSUPPORT:
            return "the address is not of the device's family (an IPv6 remote needs an IPv6 local)"
        return None


def fdb_of(space: Optional[NamespaceState], link: Link) -> Tuple[FdbEntry, ...]:
    """The destinations of a device's all-zeros entry, as read (NamespaceState.fdb) or planned."""
    fdb = space.fdb if space is not None else None
    return tuple(fdb.get(link.index, ())) if isinstance(fdb, dict) else ()


def remotes_of(space: Optional[NamespaceState], link: Link) -> list:
    """Its remotes: the plain destinations of its all-zeros entry but the default one (remote, group)."""
    info = link.info if isinstance(link.info, VxlanInfo) else VxlanInfo()
    default = {info.remote, info.group} - {None}
    found = {entry.dst for entry in fdb_of(space, link) if entry.remote and entry.dst not in default}
    return sorted(found, key=_address_order)


def _plan_remotes(p, result: ObjectResult, desired: Vxlan, link: Link) -> None:
    """Make the all-zeros entry's destinations the remotes: remove the others, append the missing."""
    if desired.remotes is None:
        return
    space = p.space(desired.netns)
    current = set(fdb_of(space, link))
    wanted = {FdbEntry(address) for address in desired.remotes}

    def order(entry: FdbEntry) -> tuple:
        return _address_order(entry.dst) + (entry,)

    for entry in sorted(current - wanted, key=order):
        result.actions.append(ChangeRemote(desired.netns, desired.name, entry, add=False))
    for entry in sorted(wanted - current, key=order):
        result.actions.append(ChangeRemote(desired.netns, desired.name, entry))
    if current != wanted:
        fdb = dict(space.fdb) if isinstance(space.fdb, dict) else {}
        fdb[link.index] = tuple(sorted(wanted, key=order))
        space.fdb = fdb


def _none_word(value) -> str:
    return "none" if value is None else str(value)


def _vxlan_mtu(desired: Vxlan, dev: Optional[Link]) -> int:
    """The MTU the kernel gives a new vxlan: its underlay's less the outer headers, else 1500."""
    if dev is None:
        return 1500
    addresses = [a for a in (desired.local, desired.remote, desired.group) if a]
    version = 6 if addresses and ":" in addresses[0] else 4
    return dev.mtu - VXLAN_HEADROOM[version]


def vxlan_view(desired: Vxlan, link: Optional[Link], space: Optional[NamespaceState]) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    info = link.info if isinstance(link.info, VxlanInfo) else VxlanInfo()
    dev = space.by_index(info.dev) if space is not None and info.dev else None
    return {
        "name": link.name,
        "netns": desired.netns,
        "state": "present",
        "vni": info.vni,
        "local": info.local,
        "remote": info.remote,
        "group": info.group,
        "dstport": info.dstport,
        "dev": dev.name if dev is not None else None,
        "remotes": remotes_of(space, link),
        **device_view(link, desired, space, port=True),
    }


def plan_vxlan(p, desired: Vxlan) -> ObjectResult:
    if desired.state == "absent":
        return _plan_vxlan_absent(p, desired)
    p.require_netns(desired.netns, "vxlan %s" % desired.name)
    netns = desired.netns
    space = p.space(netns)
    link = p.own_link(netns, desired.name, "vxlan", "vxlan")
    result = ObjectResult(desired.key, before=vxlan_view(desired, link, space), after={})
    dev = None
    if desired.dev is not None:
        dev = space.get(desired.dev)
        if dev is None and p.assume_missing:
            dev = p.assume(netns, desired.dev, Link(desired.dev, 0, None, 1500, True),
                           "dev '%s' of vxlan '%s'" % (desired.dev, desired.name))
        if dev is None:
            raise DeviceMissingError(
                "dev '%s' of vxlan '%s' does not exist in %s; the underlay interface must be in the vxlan's "
                "own namespace (nothing was changed)" % (desired.dev, desired.name, netns_label(netns)),
                netns=netns, name=desired.dev,
            )

    if link is not None:
        link = p.recreate_fixed(result, desired, netns, link, _vxlan_fixed_changes(desired, link, space, dev),
                                "vxlan", "a vxlan device", "traffic through it stops for a moment", word=_none_word)

    if link is None:
        if desired.vni is None:  # Vxlan.__post_init__ requires it with state=present
            raise ValidationError("vni is required when state is present")
        _check_vni_free(p, desired, dev)
        result.actions.append(CreateVxlan(netns, desired.name, desired.vni, desired.local, desired.remote,
                                          desired.group, desired.dstport, desired.dev))
        link = Link(desired.name, index=p.new_index(), kind="vxlan", mtu=_vxlan_mtu(desired, dev),
                    up=False, info=VxlanInfo(vni=desired.vni, local=desired.local, remote=desired.remote,
                                             group=desired.group, dstport=desired.dstport,
                                             dev=dev.index if dev is not None else None))
        space.links[link.name] = link
    _plan_remotes(p, result, desired, link)
    link = p.plan_master(result, desired, link)
    link = p.settle(result, netns, link, desired.addresses, desired)
    result.after = vxlan_view(desired, link, p.space(netns))
    return result


def _vxlan_fixed_changes(desired: Vxlan, link: Link, space: NamespaceState, dev: Optional[Link]):
    info = link.info if isinstance(link.info, VxlanInfo) else VxlanInfo()
    current_dev = space.by_index(info.dev)
    fixed = []
    for option in ("vni", "dstport"):
        if getattr(info, option) != getattr(desired, option):
            fixed.append((option, (getattr(info, option), getattr(desired, option))))
    if desired.local is not None and info.local != desired.local:
        fixed.append(("local", (info.local, desired.local)))
    # remote and group share one kernel attribute: the default destination.
    for option in ("remote", "group"):
        if getattr(info, option) != getattr(desired, option):
            fixed.append((option, (getattr(info, option), getattr(desired, option))))
    if dev is not None and info.dev != dev.index:
        fixed.append(("dev", (current_dev.name if current_dev is not None else None, dev.name)))
    return fixed


def _plan_vxlan_absent(p, desired: Vxlan) -> ObjectResult:
    return p.plan_link_absent(desired, "vxlan", "vxlan",
                              lambda link, space: vxlan_view(desired, link, space))


# What parse reads of IFLA_INFO_DATA and CreateVxlan sends (<linux/if_link.h>); the port is big-endian.
INFO_ATTRIBUTES = {"IFLA_VXLAN_ID": (1, "=I"), "IFLA_VXLAN_GROUP": (2, "ipv4"), "IFLA_VXLAN_LINK": (3, "=I"),
                   "IFLA_VXLAN_LOCAL": (4, "ipv4"), "IFLA_VXLAN_PORT": (15, ">H"), "IFLA_VXLAN_GROUP6": (16, "ipv6"),
                   "IFLA_VXLAN_LOCAL6": (17, "ipv6")}


def vxlan_data(values: Dict[str, object]) -> bytes:
    """{IFLA_VXLAN_* name: value} -> a vxlan's IFLA_INFO_DATA block, laid out as read."""
    return _nlwire.packed((INFO_ATTRIBUTES[name], value) for name, value in values.items())


def parse(_link: dict, data: Optional[dict]) -> VxlanInfo:
    if data is None:
        return VxlanInfo()

    def address(*nlas):
        for nla in nlas:
            value = data[nla]
            if value and value not in ("0.0.0.0", "::"):
                return str(ipaddress.ip_address(value))
        return None

    destination = address("IFLA_VXLAN_GROUP", "IFLA_VXLAN_GROUP6")
    multicast = destination is not None and ipaddress.ip_address(destination).is_multicast
    return VxlanInfo(
        vni=data["IFLA_VXLAN_ID"],
        local=address("IFLA_VXLAN_LOCAL", "IFLA_VXLAN_LOCAL6"),
        remote=None if multicast else destination,
        group=destination if multicast else None,
        dstport=data["IFLA_VXLAN_PORT"],
        dev=data["IFLA_VXLAN_LINK"] or None,
    )


_VNI_RULE = ("the kernel allows one vxlan device per vni, dstport and address family in a namespace, whatever "
             "their local, remote, group or dev")


def vni_key(vni, dstport, local, remote, group, dev) -> tuple:
    """What the kernel allows one vxlan device of in a namespace (vxlan_config_validate: EEXIST).

    Local, remote, group and dev do not tell two devices apart, only the
    address family does (and dev, for an IPv6 link-local local address).
    """
    six = any(address and ":" in address for address in (local, remote, group))
    linklocal = bool(six and local and ipaddress.ip_address(local).is_link_local)
    return (vni, dstport, 6 if six else 4, dev if linklocal else None)


def exclusive(desired: Vxlan):
    if desired.vni is None:
        return None
    key = vni_key(desired.vni, desired.dstport, desired.local, desired.remote, desired.group, desired.dev)
    return (("vxlan", desired.netns) + key, "vni %d with dstport %d (IPv%d)" % key[:3], _VNI_RULE)


def _check_vni_free(p, desired: Vxlan, dev: Optional[Link]) -> None:
    """A device of the namespace that already holds this vni and port: the kernel would refuse (EEXIST)."""
    space = p.space(desired.netns)
    wanted = vni_key(desired.vni, desired.dstport, desired.local, desired.remote, desired.group,
                     dev.index if dev is not None else None)
    for link in sorted(space.links.values(), key=lambda item: item.name):
        info = link.info
        if link.kind != "vxlan" or link.name == desired.name or not isinstance(info, VxlanInfo):
            continue
        if vni_key(info.vni, info.dstport, info.local, info.remote, info.group, info.dev) == wanted:
            raise ConflictError(
                "vxlan '%s' in %s: vni %s with dstport %d is already taken there by vxlan '%s'; %s: give another "
                "vni or dstport (nothing was changed)" % (desired.name, netns_label(desired.netns), desired.vni,
                                                          desired.dstport, link.name, _VNI_RULE),
                netns=desired.netns, name=link.name,
            )


def stands_on(desired: Vxlan) -> list:
    """Its underlay device and the bridge it joins: planned after the objects that make them."""
    return [(desired.netns, name) for name in (desired.dev, desired.master) if name]


def lower(link: Link) -> Optional[int]:
    """The underlay device a vxlan is pinned to (``dev``): the kernel deletes the vxlan with it."""
    return link.info.dev if isinstance(link.info, VxlanInfo) else None


# What VXLAN over IPv4 adds to a frame: the MTU the kernel gives a new device is its underlay's less this.
VXLAN_OVERHEAD = 50


def describe(reader, netns, link: Link) -> Optional[dict]:
    """lab_info: a VXLAN device; its MTU is said when it is not what the kernel derives from the underlay."""
    info: Any = link.info
    entry = reader.entry(netns, link)
    entry["vni"] = info.vni
    for option in ("local", "remote", "group"):
        if getattr(info, option):
            entry[option] = getattr(info, option)
    if info.dstport is not None:
        entry["dstport"] = info.dstport
    space = reader.world.spaces[netns]
    odd = [entry.words() for entry in fdb_of(space, link)
           if not entry.remote and entry.dst not in (info.remote, info.group)]
    if odd:
        reader.warn("vxlan '%s' in %s has destinations for unknown and broadcast frames with a port, vni or underlay "
                    "of their own (%s), which remotes does not describe; left out" % (
                        link.name, netns_label(netns), ", ".join(odd)))
    remotes = remotes_of(space, link)
    if remotes and not (info.remote or info.group):
        entry["remotes"] = remotes
    elif remotes:
        reader.warn("vxlan '%s' in %s has a default destination (%s) and more destinations for unknown and broadcast "
                    "frames (%s), which remotes does not describe beside it; left out" % (
                        link.name, netns_label(netns), info.remote or info.group, ", ".join(remotes)))
    dev = reader.world.spaces[netns].by_index(info.dev) if info.dev else None
    mtu_default = reader.DEFAULT_MTU - VXLAN_OVERHEAD
    if dev is not None:
        entry["dev"] = dev.name
        mtu_default = dev.mtu - VXLAN_OVERHEAD
    return reader.common(entry, link, mtu_default)


def read(kernel, netns: Optional[str], items) -> Dict[str, object]:
    """The destinations of vxlan devices' all-zeros forwarding entries (NamespaceState.fdb, {ifindex: entries}):
    of the named devices that exist, one small dump each, or (``fdb``, lab_info) of every device, one dump."""
    if "fdb" in items:
        found = kernel.fdb_entries(netns)
    else:
        found = []
        for name in sorted(items):
            try:
                index = kernel.ifindex(netns, name)
            except KernelError:
                continue  # not made yet
            found += kernel.fdb_entries(netns, index)
    fdb: Dict[int, tuple] = {}
    for record in found:
        if record["self"] and record["lladdr"] == ALL_ZEROS and record["dst"]:
            entry = FdbEntry(str(ipaddress.ip_address(record["dst"])), record["port"], record["vni"], record["via"])
            fdb[record["index"]] = fdb.get(record["index"], ()) + (entry,)
    return {"fdb": fdb}


def reads(desired: Vxlan) -> list:
    return [(desired.netns, desired.name)] if desired.state == "present" else []


KIND = Kind(
    name="vxlan", desired=Vxlan, plan=plan_vxlan, options=OPTIONS, returns=RETURNS,
    section_skip=("state", "recreate"), section_required=("vni",), link_kind="vxlan", parse=parse,
    info_attributes=INFO_ATTRIBUTES,
    snapshot=("id", "local", "remote", "group", "port", "link"), section_noun="VXLAN devices", lower=lower,
    stands_on=stands_on, exclusive=exclusive,
    describe=describe, reads=reads, read=read, describe_reads=("fdb",),
)
