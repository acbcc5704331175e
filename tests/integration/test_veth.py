"""netvirt.linux.veth against the real kernel, inside a private sandbox."""

import pytest
from sandbox import WITHOUT_NET_ADMIN

VETH = "netvirt.linux.veth"
SEED000 = {
    "name": "veth0", "addresses": ["10.1.1.2/24"],
    "peer": "iris_veth", "peer_netns": "iris_network", "peer_addresses": ["10.1.1.1/24"],
}


def test_seed000_host_to_namespace(sandbox):
    sandbox.sh("ip netns add iris_network")
    steps = sandbox.four_steps(VETH, SEED000)
    host, ns = steps["after"]["host"]["veth0"], steps["after"]["netns"]["iris_network"]["iris_veth"]
    assert host["kind"] == ns["kind"] == "veth"
    assert host["up"] and ns["up"]
    assert host["addresses"] == ["10.1.1.2/24"] and ns["addresses"] == ["10.1.1.1/24"]
    assert host["peer_elsewhere"] and ns["peer_elsewhere"]
    # The kernel says they are each other's peer.
    assert sandbox.ip_json("-d", "link", "show", "veth0")[0]["link_index"] == \
        sandbox.ip_json("link", "show", "iris_veth", netns="iris_network")[0]["ifindex"]
    assert steps["apply"]["veth"]["peer_netns"] == "iris_network"
    assert (steps["check"]["diff"]["before_header"], steps["check"]["diff"]["after_header"]) == (
        "veth veth0 (host)", "veth veth0 (host)")
    assert sandbox.ping(None, "10.1.1.1")
    assert sandbox.ping("iris_network", "10.1.1.2")


def test_namespace_to_namespace(sandbox):
    # Seed 003: two namespaces joined directly by tap1/tap2.
    sandbox.sh("ip netns add ns1; ip netns add ns2")
    steps = sandbox.four_steps(VETH, {
        "name": "tap1", "netns": "ns1", "addresses": ["10.0.1.1/24"],
        "peer": "tap2", "peer_netns": "ns2", "peer_addresses": ["10.0.1.2/24"]})
    assert "tap1" not in steps["after"]["host"] and "tap2" not in steps["after"]["host"]
    assert steps["after"]["netns"]["ns1"]["tap1"]["addresses"] == ["10.0.1.1/24"]
    assert steps["after"]["netns"]["ns2"]["tap2"]["addresses"] == ["10.0.1.2/24"]
    assert steps["apply"]["diff"]["before_header"] == steps["apply"]["diff"]["after_header"] == "veth tap1 in ns1"
    assert sandbox.ping("ns1", "10.0.1.2") and sandbox.ping("ns2", "10.0.1.1")


def test_peer_netns_omitted_follows_netns(sandbox):
    """As `ip -n lab1 link add v0 type veth peer v0p`: both ends in lab1, none in the host (issue 23)."""
    sandbox.sh("ip netns add lab1")
    steps = sandbox.four_steps(VETH, {"name": "v0", "netns": "lab1", "addresses": ["10.0.5.1/24"],
                                      "peer": "v0p", "peer_addresses": ["10.0.5.2/24"]})
    inside = steps["after"]["netns"]["lab1"]
    assert inside["v0"]["addresses"] == ["10.0.5.1/24"] and inside["v0p"]["addresses"] == ["10.0.5.2/24"]
    assert not inside["v0"]["peer_elsewhere"]
    assert not {"v0", "v0p"} & set(steps["after"]["host"]), "an end landed in the host"
    assert steps["apply"]["veth"]["peer_netns"] == "lab1"
    assert sandbox.links(netns="lab1")["v0"]["link"] == "v0p"


def test_peer_netns_empty_string_is_the_host(sandbox):
    sandbox.sh("ip netns add lab1")
    steps = sandbox.four_steps(VETH, {"name": "eth0", "netns": "lab1", "addresses": ["10.0.6.1/24"],
                                      "peer": "lab1-br", "peer_netns": "", "peer_addresses": ["10.0.6.2/24"]})
    assert steps["after"]["netns"]["lab1"]["eth0"]["peer_elsewhere"]
    assert steps["after"]["host"]["lab1-br"]["addresses"] == ["10.0.6.2/24"]
    assert steps["apply"]["veth"]["peer_netns"] is None
    assert sandbox.ping("lab1", "10.0.6.2") and sandbox.ping(None, "10.0.6.1")
    # Named by both ends, the pair is removed; named with its peer beside it, it is another pair: refused.
    sandbox.refused(VETH, {"name": "eth0", "netns": "lab1", "peer": "lab1-br", "state": "absent"},
                    "is paired with 'lab1-br' in the host namespace, not in namespace 'lab1'")
    assert sandbox.module(VETH, {"name": "eth0", "netns": "lab1", "peer": "lab1-br", "peer_netns": "",
                                 "state": "absent"})["changed"]
    assert "lab1-br" not in sandbox.links()


def test_both_ends_in_host_ipv4_and_ipv6(sandbox):
    steps = sandbox.four_steps(VETH, {
        "name": "veth0", "addresses": ["10.20.30.40/24", "fd00:20::40/64"],
        "peer": "veth1", "peer_addresses": ["10.20.30.41/24"]})
    assert steps["after"]["host"]["veth0"]["addresses"] == ["10.20.30.40/24", "fd00:20::40/64"]
    assert steps["after"]["host"]["veth1"]["addresses"] == ["10.20.30.41/24"]
    assert not steps["after"]["host"]["veth0"]["peer_elsewhere"]


def test_mtu_changed_in_place(sandbox):
    sandbox.sh("ip link add name va type veth peer name vb; ip link set va up; ip link set vb up")
    index = sandbox.links()["va"]["ifindex"]
    steps = sandbox.four_steps(VETH, {"name": "va", "peer": "vb", "mtu": 9000})
    assert steps["apply"]["actions"] == ["set mtu 9000 on va in host", "set mtu 9000 on vb in host"]
    assert steps["after"]["host"]["va"]["mtu"] == steps["after"]["host"]["vb"]["mtu"] == 9000
    assert sandbox.links()["va"]["ifindex"] == index, "the pair was recreated instead of updated"


def test_created_with_mtu(sandbox):
    steps = sandbox.four_steps(VETH, {"name": "va", "peer": "vb", "mtu": 1400})
    assert steps["after"]["host"]["va"]["mtu"] == steps["after"]["host"]["vb"]["mtu"] == 1400


def test_wrong_addresses_fixed_in_place(sandbox):
    sandbox.sh("ip netns add iris_network;"
               "ip link add veth0 type veth peer name iris_veth netns iris_network;"
               "ip addr add 10.9.9.9/24 dev veth0; ip addr add 10.1.1.2/24 dev veth0;"
               "ip -n iris_network addr add 10.1.1.7/24 dev iris_veth")
    index = sandbox.links()["veth0"]["ifindex"]
    steps = sandbox.four_steps(VETH, SEED000)
    assert steps["after"]["host"]["veth0"]["addresses"] == ["10.1.1.2/24"]
    assert steps["after"]["netns"]["iris_network"]["iris_veth"]["addresses"] == ["10.1.1.1/24"]
    assert "remove address 10.9.9.9/24 from veth0 in host" in steps["apply"]["actions"]
    assert steps["check"]["diff"]["before"]["addresses"] == ["10.1.1.2/24", "10.9.9.9/24"]
    assert sandbox.links()["veth0"]["ifindex"] == index


def test_ipv6_link_local_left_alone(sandbox):
    sandbox.four_steps(VETH, {"name": "va", "peer": "vb", "addresses": ["10.0.0.1/24"]})
    sandbox.module(VETH, {"name": "va", "peer": "vb", "addresses": []})
    families = {(a["family"], a["scope"]) for a in sandbox.links()["va"]["addr_info"]}
    assert ("inet", "global") not in families
    assert ("inet6", "link") in families, "the kernel's link-local address was removed"


def test_kept_down(sandbox):
    steps = sandbox.four_steps(VETH, {"name": "va", "peer": "vb", "up": False})
    assert steps["after"]["host"]["va"]["up"] is False and steps["after"]["host"]["vb"]["up"] is False


def test_set_down_then_up(sandbox):
    sandbox.module(VETH, {"name": "va", "peer": "vb"})
    steps = sandbox.four_steps(VETH, {"name": "va", "peer": "vb", "up": False})
    assert steps["apply"]["actions"] == ["set va down in host", "set vb down in host"]
    steps = sandbox.four_steps(VETH, {"name": "va", "peer": "vb"})
    assert steps["after"]["host"]["va"]["up"] and steps["after"]["host"]["vb"]["up"]


def test_seed_way_pair_in_host_is_moved_not_duplicated(sandbox):
    # ip link add veth0 type veth peer name iris_veth -- then our task.
    sandbox.sh("ip netns add iris_network; ip link add veth0 type veth peer name iris_veth")
    steps = sandbox.four_steps(VETH, SEED000)
    assert steps["apply"]["actions"][0] == "move iris_veth from host to iris_network"
    assert not any(a.startswith("create veth") for a in steps["apply"]["actions"])
    assert "iris_veth" not in steps["after"]["host"]
    assert sandbox.ping("iris_network", "10.1.1.2")


def test_seed000_commands_match_the_module(sandbox):
    """The seed's own shell commands and our task produce the same state: no change to make."""
    sandbox.sh("ip netns add iris_network;"
               "ip link add veth0 type veth peer name iris_veth;"
               "ip link set iris_veth netns iris_network;"
               "ip -n iris_network addr add 10.1.1.1/24 dev iris_veth; ip -n iris_network link set iris_veth up;"
               "ip addr add 10.1.1.2/24 dev veth0; ip link set veth0 up")
    result = sandbox.module(VETH, SEED000)
    assert result["changed"] is False, result["actions"]


def test_absent_four_steps(sandbox):
    sandbox.sh("ip netns add iris_network; ip link add veth0 type veth peer name iris_veth netns iris_network")
    steps = sandbox.four_steps(VETH, {"name": "veth0", "peer": "iris_veth", "peer_netns": "iris_network",
                                      "state": "absent"})
    assert "veth0" not in steps["after"]["host"]
    assert "iris_veth" not in steps["after"]["netns"]["iris_network"], "deleting one end deletes its peer"
    assert steps["apply"]["veth"] == {"name": "veth0", "netns": None, "state": "absent"}


def test_absent_in_missing_namespace_is_unchanged(sandbox):
    result = sandbox.module(VETH, {"name": "x", "netns": "gone", "state": "absent"})
    assert result["changed"] is False


# -------------------------------------------------------------- bad input ---


def test_name_too_long(sandbox):
    sandbox.refused(VETH, {"name": "a_very_long_name0", "peer": "b"},
                    "name 'a_very_long_name0' is 17 characters long; Linux allows at most 15")
    sandbox.refused(VETH, {"name": "a", "peer": "p" * 16}, "peer 'pppppppppppppppp' is 16 characters long")


@pytest.mark.parametrize("address, words", [
    ("10.1.1.300/24", "is not a valid CIDR address"),
    ("10.1.1.1", "has no prefix length"),
    ("10.1.1.1/40", "is not a valid CIDR address"),
])
def test_bad_cidr(sandbox, address, words):
    sandbox.refused(VETH, {"name": "va", "peer": "vb", "peer_addresses": ["10.0.0.1/24", address]}, words)


def test_missing_namespace(sandbox):
    result = sandbox.refused(VETH, SEED000, "network namespace 'iris_network' does not exist")
    assert sandbox.namespaces() == set(), "the module created the namespace"
    assert "create it first" in result["msg"]


def test_name_held_by_another_kind(sandbox):
    sandbox.sh("ip link add veth0 type bridge")
    sandbox.refused(VETH, {"name": "veth0", "peer": "vb"},
                    "name 'veth0' in the host namespace already exists as a bridge device, not a veth")
    sandbox.refused(VETH, {"name": "veth0", "state": "absent"}, "is a bridge device, not a veth; refusing")


def test_veth_paired_with_another_peer(sandbox):
    sandbox.sh("ip link add name va type veth peer name other")
    sandbox.refused(VETH, {"name": "va", "peer": "vb"},
                    "name 'va' in the host namespace is a veth paired with 'other' in the host namespace, "
                    "not with 'vb'")
    sandbox.refused(VETH, {"name": "va", "peer": "vb", "state": "absent"}, "paired with 'other', not with 'vb'")


def test_move_target_name_taken(sandbox):
    sandbox.sh("ip netns add iris_network; ip link add veth0 type veth peer name iris_veth;"
               "ip -n iris_network link add iris_veth type bridge")
    sandbox.refused(VETH, SEED000, "namespace 'iris_network' already has a device named 'iris_veth'")


def test_without_privileges(sandbox):
    sandbox.refused(VETH, {"name": "va", "peer": "vb"}, "needs CAP_NET_ADMIN and CAP_SYS_ADMIN",
                    wrap=WITHOUT_NET_ADMIN)
    sandbox.refused("netvirt.linux.netns", {"name": "blue"}, "run the task as root", wrap=WITHOUT_NET_ADMIN)
    # Also refused in check mode, which still has to read other namespaces.
    sandbox.refused(VETH, {"name": "va", "peer": "vb"}, "needs CAP_NET_ADMIN", check_mode=True,
                    wrap=WITHOUT_NET_ADMIN)


def test_peer_required_when_present(sandbox):
    sandbox.refused(VETH, {"name": "va"}, "state is present but all of the following are missing: peer")


def test_missing_pyroute2_names_the_library(sandbox):
    """Debian's own python3 has no pyroute2: the module says so and how to fix it."""
    task = {"name": "call", VETH: {"name": "va", "peer": "vb"}, "ignore_errors": True}
    plays = [dict(hosts="localhost", gather_facts=False, tasks=[task])]
    before = sandbox.snapshot()
    records = sandbox.playbook(plays, extra_args=["-e", "ansible_python_interpreter=/usr/bin/python3"])[1]
    msg = records[-1]["result"]["msg"]
    assert records[-1]["status"] == "failed"
    assert "Failed to import the required Python library (pyroute2)" in msg
    assert "requirements.txt" in msg
    assert sandbox.snapshot() == before


def test_absent_refuses_a_pair_whose_peer_is_elsewhere(sandbox):
    sandbox.sh("ip netns add remote; ip link add veth0 type veth peer name veth1")
    sandbox.refused(VETH, {"name": "veth0", "peer": "veth1", "peer_netns": "remote", "state": "absent"},
                    "paired with 'veth1' in the host namespace, not in namespace 'remote'")
