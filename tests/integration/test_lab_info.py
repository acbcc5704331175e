"""lab_info: a lab made by the seeds' own shell commands, read, and rebuilt by `topology` in a fresh sandbox.

Each seed lab is built by its document's commands (kernel-chosen veth names,
pairs renamed while moved, loopback left down, brctl spelled with ip, public
1.2.3.x as 192.0.2.x) in one sandbox; lab_info reads it; `topology` rebuilds
the returned description in a second, empty sandbox; the two kernels' states
(links, kinds, masters, addresses, up/down, loopback, routes, sysctls, chains:
snapshot.py) must be equal, and a second `topology` run changes nothing.
"""

import labgen
import pytest
from sandbox import REPO, Sandbox

SEED_PLAYBOOKS = sorted(path.stem for path in (REPO / "playbooks").glob("seed*.yml"))

SEEDS = {
    # 002_39182cbba9997d88.txt, as the seed types it (no loopback up).
    "seed002_bridge_netns": """
ip netns add net0
ip netns add net1
ip netns add bridge
ip link add type veth
ip link set dev veth0 name net0-bridge netns net0
ip link set dev veth1 name bridge-net0 netns bridge
ip link add type veth
ip link set dev veth0 name net1-bridge netns net1
ip link set dev veth1 name bridge-net1 netns bridge
ip netns exec bridge ip link add name br type bridge
ip netns exec bridge ip link set dev br up
ip netns exec bridge ip link set dev bridge-net0 up
ip netns exec bridge ip link set dev bridge-net1 up
ip netns exec bridge ip link set dev bridge-net0 master br
ip netns exec bridge ip link set dev bridge-net1 master br
ip netns exec net0 ip link set dev net0-bridge up
ip netns exec net0 ip address add 10.0.1.1/24 dev net0-bridge
ip netns exec net1 ip link set dev net1-bridge up
ip netns exec net1 ip address add 10.0.1.2/24 dev net1-bridge
""",
    # 003_6857236e02619dbc.txt, the bridge in the host (brctl addbr/stp off/addif spelled with ip).
    "seed003_bridge_host": """
ip netns add ns1
ip netns add ns2
ip link add br-test type bridge
ip link set br-test type bridge stp_state 0
ip link set dev br-test up
ip link add tap1 type veth peer name br-tap1
ip link set br-tap1 master br-test
ip link set tap1 netns ns1
ip netns exec ns1 ip link set dev tap1 up
ip link set dev br-tap1 up
ip link add tap2 type veth peer name br-tap2
ip link set br-tap2 master br-test
ip link set tap2 netns ns2
ip netns exec ns2 ip link set dev tap2 up
ip link set dev br-tap2 up
ip netns exec ns1 ip address add 10.0.1.1/24 dev tap1
ip netns exec ns2 ip address add 10.0.1.2/24 dev tap2
""",
    # 003_6857236e02619dbc.txt, the direct pair.
    "seed003_netns_pair": """
ip netns add ns1
ip netns add ns2
ip link add tap1 type veth peer name tap2
ip link set tap1 netns ns1
ip link set tap2 netns ns2
ip netns exec ns1 ip link set dev tap1 up
ip netns exec ns2 ip link set dev tap2 up
ip netns exec ns1 ip address add 10.0.1.1/24 dev tap1
ip netns exec ns2 ip address add 10.0.1.2/24 dev tap2
""",
    # 004_c6e520ef8049859a.txt, "linux bridge" in the host; veth1 in a namespace, 1.2.3.x as 192.0.2.x.
    "seed004_bridge_address": """
ip netns add remote
ip link add br0 type bridge
ip link set dev br0 up
ip address add 192.0.2.101/24 dev br0
ip link add veth0 type veth peer name veth1
ip link set veth0 master br0
ip link set dev veth0 up
ip link set veth1 netns remote
ip netns exec remote ip address add 192.0.2.102/24 dev veth1
ip netns exec remote ip link set dev veth1 up
""",
    # 004_c6e520ef8049859a.txt, "linux bridge" as the seed draws it: all in one stack (the host), so br0's
    # 192.0.2.101/24 and veth1's 192.0.2.102/24 overlap in one namespace. The kernel takes it; `topology`
    # warns and builds it (issue 23 item 10).
    "seed004_bridge_address_one_stack": """
ip link add br0 type bridge
ip link set dev br0 up
ip address add 192.0.2.101/24 dev br0
ip link add veth0 type veth peer name veth1
ip link set veth0 master br0
ip link set dev veth0 up
ip address add 192.0.2.102/24 dev veth1
ip link set dev veth1 up
""",
}

# Devices that stand on each other (issue 23 item 8): a macvlan on a bridge and one on a veth, a vxlan on a
# bridge (its dev) and one as a bridge's port, a tap and a veth end as ports, routes through a veth, a bridge
# and a macvlan on a bridge. `topology` must plan each after what it stands on whatever its section order
# (the registry plans macvlans and vxlans before bridges).
STANDS_ON = """
ip netns add s
ip -n s link set dev lo up
ip -n s link add br0 type bridge stp_state 0
ip -n s link set dev br0 up
ip -n s address add 10.2.0.1/24 dev br0
ip -n s link add mb0 link br0 type macvlan mode bridge
ip -n s address add 10.3.0.1/24 dev mb0
ip -n s link set dev mb0 up
ip -n s link add v0 type veth peer name v1
ip -n s address add 10.1.0.1/24 dev v0
ip -n s link set dev v0 up
ip -n s link set dev v1 up
ip -n s link add mv0 link v1 type macvlan mode private
ip -n s link add p0 type veth peer name p1
ip -n s link set dev p1 master br0
ip -n s tuntap add dev t0 mode tap
ip -n s link set dev t0 master br0
ip -n s link add vx0 type vxlan id 9 remote 10.2.0.9 dstport 4789 dev br0
ip -n s link add vx1 type vxlan id 10 dstport 4789
ip -n s link set dev vx1 master br0
ip -n s route add 10.8.0.0/16 via 10.2.0.7 proto static
ip -n s route add 10.7.0.0/16 via 10.3.0.7 dev mb0 proto static
ip -n s route add 10.6.0.0/16 via 10.1.0.7 proto static
"""

# Beyond the seeds: what else a description carries (sysctls, routes, bridge options, a tap, a vxlan, a macvlan,
# iptables chains, loopback up in one namespace and down in another, a veth end in the host). Routes are
# added with `proto static`, the protocol `topology` gives the routes it adds (`ip route` says `boot`).
EVERY_KIND = """
ip netns add r
ip netns add c
ip -n r link set dev lo up
ip netns exec r sysctl -qw net.ipv4.ip_forward=1
ip link add type veth
ip link set dev veth0 name c-eth0 netns c
ip link set dev veth1 name r-lan netns r
ip -n c link set dev c-eth0 name eth0
ip -n c address add 10.9.0.1/24 dev eth0
ip -n r address add 10.9.0.254/24 dev r-lan
ip -n c link set dev eth0 up mtu 1400
ip -n r link set dev r-lan up mtu 1400
ip -n c route add default via 10.9.0.254 proto static
ip -n c route add 10.77.0.0/16 via 10.9.0.254 metric 7 proto static
ip -n r link add brx type bridge stp_state 1 forward_delay 800 priority 4096
ip -n r tuntap add dev tap0 mode tap
ip -n r link set dev tap0 master brx
ip -n r link set dev brx up
ip -n r link add vx0 type vxlan id 42 local 10.9.0.254 remote 10.9.0.1 dstport 4789 dev r-lan
ip -n r link add vx1 type vxlan id 43 local 10.9.0.254 dstport 4789
bridge -n r fdb append 00:00:00:00:00:00 dev vx1 dst 10.9.0.3
bridge -n r fdb append 00:00:00:00:00:00 dev vx1 dst 10.9.0.2
ip -n r link add mv0 link r-lan type macvlan mode private
ip -n r address add 10.10.0.1/24 dev mv0
ip netns exec r iptables -N LAB
ip netns exec r iptables -A LAB -s 10.9.0.0/24 -j ACCEPT
ip netns exec r iptables -A FORWARD -j LAB
ip netns exec r iptables -P FORWARD DROP
ip link add h0 type veth peer name h1 netns c
ip address add 10.8.0.1/30 dev h0
ip -n c address add 10.8.0.2/30 dev h1
"""


def read(box, **args):
    return box.module("netvirt.linux.lab_info", args)


def fresh(workdir):
    workdir.mkdir(parents=True, exist_ok=True)
    return Sandbox(workdir)


def rebuild(tmp_path, topology, name="adopted"):
    """Build ``topology`` in a fresh sandbox; return (snapshot, first result, second result)."""
    box = fresh(tmp_path / "rebuilt")
    try:
        description = dict(topology, name=name)
        first = box.module("netvirt.linux.topology", description)
        second = box.module("netvirt.linux.topology", description)
        return box.snapshot(), first, second
    finally:
        box.close()


def round_trip(sandbox, tmp_path, commands, **args):
    sandbox.sh(commands)
    built = sandbox.snapshot()
    info = read(sandbox, **args)
    assert info["changed"] is False
    snapshot, first, second = rebuild(tmp_path, info["topology"])
    assert first["changed"] is True
    assert second["changed"] is False, second["actions"]
    assert snapshot == built, "the rebuilt lab differs from the one the commands made"
    return info


@pytest.mark.parametrize("lab", sorted(SEEDS))
def test_a_seed_lab_made_by_hand_is_rebuilt_from_its_description(sandbox, tmp_path, lab):
    info = round_trip(sandbox, tmp_path, SEEDS[lab])
    namespaces = [ns["name"] for ns in info["topology"]["namespaces"]]
    assert namespaces == sorted(sandbox.namespaces())
    # The seeds leave every loopback down: so does the description.
    assert all(ns["loopback"] is False for ns in info["topology"]["namespaces"])
    for name in namespaces:
        assert '"netns %s"' % name in info["diagram"]
    assert info["diagram"].startswith("flowchart LR\n")
    assert not [row for row in info["links"] if row["kind"] == "veth" and row["peer"] is None]


@pytest.mark.parametrize("playbook", [pytest.param(name, marks=pytest.mark.xdist_group("seed-" + name))
                                      for name in SEED_PLAYBOOKS])
def test_a_seed_playbooks_lab_is_rebuilt_from_its_description(seed_lab, tmp_path, playbook):
    """Every seed state as its playbook builds it (issue 23 item 1): read, rebuilt alike by `topology`.

    The lab is the seed_lab fixture's (ansible-playbook on an empty sandbox, once per test process,
    shared with test_playbooks_seeds.py, which only reads it too)."""
    box, _records, built = seed_lab(playbook)
    info = read(box)
    snapshot, first, second = rebuild(tmp_path, info["topology"])
    assert first["changed"] is True
    assert second["changed"] is False, second["actions"]
    assert snapshot == built, "the rebuilt lab differs from the one %s.yml made" % playbook


def test_seed002_description_reads_as_the_seed_draws_it(sandbox):
    sandbox.sh(SEEDS["seed002_bridge_netns"])
    info = read(sandbox, format="dot")
    topology = info["topology"]
    pairs = {frozenset([(v.get("netns"), v["name"]), (v.get("peer_netns"), v["peer"])]) for v in topology["veths"]}
    # Both ends resolved across namespaces, by the names the seed gave them after the kernel chose veth0/veth1.
    assert pairs == {frozenset([("net0", "net0-bridge"), ("bridge", "bridge-net0")]),
                     frozenset([("net1", "net1-bridge"), ("bridge", "bridge-net1")])}
    ports = [{"name": "bridge-net0"}, {"name": "bridge-net1"}]
    assert topology["bridges"] == [{"name": "br", "netns": "bridge", "ports": ports, "addresses": [], "up": True}]
    assert info["diagram"].startswith("graph lab {")
    for name in ("net0", "net1", "bridge"):
        assert 'label="netns %s"' % name in info["diagram"]
    rows = {(row["namespace"], row["name"]): row for row in info["links"]}
    assert rows[("bridge", "bridge-net0")]["master"] == "br"
    assert rows[("net0", "net0-bridge")]["peer"] == "bridge-net0"
    assert rows[("net0", "net0-bridge")]["peer_namespace"] == "bridge"
    assert rows[("net0", "net0-bridge")]["addresses"] == ["10.0.1.1/24"]
    assert rows[("net0", "lo")]["up"] is False


def test_every_kind_round_trips(sandbox, tmp_path):
    info = round_trip(sandbox, tmp_path, EVERY_KIND)
    topology = info["topology"]
    assert {ns["name"]: ns for ns in topology["namespaces"]}["r"]["sysctls"]["net.ipv4.ip_forward"] == "1"
    assert [t["name"] for t in topology["taps"]] == ["tap0"]
    # Head-end replication's entries (bridge fdb append) read back as remotes, and rebuilt (the snapshot has them).
    assert [(v["vni"], v.get("remote"), v.get("remotes")) for v in topology["vxlans"]] == [
        (42, "10.9.0.1", None), (43, None, ["10.9.0.2", "10.9.0.3"])]
    assert [m["mode"] for m in topology["macvlans"]] == ["private"]
    assert {c["chain"] for c in topology["iptables_chains"]} == {"LAB", "FORWARD"}


def test_devices_that_stand_on_each_other_round_trip(sandbox, tmp_path):
    info = round_trip(sandbox, tmp_path, STANDS_ON)
    topology = info["topology"]
    assert {m["name"]: m["link"] for m in topology["macvlans"]} == {"mb0": "br0", "mv0": "v1"}
    assert {v["name"]: v.get("dev") for v in topology["vxlans"]} == {"vx0": "br0", "vx1": None}
    assert len(topology["routes"]) == 3


def test_check_mode_reads_the_same(sandbox):
    sandbox.sh(SEEDS["seed003_netns_pair"])
    checked = sandbox.module("netvirt.linux.lab_info", {}, check_mode=True)
    assert checked["changed"] is False
    assert checked["topology"] == read(sandbox)["topology"]


def test_lab_filter_reads_one_lab_of_two_that_reuse_names(sandbox, tmp_path):
    def lab(name, subnet):
        return {"name": name, "namespaces": [{"name": name + "-a"}, {"name": name + "-b"}],
                "veths": [{"name": "eth0", "netns": name + "-a", "peer": "eth0", "peer_netns": name + "-b",
                           "addresses": ["%s.1/24" % subnet], "peer_addresses": ["%s.2/24" % subnet]}]}
    one, other = lab("one", "10.1.0"), lab("two", "10.2.0")
    sandbox.module("netvirt.linux.topology", one)
    sandbox.module("netvirt.linux.topology", other)
    sandbox.sh("ip netns add stranger")
    info = read(sandbox, lab="two")
    topology = info["topology"]
    assert topology["name"] == "two"
    assert [ns["name"] for ns in topology["namespaces"]] == ["two-a", "two-b"]
    assert [(v["netns"], v["peer_netns"], v["addresses"]) for v in topology["veths"]] == [
        ("two-a", "two-b", ["10.2.0.1/24"])]
    assert {row["namespace"] for row in info["links"]} == {"two-a", "two-b"}
    # The lab's description rebuilds the lab as its own description does.
    box = fresh(tmp_path / "reference")
    try:
        box.module("netvirt.linux.topology", other)
        expected = box.snapshot()
    finally:
        box.close()
    snapshot, _first, second = rebuild(tmp_path / "again", topology, name="two")
    assert second["changed"] is False
    assert snapshot == expected


def test_namespaces_option_reads_only_those_and_names_a_missing_one(sandbox):
    sandbox.sh(SEEDS["seed003_netns_pair"] + "ip netns add other\n")
    info = read(sandbox, namespaces=["ns1", "ns2"], host=False)
    assert [ns["name"] for ns in info["topology"]["namespaces"]] == ["ns1", "ns2"]
    assert len(info["topology"]["veths"]) == 1
    assert {row["namespace"] for row in info["links"]} == {"ns1", "ns2"}
    # Left out: the veth's other end is not described, so neither is the pair.
    alone = read(sandbox, namespaces=["ns1"])
    assert alone["topology"]["veths"] == []
    assert [s["name"] for s in alone["left_out"]] == ["tap1"]
    failed = sandbox.module("netvirt.linux.lab_info", {"namespaces": ["ns1", "ghost"]}, expect_failure=True)
    assert "network namespace 'ghost' does not exist" in failed["msg"]


# Lab 4: 12 namespaces, host and namespaced bridges with a port cost set; lab 7: two pairs with the same names
# the other way round (host:eth0-lab2:eth1 and lab0:eth1-lab2:eth0), listed in the order lab_info reads them.
@pytest.mark.parametrize("index, by_lab", [(4, True), (7, False)], ids=["lab4-by-marker", "lab7-everything"])
def test_a_generated_lab_round_trips(sandbox, tmp_path, index, by_lab):
    """A random lab of labgen.py (names and indexes reused across namespaces, host and namespaced bridges, taps,
    routes, forwarding sysctls), made by `topology`, read by its marker (or all of the host), rebuilt alike."""
    lab = labgen.generate(labgen.seeds()[index])
    sandbox.module("netvirt.linux.topology", lab.topology_args())
    built = sandbox.snapshot()
    info = read(sandbox, **({"lab": lab.name} if by_lab else {}))
    assert [ns["name"] for ns in info["topology"]["namespaces"]] == sorted(lab.namespace_names())
    assert len(info["topology"]["veths"]) == len(lab.veths)
    assert len(info["topology"]["routes"]) == len(lab.routes)
    snapshot, _first, second = rebuild(tmp_path, info["topology"], name=lab.name)
    assert second["changed"] is False, second["actions"]
    assert snapshot == built, "the rebuilt lab differs from the generated one (%s)" % lab.summary()
