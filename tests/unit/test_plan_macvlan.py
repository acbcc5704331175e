"""The pure Macvlan model, its parser and its planning."""

import re
from dataclasses import replace

import pytest
from unit_helpers import HOST, Link, P, Veth, world

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, NamespaceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_macvlan import LINK_ATTRIBUTES, Macvlan, MacvlanInfo, parse
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build


def veth_end(name="p0", index=2, mtu=1500, master=None):
    return Link(name, index=index, kind="veth", mtu=mtu, up=True, master=master, link_type=1)


def macvlan(name="mv0", index=5, parent=2, mode="bridge", mtu=1500, up=True, addresses=(), elsewhere=False):
    return Link(name, index=index, kind="macvlan", mtu=mtu, up=up, addresses=addresses, link_type=1,
                info=MacvlanInfo(mode=mode, parent=parent, parent_elsewhere=elsewhere))


def n1(*links, **kwargs):
    """Namespace n1 holding ``links``; the host holds only lo."""
    host = [Link("lo", index=1, kind=None, mtu=65536, up=True, link_type=772)]
    return world(namespaces=["n1"], host=host + list(kwargs.pop("host", [])), n1=list(links))


DESIRED = dict(name="mv0", netns="n1", link="p0", addresses=["10.60.0.1/24"])


def mv(**changes):
    """The macvlan of DESIRED, with ``changes``."""
    return Macvlan(**{**DESIRED, **changes})


def described(plan):
    return [action.describe() for action in plan.actions]


# ------------------------------------------------------------- validation ---

@pytest.mark.parametrize("args, words", [
    ({"name": "mv0"}, "link (the parent interface) is required when state is present"),
    ({"name": "mv0", "link": "mv0"}, "macvlan 'mv0' cannot be its own parent"),
    ({"name": "mv0", "link": "p0", "mode": "source"}, "mode source is not offered"),
    ({"name": "mv0", "link": "p0", "mode": "hairpin"}, "mode 'hairpin' is not one of bridge, private, vepa, passthru"),
    ({"name": "a-very-long-macvlan", "link": "p0"}, "Linux allows at most 15"),
    ({"name": "mv0", "link": "a-very-long-parent"}, "link 'a-very-long-parent' is 18 characters long"),
    ({"name": "mv0", "link": "p 0"}, "link 'p 0' contains ' '"),
    ({"name": "mv0", "link": "p0", "mtu": 20}, "mtu 20 is out of range"),
    ({"name": "mv0", "link": "p0", "addresses": ["10.0.0.1"]}, "has no prefix length"),
    ({"name": "mv0", "link": "p0", "netns": "a/b"}, "not a valid namespace name"),
    ({"name": "mv0", "link": "p0", "state": "gone"}, "state must be 'present' or 'absent'"),
])
def test_validation(args, words):
    with pytest.raises(ValidationError, match=re.escape(words)):
        Macvlan(**args)


def test_absent_needs_no_link_and_addresses_are_normalized():
    assert Macvlan(name="mv0", state="absent").link is None
    assert Macvlan(name="mv0", link="p0", addresses=["fd00::0001/64", "10.0.0.1/24"]).addresses == (
        "10.0.0.1/24", "fd00::1/64")


# ----------------------------------------------------------------- parser ---

def link_attrs(**values):
    # As the adapter hands them: every declared attribute, None when the kernel sent none.
    return dict(dict.fromkeys(LINK_ATTRIBUTES), **values)


@pytest.mark.parametrize("mode, expected", [("bridge", "bridge"), (4, "bridge"), (1, "private"), (2, "vepa"),
                                            (8, "passthru"), (16, "source"), (None, None)])
def test_parse(mode, expected):
    info = parse(link_attrs(IFLA_LINK=3), {"IFLA_MACVLAN_MODE": mode})
    assert info == MacvlanInfo(mode=expected, parent=3, parent_elsewhere=False)


def test_parse_a_parent_in_another_namespace_and_no_data():
    assert parse(link_attrs(IFLA_LINK=7, IFLA_LINK_NETNSID=0), None) == MacvlanInfo(parent=7, parent_elsewhere=True)


# --------------------------------------------------------------- planning ---

def test_create_in_a_namespace():
    plan = P.plan([mv()], n1(veth_end(mtu=9000)))
    assert described(plan) == [
        "create macvlan mv0 in n1 on p0, mode bridge",
        "add address 10.60.0.1/24 to mv0 in n1",
        "set mv0 up in n1",
    ]
    obj = plan.objects[0]
    assert obj.before == {"name": "mv0", "netns": "n1", "state": "absent"}
    # The kernel gives a new macvlan its parent's MTU.
    assert obj.after == {"name": "mv0", "netns": "n1", "state": "present", "link": "p0", "mode": "bridge",
                         "mtu": 9000, "up": True, "addresses": ["10.60.0.1/24"]}
    assert obj.actions[0].creates() == (("n1", "mv0"),)


def test_in_sync_needs_nothing():
    current = n1(veth_end(), macvlan(addresses=("10.60.0.1/24",)))
    plan = P.plan([mv()], current)
    assert not plan.changed
    assert plan.objects[0].before == plan.objects[0].after


def test_mtu_addresses_and_down_in_place():
    current = n1(veth_end(), macvlan(addresses=("10.60.0.9/24",)))
    plan = P.plan([mv(mtu=1400, up=False)], current)
    assert described(plan) == [
        "set mtu 1400 on mv0 in n1",
        "remove address 10.60.0.9/24 from mv0 in n1",
        "add address 10.60.0.1/24 to mv0 in n1",
        "set mv0 down in n1",
    ]


@pytest.mark.parametrize("current, wanted", [("bridge", "private"), ("private", "vepa"), ("vepa", "bridge"),
                                             ("source", "bridge")])
def test_mode_changes_in_place(current, wanted):
    plan = P.plan([mv(addresses=None, mode=wanted)], n1(veth_end(), macvlan(mode=current)))
    assert described(plan) == ["set macvlan mode %s on mv0 in n1" % wanted]
    assert plan.objects[0].before["mode"] == current and plan.objects[0].after["mode"] == wanted


@pytest.mark.parametrize("current, wanted", [("bridge", "passthru"), ("passthru", "vepa")])
def test_passthru_change_needs_recreate(current, wanted):
    world_ = n1(veth_end(), macvlan(mode=current))
    with pytest.raises(ConflictError, match="Set recreate=true") as caught:
        P.plan([mv(mode=wanted)], world_)
    assert "has mode %s, but the task wants mode %s" % (current, wanted) in caught.value.msg
    assert "(nothing was changed)" in caught.value.msg
    plan = P.plan([mv(mode=wanted, recreate=True)], world_)
    assert described(plan)[:2] == ["delete mv0 in n1", "create macvlan mv0 in n1 on p0, mode %s" % wanted]


def test_parent_change_is_refused_unless_recreate():
    world_ = n1(veth_end(), veth_end("p1", index=3), macvlan(addresses=("10.60.0.1/24",)))
    with pytest.raises(ConflictError, match="has link p0, but the task wants link p1; the kernel fixes"):
        P.plan([mv(link="p1")], world_)
    plan = P.plan([mv(link="p1", recreate=True)], world_)
    assert described(plan) == [
        "delete mv0 in n1",
        "create macvlan mv0 in n1 on p1, mode bridge",
        "add address 10.60.0.1/24 to mv0 in n1",
        "set mv0 up in n1",
    ]
    assert plan.objects[0].after["link"] == "p1"


def test_a_macvlan_moved_away_from_its_parent_is_not_its_parent_s():
    """IFLA_LINK with a netnsid counts in another namespace: index 2 there is not p0 here."""
    world_ = n1(veth_end(), macvlan(elsewhere=True))
    with pytest.raises(ConflictError, match="has link in another namespace, but the task wants link p0"):
        P.plan([mv()], world_)
    plan = P.plan([mv(recreate=True)], world_)
    assert plan.objects[0].before["link"] is None
    assert described(plan)[:2] == ["delete mv0 in n1", "create macvlan mv0 in n1 on p0, mode bridge"]


def test_missing_parent_names_it_and_the_namespace():
    with pytest.raises(DeviceMissingError) as caught:
        P.plan([mv()], n1())
    assert caught.value.msg == (
        "link 'p0' of macvlan 'mv0' does not exist in namespace 'n1'; the parent must be in the macvlan's own "
        "namespace: create it there first (for example with netvirt.linux.veth) (nothing was changed)")
    assert caught.value.details == {"netns": "n1", "name": "p0"}


def test_parent_in_another_namespace_is_refused():
    with pytest.raises(DeviceMissingError) as caught:
        P.plan([mv()], n1(host=[veth_end()]))
    assert caught.value.msg.startswith(
        "link 'p0' of macvlan 'mv0' is in the host namespace, not in namespace 'n1'; a macvlan is made in its "
        "parent's namespace")


def test_missing_namespace():
    with pytest.raises(NamespaceMissingError, match="macvlan mv0: network namespace 'n2' does not exist"):
        P.plan([mv(netns="n2")], n1(veth_end()))


def test_check_mode_assumes_the_parent_an_earlier_task_makes():
    plan = P.plan([mv()], n1(), assume_missing=True)
    assert described(plan)[0] == "create macvlan mv0 in n1 on p0, mode bridge"
    assert plan.warnings == ["link 'p0' of macvlan 'mv0' does not exist in namespace 'n1'; check mode assumes an "
                             "earlier task creates it"]
    # And the namespace too.
    plan = P.plan([mv(netns="n9")], n1(), assume_missing=True)
    assert described(plan)[0] == "create macvlan mv0 in n9 on p0, mode bridge" and len(plan.warnings) == 2


def test_another_kind_holds_the_name():
    bridge = Link("mv0", index=7, kind="bridge", mtu=1500, up=True, link_type=1)
    with pytest.raises(ConflictError, match="'mv0' in namespace 'n1' already exists as a bridge device, not a "
                                            r"macvlan; remove it or choose another name \(nothing was changed\)"):
        P.plan([mv()], n1(veth_end(), bridge))
    with pytest.raises(ConflictError, match="is a bridge device, not a macvlan; refusing to delete it"):
        P.plan([Macvlan(name="mv0", netns="n1", state="absent")], n1(bridge))


@pytest.mark.parametrize("parent, words", [
    (macvlan("mv1", index=3, parent=2),
     "link 'mv1' of macvlan 'mv0' in namespace 'n1' is itself a macvlan; the kernel would make 'mv0' on mv1's own "
     "parent 'p0' instead"),
    (Link("p1", index=3, kind=None, mtu=65536, up=True, link_type=772),
     "is a loopback device; a macvlan needs an Ethernet parent"),
    (Link("p1", index=3, kind="tun", mtu=1500, up=True, link_type=65534), "is not Ethernet (hardware type 65534)"),
    (veth_end("p1", index=3, master=9), "is a port of 'br0'; a bridge or bond port hands its frames"),
])
def test_parents_the_kernel_refuses(parent, words):
    bridge = Link("br0", index=9, kind="bridge", mtu=1500, up=True, link_type=1)
    with pytest.raises(ConflictError, match="nothing was changed") as caught:
        P.plan([mv(link=parent.name)], n1(veth_end(), bridge, parent))
    assert words in caught.value.msg


def test_mtu_above_the_parent_s_is_refused():
    with pytest.raises(ConflictError, match="mtu 9000 of macvlan 'mv0' is larger than the MTU 1500 of its parent "
                                            "'p0'"):
        P.plan([mv(mtu=9000)], n1(veth_end()))


def test_passthru_takes_the_parent_alone():
    with pytest.raises(ConflictError, match="already carries macvlan mv1; passthru mode takes the parent"):
        P.plan([mv(mode="passthru")], n1(veth_end(), macvlan("mv1", index=6)))
    with pytest.raises(ConflictError, match="carries macvlan 'mv1' in passthru mode"):
        P.plan([mv()], n1(veth_end(), macvlan("mv1", index=6, mode="passthru")))
    # A sibling on another parent, or the device itself being recreated, is no obstacle.
    plan = P.plan([mv(mode="passthru", recreate=True)],
                  n1(veth_end(), veth_end("p1", index=3), macvlan(), macvlan("mv1", index=6, parent=3)))
    assert described(plan)[:2] == ["delete mv0 in n1", "create macvlan mv0 in n1 on p0, mode passthru"]


def test_absent():
    plan = P.plan([Macvlan(name="mv0", netns="n1", state="absent")], n1(veth_end(), macvlan()))
    assert described(plan) == ["delete mv0 in n1"]
    assert plan.objects[0].after == {"name": "mv0", "netns": "n1", "state": "absent"}
    assert not P.plan([Macvlan(name="mv0", netns="n1", state="absent")], n1(veth_end())).changed
    assert not P.plan([Macvlan(name="mv0", netns="gone", state="absent")], n1()).changed


# ------------------------------------------------------- with other kinds ---

def test_parent_veth_made_in_the_same_plan_comes_first():
    """topology plans sections in the registry's order: the veth, then the macvlan on its end."""
    lab = build({"namespaces": [{"name": "n1"}],
                 "macvlans": [{**DESIRED, "mode": "private"}],
                 "veths": [{"name": "p0", "netns": "n1", "peer": "p1", "peer_netns": "", "mtu": 9000}]})
    assert [obj.kind for obj in lab.objects] == ["netns", "veth", "macvlan"]
    plan = P.plan(lab.objects, world(host=[]))
    actions = described(plan)
    assert actions.index("create veth p0 in n1 with peer p1 in host") < actions.index(
        "create macvlan mv0 in n1 on p0, mode private")
    assert plan.objects[2].after["mtu"] == 9000


def test_a_parent_moved_in_by_the_same_plan_is_refused_while_macvlans_are_made_before_moves():
    """A veth end moved into n1 (PHASE_MOVE_LINK) is not there yet when macvlans are created."""
    host = [Link("p0", index=4, kind="veth", mtu=1500, up=True, link_index=5, link_type=1),
            Link("p1", index=5, kind="veth", mtu=1500, up=True, link_index=4, link_type=1)]
    with pytest.raises(ConflictError, match="link 'p0' of macvlan 'mv0' is moved into namespace 'n1' by this "
                                            "same task"):
        P.plan([Veth(name="p0", netns="n1", peer="p1"), mv()], n1(host=host))


def test_lab_marks_the_macvlan():
    plan = P.plan([mv()], n1(veth_end()), owner="netvirt:lab=t1")
    assert "mark mv0 in n1 as netvirt:lab=t1" in described(plan)
    assert HOST not in [action.netns for action in plan.actions]


MARK = "netvirt:lab=t1"


def marked_host(*links):
    return world(host=[replace(link, alias=MARK) for link in links])


PAIR = (Link("a-dn", index=2, kind="veth", mtu=1500, up=True, link_index=3, link_type=1),
        Link("a-up", index=3, kind="veth", mtu=1500, up=True, link_index=2, link_type=1))


def test_removal_deletes_a_macvlan_with_its_parent_only_once():
    """The kernel deletes mv-h with a-up: deleting it too would fail, whichever went first."""
    plan = P.plan([], marked_host(*PAIR, macvlan("mv-h", index=4, parent=3)), owner=MARK, prune=True)
    assert described(plan) == ["delete a-dn in host"]
    assert (HOST, "mv-h") in plan.reaped
    # One object for the pair, one for the macvlan.
    assert [(obj.key, obj.after["state"]) for obj in plan.objects] == [
        (("link", HOST, "a-dn"), "absent"), (("link", HOST, "mv-h"), "absent")]
    assert set(plan.projected.space(HOST).links) == set()


def test_removal_of_a_macvlan_alone():
    kept = Veth(name="a-up", peer="a-dn")
    plan = P.plan([kept], marked_host(*PAIR, macvlan("mv-h", index=4, parent=3)), owner=MARK, prune=True)
    assert described(plan) == ["delete mv-h in host"] and plan.reaped == []
