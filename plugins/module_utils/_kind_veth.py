# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``veth``: a veth pair, each end straight in its namespace."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kind_shaping
from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_CREATE_LINK, Action, DeleteLink, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    Device,
    Link,
    check_ipv6_mtu,
    netns_label,
    normalize_addresses,
    validate_ifname,
    validate_netns_name,
)
from ansible_collections.netvirt.linux.plugins.module_utils._options import ADDRESSES, DEVICE_RETURNS, IFNAME, MTU, NETNS, STATE, UP, VALUE
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, addresses_view

OPTIONS = dict(
    name=IFNAME("the first end"),
    netns=NETNS("the O(name) end"),
    peer=dict(type="str", description=[
        "Name of the other end, in O(peer_netns). At most 15 characters.",
        "Required with O(state=present). With O(state=absent), when given, the module refuses to delete"
        " a veth whose peer has another name or does not live in O(peer_netns).",
    ], section_description=["Name of the other end, in O(peer_netns). At most 15 characters."]),
    peer_netns=dict(type="str", description=[
        "Namespace of the O(peer) end. Omitted, the peer is made in the same namespace as the O(name) end"
        " (O(netns)), as C(ip -n NETNS link add NAME type veth peer PEER) does; V('') (the empty string) is the"
        " host's own namespace.",
        "The namespace must exist.",
        "Earlier releases took an omitted O(peer_netns) for the host's own namespace whatever O(netns) said.",
    ], section_description=[
        "Namespace of the O(peer) end, one of O(namespaces). Omitted, the same namespace as O(netns);"
        " V('') (the empty string) is the host's own namespace.",
    ]),
    addresses=ADDRESSES("the O(name) end"),
    peer_addresses=dict(type="list", elements="str", description=[
        "The exact set of addresses on the O(peer) end, as for O(addresses).",
    ]),
    mtu=MTU("both ends"),
    up=UP("both ends", "V(false) keeps (or sets) them down.", plural=True),
    state=STATE("the pair", "Deleting one end deletes both."),
    shaping=dict(type="dict", suboptions=_kind_shaping.LINK_OPTIONS, description=[
        "What the O(name) end sends, made slow or imperfect, as M(netvirt.linux.shaping) makes it (its options but"
        " C(interface), C(netns), C(state) and C(force)); omit it to leave that end's qdisc alone.",
    ]),
    peer_shaping=dict(type="dict", suboptions=_kind_shaping.LINK_OPTIONS, description=[
        "What the O(peer) end sends, as for O(shaping): a link shaped both ways is one entry.",
    ]),
)


RETURNS = DEVICE_RETURNS("veth", [
    "create veth veth0 in host with peer iris_veth in iris_network", "add address 10.1.1.2/24 to veth0 in host",
], dict(
    peer=VALUE("str", "Name of the other end.", "iris_veth"),
    peer_netns=VALUE("str", "Namespace of the other end; null for the host's own.", "iris_network"),
    peer_mtu=VALUE("int", "MTU of the other end.", 1500),
    peer_addresses=VALUE("list", "Addresses of the other end, likewise.", ["10.1.1.1/24"], elements="str"),
    shaping=VALUE("dict", "The first end's shaping (a root qdisc of M(netvirt.linux.shaping)), as O(shaping) takes"
                  " it. Only when set.", {"rate": "10mbit"}),
    peer_shaping=VALUE("dict", "The other end's, likewise. Only when set.", {"rate": "10mbit", "delay": "20ms"}),
), what="pair", the="the first end", name="veth0", addresses=["10.1.1.2/24"], up="both ends are")


@dataclass(frozen=True)
class Veth(Device):
    """A veth pair: ``name`` in ``netns`` and ``peer`` in ``peer_netns``."""

    peer: Optional[str] = None
    peer_netns: Optional[str] = HOST
    peer_addresses: Optional[Tuple[str, ...]] = None
    # Each end's shaping (the options of netvirt.linux.shaping), built into a _kind_shaping.Shaping.
    shaping: Any = None
    peer_shaping: Any = None

    kind = "veth"

    def __post_init__(self):
        super().__post_init__()
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
        # Store the normalized form so that equal inputs compare equal.
        object.__setattr__(self, "peer_addresses", normalize_addresses(self.peer_addresses, "peer_addresses"))
        check_ipv6_mtu(self.mtu, self.peer_addresses, "peer_addresses")
        object.__setattr__(self, "shaping", _kind_shaping.shaping_of(self.name, self.netns, self.shaping, "shaping"))
        object.__setattr__(self, "peer_shaping", _kind_shaping.shaping_of(
            self.peer or self.name, self.peer_netns, self.peer_shaping, "peer_shaping"))


def expand(desired: Veth) -> list:
    """Each end's shaping, planned after the pair; a pair that goes takes its qdiscs with it."""
    if desired.state != "present":
        return []
    return [shaping for shaping in (desired.shaping, desired.peer_shaping) if shaping is not None]


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
            self.name, where(self.netns), self.peer, where(self.peer_netns))

    def creates(self):
        return ((self.netns, self.name), (self.peer_netns, self.peer))

    def apply(self, kernel) -> None:
        kernel.new_link(self.netns, self.name, "veth", mtu=self.mtu, peer=(self.peer, self.peer_netns))

    def undo(self, before):
        # The peer goes with it.
        return (DeleteLink(self.netns, self.name),)

    def hint(self, code: int) -> Optional[str]:
        return "the kernel refused the MTU for this device" if code == errno.EINVAL else None


def veth_view(desired: Veth, end: Optional[Link], end_netns, peer: Optional[Link], peer_netns,
              shaping: Optional[dict] = None, peer_shaping: Optional[dict] = None) -> dict:
    """The pair's view; each end's shaping (_kind_shaping.end_shaping) only when it has one."""
    if end is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    view = {
        "name": end.name,
        "netns": end_netns,
        "state": "present",
        "peer": peer.name if peer else None,
        "peer_netns": peer_netns,
        "mtu": end.mtu,
        "peer_mtu": peer.mtu if peer else None,
        "up": end.up and (peer.up if peer else False),
        "addresses": addresses_view(end, desired.addresses),
        "peer_addresses": addresses_view(peer, desired.peer_addresses),
    }
    for option, value in (("shaping", shaping), ("peer_shaping", peer_shaping)):
        if value is not None:
            view[option] = value
    return view


def _shaped_view(p, desired: Veth, ends, planned: bool = False, kept=(True, True)) -> dict:
    """veth_view with each end's shaping: ``ends`` (end, its netns, peer, its netns)."""
    link, ns, peer, peer_ns = ends
    return veth_view(desired, link, ns, peer, peer_ns,
                     _kind_shaping.end_shaping(p, ns, link, planned, kept[0]),
                     _kind_shaping.end_shaping(p, peer_ns, peer, planned, kept[1]))


def _search_order(p, desired: Veth) -> List[Optional[str]]:
    order: List[Optional[str]] = []
    for ns in (desired.netns, desired.peer_netns, HOST):
        if ns not in order and p.exists(ns):
            order.append(ns)
    return order


def prepare(p, veths) -> None:
    """Where each pair of this plan wants its ends: a pair standing where another one of them wants an end
    is that other one (made earlier in this plan, or on an earlier run), never this one to be moved."""
    p.notes["veth_ends"] = {end: obj.key for obj in veths if obj.state == "present" for end in owned(obj)}


def _claimed_by_another(p, desired: Veth, *ends) -> bool:
    claims = p.notes.get("veth_ends", {})
    return any(claims.get(end, desired.key) != desired.key for end in ends)


def _find_pair(p, desired: Veth):
    """The existing pair (netns, link, peer_netns, peer) named as desired, wherever it sits."""
    best = None
    for ns in _search_order(p, desired):
        link = p.space(ns).get(desired.name)
        if link is None or link.kind != "veth":
            continue
        peer_ns, peer = p.partner(ns, link)
        if peer is None or (desired.peer is not None and peer.name != desired.peer):
            continue
        if peer_ns not in (desired.netns, desired.peer_netns, HOST):
            continue  # never pull an end out of a namespace the task does not name
        if _claimed_by_another(p, desired, (ns, link.name), (peer_ns, peer.name)):
            continue  # another pair of the lab, with the same names the other way round
        in_place = (ns == desired.netns) + (peer_ns == desired.peer_netns)
        if best is None or in_place > best[0]:
            best = (in_place, ns, link, peer_ns, peer)
    if best is None:
        return None
    return best[1], best[2], best[3], best[4]


def _refuse_foreign(p, netns, name: str, want_peer: Optional[str], want_netns, role: str) -> None:
    """A device holding one of our names that is not our pair: refuse, touch nothing."""
    link = p.space(netns).get(name)
    if link is None:
        return
    if link.kind != "veth":
        raise ConflictError(
            "%s '%s' in %s already exists as a %s device, not a veth; remove it or choose "
            "another name (nothing was changed)" % (role, name, netns_label(netns), link.kind or "non-virtual"),
            netns=netns, name=name,
        )
    peer_ns, peer = p.partner(netns, link)
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


def plan_veth(p, desired: Veth) -> ObjectResult:
    if desired.state == "absent":
        return _plan_veth_absent(p, desired)
    p.require_netns(desired.netns, "veth %s" % desired.name)
    p.require_netns(desired.peer_netns, "veth %s peer %s" % (desired.name, desired.peer))
    if desired.peer is None:  # Veth.__post_init__ requires it with state=present
        raise ValidationError("peer is required when state is present")

    found = _find_pair(p, desired)
    if found:
        ns, link, peer_ns, peer = found
        before = _shaped_view(p, desired, (link, ns, peer, peer_ns))
    else:
        _refuse_foreign(p, desired.netns, desired.name, desired.peer, desired.peer_netns, "name")
        _refuse_foreign(p, desired.peer_netns, desired.peer, desired.name, desired.netns, "peer")
        before = veth_view(desired, None, None, None, None)
    result = ObjectResult(desired.key, before=before, after={})

    if not found:
        result.actions.append(CreateVeth(desired.name, desired.netns, desired.peer, desired.peer_netns,
                                         desired.mtu))
        mtu = desired.mtu or 1500
        ns, peer_ns = desired.netns, desired.peer_netns
        link = Link(desired.name, index=p.new_index(), kind="veth", mtu=mtu, up=False, peer=(peer_ns, desired.peer))
        peer = Link(desired.peer, index=p.new_index(), kind="veth", mtu=mtu, up=False, peer=(ns, desired.name))
        p.space(ns).links[link.name] = link
        p.space(peer_ns).links[peer.name] = peer
    else:
        link = p.move(result, ns, link, desired.netns)
        peer = p.move(result, peer_ns, p.space(peer_ns).links[peer.name], desired.peer_netns)
        ns, peer_ns = desired.netns, desired.peer_netns
        # Each move re-pointed the other end: take both ends as they are now.
        link, peer = p.space(ns).links[link.name], p.space(peer_ns).links[peer.name]

    link = p.settle(result, ns, link, desired.addresses, desired)
    peer = p.settle(result, peer_ns, peer, desired.peer_addresses, desired)
    kept = (bool(found) and found[0] == ns, bool(found) and found[2] == peer_ns)
    result.after = _shaped_view(p, desired, (link, ns, peer, peer_ns), planned=True, kept=kept)
    return result


def _plan_veth_absent(p, desired: Veth) -> ObjectResult:
    if not p.exists(desired.netns):
        # The namespace is gone, and the veth with it.
        view = veth_view(desired, None, None, None, None)
        return ObjectResult(desired.key, before=view, after=view)
    link = p.space(desired.netns).get(desired.name)
    if link is None:
        view = veth_view(desired, None, None, None, None)
        return ObjectResult(desired.key, before=view, after=view)
    if link.kind != "veth":
        raise ConflictError(
            "'%s' in %s is a %s device, not a veth; refusing to delete it"
            % (desired.name, netns_label(desired.netns), link.kind or "non-virtual"),
            netns=desired.netns, name=desired.name,
        )
    peer_ns, peer = p.partner(desired.netns, link)
    if desired.peer is not None and peer is not None and peer.name != desired.peer:
        raise ConflictError(
            "'%s' in %s is paired with '%s', not with '%s'; refusing to delete it"
            % (desired.name, netns_label(desired.netns), peer.name, desired.peer),
            netns=desired.netns, name=desired.name,
        )
    if desired.peer is not None and (peer is None or peer_ns != desired.peer_netns):
        # The task names the pair by both ends: a same-named peer elsewhere is another pair.
        place = netns_label(peer_ns) if peer is not None else "a namespace this task does not name"
        raise ConflictError(
            "'%s' in %s is paired with '%s' in %s, not in %s; refusing to delete it"
            % (desired.name, netns_label(desired.netns), desired.peer, place, netns_label(desired.peer_netns)),
            netns=desired.netns, name=desired.name,
        )
    result = ObjectResult(desired.key, before=_shaped_view(p, desired, (link, desired.netns, peer, peer_ns)),
                          after=veth_view(desired, None, None, None, None))
    result.actions.append(DeleteLink(desired.netns, desired.name))
    del p.space(desired.netns).links[desired.name]
    if peer is not None:
        p.space(peer_ns).links.pop(peer.name, None)
    return result


# How the host's own namespace is spelled in O(peer_netns): null (omitted) already means "beside the
# first end", and no named namespace can be called "".
HOST_SPELLING = ""


def peer_netns_of(netns: Optional[str], peer_netns: Optional[str]) -> Optional[str]:
    """The namespace an option value ``peer_netns`` names: omitted (None) is ``netns``, as with
    ``ip -n NETNS link add ... type veth peer ...``; the empty string is the host."""
    if peer_netns is None:
        return netns
    return HOST if peer_netns == HOST_SPELLING else peer_netns


def peer_netns_option(netns: Optional[str], peer_netns: Optional[str]) -> Optional[str]:
    """The O(peer_netns) value that names ``peer_netns`` for a first end in ``netns`` (None: omit it)."""
    if peer_netns == netns:
        return None
    return HOST_SPELLING if peer_netns is HOST else peer_netns


def from_params(params: dict) -> Veth:
    """An omitted O(peer_netns) follows O(netns)."""
    params = {key: value for key, value in params.items() if value is not None or key == "peer_netns"}
    params["peer_netns"] = peer_netns_of(params.get("netns"), params.get("peer_netns"))
    return Veth(**{key: value for key, value in params.items() if key in Veth.__dataclass_fields__})


def owned(desired) -> list:
    return [(desired.netns, desired.name), (desired.peer_netns, desired.peer)]


def endpoints(desired) -> list:
    return [(desired.netns, desired.name, desired.addresses), (desired.peer_netns, desired.peer, desired.peer_addresses)]


def reads(desired) -> list:
    """Each end's root qdisc, for the view's shaping of each end: decoded only in a namespace where one is the
    shaping module's (_kind_shaping.read), and with the shaping kind's own read, in one dump."""
    return [(desired.netns, "owned_qdiscs"), (desired.peer_netns, "owned_qdiscs")]


def names(desired) -> dict:
    """Both names wherever the planner looks for the pair (_search_order) or an occupant (Planner.move)."""
    wanted = {name for name in (desired.name, desired.peer) if name is not None}
    return {netns: set(wanted) for netns in (desired.netns, desired.peer_netns, HOST)}


def describe(reader, netns, link: Link) -> Optional[dict]:
    """lab_info: a veth pair, from either end (the first read); both ends are described by one entry."""
    if link.peer is None:
        reader.skip(netns, link, "its peer is in a namespace that was not read (unnamed, or left out)")
        return None
    peer_ns, peer_name = link.peer
    if peer_ns not in reader.spaces:
        reader.skip(netns, link, "its peer '%s' is in %s, which is left out" % (peer_name, reader.label(peer_ns)))
        return None
    peer = reader.world.spaces[peer_ns].links[peer_name]
    if not reader.mine(peer):
        reader.skip(netns, link, "its peer '%s' in %s is not the lab's" % (peer_name, reader.label(peer_ns)))
        return None
    reader.claim(peer_ns, peer_name)
    entry = reader.entry(netns, link)
    entry["peer"] = peer_name
    peer_option = peer_netns_option(netns, peer_ns)
    if peer_option is not None:
        entry["peer_netns"] = peer_option
    entry["addresses"] = reader.addresses(link)
    entry["peer_addresses"] = reader.addresses(peer)
    if link.mtu != reader.DEFAULT_MTU or peer.mtu != reader.DEFAULT_MTU:
        entry["mtu"] = link.mtu
        if peer.mtu != link.mtu:
            reader.warn("veth %s in %s has MTU %s, its peer %s in %s MTU %s: described with %s" % (
                link.name, reader.label(netns), link.mtu, peer_name, reader.label(peer_ns), peer.mtu, link.mtu))
    entry["up"] = link.up and peer.up
    for option, space, end in (("shaping", reader.world.spaces[netns], link),
                               ("peer_shaping", reader.world.spaces[peer_ns], peer)):
        shaped = _kind_shaping.read_back(space, end)
        if shaped is not None:
            entry[option] = shaped
    if link.up != peer.up:
        reader.warn("veth %s in %s is %s, its peer %s in %s %s: a topology sets both ends alike, described as down"
                    % (link.name, reader.label(netns), "up" if link.up else "down", peer_name, reader.label(peer_ns),
                       "up" if peer.up else "down"))
    return entry


KIND = Kind(
    endpoints=endpoints,
    name="veth", desired=Veth, plan=plan_veth, options=OPTIONS, returns=RETURNS, section_required=("peer",),
    owned=owned, namespaces=lambda desired: [desired.netns, desired.peer_netns, HOST], names=names,
    link_kind="veth", peered=True, snapshot=(), section_noun="veth pairs", prepare=prepare,
    from_params=from_params,
    describe=describe,
    expand=expand,
    reads=reads,
    read=_kind_shaping.read,
)
