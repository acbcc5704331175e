# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The actions every kind of link shares, and what an action is.

An action is one small change: it says what it does (``describe``), which
interfaces it brings into being (``creates``, for the crash journal and the
ownership marks), how it is applied through the kernel adapter (``apply``) and
what a refusal by the kernel means for it (``hint``). Kind-specific actions
live in their kind's file; the adapter applies any action without knowing it.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import HOST

# Phases keep a multi-object plan in dependency order whatever the order of
# the objects: namespaces exist before links go in, links leave before
# namespaces go away.
PHASE_CREATE_NETNS = 10
PHASE_DELETE_LINK = 20
PHASE_CREATE_LINK = 30
# Links made on top of another link (a macvlan on its parent) come after it.
PHASE_CREATE_UPPER = 35
PHASE_MOVE_LINK = 40
PHASE_SET_LINK = 50
# Ports leave their old bridge before joining a new one, and get their port
# settings once attached; all after links exist and have their MTU.
PHASE_DETACH_PORT = 54
PHASE_ATTACH_PORT = 55
PHASE_PORT_OPTIONS = 56
PHASE_ADDRESS = 60
PHASE_LINK_UP = 70
PHASE_SYSCTL = 75
PHASE_ROUTE = 80
PHASE_DELETE_NETNS = 90

Interface = Tuple[Optional[str], str]


def where(netns: Optional[str]) -> str:
    return "host" if netns is HOST else netns


def describe_options(options: Sequence[Tuple[str, object]], seconds: Sequence[str] = ()) -> str:
    """'stp on, forward_delay 4s, priority 100': options as a sentence (``seconds``: centisecond timers)."""
    words = []
    for option, value in options:
        if isinstance(value, bool):
            words.append("%s %s" % (option, "on" if value else "off"))
        elif option in seconds and isinstance(value, (int, float)):
            words.append("%s %gs" % (option, value / 100.0))
        else:
            words.append("%s %s" % (option, value))
    return ", ".join(words)


@dataclass(frozen=True)
class Action:
    phase = 0

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def creates(self) -> Tuple[Interface, ...]:
        """The interfaces this action brings into being, as (netns, name); a namespace by its loopback."""
        return ()

    def apply(self, kernel) -> None:  # pragma: no cover - overridden
        """Make the change through the kernel adapter (_netlink.Kernel)."""
        raise NotImplementedError

    def hint(self, code: int) -> Optional[str]:
        """What the kernel's refusal ``code`` (an errno) means for this action; None: the generic words."""
        return None

    def undo(self, before) -> Optional[Tuple["Action", ...]]:
        """The actions that put back what this one changed, ``before`` being the world read before the
        run (_model.World); None when it cannot be put back (a deletion: a device is not made again as
        it was). Used when a run fails halfway (_engine.undo)."""
        return None


def _before_link(before, netns: Optional[str], name: str):
    """The link ``name`` of ``netns`` as read before the run, or None."""
    space = before.spaces.get(netns) if before is not None else None
    return space.get(name) if space is not None else None


@dataclass(frozen=True)
class LinkAction(Action):
    """An action on the interface ``name`` in ``netns``."""

    netns: Optional[str]
    name: str

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        # A device this action made is deleted (a kind's creation is a LinkAction that creates()).
        return (DeleteLink(self.netns, self.name),) if self.creates() else None

    def set_link(self, kernel, **attributes) -> None:
        """Kernel.set_link on this interface: ``state``, ``ifalias``, ``master``, ``mtu``."""
        kernel.set_link(self.netns, kernel.ifindex(self.netns, self.name), **attributes)

    def set_kind_data(self, kernel, kind: str, data: bytes, port: bool = False) -> None:
        """This interface's ``kind`` settings (``port``: as a port of a ``kind`` master), packed by the kind."""
        kernel.set_link_data(self.netns, kernel.ifindex(self.netns, self.name), kind, data, port)


@dataclass(frozen=True)
class MoveLink(LinkAction):
    target: Optional[str]
    phase = PHASE_MOVE_LINK

    def describe(self) -> str:
        return "move %s from %s to %s" % (self.name, where(self.netns), where(self.target))

    def apply(self, kernel) -> None:
        kernel.move_link(self.netns, self.name, self.target)

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        # A move flushes the device's addresses, takes it down and out of its bridge: put those back too.
        link = _before_link(before, self.netns, self.name)
        if link is None:
            return None
        steps: list = [MoveLink(self.target, self.name, self.netns)]
        steps += [AddAddress(self.netns, self.name, cidr) for cidr in link.addresses if not _link_local(cidr)]
        master = before.spaces[self.netns].by_index(link.master)
        if master is not None:
            steps.append(AttachPort(self.netns, self.name, master.name))
        if link.up:
            steps.append(SetUp(self.netns, self.name, True))
        return tuple(steps)

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EINVAL:
            return ("the kernel refused to move it; bridges, vxlan and loopback devices are netns-local "
                    "and cannot change namespace: delete it and create it in the target namespace instead")
        return None


@dataclass(frozen=True)
class DeleteLink(LinkAction):
    phase = PHASE_DELETE_LINK

    def describe(self) -> str:
        return "delete %s in %s" % (self.name, where(self.netns))

    def apply(self, kernel) -> None:
        kernel.delete_link(self.netns, kernel.ifindex(self.netns, self.name))
        kernel.forget(self.netns, self.name)


@dataclass(frozen=True)
class SetMtu(LinkAction):
    mtu: int
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "set mtu %d on %s in %s" % (self.mtu, self.name, where(self.netns))

    def apply(self, kernel) -> None:
        self.set_link(kernel, mtu=self.mtu)

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        link = _before_link(before, self.netns, self.name)
        return (SetMtu(self.netns, self.name, link.mtu),) if link is not None and link.mtu else None

    def hint(self, code: int) -> Optional[str]:
        return "the kernel refused the MTU for this device" if code == errno.EINVAL else None


@dataclass(frozen=True)
class SetUp(LinkAction):
    up: bool
    phase = PHASE_LINK_UP

    def describe(self) -> str:
        return "set %s %s in %s" % (self.name, "up" if self.up else "down", where(self.netns))

    def apply(self, kernel) -> None:
        self.set_link(
            kernel, state="up" if self.up else "down")

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        link = _before_link(before, self.netns, self.name)
        return (SetUp(self.netns, self.name, link.up),) if link is not None else None


def _address_call(kernel, command: str, netns: Optional[str], name: str, cidr: str) -> None:
    address, prefixlen = cidr.split("/")
    kernel.address(netns, command, kernel.ifindex(netns, name), address, int(prefixlen))


@dataclass(frozen=True)
class AddAddress(LinkAction):
    cidr: str
    phase = PHASE_ADDRESS

    def describe(self) -> str:
        return "add address %s to %s in %s" % (self.cidr, self.name, where(self.netns))

    def apply(self, kernel) -> None:
        _address_call(kernel, "add", self.netns, self.name, self.cidr)

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        return (DelAddress(self.netns, self.name, self.cidr),)

    def hint(self, code: int) -> Optional[str]:
        if code == errno.EACCES and ":" in self.cidr:
            return ("IPv6 is disabled on this device (sysctl net.ipv6.conf.%s.disable_ipv6 or "
                    "net.ipv6.conf.all.disable_ipv6 in its namespace)" % self.name)
        return None


@dataclass(frozen=True)
class DelAddress(LinkAction):
    cidr: str
    # Removals sort before additions within the address phase.
    phase = PHASE_ADDRESS - 1

    def describe(self) -> str:
        return "remove address %s from %s in %s" % (self.cidr, self.name, where(self.netns))

    def apply(self, kernel) -> None:
        _address_call(kernel, "del", self.netns, self.name, self.cidr)

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        # Added back as a plain address: lifetimes and flags it had are not kept.
        return (AddAddress(self.netns, self.name, self.cidr),)


@dataclass(frozen=True)
class SetAlias(LinkAction):
    """Mark a link (or a namespace, through its loopback) as a lab's own."""

    alias: str
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "mark %s in %s as %s" % (self.name, where(self.netns), self.alias)

    def apply(self, kernel) -> None:
        self.set_link(kernel, ifalias=self.alias)

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        link = _before_link(before, self.netns, self.name)
        # An empty alias removes it.
        return (SetAlias(self.netns, self.name, link.alias or ""),) if link is not None else None


@dataclass(frozen=True)
class AttachPort(LinkAction):
    bridge: str
    previous: Optional[str] = None
    phase = PHASE_ATTACH_PORT

    def describe(self) -> str:
        text = "attach %s to bridge %s in %s" % (self.name, self.bridge, where(self.netns))
        return text + (" (leaving bridge %s)" % self.previous if self.previous else "")

    def apply(self, kernel) -> None:
        self.set_link(kernel, master=kernel.ifindex(self.netns, self.bridge))

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        # Back to its old bridge (with that bridge's default port settings), or out of any.
        if self.previous:
            return (AttachPort(self.netns, self.name, self.previous),)
        return (DetachPort(self.netns, self.name, self.bridge),)

    def hint(self, code: int) -> Optional[str]:
        return "that would put a bridge inside itself" if code == errno.ELOOP else None


@dataclass(frozen=True)
class DetachPort(LinkAction):
    bridge: str
    phase = PHASE_DETACH_PORT

    def describe(self) -> str:
        return "detach %s from bridge %s in %s" % (self.name, self.bridge, where(self.netns))

    def apply(self, kernel) -> None:
        self.set_link(kernel, master=0)

    def undo(self, before) -> Optional[Tuple[Action, ...]]:
        return (AttachPort(self.netns, self.name, self.bridge),)


def _link_local(cidr: str) -> bool:
    """fe80::/10: made by the kernel itself, never put back by hand."""
    return cidr.lower().startswith("fe80:")
