"""One ownership rule for re-run, prune and teardown; a namespace deleted only when it holds nothing of anyone's."""

import pytest
from unit_helpers import HOST, Link, Netns, P, kinds, world

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError


def lo():
    return Link("lo", 1, None, 65536, True, ("127.0.0.1/8",))


def veth(name, index, peer_index, nsid=None, alias=None):
    return Link(name, index, "veth", 1500, True, link_index=peer_index, link_netnsid=nsid, alias=alias)


# ------------------------------------------------- netns state=absent ---


def test_absent_refuses_a_namespace_holding_a_device_and_names_it():
    before = world(["blue"], blue=[lo(), veth("va", 2, 3), veth("vb", 3, 2)])
    with pytest.raises(ConflictError) as raised:
        P.plan([Netns("blue", state="absent")], before)
    message = str(raised.value.msg)
    assert "namespace 'blue' holds devices, which deleting it would destroy" in message
    assert "'va' (veth) (its peer 'vb' is in namespace 'blue') in namespace 'blue'" in message
    assert "set force=true" in message and "nothing was changed" in message
    assert raised.value.details["devices"] == ["va", "vb"]


def test_absent_names_a_tenant_veths_peer_in_the_host():
    before = world(["blue"], nsids={("blue", 0): "host", ("host", 0): "blue"},
                   host=[lo(), veth("foreign0", 5, 2, nsid=0)], blue=[lo(), veth("foreign1", 2, 5, nsid=0)])
    with pytest.raises(ConflictError, match=r"'foreign1' \(veth\) \(its peer 'foreign0' is in the host namespace\)"):
        P.plan([Netns("blue", state="absent")], before)


def test_force_deletes_it_anyway():
    before = world(["blue"], blue=[lo(), veth("va", 2, 3), veth("vb", 3, 2)])
    assert kinds(P.plan([Netns("blue", state="absent", force=True)], before)) == ["DeleteNetns"]


@pytest.mark.parametrize("name, kind", [("tunl0", "ipip"), ("sit0", "sit"), ("ip6tnl0", "ip6tnl"), ("gre0", "gre"),
                                        ("gretap0", "gretap"), ("erspan0", "erspan"), ("ip_vti0", "vti"),
                                        ("ip6_vti0", "vti6"), ("ip6gre0", "ip6gre")])
def test_the_kernels_fallback_tunnels_do_not_hold_a_namespace(name, kind):
    before = world(["blue"], blue=[lo(), Link(name, 2, kind, 1480, False)])
    assert kinds(P.plan([Netns("blue", state="absent")], before)) == ["DeleteNetns"]


def test_a_fallback_name_of_another_kind_is_someones_device():
    before = world(["blue"], blue=[lo(), Link("sit0", 2, "bridge", 1500, False)])
    with pytest.raises(ConflictError, match=r"'sit0' \(bridge\) in namespace 'blue'"):
        P.plan([Netns("blue", state="absent")], before)
