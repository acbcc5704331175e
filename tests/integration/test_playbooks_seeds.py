"""Every seed lab playbook builds what the seed's own shell commands build.

(Re-running, --check and teardown.yml back to the empty state: test_user_paths.py,
for every playbook.)

The reference is built in a second sandbox from the seeds' commands, with
brctl and ifconfig spelled with ip, public 1.2.3.x replaced by 192.0.2.x, and
what the playbooks add on purpose: loopback up in every namespace
(netvirt.linux.netns does that) and the addresses a seed leaves out so that
the lab can prove itself with ping. Seed 004 draws its netfilter chains
without commands; its reference is the router lab spelled with ip and
iptables.
"""

import pytest
from sandbox import REPO, Sandbox

TEARDOWN = REPO / "playbooks" / "teardown.yml"
LAB = REPO / "playbooks" / "two_labs.yml"
LAB_DOWN = REPO / "playbooks" / "two_labs_down.yml"

LO_UP = "for ns in %s; do ip netns exec $ns ip link set dev lo up; done\n"

REFERENCES = {
    # 002_39182cbba9997d88.txt
    "seed002_bridge_netns": "ip netns add net0\nip netns add net1\nip netns add bridge\n" + LO_UP % "net0 net1 bridge" + """
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
    # 003_6857236e02619dbc.txt, the bridge; addresses added.
    "seed003_bridge_host": "ip netns add ns1\nip netns add ns2\n" + LO_UP % "ns1 ns2" + """
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
    # 003_6857236e02619dbc.txt, the direct pair; addresses added.
    "seed003_netns_pair": "ip netns add ns1\nip netns add ns2\n" + LO_UP % "ns1 ns2" + """
ip link add tap1 type veth peer name tap2
ip link set tap1 netns ns1
ip link set tap2 netns ns2
ip netns exec ns1 ip link set dev tap1 up
ip netns exec ns2 ip link set dev tap2 up
ip netns exec ns1 ip address add 10.0.1.1/24 dev tap1
ip netns exec ns2 ip address add 10.0.1.2/24 dev tap2
""",
    # 003_6857236e02619dbc.txt, namespace blue; the host end's address and up added.
    "seed003_blue_netns": "ip netns add blue\n" + LO_UP % "blue" + """
ip link add veth0 type veth peer name veth1
ip link set veth1 netns blue
ip netns exec blue ip address add 172.17.42.2/16 dev veth1
ip netns exec blue ip link set dev veth1 up
ip address add 172.17.42.1/16 dev veth0
ip link set dev veth0 up
""",
    # 004_c6e520ef8049859a.txt, "veth pair".
    "seed004_veth_pair": """
ip link add veth0 type veth peer name veth1
ip address add 10.20.30.40/24 dev veth0
ip address add 10.20.30.41/24 dev veth1
ip link set dev veth0 up
ip link set dev veth1 up
""",
    # 004_c6e520ef8049859a.txt, "linux bridge"; veth1 in a namespace, 1.2.3.x as 192.0.2.x.
    "seed004_bridge_address": "ip netns add remote\n" + LO_UP % "remote" + """
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
    # 004_c6e520ef8049859a.txt, "tun/tap".
    "seed004_tun": """
ip tuntap add dev tun0 mode tun
ip address add 192.168.1.2/24 dev tun0
ip link set dev tun0 up
""",
    # 004_c6e520ef8049859a.txt, "iptables/netfilter", as the router lab.
    "seed004_netfilter_router": "for ns in router client1 client2 upstream; do ip netns add $ns; done\n"
    + LO_UP % "router client1 client2 upstream" + """
ip netns exec router sysctl -qw net.ipv4.ip_forward=1
ip -n client1 link add eth0 type veth peer name lan0 netns router
ip -n client2 link add eth0 type veth peer name lan1 netns router
ip -n router link add wan0 type veth peer name eth0 netns upstream
ip -n client1 address add 10.0.1.1/24 dev eth0
ip -n client2 address add 10.0.2.1/24 dev eth0
ip -n router address add 10.0.1.254/24 dev lan0
ip -n router address add 10.0.2.254/24 dev lan1
ip -n router address add 192.0.2.254/24 dev wan0
ip -n upstream address add 192.0.2.1/24 dev eth0
for dev in lan0 lan1 wan0; do ip -n router link set dev $dev up; done
for ns in client1 client2 upstream; do ip -n $ns link set dev eth0 up; done
ip -n client1 route add default via 10.0.1.254 proto static
ip -n client2 route add default via 10.0.2.254 proto static
ip netns exec router iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
ip netns exec router iptables -P FORWARD ACCEPT
ip netns exec router iptables -A FORWARD -s 10.0.2.0/24 -j DROP
""",
}


# 000_5dfaa4a3fefbc0d9.txt (as in test_seed_lab000.py), for lab.yml.
SEED000_COMMANDS = """
ip netns add iris_network
ip netns exec iris_network ip link set dev lo up
ip link add veth0 type veth peer name iris_veth
ip link set iris_veth netns iris_network
ip netns exec iris_network ip addr add 10.1.1.1/24 dev iris_veth
ip netns exec iris_network ip link set iris_veth up
ip addr add 10.1.1.2/24 dev veth0
ip link set veth0 up
"""


def changed_tasks(records):
    return [r["task"] for r in records if r["result"].get("changed")]


def reference_snapshot(workdir, commands):
    reference = Sandbox(workdir)
    try:
        reference.sh(commands)
        return reference.snapshot()
    finally:
        reference.close()


@pytest.mark.parametrize("lab", [pytest.param(lab, marks=pytest.mark.xdist_group("seed-" + lab))
                                 for lab in sorted(REFERENCES)])
def test_seed_playbook_builds_the_seed_lab(seed_lab, tmp_path, lab):
    """The lab the playbook builds on an empty host (ansible-playbook, once per test process: the
    seed_lab fixture, which test_lab_info.py reads too) is the seed's.

    Re-running, --check and the teardown back to the empty state are every
    playbook's user path, in test_user_paths.py.
    """
    _box, first, built = seed_lab(lab)
    assert changed_tasks(first), "the first run changed nothing"
    assert not [r for r in first if r["status"] == "failed"]
    assert reference_snapshot(tmp_path / "ref", REFERENCES[lab]) == built, \
        "the playbook built another lab than the seed's commands"


def test_every_seed_playbook_is_tested():
    playbooks = sorted(p.stem for p in (REPO / "playbooks").glob("seed*.yml"))
    assert playbooks == sorted(set(REFERENCES) | {"seed000_host_netns"})


def test_a_lab_refuses_to_shadow_a_network_the_host_uses(sandbox):
    """Docker's default bridge holds 172.17.0.1/16: the blue lab stops before building anything."""
    sandbox.sh("ip link add docker0 type bridge && ip address add 172.17.0.1/16 dev docker0")
    before = sandbox.snapshot()
    proc, records = sandbox.playbook(REPO / "playbooks" / "seed003_blue_netns.yml", check=False)
    assert proc.returncode != 0
    failed = [r for r in records if r["status"] == "failed"]
    assert "docker0 already use addresses in 172.17.42.1/16" in failed[0]["result"]["msg"]
    assert sandbox.snapshot() == before


def test_teardown_refuses_a_foreign_bridge_port(sandbox):
    """A host veth1 paired with another name is not lab 004's: teardown stops, deleting nothing of it."""
    sandbox.sh("ip link add veth1 type veth peer name other")
    proc, records = sandbox.playbook(TEARDOWN, check=False)
    assert proc.returncode != 0
    failed = [r for r in records if r["status"] == "failed"]
    assert "paired with 'other', not with 'veth0'" in failed[0]["result"]["msg"]
    assert "veth1" in sandbox.links() and "other" in sandbox.links()


def test_lab_builds_seeds_000_and_002_side_by_side_and_lab_down_removes_them(sandbox, tmp_path):
    empty = sandbox.snapshot()
    proc, records = sandbox.playbook(LAB)
    matrix = next(r["result"] for r in records if r["task"] == "Prove it - each lab works, and neither reaches the other")
    assert [(p["from"], p["to"], p["reachable"]) for p in matrix["matrix"]] == [
        (None, "10.1.1.1", True), ("iris_network", "10.1.1.2", True),
        ("net0", "10.0.1.2", True), ("net1", "10.0.1.1", True),
        ("net0", "10.1.1.1", False), ("iris_network", "10.0.1.1", False),
    ]
    # The module's own table, printed as it is: net0 reaches its lab (10.0.1.2) but not seed 000's (10.1.1.1).
    table = matrix["matrix_text"].split("\n")
    assert table[0] == "from \\ to     10.1.1.1  10.1.1.2  10.0.1.2  10.0.1.1"
    assert "net0          --        .         ok        ." in table
    assert all(line in proc.stdout for line in table[1:])

    # Seed 002's `ip link add type veth` takes the kernel's veth0/veth1 names: run it first.
    assert reference_snapshot(tmp_path / "ref", REFERENCES["seed002_bridge_netns"] + SEED000_COMMANDS) == sandbox.snapshot()

    down = sandbox.playbook(LAB_DOWN)[1]
    assert len(changed_tasks(down)) == 5  # veth0, iris_network; the cables, br, the namespaces of 002
    assert sandbox.snapshot() == empty, "lab_down left something behind"
    assert changed_tasks(sandbox.playbook(LAB_DOWN)[1]) == []
