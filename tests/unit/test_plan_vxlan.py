"""The pure Vxlan model and its planning."""

import pytest
from unit_helpers import Link, NamespaceState, P, Vxlan, VxlanInfo, World

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_vxlan import FdbEntry


def host(*links):
    return World(spaces={None: NamespaceState(None, {link.name: link for link in links})})


ETH0 = Link("eth0", index=2, kind=None, mtu=1500, up=True)
BR = Link("br0", index=3, kind="bridge", mtu=1500, up=True)


def existing(**info):
    values = dict(vni=42, local="10.99.0.1", remote="10.99.0.2", group=None, dstport=4789, dev=2)
    values.update(info)
    return Link("vx0", index=9, kind="vxlan", mtu=1450, up=True, info=VxlanInfo(**values))


DESIRED = dict(name="vx0", vni=42, local="10.99.0.1", remote="10.99.0.2", dev="eth0")


@pytest.mark.parametrize("args, words", [
    ({"name": "vx0"}, "vni is required"),
    (dict(DESIRED, vni=-1), "vni -1 is out of range"),
    (dict(DESIRED, dstport=70000), "dstport 70000 is out of range"),
    (dict(DESIRED, group="239.1.1.1"), "mutually exclusive"),
    (dict(DESIRED, remote="239.1.1.1"), "multicast"),
    ({"name": "vx0", "vni": 1, "group": "10.0.0.1", "dev": "eth0"}, "not a multicast address"),
    ({"name": "vx0", "vni": 1, "group": "ff05::1"}, "needs dev"),
    (dict(DESIRED, local="fd00::1"), "all be IPv4 or all be IPv6"),
    (dict(DESIRED, master="vx0"), "its own master"),
])
def test_validation(args, words):
    with pytest.raises(ValidationError, match=words):
        Vxlan(**args)


def test_addresses_are_normalized():
    args = dict(DESIRED)
    args.update({"remote": "fd00::0002", "local": "fd00::1"})
    assert Vxlan(**args).remote == "fd00::2"


def test_create_predicts_mtu_from_the_underlay():
    plan = P.plan([Vxlan(**dict(DESIRED, master="br0"))], host(ETH0, BR))
    assert [a.describe() for a in plan.actions] == [
        "create vxlan vx0 in host with vni 42, local 10.99.0.1, remote 10.99.0.2, dstport 4789, dev eth0",
        "attach vx0 to bridge br0 in host",
        "set vx0 up in host",
    ]
    after = plan.objects[0].after
    assert after["mtu"] == 1450 and after["master"] == "br0" and after["dev"] == "eth0"


def test_existing_matching_device_needs_nothing():
    plan = P.plan([Vxlan(**DESIRED)], host(ETH0, existing()))
    assert not plan.changed


def test_omitted_local_and_dev_are_left_alone():
    plan = P.plan([Vxlan(name="vx0", vni=42, remote="10.99.0.2")], host(ETH0, existing()))
    assert not plan.changed


@pytest.mark.parametrize("info, words", [
    ({"vni": 43}, "vni 43"),
    ({"dstport": 8472}, "dstport 8472"),
    ({"remote": "10.99.0.3"}, "remote 10.99.0.3"),
    ({"local": "10.99.0.9"}, "local 10.99.0.9"),
    ({"dev": 7}, "dev none"),
])
def test_fixed_differences_are_refused(info, words):
    with pytest.raises(ConflictError, match="recreate=true") as caught:
        P.plan([Vxlan(**DESIRED)], host(ETH0, existing(**info)))
    assert words in caught.value.msg


def test_recreate_deletes_then_creates():
    plan = P.plan([Vxlan(**dict(DESIRED, recreate=True))], host(ETH0, existing(vni=7)))
    assert [a.describe() for a in plan.actions][:2] == [
        "delete vx0 in host",
        "create vxlan vx0 in host with vni 42, local 10.99.0.1, remote 10.99.0.2, dstport 4789, dev eth0",
    ]


def test_missing_dev_and_other_kind():
    with pytest.raises(DeviceMissingError, match="dev 'eth0' of vxlan 'vx0' does not exist"):
        P.plan([Vxlan(**DESIRED)], host())
    with pytest.raises(ConflictError, match="not a vxlan"):
        P.plan([Vxlan(name="br0", vni=1)], host(BR))


def test_absent():
    plan = P.plan([Vxlan(name="vx0", state="absent")], host(ETH0, existing()))
    assert [a.describe() for a in plan.actions] == ["delete vx0 in host"]
    assert not P.plan([Vxlan(name="vx0", state="absent")], host(ETH0)).changed


# ------------------------------------------------------------- remotes ---

HER = dict(name="vx0", vni=42, local="10.99.0.1", dev="eth0")


def her_existing(*dsts, **info):
    """A device made for head-end replication (no default destination), its all-zeros entry's destinations read."""
    link = existing(**dict(dict(remote=None), **info))
    world = host(ETH0, link)
    world.spaces[None].fdb = {link.index: tuple(d if isinstance(d, FdbEntry) else FdbEntry(d) for d in dsts)}
    return world


@pytest.mark.parametrize("args, words", [
    (dict(HER, remote="10.99.0.2", remotes=["10.99.0.3"]), "remotes and remote are mutually exclusive"),
    (dict(HER, group="239.1.1.1", remotes=[]), "remotes and group are mutually exclusive"),
    (dict(HER, remotes=["fd00::2"]), "every address must be IPv4, as local 10.99.0.1 is"),
    (dict(HER, local=None, remotes=["10.99.0.2", "fd00::2"]), "every address must be IPv4"),
    (dict(HER, local=None, remotes=["fd00::2"]), "give local, an IPv6 address"),
    (dict(HER, remotes=["0.0.0.0"]), "the unspecified address"),
    (dict(HER, remotes=["239.1.1.1"]), "is a multicast address"),
    (dict(HER, remotes=["10.99.0.300"]), "is not an IP address"),
    (dict(HER, remotes="10.99.0.2"), "must be a list"),
])
def test_remotes_validation(args, words):
    with pytest.raises(ValidationError, match=words):
        Vxlan(**args)


def test_remotes_are_a_set():
    vx = Vxlan(name="vx0", vni=42, local="fd00::1", remotes=["fd00::3", "fd00::0002", "fd00::2"])
    assert vx.remotes == ("fd00::2", "fd00::3")


def test_create_with_remotes_appends_each():
    plan = P.plan([Vxlan(**dict(HER, remotes=["10.99.0.4", "10.99.0.3", "10.99.0.2"]))], host(ETH0))
    assert [a.describe() for a in plan.actions] == [
        "create vxlan vx0 in host with vni 42, local 10.99.0.1, dstport 4789, dev eth0",
        "add remote 10.99.0.2 to vx0 in host", "add remote 10.99.0.3 to vx0 in host",
        "add remote 10.99.0.4 to vx0 in host", "set vx0 up in host",
    ]
    assert plan.objects[0].after["remotes"] == ["10.99.0.2", "10.99.0.3", "10.99.0.4"]


def test_remotes_change_in_place():
    odd = FdbEntry("10.99.0.3", port=1234)
    plan = P.plan([Vxlan(**dict(HER, remotes=["10.99.0.3", "10.99.0.2"]))], her_existing("10.99.0.2", "10.99.0.5", odd))
    assert [a.describe() for a in plan.actions] == [
        "remove remote 10.99.0.3 port 1234 from vx0 in host", "remove remote 10.99.0.5 from vx0 in host",
        "add remote 10.99.0.3 to vx0 in host",
    ]
    result = plan.objects[0]
    assert result.before["remotes"] == ["10.99.0.2", "10.99.0.5"] and result.after["remotes"] == ["10.99.0.2", "10.99.0.3"]
    # Undone as it was: a removed destination comes back with its own port.
    assert [a.describe() for a in plan.actions[0].undo(None)] == ["add remote 10.99.0.3 port 1234 to vx0 in host"]
    assert [a.describe() for a in plan.actions[2].undo(None)] == ["remove remote 10.99.0.3 from vx0 in host"]


def test_remotes_in_place_unchanged_empty_and_omitted():
    assert not P.plan([Vxlan(**dict(HER, remotes=["10.99.0.3", "10.99.0.2"]))],
                      her_existing("10.99.0.3", "10.99.0.2")).changed
    plan = P.plan([Vxlan(**dict(HER, remotes=[]))], her_existing("10.99.0.3", "10.99.0.2"))
    assert [a.describe() for a in plan.actions] == ["remove remote 10.99.0.2 from vx0 in host",
                                                    "remove remote 10.99.0.3 from vx0 in host"]
    assert plan.objects[0].after["remotes"] == []
    # Omitted: the entry is left alone.
    assert not P.plan([Vxlan(**HER)], her_existing("10.99.0.3")).changed


def test_remotes_on_a_device_with_a_default_destination_needs_recreate():
    with pytest.raises(ConflictError, match="has remote 10.99.0.2, but the task wants remote none"):
        P.plan([Vxlan(**dict(HER, remotes=["10.99.0.3"]))], host(ETH0, existing()))
    plan = P.plan([Vxlan(**dict(HER, remotes=["10.99.0.3"], recreate=True))], host(ETH0, existing()))
    assert [a.describe() for a in plan.actions][:3] == [
        "delete vx0 in host", "create vxlan vx0 in host with vni 42, local 10.99.0.1, dstport 4789, dev eth0",
        "add remote 10.99.0.3 to vx0 in host"]
