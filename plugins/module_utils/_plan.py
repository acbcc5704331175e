# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan = diff(desired, current): pure functions, no kernel access.

A plan is an ordered list of small actions the kernel adapter knows how to
apply, plus a before/after view per desired object for diff mode. The same
planner reconciles one object or a whole lab: objects are planned in order
against a *projected* world, so that a veth planned after a namespace sees
that namespace as existing.

This file holds what every kind shares: the projection of the world and the
steps common to links (move, settle mtu/addresses/up, join a bridge, delete).
Each kind plans its own objects in its own file (_kind_*.py), found through
the registry (_kinds.py); ownership and pruning are in _ownership.py. What a
kind builds its result with (ObjectResult, the views) is in _results.py: a kind
is handed the planner and never imports this file.
"""

from __future__ import annotations

import heapq
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds, _ownership
from ansible_collections.netvirt.linux.plugins.module_utils._actions import (
    Action,
    AddAddress,
    AttachPort,
    DelAddress,
    DeleteLink,
    DetachPort,
    MoveLink,
    SetMtu,
    SetUp,
)
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, NamespaceMissingError, NamespaceStaleError
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, Link, NamespaceState, World, address_sort_key, netns_label, stale_message
from ansible_collections.netvirt.linux.plugins.module_utils._model import interface as parse_interface
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, addresses_view, master_name  # noqa: F401 - re-exported; pylint: disable=unused-import


@dataclass
class Plan:
    objects: List[ObjectResult] = field(default_factory=list)
    # The world as it will be once the plan is applied.
    projected: World = field(default_factory=World)
    # Links that go away by themselves once the plan is applied (a veth whose
    # peer's namespace is deleted): the engine waits for the kernel to reap them.
    reaped: List[Tuple[Optional[str], str]] = field(default_factory=list)
    # What check mode assumed an earlier task of the playbook would make.
    warnings: List[str] = field(default_factory=list)
    # The order the first objects were planned in (dependency_order), which their actions keep within a phase
    # (a vxlan is created after the bridge it is made on); objects beyond it (removals) follow in their own.
    order: List[int] = field(default_factory=list)

    @property
    def actions(self) -> List[Action]:
        listed = set(self.order)
        order = list(self.order) + [i for i in range(len(self.objects)) if i not in listed]
        ordered = [a for i in order for a in self.objects[i].actions]
        # sorted() is stable: within a phase, actions keep the objects' order.
        return sorted(ordered, key=lambda a: a.phase)

    @property
    def changed(self) -> bool:
        return any(obj.changed for obj in self.objects)


def new_port(master: Link):
    """A port's settings as the kernel gives them when a link joins ``master``."""
    kind = _kinds.by_link_kind(master.kind)
    return kind.new_port() if kind is not None and kind.new_port is not None else None


def _label(obj) -> str:
    netns = getattr(obj, "netns", HOST) if obj.kind != "netns" else HOST
    name = getattr(obj, "name", None) or getattr(obj, "dst", "?")
    return "%s '%s'%s" % (obj.kind, name, "" if netns is HOST else " in namespace '%s'" % netns)


def dependency_order(desired: Sequence) -> List[int]:
    """The indices of ``desired`` in the order they are planned: each after what it stands on.

    An object stands on the namespaces it lives in (``Kind.namespaces``), the
    devices it is made on or joins (``Kind.stands_on``) and the subnets its
    gateways need (``Kind.reaches``), when another object of ``desired`` makes
    them. Objects that stand on nothing of each other keep the registry's order,
    then their own (deterministic). Objects being removed come first, each
    before what it stands on (teardown is the build reversed); objects being
    made follow. A cycle (a macvlan on a bridge that is to take it as a port)
    is refused: the kernel could make none of them first.
    """
    absent = [i for i, obj in enumerate(desired) if getattr(obj, "state", "present") == "absent"]
    present = [i for i, obj in enumerate(desired) if getattr(obj, "state", "present") != "absent"]
    return list(reversed(_sorted(desired, absent, _kinds))) + _sorted(desired, present, _kinds)


def _sorted(desired: Sequence, indices: List[int], _kinds) -> List[int]:
    rank = {name: number for number, name in enumerate(_kinds.names())}
    namespaces: Dict[str, int] = {}
    devices: Dict[Tuple[Optional[str], str], int] = {}
    # namespace -> [(network, index)]: the subnets each object connects to that namespace.
    subnets: Dict[Optional[str], list] = {}
    for i in indices:
        obj = desired[i]
        kind = _kinds.get(obj.kind)
        if kind.container:
            namespaces.setdefault(obj.name, i)
            continue
        for netns, name in kind.owned(obj):
            devices.setdefault((netns, name), i)
        for netns, _name, cidrs in kind.endpoints(obj):
            subnets.setdefault(netns, []).extend((parse_interface(cidr).network, i) for cidr in cidrs or ())
        for netns, network in kind.connects(obj):
            subnets.setdefault(netns, []).append((network, i))

    before: Dict[int, set] = {i: set() for i in indices}  # i -> the objects planned before it
    for i in indices:
        obj = desired[i]
        kind = _kinds.get(obj.kind)
        wanted: set = set()
        if not kind.container:
            wanted.update(namespaces.get(netns) for netns in kind.namespaces(obj) if netns is not HOST)
        wanted.update(devices.get(key) for key in kind.stands_on(obj))
        for netns, address in kind.reaches(obj):
            ip = ipaddress.ip_address(address)
            wanted.update(j for network, j in subnets.get(netns, ()) if ip.version == network.version
                          and ip in network)
        before[i] = {j for j in wanted if j is not None and j != i}

    after: Dict[int, List[int]] = {i: [] for i in indices}
    for i, needs in before.items():
        for j in needs:
            after[j].append(i)
    waiting = {i: len(needs) for i, needs in before.items()}
    ready = [(rank[desired[i].kind], i) for i in indices if not waiting[i]]
    heapq.heapify(ready)
    order: List[int] = []
    while ready:
        _rank, i = heapq.heappop(ready)
        order.append(i)
        for j in after[i]:
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(ready, (rank[desired[j].kind], j))
    if len(order) < len(indices):
        stuck = sorted(i for i in indices if waiting[i])
        raise ConflictError(
            "%s stand on each other (a device made on, or joining, another that needs it first); the kernel "
            "can make none of them first: break the cycle (nothing was changed)"
            % ", ".join("%s (on %s)" % (_label(desired[i]), ", ".join(
                sorted(_label(desired[j]) for j in before[i] if waiting[j]))) for i in stuck))
    return order


class Planner:
    """Plans a set of desired objects against a world, projecting each step."""

    def __init__(self, world: World, owner: Optional[str] = None, assume_missing: bool = False,
                 adopt=frozenset(), unmarked=frozenset()):
        self.world = world
        # Objects a killed run of this lab created before it could mark them
        # (its journal, _labstate): taken as the lab's own, marked now.
        self.adopt = frozenset(adopt)
        # What the lab's record says it made without a marker (routes, keyed (kind, netns, ...)): they go with
        # their namespace, and a removal names them as the build did.
        self.unmarked = frozenset(unmarked)
        # Scratch space of the kinds for one plan (the host bridges a bridge kind remembers, ...).
        self.notes: Dict[str, object] = {}
        # Devices outside a deleted namespace that the kernel reaps with it (a forced netns deletion's
        # veth peers): the engine waits for them, so the task never reports back while they linger.
        self.reaped: List[Tuple[Optional[str], str]] = []
        # Check mode previews a whole playbook: a namespace, port, master or
        # device that does not exist yet is one an earlier task would make, so
        # it is assumed (with a warning) instead of refused.
        self.assume_missing = assume_missing
        self.warnings: List[str] = []
        # A topology lab's ownership marker: everything the plan creates gets
        # it, and anything existing without it is not taken over.
        self.owner = owner
        self.stale = set(world.stale)
        self.namespaces = set(world.namespaces) - self.stale
        # Copies, so that projecting a plan never alters what was read.
        self.spaces: Dict[Optional[str], NamespaceState] = {
            ns: replace(space, links=dict(space.links), sysctls=dict(space.sysctls))
            for ns, space in world.spaces.items()
        }

    def plan(self, desired: Sequence) -> Plan:
        plan = Plan()
        # The kinds of the desired objects only (each in the registry's order): a kind's prepare notes what
        # its own objects want, and one without objects here has nothing to note.
        wanted = {obj.kind for obj in desired}
        for name in _kinds.names():
            kind = _kinds.get(name) if name in wanted else None
            if kind is not None and kind.prepare is not None:
                kind.prepare(self, [obj for obj in desired if obj.kind == kind.name])
        results: List[Optional[ObjectResult]] = [None] * len(desired)
        # Each object after what it stands on (its namespace, parent, master, ports, gateway's subnet), whatever
        # the order it was listed in: the projection it is planned against then holds them.
        plan.order = dependency_order(desired)
        for i in plan.order:
            results[i] = _kinds.get(desired[i].kind).plan(self, desired[i])
        plan.objects = [result for result in results if result is not None]  # every one is planned
        plan.warnings = self.warnings
        if self.owner is not None:
            for obj, result in zip(desired, plan.objects):
                _ownership.stamp(self, obj, result)
        plan.projected = World(namespaces=frozenset(self.namespaces), spaces=self.spaces)
        plan.reaped = list(self.reaped)
        return plan

    def exists(self, netns: Optional[str]) -> bool:
        return netns is HOST or netns in self.namespaces

    def space(self, netns: Optional[str]) -> NamespaceState:
        if netns not in self.spaces:
            self.spaces[netns] = NamespaceState(netns)
        return self.spaces[netns]

    def assume(self, netns: Optional[str], name: str, link: Link, what: str) -> Link:
        """Check mode: take a missing device as made by an earlier task; returns its projection."""
        message = ("%s does not exist in %s; check mode assumes an earlier task creates it"
                   % (what, netns_label(netns)))
        if message not in self.warnings:
            self.warnings.append(message)
        link = replace(link, index=self.new_index())
        self.space(netns).links[name] = link
        return link

    def require_netns(self, netns: Optional[str], what: str) -> None:
        if not self.exists(netns) and self.assume_missing:
            message = ("%s: network namespace '%s' does not exist; check mode assumes an earlier task "
                       "creates it" % (what, netns))
            self.warnings.append(message)
            self.namespaces.add(netns)
            # As netvirt.linux.netns would make it: only a loopback device, up.
            self.spaces[netns] = NamespaceState(
                netns, {"lo": Link(name="lo", index=1, kind=None, mtu=65536, up=True)})
            return
        if netns is not HOST and netns in self.stale:
            raise NamespaceStaleError("%s: %s" % (what, stale_message(netns)), netns=netns)
        if not self.exists(netns):
            raise NamespaceMissingError(
                "%s: network namespace '%s' does not exist; create it first "
                "(netvirt.linux.netns) or fix the name" % (what, netns),
                netns=netns,
            )

    def own_link(self, netns: Optional[str], name: str, kind: str, label: str) -> Optional[Link]:
        """The device ``name`` in ``netns`` if it is of ``kind``; None if there is none; refused if of another kind."""
        link = self.space(netns).get(name)
        if link is not None and link.kind != kind:
            raise ConflictError(
                "'%s' in %s already exists as a %s device, not a %s; remove it or choose another name "
                "(nothing was changed)" % (name, netns_label(netns), link.kind or "non-virtual", label),
                netns=netns, name=name,
            )
        return link

    def new_index(self) -> int:
        """A placeholder ifindex for a link the plan creates: negative, so never a real one."""
        self._placeholder_index = getattr(self, "_placeholder_index", 0) - 1
        return self._placeholder_index

    def partner(self, netns: Optional[str], link: Link) -> Tuple[Optional[str], Optional[Link]]:
        """The other end of a pair (a veth): ``link.peer`` (namespace, name), see _model.resolve_peers."""
        if link.peer is None:
            return None, None
        peer_ns, peer_name = link.peer
        if peer_ns not in self.spaces:
            return None, None
        peer = self.spaces[peer_ns].get(peer_name)
        if peer is None or peer.kind != link.kind or peer.peer != (netns, link.name):
            return None, None
        return peer_ns, peer

    def move(self, result: ObjectResult, netns, link: Link, target) -> Link:
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
        partner_ns, partner = self.partner(netns, link)
        del self.space(netns).links[link.name]
        # The kernel downs a moved device and drops its addresses.
        moved = replace(link, up=False, addresses=())
        self.space(target).links[moved.name] = moved
        if partner is not None:
            # The other end now points at the moved one's new namespace.
            self.space(partner_ns).links[partner.name] = replace(partner, peer=(target, moved.name))
        return moved

    def settle(self, result: ObjectResult, netns, link: Link, addresses, desired) -> Link:
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

    def plan_link_absent(self, desired, kind: str, label: str, view) -> ObjectResult:
        """Delete one device of ``kind``, refusing a same-named device of another kind.

        ``view(link, space)`` is the object's view; ``view(None, None)`` the absent one.
        """
        absent = view(None, None)
        if not self.exists(desired.netns):
            return ObjectResult(desired.key, before=absent, after=absent)
        space = self.space(desired.netns)
        link = space.get(desired.name)
        if link is None:
            return ObjectResult(desired.key, before=absent, after=absent)
        if link.kind != kind:
            raise ConflictError(
                "'%s' in %s is a %s device, not a %s; refusing to delete it"
                % (desired.name, netns_label(desired.netns), link.kind or "non-virtual", label),
                netns=desired.netns, name=desired.name,
            )
        result = ObjectResult(desired.key, before=view(link, space), after=absent)
        result.actions.append(DeleteLink(desired.netns, desired.name))
        self.forget_link(desired.netns, link)
        return result

    def recreate_fixed(self, result: ObjectResult, desired, netns: Optional[str], link: Link, fixed: list,
                       what: str, made: str, cost: str, word=str) -> Optional[Link]:
        """A device whose settings the kernel fixes at creation differs (``fixed``: [(option, (is, wanted))]):
        refused unless ``desired.recreate``, else deleted to be made again. The link, or None once deleted."""
        if not fixed:
            return link
        if not desired.recreate:
            raise ConflictError(
                "%s '%s' in %s has %s, but the task wants %s; the kernel fixes these when %s is created. Set "
                "recreate=true to delete and create it again (%s), or delete it first with state=absent (nothing "
                "was changed)" % (what, desired.name, netns_label(netns),
                                  ", ".join("%s %s" % (k, word(v[0])) for k, v in fixed),
                                  ", ".join("%s %s" % (k, word(v[1])) for k, v in fixed), made, cost),
                netns=netns, name=desired.name,
            )
        result.actions.append(DeleteLink(netns, desired.name))
        self.forget_link(netns, link)
        return None

    def forget_link(self, netns, link: Link) -> None:
        space = self.space(netns)
        space.links.pop(link.name, None)
        for other in list(space.links.values()):
            if other.master == link.index:
                space.links[other.name] = replace(other, master=None, port=None)

    def plan_master(self, result: ObjectResult, desired, link: Link) -> Link:
        if desired.master is None:
            return link
        space = self.space(desired.netns)
        current = space.by_index(link.master) if link.master is not None else None
        if desired.master == "":
            if current is not None:
                result.actions.append(DetachPort(desired.netns, link.name, current.name))
                link = replace(link, master=None, port=None)
        else:
            bridge = space.get(desired.master)
            if bridge is None and self.assume_missing:
                bridge = self.assume(desired.netns, desired.master,
                                     Link(desired.master, 0, "bridge", 1500, False),
                                     "master '%s' of %s '%s'" % (desired.master, desired.kind, desired.name))
            if bridge is None:
                raise DeviceMissingError(
                    "master '%s' of %s '%s' does not exist in %s; create the bridge there first "
                    "(netvirt.linux.bridge) (nothing was changed)"
                    % (desired.master, desired.kind, desired.name, netns_label(desired.netns)),
                    netns=desired.netns, name=desired.master,
                )
            if bridge.kind != "bridge":
                raise ConflictError(
                    "master '%s' of %s '%s' in %s is a %s device, not a bridge (nothing was changed)"
                    % (desired.master, desired.kind, desired.name, netns_label(desired.netns),
                       bridge.kind or "non-virtual"),
                    netns=desired.netns, name=desired.master,
                )
            if link.master != bridge.index:
                result.actions.append(AttachPort(desired.netns, link.name, bridge.name,
                                                 current.name if current is not None else None))
                link = replace(link, master=bridge.index, port=new_port(bridge))
        space.links[link.name] = link
        return link


def plan(desired: Sequence, world: World, owner: Optional[str] = None, prune: bool = False,
         assume_missing: bool = False, adopt=frozenset(), unmarked=frozenset()) -> Plan:
    """Plan the changes that bring ``world`` to ``desired``.

    With ``owner`` (a topology lab's marker) everything created is marked, and
    with ``prune`` marked objects the description no longer names are removed.
    """
    planner = Planner(world, owner, assume_missing=assume_missing, adopt=adopt, unmarked=unmarked)
    result = planner.plan(desired)
    if owner is not None and prune:
        keep_namespaces = {obj.name for obj in desired if _kinds.get(obj.kind).container}
        keep_links = {end for obj in desired for end in _ownership.owned_interfaces(obj)}
        removed = _ownership.plan_removal(planner, keep_namespaces, keep_links, result.reaped)
        removed += _ownership.plan_kind_prunes(planner, desired)
        deleted = {(a.netns, a.name) for obj in removed for a in obj.actions if isinstance(a, DeleteLink)}
        deleted.update(result.reaped)
        doomed = {obj.key[1] for obj in removed if obj.key[0] == "netns"}
        for obj in result.objects:
            # A deleted link leaves its bridge by itself, and everything in a
            # deleted namespace goes with it: no separate step for those.
            obj.actions = [a for a in obj.actions if not (
                isinstance(a, DetachPort) and ((a.netns, a.name) in deleted or a.netns in doomed))]
        result.objects.extend(removed)
        result.projected = World(namespaces=frozenset(planner.namespaces), spaces=planner.spaces)
    return result
