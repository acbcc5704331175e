# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``macvlan``: a device with its own MAC address on a parent link, in the parent's namespace.

The kernel looks the parent up in the namespace the request is sent in, so a
macvlan is made (and kept) beside its parent. Its parent is fixed at creation;
its mode changes in place, except to or from passthru.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, replace
from typing import Any, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _nlwire
from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_CREATE_UPPER, PHASE_MOVE_LINK, PHASE_SET_LINK, LinkAction, _before_link, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    HOST,
    Device,
    Link,
    NamespaceState,
    check_bool,
    netns_label,
    validate_ifname,
)
from ansible_collections.netvirt.linux.plugins.module_utils._options import ADDRESSES, DEVICE_RETURNS, IFNAME, NETNS, STATE, UP, VALUE
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, device_view, master_name

MODES = ("bridge", "private", "vepa", "passthru")
# IFLA_MACVLAN_MODE as the kernel numbers it (a decoder may give the names themselves).
MODE_NAMES = {1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source"}
MODE_NUMBERS = {name: number for number, name in MODE_NAMES.items()}
# What parse reads (<linux/if_link.h>): of IFLA_INFO_DATA, and of the message itself.
INFO_ATTRIBUTES = {"IFLA_MACVLAN_MODE": (1, "=I")}
LINK_ATTRIBUTES = {"IFLA_LINK": (5, "=I"), "IFLA_LINK_NETNSID": (37, "=i")}


def macvlan_data(mode: str) -> bytes:
    """A macvlan's IFLA_INFO_DATA block: its mode."""
    return _nlwire.packed([(INFO_ATTRIBUTES["IFLA_MACVLAN_MODE"], MODE_NUMBERS[mode])])


OPTIONS = dict(
    name=IFNAME("the macvlan device"),
    netns=NETNS("the macvlan and its parent O(link)"),
    state=STATE("the device", "The kernel also deletes a macvlan whenever its parent is deleted."),
    link=dict(type="str", description=[
        "The parent, the Ethernet interface the macvlan is made on (a veth end, a tap, a physical NIC), in the "
        "same namespace O(netns). Required when O(state=present).",
        "It must not be a bridge or bond port (the kernel refuses those), nor a macvlan itself.",
        "Fixed at creation; see O(recreate).",
    ]),
    mode=dict(type="str", choices=list(MODES), default="bridge", description=[
        "How macvlans of one parent reach each other. V(bridge) switches frames between them directly;"
        " V(private) isolates them from each other; V(vepa) sends every frame out of the parent, so they"
        " reach each other only through a switch that reflects frames (hairpin); V(passthru) gives the one"
        " macvlan the parent itself (no other macvlan on that parent).",
        "Changed in place, except to or from V(passthru), which the kernel fixes at creation; see O(recreate).",
    ]),
    recreate=dict(type="bool", default=False, description=[
        "When the parent O(link) differs from the existing device's, or O(mode) must change to or from"
        " V(passthru), delete the device and create it again as described (it gets a new MAC address;"
        " addresses, MTU and up/down from the task are then applied to the new device).",
        "V(false) makes such a difference an error that changes nothing.",
    ]),
    addresses=ADDRESSES("the macvlan"),
    mtu=dict(type="int", description=[
        "MTU of the macvlan, at most its parent's. Omit it to leave the MTU alone (a new macvlan gets its"
        " parent's).",
    ]),
    up=UP("the device", "Traffic also needs the parent up."),
)


RETURNS = DEVICE_RETURNS("macvlan", [
    "create macvlan mv0 in n1 on up0, mode bridge", "add address 10.60.0.1/24 to mv0 in n1", "set mv0 up in n1",
], dict(
    link=VALUE("str", "Name of the parent; null when the kernel reports it in another namespace.", "up0"),
    mode=VALUE("str", "The macvlan mode.", "bridge"),
), name="mv0", netns="n1", addresses=["10.60.0.1/24"], where="the device and of its parent")


@dataclass(frozen=True)
class MacvlanInfo:
    """A macvlan device as the kernel reports it; ``parent`` is an ifindex, in this namespace unless
    ``parent_elsewhere`` (the device was moved away from its parent)."""

    mode: Optional[str] = None
    parent: Optional[int] = None
    parent_elsewhere: bool = False


@dataclass(frozen=True)
class Macvlan(Device):
    """A macvlan device ``name`` on parent ``link``, both in ``netns``."""

    link: Optional[str] = None
    mode: str = "bridge"
    recreate: bool = False

    kind = "macvlan"

    def __post_init__(self):
        super().__post_init__()
        check_bool(self.recreate, "recreate")
        if self.state == "present" and self.link is None:
            raise ValidationError("link (the parent interface) is required when state is present")
        if self.link is not None:
            validate_ifname(self.link, "link")
            if self.link == self.name:
                raise ValidationError("macvlan '%s' cannot be its own parent (link)" % self.name)
        if self.mode == "source":
            raise ValidationError("mode source is not offered: it needs the list of allowed source MAC "
                                  "addresses, which this module does not manage; use one of %s" % ", ".join(MODES))
        if self.mode not in MODES:
            raise ValidationError("mode %r is not one of %s" % (self.mode, ", ".join(MODES)))


@dataclass(frozen=True)
class CreateMacvlan(LinkAction):
    parent: str
    mode: str
    # After the parent is created (PHASE_CREATE_LINK).
    phase = PHASE_CREATE_UPPER

    def creates(self):
        return ((self.netns, self.name),)

    def apply(self, kernel) -> None:
        # Sent in the macvlan's own namespace: the kernel finds the parent there.
        kernel.new_link(self.netns, self.name, "macvlan", macvlan_data(self.mode),
                        parent=kernel.ifindex(self.netns, self.parent))

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EBUSY:
            return ("the parent is taken: it is a port of a bridge or bond, or carries another kind of upper "
                    "device (ipvlan); choose another parent")
        if code == errno.EINVAL:
            return ("the kernel refused this parent: a macvlan needs an Ethernet parent, and a passthru "
                    "macvlan needs a parent with no other macvlan (none can be added beside one), also in "
                    "other namespaces")
        if code == errno.EEXIST:
            return "a device with that name already exists"
        if code == errno.EOPNOTSUPP:
            return "this kernel has no macvlan support (CONFIG_MACVLAN, module macvlan)"
        return None

    def describe(self) -> str:
        return "create macvlan %s in %s on %s, mode %s" % (self.name, where(self.netns), self.parent, self.mode)


@dataclass(frozen=True)
class SetMacvlanMode(LinkAction):
    mode: str
    phase = PHASE_SET_LINK

    def apply(self, kernel) -> None:
        self.set_kind_data(kernel, "macvlan", macvlan_data(self.mode))

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EINVAL:
            return "the kernel changes a macvlan's mode to or from passthru only by creating it again (recreate)"
        return None

    def describe(self) -> str:
        return "set macvlan mode %s on %s in %s" % (self.mode, self.name, where(self.netns))

    def undo(self, before):
        """The mode read before the run (the planner never changes one to or from passthru in place)."""
        link = _before_link(before, self.netns, self.name)
        info = link.info if link is not None else None
        if not isinstance(info, MacvlanInfo) or info.mode is None:
            return None
        return (SetMacvlanMode(self.netns, self.name, info.mode),)


def _parent_name(space: Optional[NamespaceState], info: MacvlanInfo) -> Optional[str]:
    if space is None or info.parent_elsewhere:
        return None
    parent = space.by_index(info.parent)
    return parent.name if parent is not None else None


def macvlan_view(desired: Macvlan, link: Optional[Link], space: Optional[NamespaceState]) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    info = (link.info if isinstance(link.info, MacvlanInfo) else MacvlanInfo())
    return {
        "name": link.name,
        "netns": desired.netns,
        "state": "present",
        "link": _parent_name(space, info),
        "mode": info.mode,
        **device_view(link, desired),
    }


def _what(desired: Macvlan) -> str:
    return "link '%s' of macvlan '%s'" % (desired.link, desired.name)


def _find_parent(p, desired: Macvlan) -> Tuple[Link, bool]:
    """The parent as projected, and whether check mode only assumed it."""
    netns = desired.netns
    if desired.link is None:  # __post_init__ requires it with state=present
        raise ValidationError("link is required when state is present")
    parent = p.space(netns).get(desired.link)
    if parent is not None:
        return parent, False
    if p.assume_missing:
        # An earlier task of the playbook makes it (or moves it here).
        return p.assume(netns, desired.link, Link(desired.link, 0, None, 1500, True), _what(desired)), True
    elsewhere = sorted((ns for ns, space in p.spaces.items() if ns != netns and space.get(desired.link) is not None),
                       key=lambda ns: "" if ns is HOST else ns)
    if elsewhere:
        raise DeviceMissingError(
            "%s is in %s, not in %s; a macvlan is made in its parent's namespace: give that namespace as netns, "
            "or move '%s' into %s first (nothing was changed)"
            % (_what(desired), netns_label(elsewhere[0]), netns_label(netns), desired.link, netns_label(netns)),
            netns=netns, name=desired.link,
        )
    raise DeviceMissingError(
        "%s does not exist in %s; the parent must be in the macvlan's own namespace: create it there first "
        "(for example with netvirt.linux.veth) (nothing was changed)" % (_what(desired), netns_label(netns)),
        netns=netns, name=desired.link,
    )


def _check_parent(p, desired: Macvlan, parent: Link) -> None:
    """What the kernel would refuse of a parent, said before anything is touched."""
    netns = desired.netns
    space = p.space(netns)
    if parent.kind == "macvlan":
        root = _parent_name(space, parent.info if isinstance(parent.info, MacvlanInfo) else MacvlanInfo())
        raise ConflictError(
            "%s in %s is itself a macvlan; the kernel would make '%s' on %s's own parent%s instead: give that "
            "as link (nothing was changed)"
            % (_what(desired), netns_label(netns), desired.name, desired.link, " '%s'" % root if root else ""),
            netns=netns, name=desired.link,
        )
    if parent.link_type is not None and parent.link_type != ARPHRD_ETHER:
        what = "a loopback device" if parent.link_type == ARPHRD_LOOPBACK else "not Ethernet (hardware type %d)" % (
            parent.link_type)
        raise ConflictError(
            "%s in %s is %s; a macvlan needs an Ethernet parent (nothing was changed)"
            % (_what(desired), netns_label(netns), what),
            netns=netns, name=desired.link,
        )
    if desired.mtu is not None and desired.mtu > parent.mtu:
        raise ConflictError(
            "mtu %d of macvlan '%s' is larger than the MTU %d of its parent '%s'; the kernel allows at most "
            "the parent's (nothing was changed)" % (desired.mtu, desired.name, parent.mtu, desired.link),
            netns=netns, name=desired.name,
        )


def _check_new_parent(p, desired: Macvlan, parent: Link) -> None:
    """What the kernel would refuse when the macvlan is created on ``parent``."""
    netns = desired.netns
    space = p.space(netns)
    master = master_name(space, parent) if parent.master is not None else None
    if parent.master is not None:
        raise ConflictError(
            "%s in %s is a port of '%s'; a bridge or bond port hands its frames to its master, so the kernel "
            "refuses it as a macvlan's parent: choose another parent, or take it off '%s' first (nothing was "
            "changed)" % (_what(desired), netns_label(netns), master or "a master", master or "its master"),
            netns=netns, name=desired.link,
        )
    siblings = sorted((link for link in space.links.values() if link.kind == "macvlan" and link.name != desired.name
                       and isinstance(link.info, MacvlanInfo) and not link.info.parent_elsewhere
                       and link.info.parent == parent.index), key=lambda link: link.name)
    if desired.mode == "passthru" and siblings:
        raise ConflictError(
            "%s in %s already carries macvlan %s; passthru mode takes the parent for one macvlan alone "
            "(nothing was changed)" % (_what(desired), netns_label(netns), ", ".join(s.name for s in siblings)),
            netns=netns, name=desired.link,
        )
    passthru = [s.name for s in siblings if s.info.mode == "passthru"]
    if passthru:
        raise ConflictError(
            "%s in %s carries macvlan '%s' in passthru mode, which takes the parent for itself alone (nothing "
            "was changed)" % (_what(desired), netns_label(netns), passthru[0]),
            netns=netns, name=desired.link,
        )
    read = p.world.space(netns).get(parent.name)
    # A real ifindex the namespace did not hold when read: the parent is moved in by this plan.
    moved_in = parent.index > 0 and (read is None or read.index != parent.index)
    if moved_in and CreateMacvlan.phase < PHASE_MOVE_LINK:
        # Links are moved (PHASE_MOVE_LINK) after macvlans are created: the parent would not be there yet.
        raise ConflictError(
            "%s is moved into %s by this same task, after macvlans are created; move it with a task of its own "
            "first (nothing was changed)" % (_what(desired), netns_label(netns)),
            netns=netns, name=desired.link,
        )


def _fixed_changes(desired: Macvlan, link: Link, space: NamespaceState, parent: Link):
    """(option, (current, wanted)) for what only creating the device again can change."""
    info = link.info if isinstance(link.info, MacvlanInfo) else MacvlanInfo()
    fixed = []
    if info.parent_elsewhere or info.parent != parent.index:
        current = "in another namespace" if info.parent_elsewhere else (_parent_name(space, info) or "none")
        fixed.append(("link", (current, desired.link)))
    if (info.mode == "passthru") != (desired.mode == "passthru"):
        fixed.append(("mode", (info.mode or "none", desired.mode)))
    return fixed


def plan_macvlan(p, desired: Macvlan) -> ObjectResult:
    if desired.state == "absent":
        return p.plan_link_absent(desired, "macvlan", "macvlan", lambda link, space: macvlan_view(desired, link, space))
    netns = desired.netns
    p.require_netns(netns, "macvlan %s" % desired.name)
    space = p.space(netns)
    link = p.own_link(netns, desired.name, "macvlan", "macvlan")
    result = ObjectResult(desired.key, before=macvlan_view(desired, link, space), after={})
    parent, assumed = _find_parent(p, desired)
    if not assumed:
        _check_parent(p, desired, parent)

    if link is not None:
        link = p.recreate_fixed(result, desired, netns, link, _fixed_changes(desired, link, space, parent),
                                "macvlan", "a macvlan", "traffic through it stops for a moment and it gets a new MAC address")

    if link is None:
        if not assumed:
            _check_new_parent(p, desired, parent)
        result.actions.append(CreateMacvlan(netns, desired.name, str(desired.link), desired.mode))
        # The kernel gives a new macvlan its parent's MTU.
        link = Link(desired.name, index=p.new_index(), kind="macvlan", mtu=parent.mtu, up=False,
                    info=MacvlanInfo(mode=desired.mode, parent=parent.index))
        space.links[link.name] = link
    elif link.info is None or link.info.mode != desired.mode:
        result.actions.append(SetMacvlanMode(netns, desired.name, desired.mode))
        link = replace(link, info=replace(link.info or MacvlanInfo(parent=parent.index), mode=desired.mode))
        space.links[link.name] = link
    link = p.settle(result, netns, link, desired.addresses, desired)
    result.after = macvlan_view(desired, link, p.space(netns))
    return result


def parse(link: dict, data: Optional[dict]) -> MacvlanInfo:
    mode = data["IFLA_MACVLAN_MODE"] if data is not None else None
    if isinstance(mode, int):
        mode = MODE_NAMES.get(mode, str(mode))
    return MacvlanInfo(
        mode=mode,
        # IFLA_LINK: the parent's ifindex; with IFLA_LINK_NETNSID it counts in another namespace.
        parent=link["IFLA_LINK"] or None,
        parent_elsewhere=link["IFLA_LINK_NETNSID"] is not None,
    )


def stands_on(desired: Macvlan) -> list:
    """Its parent: planned after the object that makes it."""
    return [(desired.netns, desired.link)] if desired.link else []


def lower(link: Link) -> Optional[int]:
    """The parent's ifindex in the macvlan's own namespace: the kernel deletes a macvlan with its parent."""
    info = link.info
    if not isinstance(info, MacvlanInfo) or info.parent_elsewhere:
        return None
    return info.parent


def describe(reader, netns, link: Link) -> Optional[dict]:
    """lab_info: a macvlan device whose parent is in its own namespace (named by ``link``)."""
    info: Any = link.info
    parent = reader.world.spaces[netns].by_index(info.parent) if info and not info.parent_elsewhere else None
    if parent is None:
        reader.skip(netns, link, "its parent device is in another namespace")
        return None
    entry = reader.entry(netns, link)
    entry["link"] = parent.name
    if info.mode:
        entry["mode"] = info.mode
    return reader.common(entry, link, parent.mtu)


KIND = Kind(
    name="macvlan", desired=Macvlan, plan=plan_macvlan, options=OPTIONS, returns=RETURNS,
    section_skip=("state", "recreate"), section_required=("link",), link_kind="macvlan", parse=parse,
    info_attributes=INFO_ATTRIBUTES, link_attributes=LINK_ATTRIBUTES,
    snapshot=("mode",), lower=lower, stands_on=stands_on, takes_over=stands_on, section_noun="macvlan devices",
    describe=describe,
)
