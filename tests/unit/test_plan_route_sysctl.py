"""Unit tests of route and sysctl planning."""

import pytest
from unit_helpers import Link, NamespaceState, Netns, P, Route, RouteEntry, World, normalize_sysctls, sysctl_path

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, NamespaceMissingError, ValidationError


def space(routes=(), sysctls=None):
    links = {"lo": Link("lo", 1, None, 65536, True), "eth0": Link("eth0", 2, "veth", 1500, True,
                                                                  ("10.0.1.1/24",))}
    return NamespaceState("r", links, routes=tuple(routes), sysctls=dict(sysctls or {}))


def world(**kwargs):
    return World(namespaces=frozenset(["r"]), spaces={"r": space(**kwargs)})


def describe(plan):
    return [a.describe() for a in plan.actions]


@pytest.mark.parametrize("kwargs, dst, metric, table", [
    (dict(dst="default", gateway="10.0.1.254"), "0.0.0.0/0", 0, 254),
    (dict(dst="default", gateway="fd00::1"), "::/0", 1024, 254),
    (dict(dst="10.9.0.0/16", dev="eth0", metric=5, table="100"), "10.9.0.0/16", 5, 100),
    (dict(dst="fd00:9::/64", dev="eth0", table="local"), "fd00:9::/64", 1024, 255),
])
def test_route_normalization(kwargs, dst, metric, table):
    route = Route(netns="r", **kwargs)
    assert (route.dst, route.effective_metric, route.table) == (dst, metric, table)


@pytest.mark.parametrize("kwargs, words", [
    (dict(dst="10.9.0.5/16", dev="eth0"), "has host bits set"),
    (dict(dst="10.9.0.0", dev="eth0"), "CIDR form"),
    (dict(dst="default", gateway="10.0.1.300"), "not an IP address"),
    (dict(dst="10.9.0.0/16"), "needs a gateway, a dev, or both"),
    (dict(dst="fd00::/64", gateway="10.0.1.1"), "not of the same IP version"),
    (dict(dst="default", dev="eth0", table="nope"), "is not a routing table"),
    (dict(dst="default", dev="eth0", table="0"), "out of range"),
])
def test_route_validation(kwargs, words):
    with pytest.raises(ValidationError, match=words):
        Route(**kwargs)


def test_route_added_then_converged():
    desired = Route(dst="default", gateway="10.0.1.254", netns="r")
    plan = P.plan([desired], world())
    assert describe(plan) == ["add route default via 10.0.1.254 in r"]
    converged = world(routes=[RouteEntry("0.0.0.0/0", 254, 0, "10.0.1.254", oif=2)])
    assert not P.plan([desired], converged).changed


def test_route_gateway_changed_is_replaced():
    current = world(routes=[RouteEntry("0.0.0.0/0", 254, 0, "10.0.1.253", oif=2)])
    plan = P.plan([Route(dst="default", gateway="10.0.1.254", netns="r")], current)
    assert describe(plan) == ["replace route default via 10.0.1.254 in r"]
    assert plan.objects[0].before["gateway"] == "10.0.1.253"
    assert plan.objects[0].after == {"dst": "0.0.0.0/0", "table": 254, "metric": 0, "state": "present",
                                     "gateway": "10.0.1.254", "dev": "eth0"}


def test_route_with_other_metric_is_another_route():
    current = world(routes=[RouteEntry("0.0.0.0/0", 254, 100, "10.0.1.254", oif=2)])
    plan = P.plan([Route(dst="default", gateway="10.0.1.254", netns="r")], current)
    assert describe(plan) == ["add route default via 10.0.1.254 in r"]


def test_route_absent():
    current = world(routes=[RouteEntry("10.9.0.0/16", 100, 0, None, oif=2)])
    plan = P.plan([Route(dst="10.9.0.0/16", table="100", netns="r", state="absent")], current)
    assert describe(plan) == ["delete route 10.9.0.0/16 table 100 in r"]
    assert not P.plan([Route(dst="10.8.0.0/16", netns="r", state="absent")], current).changed


def test_route_missing_dev_or_namespace():
    with pytest.raises(NamespaceMissingError, match="no device 'nope' in namespace 'r'"):
        P.plan([Route(dst="default", dev="nope", netns="r")], world())
    with pytest.raises(NamespaceMissingError, match="'elsewhere' does not exist"):
        P.plan([Route(dst="default", dev="eth0", netns="elsewhere")], world())


def test_sysctl_keys():
    assert normalize_sysctls({"net.ipv4.ip_forward": True}) == (("net.ipv4.ip_forward", "1"),)
    assert normalize_sysctls({"net.ipv4.ip_local_port_range": "1024\t 2000"}) == (
        ("net.ipv4.ip_local_port_range", "1024 2000"),)
    assert sysctl_path("net.ipv4.conf.eth0/100.rp_filter") == "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"
    with pytest.raises(ValidationError, match="only net.\\* keys"):
        normalize_sysctls({"kernel.hostname": "x"})
    with pytest.raises(ValidationError, match="not a valid key"):
        normalize_sysctls({"net..ipv4": "1"})


def test_sysctl_plan():
    desired = Netns("r", sysctls={"net.ipv4.ip_forward": 1})
    plan = P.plan([desired], world(sysctls={"net.ipv4.ip_forward": "0"}))
    assert describe(plan) == ["set sysctl net.ipv4.ip_forward=1 in r"]
    assert plan.objects[0].before["sysctls"] == {"net.ipv4.ip_forward": "0"}
    assert plan.objects[0].after["sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert not P.plan([desired], world(sysctls={"net.ipv4.ip_forward": "1"})).changed
    new = P.plan([Netns("fresh", sysctls={"net.ipv4.ip_forward": 1})], world())
    assert describe(new) == ["create namespace fresh", "set lo up in fresh", "set sysctl net.ipv4.ip_forward=1 in fresh"]


def test_unknown_sysctl_refused_before_any_change():
    # The adapter reads a key the namespace does not have as None.
    current = World(namespaces=frozenset(["r"]), spaces={"r": NamespaceState(
        "r", {"lo": Link("lo", 1, None, 65536, False)}, sysctls={"net.ipv4.nope": None})})
    with pytest.raises(ConflictError, match="sysctl net.ipv4.nope does not exist in namespace 'r'"):
        P.plan([Netns("r", sysctls={"net.ipv4.nope": 1})], current)


@pytest.mark.parametrize("key", [
    "net.//.//.//.tmp.x.pwned", "net.//.kernel.hostname", "net.ipv4./..x", "net.ipv4.conf./.forwarding",
    "net.ipv4.ip_forward\n", "net.ipv4.ip\x00forward", "net.ipv4.ip forward", "net.ipv4.\u2028.x", "net.ipv4",
    "net.ipv4.conf.//.rp_filter",
])
def test_sysctl_keys_that_could_leave_proc_sys_net_refused(key):
    with pytest.raises(ValidationError, match="sysctl"):
        normalize_sysctls({key: "1"})
    with pytest.raises(ValidationError):
        sysctl_path(key)


@pytest.mark.parametrize("value", ["1\n0", "1\r", "1\x0b2", "\x1c", "1\u2028", "1\x85", "", "   ", [1], {"a": 1}, None])
def test_sysctl_values_with_control_characters_or_wrong_types_refused(value):
    with pytest.raises(ValidationError, match="net.ipv4.ip_forward"):
        normalize_sysctls({"net.ipv4.ip_forward": value})


def test_sysctl_interface_keys():
    from unit_helpers import sysctl_generic_key, sysctl_interface

    assert sysctl_interface("net.ipv4.conf.eth0/100.rp_filter") == "eth0.100"
    assert sysctl_generic_key("net.ipv4.conf.eth0/100.rp_filter") == "net.ipv4.conf.default.rp_filter"
    assert sysctl_interface("net.ipv6.neigh.v1.retrans_time_ms") == "v1"
    assert sysctl_interface("net.ipv4.conf.all.forwarding") is None
    assert sysctl_interface("net.ipv4.ip_forward") is None
    assert sysctl_generic_key("net.ipv4.ip_forward") == "net.ipv4.ip_forward"
