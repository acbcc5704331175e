"""netvirt.linux.vxlan against the real kernel, inside a private sandbox."""

import pytest

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
                     "remote": "10.99.0.2", "group": None, "dstport": 4789, "dev": "ul0", "mtu": 1450,
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
