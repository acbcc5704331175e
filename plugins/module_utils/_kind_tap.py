# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``tap``: a persistent tun/tap device (the kernel reports it as kind ``tun``)."""

from __future__ import annotations

import errno
import fcntl
import grp
import os
import platform
import pwd
import struct
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_CREATE_LINK, PHASE_SET_LINK, LinkAction, _before_link, describe_options, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    Link,
    NamespaceState,
    PortDevice,
    check_bool,
    check_int,
    control_character,
    netns_label,
)
from ansible_collections.netvirt.linux.plugins.module_utils._options import ADDRESSES, DEVICE_RETURNS, IFNAME, MASTER, MTU, NETNS, RECREATE, STATE, UP, VALUE
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, device_view


def _flag(whether: str, change: str) -> dict:
    """A flag of the device: omitted, C(ip tuntap)'s default (off) for a new device and left alone otherwise."""
    return dict(type="bool", description=[
        "Whether %s." % whether,
        "Omitted, a new device gets C(ip tuntap)'s default (off) and an existing one is left alone.",
        change,
    ])


OPTIONS = dict(
    name=IFNAME("the device"),
    netns=NETNS("the device"),
    state=STATE("the device"),
    mode=dict(type="str", choices=["tap", "tun"], default="tap", description=[
        "V(tap) for an Ethernet device (frames, can join a bridge), V(tun) for an IP point-to-point device (packets).",
        "Fixed at creation; see O(recreate).",
    ]),
    owner=dict(type="str", description=[
        "User, by name or numeric id (0 to 4294967294), allowed to attach to the device without privileges.",
        "A name that is not a user on the managed host is an error.",
        "Omit it to leave the owner alone (a new device has none, so only privileged programs may attach)."
        " An owner cannot be removed from a live device; recreate it for that.",
    ]),
    group=dict(type="str", description=[
        "Group, by name or numeric id (0 to 4294967294), whose members may attach to the device without privileges.",
        "A name that is not a group on the managed host is an error.",
        "Omit it to leave the group alone (a new device has none).",
    ]),
    multi_queue=_flag("the device has multiple queues (one file descriptor per queue, for multi-queue virtio-net)",
                      "Fixed at creation; see O(recreate)."),
    pi=_flag("each frame read or written carries the 4-byte packet-information header",
             "Changed in place only while no program has the device open (a program sets its own flags when it attaches)."),
    vnet_hdr=_flag("frames carry a virtio-net header (used by QEMU/KVM for offloads)",
                   "Changed in place only while no program has the device open."),
    recreate=RECREATE("O(mode) or O(multi_queue) differ", "A program attached to the old device loses it."),
    addresses=ADDRESSES("the device", "C(192.168.1.2/24), C(fd00::1/64)"),
    mtu=MTU("the device"),
    master=MASTER("Only O(mode=tap) devices can join a bridge."),
    up=UP("the device", "It shows C(NO-CARRIER) until a program opens it."),
)


RETURNS = DEVICE_RETURNS("tap", [
    "create tap tap0 in host (owner 107)", "attach tap0 to bridge br0 in host", "set tap0 up in host",
], dict(
    mode=VALUE("str", "V(tap) or V(tun).", "tap"),
    owner=VALUE("int", "Numeric id of the owning user; null when none.", 107),
    group=VALUE("int", "Numeric id of the owning group; null when none.", None),
    multi_queue=VALUE("bool", "Whether the device is multi-queue.", False),
    pi=VALUE("bool", "Whether frames carry the packet-information header.", False),
    vnet_hdr=VALUE("bool", "Whether frames carry a virtio-net header.", False),
), name="tap0", master="br0")


TAP_MODES = ("tap", "tun")


@dataclass(frozen=True)
class Tap(PortDevice):
    """A persistent tun/tap device. ``None`` flags mean: ip tuntap's default at creation, left alone after."""

    mode: str = "tap"
    owner: Optional[int] = None
    group: Optional[int] = None
    multi_queue: Optional[bool] = None
    pi: Optional[bool] = None
    vnet_hdr: Optional[bool] = None
    recreate: bool = False

    kind = "tap"

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in TAP_MODES:
            raise ValidationError("mode must be 'tap' or 'tun', not %r" % (self.mode,))
        check_int(self.owner, 0, 2 ** 32 - 2, "owner")
        check_int(self.group, 0, 2 ** 32 - 2, "group")
        for flag in ("multi_queue", "pi", "vnet_hdr"):
            check_bool(getattr(self, flag), flag)
        if self.master and self.mode == "tun":
            raise ValidationError(
                "a device in mode tun carries IP packets, not Ethernet frames, and cannot join bridge '%s'; "
                "use mode tap" % self.master)

    def creation_flags(self) -> Dict[str, bool]:
        """The flags a new device gets: the ones asked for, else ip tuntap's defaults (all off)."""
        return {flag: bool(getattr(self, flag)) for flag in ("multi_queue", "pi", "vnet_hdr")}


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


@dataclass(frozen=True)
class _TunAction(LinkAction):
    """Creating and changing a tun/tap device are one ioctl sequence (TUNSETIFF, owner, group, persist)."""

    mode: str = "tap"
    owner: Optional[int] = None
    group: Optional[int] = None
    multi_queue: bool = False
    pi: bool = False
    vnet_hdr: bool = False

    def apply(self, kernel) -> None:
        tun_configure(kernel, self.netns, self.name, self.mode, self.multi_queue, self.pi, self.vnet_hdr,
                      self.owner, self.group)

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EBUSY:
            return ("a program (a VM, a VPN) has the device open; packet info, vnet_hdr, owner and group can only "
                    "be changed while nothing is attached: stop the program and run the task again")
        if code == errno.EINVAL:
            return ("the kernel refused the tun/tap flags: the name is held by another kind of device, or the "
                    "device's mode or multi_queue differ")
        return None


@dataclass(frozen=True)
class CreateTap(_TunAction):
    phase = PHASE_CREATE_LINK

    def describe(self) -> str:
        extra = ["%s %s" % (k, v) for k, v in (("owner", self.owner), ("group", self.group)) if v is not None]
        extra += [flag for flag in ("multi_queue", "pi", "vnet_hdr") if getattr(self, flag)]
        return "create %s %s in %s%s" % (self.mode, self.name, where(self.netns),
                                         " (%s)" % ", ".join(extra) if extra else "")

    def creates(self):
        return ((self.netns, self.name),)


@dataclass(frozen=True)
class SetTunParams(_TunAction):
    """Change what a live tun/tap device allows changing: packet info, vnet_hdr, owner, group."""

    # (The device's fixed flags, mode and multi_queue, are given too: TUNSETIFF must match them.)
    # What changes, for the description.
    changes: Tuple[Tuple[str, object], ...] = ()
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "set %s on %s %s in %s" % (describe_options(self.changes), self.mode, self.name, where(self.netns))

    def undo(self, before):
        """The flags, owner and group read before the run; None when an owner or group was unset then (the
        kernel takes no unset one: TUNSETOWNER and TUNSETGROUP refuse an invalid id)."""
        link = _before_link(before, self.netns, self.name)
        info = link.info if link is not None else None
        if not isinstance(info, TunInfo):
            return None
        old = {option: getattr(info, option) for option, _value in self.changes}
        if any(old.get(option, 0) is None for option in ("owner", "group")):
            return None
        return (SetTunParams(self.netns, self.name, mode=info.mode, owner=old.get("owner"), group=old.get("group"),
                             multi_queue=info.multi_queue, pi=info.pi, vnet_hdr=info.vnet_hdr,
                             changes=tuple((option, old[option]) for option, _value in self.changes)),)


def tap_view(desired: Tap, link: Optional[Link], netns, space: Optional[NamespaceState]) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    info = link.info if isinstance(link.info, TunInfo) else TunInfo()
    return {
        "name": link.name,
        "netns": netns,
        "state": "present",
        "mode": info.mode,
        "owner": info.owner,
        "group": info.group,
        "multi_queue": info.multi_queue,
        "pi": info.pi,
        "vnet_hdr": info.vnet_hdr,
        **device_view(link, desired, space, port=True),
    }


def plan_tap(p, desired: Tap) -> ObjectResult:
    if desired.state == "absent":
        return _plan_tap_absent(p, desired)
    p.require_netns(desired.netns, "tap %s" % desired.name)
    found_ns, link = _find_tap(p, desired)
    result = ObjectResult(desired.key, before=tap_view(desired, link, found_ns, p.space(found_ns)), after={})

    if link is not None:
        link = p.recreate_fixed(result, desired, found_ns, link, _tap_fixed_changes(desired, link),
                                link.info.mode if link.info else "tun/tap", "a tun/tap device",
                                "a program attached to it loses it")

    netns = desired.netns
    if link is None:
        flags = desired.creation_flags()
        result.actions.append(CreateTap(netns, desired.name, desired.mode, desired.owner, desired.group,
                                        **flags))
        link = Link(desired.name, index=p.new_index(), kind="tun", mtu=1500, up=False,
                    info=TunInfo(mode=desired.mode, owner=desired.owner, group=desired.group, **flags))
        p.space(netns).links[link.name] = link
    else:
        if found_ns != netns:
            if link.info is not None and link.info.attached:
                raise ConflictError(
                    "tap '%s' in %s is open in a program (a VM, a VPN); moving it to %s would pull it from under "
                    "that program: stop the program and run the task again (nothing was changed)"
                    % (desired.name, netns_label(found_ns), netns_label(netns)), netns=found_ns, name=desired.name)
            link = p.move(result, found_ns, link, netns)
            # Leaving a namespace also means leaving its bridge.
            link = replace(link, master=None, port=None)
            p.space(netns).links[link.name] = link
        link = _plan_tun_params(p, result, desired, link)
    link = p.plan_master(result, desired, link)
    link = p.settle(result, netns, link, desired.addresses, desired)
    result.after = tap_view(desired, link, netns, p.space(netns))
    return result


def _find_tap(p, desired: Tap):
    """(netns, link) of the device named as desired: in its namespace, else a tun/tap in the host to move."""
    link = p.own_link(desired.netns, desired.name, "tun", "tun/tap")
    if link is not None:
        return desired.netns, link
    if desired.netns is not HOST:
        stray = p.space(HOST).get(desired.name)
        if stray is not None and stray.kind == "tun":
            return HOST, stray
    return None, None


def _tap_fixed_changes(desired: Tap, link: Link):
    info = link.info if isinstance(link.info, TunInfo) else TunInfo()
    fixed: List[Tuple[str, Tuple[object, object]]] = []
    if info.mode != desired.mode:
        fixed.append(("mode", (info.mode, desired.mode)))
    if desired.multi_queue is not None and info.multi_queue != desired.multi_queue:
        fixed.append(("multi_queue", (info.multi_queue, desired.multi_queue)))
    return fixed


def _plan_tun_params(p, result: ObjectResult, desired: Tap, link: Link) -> Link:
    info = link.info if isinstance(link.info, TunInfo) else TunInfo()
    wanted: Dict[str, Any] = {"pi": desired.pi, "vnet_hdr": desired.vnet_hdr, "owner": desired.owner, "group": desired.group}
    changes = {k: v for k, v in wanted.items() if v is not None and getattr(info, k) != v}
    if not changes:
        return link
    if info.attached:
        # Changing them means attaching too: refused (EBUSY) while a
        # single-queue device is open, and under a running program's feet
        # for a multi-queue one.
        raise ConflictError(
            "%s '%s' in %s: a program (a VM, a VPN) has the device open, so %s cannot be changed now; "
            "stop the program and run the task again (nothing was changed)"
            % (info.mode, link.name, netns_label(desired.netns), " and ".join(sorted(changes))),
            netns=desired.netns, name=link.name,
        )
    new = replace(info, **changes)
    result.actions.append(SetTunParams(
        desired.netns, link.name, mode=new.mode, multi_queue=new.multi_queue, pi=new.pi,
        vnet_hdr=new.vnet_hdr, owner=changes.get("owner"), group=changes.get("group"),
        changes=tuple((k, changes[k]) for k in ("pi", "vnet_hdr", "owner", "group") if k in changes)))
    link = replace(link, info=new)
    p.space(desired.netns).links[link.name] = link
    return link


def _plan_tap_absent(p, desired: Tap) -> ObjectResult:
    return p.plan_link_absent(
        desired, "tun", "tun/tap",
        lambda link, space: tap_view(desired, link, desired.netns if link is not None else None, space))


def tun_configure(kernel, netns, name, mode, multi_queue, pi, vnet_hdr, owner, group) -> None:
    """Create or re-attach a tun/tap device by ioctl, set owner/group, and make it persistent.

    Attaching to an existing device sets its packet-info and vnet_hdr
    flags; its type and multi_queue must match, which the planner ensures.
    """
    flags = IFF_TAP if mode == "tap" else IFF_TUN
    if not pi:
        flags |= IFF_NO_PI
    if vnet_hdr:
        flags |= IFF_VNET_HDR
    if multi_queue:
        flags |= IFF_MULTI_QUEUE
    ioctls = tun_ioctls()
    fd = _tun_open(kernel, netns)
    try:
        # struct ifreq: the name, then the flags, padded to 40 bytes.
        fcntl.ioctl(fd, ioctls["TUNSETIFF"], struct.pack("16sH22x", name.encode("utf-8"), flags))
        if owner is not None:
            fcntl.ioctl(fd, ioctls["TUNSETOWNER"], ioctl_id(owner))
        if group is not None:
            fcntl.ioctl(fd, ioctls["TUNSETGROUP"], ioctl_id(group))
        fcntl.ioctl(fd, ioctls["TUNSETPERSIST"], 1)
    finally:
        os.close(fd)
    kernel.forget(netns, name)


def ioctl_id(value: int) -> int:
    """A uid or gid (0 to 2**32 - 2) as fcntl.ioctl's C int argument: the same 32 bits, read as signed.

    fcntl.ioctl takes a C int (4294967294 overflows it); the kernel reads the argument as an unsigned long and
    keeps its low 32 bits as a uid_t (TUNSETOWNER: make_kuid(ns, arg)), so 4294967294 arrives as itself.
    """
    return struct.unpack("=i", struct.pack("=I", value))[0]


def _tun_open(kernel, netns) -> int:
    """/dev/net/tun opened from inside ``netns``: TUNSETIFF works in the opener's namespace."""
    with kernel.inside(netns):
        return os.open(TUN_DEVICE, os.O_RDWR)


TUN_DEVICE = "/dev/net/tun"
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_TYPES = {1: "tun", 2: "tap"}
# TUNSETIFF, TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP (<linux/if_tun.h>: _IOW('T', 202..206, int)) as this
# machine numbers them: the direction bits differ on powerpc and mips (the machines known here).
_TUN_IOCTLS = dict(
    [(machine, (0x400454CA, 0x400454CB, 0x400454CC, 0x400454CE)) for machine in (
        "i386", "i686", "x86_64", "armv6l", "armv7l", "s390x", "aarch64", "loongarch64")]
    + [(machine, (0x800454CA, 0x800454CB, 0x800454CC, 0x800454CE)) for machine in ("ppc64", "mips")])


def tun_ioctls(machine: Optional[str] = None) -> Dict[str, int]:
    """The tun/tap ioctl numbers of this machine (``machine``: platform.machine()'s name for another)."""
    numbers = _TUN_IOCTLS.get(platform.machine() if machine is None else machine)
    if numbers is None:
        raise OSError(errno.EOPNOTSUPP, "tun/tap ioctls unknown for this architecture")
    return dict(zip(("TUNSETIFF", "TUNSETPERSIST", "TUNSETOWNER", "TUNSETGROUP"), numbers))


# What parse reads (<linux/if_link.h>, <linux/if_tun.h>), for the reader's own decoder.
INFO_ATTRIBUTES = {"IFLA_TUN_OWNER": (1, "=I"), "IFLA_TUN_GROUP": (2, "=I"), "IFLA_TUN_TYPE": (3, "=B"),
                   "IFLA_TUN_PI": (4, "=B"), "IFLA_TUN_VNET_HDR": (5, "=B"), "IFLA_TUN_PERSIST": (6, "=B"),
                   "IFLA_TUN_MULTI_QUEUE": (7, "=B")}
LINK_ATTRIBUTES = {"IFLA_CARRIER": (33, "=B")}


def parse(link: dict, data: Optional[dict]) -> TunInfo:
    if data is None:
        return TunInfo()
    return TunInfo(
        mode=TUN_TYPES.get(data["IFLA_TUN_TYPE"], "tap"),
        # The kernel leaves owner and group out when they are unset.
        owner=data["IFLA_TUN_OWNER"],
        group=data["IFLA_TUN_GROUP"],
        pi=bool(data["IFLA_TUN_PI"]),
        vnet_hdr=bool(data["IFLA_TUN_VNET_HDR"]),
        multi_queue=bool(data["IFLA_TUN_MULTI_QUEUE"]),
        persist=bool(data["IFLA_TUN_PERSIST"]),
        # A tun/tap device has carrier exactly while a program has it open.
        attached=bool(link["IFLA_CARRIER"]),
    )


def resolve_id(value, option: str):
    """A user or group name or numeric id -> the numeric id, looked up on this host."""
    if value is None:
        return None
    value = value.strip()
    # ASCII digits only: str.isdigit() also takes '²' (int() fails) and '١' (Arabic-Indic one).
    if value.isascii() and value.isdigit():
        return int(value)
    if not value or control_character(value) is not None or "\0" in value:
        raise ValidationError("%s %r is not a user or group name or a numeric id" % (option, value),
                              **{option: value})
    database, what, command = (pwd.getpwnam, "user", "getent passwd") if option == "owner" else (
        grp.getgrnam, "group", "getent group")
    try:
        entry = database(value)
    except KeyError:
        raise ValidationError(
            "%s '%s' is not a %s on this host (%s %s finds nothing); create it first or give a numeric id"
            % (option, value, what, command, value), **{option: value}) from None
    return entry.pw_uid if isinstance(entry, pwd.struct_passwd) else entry.gr_gid


def from_params(params: dict) -> Tap:
    """Owner and group may be names: looked up on this host."""
    params = {key: value for key, value in params.items() if value is not None}
    for option in ("owner", "group"):
        if option in params:
            params[option] = resolve_id(str(params[option]), option)
    return Tap(**{key: value for key, value in params.items() if key in Tap.__dataclass_fields__})


def describe(reader, netns, link: Link) -> Optional[dict]:
    """lab_info: a persistent tun/tap device (one a program holds goes with the program)."""
    info: Any = link.info
    if info is None or not info.persist:
        reader.skip(netns, link, "a tun/tap device a program holds (not persistent): it goes with the program")
        return None
    entry = reader.entry(netns, link)
    entry["mode"] = info.mode
    if info.owner is not None:
        entry["owner"] = str(info.owner)
    if info.group is not None:
        entry["group"] = str(info.group)
    for flag in ("multi_queue", "pi", "vnet_hdr"):
        entry[flag] = bool(getattr(info, flag))
    return reader.common(entry, link, reader.DEFAULT_MTU)


KIND = Kind(
    name="tap", desired=Tap, plan=plan_tap, options=OPTIONS, returns=RETURNS, section_skip=("state", "recreate"),
    link_kind="tun", parse=parse, info_attributes=INFO_ATTRIBUTES, link_attributes=LINK_ATTRIBUTES,
    from_params=from_params, section_noun="tun/tap devices",
    snapshot=("type", "pi", "vnet_hdr", "multi_queue", "persist", "user", "group"),
    describe=describe,
)
