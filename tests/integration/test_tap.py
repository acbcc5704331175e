"""netvirt.linux.tap against the real kernel, inside a private sandbox."""

import subprocess

import pytest

TAP = "netvirt.linux.tap"
NOBODY = 65534  # user nobody and group nogroup on Debian-family hosts


def tun_info(sandbox, name, netns=None):
    """`ip -j -d link` entry of a tun/tap device; the kernel reports taps as kind tun."""
    entry = sandbox.ip_json("-d", "link", "show", "dev", name, netns=netns)[0]
    assert entry["linkinfo"]["info_kind"] == "tun"
    return entry


def data(sandbox, name, netns=None):
    return tun_info(sandbox, name, netns)["linkinfo"]["info_data"]


# ------------------------------------------------------------ four steps ---


def test_create_tap_with_ip_tuntap_defaults(sandbox):
    steps = sandbox.four_steps(TAP, {"name": "tap0"})
    info = data(sandbox, "tap0")
    assert (info["type"], info["pi"], info["vnet_hdr"], info["multi_queue"], info["persist"]) == \
        ("tap", False, False, False, True)
    assert "user" not in info and "group" not in info
    # Same flags as `ip tuntap add tap0 mode tap` gives.
    sandbox.sh("ip tuntap add ref0 mode tap")
    reference = data(sandbox, "ref0")
    assert {k: info[k] for k in ("type", "pi", "vnet_hdr", "multi_queue", "persist")} == \
        {k: reference[k] for k in ("type", "pi", "vnet_hdr", "multi_queue", "persist")}
    after = steps["apply"]["tap"]
    assert after["mode"] == "tap" and after["owner"] is None and after["up"] is True
    assert "UP" in tun_info(sandbox, "tap0")["flags"]


def test_create_tun(sandbox):
    steps = sandbox.four_steps(TAP, {"name": "tun0", "mode": "tun", "addresses": ["192.168.1.2/24"]})
    assert data(sandbox, "tun0")["type"] == "tun"
    assert tun_info(sandbox, "tun0")["link_type"] == "none"
    assert steps["after"]["host"]["tun0"]["addresses"] == ["192.168.1.2/24"]


@pytest.mark.parametrize("args, field, expected", [
    ({"owner": "nobody"}, "user", "nobody"),
    ({"owner": str(NOBODY)}, "user", "nobody"),
    ({"owner": "0"}, "user", "root"),
    ({"group": "nogroup"}, "group", "nogroup"),
    ({"group": str(NOBODY)}, "group", "nogroup"),
])
def test_create_with_owner_or_group(sandbox, args, field, expected):
    steps = sandbox.four_steps(TAP, dict(args, name="tap0"))
    assert data(sandbox, "tap0")[field] == expected
    assert steps["after"]["host"]["tap0"]["tun"][field] == expected
    key = "owner" if field == "user" else "group"
    assert steps["apply"]["tap"][key] == (0 if expected == "root" else NOBODY)


@pytest.mark.parametrize("flag", ["multi_queue", "pi", "vnet_hdr"])
def test_create_with_flag(sandbox, flag):
    sandbox.four_steps(TAP, {"name": "tap0", flag: True})
    assert data(sandbox, "tap0")[flag] is True


@pytest.mark.parametrize("setup, args, field, value", [
    ("ip tuntap add tap0 mode tap", {"pi": True}, "pi", True),
    ("ip tuntap add tap0 mode tap pi", {"pi": False}, "pi", False),
    ("ip tuntap add tap0 mode tap", {"vnet_hdr": True}, "vnet_hdr", True),
    ("ip tuntap add tap0 mode tap vnet_hdr", {"vnet_hdr": False}, "vnet_hdr", False),
    ("ip tuntap add tap0 mode tap", {"owner": "nobody"}, "user", "nobody"),
    ("ip tuntap add tap0 mode tap user 0", {"owner": "nobody"}, "user", "nobody"),
    ("ip tuntap add tap0 mode tap", {"group": "nogroup"}, "group", "nogroup"),
])
def test_changed_in_place(sandbox, setup, args, field, value):
    sandbox.sh(setup + "; ip link set tap0 up")
    index = tun_info(sandbox, "tap0")["ifindex"]
    sandbox.four_steps(TAP, dict(args, name="tap0"))
    assert data(sandbox, "tap0")[field] == value
    assert tun_info(sandbox, "tap0")["ifindex"] == index, "changed in place, not recreated"


def test_flags_not_given_are_left_alone(sandbox):
    sandbox.sh("ip tuntap add tap0 mode tap pi vnet_hdr multi_queue user 0; ip link set tap0 up")
    result = sandbox.module(TAP, {"name": "tap0"})
    assert result["changed"] is False
    assert result["tap"]["pi"] and result["tap"]["vnet_hdr"] and result["tap"]["multi_queue"]


def test_mtu_addresses_and_down(sandbox):
    sandbox.sh("ip tuntap add tap0 mode tap; ip addr add 10.9.9.9/24 dev tap0")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "mtu": 9000, "addresses": ["10.0.7.1/24"], "up": False})
    after = steps["after"]["host"]["tap0"]
    assert after["mtu"] == 9000 and after["addresses"] == ["10.0.7.1/24"] and not after["up"]


def test_up(sandbox):
    sandbox.sh("ip tuntap add tap0 mode tap")
    steps = sandbox.four_steps(TAP, {"name": "tap0"})
    assert steps["apply"]["actions"] == ["set tap0 up in host"]
    assert steps["after"]["host"]["tap0"]["up"]


def test_master_attach(sandbox):
    sandbox.sh("ip link add br0 type bridge; ip link set br0 up")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "master": "br0", "owner": "nobody"})
    assert steps["after"]["host"]["tap0"]["master"] == "br0"
    ports = sandbox.run(["bridge", "-j", "link", "show", "dev", "tap0"]).stdout
    assert '"master":"br0"' in ports
    assert steps["apply"]["tap"]["master"] == "br0"


def test_master_change_and_detach(sandbox):
    sandbox.sh("ip link add br0 type bridge; ip link add br1 type bridge; ip tuntap add tap0 mode tap; "
               "ip link set tap0 up; ip link set tap0 master br0")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "master": "br1"})
    assert steps["apply"]["actions"] == ["attach tap0 to bridge br1 in host (leaving bridge br0)"]
    assert steps["after"]["host"]["tap0"]["master"] == "br1"
    steps = sandbox.four_steps(TAP, {"name": "tap0", "master": ""})
    assert steps["after"]["host"]["tap0"]["master"] is None


def test_tap_in_a_namespace(sandbox):
    sandbox.sh("ip netns add lab; ip -n lab link add br0 type bridge")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "netns": "lab", "owner": "nobody", "master": "br0",
                                     "multi_queue": True})
    assert "tap0" not in steps["after"]["host"]
    info = data(sandbox, "tap0", netns="lab")
    assert info["user"] == "nobody" and info["multi_queue"] is True
    assert steps["after"]["netns"]["lab"]["tap0"]["master"] == "br0"


def test_in_place_change_in_a_namespace(sandbox):
    sandbox.sh("ip netns add lab; ip -n lab tuntap add tap0 mode tap; ip -n lab link set tap0 up")
    sandbox.four_steps(TAP, {"name": "tap0", "netns": "lab", "vnet_hdr": True, "group": "nogroup"})
    info = data(sandbox, "tap0", netns="lab")
    assert info["vnet_hdr"] is True and info["group"] == "nogroup"


def test_moved_from_host_to_namespace(sandbox):
    sandbox.sh("ip netns add lab; ip tuntap add tap0 mode tap user nobody; ip addr add 10.0.7.1/24 dev tap0")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "netns": "lab", "addresses": ["10.0.7.1/24"]})
    assert steps["apply"]["actions"][0] == "move tap0 from host to lab"
    assert "tap0" not in steps["after"]["host"]
    assert steps["after"]["netns"]["lab"]["tap0"]["addresses"] == ["10.0.7.1/24"]
    assert data(sandbox, "tap0", netns="lab")["user"] == "nobody"


def test_recreate_tap_as_tun(sandbox):
    sandbox.sh("ip tuntap add tap0 mode tap user nobody; ip addr add 10.0.7.1/24 dev tap0")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "mode": "tun", "recreate": True, "owner": "nobody",
                                     "addresses": ["10.0.7.1/24"]})
    assert steps["apply"]["actions"][:2] == ["delete tap0 in host", "create tun tap0 in host (owner 65534)"]
    assert data(sandbox, "tap0")["type"] == "tun" and data(sandbox, "tap0")["user"] == "nobody"
    assert steps["after"]["host"]["tap0"]["addresses"] == ["10.0.7.1/24"]


@pytest.mark.parametrize("setup, args, field, value", [
    ("ip tuntap add tap0 mode tap", {"multi_queue": True, "recreate": True}, "multi_queue", True),
    ("ip tuntap add tap0 mode tap multi_queue", {"multi_queue": False, "recreate": True}, "multi_queue", False),
])
def test_recreate_changes_fixed_flags(sandbox, setup, args, field, value):
    sandbox.sh(setup + "; ip link add br0 type bridge; ip link set tap0 master br0; ip addr add 10.0.7.1/24 dev tap0")
    index = tun_info(sandbox, "tap0")["ifindex"]
    steps = sandbox.four_steps(TAP, dict(args, name="tap0", master="br0", addresses=["10.0.7.1/24"]))
    assert steps["apply"]["actions"][0] == "delete tap0 in host"
    assert data(sandbox, "tap0")[field] == value
    assert tun_info(sandbox, "tap0")["ifindex"] != index
    after = steps["after"]["host"]["tap0"]
    assert after["master"] == "br0" and after["addresses"] == ["10.0.7.1/24"]


def test_absent(sandbox):
    sandbox.sh("ip tuntap add tap0 mode tap")
    steps = sandbox.four_steps(TAP, {"name": "tap0", "state": "absent"})
    assert "tap0" not in steps["after"]["host"]
    assert sandbox.module(TAP, {"name": "tap0", "state": "absent"})["changed"] is False


# -------------------------------------------------------------- bad input ---


@pytest.mark.parametrize("setup, args, words", [
    ("ip tuntap add tap0 mode tap", {"mode": "tun"}, "tap 'tap0' in the host namespace has mode tap, but the task wants mode tun"),
    ("ip tuntap add tap0 mode tun", {}, "has mode tun, but the task wants mode tap"),
    ("ip tuntap add tap0 mode tap", {"multi_queue": True}, "has multi_queue False, but the task wants multi_queue True"),
    ("ip tuntap add tap0 mode tap multi_queue", {"multi_queue": False}, "has multi_queue True"),
])
def test_fixed_flags_refused_without_recreate(sandbox, setup, args, words):
    sandbox.sh(setup)
    result = sandbox.refused(TAP, dict(args, name="tap0"), words)
    assert "the kernel fixes these when a tun/tap device is created" in result["msg"]
    assert "recreate=true" in result["msg"]


@pytest.mark.parametrize("args, words", [
    ({"owner": "no-such-user-xyz"}, "owner 'no-such-user-xyz' is not a user on this host"),
    ({"group": "no-such-group-xyz"}, "group 'no-such-group-xyz' is not a group on this host"),
])
def test_unknown_owner_or_group(sandbox, args, words):
    sandbox.refused(TAP, dict(args, name="tap0"), words)
    sandbox.sh("ip tuntap add tap0 mode tap")
    sandbox.refused(TAP, dict(args, name="tap0", pi=True), words)


def test_name_held_by_another_kind(sandbox):
    sandbox.sh("ip link add tap0 type veth peer name tap0-p")
    sandbox.refused(TAP, {"name": "tap0"}, "'tap0' in the host namespace already exists as a veth device, not a tun/tap")
    sandbox.refused(TAP, {"name": "tap0", "state": "absent"}, "not a tun/tap; refusing to delete it")


def test_tun_cannot_join_a_bridge(sandbox):
    sandbox.sh("ip link add br0 type bridge")
    sandbox.refused(TAP, {"name": "tun0", "mode": "tun", "master": "br0"}, "cannot join bridge 'br0'; use mode tap")


def test_master_missing_or_not_a_bridge(sandbox):
    sandbox.refused(TAP, {"name": "tap0", "master": "br9"}, "master 'br9' of tap 'tap0' does not exist in the host namespace")
    sandbox.sh("ip link add v0 type veth peer name v1")
    sandbox.refused(TAP, {"name": "tap0", "master": "v0"}, "is a veth device, not a bridge")


@pytest.mark.parametrize("create, flags", [("", 0x1002), (" multi_queue", 0x1102)], ids=["single", "multi_queue"])
def test_device_in_use_is_refused(sandbox, create, flags):
    """A program holds the tap: its flags can't change under it, and the module says why, in check mode too."""
    sandbox.sh("ip tuntap add tap0 mode tap" + create)
    script = ("import fcntl, os, struct, sys\n"
              "fd = os.open('/dev/net/tun', os.O_RDWR)\n"
              "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', b'tap0', %d))\n"
              "print('held', flush=True)\n"
              "sys.stdin.read()\n" % flags)
    holder = subprocess.Popen(sandbox.prefix() + ["/usr/bin/python3", "-c", script],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        words = "a program (a VM, a VPN) has the device open, so pi cannot be changed now"
        sandbox.refused(TAP, {"name": "tap0", "pi": True}, words)
        sandbox.refused(TAP, {"name": "tap0", "pi": True}, words, check_mode=True)
        sandbox.refused(TAP, {"name": "tap0", "owner": "nobody"}, "so owner cannot be changed now")
        # What needs no attaching still works while the program runs.
        assert sandbox.module(TAP, {"name": "tap0", "mtu": 1400})["changed"] is True
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    # Once the program is gone, the change goes through.
    assert sandbox.module(TAP, {"name": "tap0", "pi": True})["changed"] is True
    assert data(sandbox, "tap0")["pi"] is True
