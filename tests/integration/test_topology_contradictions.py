"""topology refuses a description that contradicts itself before any change (issue 23 items 4 and 1), plans
each object after what it stands on whatever the order it is listed in (item 8), and only warns of what the
kernel accepts (item 10).

Each refusal is a reproduction of the issue that used to half-build the lab (t0, br0, m0 made, then EBUSY;
vx0 made, then vx1 refused; a veth built, then its host route refused) or report `changed` on every run (two
routes for one destination): now the kernel snapshot is unchanged (sandbox.refused).
"""

TOPOLOGY = "netvirt.linux.topology"
ROUTE = "netvirt.linux.route"
VXLAN = "netvirt.linux.vxlan"


def test_a_macvlan_on_a_port_of_a_lab_bridge_is_refused_before_anything_is_made(sandbox):
    lab = {"name": "c1", "taps": [{"name": "t0"}], "bridges": [{"name": "br0", "ports": ["t0"]}],
           "macvlans": [{"name": "m0", "link": "t0"}]}
    result = sandbox.refused(TOPOLOGY, lab, "the topology has 1 problem(s), nothing was changed")
    assert result["problems"] == [
        "macvlans[0]: macvlan 'm0' is made on 't0', which bridge 'br0' (bridges[0]) takes as a port in the host; "
        "the kernel gives a device's frames to its bridge or to its macvlans, not both (EBUSY): choose another "
        "parent, or take 't0' off the bridge"]
    assert not {"t0", "br0", "m0"} & set(sandbox.links())


def test_a_macvlan_on_a_port_joined_by_master_is_refused(sandbox):
    lab = {"name": "c1", "bridges": [{"name": "br0"}], "taps": [{"name": "t0", "master": "br0"}],
           "macvlans": [{"name": "m0", "link": "t0"}]}
    result = sandbox.refused(TOPOLOGY, lab, "which bridge 'br0' (taps[0]) takes as a port")
    assert len(result["problems"]) == 1


def test_a_device_with_two_masters_is_refused(sandbox):
    lab = {"name": "c1", "bridges": [{"name": "br0"}, {"name": "br1", "ports": ["t0"]}],
           "taps": [{"name": "t0", "master": "br0"}]}
    result = sandbox.refused(TOPOLOGY, lab, "the topology has 1 problem(s)")
    assert result["problems"] == [
        "taps[0]: master is 'br0' but bridge 'br1' (bridges[1]) lists 't0' among its ports; a device has one master"]


def test_a_macvlan_on_a_bridge_that_takes_it_as_a_port_is_refused(sandbox):
    # Each stands on the other: the kernel can make neither first (and refuses the loop, EBUSY).
    lab = {"name": "c1", "bridges": [{"name": "br0", "ports": ["m0"]}], "macvlans": [{"name": "m0", "link": "br0"}]}
    sandbox.refused(TOPOLOGY, lab, "macvlan 'm0' (on bridge 'br0'), bridge 'br0' (on macvlan 'm0') stand on each "
                                   "other")


def test_two_vxlans_with_one_vni_and_port_in_a_namespace_are_refused(sandbox):
    # The kernel's rule (vxlan_config_validate): vni, dstport and address family; local, remote and dev do not
    # tell two devices apart. Another dstport, or IPv6, does.
    lab = {"name": "c1", "namespaces": [{"name": "n"}],
           "veths": [{"name": "u0", "netns": "n", "peer": "u1", "peer_netns": "n",
                      "addresses": ["10.9.0.1/24"], "peer_addresses": ["10.9.1.1/24"]}],
           "vxlans": [{"name": "vx0", "netns": "n", "vni": 5, "local": "10.9.0.1", "dev": "u0"},
                      {"name": "vx1", "netns": "n", "vni": 5, "local": "10.9.1.1", "dev": "u1"},
                      {"name": "vx2", "netns": "n", "vni": 5, "dstport": 4790},
                      {"name": "vx3", "netns": "n", "vni": 5, "remote": "fd00::2"},
                      {"name": "vx4", "vni": 5}]}
    result = sandbox.refused(TOPOLOGY, lab, "the topology has 1 problem(s), nothing was changed")
    assert result["problems"] == [
        "vxlans[1]: vni 5 with dstport 4789 (IPv4) in namespace 'n' is already taken by vxlans[0] (vxlan 'vx0'); "
        "the kernel allows one vxlan device per vni, dstport and address family in a namespace, whatever their "
        "local, remote, group or dev"]
    assert sandbox.namespaces() == set()
    del lab["vxlans"][1]
    sandbox.module(TOPOLOGY, lab)
    assert {"vx0", "vx2", "vx3"} <= set(sandbox.links("n")) and "vx4" in sandbox.links()


def test_a_vxlan_whose_vni_a_device_of_the_namespace_holds_is_refused(sandbox):
    sandbox.sh("ip link add other0 type vxlan id 7 dstport 4789 remote 10.1.1.1")
    result = sandbox.refused(VXLAN, {"name": "vx1", "vni": 7, "remote": "10.2.2.2"},
                             "vxlan 'vx1' in the host namespace: vni 7 with dstport 4789 is already taken there by vxlan "
                             "'other0'")
    assert "nothing was changed" in result["msg"]
    lab = {"name": "c1", "veths": [{"name": "a0", "peer": "a1"}], "vxlans": [{"name": "vx1", "vni": 7}]}
    sandbox.refused(TOPOLOGY, lab, "is already taken there by vxlan 'other0'")
    assert "a0" not in sandbox.links()


def test_two_routes_for_one_destination_table_and_metric_are_refused(sandbox):
    lab = {"name": "c1", "namespaces": [{"name": "n"}],
           "veths": [{"name": "e0", "netns": "n", "peer": "e1", "addresses": ["10.0.0.1/24"]}],
           "routes": [{"netns": "n", "dst": "10.9.0.0/16", "gateway": "10.0.0.2"},
                      {"netns": "n", "dst": "10.9.0.0/16", "gateway": "10.0.0.3"},
                      {"netns": "n", "dst": "10.9.0.0/16", "gateway": "10.0.0.3", "metric": 10}]}
    result = sandbox.refused(TOPOLOGY, lab, "the topology has 1 problem(s), nothing was changed")
    assert result["problems"] == [
        "routes[1]: route to 10.9.0.0/16 (table main, metric 0) in namespace 'n' is already taken by routes[0]; "
        "the kernel keeps one route per table, destination and metric, so the two would replace each other on "
        "every run: give one, or another metric"]
    del lab["routes"][1]
    sandbox.module(TOPOLOGY, lab)
    assert sandbox.module(TOPOLOGY, lab)["changed"] is False


def test_a_host_route_whose_gateway_no_interface_reaches_is_refused(sandbox):
    lab = {"name": "c1", "namespaces": [{"name": "n"}],
           "veths": [{"name": "h0", "peer": "e0", "peer_netns": "n", "addresses": ["10.0.0.1/24"]}],
           "routes": [{"dst": "10.9.0.0/16", "gateway": "10.5.0.1"}]}
    result = sandbox.refused(TOPOLOGY, lab, "route 10.9.0.0/16 via 10.5.0.1 in the host namespace: gateway 10.5.0.1 "
                                            "is not on a network connected to that namespace (connected, of "
                                            "interfaces that are up: 10.0.0.0/24 on 'h0', 127.0.0.0/8 on 'lo')")
    assert "nothing was changed" in result["msg"]
    assert "h0" not in sandbox.links() and sandbox.namespaces() == set()
    # The same rule for the single-object module, counting the host's own addresses.
    sandbox.refused(ROUTE, {"dst": "10.9.0.0/16", "gateway": "10.5.0.1"},
                    "in the host namespace: gateway 10.5.0.1 is not on a network connected to that namespace")
    # A subnet the host already has (not the lab's) reaches it, as the kernel sees it.
    sandbox.sh("ip link add x0 type veth peer name x1 && ip address add 10.5.0.2/24 dev x0 && ip link set x0 up")
    sandbox.module(TOPOLOGY, lab)
    assert any("10.9.0.0/16" in line for line in sandbox.sh("ip route").stdout.splitlines())


def test_a_gateway_on_an_interface_the_lab_keeps_down_is_refused(sandbox):
    # The kernel drops a down interface's subnet from its routes: the gateway is unreachable.
    lab = {"name": "c1", "namespaces": [{"name": "n"}],
           "veths": [{"name": "e0", "netns": "n", "peer": "e1", "addresses": ["10.0.0.1/24"], "up": False}],
           "routes": [{"netns": "n", "dst": "default", "gateway": "10.0.0.2"}]}
    sandbox.refused(TOPOLOGY, lab, "in namespace 'n': gateway 10.0.0.2 is not on a network connected to that "
                                   "namespace")
    assert sandbox.namespaces() == set()


def test_objects_are_planned_after_what_they_stand_on(sandbox):
    # Registry order plans macvlans and vxlans before bridges: each of these stands on a device of a later section.
    lab = {"name": "c1", "namespaces": [{"name": "n"}],
           "veths": [{"name": "v0", "netns": "n", "peer": "v1", "peer_netns": "n", "addresses": ["10.1.0.1/24"]},
                     {"name": "p0", "netns": "n", "peer": "p1", "peer_netns": "n"}],
           "taps": [{"name": "t0", "netns": "n", "master": "br0"}],
           "macvlans": [{"name": "mb0", "netns": "n", "link": "br0", "addresses": ["10.3.0.1/24"]},
                        {"name": "mv0", "netns": "n", "link": "v1", "mode": "private"}],
           "vxlans": [{"name": "vx0", "netns": "n", "vni": 9, "dev": "br0", "remote": "10.2.0.9"},
                      {"name": "vx1", "netns": "n", "vni": 10, "master": "br0"}],
           "bridges": [{"name": "br0", "netns": "n", "addresses": ["10.2.0.1/24"]}],
           "routes": [{"netns": "n", "dst": "10.8.0.0/16", "gateway": "10.2.0.7"},
                      {"netns": "n", "dst": "10.7.0.0/16", "gateway": "10.3.0.7", "dev": "mb0"},
                      {"netns": "n", "dst": "10.6.0.0/16", "gateway": "10.1.0.7"}]}
    steps = sandbox.four_steps(TOPOLOGY, lab)
    links = steps["after"]["netns"]["n"]
    assert links["t0"]["master"] == "br0" and links["vx1"]["master"] == "br0"
    assert links["mb0"]["kind"] == "macvlan" and links["vx0"]["kind"] == "vxlan"
