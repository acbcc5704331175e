# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan = diff(desired, current): pure functions, no kernel access.

A plan is an ordered list of small actions the kernel adapter knows how to
apply, plus a before/after view per desired object for diff mode. The same
planner reconciles one object or a whole lab: objects are planned in order
against a *projected* world, so that a veth planned after a namespace sees
that namespace as existing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import (
    ConflictError,
    NamespaceMissingError,
)
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    Link,
    NamespaceState,
    Netns,
    Veth,
    World,
    address_sort_key,
    netns_label,
)

# Phases keep a multi-object plan in dependency order whatever the order of
# the objects: namespaces exist before links go in, links leave before
# namespaces go away.
PHASE_CREATE_NETNS = 10
PHASE_DELETE_LINK = 20
PHASE_CREATE_LINK = 30
PHASE_MOVE_LINK = 40
PHASE_SET_LINK = 50
PHASE_ADDRESS = 60
PHASE_LINK_UP = 70
PHASE_DELETE_NETNS = 90


@dataclass(frozen=True)
class Action:
    phase = 0

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True)
class CreateNetns(Action):
    name: str
    phase = PHASE_CREATE_NETNS

    def describe(self) -> str:
        return "create namespace %s" % self.name


@dataclass(frozen=True)
class DeleteNetns(Action):
    name: str
    phase = PHASE_DELETE_NETNS

    def describe(self) -> str:
        return "delete namespace %s" % self.name


@dataclass(frozen=True)
class CreateVeth(Action):
    name: str
    netns: Optional[str]
    peer: str
    peer_netns: Optional[str]
    mtu: Optional[int] = None
    phase = PHASE_CREATE_LINK

    def describe(self) -> str:
        return "create veth %s in %s with peer %s in %s" % (
            self.name, _where(self.netns), self.peer, _where(self.peer_netns))


@dataclass(frozen=True)
class MoveLink(Action):
    netns: Optional[str]
    name: str
    target: Optional[str]
    phase = PHASE_MOVE_LINK

    def describe(self) -> str:
        return "move %s from %s to %s" % (self.name, _where(self.netns), _where(self.target))


@dataclass(frozen=True)
class DeleteLink(Action):
    netns: Optional[str]
    name: str
    phase = PHASE_DELETE_LINK

    def describe(self) -> str:
        return "delete %s in %s" % (self.name, _where(self.netns))


@dataclass(frozen=True)
class SetMtu(Action):
    netns: Optional[str]
    name: str
    mtu: int
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "set mtu %d on %s in %s" % (self.mtu, self.name, _where(self.netns))


@dataclass(frozen=True)
class SetUp(Action):
    netns: Optional[str]
    name: str
    up: bool
    phase = PHASE_LINK_UP

    def describe(self) -> str:
        return "set %s %s in %s" % (self.name, "up" if self.up else "down", _where(self.netns))


@dataclass(frozen=True)
class AddAddress(Action):
    netns: Optional[str]
    name: str
    cidr: str
    phase = PHASE_ADDRESS

    def describe(self) -> str:
        return "add address %s to %s in %s" % (self.cidr, self.name, _where(self.netns))


@dataclass(frozen=True)
class DelAddress(Action):
    netns: Optional[str]
    name: str
    cidr: str
    # Removals sort before additions within the address phase.
    phase = PHASE_ADDRESS - 1

    def describe(self) -> str:
        return "remove address %s from %s in %s" % (self.cidr, self.name, _where(self.netns))


def _where(netns: Optional[str]) -> str:
    return "host" if netns is HOST else netns


@dataclass
class ObjectResult:
    """What the plan does to one desired object."""

    key: tuple
    before: dict
    after: dict
    actions: List[Action] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)


@dataclass
class Plan:
    objects: List[ObjectResult] = field(default_factory=list)
    # The world as it will be once the plan is applied.
    projected: World = field(default_factory=World)

    @property
    def actions(self) -> List[Action]:
        ordered = [a for obj in self.objects for a in obj.actions]
        # sorted() is stable: within a phase, actions keep the objects' order.
        return sorted(ordered, key=lambda a: a.phase)

    @property
    def changed(self) -> bool:
        return any(obj.changed for obj in self.objects)


# ------------------------------------------------------------------ views ---


def _addresses_view(link: Optional[Link], managed: Optional[Sequence[str]]) -> List[str]:
    if link is None:
        return []
    return sorted(link.managed_addresses(managed or ()), key=address_sort_key)


def netns_view(name: str, exists: bool, space: Optional[NamespaceState]) -> dict:
    lo = space.get("lo") if space else None
    return {
        "name": name,
        "state": "present" if exists else "absent",
        "loopback_up": bool(lo and lo.up),
    }


def veth_view(desired: Veth, end: Optional[Link], end_netns, peer: Optional[Link], peer_netns) -> dict:
    if end is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    return {
        "name": end.name,
        "netns": end_netns,
        "state": "present",
        "peer": peer.name if peer else None,
        "peer_netns": peer_netns,
        "mtu": end.mtu,
        "peer_mtu": peer.mtu if peer else None,
        "up": end.up and (peer.up if peer else False),
        "addresses": _addresses_view(end, desired.addresses),
        "peer_addresses": _addresses_view(peer, desired.peer_addresses),
    }


# ---------------------------------------------------------------- planner ---


class Planner:
    """Plans a set of desired objects against a world, projecting each step."""

    def __init__(self, world: World):
        self.world = world
        self.namespaces = set(world.namespaces)
        # Copies, so that projecting a plan never alters what was read.
        self.spaces: Dict[Optional[str], NamespaceState] = {
            ns: NamespaceState(ns, dict(space.links)) for ns, space in world.spaces.items()
        }

    def plan(self, desired: Sequence) -> Plan:
        plan = Plan()
        results: List[Optional[ObjectResult]] = [None] * len(desired)
        # Namespaces first, so that links can go into namespaces made in the
        # same run whatever the order they were listed in.
        for i in sorted(range(len(desired)), key=lambda i: desired[i].kind != "netns"):
            handler = getattr(self, "_plan_%s" % desired[i].kind)
            results[i] = handler(desired[i])
        plan.objects = results
        plan.projected = World(namespaces=frozenset(self.namespaces), spaces=self.spaces)
        return plan

    # -- projected world ----------------------------------------------------

    def exists(self, netns: Optional[str]) -> bool:
        return netns is HOST or netns in self.namespaces

    def space(self, netns: Optional[str]) -> NamespaceState:
        if netns not in self.spaces:
            self.spaces[netns] = NamespaceState(netns)
        return self.spaces[netns]

    def require_netns(self, netns: Optional[str], what: str) -> None:
        if not self.exists(netns):
            raise NamespaceMissingError(
                "%s: network namespace '%s' does not exist; create it first "
                "(netvirt.linux.netns) or fix the name" % (what, netns),
                netns=netns,
            )

    # -- netns --------------------------------------------------------------

    def _plan_netns(self, desired: Netns) -> ObjectResult:
        exists = self.exists(desired.name)
        space = self.spaces.get(desired.name) if exists else None
        result = ObjectResult(desired.key, before=netns_view(desired.name, exists, space), after={})
        if desired.state == "absent":
            if exists:
                result.actions.append(DeleteNetns(desired.name))
                self.namespaces.discard(desired.name)
                self.spaces.pop(desired.name, None)
            result.after = netns_view(desired.name, False, None)
            return result

        if not exists:
            result.actions.append(CreateNetns(desired.name))
            self.namespaces.add(desired.name)
            # A new namespace holds only a loopback device, down.
            self.spaces[desired.name] = NamespaceState(
                desired.name, {"lo": Link(name="lo", index=1, kind=None, mtu=65536, up=False)})
        space = self.space(desired.name)
        lo = space.get("lo")
        if desired.loopback and lo is not None and not lo.up:
            result.actions.append(SetUp(desired.name, "lo", True))
            space.links["lo"] = replace(lo, up=True)
        result.after = netns_view(desired.name, True, space)
        return result

    # -- veth ---------------------------------------------------------------

    def _search_order(self, desired: Veth) -> List[Optional[str]]:
        order: List[Optional[str]] = []
        for ns in (desired.netns, desired.peer_netns, HOST):
            if ns not in order and self.exists(ns):
                order.append(ns)
        return order

    def _partner(self, netns: Optional[str], link: Link) -> Tuple[Optional[str], Optional[Link]]:
        """Find the other end of a veth among the namespaces read."""
        if link.link_index is None:
            return None, None
        if link.link_netnsid is None:
            return netns, self.space(netns).by_index(link.link_index)
        # The peer lives in another namespace: accept a candidate only when it
        # points back at this link, which rules out ifindex coincidences.
        for other_ns, space in self.spaces.items():
            if other_ns == netns:
                continue
            candidate = space.by_index(link.link_index)
            if (candidate is not None and candidate.kind == "veth"
                    and candidate.link_index == link.index and candidate.link_netnsid is not None):
                return other_ns, candidate
        return None, None

    def _find_pair(self, desired: Veth):
        """The existing pair (netns, link, peer_netns, peer) named as desired, wherever it sits."""
        best = None
        for ns in self._search_order(desired):
            link = self.space(ns).get(desired.name)
            if link is None or link.kind != "veth":
                continue
            peer_ns, peer = self._partner(ns, link)
            if peer is None or (desired.peer is not None and peer.name != desired.peer):
                continue
            in_place = (ns == desired.netns) + (peer_ns == desired.peer_netns)
            if best is None or in_place > best[0]:
                best = (in_place, ns, link, peer_ns, peer)
        return best[1:] if best else None

    def _refuse_foreign(self, netns, name: str, want_peer: Optional[str], role: str) -> None:
        """A device holding one of our names that is not our pair: refuse, touch nothing."""
        link = self.space(netns).get(name)
        if link is None:
            return
        if link.kind != "veth":
            raise ConflictError(
                "%s '%s' in %s already exists as a %s device, not a veth; remove it or choose "
                "another name (nothing was changed)" % (role, name, netns_label(netns), link.kind or "non-virtual"),
                netns=netns, name=name,
            )
        peer_ns, peer = self._partner(netns, link)
        if peer is None:
            raise ConflictError(
                "%s '%s' in %s is a veth whose peer lives in a namespace this task does not name; "
                "refusing to change it (nothing was changed)" % (role, name, netns_label(netns)),
                netns=netns, name=name,
            )
        raise ConflictError(
            "%s '%s' in %s is a veth paired with '%s' in %s, not with '%s'; remove it or choose "
            "another name (nothing was changed)"
            % (role, name, netns_label(netns), peer.name, netns_label(peer_ns), want_peer),
            netns=netns, name=name,
        )

    def _plan_veth(self, desired: Veth) -> ObjectResult:
        if desired.state == "absent":
            return self._plan_veth_absent(desired)
        self.require_netns(desired.netns, "veth %s" % desired.name)
        self.require_netns(desired.peer_netns, "veth %s peer %s" % (desired.name, desired.peer))

        found = self._find_pair(desired)
        if found:
            ns, link, peer_ns, peer = found
            before = veth_view(desired, link, ns, peer, peer_ns)
        else:
            self._refuse_foreign(desired.netns, desired.name, desired.peer, "name")
            self._refuse_foreign(desired.peer_netns, desired.peer, desired.name, "peer")
            before = veth_view(desired, None, None, None, None)
        result = ObjectResult(desired.key, before=before, after={})

        if not found:
            result.actions.append(CreateVeth(desired.name, desired.netns, desired.peer, desired.peer_netns,
                                             desired.mtu))
            mtu = desired.mtu or 1500
            link = Link(desired.name, index=0, kind="veth", mtu=mtu, up=False)
            peer = Link(desired.peer, index=0, kind="veth", mtu=mtu, up=False)
            ns, peer_ns = desired.netns, desired.peer_netns
            self.space(ns).links[link.name] = link
            self.space(peer_ns).links[peer.name] = peer
        else:
            link = self._move(result, ns, link, desired.netns)
            peer = self._move(result, peer_ns, peer, desired.peer_netns)
            ns, peer_ns = desired.netns, desired.peer_netns

        link = self._settle(result, ns, link, desired.addresses, desired)
        peer = self._settle(result, peer_ns, peer, desired.peer_addresses, desired)
        result.after = veth_view(desired, link, ns, peer, peer_ns)
        return result

    def _move(self, result: ObjectResult, netns, link: Link, target) -> Link:
        if netns == target:
            return link
        occupant = self.space(target).get(link.name)
        if occupant is not None:
            raise ConflictError(
                "cannot move '%s' from %s to %s: %s already has a device named '%s' "
                "(nothing was changed)" % (link.name, netns_label(netns), netns_label(target),
                                          netns_label(target), link.name),
                netns=target, name=link.name,
            )
        result.actions.append(MoveLink(netns, link.name, target))
        del self.space(netns).links[link.name]
        # The kernel downs a moved device and drops its addresses.
        moved = replace(link, up=False, addresses=())
        self.space(target).links[moved.name] = moved
        return moved

    def _settle(self, result: ObjectResult, netns, link: Link, addresses, desired: Veth) -> Link:
        """Bring mtu, addresses and up/down of one existing end to the desired values."""
        if desired.mtu is not None and link.mtu != desired.mtu:
            result.actions.append(SetMtu(netns, link.name, desired.mtu))
            link = replace(link, mtu=desired.mtu)
        if addresses is not None:
            current = set(link.managed_addresses(addresses))
            wanted = set(addresses)
            for cidr in sorted(current - wanted, key=address_sort_key):
                result.actions.append(DelAddress(netns, link.name, cidr))
            for cidr in sorted(wanted - current, key=address_sort_key):
                result.actions.append(AddAddress(netns, link.name, cidr))
            kept = [a for a in link.addresses if a not in current or a in wanted]
            link = replace(link, addresses=tuple(sorted(set(kept) | wanted, key=address_sort_key)))
        if link.up != desired.up:
            result.actions.append(SetUp(netns, link.name, desired.up))
            link = replace(link, up=desired.up)
        self.space(netns).links[link.name] = link
        return link

    def _plan_veth_absent(self, desired: Veth) -> ObjectResult:
        if not self.exists(desired.netns):
            # The namespace is gone, and the veth with it.
            view = veth_view(desired, None, None, None, None)
            return ObjectResult(desired.key, before=view, after=view)
        link = self.space(desired.netns).get(desired.name)
        if link is None:
            view = veth_view(desired, None, None, None, None)
            return ObjectResult(desired.key, before=view, after=view)
        if link.kind != "veth":
            raise ConflictError(
                "'%s' in %s is a %s device, not a veth; refusing to delete it"
                % (desired.name, netns_label(desired.netns), link.kind or "non-virtual"),
                netns=desired.netns, name=desired.name,
            )
        peer_ns, peer = self._partner(desired.netns, link)
        if desired.peer is not None and peer is not None and peer.name != desired.peer:
            raise ConflictError(
                "'%s' in %s is paired with '%s', not with '%s'; refusing to delete it"
                % (desired.name, netns_label(desired.netns), peer.name, desired.peer),
                netns=desired.netns, name=desired.name,
            )
        result = ObjectResult(desired.key, before=veth_view(desired, link, desired.netns, peer, peer_ns),
                              after=veth_view(desired, None, None, None, None))
        result.actions.append(DeleteLink(desired.netns, desired.name))
        del self.space(desired.netns).links[desired.name]
        if peer is not None:
            self.space(peer_ns).links.pop(peer.name, None)
        return result


def plan(desired: Sequence, world: World) -> Plan:
    """Plan the changes that bring ``world`` to ``desired``."""
    return Planner(world).plan(desired)
