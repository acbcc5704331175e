# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership of a topology lab: marks on what it creates, and removal by mark.

A lab marks every link it creates, and the loopback device of every namespace
it creates, with the interface alias ``netvirt:lab=NAME``. It never takes over
an object without its mark, and removes (``absent``, ``prune``) only what
carries it. Which interfaces an object stands for is its kind's to say
(``Kind.owned``, through the registry).
"""

from __future__ import annotations

from dataclasses import replace
from typing import List, Optional

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._actions import DeleteLink, SetAlias
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_netns import DeleteNetns, netns_view
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, Link, netns_label
from ansible_collections.netvirt.linux.plugins.module_utils._plan import ObjectResult

# Devices the kernel puts in every new namespace when a tunnel module is loaded.
KERNEL_FALLBACK_DEVICES = {
    "tunl0": "ipip", "sit0": "sit", "ip6tnl0": "ip6tnl", "gre0": "gre", "gretap0": "gretap",
    "erspan0": "erspan", "ip_vti0": "vti", "ip6_vti0": "vti6", "ip6gre0": "ip6gre",
}


def kernel_made(link: Link) -> bool:
    """A tunnel module's fallback device the kernel puts in every namespace (tunl0, sit0, ...).

    Only those names with their own kind: a device without a kind (a physical NIC moved into a
    namespace) or another kind under such a name is someone's, not the kernel's."""
    return link.name in KERNEL_FALLBACK_DEVICES and KERNEL_FALLBACK_DEVICES[link.name] == link.kind


def owned_interfaces(desired) -> list:
    """The interfaces a desired object stands for: (netns, name); a namespace by its loopback."""
    return _kinds.get(desired.kind).owned(desired)


def stamp(p, desired, result: ObjectResult) -> None:
    """Mark what this plan creates for the object; refuse what exists without the mark."""
    if getattr(desired, "state", "present") != "present":
        return
    created = {end for action in result.actions for end in action.creates()}
    for netns, name in _kinds.get(desired.kind).owned(desired):
        link = p.space(netns).get(name)
        if (netns, name) in created or (link is not None and link.alias != p.owner
                                        and (netns, name) in p.adopt):
            result.actions.append(SetAlias(netns, name, p.owner))
            if link is not None:
                p.space(netns).links[name] = replace(link, alias=p.owner)
        elif link is not None and link.alias != p.owner:
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
            if link.name == "lo" or link.alias != p.owner or key in keep_links or key in gone:
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
    for result, netns, link in removed:
        kind = _kinds.by_link_kind(link.kind)
        lower = p.space(netns).by_index(kind.lower(link)) if kind is not None and kind.lower is not None else None
        if lower is not None and (netns, lower.name) in gone and result.actions:
            # The kernel deletes it with the device it is made on (a macvlan with its parent): deleting it
            # again would fail, whichever of the two came first.
            result.actions = []
            reaped.append((netns, link.name))
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


def tenant_text(p, netns: str, link: Link, elsewhere: str = "another namespace") -> str:
    """A device in a namespace, for a refusal: ``'veth0' (veth) (its peer 'v1' is in the host namespace) in namespace 'a'``."""
    peer_ns, peer = p.partner(netns, link)
    where = " (its peer '%s' is in %s)" % (peer.name, netns_label(peer_ns)) if peer is not None else (
        " (its peer is in %s)" % elsewhere if link.link_netnsid is not None else "")
    return "'%s' (%s)%s in namespace '%s'" % (link.name, link.kind or "non-virtual", where, netns)


def marked(p, netns: Optional[str], name: str) -> bool:
    link = p.spaces.get(netns).get(name) if netns in p.spaces else None
    return link is not None and (link.alias == p.owner or (netns, name) in p.adopt)
