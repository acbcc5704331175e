# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What planning one object yields, and the views of the current state it is built from.

Shared by the planner (_plan.py), ownership (_ownership.py) and every kind
(_kind_*.py), so it sits below all of them: it imports only _model and
_actions, never the planner, the registry or a kind (tests/unit/test_import_graph.py).
A kind is handed the planner (``p``) and builds its ObjectResult with these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from ansible_collections.netvirt.linux.plugins.module_utils._actions import Action
from ansible_collections.netvirt.linux.plugins.module_utils._model import Link, NamespaceState, address_sort_key, netns_label


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


def addresses_view(link: Optional[Link], managed: Optional[Sequence[str]]) -> List[str]:
    if link is None:
        return []
    return sorted(link.managed_addresses(managed or ()), key=address_sort_key)


def device_view(link: Link, desired, space: Optional[NamespaceState] = None, port: bool = False) -> dict:
    """The values every device's view ends with: its MTU, state and addresses, and its master when it can be a port."""
    view = {"mtu": link.mtu, "up": link.up, "addresses": addresses_view(link, desired.addresses)}
    if port:
        view["master"] = master_name(space, link)
    return view


def master_name(space: Optional[NamespaceState], link: Link) -> Optional[str]:
    """The name of the bridge (or other master) ``link`` is enslaved to, or None."""
    master = space.by_index(link.master) if space is not None and link.master is not None else None
    return master.name if master is not None else None


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


def tenant_text(p, netns: str, link: Link, elsewhere: str = "another namespace") -> str:
    """A device in a namespace, for a refusal: ``'veth0' (veth) (its peer 'v1' is in the host namespace) in namespace 'a'``."""
    peer_ns, peer = p.partner(netns, link)
    where = " (its peer '%s' is in %s)" % (peer.name, netns_label(peer_ns)) if peer is not None else (
        " (its peer is in %s)" % elsewhere if link.link_netnsid is not None else "")
    return "'%s' (%s)%s in namespace '%s'" % (link.name, link.kind or "non-virtual", where, netns)
