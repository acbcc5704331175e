"""Issue 11 item 9: hostile names and addresses refused by the model, before anything is read."""

import pytest
from unit_helpers import Bridge, Netns, Tap, Vxlan, validate_ifname, validate_netns_name

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_tap import resolve_id


@pytest.mark.parametrize("name, words", [
    ("-x", "must not begin with '-'"), ("--help", "must not begin with '-'"), ("a\nb", "control character"),
    ("a\tb", "control character"), ("a\x1bb", "control character"), ("a\u2028b", "control character"),
    ("a\x85b", "control character"), ("a/b", "no '/'"), ("a\0b", "no '/'"), (".", "not '.'"), ("..", "not '.'"),
    ("x" * 256, "longer than 255 bytes"), ("é" * 128, "longer than 255 bytes"), ("", "non-empty"),
])
def test_bad_namespace_names(name, words):
    with pytest.raises(ValidationError, match=None) as info:
        validate_netns_name(name)
    assert words in info.value.msg
    with pytest.raises(ValidationError):
        Netns(name)


def test_good_namespace_names():
    for name in ("a", "x" * 255, "lab-1_b.c", "a b", "ünïcode"):
        assert validate_netns_name(name) == name


@pytest.mark.parametrize("name, words", [
    ("a\x01", "control character"), ("\x7f", "control character"), ("a\nb", "control character"), ("a b", "white space"), ("a\x1fb", "control character"),
    ("a\u00a0b", "white space"), ("a:b", "':'"), ("a/b", "'/'"), (".", "not allowed"), ("..", "not allowed"),
    ("và", "0xa0"), ("x" * 16, "at most 15"), ("é" * 8, "at most 15"), ("", "non-empty"),
    ("all", "refused by the kernel"), ("default", "net.ipv4.conf.default"),
])
def test_bad_interface_names(name, words):
    with pytest.raises(ValidationError) as info:
        validate_ifname(name)
    assert words in info.value.msg


@pytest.mark.parametrize("args, words", [
    ({"remote": "0.0.0.0"}, "unspecified"), ({"remote": "::"}, "unspecified"), ({"local": "0.0.0.0"}, "unspecified"),
    ({"local": "239.1.1.1"}, "multicast"), ({"remote": "239.1.1.1"}, "multicast"),
    ({"group": "10.0.0.1", "dev": "eth0"}, "not a multicast"), ({"group": "239.1.1.1"}, "needs dev"),
])
def test_bad_vxlan_addresses(args, words):
    with pytest.raises(ValidationError) as info:
        Vxlan("vx0", vni=1, **args)
    assert words in info.value.msg


@pytest.mark.parametrize("value", ["²", "١", "߁", "1\n2", "\x00", "a\x1b"])
def test_owner_non_ascii_digits_and_controls(value):
    with pytest.raises(ValidationError) as info:
        resolve_id(value, "owner")
    assert "owner" in info.value.msg


def test_owner_ascii_digits():
    assert resolve_id(" 1000 ", "owner") == 1000
    with pytest.raises(ValidationError, match="out of range"):
        Tap("t0", owner=resolve_id("99999999999999999999", "owner"))


def test_bridge_port_names_validated():
    with pytest.raises(ValidationError, match="control character"):
        Bridge("br0", ports=["p\x01"])
