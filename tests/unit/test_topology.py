"""Unit tests of the topology description: objects built by the model, problems reported together."""

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._model import Bridge, Netns, Route, Tap, Veth
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build, marker, validate_lab_name


def star(n=2):
    """S(n): n namespaces, each joined by a veth to bridge br0 in the host."""
    return {
        "namespaces": [{"name": "ns%d" % i} for i in range(n)],
        "veths": [{"name": "eth0", "netns": "ns%d" % i, "addresses": ["10.0.0.%d/24" % (i + 1)],
                   "peer": "p%d" % i} for i in range(n)],
        "bridges": [{"name": "br0", "ports": ["p%d" % i for i in range(n)], "stp": False}],
    }


def test_star_builds_engine_objects_in_order():
    lab = build(star(2))
    assert [type(o) for o in lab.objects] == [Netns, Netns, Veth, Veth, Bridge]
    assert lab.objects[2] == Veth("eth0", netns="ns0", addresses=["10.0.0.1/24"], peer="p0")
    assert lab.namespaces == ["ns0", "ns1"]
    assert (None, "br0") in lab.endpoints and ("ns1", "eth0") in lab.endpoints


def test_taps_and_routes():
    desc = star(1)
    desc["bridges"][0]["ports"].append("tap0")
    desc["taps"] = [{"name": "tap0", "master": "br0", "owner": 1000}]
    desc["routes"] = [{"netns": "ns0", "dst": "default", "gateway": "10.0.0.254"},
                      {"netns": "ns0", "dst": "10.9.0.0/16", "dev": "eth0"}]
    lab = build(desc)
    assert [type(o) for o in lab.objects] == [Netns, Veth, Tap, Bridge, Route, Route]
    assert lab.objects[2].master is None, "the bridge's port list attaches the tap"


def test_every_problem_reported_at_once():
    desc = star(2)
    desc["namespaces"].append({"name": "ns0"})                                   # duplicate namespace
    desc["veths"].append({"name": "eth0", "netns": "ns1", "peer": "q"})          # duplicate endpoint
    desc["veths"].append({"name": "x", "netns": "nowhere", "peer": "y"})         # dangling namespace
    desc["veths"].append({"name": "a" * 16, "peer": "b"})                        # model error
    desc["veths"].append({"name": "o", "peer": "o2", "addresses": ["10.1.0.1/24", "10.1.0.2/24"]})  # overlap
    desc["veths"].append({"name": "d", "peer": "d2", "addresses": ["10.0.0.1/24"], "state": "absent"})  # key
    desc["bridges"][0]["ports"].append("ghost")                                  # dangling port
    desc["bridges"].append({"name": "br1", "ports": ["p0"]})                     # port twice
    desc["taps"] = [{"name": "t0", "master": "br9"}]                             # dangling master
    desc["routes"] = [{"netns": "ns0", "dst": "default", "dev": "nope"}]         # dangling dev
    with pytest.raises(ValidationError) as err:
        build(desc)
    problems = err.value.details["problems"]
    expected = [
        "namespaces[2]: namespace 'ns0' is already described by namespaces[0]",
        "veths[2]: interface 'eth0' in namespace 'ns1' is already described by veths[1]",
        "veths[3]: netns 'nowhere' is not one of the lab's namespaces",
        "veths[4]: name '%s' is 16 characters long" % ("a" * 16),
        "veths[5]: addresses 10.1.0.1/24 and 10.1.0.2/24 of 'o' overlap",
        "veths[6]: unknown key(s) state",
        "bridges[0]: port 'ghost' is not a veth end or tap the lab describes in the host",
        "bridges[1]: port 'p0' is already a port of bridge 'br0'",
        "taps[0]: master 'br9' is not a bridge the lab describes in the host",
        "routes[0]: dev 'nope' is not an interface the lab describes in namespace 'ns0'",
    ]
    for words in expected:
        assert any(words in p for p in problems), "%r not reported in %s" % (words, problems)
    assert len(problems) == len(expected)
    assert err.value.msg.startswith("the topology has 10 problem(s), nothing was changed")


def test_same_address_on_two_links_of_one_namespace():
    desc = star(1)
    desc["veths"].append({"name": "eth1", "netns": "ns0", "peer": "q", "addresses": ["10.0.0.1/24"]})
    with pytest.raises(ValidationError, match="address 10.0.0.1 of 'eth1' is also on 'eth0'"):
        build(desc)


def test_tap_master_must_be_listed_by_a_managed_port_list():
    desc = star(1)
    desc["taps"] = [{"name": "tap0", "master": "br0"}]
    with pytest.raises(ValidationError, match="that bridge's ports do not list 'tap0'"):
        build(desc)


def test_lab_names_and_marker():
    assert marker("lab1") == "netvirt:lab=lab1"
    with pytest.raises(ValidationError):
        validate_lab_name("two words")
    with pytest.raises(ValidationError):
        validate_lab_name("")
