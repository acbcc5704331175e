"""Seeded generator of random LAB FILES (issue 26's nodes-and-links form) for the generated-lab-file tests.

``generate(seed, hosts=None)`` draws a lab file (a mapping, as YAML-loaded) from ``random.Random(seed)``
alone, so a seed names one lab for good:

- nodes: 3 to 7, their names drawn from shapes every lab reuses (``h1``, ``r1``, ``sw2`` ...: the same
  names in many labs, each in its own sandbox) and now and then a long one (up to 60 characters, far
  past the 15 of an interface name, so that every name derived from it must be shortened); sometimes the
  reserved node ``host`` (the machine's own namespace);
- links: 2-node links (a veth pair), LANs of 3 or 4 nodes (a bridge), 2-node links with ``bridge_in``
  (a LAN whose bridge sits inside one of its nodes), ends written ``node:ifname`` (names up to the
  15-character limit, never ``ethN``, which the automatic names take), an explicit ``prefix`` or
  explicit ``addresses`` sometimes (from ranges outside the pool, one per link, so never overlapping),
  ``mtu`` sometimes; every node on at least one link;
- ``routing: static``, or none with a default ``gateway`` for some nodes (a neighbour on a shared link);
- ``addressing.ipv6`` sometimes;
- with ``hosts`` (inventory host names): each node placed on one of them (``host:``; omitted for the
  first host now and then, the default), and, with 3+ hosts, one LAN spanning every host.

``append(lab, seed)`` is the same lab with one node and one link appended (the new node linked to an
existing one): what the tests build over the first to prove nothing existing is renamed or renumbered.

``seeds()``: NETVIRT_FUZZ_SEED (base, default labfilegen.BASE_SEED) and NETVIRT_LABFILE_COUNT (default
DEFAULT_COUNT); lab i has seed base+i. ``make fuzz`` sets a larger count.

Run as a script: ``python labfilegen.py SEED [HOST ...]`` prints the lab file (YAML).
"""

from __future__ import annotations

import copy
import os
import random
import sys
from typing import Dict, List, Optional, Sequence

BASE_SEED = 20261202
DEFAULT_COUNT = 4
# Names every lab may reuse (their shape, not their role: routing decides who forwards).
SHORT_NAMES = ("h1", "h2", "h3", "h4", "r1", "r2", "sw1", "sw2", "srv", "db", "web", "edge")
# Interface names a `node:ifname` end may take: never ethN (the automatic names), some at the limit.
IFNAMES = ("up0", "lan", "wan", "uplink", "to-core", "uplink-to-core1", "p15-abcdefghijk", "mgmt")


def seeds() -> List[int]:
    """The seeds of this run: NETVIRT_FUZZ_SEED (base) and NETVIRT_LABFILE_COUNT."""
    base = int(os.environ.get("NETVIRT_FUZZ_SEED") or BASE_SEED)
    count = int(os.environ.get("NETVIRT_LABFILE_COUNT") or DEFAULT_COUNT)
    return [base + i for i in range(count)]


def _long_name(rng: random.Random, index: int) -> str:
    """A node name far longer than an interface name (a namespace name may have 255 bytes)."""
    stem = rng.choice(("core-router", "distribution-switch", "aggregation-node", "customer-edge"))
    name = "%s-%d-%s" % (stem, index, "x" * rng.randint(0, 30))
    return name[:60]


def _node_names(rng: random.Random, count: int) -> List[str]:
    names: List[str] = []
    pool = list(SHORT_NAMES)
    rng.shuffle(pool)
    for index in range(count):
        if rng.random() < 0.2:
            names.append(_long_name(rng, index))
        else:
            names.append(pool.pop())
    return names


class _Ends:
    """The `node:ifname` names given so far, per node (an explicit name is used once per node)."""

    def __init__(self) -> None:
        self.taken: Dict[str, set] = {}

    def end(self, rng: random.Random, node: str, chance: float = 0.2) -> str:
        if rng.random() >= chance:
            return node
        free = [name for name in IFNAMES if name not in self.taken.setdefault(node, set())]
        if not free:
            return node
        name = rng.choice(free)
        self.taken[node].add(name)
        return "%s:%s" % (node, name)


def generate(seed: int, hosts: Optional[Sequence[str]] = None) -> dict:
    """The lab file of ``seed``; ``hosts``: the play's inventory hosts, in order (None: one host)."""
    rng = random.Random(seed)
    names = _node_names(rng, rng.randint(3, 7))
    with_host = hosts is None and rng.random() < 0.25
    routing = rng.choice(("static", "none"))
    nodes: Dict[str, dict] = {name: {} for name in names}
    ends = _Ends()
    links: List[object] = []
    shared: Dict[str, List[str]] = {name: [] for name in names}  # neighbours over some link
    placed = _placement(rng, names, list(hosts or ()))

    def add_link(members: List[str], index: int) -> None:
        entry: dict = {}
        lan = len(members) > 2 or rng.random() < 0.15
        if len(members) == 2 and lan and len({placed.get(node) for node in members}) == 1:
            entry["bridge_in"] = rng.choice(members)
        # The node holding the bridge has the bridge itself as its interface: no name of its own.
        written = [node if node == entry.get("bridge_in") else ends.end(rng, node) for node in members]
        roll = rng.random()
        if roll < 0.15:
            entry["prefix"] = "192.168.%d.0/24" % index
        elif roll < 0.25 and len(members) == 2 and "bridge_in" not in entry:
            entry["addresses"] = {node: "172.16.%d.%d/24" % (index, k + 1) for k, node in enumerate(members)}
        if rng.random() < 0.2:
            entry["mtu"] = rng.choice((1280, 1400, 1450, 1500))
        if rng.random() < 0.2:
            entry["name"] = "%s%d" % (rng.choice(("lan", "seg", "core-")), index)
        for node in members:
            shared.setdefault(node, [])
            shared[node] += [other for other in members if other != node]
        if entry:
            entry["nodes"] = written
            links.append(entry)
        else:
            links.append(written)

    # A spanning tree first (every node on a link), then a few extra links and LANs.
    order = list(names)
    rng.shuffle(order)
    for k in range(1, len(order)):
        add_link([order[k], rng.choice(order[:k])], len(links))
    for _extra in range(rng.randint(0, 3)):
        size = rng.choice((2, 2, 3, 4))
        add_link(rng.sample(names, min(size, len(names))), len(links))
    if with_host:
        nodes["host"] = {}
        add_link(["host", rng.choice(names)], len(links))

    if routing == "none":
        for name in names:
            if shared[name] and rng.random() < 0.4:
                gateway = rng.choice(sorted(set(shared[name])))
                if gateway != "host":
                    nodes[name]["gateway"] = gateway
                    if rng.random() < 0.7:
                        nodes[gateway]["forward"] = True
    lab: dict = {"name": "gen%d" % (seed % 1000000)}
    if rng.random() < 0.25:
        lab["addressing"] = {"ipv6": "fd00:%x::/48" % (seed % 0xffff)}
    if routing == "static" or rng.random() < 0.5:
        lab["routing"] = routing
    for name, host in placed.items():
        if host != (hosts or [None])[0] or rng.random() < 0.5:
            nodes[name]["host"] = host
    if hosts and len(hosts) >= 3:
        # One LAN with a node on every host (head-end replication to the others' underlay addresses).
        span = [next(name for name in names if placed[name] == host) for host in hosts]
        links.append({"name": "span", "nodes": span})
    lab["nodes"] = nodes
    lab["links"] = links
    return lab


def _placement(rng: random.Random, names: List[str], hosts: List[str]) -> Dict[str, str]:
    """Each node's host (none without hosts); with 3+ hosts, every host holds a node."""
    if not hosts:
        return {}
    placed = {name: rng.choice(hosts) for name in names}
    if len(hosts) >= 3:
        for name, host in zip(rng.sample(names, min(len(hosts), len(names))), hosts):
            placed[name] = host
    return placed


def append(lab: dict, seed: int) -> dict:
    """``lab`` with one new node and one new link (the new node to an existing one), both at the end."""
    rng = random.Random(seed * 7 + 1)
    grown = copy.deepcopy(lab)
    existing = [name for name in grown["nodes"] if name != "host"]
    new = "added%d" % len(grown["nodes"])
    grown["nodes"][new] = {}
    hosts = sorted({options["host"] for options in grown["nodes"].values() if "host" in options})
    if hosts and rng.random() < 0.5:
        grown["nodes"][new]["host"] = rng.choice(hosts)
    grown["links"].append([new, rng.choice(existing)])
    return grown


if __name__ == "__main__":
    import yaml

    print(yaml.safe_dump(generate(int(sys.argv[1]), sys.argv[2:] or None), sort_keys=False), end="")
