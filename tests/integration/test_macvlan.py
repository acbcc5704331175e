"""netvirt.linux.macvlan against the real kernel, inside a private sandbox."""

import pytest

MACVLAN = "netvirt.linux.macvlan"
TOPOLOGY = "netvirt.linux.topology"


def parent(sandbox, name="up0", netns="n1", far="n2", mtu=None):
    """Veth ``name`` in ``netns`` (made if missing), its peer of the same name in ``far`` with 10.60.0.9/24; both up."""
    sandbox.sh("for ns in %s %s; do [ -e /run/netns/$ns ] || ip netns add $ns; done" % (netns, far))
    sandbox.sh("ip -n {ns} link add {name} {mtu} type veth peer name {name} netns {far} {mtu} && "
               "ip -n {far} addr add 10.60.0.9/24 dev {name} && "
               "ip -n {ns} link set {name} up && ip -n {far} link set {name} up".format(
                   ns=netns, far=far, name=name, mtu="mtu %d" % mtu if mtu else ""))


def info(sandbox, name, netns="n1"):
    """`ip -j -d link show` of a macvlan: its kind checked, the entry returned (``link`` is the parent)."""
    entry = sandbox.ip_json("-d", "link", "show", "dev", name, netns=netns)[0]
    assert entry["linkinfo"]["info_kind"] == "macvlan", entry
    return entry


def ifindex(sandbox, name, netns="n1"):
    return sandbox.ip_json("link", "show", "dev", name, netns=netns)[0]["ifindex"]


BASE = {"name": "mv0", "netns": "n1", "link": "up0"}


# ------------------------------------------------------------ four steps ---


def test_create_in_a_namespace(sandbox):
    parent(sandbox)
    steps = sandbox.four_steps(MACVLAN, dict(BASE, addresses=["10.60.0.1/24"]))
    entry = info(sandbox, "mv0")
    assert entry["link"] == "up0" and entry["linkinfo"]["info_data"]["mode"] == "bridge"
    assert "UP" in entry["flags"] and entry["mtu"] == 1500
    # Its own MAC address, not its parent's.
    assert entry["address"] != sandbox.ip_json("link", "show", "dev", "up0", netns="n1")[0]["address"]
    assert steps["apply"]["macvlan"] == {"name": "mv0", "netns": "n1", "state": "present", "link": "up0",
                                         "mode": "bridge", "mtu": 1500, "up": True, "addresses": ["10.60.0.1/24"]}
    assert steps["check"]["actions"] == ["create macvlan mv0 in n1 on up0, mode bridge",
                                         "add address 10.60.0.1/24 to mv0 in n1", "set mv0 up in n1"]
    assert steps["after"]["netns"]["n1"]["mv0"]["macvlan"] == {"mode": "bridge"}
    assert "mv0" not in sandbox.links()


def test_create_in_the_host_takes_the_parent_s_mtu(sandbox):
    sandbox.sh("ip link add hp0 mtu 9000 type veth peer name hp1 mtu 9000 && ip link set hp0 up && ip link set hp1 up")
    steps = sandbox.four_steps(MACVLAN, {"name": "mv0", "link": "hp0", "mode": "vepa", "up": False})
    entry = info(sandbox, "mv0", netns=None)
    assert (entry["mtu"], entry["linkinfo"]["info_data"]["mode"], "UP" in entry["flags"]) == (9000, "vepa", False)
    assert steps["apply"]["macvlan"]["mtu"] == 9000 and steps["apply"]["macvlan"]["netns"] is None


def test_mode_mtu_addresses_and_down_in_place(sandbox):
    parent(sandbox)
    sandbox.module(MACVLAN, dict(BASE, addresses=["10.60.0.1/24"]))
    index = ifindex(sandbox, "mv0")
    steps = sandbox.four_steps(MACVLAN, dict(BASE, mode="private", mtu=1400, addresses=["10.60.0.2/24"], up=False))
    assert steps["apply"]["actions"] == [
        "set macvlan mode private on mv0 in n1", "set mtu 1400 on mv0 in n1",
        "remove address 10.60.0.1/24 from mv0 in n1", "add address 10.60.0.2/24 to mv0 in n1",
        "set mv0 down in n1"]
    entry = info(sandbox, "mv0")
    assert entry["linkinfo"]["info_data"]["mode"] == "private" and entry["mtu"] == 1400
    assert "UP" not in entry["flags"]
    assert ifindex(sandbox, "mv0") == index, "a mode change in place must not recreate the device"


def test_recreate_on_another_parent(sandbox):
    parent(sandbox)
    parent(sandbox, name="up1", mtu=9000)
    sandbox.module(MACVLAN, dict(BASE, addresses=["10.60.0.1/24"]))
    index = ifindex(sandbox, "mv0")
    # The new parent's MTU is the new device's: the kernel snapshot sees the recreation by it.
    steps = sandbox.four_steps(MACVLAN, dict(BASE, link="up1", addresses=["10.60.0.1/24"], recreate=True))
    assert steps["apply"]["actions"] == [
        "delete mv0 in n1", "create macvlan mv0 in n1 on up1, mode bridge",
        "add address 10.60.0.1/24 to mv0 in n1", "set mv0 up in n1"]
    entry = info(sandbox, "mv0")
    assert entry["link"] == "up1" and entry["mtu"] == 9000 and ifindex(sandbox, "mv0") != index
    assert steps["check"]["diff"]["after"]["mtu"] == 9000


def test_recreate_to_passthru(sandbox):
    parent(sandbox)
    sandbox.module(MACVLAN, BASE)
    steps = sandbox.four_steps(MACVLAN, dict(BASE, mode="passthru", recreate=True))
    assert steps["apply"]["actions"][:2] == ["delete mv0 in n1", "create macvlan mv0 in n1 on up0, mode passthru"]
    assert info(sandbox, "mv0")["linkinfo"]["info_data"]["mode"] == "passthru"


def test_absent(sandbox):
    parent(sandbox)
    sandbox.module(MACVLAN, BASE)
    steps = sandbox.four_steps(MACVLAN, {"name": "mv0", "netns": "n1", "state": "absent"})
    assert steps["apply"]["actions"] == ["delete mv0 in n1"]
    assert steps["apply"]["macvlan"] == {"name": "mv0", "netns": "n1", "state": "absent"}
    assert "mv0" not in sandbox.links("n1") and "up0" in sandbox.links("n1")
    assert sandbox.module(MACVLAN, {"name": "mv0", "netns": "n1", "state": "absent"})["changed"] is False
    assert sandbox.module(MACVLAN, {"name": "mv0", "netns": "nowhere", "state": "absent"})["changed"] is False


def test_the_kernel_deletes_it_with_its_parent(sandbox):
    parent(sandbox)
    sandbox.module(MACVLAN, BASE)
    sandbox.module("netvirt.linux.veth", {"name": "up0", "netns": "n1", "state": "absent"})
    assert "mv0" not in sandbox.links("n1")
    assert sandbox.module(MACVLAN, {"name": "mv0", "netns": "n1", "state": "absent"})["changed"] is False


def test_check_mode_assumes_a_parent_an_earlier_task_makes(sandbox):
    sandbox.sh("ip netns add n1")
    # The two tasks of a play, in check mode and then not: one in-process run each (each call's main()
    # as Ansible calls it, in a process of its own; test_inprocess_parity.py holds the records equal).
    steps = [
        {"name": "parent", "module": "netvirt.linux.veth",
         "args": {"name": "up0", "netns": "n1", "peer": "up1", "peer_netns": ""}},
        {"name": "macvlan", "module": MACVLAN, "args": dict(BASE, addresses=["10.60.0.1/24"]), "diff": True},
    ]
    before = sandbox.snapshot()
    checked = {r["task"]: r["result"]
               for r in sandbox.steps([dict(step, check_mode=True) for step in steps], via="inprocess")}
    assert sandbox.snapshot() == before
    assert checked["macvlan"]["changed"] is True
    assert any("link 'up0' of macvlan 'mv0' does not exist in namespace 'n1'; check mode assumes" in w
               for w in checked["macvlan"].get("warnings", [])), checked["macvlan"]
    applied = {r["task"]: r["result"] for r in sandbox.steps(steps, via="inprocess")}
    assert applied["macvlan"]["actions"] == checked["macvlan"]["actions"]
    assert applied["macvlan"]["diff"]["after"] == dict(checked["macvlan"]["diff"]["after"])
    assert info(sandbox, "mv0")["link"] == "up0"


# --------------------------------------------------------------- traffic ---


def test_traffic_leaves_by_the_parent_with_the_macvlan_s_own_mac(sandbox):
    """mv0 in n1 reaches the far end of its parent's veth (in n2), which learns mv0's MAC, not the parent's."""
    parent(sandbox)
    sandbox.module(MACVLAN, dict(BASE, addresses=["10.60.0.1/24"]))
    assert sandbox.ping("n1", "10.60.0.9")
    neighbours = sandbox.ip_json("neigh", "show", "10.60.0.1", netns="n2")
    assert [n["lladdr"] for n in neighbours] == [info(sandbox, "mv0")["address"]]


@pytest.mark.parametrize("mode, hairpin, reachable", [
    ("bridge", False, True),     # the macvlan driver switches frames between its devices itself
    ("private", True, False),    # never between them, not even reflected by the switch
    ("vepa", False, False),      # every frame leaves by the parent; nothing sends it back
    ("vepa", True, True),        # ... and a reflecting (hairpin) switch port does
])
def test_traffic_between_two_macvlans_of_one_parent(sandbox, mode, hairpin, reachable):
    """Two macvlans the module makes on one parent, by mode.

    The module makes both in n1, on n1's veth end up0, as it always does
    (beside their parent). Two addresses in one namespace would reach each
    other through the namespace's own local routes, never through the macvlan
    driver; so the test then moves each macvlan into a namespace of its own
    with `ip link set ... netns` (a macvlan keeps its parent when moved), and
    pings from one to the other. up0's peer is the port of a bridge in
    namespace `wire`, the switch: with hairpin on it sends frames back out of
    the port they came in by, as a VEPA switch does.
    """
    sandbox.sh("ip netns add n1 && ip netns add wire && ip netns add a && ip netns add b && "
               "ip -n n1 link add up0 type veth peer name dn0 netns wire && "
               "ip -n wire link add br0 type bridge && ip -n wire link set dn0 master br0 && "
               "ip -n wire link set dn0 type bridge_slave hairpin %s && "
               "ip -n wire link set br0 up && ip -n wire link set dn0 up && ip -n n1 link set up0 up"
               % ("on" if hairpin else "off"))
    for name in ("mva", "mvb"):
        sandbox.module(MACVLAN, {"name": name, "netns": "n1", "link": "up0", "mode": mode})
    assert info(sandbox, "mva")["linkinfo"]["info_data"]["mode"] == mode
    sandbox.sh("ip -n n1 link set mva netns a && ip -n n1 link set mvb netns b && "
               "ip -n a addr add 10.61.0.1/24 dev mva && ip -n b addr add 10.61.0.2/24 dev mvb && "
               "ip -n a link set mva up && ip -n b link set mvb up")
    assert sandbox.ping("a", "10.61.0.2", tries=5 if reachable else 2) is reachable
    assert sandbox.ping("b", "10.61.0.1", tries=5 if reachable else 1) is reachable


# ------------------------------------------------------------- refusals ---


@pytest.mark.parametrize("args, words", [
    ({"name": "mv0", "netns": "n1"}, "state is present but all of the following are missing: link"),
    (dict(BASE, link="nosuch0"), "link 'nosuch0' of macvlan 'mv0' does not exist in namespace 'n1'; the parent "
                                 "must be in the macvlan's own namespace"),
    (dict(BASE, link="hp0"), "link 'hp0' of macvlan 'mv0' is in the host namespace, not in namespace 'n1'; a "
                             "macvlan is made in its parent's namespace"),
    (dict(BASE, name="a-very-long-macvlan"), "name 'a-very-long-macvlan' is 19 characters long; Linux allows at "
                                             "most 15"),
    (dict(BASE, link="mv0"), "macvlan 'mv0' cannot be its own parent (link)"),
    (dict(BASE, mode="source"), "value of mode must be one of: bridge, private, vepa, passthru, got: source"),
    (dict(BASE, mtu=9000), "mtu 9000 of macvlan 'mv0' is larger than the MTU 1500 of its parent 'up0'"),
    (dict(BASE, link="lo"), "link 'lo' of macvlan 'mv0' in namespace 'n1' is a loopback device"),
    (dict(BASE, link="port0"), "link 'port0' of macvlan 'mv0' in namespace 'n1' is a port of 'br0'"),
    (dict(BASE, link="other0"), "link 'other0' of macvlan 'mv0' in namespace 'n1' is itself a macvlan; the "
                                "kernel would make 'mv0' on other0's own parent 'up0' instead"),
    (dict(BASE, netns="nowhere"), "network namespace 'nowhere' does not exist"),
])
def test_bad_input_is_refused(sandbox, args, words):
    parent(sandbox)
    sandbox.sh("ip link add hp0 type veth peer name hp1 && "
               "ip -n n1 link add port0 type veth peer name port1 && ip -n n1 link add br0 type bridge && "
               "ip -n n1 link set port0 master br0 && ip -n n1 link add other0 link up0 type macvlan")
    sandbox.refused(MACVLAN, args, words)


def test_parent_and_passthru_changes_need_recreate(sandbox):
    parent(sandbox)
    parent(sandbox, name="up1")
    sandbox.module(MACVLAN, dict(BASE, addresses=["10.60.0.1/24"]))
    index = ifindex(sandbox, "mv0")
    result = sandbox.refused(MACVLAN, dict(BASE, link="up1"), "Set recreate=true")
    assert result["msg"].startswith("macvlan 'mv0' in namespace 'n1' has link up0, but the task wants link up1; "
                                    "the kernel fixes these when a macvlan is created.")
    sandbox.refused(MACVLAN, dict(BASE, link="up1"), "Set recreate=true", check_mode=True)
    result = sandbox.refused(MACVLAN, dict(BASE, mode="passthru"), "Set recreate=true")
    assert "has mode bridge, but the task wants mode passthru" in result["msg"]
    # The snapshot does not show a macvlan's parent: the device itself must be the same one, on up0.
    assert ifindex(sandbox, "mv0") == index and info(sandbox, "mv0")["link"] == "up0"


def test_passthru_takes_its_parent_alone(sandbox):
    parent(sandbox)
    sandbox.module(MACVLAN, BASE)
    sandbox.refused(MACVLAN, dict(BASE, name="mv1", mode="passthru"),
                    "link 'up0' of macvlan 'mv1' in namespace 'n1' already carries macvlan mv0; passthru mode")
    sandbox.module(MACVLAN, dict(BASE, mode="passthru", recreate=True))
    sandbox.refused(MACVLAN, dict(BASE, name="mv1"), "carries macvlan 'mv0' in passthru mode")


def test_name_held_by_another_kind_is_refused(sandbox):
    parent(sandbox)
    sandbox.sh("ip -n n1 link add mv0 type bridge")
    sandbox.refused(MACVLAN, BASE, "'mv0' in namespace 'n1' already exists as a bridge device, not a macvlan")
    sandbox.refused(MACVLAN, {"name": "mv0", "netns": "n1", "state": "absent"}, "not a macvlan; refusing to delete it")


# -------------------------------------------------------------- topology ---


def lab():
    """A macvlan on a veth end in n1 (its peer in n2), and one in the host on a veth pair of the host."""
    return {
        "name": "m1",
        "namespaces": [{"name": "n1"}, {"name": "n2"}],
        "veths": [{"name": "up0", "netns": "n1", "peer": "up0", "peer_netns": "n2", "peer_addresses": ["10.62.0.9/24"]},
                  {"name": "a-up", "peer": "a-dn"}],
        "macvlans": [{"name": "mv0", "netns": "n1", "link": "up0", "addresses": ["10.62.0.1/24"]},
                     {"name": "mv-h", "link": "a-up", "mode": "private"}],
    }


def test_topology_section(sandbox):
    empty = sandbox.snapshot()
    steps = sandbox.four_steps(TOPOLOGY, lab())
    after = steps["after"]
    assert after["netns"]["n1"]["mv0"]["kind"] == "macvlan" and after["host"]["mv-h"]["macvlan"] == {"mode": "private"}
    assert info(sandbox, "mv0")["link"] == "up0" and info(sandbox, "mv-h", netns=None)["link"] == "a-up"
    assert sandbox.links("n1")["mv0"]["ifalias"] == "netvirt:lab=m1"
    assert steps["apply"]["summary"]["changed"] == 6 and steps["apply_again"]["summary"]["changed"] == 0
    assert sandbox.ping("n1", "10.62.0.9")
    # Dropped from the description: pruned, the macvlan with (or before) its parent.
    smaller = lab()
    smaller["veths"].pop()
    smaller["macvlans"].pop()
    steps = sandbox.four_steps(TOPOLOGY, smaller)
    assert {"a-up", "a-dn", "mv-h"}.isdisjoint(steps["after"]["host"])
    # The whole lab goes, and nothing else.
    sandbox.module(TOPOLOGY, lab())
    steps = sandbox.four_steps(TOPOLOGY, {"name": "m1", "state": "absent"})
    assert sandbox.snapshot() == empty


def test_topology_refuses_a_macvlan_without_its_parent(sandbox):
    bad = lab()
    bad["macvlans"][0]["link"] = "ghost"
    sandbox.refused(TOPOLOGY, bad, "link 'ghost' of macvlan 'mv0' does not exist in namespace 'n1'")
    del bad["macvlans"][1]["link"]
    sandbox.refused(TOPOLOGY, bad, "missing required arguments: link found in macvlans")
