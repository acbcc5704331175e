"""Issue 23: inputs the kernel would refuse or store as something else, refused by the model before any change."""

import pytest
from unit_helpers import Bridge, Tap, Veth, Vxlan, validate_ifname

from ansible_collections.netvirt.linux.plugins.module_utils import _kind_tap, _options, _topology
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_macvlan import Macvlan
from ansible_collections.netvirt.linux.plugins.module_utils._kind_route import Route
from ansible_collections.netvirt.linux.plugins.module_utils._specs import LAB_OPTIONS, section_argument_spec

# ------------------------------------------------------------------ names with '%' (the kernel's template) ---


@pytest.mark.parametrize("name", ["v%d", "%d", "tap%d", "a%", "%s", "e%%"])
def test_percent_in_an_interface_name_is_refused(name):
    with pytest.raises(ValidationError) as info:
        validate_ifname(name, "name")
    assert "numbering template" in info.value.msg and "name '%s'" % name in info.value.msg


@pytest.mark.parametrize("build, option", [
    (lambda: Veth("v%d", peer="p0"), "name"),
    (lambda: Veth("v0", peer="p%d"), "peer"),
    (lambda: Tap("tap%d"), "name"),
    (lambda: Tap("tap0", master="br%d"), "master"),
    (lambda: Bridge("br%d"), "name"),
    (lambda: Bridge("br0", ports=["p%d"]), "ports entry name"),
    (lambda: Bridge("br0", ports=[{"name": "p%d"}]), "ports entry name"),
    (lambda: Vxlan("vx%d", vni=1), "name"),
    (lambda: Vxlan("vx0", vni=1, dev="e%d"), "dev"),
    (lambda: Macvlan("m%d", link="eth0"), "name"),
    (lambda: Macvlan("m0", link="e%d"), "link"),
    (lambda: Route(dst="10.9.0.0/16", dev="e%d"), "dev"),
])
def test_every_interface_name_option_refuses_percent(build, option):
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.msg.startswith(option + " '") and "numbering template" in info.value.msg


def test_topology_section_with_percent_names_is_refused_as_a_whole():
    with pytest.raises(ValidationError) as info:
        _topology.build({"namespaces": [{"name": "a"}], "veths": [{"name": "e%d", "netns": "a", "peer": "f0"}]})
    assert "veths[0]: name 'e%d' contains '%'" in info.value.msg


# ----------------------------------------------------------------------- addresses the kernel refuses ---


@pytest.mark.parametrize("cidr, words", [
    ("::/0", "unspecified address"), ("::/128", "unspecified address"),
    ("0.0.0.0/8", "never stores"), ("0.0.0.0/0", "never stores"),
    ("ff02::1/64", "IPv6 multicast"), ("ff0e::5/128", "IPv6 multicast"),
    ("::1/128", "allows only on lo"),
    ("fe80::1%eth0/64", "carries a zone"), ("fd00::1%1/64", "carries a zone"),
])
def test_addresses_the_kernel_refuses_or_drops(cidr, words):
    for build in (lambda: Veth("v0", peer="p0", addresses=[cidr]), lambda: Veth("v0", peer="p0", peer_addresses=[cidr]),
                  lambda: Bridge("br0", addresses=[cidr]), lambda: Tap("t0", addresses=[cidr])):
        with pytest.raises(ValidationError) as info:
            build()
        assert words in info.value.msg and repr(cidr) in info.value.msg


@pytest.mark.parametrize("cidr", [
    # Stored by the kernel as given (tried): left alone.
    "224.0.0.1/4", "239.1.1.1/24", "127.0.0.2/8", "255.255.255.255/32", "240.0.0.1/4", "0.1.2.3/8",
    "10.1.1.1/0", "169.254.1.1/16", "fe80::5/64", "::ffff:10.1.1.1/96", "fd00::1/0", "2001:db8::/64",
])
def test_addresses_the_kernel_stores_are_accepted(cidr):
    assert Veth("v0", peer="p0", addresses=[cidr]).addresses


def test_vxlan_address_with_a_zone_is_refused():
    with pytest.raises(ValidationError, match="remote 'fe80::1%eth0' carries a zone"):
        Vxlan("vx0", vni=1, remote="fe80::1%eth0")


# ------------------------------------------------------------------------------ names that are not strings ---

MODULE_SPEC = _options.argument_spec(dict(name=_options.IFNAME("x"), netns=_options.NETNS(), mtu=_options.MTU("x")))
TOPOLOGY_SPEC = dict(_options.argument_spec(LAB_OPTIONS), **section_argument_spec())


@pytest.mark.parametrize("value, words", [
    (["lab1"], "a list (['lab1'])"), ({"a": 1}, "a mapping ({'a': 1})"), (True, "a boolean (True)"), (8, "a number (8)"),
    (1.5, "a number (1.5)"),
])
def test_names_that_are_not_strings(value, words):
    problems = _options.non_string_names(MODULE_SPEC, {"name": value, "netns": "ok", "mtu": "1500"})
    assert problems == ["name must be a string, not %s: a name is taken as written, never converted; quote it in "
                        "YAML" % words]


def test_names_that_are_strings_and_other_options_pass():
    assert _options.non_string_names(MODULE_SPEC, {"name": "v0", "netns": None, "mtu": 1500}) == []


def test_topology_names_that_are_not_strings_named_by_place():
    problems = _options.non_string_names(TOPOLOGY_SPEC, {
        "name": ["L"],
        "namespaces": [{"name": "a"}, {"name": ["b"]}],
        "veths": [{"name": "e0", "netns": "a", "peer": False, "peer_netns": {"x": 1}, "mtu": 9000}],
        "bridges": [{"name": "br0", "ports": ["e0"]}],
        "iptables_chains": [{"chain": ["INPUT"], "netns": "a"}],
    })
    assert [p.split(" must")[0] for p in problems] == [
        "name", "namespaces[1].name", "veths[0].peer", "veths[0].peer_netns", "iptables_chains[0].chain"]


# ---------------------------------------------------------------------------------- tap owner and group ---

@pytest.mark.parametrize("value, signed", [(0, 0), (1000, 1000), (2 ** 31 - 1, 2 ** 31 - 1), (2 ** 31, -2 ** 31),
                                           (4294967294, -2)])
def test_tap_ids_travel_as_the_same_32_bits(value, signed):
    assert _kind_tap.ioctl_id(value) == signed
    assert _kind_tap.ioctl_id(value) & 0xFFFFFFFF == value


def test_tap_id_range_is_the_kernels():
    assert Tap("t0", owner=4294967294, group=4294967294).owner == 4294967294
    for option in ("owner", "group"):
        with pytest.raises(ValidationError, match="%s 4294967295 is out of range; use 0 to 4294967294" % option):
            Tap("t0", **{option: 4294967295})


# ----------------------------------------------------------------------------------------- bridge timers ---

@pytest.mark.parametrize("option, value, words", [
    ("ageing_time", 0.001, "use 0 or 0.02"),
    ("ageing_time", 0.01, "use 0 or 0.02"),
    ("ageing_time", 300.005, "use 300 or 300.02"),
    ("forward_delay", 4.005, "use 4 or 4.02"),
    ("forward_delay", 4.01, "use 4 or 4.02"),
    ("hello_time", 1.99, "use 1.98 or 2"),
    ("max_age", 6.03, "use 6.02 or 6.04"),
])
def test_bridge_timers_the_kernel_would_store_otherwise(option, value, words):
    with pytest.raises(ValidationError) as info:
        Bridge("br0", **{option: value})
    assert info.value.msg.startswith("%s %r cannot be stored as given" % (option, value))
    assert "multiples of 0.02 seconds" in info.value.msg and words in info.value.msg


@pytest.mark.parametrize("option, value, centis", [
    ("ageing_time", 0, 0), ("ageing_time", 0.02, 2), ("ageing_time", 300, 30000), ("ageing_time", 1000000, 100000000),
    ("forward_delay", 4.02, 402), ("forward_delay", 15, 1500), ("hello_time", 1.1, 110), ("max_age", 6.06, 606),
    ("max_age", 19.98, 1998),
])
def test_bridge_timers_the_kernel_stores_exactly(option, value, centis):
    assert Bridge("br0", **{option: value}).options()[option] == centis


# ------------------------------------------------------------------------------------------- vxlan mtu ---

def test_vxlan_mtu_leaves_room_for_the_outer_headers():
    assert Vxlan("vx0", vni=1, mtu=65485).mtu == 65485
    with pytest.raises(ValidationError, match="mtu 65486 is out of range for a vxlan device.*use 68 to 65485"):
        Vxlan("vx0", vni=1, mtu=65486)
    assert Vxlan("vx0", vni=1, remote="fd00::2", mtu=65465).mtu == 65465
    with pytest.raises(ValidationError, match="IPv6 outer headers.*use 68 to 65465"):
        Vxlan("vx0", vni=1, remote="fd00::2", mtu=65466)


# ------------------------------------------------------------------------- IPv6 below IPv6's minimum MTU ---

@pytest.mark.parametrize("build, words", [
    (lambda: Veth("v0", peer="p0", mtu=1279, addresses=["fd00::1/64"]), "fd00::1/64 (addresses)"),
    (lambda: Veth("v0", peer="p0", mtu=1000, peer_addresses=["10.0.0.2/24", "fe80::2/64"]),
     "fe80::2/64 (peer_addresses)"),
    (lambda: Bridge("br0", mtu=576, addresses=["fd00::1/64"]), "fd00::1/64 (addresses)"),
    (lambda: Tap("t0", mtu=1200, addresses=["fd00::1/64"]), "fd00::1/64"),
])
def test_ipv6_address_on_a_device_below_ipv6s_minimum_mtu(build, words):
    with pytest.raises(ValidationError) as info:
        build()
    assert "below 1280, IPv6's minimum" in info.value.msg and words in info.value.msg


def test_small_mtu_with_ipv4_only_or_at_the_minimum_is_fine():
    assert Veth("v0", peer="p0", mtu=576, addresses=["10.0.0.1/24"]).mtu == 576
    assert Veth("v0", peer="p0", mtu=1280, addresses=["fd00::1/64"]).mtu == 1280
    assert Bridge("br0", mtu=1000).mtu == 1000
