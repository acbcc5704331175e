"""Seeded generator of random labs for the generated-lab tests.

``generate(seed)`` draws a lab from ``random.Random(seed)`` alone, so a seed
names one lab for good: 3 to 12 namespaces whose interfaces are all called
eth0, eth1, ... (names and interface indexes reused across namespaces on
purpose), direct veths between random pairs of namespaces and between the host
and namespaces, bridges in the host and in namespaces with veth ends and taps
as ports, addresses from private 10.x ranges (one subnet per link or segment,
never two overlapping subnets in one namespace), and routes over the direct
links (gateway = the peer's address on that link, destination a subnet of the
far side).

The same lab is rendered as one ``netvirt.linux.topology`` task, as per-object
module tasks (netns, veth, tap, bridge, route) with a teardown of
``state: absent`` tasks, and as the kernel state it must produce.

Run as a script:
  python labgen.py SEED [topology|per-object]   print the lab's playbook
  python labgen.py inspect PINGS_JSON           (inside a sandbox) dump every
        namespace's links, netns ids, routes and ip_forward, and run the pings
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

HOST = None  # the sandbox's own namespace, as the modules spell it (netns omitted)
IFNAMSIZ = 16
WAYS = ("topology", "per-object")
BASE_SEED = 20261202
DEFAULT_COUNT = 40

Where = Optional[str]  # a namespace name, or HOST


def label(netns: Where) -> str:
    return "host" if netns is HOST else netns


@dataclass
class Iface:
    """An interface the lab creates, as the kernel must show it after the build."""

    netns: Where
    name: str
    kind: str  # veth | bridge | tun
    addresses: List[str] = field(default_factory=list)
    master: Optional[str] = None
    peer: Optional[Tuple[Where, str]] = None
    mtu: Optional[int] = None
    up: bool = True
    port: Dict[str, object] = field(default_factory=dict)  # bridge-port settings given
    tun_type: Optional[str] = None
    stp: Optional[bool] = None


@dataclass
class Lab:
    seed: int
    name: str
    namespaces: List[dict] = field(default_factory=list)
    veths: List[dict] = field(default_factory=list)
    bridges: List[dict] = field(default_factory=list)
    taps: List[dict] = field(default_factory=list)
    routes: List[dict] = field(default_factory=list)
    ifaces: Dict[Tuple[Where, str], Iface] = field(default_factory=dict)
    # (from netns, to address) over each direct link: both ends up and addressed.
    pings: List[Tuple[Where, str]] = field(default_factory=list)
    # per-object teardown removes every object (True) or only what the host
    # holds plus the namespaces, whose deletion takes their devices along (False).
    teardown_full: bool = False

    # -- renderings -----------------------------------------------------------

    def topology_args(self) -> dict:
        return {"name": self.name, "namespaces": self.namespaces, "veths": self.veths,
                "bridges": self.bridges, "taps": self.taps, "routes": self.routes}

    def object_tasks(self) -> List[Tuple[str, str, dict]]:
        """(module, description, args) in build order: namespaces, veths, taps, bridges, taps joining
        bridges whose ports are not managed, routes."""
        tasks = [("netns", "netns %s" % ns["name"], dict(ns)) for ns in self.namespaces]
        tasks += [("veth", _describe_veth(v), dict(v)) for v in self.veths]
        managed = {(b.get("netns"), b["name"]) for b in self.bridges if "ports" in b}
        late = []
        for tap in self.taps:
            args = dict(tap)
            if "master" in args and (args.get("netns"), args["master"]) in managed:
                # The bridge lists the tap among its ports and attaches it; the tap must exist first.
                del args["master"]
            if "master" in args:
                late.append(("tap", _describe(tap, "tap"), args))
            else:
                tasks.append(("tap", _describe(tap, "tap"), args))
        tasks += [("bridge", _describe(b, "bridge"), dict(b)) for b in self.bridges]
        tasks += late
        tasks += [("route", "route %s via %s in %s" % (r["dst"], r["gateway"], label(r.get("netns"))), dict(r))
                  for r in self.routes]
        return tasks

    def teardown_tasks(self) -> List[Tuple[str, str, dict]]:
        def absent(args: dict, keep: Tuple[str, ...]) -> dict:
            out = {k: v for k, v in args.items() if k in keep}
            out["state"] = "absent"
            return out

        link_keys = ("name", "netns")
        tasks = []
        if self.teardown_full:
            tasks += [("route", "route %s in %s" % (r["dst"], label(r.get("netns"))),
                       absent(r, ("dst", "gateway", "dev", "metric", "netns"))) for r in reversed(self.routes)]
        in_host = self.teardown_full
        tasks += [("bridge", _describe(b, "bridge"), absent(b, link_keys)) for b in reversed(self.bridges)
                  if in_host or b.get("netns") is HOST]
        tasks += [("tap", _describe(t, "tap"), absent(t, link_keys)) for t in reversed(self.taps)
                  if in_host or t.get("netns") is HOST]
        tasks += [("veth", _describe_veth(v), absent(v, ("name", "netns", "peer", "peer_netns")))
                  for v in reversed(self.veths) if in_host or v.get("netns") is HOST or peer_netns(v) is HOST]
        # A partial teardown leaves the namespaces' own devices to go with them: that takes force=true.
        force = {} if self.teardown_full else {"force": True}
        tasks += [("netns", "netns %s" % ns["name"], dict({"name": ns["name"], "state": "absent"}, **force))
                  for ns in reversed(self.namespaces)]
        return tasks

    def namespace_names(self) -> List[str]:
        return [ns["name"] for ns in self.namespaces]

    def forwarding(self) -> Dict[str, str]:
        return {ns["name"]: "1" for ns in self.namespaces if ns.get("sysctls")}

    def summary(self) -> str:
        return "%d namespaces, %d veths, %d bridges, %d taps, %d routes" % (
            len(self.namespaces), len(self.veths), len(self.bridges), len(self.taps), len(self.routes))


def _describe(entry: dict, kind: str) -> str:
    return "%s %s in %s" % (kind, entry["name"], label(entry.get("netns")))


def peer_netns(v: dict) -> Where:
    """Where a description's veth puts its peer: O(peer_netns) omitted is O(netns), the empty string the host."""
    if "peer_netns" not in v:
        return v.get("netns")
    return HOST if v["peer_netns"] == "" else v["peer_netns"]


def _describe_veth(v: dict) -> str:
    return "veth %s in %s <-> %s in %s" % (v["name"], label(v.get("netns")), v["peer"], label(peer_netns(v)))


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.lab = Lab(seed=seed, name="gen%d" % seed)
        self.counters: Dict[Tuple[Where, str], int] = {}
        self.networks: Dict[Where, List[ipaddress.IPv4Network]] = {}
        rng = self.rng
        # 10.A.B.0/24 blocks handed out in order with random gaps: one per link or segment.
        self.block = (rng.randrange(0, 250), rng.randrange(0, 200))

    # -- names and addresses ----------------------------------------------------

    def ifname(self, netns: Where, stem: str) -> str:
        index = self.counters.get((netns, stem), 0)
        self.counters[(netns, stem)] = index + 1
        name = "%s%d" % (stem, index)
        assert len(name) < IFNAMSIZ
        return name

    def subnet(self, prefixlen: int) -> ipaddress.IPv4Network:
        high, low = self.block
        low += self.rng.choice((1, 1, 1, 2, 7))
        if low > 255:
            high, low = high + 1, low - 256
        self.block = (high, low)
        return ipaddress.ip_network("10.%d.%d.0/%d" % (high, low, prefixlen))

    def hosts(self, net: ipaddress.IPv4Network, count: int) -> List[str]:
        pool = [net[0], net[1]] if net.prefixlen == 31 else list(net.hosts())
        return ["%s/%d" % (ip, net.prefixlen) for ip in self.rng.sample(pool, count)]

    def connect(self, netns: Where, net: ipaddress.IPv4Network) -> None:
        self.networks.setdefault(netns, []).append(net)

    def add_iface(self, iface: Iface) -> None:
        key = (iface.netns, iface.name)
        assert key not in self.lab.ifaces, key
        self.lab.ifaces[key] = iface

    def extra_address(self, netns: Where, addresses: List[str]) -> None:
        """Now and then a second address, from a subnet of its own."""
        if self.rng.random() < 0.1:
            net = self.subnet(self.rng.choice((24, 28)))
            addresses += self.hosts(net, 1)
            self.connect(netns, net)

    # -- objects ----------------------------------------------------------------

    def veth(self, a: Where, b: Where, a_addrs: Optional[List[str]], b_addrs: Optional[List[str]],
             mtu: Optional[int] = None, up: bool = True) -> Tuple[Iface, Iface]:
        """A veth pair; the end in ``a`` is written first. Addresses None: not managed (a bridge port)."""
        name_a, name_b = self.ifname(a, "eth"), self.ifname(b, "eth")
        entry = {"name": name_a}
        if a is not HOST:
            entry["netns"] = a
        entry["peer"] = name_b
        if b != a:  # omitted: beside the first end; the empty string: the host
            entry["peer_netns"] = "" if b is HOST else b
        if a_addrs is not None:
            entry["addresses"] = list(a_addrs)
        if b_addrs is not None:
            entry["peer_addresses"] = list(b_addrs)
        if mtu is not None:
            entry["mtu"] = mtu
        if not up:
            entry["up"] = False
        self.lab.veths.append(entry)
        end_a = Iface(a, name_a, "veth", list(a_addrs or []), peer=(b, name_b), mtu=mtu, up=up)
        end_b = Iface(b, name_b, "veth", list(b_addrs or []), peer=(a, name_a), mtu=mtu, up=up)
        self.add_iface(end_a)
        self.add_iface(end_b)
        return end_a, end_b

    def direct_link(self, a: Where, b: Where, routable: bool = True) -> dict:
        rng = self.rng
        net = self.subnet(rng.choice((24, 24, 29, 30, 30, 31)))
        addr_a, addr_b = self.hosts(net, 2)
        a_addrs, b_addrs = [addr_a], [addr_b]
        self.extra_address(a, a_addrs)
        self.extra_address(b, b_addrs)
        mtu = rng.choice((1280, 1400, 9000)) if rng.random() < 0.15 else None
        up = routable or rng.random() < 0.7
        # Which end the task names first.
        ends = [(a, a_addrs), (b, b_addrs)]
        named_first = rng.random() < 0.5
        if not named_first:
            ends.reverse()
        made = self.veth(ends[0][0], ends[1][0], ends[0][1], ends[1][1], mtu, up)
        end_a, end_b = made if named_first else made[::-1]
        self.connect(a, net)
        self.connect(b, net)
        link = {"a": a, "b": b, "net": net, "ip_a": addr_a.split("/")[0], "ip_b": addr_b.split("/")[0],
                "dev_a": end_a.name, "dev_b": end_b.name, "up": up}
        if up:
            self.lab.pings.append((a, link["ip_b"]))
        return link

    def bridge(self, where: Where, members: List[Where], taps: int, manage_ports: bool = True) -> None:
        rng = self.rng
        # netvirt.linux.bridge refuses a bridge in a namespace while the host holds a bridge of
        # that name (bridges cannot move; see its docs), so host bridges have names of their own.
        name = self.ifname(where, "br" if where is not HOST else "hbr")
        net = self.subnet(rng.choice((24, 24, 25, 26)))
        wanted = len(members) + 1
        addrs = self.hosts(net, wanted)
        bridge_addr = addrs.pop()
        ports: List[object] = []
        for member in members:
            # The member's end holds an address on the segment; the bridge's end is a port
            # whose addresses are left alone, or now and then managed as none.
            port_addrs = [] if rng.random() < 0.3 else None
            port_end, _member_end = self.veth(where, member, port_addrs, [addrs.pop()])
            self.connect(member, net)
            port_end.master = name
            ports.append(self.port(port_end))
        entry = {"name": name}
        if where is not HOST:
            entry["netns"] = where
        iface = Iface(where, name, "bridge")
        # One subnet per interface of a namespace: a bridge whose own namespace is a member
        # (both ends of a veth there) leaves the segment's address to that member.
        if where not in members and rng.random() < 0.5:
            entry["addresses"] = [bridge_addr]
            iface.addresses = [bridge_addr]
            self.connect(where, net)
        stp = rng.choice((None, None, False, True))
        if stp is not None:
            entry["stp"] = stp
            iface.stp = stp
        tap_entries = []
        for _dummy in range(taps):
            tap_name = self.ifname(where, "tap")
            tap = {"name": tap_name}
            if where is not HOST:
                tap["netns"] = where
            # A bridge that manages its ports attaches the tap; the tap may say so too.
            if not manage_ports or rng.random() < 0.5:
                tap["master"] = name
            tap_entries.append(tap)
            tap_iface = Iface(where, tap_name, "tun", master=name, tun_type="tap")
            self.add_iface(tap_iface)
            if manage_ports:
                ports.append(self.port(tap_iface))
        if manage_ports:
            entry["ports"] = ports
        self.add_iface(iface)
        self.lab.bridges.append(entry)
        self.lab.taps.extend(tap_entries)

    def port(self, iface: Iface) -> object:
        """A port as a name, or now and then a dict with settings."""
        rng = self.rng
        if rng.random() < 0.8:
            return iface.name
        settings = rng.choice(({"priority": rng.randrange(0, 64)}, {"hairpin": True}, {"cost": rng.randrange(1, 500)}))
        iface.port = dict(settings)
        return dict(settings, name=iface.name)

    def standalone_tap(self, where: Where) -> None:
        rng = self.rng
        name = self.ifname(where, "tap")
        mode = rng.choice(("tap", "tun"))
        net = self.subnet(24)
        addrs = self.hosts(net, 1)
        entry = {"name": name}
        if where is not HOST:
            entry["netns"] = where
        if mode == "tun":
            entry["mode"] = "tun"
        entry["addresses"] = addrs
        self.connect(where, net)
        self.lab.taps.append(entry)
        self.add_iface(Iface(where, name, "tun", list(addrs), tun_type=mode))

    def route(self, link: dict, near: str, far: str, taken: set) -> bool:
        """A route in ``near`` over ``link`` to a subnet ``far`` is connected to; False when none is left."""
        rng = self.rng
        here, there = link[near], link[far]
        own = set(self.networks.get(here, []))
        choices = [net for net in self.networks.get(there, []) if net not in own and (here, str(net)) not in taken]
        default = here is not HOST and (here, "default") not in taken and rng.random() < 0.15
        if not choices and not default:
            return False
        dst = "default" if default else str(rng.choice(choices))
        taken.add((here, dst))
        entry = {"dst": dst, "gateway": link["ip_" + far]}
        if rng.random() < 0.4:
            entry["dev"] = link["dev_" + near]
        if rng.random() < 0.25:
            entry["metric"] = rng.choice((10, 100, 1000))
        if here is not HOST:
            entry["netns"] = here
        self.lab.routes.append(entry)
        # The far side forwards what it is sent.
        if there is not HOST:
            for ns in self.lab.namespaces:
                if ns["name"] == there:
                    ns["sysctls"] = {"net.ipv4.ip_forward": 1}
        return True


def generate(seed: int) -> Lab:
    """The lab of one seed (the same lab every time)."""
    b = _Builder(seed)
    rng, lab = b.rng, b.lab
    count = rng.choices(range(3, 13), weights=(30, 22, 14, 9, 6, 5, 4, 4, 3, 3))[0]
    stem = rng.choice(("n", "ns", "lab", "r", "vm"))
    names = ["%s%d" % (stem, i) for i in range(count)]
    lab.namespaces = [{"name": name} for name in names]
    lab.teardown_full = rng.random() < 0.25

    # Connect every namespace to one already placed: by a direct veth, or (grouped
    # below) as a member of a bridge.
    links = []
    bridge_members: List[Where] = []
    for i, name in enumerate(names[1:], start=1):
        if rng.random() < 0.25 and len(bridge_members) < 3:
            bridge_members.append(name)
        else:
            links.append(b.direct_link(rng.choice(names[:i]), name))
    for _dummy in range(rng.choice((0, 0, 0, 1))):  # extra links, possibly parallel ones
        a, z = rng.sample(names, 2)
        links.append(b.direct_link(a, z, routable=rng.random() < 0.8))
    for _dummy in range(rng.choice((0, 0, 1))):  # host <-> namespace
        ns = rng.choice(names)
        links.append(b.direct_link(HOST, ns) if rng.random() < 0.5 else b.direct_link(ns, HOST))

    # Bridges: the grouped members (if any) plus random others, in the host or in a namespace.
    bridges = 1 if bridge_members else 0
    if rng.random() < 0.35:
        bridges += 1
    for index in range(bridges):
        where: Where = HOST if rng.random() < 0.4 else rng.choice(names)
        pool = [HOST] + names if where is not HOST else list(names)
        pool = [p for p in pool if p != where]
        members = [m for m in bridge_members if m != where] if index == 0 else []
        others = [p for p in pool if p not in members]
        extra = rng.sample(others, min(len(others), rng.randint(1 if members else 2, 2)))
        members += extra
        if rng.random() < 0.1:
            members.append(where)  # both ends of a veth in the bridge's namespace
        rng.shuffle(members)
        b.bridge(where, members, taps=rng.choice((0, 1)))
    if rng.random() < 0.1:  # a bridge for taps alone, its ports not managed
        b.bridge(rng.choice([HOST] + names), [], taps=rng.choice((1, 2)), manage_ports=False)
    if rng.random() < 0.15:
        b.standalone_tap(rng.choice([HOST] + names))

    # Routes over direct links: gateway = the peer's address on the link.
    taken: set = set()
    routable = [link for link in links if link["up"]]
    for _dummy in range(min(3, len(routable))):
        link = rng.choice(routable)
        sides = ["a", "b"] if rng.random() < 0.5 else ["b", "a"]
        for attempt in (sides, sides[::-1]):
            if b.route(link, attempt[0], attempt[1], taken):
                break
    return lab


def seeds() -> List[int]:
    """The seeds of this run: NETVIRT_FUZZ_SEED (base) and NETVIRT_FUZZ_COUNT."""
    base = int(os.environ.get("NETVIRT_FUZZ_SEED") or BASE_SEED)
    count = int(os.environ.get("NETVIRT_FUZZ_COUNT") or DEFAULT_COUNT)
    return [base + i for i in range(count)]


# -- inspection, run inside the sandbox -----------------------------------------------


def _ip_json(netns: Where, *args: str):
    argv = ["ip", "-j"] + (["-n", netns] if netns else []) + list(args)
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def inspect(pings: List[Tuple[Where, str]], forwarding: List[str]) -> dict:
    """Every namespace's links (-d), netns ids and main-table routes; ip_forward where asked; the pings."""
    namespaces = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    state = {"namespaces": namespaces, "netns": {}, "pings": [], "forwarding": {}}
    for netns in [HOST] + namespaces:
        state["netns"][label(netns)] = {
            "links": _ip_json(netns, "-d", "addr", "show"),
            "ids": _ip_json(netns, "netns", "list-id"),
            "routes": _ip_json(netns, "route", "show"),
        }
    for netns in forwarding:
        argv = ["ip", "netns", "exec", netns, "cat", "/proc/sys/net/ipv4/ip_forward"]
        state["forwarding"][netns] = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    for netns, address in pings:
        argv = (["ip", "netns", "exec", netns] if netns else []) + ["ping", "-n", "-q", "-c", "1", "-W", "1", address]
        ok = False
        for _attempt in range(8):  # a fresh veth shows NO-CARRIER for a moment
            if subprocess.run(argv, capture_output=True, check=False).returncode == 0:
                ok = True
                break
            time.sleep(0.2)
        state["pings"].append({"from": label(netns), "to": address, "ok": ok})
    return state


def _main(argv: List[str]) -> int:
    if argv[:1] == ["inspect"]:
        spec = json.loads(argv[1])
        print(json.dumps(inspect([(p[0], p[1]) for p in spec["pings"]], spec["forwarding"])))
        return 0
    if not argv:
        print(__doc__)
        return 2
    import yaml  # only for printing a lab

    lab = generate(int(argv[0]))
    way = argv[1] if len(argv) > 1 else "topology"
    print("# seed %d: %s" % (lab.seed, lab.summary()))
    if way == "topology":
        tasks = [{"netvirt.linux.topology": lab.topology_args()}]
        teardown = [{"netvirt.linux.topology": {"name": lab.name, "state": "absent"}}]
    else:
        tasks = [{"name": d, "netvirt.linux." + m: a} for m, d, a in lab.object_tasks()]
        teardown = [{"name": d, "netvirt.linux." + m: a} for m, d, a in lab.teardown_tasks()]
    print(yaml.safe_dump([{"name": "build", "hosts": "localhost", "gather_facts": False, "tasks": tasks},
                          {"name": "teardown", "hosts": "localhost", "gather_facts": False, "tasks": teardown}],
                         sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
