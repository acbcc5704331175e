# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of kinds: the one list the engine, the adapter, ownership,
`topology`'s sections and the tests iterate.

Adding a kind is one file (_kind_NAME.py, ending with ``KIND = Kind(...)``),
one line here, a module, and a changelog fragment: see CONTRIBUTING.md.
The order is `topology`'s section order, and the order its objects are
planned in where none stands on another (_plan.dependency_order plans each
object after what it stands on: Kind.stands_on, Kind.reaches).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import (
    _kind_bridge,
    _kind_iptables_chain,
    _kind_macvlan,
    _kind_netns,
    _kind_route,
    _kind_shaping,
    _kind_tap,
    _kind_veth,
    _kind_vxlan,
)
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind

KINDS: Tuple[Kind, ...] = (
    _kind_netns.KIND,
    _kind_veth.KIND,
    _kind_tap.KIND,
    _kind_vxlan.KIND,
    _kind_macvlan.KIND,
    _kind_bridge.KIND,
    _kind_route.KIND,
    _kind_shaping.KIND,
    # Reconciled by the netfilter engine (_iptables.py), after the netlink kinds above.
    _kind_iptables_chain.KIND,
)

_BY_NAME: Dict[str, Kind] = {}
_BY_LINK_KIND: Dict[str, Kind] = {}
# The rebuilds of tables other modules derive from KINDS when imported (_specs.SECTION_OPTIONS): see derived().
_DERIVED: List[Callable[[], None]] = []


def get(name: str) -> Kind:
    return _BY_NAME[name]


def by_link_kind(link_kind: Optional[str]) -> Optional[Kind]:
    """The kind whose devices the kernel reports with this IFLA_INFO_KIND, if any."""
    return _BY_LINK_KIND.get(link_kind) if link_kind else None


def by_section(section: str) -> Kind:
    return next(kind for kind in KINDS if kind.section == section)


def derived(rebuild: Callable[[], None]) -> Callable[[], None]:
    """Declare a table a module builds from KINDS (filled in place by ``rebuild``): built now, and again whenever
    registered() changes KINDS, so that no module keeps a list of kinds of its own. A module that reads
    KINDS at import without this misses a kind a test registers (tests/unit/test_throwaway_kind.py)."""
    _DERIVED.append(rebuild)
    rebuild()
    return rebuild


def _index() -> None:
    _BY_NAME.clear()
    _BY_NAME.update((kind.name, kind) for kind in KINDS)
    _BY_LINK_KIND.clear()
    _BY_LINK_KIND.update((kind.link_kind, kind) for kind in KINDS if kind.link_kind)
    for rebuild in _DERIVED:
        rebuild()


@contextmanager
def registered(*kinds: Kind, before: Optional[str] = None) -> Iterator[Tuple[Kind, ...]]:
    """KINDS with these kinds too, inserted before the kind named ``before`` (or at the end), while the block
    runs; every index and derived table follows, and all is put back on exit. For tests: a throwaway kind
    defined in a test goes through every consumer of the registry as a kind file's would."""
    global KINDS
    saved = KINDS
    at = [kind.name for kind in saved].index(before) if before is not None else len(saved)
    KINDS = saved[:at] + tuple(kinds) + saved[at:]
    try:
        _index()
        yield KINDS
    finally:
        KINDS = saved
        _index()


_index()
