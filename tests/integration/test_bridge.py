"""netvirt.linux.bridge against the real kernel, inside a private sandbox."""

import json

import pytest

BRIDGE = "netvirt.linux.bridge"


def bridge_info(sandbox, name, netns=None):
    """The bridge's options as `ip -j -d link` reports them (timers in centiseconds)."""
    entry = sandbox.ip_json("-d", "link", "show", "dev", name, netns=netns)[0]
    assert entry["linkinfo"]["info_kind"] == "bridge"
    return entry


def bridge_ports(sandbox, netns=None):
    """name -> `bridge -j -d link` entry, for every bridge port."""
    argv = ["bridge"] + (["-n", netns] if netns else []) + ["-j", "-d", "link", "show"]
    out = sandbox.run(argv).stdout
    return {entry["ifname"]: entry for entry in (json.loads(out) if out.strip() else [])}


def veths(sandbox, *names, netns=None):
    """Pairs name/name-peer, up, in ``netns``."""
    prefix = "ip -n %s " % netns if netns else "ip "
    script = []
    for name in names:
        script.append(prefix + "link add %s type veth peer name %s-p" % (name, name))
        script.append(prefix + "link set %s up" % name)
    sandbox.sh("; ".join(script))


# ------------------------------------------------------------ four steps ---


def test_create_plain_bridge(sandbox):
    steps = sandbox.four_steps(BRIDGE, {"name": "br0"})
    after = steps["after"]["host"]["br0"]
    assert after["kind"] == "bridge" and after["up"]
    assert after["bridge"]["stp_state"] == 0 and after["bridge"]["forward_delay"] == 1500
    assert steps["apply"]["bridge"]["ports"] == [] and steps["apply"]["bridge"]["stp"] is False
    assert "UP" in bridge_info(sandbox, "br0")["flags"]


def test_create_bridge_with_everything(sandbox):
    veths(sandbox, "v0", "v1")
    steps = sandbox.four_steps(BRIDGE, {
        "name": "br0", "stp": True, "forward_delay": 4, "hello_time": 1, "max_age": 10, "ageing_time": 60,
        "priority": 4096, "addresses": ["10.0.1.254/24"], "mtu": 1400,
        "ports": ["v0", {"name": "v1", "cost": 7, "priority": 3, "hairpin": True}]})
    data = bridge_info(sandbox, "br0")["linkinfo"]["info_data"]
    assert (data["stp_state"], data["forward_delay"], data["hello_time"], data["max_age"], data["ageing_time"],
            data["priority"]) == (1, 400, 100, 1000, 6000, 4096)
    ports = bridge_ports(sandbox)
    assert ports["v0"]["master"] == ports["v1"]["master"] == "br0"
    assert (ports["v1"]["cost"], ports["v1"]["priority"], ports["v1"]["hairpin"]) == (7, 3, True)
    after = steps["after"]["host"]["br0"]
    assert after["mtu"] == 1400 and after["addresses"] == ["10.0.1.254/24"]
    assert steps["check"]["diff"]["before_header"] == steps["check"]["diff"]["after_header"] == "bridge br0 (host)"
    assert steps["apply"]["bridge"]["ports"] == [{"name": "v0"}, {"name": "v1", "cost": 7, "priority": 3,
                                                                  "hairpin": True}]


@pytest.mark.parametrize("option, value, field, kernel", [
    ("stp", True, "stp_state", 1),
    ("forward_delay", 4, "forward_delay", 400),
    ("forward_delay", 2.5, "forward_delay", 250),
    ("hello_time", 1, "hello_time", 100),
    ("max_age", 12, "max_age", 1200),
    ("ageing_time", 45, "ageing_time", 4500),
    ("ageing_time", 0, "ageing_time", 0),
    ("priority", 100, "priority", 100),
])
def test_bridge_option_updated_in_place(sandbox, option, value, field, kernel):
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up")
    index = bridge_info(sandbox, "br0")["ifindex"]
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", option: value})
    assert steps["before"]["host"]["br0"]["bridge"][field] != kernel
    assert steps["after"]["host"]["br0"]["bridge"][field] == kernel
    assert bridge_info(sandbox, "br0")["linkinfo"]["info_data"][field] == kernel
    assert bridge_info(sandbox, "br0")["ifindex"] == index, "updated in place, not recreated"
    assert steps["check"]["diff"]["after"][option] == value


def test_stp_off_in_place(sandbox):
    # Seed 003: brctl stp br-test off.
    sandbox.sh("ip link add br-test type bridge stp_state 1; ip link set br-test up")
    sandbox.four_steps(BRIDGE, {"name": "br-test", "stp": False})
    assert bridge_info(sandbox, "br-test")["linkinfo"]["info_data"]["stp_state"] == 0


def test_addresses_exact_set(sandbox):
    # Seed 004's br0 carries an address.
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up; ip addr add 10.9.9.9/24 dev br0")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "addresses": ["10.0.1.254/24", "fd00:1::1/64"]})
    assert steps["after"]["host"]["br0"]["addresses"] == ["10.0.1.254/24", "fd00:1::1/64"]
    assert steps["apply"]["actions"][0] == "remove address 10.9.9.9/24 from br0 in host"


def test_mtu(sandbox):
    sandbox.sh("ip link add br0 type bridge")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "mtu": 9000, "up": False})
    assert steps["after"]["host"]["br0"]["mtu"] == 9000
    assert not steps["after"]["host"]["br0"]["up"]


def test_mtu_follows_ports_when_not_given(sandbox):
    sandbox.sh("ip link add v0 type veth peer name v0-p mtu 9000; ip link set v0 mtu 9000")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "ports": ["v0"]})
    # The kernel gives the bridge its ports' smallest MTU; check mode predicted it.
    assert steps["after"]["host"]["br0"]["mtu"] == 9000
    assert steps["check"]["bridge"]["mtu"] == 9000


def test_up_false(sandbox):
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "up": False})
    assert not steps["after"]["host"]["br0"]["up"]


def test_ports_attach(sandbox):
    veths(sandbox, "v0", "v1")
    sandbox.sh("ip link add br0 type bridge")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "ports": ["v0", "v1"]})
    assert steps["after"]["host"]["v0"]["master"] == steps["after"]["host"]["v1"]["master"] == "br0"
    assert set(bridge_ports(sandbox)) == {"v0", "v1"}


def test_ports_exact_set_detaches_but_never_deletes(sandbox):
    veths(sandbox, "v0", "v1", "v2")
    sandbox.sh("ip link add br0 type bridge; ip link set v0 master br0; ip link set v1 master br0")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "ports": ["v1", "v2"]})
    assert steps["apply"]["actions"] == ["detach v0 from bridge br0 in host", "attach v2 to bridge br0 in host",
                                         "set br0 up in host"]
    after = steps["after"]["host"]
    assert after["v0"]["master"] is None and after["v0"]["kind"] == "veth"
    assert set(bridge_ports(sandbox)) == {"v1", "v2"}


def test_ports_empty_detaches_all(sandbox):
    veths(sandbox, "v0")
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up; ip link set v0 master br0")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "ports": []})
    assert steps["after"]["host"]["v0"]["master"] is None and "v0" in steps["after"]["host"]
    assert bridge_ports(sandbox) == {}


def test_port_moves_from_another_bridge(sandbox):
    veths(sandbox, "v0")
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up; ip link add br1 type bridge; "
               "ip link set v0 master br1")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "ports": ["v0"]})
    assert steps["apply"]["actions"] == ["attach v0 to bridge br0 in host (leaving bridge br1)"]
    assert bridge_ports(sandbox)["v0"]["master"] == "br0"


@pytest.mark.parametrize("setting, value", [
    ("cost", 100),
    ("priority", 5),
    ("hairpin", True),
])
def test_port_setting_in_place(sandbox, setting, value):
    veths(sandbox, "v0")
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up; ip link set v0 master br0")
    before = bridge_ports(sandbox)["v0"][setting]
    assert before != value
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "ports": [{"name": "v0", setting: value}]})
    assert bridge_ports(sandbox)["v0"][setting] == value
    assert steps["after"]["host"]["v0"]["port"][setting] == value
    assert steps["apply"]["bridge"]["ports"] == [{"name": "v0", setting: value}]
    assert steps["check"]["diff"]["before"]["ports"] == [{"name": "v0", setting: before}]


def test_hairpin_off_again(sandbox):
    veths(sandbox, "v0")
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up; ip link set v0 master br0; "
               "bridge link set dev v0 hairpin on")
    sandbox.four_steps(BRIDGE, {"name": "br0", "ports": [{"name": "v0", "hairpin": False}]})
    assert bridge_ports(sandbox)["v0"]["hairpin"] is False


def test_bridge_in_a_namespace(sandbox):
    # Seed 002: bridge br inside namespace "bridge".
    sandbox.sh("ip netns add bridge")
    veths(sandbox, "bridge-net0", "bridge-net1", netns="bridge")
    steps = sandbox.four_steps(BRIDGE, {"name": "br", "netns": "bridge", "ports": ["bridge-net0", "bridge-net1"]})
    assert "br" not in steps["after"]["host"]
    assert steps["after"]["netns"]["bridge"]["br"]["kind"] == "bridge"
    assert set(bridge_ports(sandbox, netns="bridge")) == {"bridge-net0", "bridge-net1"}
    assert bridge_info(sandbox, "br", netns="bridge")["flags"].count("UP") == 1


def test_same_name_in_namespace_and_host_are_separate(sandbox):
    sandbox.sh("ip netns add lab; ip -n lab link add name br type bridge; ip link add name br type bridge stp_state 1")
    sandbox.four_steps(BRIDGE, {"name": "br", "netns": "lab", "priority": 7})
    assert bridge_info(sandbox, "br", netns="lab")["linkinfo"]["info_data"]["priority"] == 7
    assert bridge_info(sandbox, "br")["linkinfo"]["info_data"]["priority"] == 32768


def test_absent_detaches_ports_and_keeps_them(sandbox):
    veths(sandbox, "v0")
    sandbox.sh("ip link add br0 type bridge; ip link set v0 master br0")
    steps = sandbox.four_steps(BRIDGE, {"name": "br0", "state": "absent"})
    assert "br0" not in steps["after"]["host"]
    assert steps["after"]["host"]["v0"]["master"] is None
    assert steps["apply"]["bridge"] == {"name": "br0", "netns": None, "state": "absent"}


def test_absent_when_missing_changes_nothing(sandbox):
    result = sandbox.module(BRIDGE, {"name": "br0", "state": "absent"})
    assert result["changed"] is False and result["actions"] == []


# -------------------------------------------------------------- bad input ---


def test_missing_port_is_refused(sandbox):
    sandbox.sh("ip netns add bridge; ip link add bridge-net0 type veth peer name net0-bridge")
    result = sandbox.refused(BRIDGE, {"name": "br", "netns": "bridge", "ports": ["bridge-net0"]},
                             "port 'bridge-net0' of bridge 'br' does not exist in namespace 'bridge'")
    assert "create it there first" in result["msg"]


def test_missing_port_refused_on_existing_bridge_too(sandbox):
    veths(sandbox, "v0")
    sandbox.sh("ip link add br0 type bridge; ip link set v0 master br0")
    sandbox.refused(BRIDGE, {"name": "br0", "ports": ["v9"], "stp": True},
                    "port 'v9' of bridge 'br0' does not exist in the host namespace")


def test_name_held_by_another_kind(sandbox):
    sandbox.sh("ip link add br0 type veth peer name br0-p")
    sandbox.refused(BRIDGE, {"name": "br0", "stp": True},
                    "'br0' in the host namespace already exists as a veth device, not a bridge")
    sandbox.refused(BRIDGE, {"name": "br0", "state": "absent"}, "not a bridge; refusing to delete it")


def test_bridge_asked_to_change_namespace(sandbox):
    veths(sandbox, "v0")
    sandbox.sh("ip netns add lab; ip link add br0 type bridge; ip link set v0 master br0")
    result = sandbox.refused(BRIDGE, {"name": "br0", "netns": "lab"},
                             "bridge 'br0' exists in the host namespace but the task wants it in namespace 'lab'")
    assert "bridges are netns-local" in result["msg"] and "Delete it in the host first" in result["msg"]
    # Check mode refuses the same way.
    sandbox.refused(BRIDGE, {"name": "br0", "netns": "lab"}, "bridges are netns-local", check_mode=True)


def test_port_that_is_a_bridge(sandbox):
    sandbox.sh("ip link add br0 type bridge; ip link add br1 type bridge")
    sandbox.refused(BRIDGE, {"name": "br0", "ports": ["br1"]}, "is itself a bridge")


@pytest.mark.parametrize("args, words", [
    ({"name": "br0", "hello_time": 20}, "hello_time 20.0 is out of range; use 1 to 10 seconds"),
    ({"name": "br0", "stp": True, "forward_delay": 1}, "too short for a bridge running STP"),
    ({"name": "br0", "ports": [{"name": "v0", "cost": 0}]}, "cost of port 'v0' 0 is out of range"),
    ({"name": "br0", "ports": [{"name": "v0", "colour": "red"}]}, "ports[0]: unsupported parameter colour"),
    ({"name": "br0", "ports": [{"name": "v0", "cost": "many"}]}, "ports[0]: argument 'cost' is of type str"),
    ({"name": "br0", "netns": "nowhere"}, "network namespace 'nowhere' does not exist"),
])
def test_bad_arguments(sandbox, args, words):
    sandbox.refused(BRIDGE, args, words)


def test_stp_range_refused_by_kernel_is_explained(sandbox):
    # STP already on and forward_delay 1 s: only the kernel knows STP is on.
    sandbox.sh("ip link add br0 type bridge stp_state 1")
    sandbox.refused(BRIDGE, {"name": "br0", "forward_delay": 1}, "forward_delay must be 2 to 30 seconds while STP is on")
