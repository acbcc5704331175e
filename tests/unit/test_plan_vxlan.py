"""The pure Vxlan model and its planning."""

import pytest
from unit_helpers import Link, NamespaceState, P, Vxlan, VxlanInfo, World

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, ValidationError


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
