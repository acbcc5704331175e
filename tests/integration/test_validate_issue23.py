"""Issue 23 item 1 (validation): what the kernel would refuse or store otherwise is refused before any change.

Each reproduction of the issue, through the module path (and check mode where a run read the kernel before
failing), asserting the message and an unchanged kernel (Sandbox.refused). The wider catalogue of such inputs
is tests/integration/hostile_cases/validate_issue23.yml.
"""

from __future__ import annotations

VETH = "netvirt.linux.veth"
TAP = "netvirt.linux.tap"
NETNS = "netvirt.linux.netns"
BRIDGE = "netvirt.linux.bridge"
TOPOLOGY = "netvirt.linux.topology"
FLUSH = "net.ipv4.route.flush"  # write-only (mode 0200): an action, not a setting


# ------------------------------------------------------------------------- '%' in interface names ---

def test_percent_names_create_no_numbered_device(sandbox):
    sandbox.sh("ip link add v0 type veth peer name p9")  # the kernel's template would then make v1
    sandbox.refused(VETH, {"name": "v%d", "peer": "p%d"}, "name 'v%d' contains '%'")
    sandbox.refused(VETH, {"name": "v9", "peer": "p%d"}, "peer 'p%d' contains '%'", check_mode=True)
    sandbox.refused(TAP, {"name": "tap%d"}, "name 'tap%d' contains '%'")
    assert sorted(sandbox.links()) == ["lo", "p9", "v0"]


def test_topology_percent_name_refused_and_the_lab_still_tears_down(sandbox):
    lab = {"name": "L", "namespaces": [{"name": "a"}], "veths": [{"name": "e%d", "netns": "a", "peer": "f0"}]}
    sandbox.refused(TOPOLOGY, lab, "veths[0]: name 'e%d' contains '%'")
    assert sandbox.namespaces() == set()
    assert sandbox.module(TOPOLOGY, {"name": "L", "state": "absent"})["changed"] is False


# ------------------------------------------------------------------------- sysctls that are not settings ---

def test_write_only_sysctl_refused_on_a_new_namespace(sandbox):
    sandbox.refused(NETNS, {"name": "lab1", "sysctls": {FLUSH: 1}}, "sysctl %s is write-only" % FLUSH)
    assert sandbox.namespaces() == set()


def test_write_only_sysctl_refused_on_an_existing_namespace(sandbox):
    sandbox.sh("ip netns add lab1")
    for check_mode in (True, False):
        sandbox.refused(NETNS, {"name": "lab1", "sysctls": {"net.ipv4.ip_forward": 1, FLUSH: 1}},
                        "sysctl %s is write-only (mode 0200)" % FLUSH, check_mode=check_mode)


def test_read_only_sysctl_refused(sandbox):
    # A read-only entry under /proc/sys/net (mode 0444).
    key = "net.ipv4.tcp_available_congestion_control"
    sandbox.refused(NETNS, {"name": "lab1", "sysctls": {key: "reno"}}, "sysctl %s is read-only" % key)
    assert sandbox.namespaces() == set()


def test_topology_write_only_sysctl_refused_first_and_on_a_built_lab(sandbox):
    lab = {"name": "L", "namespaces": [{"name": "a", "sysctls": {FLUSH: 1}}]}
    sandbox.refused(TOPOLOGY, lab, "sysctl %s is write-only" % FLUSH)
    assert sandbox.namespaces() == set()
    built = {"name": "L", "namespaces": [{"name": "a", "sysctls": {"net.ipv4.ip_forward": 1}}]}
    assert sandbox.module(TOPOLOGY, built)["changed"] is True
    sandbox.refused(TOPOLOGY, lab, "sysctl %s is write-only" % FLUSH)
    assert sandbox.module(TOPOLOGY, built)["changed"] is False


# ------------------------------------------------------------------ addresses the kernel refuses or drops ---

def test_addresses_the_kernel_refuses_or_never_stores(sandbox):
    for cidr, words in (("::/0", "is the unspecified address (::), which the kernel refuses"),
                        ("::1/128", "is the IPv6 loopback address, which the kernel allows only on lo"),
                        ("fe80::1%eth0/64", "carries a zone")):
        sandbox.refused(VETH, {"name": "v0", "peer": "p0", "addresses": [cidr]}, "%r %s" % (cidr, words))
    sandbox.refused(VETH, {"name": "v0", "peer": "p0", "peer_addresses": ["0.0.0.0/8"]},
                    "'0.0.0.0/8' is the unspecified address (0.0.0.0), which the kernel never stores", check_mode=True)
    assert sorted(sandbox.links()) == ["lo"]


# ------------------------------------------------------------------------------- names that are not strings ---

def test_names_that_are_not_strings_are_not_converted(sandbox):
    sandbox.refused(NETNS, {"name": ["lab1"]}, "name must be a string, not a list (['lab1'])")
    sandbox.refused(VETH, {"name": "v0", "peer": True}, "peer must be a string, not a boolean (True)", check_mode=True)
    sandbox.refused(TOPOLOGY, {"name": ["L"], "namespaces": [{"name": {"a": 1}}]},
                    "name must be a string, not a list (['L']): a name is taken as written, never converted; quote it "
                    "in YAML; namespaces[0].name must be a string, not a mapping")
    assert sandbox.namespaces() == set()


# ----------------------------------------------------------------------------------- tap owner and group ---

def test_tap_owner_and_group_at_the_top_of_the_range(sandbox):
    steps = sandbox.four_steps(TAP, {"name": "tap0", "owner": "4294967294", "group": "4294967294"})
    info = sandbox.ip_json("-d", "link", "show", "dev", "tap0")[0]["linkinfo"]["info_data"]
    assert (str(info["user"]), str(info["group"])) == ("4294967294", "4294967294")
    assert (steps["apply"]["tap"]["owner"], steps["apply"]["tap"]["group"]) == (4294967294, 4294967294)
    sandbox.refused(TAP, {"name": "tap1", "owner": "4294967295"}, "owner 4294967295 is out of range; use 0 to 4294967294")


# ------------------------------------------------------------------------------------------ bridge timers ---

def test_bridge_timers_the_kernel_would_store_otherwise_are_refused(sandbox):
    sandbox.refused(BRIDGE, {"name": "br0", "ageing_time": 0.001}, "ageing_time 0.001 cannot be stored as given")
    sandbox.refused(BRIDGE, {"name": "br0", "forward_delay": 4.005}, "use 4 or 4.02", check_mode=True)


def test_bridge_timers_in_steps_of_two_hundredths_come_back_exactly(sandbox):
    sandbox.four_steps(BRIDGE, {"name": "br0", "ageing_time": 0.02, "forward_delay": 4.02, "hello_time": 1.98,
                                "max_age": 6.06})
    info = sandbox.ip_json("-d", "link", "show", "dev", "br0")[0]["linkinfo"]["info_data"]
    assert (info["ageing_time"], info["forward_delay"], info["hello_time"], info["max_age"]) == (2, 402, 198, 606)
