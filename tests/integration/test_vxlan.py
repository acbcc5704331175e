"""netvirt.linux.vxlan against the real kernel, inside a private sandbox."""

import json

import pytest
from undo_steps import assert_every_step_undone, run_faults

VXLAN = "netvirt.linux.vxlan"


def underlay(sandbox, netns=None):
    """ul0 (10.99.0.1/24) <-> ul1 (10.99.0.2/24), the vxlan's underlay, in ``netns`` or the sandbox's host."""
    n = "-n %s " % netns if netns else ""
    sandbox.sh("ip %slink add ul0 type veth peer name ul1 && ip %saddr add 10.99.0.1/24 dev ul0 && "
               "ip %saddr add 10.99.0.2/24 dev ul1 && ip %slink set ul0 up && ip %slink set ul1 up"
               % ((n,) * 5))


def info(sandbox, name, netns=None):
    entry = sandbox.ip_json("-d", "link", "show", "dev", name, netns=netns)[0]
    assert entry["linkinfo"]["info_kind"] == "vxlan"
    return entry


BASE = {"name": "vx0", "vni": 42, "local": "10.99.0.1", "remote": "10.99.0.2", "dev": "ul0"}


# ------------------------------------------------------------ four steps ---


def test_create_point_to_point(sandbox):
    underlay(sandbox)
    steps = sandbox.four_steps(VXLAN, dict(BASE, addresses=["10.50.0.1/24"]))
    entry = info(sandbox, "vx0")
    data = entry["linkinfo"]["info_data"]
    assert (data["id"], data["local"], data["remote"], data["port"], data["link"]) == \
        (42, "10.99.0.1", "10.99.0.2", 4789, "ul0")
    assert "UP" in entry["flags"] and entry["mtu"] == 1450
    after = steps["apply"]["vxlan"]
    assert after == {"name": "vx0", "netns": None, "state": "present", "vni": 42, "local": "10.99.0.1",
                     "remote": "10.99.0.2", "group": None, "dstport": 4789, "dev": "ul0", "remotes": [], "mtu": 1450,
                     "up": True, "addresses": ["10.50.0.1/24"], "master": None}
    assert steps["check"]["actions"][0] == ("create vxlan vx0 in host with vni 42, local 10.99.0.1, "
                                            "remote 10.99.0.2, dstport 4789, dev ul0")


def test_create_without_dev_matches_ip_link(sandbox):
    steps = sandbox.four_steps(VXLAN, {"name": "vx0", "vni": 7, "remote": "192.0.2.1", "dstport": 8472})
    sandbox.sh("ip link add ref0 type vxlan id 8 remote 192.0.2.1 dstport 8472")
    mine, ref = info(sandbox, "vx0"), info(sandbox, "ref0")
    assert mine["mtu"] == ref["mtu"] == steps["apply"]["vxlan"]["mtu"]
    assert mine["linkinfo"]["info_data"]["port"] == 8472


def test_create_in_namespace_on_a_bridge(sandbox):
    sandbox.sh("ip netns add site && ip -n site link add br0 type bridge")
    underlay(sandbox, "site")
    steps = sandbox.four_steps(VXLAN, dict(BASE, netns="site", master="br0"))
    assert info(sandbox, "vx0", "site")["master"] == "br0"
    assert steps["apply"]["vxlan"]["master"] == "br0"
    assert "vx0" not in sandbox.links()
    # Detach again with master ''.
    sandbox.four_steps(VXLAN, dict(BASE, netns="site", master=""))
    assert "master" not in info(sandbox, "vx0", "site")


def test_multicast_group(sandbox):
    underlay(sandbox)
    steps = sandbox.four_steps(VXLAN, {"name": "vx100", "vni": 100, "group": "239.1.1.100", "dev": "ul0"})
    data = info(sandbox, "vx100")["linkinfo"]["info_data"]
    assert data["group"] == "239.1.1.100"
    assert steps["apply"]["vxlan"]["group"] == "239.1.1.100" and steps["apply"]["vxlan"]["remote"] is None


def test_mtu_addresses_and_down_in_place(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, BASE)
    steps = sandbox.four_steps(VXLAN, dict(BASE, mtu=1400, addresses=["10.50.0.1/24"], up=False))
    assert not any(a.startswith(("create", "delete")) for a in steps["apply"]["actions"])
    entry = info(sandbox, "vx0")
    assert entry["mtu"] == 1400 and "UP" not in entry["flags"]


def test_recreate_changes_fixed_parameters(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, dict(BASE, addresses=["10.50.0.1/24"]))
    steps = sandbox.four_steps(VXLAN, dict(BASE, remote="10.99.0.3", vni=43, addresses=["10.50.0.1/24"],
                                           recreate=True))
    assert steps["apply"]["actions"][:2] == [
        "delete vx0 in host",
        "create vxlan vx0 in host with vni 43, local 10.99.0.1, remote 10.99.0.3, dstport 4789, dev ul0"]
    data = info(sandbox, "vx0")["linkinfo"]["info_data"]
    assert (data["id"], data["remote"]) == (43, "10.99.0.3")


def test_absent(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, BASE)
    steps = sandbox.four_steps(VXLAN, {"name": "vx0", "state": "absent"})
    assert steps["apply"]["actions"] == ["delete vx0 in host"]
    assert "vx0" not in sandbox.links()
    assert sandbox.module(VXLAN, {"name": "vx0", "state": "absent", "netns": "nowhere"})["changed"] is False


def test_traffic_crosses_the_tunnel(sandbox):
    """Two namespaces joined only by an underlay veth; their vxlan devices carry a ping between them."""
    sandbox.sh("ip netns add a && ip netns add b && ip link add ul0 netns a type veth peer name ul1 netns b && "
               "ip -n a addr add 10.99.0.1/24 dev ul0 && ip -n b addr add 10.99.0.2/24 dev ul1 && "
               "ip -n a link set ul0 up && ip -n b link set ul1 up")
    sandbox.tasks([
        {"name": "a", VXLAN: {"name": "vx0", "netns": "a", "vni": 9, "local": "10.99.0.1", "remote": "10.99.0.2",
                              "dev": "ul0", "addresses": ["10.50.0.1/24"]}},
        {"name": "b", VXLAN: {"name": "vx0", "netns": "b", "vni": 9, "local": "10.99.0.2", "remote": "10.99.0.1",
                              "dev": "ul1", "addresses": ["10.50.0.2/24"]}},
    ])
    assert sandbox.ping("a", "10.50.0.2")
    assert sandbox.ping("b", "10.50.0.1")


# ------------------------------------------------------------- refusals ---


@pytest.mark.parametrize("args, words", [
    ({"name": "vx0"}, "state is present but all of the following are missing: vni"),
    (dict(BASE, group="239.1.1.1"), "mutually exclusive"),
    (dict(BASE, vni=16777216), "vni 16777216 is out of range"),
    (dict(BASE, dstport=0), "dstport 0 is out of range"),
    (dict(BASE, remote="239.1.1.1"), "is a multicast address; give it as group"),
    ({"name": "vx0", "vni": 1, "group": "10.0.0.1", "dev": "ul0"}, "is not a multicast address"),
    ({"name": "vx0", "vni": 1, "group": "239.1.1.1"}, "needs dev"),
    (dict(BASE, local="fd00::1"), "all be IPv4 or all be IPv6"),
    (dict(BASE, remote="10.99.0.300"), "is not an IP address"),
    (dict(BASE, name="a-very-long-vxlan-name"), "Linux allows at most 15"),
    (dict(BASE, dev="nosuch0"), "dev 'nosuch0' of vxlan 'vx0' does not exist"),
    (dict(BASE, master="nobr"), "master 'nobr' of vxlan 'vx0' does not exist"),
    (dict(BASE, netns="nowhere"), "network namespace 'nowhere' does not exist"),
])
def test_bad_input_is_refused(sandbox, args, words):
    underlay(sandbox)
    sandbox.refused(VXLAN, args, words)


def test_fixed_parameter_change_needs_recreate(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, BASE)
    result = sandbox.refused(VXLAN, dict(BASE, remote="10.99.0.3", dstport=8472), "Set recreate=true")
    assert "has dstport 4789, remote 10.99.0.2, but the task wants dstport 8472, remote 10.99.0.3" in result["msg"]
    sandbox.refused(VXLAN, dict(BASE, remote="10.99.0.3"), "Set recreate=true", check_mode=True)


def test_name_held_by_another_kind_is_refused(sandbox):
    sandbox.sh("ip link add vx0 type bridge")
    sandbox.refused(VXLAN, {"name": "vx0", "vni": 1}, "already exists as a bridge device, not a vxlan")
    sandbox.refused(VXLAN, {"name": "vx0", "state": "absent"}, "not a vxlan; refusing to delete it")


def test_same_vni_twice_is_explained(sandbox):
    sandbox.sh("ip link add other0 type vxlan id 5 dstport 4789")
    # Refused before the kernel is asked (issue 23), by the kernel's own rule: vni, dstport, address family.
    result = sandbox.refused(VXLAN, {"name": "vx0", "vni": 5, "local": "10.1.2.3"},
                             "vni 5 with dstport 4789 is already taken there by vxlan 'other0'")
    assert "whatever their local, remote, group or dev" in result["msg"]


# -------------------------------------------------- remotes (head-end replication) ---

HER = {"name": "vx0", "vni": 42, "local": "10.99.0.1", "dev": "ul0"}
TOPOLOGY = "netvirt.linux.topology"


def all_zeros(sandbox, name="vx0", netns=None):
    """`bridge -j fdb show dev NAME`: the all-zeros entry's destinations, with their flags, state and port."""
    argv = ["bridge", "-j"] + (["-n", netns] if netns else []) + ["fdb", "show", "dev", name]
    out = sandbox.run(argv).stdout
    return sorted((e["dst"], tuple(e.get("flags", ())), e.get("state"), e.get("port"))
                  for e in (json.loads(out) if out.strip() else []) if e["mac"] == "00:00:00:00:00:00")


def entries(*dsts):
    """What `bridge fdb append 00:00:00:00:00:00 dev vx0 dst DST` leaves, for each destination."""
    return sorted((dst, ("self",), "permanent", None) for dst in dsts)


def test_create_with_remotes(sandbox):
    underlay(sandbox)
    steps = sandbox.four_steps(VXLAN, dict(HER, remotes=["10.99.0.4", "10.99.0.2", "10.99.0.3", "10.99.0.2"]))
    assert all_zeros(sandbox) == entries("10.99.0.2", "10.99.0.3", "10.99.0.4")
    data = info(sandbox, "vx0")["linkinfo"]["info_data"]
    assert "remote" not in data and "group" not in data
    assert steps["apply"]["actions"] == [
        "create vxlan vx0 in host with vni 42, local 10.99.0.1, dstport 4789, dev ul0",
        "add remote 10.99.0.2 to vx0 in host", "add remote 10.99.0.3 to vx0 in host",
        "add remote 10.99.0.4 to vx0 in host", "set vx0 up in host"]
    assert steps["apply"]["vxlan"]["remotes"] == ["10.99.0.2", "10.99.0.3", "10.99.0.4"]
    assert steps["apply"]["vxlan"]["remote"] is None


def test_remotes_change_in_place(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, dict(HER, remotes=["10.99.0.2", "10.99.0.3"]))
    index = info(sandbox, "vx0")["ifindex"]
    # One added by hand with a port of its own is not a remote: removed as well.
    sandbox.sh("bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.99.0.9 port 1234")
    steps = sandbox.four_steps(VXLAN, dict(HER, remotes=["10.99.0.4", "10.99.0.3"]))
    assert steps["apply"]["actions"] == [
        "remove remote 10.99.0.2 from vx0 in host", "remove remote 10.99.0.9 port 1234 from vx0 in host",
        "add remote 10.99.0.4 to vx0 in host"]
    assert steps["check"]["diff"]["before"]["remotes"] == ["10.99.0.2", "10.99.0.3"]
    assert steps["apply"]["vxlan"]["remotes"] == ["10.99.0.3", "10.99.0.4"]
    assert all_zeros(sandbox) == entries("10.99.0.3", "10.99.0.4")
    assert info(sandbox, "vx0")["ifindex"] == index
    # Omitted: left alone; an empty list removes them all.
    assert sandbox.module(VXLAN, HER)["changed"] is False
    steps = sandbox.four_steps(VXLAN, dict(HER, remotes=[]))
    assert steps["apply"]["actions"] == ["remove remote 10.99.0.3 from vx0 in host",
                                         "remove remote 10.99.0.4 from vx0 in host"]
    assert all_zeros(sandbox) == [] and info(sandbox, "vx0")["ifindex"] == index


def test_ipv6_remotes(sandbox):
    steps = sandbox.four_steps(VXLAN, {"name": "vx6", "vni": 6, "local": "fd00::1", "remotes": ["fd00::3", "fd00::2"]})
    assert all_zeros(sandbox, "vx6") == entries("fd00::2", "fd00::3")
    assert steps["apply"]["vxlan"]["remotes"] == ["fd00::2", "fd00::3"]


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize("args, words", [
    (dict(HER, remote="10.99.0.2", remotes=["10.99.0.3"]), "remotes and remote are mutually exclusive"),
    (dict(HER, group="239.1.1.1", remotes=["10.99.0.3"]), "remotes and group are mutually exclusive"),
    (dict(HER, remotes=["fd00::2"]), "every address must be IPv4, as local 10.99.0.1 is"),
    ({"name": "vx0", "vni": 42, "remotes": ["fd00::2"]}, "give local, an IPv6 address"),
    (dict(HER, remotes=["0.0.0.0"]), "is the unspecified address"),
    (dict(HER, remotes=["10.99.0.2", "224.0.0.1"]), "224.0.0.1 is a multicast address"),
], ids=["remote", "group", "family", "ipv6-without-local", "unspecified", "multicast"])
def test_bad_remotes_are_refused(sandbox, args, words, check_mode):
    underlay(sandbox)
    sandbox.refused(VXLAN, args, words, check_mode=check_mode)


def test_remotes_on_a_point_to_point_device_need_recreate(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, BASE)
    sandbox.refused(VXLAN, dict(HER, remotes=["10.99.0.3"]), "has remote 10.99.0.2, but the task wants remote none")
    steps = sandbox.four_steps(VXLAN, dict(HER, remotes=["10.99.0.3"], recreate=True))
    assert steps["apply"]["actions"][:3] == [
        "delete vx0 in host", "create vxlan vx0 in host with vni 42, local 10.99.0.1, dstport 4789, dev ul0",
        "add remote 10.99.0.3 to vx0 in host"]
    assert all_zeros(sandbox) == entries("10.99.0.3")


def test_remotes_through_topology(sandbox):
    underlay(sandbox)
    lab = {"name": "her", "bridges": [{"name": "brher", "ports": ["vx0"]}],
           "vxlans": [dict(HER, remotes=["10.99.0.3", "10.99.0.2"])]}
    steps = sandbox.four_steps(TOPOLOGY, lab)
    assert "add remote 10.99.0.2 to vx0 in host" in steps["apply"]["actions"]
    assert all_zeros(sandbox) == entries("10.99.0.2", "10.99.0.3")
    assert steps["after"]["host"]["vx0"]["fdb_all_zeros"] == ["10.99.0.2", "10.99.0.3"]
    lab["vxlans"][0]["remotes"] = ["10.99.0.3", "10.99.0.5"]
    steps = sandbox.four_steps(TOPOLOGY, lab)
    assert steps["apply"]["actions"] == ["remove remote 10.99.0.2 from vx0 in host",
                                         "add remote 10.99.0.5 to vx0 in host"]
    assert all_zeros(sandbox) == entries("10.99.0.3", "10.99.0.5")
    assert info(sandbox, "vx0")["master"] == "brher"


def test_three_hosts_reach_each_other_by_head_end_replication(sandbox):
    """Three namespaces as hosts on one underlay bridge, no multicast: each has a vxlan with the other two as
    remotes on a bridge with a member namespace; every member pings every other."""
    hosts = (1, 2, 3)
    lab = {
        "name": "her3",
        "namespaces": [{"name": "h%d" % i} for i in hosts] + [{"name": "m%d" % i} for i in hosts],
        "veths": [{"name": "u", "netns": "h%d" % i, "peer": "hu%d" % i, "peer_netns": "", "addresses": ["10.98.0.%d/24" % i]}
                  for i in hosts] + [{"name": "eth0", "netns": "m%d" % i, "peer": "p", "peer_netns": "h%d" % i,
                                      "addresses": ["10.50.0.%d/24" % i]} for i in hosts],
        "bridges": [{"name": "ulbr", "ports": ["hu%d" % i for i in hosts]}] + [
            {"name": "br0", "netns": "h%d" % i, "ports": ["p", "vx0"]} for i in hosts],
        "vxlans": [{"name": "vx0", "netns": "h%d" % i, "vni": 77, "local": "10.98.0.%d" % i, "dev": "u",
                    "remotes": ["10.98.0.%d" % j for j in hosts if j != i]} for i in hosts],
    }
    assert sandbox.module(TOPOLOGY, lab)["changed"] is True
    assert all_zeros(sandbox, "vx0", "h2") == entries("10.98.0.1", "10.98.0.3")
    for i in hosts:
        for j in hosts:
            if i != j:
                assert sandbox.ping("m%d" % i, "10.50.0.%d" % j), "m%d cannot reach m%d" % (i, j)
    assert sandbox.module(TOPOLOGY, lab)["changed"] is False


def test_a_failed_run_undoes_the_vxlan_and_its_remotes(sandbox):
    underlay(sandbox)
    report = run_faults(sandbox, "vxlan", dict(HER, remotes=["10.99.0.2", "10.99.0.3"], addresses=["10.50.0.1/24"]),
                        "fail")
    assert_every_step_undone(report, "fault injector")
    assert [step["action"] for step in report["steps"]][1:3] == ["add remote 10.99.0.2 to vx0 in host",
                                                                 "add remote 10.99.0.3 to vx0 in host"]
    assert report["after"]["host"]["vx0"]["fdb_all_zeros"] == ["10.99.0.2", "10.99.0.3"]


def test_a_failed_change_of_remotes_puts_the_old_ones_back(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, dict(HER, remotes=["10.99.0.2", "10.99.0.3"]))
    report = run_faults(sandbox, "vxlan", dict(HER, remotes=["10.99.0.4", "10.99.0.5"], mtu=1400), "fail")
    assert_every_step_undone(report, "fault injector")
    assert [step["action"] for step in report["steps"]] == [
        "set mtu 1400 on vx0 in host", "remove remote 10.99.0.2 from vx0 in host",
        "remove remote 10.99.0.3 from vx0 in host", "add remote 10.99.0.4 to vx0 in host",
        "add remote 10.99.0.5 to vx0 in host"]
    assert report["before"]["host"]["vx0"]["fdb_all_zeros"] == ["10.99.0.2", "10.99.0.3"]


def test_a_remote_the_kernel_did_not_add_is_an_error(sandbox):
    underlay(sandbox)
    sandbox.module(VXLAN, dict(HER, remotes=["10.99.0.2"]))
    report = run_faults(sandbox, "vxlan", dict(HER, remotes=["10.99.0.3"]), "drop")
    messages = [step["result"].get("msg", "") for step in report["steps"]]
    assert all(step["result"].get("failed") and step["kernel_unchanged"] for step in report["steps"]), messages
    assert any("the kernel accepted but did not make" in msg for msg in messages), messages
