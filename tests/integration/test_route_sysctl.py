"""netvirt.linux.route and the netns sysctls option against the real kernel, in the sandbox."""

import pytest

ROUTE = "netvirt.linux.route"
NETNS = "netvirt.linux.netns"

# client (10.0.1.1) -- router (10.0.1.254 | 10.0.2.254) -- upstream (10.0.2.1)
LAB = """
ip netns add client; ip netns add router; ip netns add upstream
ip -n client link add c0 type veth peer name r0 netns router
ip -n router link add r1 type veth peer name u0 netns upstream
ip -n client addr add 10.0.1.1/24 dev c0; ip -n client link set c0 up
ip -n router addr add 10.0.1.254/24 dev r0; ip -n router link set r0 up
ip -n router addr add 10.0.2.254/24 dev r1; ip -n router link set r1 up
ip -n upstream addr add 10.0.2.1/24 dev u0; ip -n upstream link set u0 up
"""


def routes(sandbox, netns, *args):
    return sandbox.ip_json("route", "show", *args, netns=netns)


@pytest.fixture
def lab(sandbox):
    sandbox.sh(LAB)
    return sandbox


def test_default_route_four_steps(lab):
    steps = lab.four_steps(ROUTE, {"netns": "client", "dst": "default", "gateway": "10.0.1.254"})
    assert steps["apply"]["actions"] == ["add route default via 10.0.1.254 in client"]
    default = [r for r in routes(lab, "client") if r["dst"] == "default"]
    assert default == [{"dst": "default", "gateway": "10.0.1.254", "dev": "c0", "protocol": "static", "flags": []}]


def test_gateway_replaced_in_place(lab):
    lab.sh("ip -n client route add default via 10.0.1.253")
    steps = lab.four_steps(ROUTE, {"netns": "client", "dst": "default", "gateway": "10.0.1.254"})
    assert steps["apply"]["actions"] == ["replace route default via 10.0.1.254 in client"]
    assert [r["gateway"] for r in routes(lab, "client") if r["dst"] == "default"] == ["10.0.1.254"]


def test_device_route_metric_and_table(lab):
    args = {"netns": "router", "dst": "10.9.0.0/16", "dev": "r1", "metric": 7, "table": "100"}
    lab.four_steps(ROUTE, args)
    assert routes(lab, "router", "table", "100") == [
        {"dst": "10.9.0.0/16", "dev": "r1", "protocol": "static", "metric": 7, "scope": "link", "flags": []}]
    steps = lab.four_steps(ROUTE, dict(args, state="absent"))
    assert steps["apply"]["actions"] == ["delete route 10.9.0.0/16 dev r1 metric 7 table 100 in router"]
    assert routes(lab, "router", "table", "100") == []


def test_ipv6_route(lab):
    lab.sh("ip -n client addr add fd00:1::1/64 dev c0 nodad")
    lab.four_steps(ROUTE, {"netns": "client", "dst": "fd00:9::/64", "gateway": "fd00:1::fe"})
    entry = [r for r in lab.ip_json("-6", "route", "show", netns="client") if r["dst"] == "fd00:9::/64"]
    assert entry and entry[0]["gateway"] == "fd00:1::fe" and entry[0]["metric"] == 1024


def test_forwarding_sysctl_four_steps_and_traffic(lab):
    lab.module(ROUTE, {"netns": "client", "dst": "default", "gateway": "10.0.1.254"})
    lab.module(ROUTE, {"netns": "upstream", "dst": "10.0.1.0/24", "gateway": "10.0.2.254"})
    assert not lab.ping("client", "10.0.2.1", tries=1), "forwarding is off, yet traffic crossed the router"
    steps = lab.four_steps(NETNS, {"name": "router", "sysctls": {"net.ipv4.ip_forward": True}})
    assert steps["apply"]["actions"] == ["set lo up in router", "set sysctl net.ipv4.ip_forward=1 in router"]
    assert steps["check"]["diff"]["before"]["sysctls"] == {"net.ipv4.ip_forward": "0"}
    assert steps["apply"]["netns"]["sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert lab.run(["ip", "netns", "exec", "router", "sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"
    assert lab.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "0", "the sandbox's own setting moved"
    assert lab.ping("client", "10.0.2.1")


def test_sysctl_on_new_namespace(sandbox):
    steps = sandbox.four_steps(NETNS, {"name": "r2", "sysctls": {"net.ipv6.conf.all.forwarding": 1,
                                                                 "net.ipv4.conf.all.rp_filter": 2}})
    out = sandbox.run(["ip", "netns", "exec", "r2", "sysctl", "-n", "net.ipv6.conf.all.forwarding",
                       "net.ipv4.conf.all.rp_filter"]).stdout.split()
    assert out == ["1", "2"]
    assert steps["apply"]["actions"][0] == "create namespace r2"


# -------------------------------------------------------------- bad input ---


def test_sysctl_outside_net_refused(sandbox):
    sandbox.sh("ip netns add r")
    sandbox.refused(NETNS, {"name": "r", "sysctls": {"kernel.hostname": "x"}}, "only net.* keys")


def test_unknown_sysctl(sandbox):
    sandbox.sh("ip netns add r")
    sandbox.refused(NETNS, {"name": "r", "sysctls": {"net.ipv4.no_such_thing": 1}},
                    "sysctl net.ipv4.no_such_thing does not exist")


def test_unreachable_gateway(lab):
    # Refused by the planner, before the kernel is asked (issue 23): the same words in the host and a namespace.
    result = lab.refused(ROUTE, {"netns": "client", "dst": "default", "gateway": "192.0.2.1"},
                         "route default via 192.0.2.1 in namespace 'client': gateway 192.0.2.1 is not on a "
                         "network connected to that namespace")
    assert result["msg"].endswith("(nothing was changed)")


def test_route_bad_input(lab):
    lab.refused(ROUTE, {"netns": "client", "dst": "10.9.0.1/16", "dev": "c0"}, "has host bits set")
    lab.refused(ROUTE, {"netns": "client", "dst": "default", "dev": "nope"}, "there is no device 'nope'")
    lab.refused(ROUTE, {"netns": "nowhere", "dst": "default", "dev": "c0"}, "'nowhere' does not exist")
    lab.refused(ROUTE, {"netns": "client", "dst": "default"}, "needs a gateway, a dev, or both")
