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
    DeviceMissingError,
    NamespaceMissingError,
    NamespaceStaleError,
)
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    HOST,
    Bridge,
    BridgeInfo,
    Link,
    NamespaceState,
    Netns,
    ROUTE_TABLES,
    Route,
    RouteEntry,
    PortInfo,
    Tap,
    TunInfo,
    Veth,
    Vxlan,
    VxlanInfo,
    World,
    address_sort_key,
    stale_message,
    centis_to_seconds,
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
PHASE_SYSCTL = 75
PHASE_ROUTE = 80
PHASE_DELETE_NETNS = 90


@dataclass(frozen=True)
class Action:
    phase = 0

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def creates(self) -> Tuple[Tuple[Optional[str], str], ...]:
        """The interfaces this action brings into being, as (netns, name); a namespace by its loopback."""
        return ()


@dataclass(frozen=True)
class CreateNetns(Action):
    name: str
    # A stale /run/netns entry of that name is removed first.
    replace_stale: bool = False
    phase = PHASE_CREATE_NETNS

    def describe(self) -> str:
        return "create namespace %s%s" % (self.name, " (replacing a stale entry)" if self.replace_stale else "")

    def creates(self):
        return ((self.name, "lo"),)


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

    def creates(self):
        return ((self.netns, self.name), (self.peer_netns, self.peer))


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


@dataclass(frozen=True)
class SetAlias(Action):
    """Mark a link (or a namespace, through its loopback) as a lab's own."""

    netns: Optional[str]
    name: str
    alias: str
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "mark %s in %s as %s" % (self.name, _where(self.netns), self.alias)


@dataclass(frozen=True)
class SetSysctl(Action):
    netns: Optional[str]
    key: str
    value: str
    phase = PHASE_SYSCTL

    def describe(self) -> str:
        return "set sysctl %s=%s in %s" % (self.key, self.value, _where(self.netns))


@dataclass(frozen=True)
class SetRoute(Action):
    """Add or replace the route with this table, destination and metric."""

    netns: Optional[str]
    route: Route
    replace: bool = False
    phase = PHASE_ROUTE

    def describe(self) -> str:
        return "%s route %s in %s" % ("replace" if self.replace else "add", route_text(self.route), _where(self.netns))


@dataclass(frozen=True)
class DelRoute(Action):
    netns: Optional[str]
    route: Route
    phase = PHASE_ROUTE - 1

    def describe(self) -> str:
        return "delete route %s in %s" % (route_text(self.route), _where(self.netns))


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
    # Links that go away by themselves once the plan is applied (a veth whose
    # peer's namespace is deleted): the engine waits for the kernel to reap them.
    reaped: List[Tuple[Optional[str], str]] = field(default_factory=list)
    # What check mode assumed an earlier task of the playbook would make.
    warnings: List[str] = field(default_factory=list)

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


# ------------------------------------------------------- bridge / tap actions ---

# Ports leave their old bridge before joining a new one, and get their port
# settings once attached; all after links exist and have their MTU.
PHASE_DETACH_PORT = 54
PHASE_ATTACH_PORT = 55
PHASE_PORT_OPTIONS = 56


def _describe_options(options: Sequence[Tuple[str, object]]) -> str:
    words = []
    for option, value in options:
        if isinstance(value, bool):
            words.append("%s %s" % (option, "on" if value else "off"))
        elif option in BRIDGE_TIMERS:
            words.append("%s %gs" % (option, centis_to_seconds(value)))
        else:
            words.append("%s %s" % (option, value))
    return ", ".join(words)


BRIDGE_TIMERS = ("forward_delay", "hello_time", "max_age", "ageing_time")


@dataclass(frozen=True)
class CreateBridge(Action):
    netns: Optional[str]
    name: str
    # (option, kernel value) pairs, timers in centiseconds.
    options: Tuple[Tuple[str, object], ...] = ()
    phase = PHASE_CREATE_LINK

    def describe(self) -> str:
        text = "create bridge %s in %s" % (self.name, _where(self.netns))
        return text + (" with %s" % _describe_options(self.options) if self.options else "")

    def creates(self):
        return ((self.netns, self.name),)


@dataclass(frozen=True)
class SetBridgeOptions(Action):
    netns: Optional[str]
    name: str
    options: Tuple[Tuple[str, object], ...]
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "set %s on bridge %s in %s" % (_describe_options(self.options), self.name, _where(self.netns))


@dataclass(frozen=True)
class AttachPort(Action):
    netns: Optional[str]
    name: str
    bridge: str
    previous: Optional[str] = None
    phase = PHASE_ATTACH_PORT

    def describe(self) -> str:
        text = "attach %s to bridge %s in %s" % (self.name, self.bridge, _where(self.netns))
        return text + (" (leaving bridge %s)" % self.previous if self.previous else "")


@dataclass(frozen=True)
class DetachPort(Action):
    netns: Optional[str]
    name: str
    bridge: str
    phase = PHASE_DETACH_PORT

    def describe(self) -> str:
        return "detach %s from bridge %s in %s" % (self.name, self.bridge, _where(self.netns))


@dataclass(frozen=True)
class SetPortOptions(Action):
    netns: Optional[str]
    name: str
    options: Tuple[Tuple[str, object], ...]
    phase = PHASE_PORT_OPTIONS

    def describe(self) -> str:
        return "set %s on bridge port %s in %s" % (_describe_options(self.options), self.name, _where(self.netns))


@dataclass(frozen=True)
class CreateTap(Action):
    netns: Optional[str]
    name: str
    mode: str = "tap"
    owner: Optional[int] = None
    group: Optional[int] = None
    multi_queue: bool = False
    pi: bool = False
    vnet_hdr: bool = False
    phase = PHASE_CREATE_LINK

    def describe(self) -> str:
        extra = ["%s %s" % (k, v) for k, v in (("owner", self.owner), ("group", self.group)) if v is not None]
        extra += [flag for flag in ("multi_queue", "pi", "vnet_hdr") if getattr(self, flag)]
        return "create %s %s in %s%s" % (self.mode, self.name, _where(self.netns),
                                         " (%s)" % ", ".join(extra) if extra else "")

    def creates(self):
        return ((self.netns, self.name),)


@dataclass(frozen=True)
class SetTunParams(Action):
    """Change what a live tun/tap device allows changing: packet info, vnet_hdr, owner, group."""

    netns: Optional[str]
    name: str
    # The device's fixed flags, repeated because TUNSETIFF must match them.
    mode: str
    multi_queue: bool
    pi: bool
    vnet_hdr: bool
    owner: Optional[int] = None
    group: Optional[int] = None
    # What changes, for the description.
    changes: Tuple[Tuple[str, object], ...] = ()
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "set %s on %s %s in %s" % (_describe_options(self.changes), self.mode, self.name, _where(self.netns))


def _ports_view(space: NamespaceState, bridge: Link, desired_ports) -> List[dict]:
    """The bridge's ports by name, with the settings the task manages."""
    managed = {port.name: port.settings() for port in desired_ports or ()}
    view = []
    for link in sorted(space.links.values(), key=lambda link: link.name):
        if bridge.index is None or link.master != bridge.index:
            continue
        entry: Dict[str, object] = {"name": link.name}
        info = link.port or PortInfo()
        for option in managed.get(link.name, {}):
            entry[option] = getattr(info, option)
        view.append(entry)
    return view


def bridge_view(desired: Bridge, link: Optional[Link], space: Optional[NamespaceState]) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    info = link.bridge or BridgeInfo()
    view = {
        "name": link.name,
        "netns": desired.netns,
        "state": "present",
        "mtu": link.mtu,
        "up": link.up,
        "addresses": _addresses_view(link, desired.addresses),
        "stp": info.stp,
        "priority": info.priority,
        "ports": _ports_view(space, link, desired.ports) if space is not None else [],
    }
    for option in BRIDGE_TIMERS:
        view[option] = centis_to_seconds(getattr(info, option))
    return view


def tap_view(desired: Tap, link: Optional[Link], netns, space: Optional[NamespaceState]) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    info = link.tun or TunInfo()
    master = space.by_index(link.master) if space is not None and link.master is not None else None
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
        "mtu": link.mtu,
        "up": link.up,
        "addresses": _addresses_view(link, desired.addresses),
        "master": master.name if master is not None else None,
    }


# ---------------------------------------------------------------- planner ---


class Planner:
    """Plans a set of desired objects against a world, projecting each step."""

    def __init__(self, world: World, owner: Optional[str] = None, assume_missing: bool = False,
                 adopt=frozenset()):
        self.world = world
        # Objects a killed run of this lab created before it could mark them
        # (its journal, _labstate): taken as the lab's own, marked now.
        self.adopt = frozenset(adopt)
        self.host_bridges: set = set()
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
        self.host_bridges = {(obj.netns, obj.name) for obj in desired
                             if obj.kind == "bridge" and obj.netns is HOST and obj.state == "present"}
        results: List[Optional[ObjectResult]] = [None] * len(desired)
        # Namespaces first, so that links can go into namespaces made in the
        # same run whatever the order they were listed in.
        for i in sorted(range(len(desired)), key=lambda i: desired[i].kind != "netns"):
            handler = getattr(self, "_plan_%s" % desired[i].kind)
            results[i] = handler(desired[i])
        plan.objects = results
        plan.warnings = self.warnings
        if self.owner is not None:
            for obj, result in zip(desired, results):
                self._stamp(obj, result)
        plan.projected = World(namespaces=frozenset(self.namespaces), spaces=self.spaces)
        return plan

    # -- ownership (topology labs) --------------------------------------------

    def _stamp(self, desired, result: ObjectResult) -> None:
        """Mark what this plan creates for the object; refuse what exists without the mark."""
        if getattr(desired, "state", "present") != "present":
            return
        created = {end for action in result.actions for end in action.creates()}
        for netns, name in owned_interfaces(desired):
            link = self.space(netns).get(name)
            if (netns, name) in created or (link is not None and link.alias != self.owner
                                            and (netns, name) in self.adopt):
                result.actions.append(SetAlias(netns, name, self.owner))
                if link is not None:
                    self.space(netns).links[name] = replace(link, alias=self.owner)
            elif link is not None and link.alias != self.owner:
                what = "namespace '%s'" % netns if name == "lo" else "'%s' in %s" % (name, netns_label(netns))
                raise ConflictError(
                    "%s exists but this lab did not create it (its marker is %r, not %r); the lab never takes "
                    "over objects it did not make: remove or rename it (nothing was changed)"
                    % (what, link.alias, self.owner), netns=netns, name=name)

    def plan_removal(self, keep_namespaces, keep_links, reaped: list) -> List[ObjectResult]:
        """Everything carrying this lab's mark that is not kept: namespaces whole, links one by one.

        A veth whose peer lives in a namespace being deleted is not deleted on
        its own (each deletion costs the kernel a grace period); it goes with
        the namespace, all in one batch, and is added to ``reaped``.
        """
        results: List[ObjectResult] = []
        doomed = [ns for ns in sorted(self.namespaces)
                  if ns not in keep_namespaces and self._marked(ns, "lo")]
        self._refuse_foreign_tenants(doomed)
        # A stale entry the lab's own journal names: what is left of one of its namespaces.
        doomed += sorted(ns for ns in self.stale if ns not in keep_namespaces and (ns, "lo") in self.adopt)
        gone = set()
        for netns in [HOST] + sorted(ns for ns in self.spaces if ns is not HOST):
            if netns in doomed or netns not in self.spaces:
                continue
            for link in sorted(self.space(netns).links.values(), key=lambda item: item.name):
                key = (netns, link.name)
                if link.name == "lo" or link.alias != self.owner or key in keep_links or key in gone:
                    continue
                peer_ns, peer = self._partner(netns, link) if link.kind == "veth" else (None, None)
                if peer is not None and (peer_ns, peer.name) in keep_links:
                    continue  # the kept end keeps its pair alive
                goes_with_namespace = peer is not None and peer_ns in doomed
                if goes_with_namespace:
                    reaped.append(key)
                results.append(ObjectResult(
                    ("link", netns, link.name),
                    before={"name": link.name, "netns": netns, "kind": link.kind, "state": "present"},
                    after={"name": link.name, "netns": netns, "kind": link.kind, "state": "absent"},
                    actions=[] if goes_with_namespace else [DeleteLink(netns, link.name)]))
                gone.add(key)
                if peer is not None:
                    gone.add((peer_ns, peer.name))
        for netns in doomed:
            results.append(ObjectResult(
                ("netns", netns), before=netns_view(netns, True, self.spaces.get(netns)),
                after=netns_view(netns, False, None), actions=[DeleteNetns(netns)]))
            self.namespaces.discard(netns)
            self.spaces.pop(netns, None)
        for netns, name in gone:
            if netns in self.spaces:
                self.space(netns).links.pop(name, None)
        return results

    def _refuse_foreign_tenants(self, doomed) -> None:
        """Deleting a namespace deletes every device in it: refuse when one is not the lab's."""
        problems = []
        for netns in doomed:
            for link in sorted(self.space(netns).links.values(), key=lambda item: item.name):
                if self._marked(netns, link.name) or link.name == "lo" or _kernel_made(link):
                    continue
                peer_ns, peer = self._partner(netns, link)
                where = " (its peer '%s' is in %s)" % (peer.name, netns_label(peer_ns)) if peer is not None else (
                    " (its peer is in a namespace that is not the lab's)" if link.link_netnsid is not None else "")
                problems.append("'%s' (%s)%s in namespace '%s'" % (
                    link.name, link.kind or "non-virtual", where, netns))
        if problems:
            raise ConflictError(
                "the lab's namespaces hold devices the lab did not make, which deleting them would destroy: %s; "
                "move them out or delete them first, then run again (nothing was changed)" % ", ".join(problems))

    def _marked(self, netns: Optional[str], name: str) -> bool:
        link = self.spaces.get(netns).get(name) if netns in self.spaces else None
        return link is not None and (link.alias == self.owner or (netns, name) in self.adopt)

    # -- projected world ----------------------------------------------------

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
        link = replace(link, index=self._new_index())
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
        if netns in self.stale:
            raise NamespaceStaleError("%s: %s" % (what, stale_message(netns)), netns=netns)
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
        stale = desired.name in self.stale
        if desired.state == "absent":
            if exists or stale:
                result.actions.append(DeleteNetns(desired.name))
                self.namespaces.discard(desired.name)
                self.stale.discard(desired.name)
                self.spaces.pop(desired.name, None)
            result.after = netns_view(desired.name, False, None)
            return result

        if stale:
            self.warnings.append(stale_message(desired.name) + "; replaced by a new namespace")
            self.stale.discard(desired.name)
        if not exists:
            result.actions.append(CreateNetns(desired.name, replace_stale=stale))
            self.namespaces.add(desired.name)
            # A new namespace holds only a loopback device, down.
            self.spaces[desired.name] = NamespaceState(
                desired.name,
                {"lo": Link(name="lo", index=1, kind=None, mtu=65536, up=False, link_type=ARPHRD_LOOPBACK)})
        space = self.space(desired.name)
        lo = space.get("lo")
        if desired.loopback and lo is not None and not lo.up:
            result.actions.append(SetUp(desired.name, "lo", True))
            space.links["lo"] = replace(lo, up=True)
        for key, value in desired.sysctls or ():
            if exists and space.sysctls.get(key) is None:
                raise ConflictError(
                    "sysctl %s does not exist in namespace '%s' (check the key; per-interface keys need the "
                    "interface to exist); nothing was changed" % (key, desired.name), netns=desired.name, key=key)
            if space.sysctls.get(key) != value:
                result.actions.append(SetSysctl(desired.name, key, value))
                space.sysctls[key] = value
        result.after = netns_view(desired.name, True, space)
        if desired.sysctls is not None:
            keys = [key for key, _value in desired.sysctls]
            result.before["sysctls"] = {key: (self.world.space(desired.name).sysctls.get(key) if exists else None)
                                        for key in keys}
            result.after["sysctls"] = {key: space.sysctls.get(key) for key in keys}
        return result

    # -- route --------------------------------------------------------------

    def _plan_route(self, desired: Route) -> ObjectResult:
        if desired.state == "absent" and not self.exists(desired.netns):
            view = route_view(desired, None, None)
            return ObjectResult(desired.key, before=view, after=view)
        self.require_netns(desired.netns, "route %s" % route_text(desired))
        space = self.space(desired.netns)
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

        if desired.dev is not None and space.get(desired.dev) is None and self.assume_missing:
            self.assume(desired.netns, desired.dev, Link(desired.dev, 0, None, 1500, True),
                        "device '%s' of route %s" % (desired.dev, route_text(desired)))
        if desired.dev is not None and space.get(desired.dev) is None:
            raise NamespaceMissingError(
                "route %s: there is no device '%s' in %s" % (route_text(desired), desired.dev, netns_label(desired.netns)),
                netns=desired.netns, dev=desired.dev)
        same = entry is not None and entry.gateway == desired.gateway and (
            desired.dev is None or current_dev == desired.dev)
        if not same:
            result.actions.append(SetRoute(desired.netns, desired, replace=entry is not None))
            new_dev = desired.dev if desired.dev is not None else current_dev
            entry = RouteEntry(desired.dst, desired.table, desired.effective_metric, desired.gateway,
                               oif=next((link.index for link in space.links.values() if link.name == new_dev), None))
            current_dev = new_dev
        space.routes = tuple(routes + [entry])
        result.after = route_view(desired, entry, current_dev)
        return result

    # -- veth ---------------------------------------------------------------

    def _search_order(self, desired: Veth) -> List[Optional[str]]:
        order: List[Optional[str]] = []
        for ns in (desired.netns, desired.peer_netns, HOST):
            if ns not in order and self.exists(ns):
                order.append(ns)
        return order

    def _partner(self, netns: Optional[str], link: Link) -> Tuple[Optional[str], Optional[Link]]:
        """The other end of a veth: ``link.peer`` (namespace, name), see _model.resolve_peers."""
        if link.peer is None:
            return None, None
        peer_ns, peer_name = link.peer
        if peer_ns not in self.spaces:
            return None, None
        peer = self.spaces[peer_ns].get(peer_name)
        if peer is None or peer.kind != "veth" or peer.peer != (netns, link.name):
            return None, None
        return peer_ns, peer

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
            if peer_ns not in (desired.netns, desired.peer_netns, HOST):
                continue  # never pull an end out of a namespace the task does not name
            in_place = (ns == desired.netns) + (peer_ns == desired.peer_netns)
            if best is None or in_place > best[0]:
                best = (in_place, ns, link, peer_ns, peer)
        if best is None:
            return None
        return best[1], best[2], best[3], best[4]

    def _refuse_foreign(self, netns, name: str, want_peer: Optional[str], want_netns, role: str) -> None:
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
            "%s '%s' in %s is a veth paired with '%s' in %s, not with '%s' in %s; remove it or choose "
            "another name (nothing was changed)"
            % (role, name, netns_label(netns), peer.name, netns_label(peer_ns), want_peer, netns_label(want_netns)),
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
            self._refuse_foreign(desired.netns, desired.name, desired.peer, desired.peer_netns, "name")
            self._refuse_foreign(desired.peer_netns, desired.peer, desired.name, desired.netns, "peer")
            before = veth_view(desired, None, None, None, None)
        result = ObjectResult(desired.key, before=before, after={})

        if not found:
            result.actions.append(CreateVeth(desired.name, desired.netns, desired.peer, desired.peer_netns,
                                             desired.mtu))
            mtu = desired.mtu or 1500
            ns, peer_ns = desired.netns, desired.peer_netns
            link = Link(desired.name, index=0, kind="veth", mtu=mtu, up=False, peer=(peer_ns, desired.peer))
            peer = Link(desired.peer, index=0, kind="veth", mtu=mtu, up=False, peer=(ns, desired.name))
            self.space(ns).links[link.name] = link
            self.space(peer_ns).links[peer.name] = peer
        else:
            link = self._move(result, ns, link, desired.netns)
            peer = self._move(result, peer_ns, self.space(peer_ns).links[peer.name], desired.peer_netns)
            ns, peer_ns = desired.netns, desired.peer_netns
            # Each move re-pointed the other end: take both ends as they are now.
            link, peer = self.space(ns).links[link.name], self.space(peer_ns).links[peer.name]

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
        partner_ns, partner = self._partner(netns, link)
        del self.space(netns).links[link.name]
        # The kernel downs a moved device and drops its addresses.
        moved = replace(link, up=False, addresses=())
        self.space(target).links[moved.name] = moved
        if partner is not None:
            # The other end now points at the moved one's new namespace.
            self.space(partner_ns).links[partner.name] = replace(partner, peer=(target, moved.name))
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
        if desired.peer is not None and (peer is None or peer_ns != desired.peer_netns):
            # The task names the pair by both ends: a same-named peer elsewhere is another pair.
            where = netns_label(peer_ns) if peer is not None else "a namespace this task does not name"
            raise ConflictError(
                "'%s' in %s is paired with '%s' in %s, not in %s; refusing to delete it"
                % (desired.name, netns_label(desired.netns), desired.peer, where, netns_label(desired.peer_netns)),
                netns=desired.netns, name=desired.name,
            )
        result = ObjectResult(desired.key, before=veth_view(desired, link, desired.netns, peer, peer_ns),
                              after=veth_view(desired, None, None, None, None))
        result.actions.append(DeleteLink(desired.netns, desired.name))
        del self.space(desired.netns).links[desired.name]
        if peer is not None:
            self.space(peer_ns).links.pop(peer.name, None)
        return result

    # -- bridge -------------------------------------------------------------

    def _new_index(self) -> int:
        """A placeholder ifindex for a link the plan creates: negative, so never a real one."""
        self._placeholder_index = getattr(self, "_placeholder_index", 0) - 1
        return self._placeholder_index

    def _plan_bridge(self, desired: Bridge) -> ObjectResult:
        if desired.state == "absent":
            return self._plan_bridge_absent(desired)
        self.require_netns(desired.netns, "bridge %s" % desired.name)
        space = self.space(desired.netns)
        link = space.get(desired.name)
        if link is not None and link.kind != "bridge":
            raise ConflictError(
                "'%s' in %s already exists as a %s device, not a bridge; remove it or choose another name "
                "(nothing was changed)" % (desired.name, netns_label(desired.netns), link.kind or "non-virtual"),
                netns=desired.netns, name=desired.name,
            )
        if link is None:
            self._refuse_bridge_move(desired)
        result = ObjectResult(desired.key, before=bridge_view(desired, link, space), after={})

        created = link is None
        options = desired.options()
        if created:
            result.actions.append(CreateBridge(desired.netns, desired.name, tuple(sorted(options.items()))))
            link = Link(desired.name, index=self._new_index(), kind="bridge", mtu=1500, up=False,
                        bridge=replace(BridgeInfo(), **options))
        else:
            info = link.bridge or BridgeInfo()
            changes = {k: v for k, v in options.items() if getattr(info, k) != v}
            if changes:
                result.actions.append(SetBridgeOptions(desired.netns, desired.name, tuple(sorted(changes.items()))))
                link = replace(link, bridge=replace(info, **changes))
        space.links[link.name] = link

        attached = self._plan_ports(result, desired, space, link)
        link = space.links[link.name]
        if desired.mtu is not None:
            # An MTU set by hand sticks; otherwise the kernel gives the bridge
            # the smallest MTU of its ports whenever a port joins.
            if link.mtu != desired.mtu or (created or attached) and self._ports_mtu(space, link) != desired.mtu:
                result.actions.append(SetMtu(desired.netns, desired.name, desired.mtu))
                link = replace(link, mtu=desired.mtu)
        elif attached:
            link = replace(link, mtu=self._ports_mtu(space, link) or link.mtu)
        link = self._settle(result, desired.netns, link, desired.addresses, desired)
        result.after = bridge_view(desired, link, space)
        return result

    @staticmethod
    def _ports_mtu(space: NamespaceState, bridge: Link) -> Optional[int]:
        mtus = [port.mtu for port in space.links.values() if port.master == bridge.index and port.name != bridge.name]
        return min(mtus) if mtus else None

    def _refuse_bridge_move(self, desired: Bridge) -> None:
        """A bridge found in the host but wanted elsewhere would have to move, which the kernel forbids."""
        if desired.netns is HOST or (HOST, desired.name) in self.host_bridges:
            return  # the host's bridge of that name is wanted too: two bridges, one name
        stray = self.space(HOST).get(desired.name)
        if stray is None or stray.kind != "bridge":
            return
        raise ConflictError(
            "bridge '%s' exists in the host namespace but the task wants it in %s; bridges are netns-local "
            "(the kernel refuses to move them: 'Invalid argument'). Delete it in the host first "
            "(netvirt.linux.bridge with state=absent and no netns; its ports are detached, not deleted) and run "
            "the task again to create it in %s, or give the bridge in %s another name (nothing was changed)"
            % (desired.name, netns_label(desired.netns), netns_label(desired.netns), netns_label(desired.netns)),
            netns=desired.netns, name=desired.name,
        )

    def _plan_ports(self, result: ObjectResult, desired: Bridge, space: NamespaceState, bridge: Link) -> bool:
        """Make the bridge's ports the exact set asked for; True when a port joins."""
        if desired.ports is None:
            return False
        wanted = {port.name: port for port in desired.ports}
        for link in sorted(space.links.values(), key=lambda link: link.name):
            if link.master == bridge.index and link.name not in wanted:
                result.actions.append(DetachPort(desired.netns, link.name, desired.name))
                space.links[link.name] = replace(link, master=None, port=None)
        attached = False
        for port in desired.ports:
            link = space.get(port.name)
            if link is None and self.assume_missing:
                link = self.assume(desired.netns, port.name, Link(port.name, 0, "veth", 1500, False),
                                   "port '%s' of bridge '%s'" % (port.name, desired.name))
            if link is None:
                raise DeviceMissingError(
                    "port '%s' of bridge '%s' does not exist in %s; create it there first (for example the "
                    "bridge end of a veth pair, netvirt.linux.veth, or a netvirt.linux.tap) - a bridge can only "
                    "hold interfaces of its own namespace (nothing was changed)"
                    % (port.name, desired.name, netns_label(desired.netns)),
                    netns=desired.netns, name=port.name,
                )
            if link.kind == "bridge":
                raise ConflictError(
                    "port '%s' of bridge '%s' is itself a bridge; a bridge cannot be a port of another bridge "
                    "(nothing was changed)" % (port.name, desired.name), netns=desired.netns, name=port.name)
            if link.kind == "tun" and link.tun is not None and link.tun.mode == "tun":
                raise ConflictError(
                    "port '%s' of bridge '%s' is a tun device (IP packets, no Ethernet frames) and cannot join a "
                    "bridge; recreate it in mode tap (nothing was changed)" % (port.name, desired.name),
                    netns=desired.netns, name=port.name)
            if link.link_type is not None and link.link_type != ARPHRD_ETHER:
                # br_add_if() takes Ethernet devices only (loopback, tun, ip tunnels: EINVAL).
                raise ConflictError(
                    "port '%s' of bridge '%s' is %s, not an Ethernet device, and cannot join a bridge "
                    "(nothing was changed)" % (port.name, desired.name, "the loopback device"
                                               if link.link_type == ARPHRD_LOOPBACK else
                                               "a device of hardware type %d" % link.link_type),
                    netns=desired.netns, name=port.name)
            if link.master != bridge.index:
                previous = space.by_index(link.master) if link.master is not None else None
                result.actions.append(AttachPort(desired.netns, port.name, desired.name,
                                                 previous.name if previous is not None else None))
                link = replace(link, master=bridge.index, port=PortInfo(priority=32))
                attached = True
            info = link.port or PortInfo()
            changes = {k: v for k, v in port.settings().items() if getattr(info, k) != v}
            if changes:
                result.actions.append(SetPortOptions(desired.netns, port.name, tuple(sorted(changes.items()))))
                link = replace(link, port=replace(info, **changes))
            space.links[link.name] = link
        return attached

    def _plan_bridge_absent(self, desired: Bridge) -> ObjectResult:
        # The kernel detaches the ports; it never deletes them.
        return self._plan_link_absent(desired, "bridge", "bridge",
                                      lambda link, space: bridge_view(desired, link, space))

    # -- tap ----------------------------------------------------------------

    def _plan_tap(self, desired: Tap) -> ObjectResult:
        if desired.state == "absent":
            return self._plan_tap_absent(desired)
        self.require_netns(desired.netns, "tap %s" % desired.name)
        found_ns, link = self._find_tap(desired)
        result = ObjectResult(desired.key, before=tap_view(desired, link, found_ns, self.space(found_ns)), after={})

        if link is not None:
            fixed = self._tap_fixed_changes(desired, link)
            if fixed and not desired.recreate:
                raise ConflictError(
                    "%s '%s' in %s has %s, but the task wants %s; the kernel fixes these when a tun/tap device "
                    "is created. Set recreate=true to delete and create it again (a program attached to it "
                    "loses it), or delete it first with state=absent (nothing was changed)"
                    % (link.tun.mode if link.tun else "tun/tap", desired.name, netns_label(found_ns),
                       ", ".join("%s %s" % (k, v[0]) for k, v in fixed),
                       ", ".join("%s %s" % (k, v[1]) for k, v in fixed)),
                    netns=found_ns, name=desired.name,
                )
            if fixed:
                result.actions.append(DeleteLink(found_ns, desired.name))
                self._forget_link(found_ns, link)
                link = None

        netns = desired.netns
        if link is None:
            flags = desired.creation_flags()
            result.actions.append(CreateTap(netns, desired.name, desired.mode, desired.owner, desired.group,
                                            **flags))
            link = Link(desired.name, index=self._new_index(), kind="tun", mtu=1500, up=False,
                        tun=TunInfo(mode=desired.mode, owner=desired.owner, group=desired.group, **flags))
            self.space(netns).links[link.name] = link
        else:
            if found_ns != netns:
                if link.tun is not None and link.tun.attached:
                    raise ConflictError(
                        "tap '%s' in %s is open in a program (a VM, a VPN); moving it to %s would pull it from under "
                        "that program: stop the program and run the task again (nothing was changed)"
                        % (desired.name, netns_label(found_ns), netns_label(netns)), netns=found_ns, name=desired.name)
                link = self._move(result, found_ns, link, netns)
                # Leaving a namespace also means leaving its bridge.
                link = replace(link, master=None, port=None)
                self.space(netns).links[link.name] = link
            link = self._plan_tun_params(result, desired, link)
        link = self._plan_master(result, desired, link)
        link = self._settle(result, netns, link, desired.addresses, desired)
        result.after = tap_view(desired, link, netns, self.space(netns))
        return result

    def _find_tap(self, desired: Tap):
        """(netns, link) of the device named as desired: in its namespace, else a tun/tap in the host to move."""
        link = self.space(desired.netns).get(desired.name)
        if link is not None:
            if link.kind != "tun":
                raise ConflictError(
                    "'%s' in %s already exists as a %s device, not a tun/tap; remove it or choose another name "
                    "(nothing was changed)" % (desired.name, netns_label(desired.netns), link.kind or "non-virtual"),
                    netns=desired.netns, name=desired.name,
                )
            return desired.netns, link
        if desired.netns is not HOST:
            stray = self.space(HOST).get(desired.name)
            if stray is not None and stray.kind == "tun":
                return HOST, stray
        return None, None

    @staticmethod
    def _tap_fixed_changes(desired: Tap, link: Link):
        info = link.tun or TunInfo()
        fixed = []
        if info.mode != desired.mode:
            fixed.append(("mode", (info.mode, desired.mode)))
        if desired.multi_queue is not None and info.multi_queue != desired.multi_queue:
            fixed.append(("multi_queue", (info.multi_queue, desired.multi_queue)))
        return fixed

    def _plan_link_absent(self, desired, kind: str, label: str, view) -> ObjectResult:
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
        self._forget_link(desired.netns, link)
        return result

    def _forget_link(self, netns, link: Link) -> None:
        space = self.space(netns)
        space.links.pop(link.name, None)
        for other in list(space.links.values()):
            if other.master == link.index:
                space.links[other.name] = replace(other, master=None, port=None)

    def _plan_tun_params(self, result: ObjectResult, desired: Tap, link: Link) -> Link:
        info = link.tun or TunInfo()
        wanted = {"pi": desired.pi, "vnet_hdr": desired.vnet_hdr, "owner": desired.owner, "group": desired.group}
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
        link = replace(link, tun=new)
        self.space(desired.netns).links[link.name] = link
        return link

    def _plan_master(self, result: ObjectResult, desired: Tap, link: Link) -> Link:
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
                                     Link(desired.master, 0, "bridge", 1500, False, bridge=BridgeInfo()),
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
                link = replace(link, master=bridge.index, port=PortInfo(priority=32))
        space.links[link.name] = link
        return link

    def _plan_tap_absent(self, desired: Tap) -> ObjectResult:
        return self._plan_link_absent(
            desired, "tun", "tun/tap",
            lambda link, space: tap_view(desired, link, desired.netns if link is not None else None, space))

    # -- vxlan --------------------------------------------------------------

    def _plan_vxlan(self, desired: Vxlan) -> ObjectResult:
        if desired.state == "absent":
            return self._plan_vxlan_absent(desired)
        self.require_netns(desired.netns, "vxlan %s" % desired.name)
        netns = desired.netns
        space = self.space(netns)
        link = space.get(desired.name)
        if link is not None and link.kind != "vxlan":
            raise ConflictError(
                "'%s' in %s already exists as a %s device, not a vxlan; remove it or choose another name "
                "(nothing was changed)" % (desired.name, netns_label(netns), link.kind or "non-virtual"),
                netns=netns, name=desired.name,
            )
        result = ObjectResult(desired.key, before=vxlan_view(desired, link, space), after={})
        dev = None
        if desired.dev is not None:
            dev = space.get(desired.dev)
            if dev is None and self.assume_missing:
                dev = self.assume(netns, desired.dev, Link(desired.dev, 0, None, 1500, True),
                                  "dev '%s' of vxlan '%s'" % (desired.dev, desired.name))
            if dev is None:
                raise DeviceMissingError(
                    "dev '%s' of vxlan '%s' does not exist in %s; the underlay interface must be in the vxlan's "
                    "own namespace (nothing was changed)" % (desired.dev, desired.name, netns_label(netns)),
                    netns=netns, name=desired.dev,
                )

        if link is not None:
            fixed = self._vxlan_fixed_changes(desired, link, space, dev)
            if fixed and not desired.recreate:
                raise ConflictError(
                    "vxlan '%s' in %s has %s, but the task wants %s; the kernel fixes these when a vxlan device "
                    "is created. Set recreate=true to delete and create it again (traffic through it stops "
                    "for a moment), or delete it first with state=absent (nothing was changed)"
                    % (desired.name, netns_label(netns),
                       ", ".join("%s %s" % (k, _none_word(v[0])) for k, v in fixed),
                       ", ".join("%s %s" % (k, _none_word(v[1])) for k, v in fixed)),
                    netns=netns, name=desired.name,
                )
            if fixed:
                result.actions.append(DeleteLink(netns, desired.name))
                self._forget_link(netns, link)
                link = None

        if link is None:
            result.actions.append(CreateVxlan(netns, desired.name, desired.vni, desired.local, desired.remote,
                                              desired.group, desired.dstport, desired.dev))
            link = Link(desired.name, index=self._new_index(), kind="vxlan", mtu=_vxlan_mtu(desired, dev),
                        up=False, vxlan=VxlanInfo(vni=desired.vni, local=desired.local, remote=desired.remote,
                                                  group=desired.group, dstport=desired.dstport,
                                                  dev=dev.index if dev is not None else None))
            space.links[link.name] = link
        link = self._plan_master(result, desired, link)
        link = self._settle(result, netns, link, desired.addresses, desired)
        result.after = vxlan_view(desired, link, self.space(netns))
        return result

    @staticmethod
    def _vxlan_fixed_changes(desired: Vxlan, link: Link, space: NamespaceState, dev: Optional[Link]):
        info = link.vxlan or VxlanInfo()
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

    def _plan_vxlan_absent(self, desired: Vxlan) -> ObjectResult:
        return self._plan_link_absent(desired, "vxlan", "vxlan",
                                      lambda link, space: vxlan_view(desired, link, space))


# Devices the kernel puts in every new namespace when a tunnel module is loaded.
KERNEL_FALLBACK_DEVICES = {
    "tunl0": "ipip", "sit0": "sit", "ip6tnl0": "ip6tnl", "gre0": "gre", "gretap0": "gretap",
    "erspan0": "erspan", "ip_vti0": "vti", "ip6_vti0": "vti6", "ip6gre0": "ip6gre",
}


def _kernel_made(link: Link) -> bool:
    return KERNEL_FALLBACK_DEVICES.get(link.name) == link.kind


def route_view(route: Route, entry: Optional[RouteEntry], dev: Optional[str]) -> dict:
    view = {"dst": route.dst, "table": route.table, "metric": route.effective_metric}
    if entry is None:
        view["state"] = "absent"
        return view
    view.update(state="present", gateway=entry.gateway, dev=dev)
    return view


def owned_interfaces(desired) -> List[Tuple[Optional[str], str]]:
    """The interfaces a desired object stands for: (netns, name); a namespace by its loopback."""
    kind = desired.kind
    if kind == "netns":
        return [(desired.name, "lo")]
    if kind == "veth":
        return [(desired.netns, desired.name), (desired.peer_netns, desired.peer)]
    if kind in ("bridge", "tap", "vxlan"):
        return [(desired.netns, desired.name)]
    return []


def plan(desired: Sequence, world: World, owner: Optional[str] = None, prune: bool = False,
         assume_missing: bool = False, adopt=frozenset()) -> Plan:
    """Plan the changes that bring ``world`` to ``desired``.

    With ``owner`` (a topology lab's marker) everything created is marked, and
    with ``prune`` marked objects the description no longer names are removed.
    """
    planner = Planner(world, owner, assume_missing=assume_missing, adopt=adopt)
    result = planner.plan(desired)
    if owner is not None and prune:
        keep_namespaces = {obj.name for obj in desired if obj.kind == "netns"}
        keep_links = {end for obj in desired for end in owned_interfaces(obj)}
        removed = planner.plan_removal(keep_namespaces, keep_links, result.reaped)
        deleted = {(a.netns, a.name) for obj in removed for a in obj.actions if isinstance(a, DeleteLink)}
        deleted.update(result.reaped)
        doomed = {a.name for obj in removed for a in obj.actions if isinstance(a, DeleteNetns)}
        for obj in result.objects:
            # A deleted link leaves its bridge by itself, and everything in a
            # deleted namespace goes with it: no separate step for those.
            obj.actions = [a for a in obj.actions if not (
                isinstance(a, DetachPort) and ((a.netns, a.name) in deleted or a.netns in doomed))]
        result.objects.extend(removed)
        result.projected = World(namespaces=frozenset(planner.namespaces), spaces=planner.spaces)
    return result


# ------------------------------------------------------------------ vxlan ---

# Bytes of outer headers a vxlan device leaves room for below its underlay's MTU.
VXLAN_HEADROOM = {4: 50, 6: 70}


@dataclass(frozen=True)
class CreateVxlan(Action):
    netns: Optional[str]
    name: str
    vni: int
    local: Optional[str] = None
    remote: Optional[str] = None
    group: Optional[str] = None
    dstport: int = 4789
    dev: Optional[str] = None
    phase = PHASE_CREATE_LINK

    def creates(self):
        return ((self.netns, self.name),)

    def describe(self) -> str:
        words = ["create vxlan %s in %s with vni %d" % (self.name, _where(self.netns), self.vni)]
        for option in ("local", "remote", "group", "dstport", "dev"):
            value = getattr(self, option)
            if value is not None:
                words.append("%s %s" % (option, value))
        return ", ".join(words)


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
    info = link.vxlan or VxlanInfo()
    master = space.by_index(link.master) if space is not None and link.master is not None else None
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
        "mtu": link.mtu,
        "up": link.up,
        "addresses": _addresses_view(link, desired.addresses),
        "master": master.name if master is not None else None,
    }
