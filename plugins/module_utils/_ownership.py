# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership of a topology lab: marks on what it creates, and removal by mark.

A lab marks every link it creates, and the loopback device of every namespace
it creates, with the interface alias ``netvirt:lab=NAME``. Which interfaces an
object stands for is its kind's to say (``Kind.owned``, through the registry).

One rule decides, for a re-run, a prune and a teardown alike (``marked``): an
interface is the lab's when its marker says so, or when the lab's record lists
it as being made by a run that was killed before it could mark it (the record
never takes a marked interface away: it only adds what a crash left unmarked).
An object spanning several interfaces is the lab's only when every one of them
is: a veth pair whose other end lost the marker (``ip link set h0 alias mine``)
is refused by a re-run, and a prune or a teardown refuses to delete it, since
deleting one end deletes the other. Removal also refuses to destroy, through
what it deletes, a device that is not the lab's: one in a namespace it deletes,
or one made on a device it deletes (a macvlan on its veth).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Set

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._actions import DeleteLink, SetAlias
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_netns import DeleteNetns, netns_view
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, netns_label
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, kernel_made, tenant_text


def owned_interfaces(desired) -> list:
    """The interfaces a desired object stands for: (netns, name); a namespace by its loopback."""
    return _kinds.get(desired.kind).owned(desired)


def interfaces_made(desired) -> Dict[Optional[str], Set[str]]:
    """(namespace -> interface names) the task's objects stand for (what _sysctl.preflight checks keys against)."""
    made: Dict[Optional[str], Set[str]] = {}
    for obj in desired:
        if getattr(obj, "state", "present") != "present":
            continue
        for netns, name in owned_interfaces(obj):
            made.setdefault(netns, set()).add(name)
    return made


def stamp(p, desired, result: ObjectResult) -> None:
    """Mark what this plan creates for the object; refuse what exists without the mark."""
    if getattr(desired, "state", "present") != "present":
        return
    created = {end for action in result.actions for end in action.creates()}
    for netns, name in _kinds.get(desired.kind).owned(desired):
        link = p.space(netns).get(name)
        if (netns, name) in created or (link is not None and link.alias != p.owner and marked(p, netns, name)):
            result.actions.append(SetAlias(netns, name, p.owner))
            if link is not None:
                p.space(netns).links[name] = replace(link, alias=p.owner)
        elif link is not None and not marked(p, netns, name):
            what = "namespace '%s'" % netns if name == "lo" else "'%s' in %s" % (name, netns_label(netns))
            raise ConflictError(
                "%s exists but this lab did not create it (its marker is %r, not %r); the lab never takes "
                "over objects it did not make: remove or rename it (nothing was changed)"
                % (what, link.alias, p.owner), netns=netns, name=name)


def plan_removal(p, keep_namespaces, keep_links, reaped: list) -> List[ObjectResult]:
    """Everything carrying this lab's mark that is not kept: namespaces whole, links one by one.

    A veth whose peer lives in a namespace being deleted is not deleted on
    its own (each deletion costs the kernel a grace period); it goes with
    the namespace, all in one batch, and is added to ``reaped``. So does a
    device made on another that is deleted (``Kind.lower``: a macvlan and
    its parent).
    """
    results: List[ObjectResult] = []
    doomed = [ns for ns in sorted(p.namespaces)
              if ns not in keep_namespaces and marked(p, ns, "lo")]
    refuse_foreign_tenants(p, doomed)
    # A stale entry the lab's own journal names: what is left of one of its namespaces.
    doomed += sorted(ns for ns in p.stale if ns not in keep_namespaces and (ns, "lo") in p.adopt)
    gone = set()
    removed = []
    for netns in [HOST] + sorted(ns for ns in p.spaces if ns is not HOST):
        if netns in doomed or netns not in p.spaces:
            continue
        for link in sorted(p.space(netns).links.values(), key=lambda item: item.name):
            key = (netns, link.name)
            if link.name == "lo" or not marked(p, netns, link.name) or key in keep_links or key in gone:
                continue
            peer_ns, peer = p.partner(netns, link)
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
            removed.append((results[-1], netns, link))
            gone.add(key)
            if peer is not None:
                gone.add((peer_ns, peer.name))
    refuse_strangers_taken_along(p, doomed, [(netns, link) for _result, netns, link in removed])
    for result, netns, link in removed:
        kind = _kinds.by_link_kind(link.kind)
        lower = p.space(netns).by_index(kind.lower(link)) if kind is not None and kind.lower is not None else None
        if lower is not None and (netns, lower.name) in gone and result.actions:
            # The kernel deletes it with the device it is made on (a macvlan with its parent): deleting it
            # again would fail, whichever of the two came first.
            result.actions = []
            reaped.append((netns, link.name))
    # What goes with the namespaces is named too, as the build named it: every pair once, every device, every
    # route the record lists (summaries count the same objects both ways).
    for netns in doomed:
        for link in sorted(p.space(netns).links.values(), key=lambda item: item.name) if netns in p.spaces else ():
            if link.name == "lo" or (netns, link.name) in gone or not marked(p, netns, link.name):
                continue
            results.append(ObjectResult(
                ("link", netns, link.name),
                before={"name": link.name, "netns": netns, "kind": link.kind, "state": "present"},
                after={"name": link.name, "netns": netns, "kind": link.kind, "state": "absent"}))
            gone.add((netns, link.name))
            peer_ns, peer = p.partner(netns, link)
            if peer is not None:
                gone.add((peer_ns, peer.name))
        for key in sorted((key for key in p.unmarked if key[1] == netns), key=repr):
            results.append(ObjectResult(tuple(key), before={"state": "present"}, after={"state": "absent"}))
    for netns in doomed:
        results.append(ObjectResult(
            ("netns", netns), before=netns_view(netns, True, p.spaces.get(netns)),
            after=netns_view(netns, False, None), actions=[DeleteNetns(netns)]))
        p.namespaces.discard(netns)
        p.spaces.pop(netns, None)
    for netns, name in gone:
        if netns in p.spaces:
            p.space(netns).links.pop(name, None)
    return results


def refuse_foreign_tenants(p, doomed) -> None:
    """Deleting a namespace deletes every device in it: refuse when one is not the lab's."""
    problems = []
    for netns in doomed:
        for link in sorted(p.space(netns).links.values(), key=lambda item: item.name):
            if marked(p, netns, link.name) or link.name == "lo" or kernel_made(link):
                continue
            problems.append(tenant_text(p, netns, link, "a namespace that is not the lab's"))
    if problems:
        raise ConflictError(
            "the lab's namespaces hold devices the lab did not make, which deleting them would destroy: %s; "
            "move them out or delete them first, then run again (nothing was changed)" % ", ".join(problems))


def refuse_strangers_taken_along(p, doomed, removed) -> None:
    """Deleting what the lab made must not destroy what it did not: the other end of a pair, a device made on it.

    ``removed``: the (netns, link) the lab deletes outside ``doomed``, the namespaces it deletes whole."""
    problems = []
    gone = {(netns, link.index) for netns, link in removed}
    candidates = list(removed) + [(netns, link) for netns in doomed if netns in p.spaces
                                  for link in p.space(netns).links.values() if marked(p, netns, link.name)]
    for netns, link in sorted(candidates, key=lambda item: (item[0] is not None, item[0] or "", item[1].name)):
        kind = _kinds.by_link_kind(link.kind)
        if kind is None or not kind.peered or link.link_index is None:
            continue
        peer_ns, peer = p.partner(netns, link)
        if peer is None and link.link_netnsid is not None:
            problems.append("the other end of '%s' in %s is in a namespace that is not the lab's" % (
                link.name, netns_label(netns)))
        elif peer is not None and not marked(p, peer_ns, peer.name) and peer_ns not in doomed:
            problems.append("'%s' in %s, the other end of the lab's '%s' in %s, does not carry the lab's marker "
                            "(its marker is %r)" % (peer.name, netns_label(peer_ns), link.name, netns_label(netns),
                                                    peer.alias))
    for netns, space in sorted(p.spaces.items(), key=lambda item: (item[0] is not None, item[0] or "")):
        if netns in doomed:
            continue  # refuse_foreign_tenants names those
        for link in sorted(space.links.values(), key=lambda item: item.name):
            kind = _kinds.by_link_kind(link.kind)
            lower = kind.lower(link) if kind is not None and kind.lower is not None else None
            if lower is None or (netns, lower) not in gone or marked(p, netns, link.name):
                continue
            parent = space.by_index(lower)
            problems.append("'%s' (%s) in %s is made on the lab's '%s', and the kernel deletes it with it" % (
                link.name, link.kind, netns_label(netns), parent.name if parent is not None else lower))
    if problems:
        raise ConflictError(
            "removing the lab's devices would destroy devices the lab did not make: %s; the lab removes only what "
            "it made: give those back the lab's marker (%s) if they are the lab's, or delete or move them "
            "yourself, then run again (nothing was changed)" % ("; ".join(problems), p.owner))


def plan_kind_prunes(p, desired) -> List[ObjectResult]:
    """What kinds made on the lab's devices that stay (``Kind.prune``) and ``desired`` no longer names.

    Called once ``plan_removal`` has taken the devices that go out of the projection: only those that stay,
    carry the lab's mark and sit where they were read (a device moved by this plan is looked at no further)."""
    interfaces = []
    for netns in [HOST] + sorted(ns for ns in p.spaces if ns is not HOST):
        if netns not in p.spaces or (netns is not HOST and netns not in p.namespaces):
            continue
        read = p.world.spaces.get(netns)
        for link in sorted(p.space(netns).links.values(), key=lambda item: item.name):
            was = read.get(link.name) if read is not None else None
            if was is not None and was.index == link.index and marked(p, netns, link.name):
                interfaces.append((netns, link))
    results: List[ObjectResult] = []
    for kind in _kinds.KINDS:
        if kind.prune is not None:
            results.extend(kind.prune(p, [obj for obj in desired if obj.kind == kind.name], interfaces))
    return results


def marked(p, netns: Optional[str], name: str) -> bool:
    link = p.spaces.get(netns).get(name) if netns in p.spaces else None
    return link is not None and (link.alias == p.owner or (netns, name) in p.adopt)
