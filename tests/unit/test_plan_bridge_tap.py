"""Unit tests of the bridge and tap model and planning: no kernel, no Ansible."""

import pytest
from unit_helpers import HOST, Bridge, BridgeInfo, BridgePort, Link, P, PortInfo, Tap, TunInfo, Veth, kinds, normalize_ports, world

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, NamespaceMissingError, ValidationError


def bridge(name="br0", index=10, up=True, mtu=1500, info=None, addresses=()):
    return Link(name, index, "bridge", mtu, up, tuple(addresses), info=info or BridgeInfo())


def port(name, index, master=None, mtu=1500, info=None, kind="veth"):
    return Link(name, index, kind, mtu, True, (), master=master,
                port=(info or PortInfo(cost=2, priority=32)) if master else None)


def tap(name="tap0", index=20, master=None, up=True, info=None, mtu=1500, addresses=()):
    return Link(name, index, "tun", mtu, up, tuple(addresses), master=master, info=info or TunInfo(),
                port=PortInfo(cost=2, priority=32) if master else None)


def one(desired, w):
    plan = P.plan([desired], w)
    return plan, plan.objects[0]


# ------------------------------------------------------------------ model ---


def test_ports_accept_names_and_dicts_sorted_by_name():
    ports = normalize_ports(["veth-b", {"name": "veth-a", "cost": 5, "hairpin": True}])
    assert ports == (BridgePort("veth-a", cost=5, hairpin=True), BridgePort("veth-b"))
    assert ports[0].settings() == {"cost": 5, "hairpin": True}
    assert normalize_ports(None) is None and normalize_ports([]) == ()


@pytest.mark.parametrize("ports, words", [
    (["a", "a"], "twice"),
    ([{"cost": 3}], "has no name"),
    ([{"name": "a", "speed": 3}], "unknown key(s) speed"),
    ([{"name": "a", "cost": 0}], "cost of port 'a' 0 is out of range; use 1 to 65535"),
    ([{"name": "a", "priority": 64}], "use 0 to 63"),
    ([{"name": "a", "hairpin": "yes"}], "true or false"),
    ([3], "interface names or dicts"),
    (["x" * 16], "at most 15"),
])
def test_bad_ports(ports, words):
    with pytest.raises(ValidationError, match=None) as exc:
        Bridge("br0", ports=ports)
    assert words in exc.value.msg


@pytest.mark.parametrize("options, words", [
    ({"hello_time": 0.5}, "hello_time 0.5 is out of range; use 1 to 10 seconds"),
    ({"max_age": 41}, "use 6 to 40"),
    ({"forward_delay": 31}, "use 0 to 30"),
    ({"stp": True, "forward_delay": 1}, "too short for a bridge running STP"),
    ({"priority": 70000}, "use 0 to 65535"),
    ({"ports": ["br0"]}, "cannot be a port of itself"),
    ({"mtu": 10}, "out of range"),
])
def test_bad_bridge_options(options, words):
    with pytest.raises(ValidationError) as exc:
        Bridge("br0", **options)
    assert words in exc.value.msg


def test_bridge_options_in_kernel_units():
    desired = Bridge("br0", stp=False, forward_delay=4, hello_time=1.5, max_age=12, ageing_time=0, priority=1)
    assert desired.options() == {"stp": False, "forward_delay": 400, "hello_time": 150, "max_age": 1200,
                                 "ageing_time": 0, "priority": 1}
    assert Bridge("br0").options() == {}


@pytest.mark.parametrize("options, words", [
    ({"mode": "tunnel"}, "mode must be 'tap' or 'tun'"),
    ({"owner": -1}, "owner -1 is out of range"),
    ({"pi": "no"}, "true or false"),
    ({"master": "tap0"}, "its own master"),
    ({"master": "br0", "mode": "tun"}, "cannot join bridge 'br0'; use mode tap"),
])
def test_bad_tap_options(options, words):
    with pytest.raises(ValidationError) as exc:
        Tap("tap0", **options)
    assert words in exc.value.msg


def test_tap_creation_flags_default_like_ip_tuntap():
    assert Tap("tap0").creation_flags() == {"multi_queue": False, "pi": False, "vnet_hdr": False}
    assert Tap("tap0", pi=True).creation_flags()["pi"] is True


# ----------------------------------------------------------------- bridge ---


def test_create_bridge_with_options_ports_and_address():
    w = world(host=[port("v0", 2), port("v1", 3, mtu=9000)])
    desired = Bridge("br0", stp=True, forward_delay=4, ports=["v0", {"name": "v1", "cost": 7}],
                     addresses=["10.0.1.254/24"])
    plan, obj = one(desired, w)
    assert kinds(plan) == ["CreateBridge", "AttachPort", "AttachPort", "SetPortOptions", "AddAddress", "SetUp"]
    assert plan.actions[0].options == (("forward_delay", 400), ("stp", True))
    assert plan.actions[0].describe() == "create bridge br0 in host with forward_delay 4s, stp on"
    assert obj.before == {"name": "br0", "netns": None, "state": "absent"}
    assert obj.after["ports"] == [{"name": "v0"}, {"name": "v1", "cost": 7}]
    assert obj.after["stp"] is True and obj.after["forward_delay"] == 4.0 and obj.after["hello_time"] == 2.0
    # No MTU asked: the kernel gives the bridge its ports' smallest MTU.
    assert obj.after["mtu"] == 1500 and obj.after["up"] is True


def test_bridge_mtu_set_by_hand_is_set_after_creation_and_before_ports_join():
    w = world(host=[port("v0", 2, mtu=9000)])
    plan, obj = one(Bridge("br0", mtu=9000, ports=["v0"]), w)
    # Set explicitly even though the port has 9000: a hand-set MTU sticks.
    assert kinds(plan) == ["CreateBridge", "SetMtu", "AttachPort", "SetUp"]
    assert obj.after["mtu"] == 9000


def test_bridge_in_sync_plans_nothing():
    info = BridgeInfo(stp=True, forward_delay=400)
    w = world(host=[bridge(info=info, addresses=["10.0.1.254/24"]), port("v0", 2, master=10, info=PortInfo(7, 32))])
    plan, obj = one(Bridge("br0", stp=True, forward_delay=4, addresses=["10.0.1.254/24"],
                           ports=[{"name": "v0", "cost": 7}]), w)
    assert plan.actions == [] and obj.before == obj.after


def test_bridge_options_updated_in_place():
    w = world(host=[bridge()])
    plan, obj = one(Bridge("br0", stp=True, hello_time=1, max_age=10, ageing_time=60, priority=4096), w)
    assert kinds(plan) == ["SetBridgeOptions"]
    assert dict(plan.actions[0].options) == {"stp": True, "hello_time": 100, "max_age": 1000,
                                             "ageing_time": 6000, "priority": 4096}
    assert obj.before["stp"] is False and obj.after["stp"] is True
    assert obj.after["ageing_time"] == 60.0 and obj.after["priority"] == 4096


def test_ports_exact_set_detaches_unlisted_never_deletes():
    w = world(host=[bridge(), port("v0", 2, master=10), port("v1", 3, master=10), port("v2", 4)])
    plan, obj = one(Bridge("br0", ports=["v1", "v2"]), w)
    assert kinds(plan) == ["DetachPort", "AttachPort"]
    assert [a.name for a in plan.actions] == ["v0", "v2"]
    assert "DeleteLink" not in kinds(plan)
    assert obj.before["ports"] == [{"name": "v0"}, {"name": "v1"}]
    assert obj.after["ports"] == [{"name": "v1"}, {"name": "v2"}]
    assert plan.projected.space(HOST).get("v0").master is None


def test_ports_omitted_are_left_alone():
    w = world(host=[bridge(), port("v0", 2, master=10)])
    plan, obj = one(Bridge("br0"), w)
    assert plan.actions == [] and obj.after["ports"] == [{"name": "v0"}]


def test_port_moved_from_another_bridge():
    w = world(host=[bridge(), bridge("br1", index=11), port("v0", 2, master=11)])
    plan = one(Bridge("br0", ports=["v0"]), w)[0]
    assert kinds(plan) == ["AttachPort"]
    assert plan.actions[0].describe() == "attach v0 to bridge br0 in host (leaving bridge br1)"


def test_port_settings_changed_in_place():
    w = world(host=[bridge(), port("v0", 2, master=10, info=PortInfo(cost=2, priority=32, hairpin=False))])
    plan, obj = one(Bridge("br0", ports=[{"name": "v0", "cost": 100, "priority": 5, "hairpin": True}]), w)
    assert kinds(plan) == ["SetPortOptions"]
    assert plan.actions[0].options == (("cost", 100), ("hairpin", True), ("priority", 5))
    assert obj.before["ports"] == [{"name": "v0", "cost": 2, "priority": 32, "hairpin": False}]
    assert obj.after["ports"] == [{"name": "v0", "cost": 100, "priority": 5, "hairpin": True}]


def test_missing_port_is_an_error():
    w = world(["bridge"], host=[port("bridge-net0", 2)], bridge=[])
    with pytest.raises(DeviceMissingError) as exc:
        P.plan([Bridge("br", netns="bridge", ports=["bridge-net0"])], w)
    assert "port 'bridge-net0' of bridge 'br' does not exist in namespace 'bridge'" in exc.value.msg


def test_port_made_earlier_in_the_same_plan_is_found():
    w = world(["bridge"], host=[], bridge=[])
    veth = Veth("bridge-net0", peer="net0-bridge", netns="bridge", peer_netns="bridge")
    plan = P.plan([veth, Bridge("br", netns="bridge", ports=["bridge-net0"])], w)
    assert kinds(plan) == ["CreateVeth", "CreateBridge", "AttachPort", "SetUp", "SetUp", "SetUp"]


def test_bridge_as_port_is_an_error():
    w = world(host=[bridge(), bridge("br1", 11)])
    with pytest.raises(ConflictError, match="itself a bridge"):
        P.plan([Bridge("br0", ports=["br1"])], w)


def test_tun_device_cannot_be_a_port():
    w = world(host=[bridge(), tap("tun0", info=TunInfo(mode="tun"))])
    with pytest.raises(ConflictError, match="is a tun device"):
        P.plan([Bridge("br0", ports=["tun0"])], w)


def test_name_held_by_another_kind():
    w = world(host=[port("br0", 2)])
    with pytest.raises(ConflictError) as exc:
        P.plan([Bridge("br0")], w)
    assert "'br0' in the host namespace already exists as a veth device, not a bridge" in exc.value.msg


def test_bridge_in_host_wanted_in_namespace_would_need_a_move():
    w = world(["lab"], host=[bridge("br")], lab=[])
    with pytest.raises(ConflictError) as exc:
        P.plan([Bridge("br", netns="lab")], w)
    assert "bridges are netns-local" in exc.value.msg
    assert "Delete it in the host first" in exc.value.msg


def test_bridge_in_namespace_and_in_host_are_different_objects():
    w = world(["lab"], host=[bridge("br")], lab=[bridge("br", index=4)])
    plan = one(Bridge("br", netns="lab"), w)[0]
    assert plan.actions == []


def test_bridge_needs_its_namespace():
    with pytest.raises(NamespaceMissingError):
        P.plan([Bridge("br", netns="nope")], world(host=[]))


def test_bridge_absent_detaches_ports_in_projection():
    w = world(host=[bridge(), port("v0", 2, master=10)])
    plan, obj = one(Bridge("br0", state="absent"), w)
    assert kinds(plan) == ["DeleteLink"]
    assert obj.after == {"name": "br0", "netns": None, "state": "absent"}
    assert plan.projected.space(HOST).get("v0").master is None


def test_bridge_absent_refuses_other_kinds_and_ignores_missing():
    with pytest.raises(ConflictError, match="not a bridge; refusing to delete it"):
        P.plan([Bridge("v0", state="absent")], world(host=[port("v0", 2)]))
    assert P.plan([Bridge("br0", state="absent")], world(host=[])).actions == []
    assert P.plan([Bridge("br0", netns="gone", state="absent")], world(host=[])).actions == []


# -------------------------------------------------------------------- tap ---


def test_create_tap_with_owner_on_a_bridge():
    w = world(host=[bridge()])
    plan, obj = one(Tap("tap0", owner=65534, master="br0", addresses=["10.9.0.1/24"]), w)
    assert kinds(plan) == ["CreateTap", "AttachPort", "AddAddress", "SetUp"]
    create = plan.actions[0]
    assert (create.mode, create.owner, create.group, create.pi, create.vnet_hdr, create.multi_queue) == \
        ("tap", 65534, None, False, False, False)
    assert create.describe() == "create tap tap0 in host (owner 65534)"
    assert obj.after["master"] == "br0" and obj.after["owner"] == 65534 and obj.after["mode"] == "tap"


def test_tap_on_a_bridge_created_earlier_in_the_same_plan():
    plan = P.plan([Bridge("br0"), Tap("tap0", master="br0")], world(host=[]))
    assert kinds(plan) == ["CreateBridge", "CreateTap", "AttachPort", "SetUp", "SetUp"]
    assert plan.objects[1].after["master"] == "br0"


def test_tap_in_sync_plans_nothing():
    w = world(host=[bridge(), tap(master=10, info=TunInfo(owner=0, group=5))])
    plan, obj = one(Tap("tap0", owner=0, group=5, master="br0", pi=False, vnet_hdr=False, multi_queue=False), w)
    assert plan.actions == [] and obj.before == obj.after


@pytest.mark.parametrize("options, changes", [
    ({"pi": True}, (("pi", True),)),
    ({"vnet_hdr": True}, (("vnet_hdr", True),)),
    ({"owner": 1000, "group": 1000}, (("owner", 1000), ("group", 1000))),
])
def test_tap_params_changed_in_place(options, changes):
    plan, obj = one(Tap("tap0", **options), world(host=[tap()]))
    assert kinds(plan) == ["SetTunParams"]
    assert plan.actions[0].changes == changes
    # TUNSETIFF must repeat the fixed flags.
    assert plan.actions[0].mode == "tap" and plan.actions[0].multi_queue is False
    for key, value in changes:
        assert obj.after[key] == value


def test_tap_params_refused_while_a_program_holds_it():
    w = world(host=[tap(info=TunInfo(attached=True))])
    with pytest.raises(ConflictError, match="has the device open, so owner and pi cannot be changed now"):
        P.plan([Tap("tap0", pi=True, owner=5)], w)
    # Addresses, MTU and up/down need no attaching.
    assert kinds(P.plan([Tap("tap0", mtu=1400)], w)) == ["SetMtu"]


def test_tap_flags_omitted_are_left_alone():
    w = world(host=[tap(info=TunInfo(pi=True, vnet_hdr=True, multi_queue=True, owner=7))])
    plan = one(Tap("tap0"), w)[0]
    assert plan.actions == []


@pytest.mark.parametrize("options, words", [
    ({"mode": "tun"}, "has mode tap, but the task wants mode tun"),
    ({"multi_queue": True}, "has multi_queue False, but the task wants multi_queue True"),
])
def test_tap_fixed_flags_refused_without_recreate(options, words):
    with pytest.raises(ConflictError) as exc:
        P.plan([Tap("tap0", **options)], world(host=[tap()]))
    assert words in exc.value.msg and "recreate=true" in exc.value.msg


def test_tap_recreate_deletes_then_creates_and_restores_master():
    w = world(host=[bridge(), tap(master=10)])
    plan, obj = one(Tap("tap0", multi_queue=True, recreate=True, master="br0"), w)
    assert kinds(plan) == ["DeleteLink", "CreateTap", "AttachPort", "SetUp"]
    assert obj.before["multi_queue"] is False and obj.after["multi_queue"] is True
    assert obj.after["master"] == "br0"


def test_tap_recreate_as_tun():
    plan, obj = one(Tap("tap0", mode="tun", recreate=True), world(host=[tap()]))
    assert kinds(plan) == ["DeleteLink", "CreateTap", "SetUp"]
    assert obj.before["mode"] == "tap" and obj.after["mode"] == "tun"


def test_tap_moved_from_host_to_namespace_loses_its_bridge():
    w = world(["lab"], host=[bridge(), tap(master=10, addresses=["10.0.0.1/24"])], lab=[])
    plan, obj = one(Tap("tap0", netns="lab"), w)
    assert kinds(plan) == ["MoveLink", "SetUp"]
    assert obj.before["netns"] is None and obj.after["netns"] == "lab"
    assert obj.after["master"] is None and obj.after["addresses"] == []


def test_tap_master_missing_or_not_a_bridge():
    with pytest.raises(DeviceMissingError, match="master 'br9' of tap 'tap0' does not exist"):
        P.plan([Tap("tap0", master="br9")], world(host=[]))
    with pytest.raises(ConflictError, match="is a veth device, not a bridge"):
        P.plan([Tap("tap0", master="v0")], world(host=[port("v0", 2)]))


def test_tap_master_empty_detaches():
    plan, obj = one(Tap("tap0", master=""), world(host=[bridge(), tap(master=10)]))
    assert kinds(plan) == ["DetachPort"] and obj.after["master"] is None


def test_tap_name_held_by_another_kind():
    with pytest.raises(ConflictError, match="already exists as a bridge device, not a tun/tap"):
        P.plan([Tap("br0")], world(host=[bridge()]))


def test_tap_absent():
    plan, obj = one(Tap("tap0", state="absent"), world(host=[tap()]))
    assert kinds(plan) == ["DeleteLink"] and obj.after["state"] == "absent"
    with pytest.raises(ConflictError, match="not a tun/tap; refusing to delete it"):
        P.plan([Tap("br0", state="absent")], world(host=[bridge()]))
    assert P.plan([Tap("tap0", state="absent")], world(host=[])).actions == []


def test_one_name_for_a_host_bridge_and_a_namespaced_bridge_in_one_plan():
    """Names reused across namespaces: br0 in the host and br0 in vm1, both wanted, is two bridges, not a move."""
    desired = [Bridge("br0"), Bridge("br0", netns="vm1")]
    plan = P.plan(desired, world(["vm1"], host=[bridge("br0")], vm1=[]))
    assert [a.describe() for a in plan.actions][:1] == ["create bridge br0 in vm1"]
    # Alone, the namespaced one still meets the refusal: the host's br0 cannot move.
    with pytest.raises(ConflictError, match="bridges are netns-local"):
        P.plan([Bridge("br0", netns="vm1")], world(["vm1"], host=[bridge("br0")], vm1=[]))


@pytest.mark.parametrize("link_type, words", [(772, "the loopback device"), (65534, "hardware type 65534")])
def test_non_ethernet_port_refused_before_the_bridge_is_created(link_type, words):
    lo = Link("lo", 1, None, 65536, True, (), link_type=link_type)
    with pytest.raises(ConflictError, match="not an Ethernet device") as info:
        P.plan([Bridge("br9", ports=["lo"])], world(host=[lo]))
    assert words in info.value.msg


def test_loopback_of_a_namespace_made_in_the_same_plan_is_no_port():
    from unit_helpers import Netns

    with pytest.raises(ConflictError, match="loopback"):
        P.plan([Netns("n1"), Bridge("br9", netns="n1", ports=["lo"])], world())


def test_ethernet_port_accepted():
    eth = Link("eth0", 2, None, 1500, True, (), link_type=1)
    plan = P.plan([Bridge("br9", ports=["eth0"])], world(host=[eth]))
    assert "AttachPort" in kinds(plan)
