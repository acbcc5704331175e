"""The fields every device shares are declared once (_model.Device, PortDevice) and refused with the same words.

A device kind's dataclass adds only its own fields; name, netns, addresses, mtu, up and state (and master, for a
bridge's possible port) come from the base, validated there.
"""

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS
from ansible_collections.netvirt.linux.plugins.module_utils._model import Device, PortDevice

DEVICES = [kind for kind in KINDS if kind.link_kind is not None]
SHARED = ("name", "netns", "addresses", "mtu", "up", "state")


def test_every_device_kind_is_a_device():
    assert {kind.name for kind in DEVICES} == {"veth", "bridge", "tap", "vxlan", "macvlan"}
    for kind in DEVICES:
        assert issubclass(kind.desired, Device), kind.name


@pytest.mark.parametrize("kind", DEVICES, ids=lambda kind: kind.name)
def test_a_device_kind_does_not_declare_the_shared_fields_again(kind):
    fields = kind.desired.__dataclass_fields__
    for name in SHARED:
        assert fields[name] is Device.__dataclass_fields__[name], (kind.name, name)
    if issubclass(kind.desired, PortDevice):
        assert fields["master"] is PortDevice.__dataclass_fields__["master"]
    assert kind.desired("d0", state="absent").key == (kind.name, None, "d0")


def _message(**change) -> str:
    with pytest.raises(ValidationError) as refused:
        Device(**dict(dict(name="d0"), **change))
    return str(refused.value)


BAD = [
    dict(name="x" * 16),
    dict(name="a/b"),
    dict(netns="../etc"),
    dict(mtu=10),
    dict(up="yes"),
    dict(state="gone"),
    dict(addresses=["10.0.0.1/33"]),
    dict(mtu=1000, addresses=["fd00::1/64"]),
]


@pytest.mark.parametrize("change", BAD, ids=lambda change: "-".join("%s=%s" % item for item in change.items()))
@pytest.mark.parametrize("kind", DEVICES, ids=lambda kind: kind.name)
def test_a_device_kind_refuses_a_bad_shared_field_with_the_same_words(kind, change):
    expected = _message(**change)
    assert expected
    with pytest.raises(ValidationError) as refused:
        kind.desired(**dict(dict(name="d0", state="absent"), **change))
    assert str(refused.value) == expected


@pytest.mark.parametrize("kind", [kind for kind in DEVICES if issubclass(kind.desired, PortDevice)],
                         ids=lambda kind: kind.name)
def test_a_port_device_refuses_itself_as_master(kind):
    with pytest.raises(ValidationError, match="%s 'd0' cannot be its own master" % kind.name):
        kind.desired("d0", state="absent", master="d0")
    with pytest.raises(ValidationError, match="master"):
        kind.desired("d0", state="absent", master="x" * 16)
