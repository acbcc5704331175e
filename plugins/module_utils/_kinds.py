# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry of kinds: the one list the engine, the adapter, ownership,
`topology`'s sections and the tests iterate.

Adding a kind is one file (_kind_NAME.py, ending with ``KIND = Kind(...)``),
its line in _TABLE and its import in _all_kinds here, a module, and a changelog
fragment: see CONTRIBUTING.md.
The order is `topology`'s section order, and the order its objects are
planned in where none stands on another (_plan.dependency_order plans each
object after what it stands on: Kind.stands_on, Kind.reaches).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind

# The kinds, in order, each with the IFLA_INFO_KIND of its devices (its Kind.link_kind, checked by
# tests/unit/test_registry.py): a kind's file is imported when the kind is first asked for, so that a
# single-object module runs only its own kind's code (and the kinds of what it meets in the kernel),
# not every kind's. KINDS (the module attribute, below) imports them all.
_TABLE: Tuple[Tuple[str, Optional[str]], ...] = (
    ("netns", None),
    ("veth", "veth"),
    ("tap", "tun"),
    ("vxlan", "vxlan"),
    ("macvlan", "macvlan"),
    ("bridge", "bridge"),
    ("route", None),
    ("shaping", None),
    # Reconciled by the netfilter engine (_iptables.py), after the netlink kinds above.
    ("iptables_chain", None),
)


def _all_kinds() -> Tuple[Kind, ...]:
    """Every kind file's KIND, in _TABLE's order. The imports are written out (not built from _TABLE)
    so that Ansible's module packer, which follows imports, ships every kind file with every module."""
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

    files = dict(netns=_kind_netns, veth=_kind_veth, tap=_kind_tap, vxlan=_kind_vxlan, macvlan=_kind_macvlan,
                 bridge=_kind_bridge, route=_kind_route, shaping=_kind_shaping, iptables_chain=_kind_iptables_chain)
    return tuple(files[name].KIND for name, _link_kind in _TABLE)


_LOADED: Dict[str, Kind] = {}  # the kinds imported so far, before KINDS is (then _BY_NAME says all)
_BY_NAME: Dict[str, Kind] = {}
_BY_LINK_KIND: Dict[str, Kind] = {}
# The rebuilds of tables other modules derive from KINDS when imported (_specs.SECTION_OPTIONS): see derived().
_DERIVED: List[Callable[[], None]] = []


def __getattr__(name: str) -> Tuple[Kind, ...]:
    """KINDS: every kind, imported on first use (PEP 562; a module attribute from then on)."""
    if name != "KINDS":
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    return _load_all()


def _load_all() -> Tuple[Kind, ...]:
    if "KINDS" not in globals():
        globals()["KINDS"] = _all_kinds()
        _index()
    return globals()["KINDS"]


def _loaded() -> bool:
    return "KINDS" in globals()


def names() -> List[str]:
    """The kinds' names in the registry's order, without importing any kind file."""
    if _loaded():
        return [kind.name for kind in _load_all()]
    return [name for name, _link_kind in _TABLE]


def get(name: str) -> Kind:
    if _loaded():
        return _BY_NAME[name]
    if name not in _LOADED:
        if name not in dict(_TABLE):
            raise KeyError(name)
        module = importlib.import_module(__name__.rpartition(".")[0] + "._kind_" + name)
        _LOADED[name] = module.KIND
    return _LOADED[name]


def by_link_kind(link_kind: Optional[str]) -> Optional[Kind]:
    """The kind whose devices the kernel reports with this IFLA_INFO_KIND, if any."""
    if not link_kind:
        return None
    if _loaded():
        return _BY_LINK_KIND.get(link_kind)
    name = next((name for name, known in _TABLE if known == link_kind), None)
    return get(name) if name is not None else None


def by_section(section: str) -> Kind:
    return next(kind for kind in _load_all() if kind.section == section)


def derived(rebuild: Callable[[], None]) -> Callable[[], None]:
    """Declare a table a module builds from KINDS (filled in place by ``rebuild``): built now, and again whenever
    registered() changes KINDS, so that no module keeps a list of kinds of its own. A module that reads
    KINDS at import without this misses a kind a test registers (tests/unit/test_throwaway_kind.py)."""
    _load_all()
    _DERIVED.append(rebuild)
    rebuild()
    return rebuild


def _index() -> None:
    kinds = _load_all()
    _BY_NAME.clear()
    _BY_NAME.update((kind.name, kind) for kind in kinds)
    _BY_LINK_KIND.clear()
    _BY_LINK_KIND.update((kind.link_kind, kind) for kind in kinds if kind.link_kind)
    for rebuild in _DERIVED:
        rebuild()


@contextmanager
def registered(*kinds: Kind, before: Optional[str] = None) -> Iterator[Tuple[Kind, ...]]:
    """KINDS with these kinds too, inserted before the kind named ``before`` (or at the end), while the block
    runs; every index and derived table follows, and all is put back on exit. For tests: a throwaway kind
    defined in a test goes through every consumer of the registry as a kind file's would."""
    saved = _load_all()
    at = [kind.name for kind in saved].index(before) if before is not None else len(saved)
    globals()["KINDS"] = saved[:at] + tuple(kinds) + saved[at:]
    try:
        _index()
        yield globals()["KINDS"]
    finally:
        globals()["KINDS"] = saved
        _index()
