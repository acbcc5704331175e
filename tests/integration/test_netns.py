"""netvirt.linux.netns against the real kernel, inside a private sandbox."""

NETNS = "netvirt.linux.netns"


def test_create_four_steps(sandbox):
    steps = sandbox.four_steps(NETNS, {"name": "iris_network"})
    assert "iris_network" not in steps["before"]["netns"]
    assert steps["after"]["netns"]["iris_network"]["lo"]["up"] is True
    assert steps["apply"]["actions"] == ["create namespace iris_network", "set lo up in iris_network"]
    assert steps["check"]["diff"] == {
        "before": {"name": "iris_network", "state": "absent", "loopback_up": False},
        "after": {"name": "iris_network", "state": "present", "loopback_up": True},
        "before_header": "netns iris_network", "after_header": "netns iris_network",
    }
    assert steps["apply"]["netns"]["state"] == "present"
    lo = [i for i in steps["apply_again"]["interfaces"] if i["name"] == "lo"][0]
    assert lo["up"] is True and "127.0.0.1/8" in lo["addresses"]
    # The loopback really works: the seed pings 127.0.0.1 inside the namespace.
    assert sandbox.ping("iris_network", "127.0.0.1")


def test_delete_four_steps(sandbox):
    sandbox.sh("ip netns add blue")
    steps = sandbox.four_steps(NETNS, {"name": "blue", "state": "absent"})
    assert "blue" in steps["before"]["netns"] and "blue" not in steps["after"]["netns"]
    assert steps["apply"]["interfaces"] == []
    assert sandbox.namespaces() == set()


def test_absent_on_missing_namespace_is_unchanged(sandbox):
    result = sandbox.module(NETNS, {"name": "nothere", "state": "absent"}, diff=True)
    assert result["changed"] is False and result["actions"] == []


def test_exact_name_match(sandbox):
    # community.general.ip_netns takes 'mario' as present when 'mario2' exists.
    sandbox.sh("ip netns add mario2")
    check = sandbox.module(NETNS, {"name": "mario"}, check_mode=True)
    assert check["changed"] is True
    assert sandbox.namespaces() == {"mario2"}, "check mode created a namespace"
    sandbox.module(NETNS, {"name": "mario"})
    assert sandbox.namespaces() == {"mario", "mario2"}
    sandbox.module(NETNS, {"name": "mario", "state": "absent"})
    assert sandbox.namespaces() == {"mario2"}


def test_loopback_brought_up_on_existing_namespace(sandbox):
    sandbox.sh("ip netns add red")  # `ip netns add` leaves lo down
    steps = sandbox.four_steps(NETNS, {"name": "red"})
    assert steps["before"]["netns"]["red"]["lo"]["up"] is False
    assert steps["after"]["netns"]["red"]["lo"]["up"] is True
    assert steps["apply"]["actions"] == ["set lo up in red"]


def test_loopback_false_leaves_lo_alone(sandbox):
    sandbox.sh("ip netns add red")
    result = sandbox.module(NETNS, {"name": "red", "loopback": False})
    assert result["changed"] is False
    assert sandbox.links("red")["lo"]["operstate"] == "DOWN"


def test_existing_namespace_reports_interfaces(sandbox):
    sandbox.sh("ip netns add red; ip -n red link add name va type veth peer name vb")
    result = sandbox.module(NETNS, {"name": "red"})
    assert {i["name"] for i in result["interfaces"]} == {"lo", "va", "vb"}
    assert {i["kind"] for i in result["interfaces"] if i["name"] != "lo"} == {"veth"}


def test_bad_names_refused(sandbox):
    sandbox.refused(NETNS, {"name": "a/b"}, "not a valid namespace name")
    sandbox.refused(NETNS, {"name": ".."}, "not a valid namespace name")
    sandbox.refused(NETNS, {"name": "x" * 256}, "longer than 255 bytes")
