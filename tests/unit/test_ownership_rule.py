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


# ------------------------------------------- re-run, prune and teardown agree ---

MARK = "netvirt:lab=o1"


def host_pair(alias_h0=MARK, alias_h1=MARK):
    return world(host=[lo(), veth("h0", 2, 3, alias=alias_h0), veth("h1", 3, 2, alias=alias_h1)])


def test_a_pair_whose_end_lost_the_marker_is_refused_by_rerun_prune_and_teardown():
    before = host_pair(alias_h0="mine")
    with pytest.raises(ConflictError, match=r"'h0' in the host namespace exists but this lab did not create it"):
        P.plan([P.Veth("h0", peer="h1")], before, owner=MARK, prune=True)
    for desired in ([], [P.Netns("other")]):  # teardown, and a prune that drops the pair
        with pytest.raises(ConflictError) as raised:
            P.plan(desired, before, owner=MARK, prune=True)
        assert ("'h0' in the host namespace, the other end of the lab's 'h1' in the host namespace, does not carry "
                "the lab's marker (its marker is 'mine')") in raised.value.msg
        assert "nothing was changed" in raised.value.msg


def test_a_pair_marked_at_both_ends_goes_as_one_object():
    plan = P.plan([], host_pair(), owner=MARK, prune=True)
    assert [a.describe() for a in plan.actions] == ["delete h0 in host"]
    assert [obj.key for obj in plan.objects] == [("link", HOST, "h0")]


def test_a_half_made_end_the_record_lists_is_the_labs():
    """A killed run left h0 unmarked; the record lists it: re-run marks it, teardown deletes the pair."""
    before = host_pair(alias_h0=None)
    rerun = P.plan([P.Veth("h0", peer="h1")], before, owner=MARK, adopt={(HOST, "h0")})
    assert [a.describe() for a in rerun.actions] == ["mark h0 in host as %s" % MARK]
    gone = P.plan([], before, owner=MARK, prune=True, adopt={(HOST, "h0")})
    assert [a.describe() for a in gone.actions] == ["delete h0 in host"]


def test_the_labs_namespace_is_not_deleted_with_a_stranger_peer_outside():
    """The lab's eth0 in n1 lost its host end's marker: deleting n1 would destroy n1-br."""
    before = world(["n1"], nsids={("n1", 0): "host", ("host", 0): "n1"},
                   host=[lo(), veth("n1-br", 5, 2, nsid=0, alias="theirs")],
                   n1=[Link("lo", 1, None, 65536, True, alias=MARK), veth("eth0", 2, 5, nsid=0, alias=MARK)])
    with pytest.raises(ConflictError, match=r"'n1-br' in the host namespace, the other end of the lab's 'eth0' in "
                                            r"namespace 'n1', does not carry the lab's marker"):
        P.plan([], before, owner=MARK, prune=True)


def test_a_strangers_macvlan_on_the_labs_veth_is_not_destroyed():
    from dataclasses import replace

    from ansible_collections.netvirt.linux.plugins.module_utils._kind_macvlan import MacvlanInfo

    info = MacvlanInfo(mode="bridge", parent=2)
    stranger = Link("mv9", 4, "macvlan", 1500, True, link_index=2, info=info)
    before = host_pair()
    before.spaces[HOST].links["mv9"] = stranger
    with pytest.raises(ConflictError, match=r"'mv9' \(macvlan\) in the host namespace is made on the lab's 'h0'"):
        P.plan([], before, owner=MARK, prune=True)
    before.spaces[HOST].links["mv9"] = replace(stranger, alias=MARK)
    assert [a.describe() for a in P.plan([], before, owner=MARK, prune=True).actions] == ["delete h0 in host"]


# ------------------------------------------------ summaries count the same objects ---


def test_a_teardown_names_what_goes_with_the_namespaces_as_the_build_named_it():
    """A pair between two lab namespaces, a bridge in one, a route in each: each named once, no action of its own."""
    from ansible_collections.netvirt.linux.plugins.module_utils._report import lab_counts

    def marked_lo():
        return Link("lo", 1, None, 65536, True, alias=MARK)

    before = world(["a", "b"], nsids={("a", 0): "b", ("b", 0): "a"},
                   a=[marked_lo(), veth("eth0", 2, 2, nsid=0, alias=MARK),
                      Link("br0", 3, "bridge", 1500, True, alias=MARK)],
                   b=[marked_lo(), veth("eth0", 2, 2, nsid=0, alias=MARK)])
    routes = {("route", "a", 254, "10.9.0.0/16", 1024), ("route", "b", 254, "0.0.0.0/0", 0),
              ("route", None, 254, "10.8.0.0/16", 1024)}  # a host route stays: the record never lists one
    plan = P.plan([], before, owner=MARK, prune=True, unmarked=routes)
    assert [a.describe() for a in plan.actions] == ["delete namespace a", "delete namespace b"]
    assert [obj.key for obj in plan.objects] == [
        ("link", "a", "br0"), ("link", "a", "eth0"), ("route", "a", 254, "10.9.0.0/16", 1024),
        ("route", "b", 254, "0.0.0.0/0", 0), ("netns", "a"), ("netns", "b")]
    removed = [{"key": list(obj.key), "changed": obj.changed, "diff": {"before": obj.before, "after": obj.after}}
               for obj in plan.objects]
    assert {kind: row["removed"] for kind, row in lab_counts([], removed).items()} == {
        "netns": 2, "veth": 1, "bridge": 1, "route": 2}


def test_the_record_keeps_routes_and_merges_a_chains_ip_versions():
    from ansible_collections.netvirt.linux.plugins.module_utils._labstate import LabRecord

    record = LabRecord(["a"], chains=[("a", "ipv4", "filter", "FORWARD", "nft"), ("a", "ipv6", "filter", "FORWARD", "nft"),
                                      ("a", "ipv4", "nat", "POSTROUTING", "nft")],
                       unmarked=[("route", "a", 254, "10.9.0.0/16", 1024)], known=True)
    again = LabRecord.from_json(record.to_json())
    assert again.unmarked == {("route", "a", 254, "10.9.0.0/16", 1024)}
    assert again.held() == {("route", "a", 254, "10.9.0.0/16", 1024), ("iptables_chain", "a", "filter", "FORWARD", "both"),
                            ("iptables_chain", "a", "nat", "POSTROUTING", "ipv4")}
    assert again.unmarked_in(["b"]) == set()
    with pytest.raises(ValueError):
        LabRecord.from_json('{"version": 1, "unmarked": [["route", {"x": 1}]]}')
