# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run says to the person reading it: one named diff per object, and a lab's counts per kind.

Pure: built from the plan's per-object results (_results.ObjectResult) and
`topology`'s object entries; nothing here reads or changes the kernel.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST


def _place(netns: Optional[str]) -> str:
    return "(host)" if netns is HOST else "in %s" % netns


def _kind_name(key: Sequence, before: Optional[dict] = None) -> str:
    """The kind a key names; a link the lab removed by ownership (key "link") is named by its link kind."""
    kind = key[0]
    if kind != "link":
        return kind
    from ansible_collections.netvirt.linux.plugins.module_utils import _kinds

    link_kind = (before or {}).get("kind")
    known = _kinds.by_link_kind(link_kind) if link_kind else None
    return known.name if known is not None else (link_kind or "link")


def header(key: Sequence, before: Optional[dict] = None) -> str:
    """How one object is named in its diff: ``veth eth0 in h1``, ``bridge br0 (host)``, ``netns h1``."""
    key = tuple(key)
    kind = _kind_name(key, before)
    if key[0] == "netns":
        return "netns %s" % key[1]
    if key[0] == "route":
        from ansible_collections.netvirt.linux.plugins.module_utils._kind_route import DEFAULT_METRIC, ROUTE_TABLES

        _kind, netns, table, dst, metric = key
        # The kernel's default metric of the route's family, and the main table, go unsaid.
        extra = "" if metric == DEFAULT_METRIC[6 if ":" in str(dst) else 4] else " metric %s" % metric
        extra += "" if table == ROUTE_TABLES["main"] else " table %s" % table
        return "route %s%s %s" % (dst, extra, _place(netns))
    if key[0] == "iptables_chain":
        _kind, netns, table, chain, version = key
        return "iptables chain %s of table %s (%s) %s" % (chain, table, version, _place(netns))
    return "%s %s %s" % (kind, key[2], _place(key[1]))


def object_diff(result) -> dict:
    """One object's diff (a _results.ObjectResult), its headers naming it."""
    name = header(result.key, result.before)
    return {"before": result.before, "after": result.after, "before_header": name, "after_header": name}


def diffs(outcome) -> List[dict]:
    """One named diff per object of an engine's outcome (the netfilter engine names its own)."""
    plan = getattr(outcome, "plan", None)
    if plan is None:
        return outcome.diffs()
    return [object_diff(result) for result in plan.objects]


def _state(view) -> Optional[str]:
    return view.get("state") if isinstance(view, dict) else None


def lab_counts(described: Sequence[dict], removed: Sequence[dict]) -> Dict[str, Dict[str, int]]:
    """{kind: {created, changed, removed}} over `topology`'s object entries; the three counts are disjoint.

    An entry is created when it was absent before and present after, removed
    when it is one the lab dropped (or present before and absent after), and
    changed when it changed otherwise. Kinds the lab has no object of are left out.
    """
    counts: Dict[str, Dict[str, int]] = {}
    for entry, dropped in [(e, False) for e in described] + [(e, True) for e in removed]:
        diff = entry.get("diff") or {}
        kind = _kind_name(entry["key"], diff.get("before"))
        row = counts.setdefault(kind, {"created": 0, "changed": 0, "removed": 0})
        before, after = _state(diff.get("before")), _state(diff.get("after"))
        if dropped or (before == "present" and after == "absent" and entry["changed"]):
            row["removed"] += 1
        elif before == "absent" and after == "present":
            row["created"] += 1
        elif entry["changed"]:
            row["changed"] += 1
    return dict(sorted(counts.items(), key=lambda item: _kind_rank(item[0])))


def _kind_rank(kind: str) -> Tuple[int, str]:
    """Kinds in the registry's order; a link of a kind no kind file knows ("link", "dummy") after them."""
    from ansible_collections.netvirt.linux.plugins.module_utils import _kinds

    order = _kinds.names()
    return (order.index(kind) if kind in order else len(order), kind)


def counts_text(counts: Dict[str, Dict[str, int]]) -> str:
    """One line: ``created: 2 netns, 2 veth; changed: none; removed: none``."""
    parts = []
    for what in ("created", "changed", "removed"):
        said = ["%d %s" % (row[what], kind) for kind, row in counts.items() if row[what]]
        parts.append("%s: %s" % (what, ", ".join(said) or "none"))
    return "; ".join(parts)
