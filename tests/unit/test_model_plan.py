"""Unit tests of the pure model and planner: no kernel, no Ansible."""

import pytest
from unit_helpers import HOST, Link, NamespaceState, Netns, P, Veth, kinds, normalize_addresses, normalize_cidr, resolve_peers, validate_ifname, world

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, NamespaceMissingError, ValidationError


def lo(up=True):
    return Link("lo", 1, None, 65536, up, ("127.0.0.1/8",) if up else ())


def veth(name, index, peer_index, nsid=None, up=True, addresses=(), mtu=1500):
    return Link(name, index, "veth", mtu, up, tuple(addresses), link_index=peer_index, link_netnsid=nsid)


# ------------------------------------------------------------------ model ---


@pytest.mark.parametrize("name", ["a", "veth0", "x" * 15, "br-test", "iris_veth"])
def test_valid_interface_names(name):
    assert validate_ifname(name) == name


@pytest.mark.parametrize("name, words", [
    ("x" * 16, "16 characters long; Linux allows at most 15"),
    ("", "non-empty"),
    ("a/b", "cannot contain"),
    ("a b", "cannot contain"),
    ("eth0:1", "cannot contain"),
    ("..", "not allowed"),
])
def test_invalid_interface_names(name, words):
    with pytest.raises(ValidationError, match=words):
        validate_ifname(name)


@pytest.mark.parametrize("value, expected", [
    ("10.1.1.1/24", "10.1.1.1/24"),
    (" 10.1.1.1/24", "10.1.1.1/24"),
    ("fd00:0::0001/64", "fd00::1/64"),
    ("192.0.2.1/32", "192.0.2.1/32"),
])
def test_cidr_normalization(value, expected):
    assert normalize_cidr(value) == expected


@pytest.mark.parametrize("value, words", [
    ("10.1.1.1", "no prefix length"),
    ("10.1.1.300/24", "not a valid CIDR"),
    ("10.1.1.1/33", "not a valid CIDR"),
    ("banana/24", "not a valid CIDR"),
])
def test_bad_cidrs(value, words):
    with pytest.raises(ValidationError, match=words):
        normalize_cidr(value)


def test_addresses_sorted_and_duplicates_refused():
    assert normalize_addresses(["fd00::1/64", "10.0.0.2/24", "10.0.0.1/24"]) == (
        "10.0.0.1/24", "10.0.0.2/24", "fd00::1/64")
    assert normalize_addresses(None) is None
    with pytest.raises(ValidationError, match="lists 10.0.0.1 twice"):
        normalize_addresses(["10.0.0.1/24", "10.0.0.1/16"])


def test_veth_validation():
    with pytest.raises(ValidationError, match="peer is required"):
        Veth("a")
    with pytest.raises(ValidationError, match="different names"):
        Veth("a", peer="a")
    Veth("a", peer="a", netns="x")  # same name in two namespaces is fine
    with pytest.raises(ValidationError, match="mtu"):
        Veth("a", peer="b", mtu=20)
    with pytest.raises(ValidationError, match="peer 'p{16}'"):
        Veth("a", peer="p" * 16)
    with pytest.raises(ValidationError, match="not a valid namespace name"):
        Veth("a", peer="b", netns="../etc")
    assert Veth("a", peer="b", addresses=["10.0.0.1/24"]) == Veth("a", peer="b", addresses=("10.0.0.1/24",))


# ------------------------------------------------------------------ netns ---


def test_netns_created_with_loopback_up():
    plan = P.plan([Netns("blue")], world())
    assert [a.describe() for a in plan.actions] == ["create namespace blue", "set lo up in blue"]
    assert plan.objects[0].before["state"] == "absent"
    assert plan.objects[0].after == {"name": "blue", "state": "present", "loopback_up": True}


def test_netns_present_is_exact_match():
    # 'mario2' existing says nothing about 'mario'.
    plan = P.plan([Netns("mario")], world(["mario2"], mario2=[lo()]))
    assert kinds(plan) == ["CreateNetns", "SetUp"]


def test_netns_converged():
    plan = P.plan([Netns("blue")], world(["blue"], blue=[lo(up=True)]))
    assert not plan.changed


def test_netns_loopback_fixed_or_left_alone():
    assert kinds(P.plan([Netns("blue")], world(["blue"], blue=[lo(up=False)]))) == ["SetUp"]
    assert not P.plan([Netns("blue", loopback=False)], world(["blue"], blue=[lo(up=False)])).changed


def test_netns_absent():
    assert kinds(P.plan([Netns("blue", state="absent")], world(["blue"], blue=[lo()]))) == ["DeleteNetns"]
    assert not P.plan([Netns("blue", state="absent")], world()).changed


# ------------------------------------------------------------------- veth ---

SEED = dict(name="veth0", peer="iris_veth", peer_netns="iris_network",
            addresses=["10.1.1.2/24"], peer_addresses=["10.1.1.1/24"])


def test_veth_created_straight_into_namespaces():
    plan = P.plan([Veth(**SEED)], world(["iris_network"], host=[lo()], iris_network=[lo()]))
    assert [a.describe() for a in plan.actions] == [
        "create veth veth0 in host with peer iris_veth in iris_network",
        "add address 10.1.1.2/24 to veth0 in host",
        "add address 10.1.1.1/24 to iris_veth in iris_network",
        "set veth0 up in host",
        "set iris_veth up in iris_network",
    ]
    after = plan.objects[0].after
    assert after["addresses"] == ["10.1.1.2/24"] and after["peer_addresses"] == ["10.1.1.1/24"]
    assert after["up"] is True and after["peer_netns"] == "iris_network"


def test_veth_missing_namespace():
    with pytest.raises(NamespaceMissingError, match="'iris_network' does not exist"):
        P.plan([Veth(**SEED)], world(host=[lo()]))


def test_veth_namespace_planned_in_same_run():
    plan = P.plan([Netns("iris_network"), Veth(**SEED)], world(host=[lo()]))
    assert kinds(plan)[:3] == ["CreateNetns", "CreateVeth", "AddAddress"]


def test_veth_seed_way_pair_in_host_is_moved_not_duplicated():
    # ip link add veth0 type veth peer name iris_veth -- both ends in the host.
    host = [lo(), veth("veth0", 5, 6, up=False), veth("iris_veth", 6, 5, up=False)]
    plan = P.plan([Veth(**SEED)], world(["iris_network"], host=host, iris_network=[lo()]))
    assert [a.describe() for a in plan.actions][:1] == ["move iris_veth from host to iris_network"]
    assert "CreateVeth" not in kinds(plan)


IRIS_NSIDS = {("host", 0): "iris_network", ("iris_network", 0): "host"}


def test_veth_converged_across_namespaces():
    host = [lo(), veth("veth0", 5, 2, nsid=0, addresses=["10.1.1.2/24", "fe80::1/64"])]
    ns = [lo(), veth("iris_veth", 2, 5, nsid=0, addresses=["10.1.1.1/24"])]
    plan = P.plan([Veth(**SEED)], world(["iris_network"], host=host, iris_network=ns, nsids=IRIS_NSIDS))
    assert not plan.changed, [a.describe() for a in plan.actions]


def test_veth_wrong_addresses_fixed_in_place():
    host = [lo(), veth("veth0", 5, 2, nsid=0, addresses=["10.9.9.9/24"])]
    ns = [lo(), veth("iris_veth", 2, 5, nsid=0, addresses=["10.1.1.1/24"])]
    plan = P.plan([Veth(**SEED)], world(["iris_network"], host=host, iris_network=ns, nsids=IRIS_NSIDS))
    assert [a.describe() for a in plan.actions] == [
        "remove address 10.9.9.9/24 from veth0 in host",
        "add address 10.1.1.2/24 to veth0 in host",
    ]


def test_veth_link_local_left_alone_but_empty_list_clears_the_rest():
    host = [lo(), veth("a", 5, 6, addresses=["10.0.0.1/24", "fe80::1/64"]), veth("b", 6, 5)]
    plan = P.plan([Veth("a", peer="b", addresses=[])], world(host=host))
    assert [a.describe() for a in plan.actions] == ["remove address 10.0.0.1/24 from a in host"]


def test_veth_mtu_and_down():
    host = [lo(), veth("a", 5, 6), veth("b", 6, 5)]
    plan = P.plan([Veth("a", peer="b", mtu=9000, up=False)], world(host=host))
    assert kinds(plan) == ["SetMtu", "SetMtu", "SetUp", "SetUp"]
    assert plan.objects[0].after["mtu"] == 9000 and plan.objects[0].after["up"] is False


def test_veth_name_held_by_another_kind():
    host = [lo(), Link("veth0", 5, "bridge", 1500, True)]
    with pytest.raises(ConflictError, match="already exists as a bridge device, not a veth"):
        P.plan([Veth("veth0", peer="p")], world(host=host))


def test_veth_paired_with_another_peer():
    host = [lo(), veth("veth0", 5, 6), veth("other", 6, 5)]
    with pytest.raises(ConflictError, match="paired with 'other'.*not with 'p'"):
        P.plan([Veth("veth0", peer="p")], world(host=host))


def test_peer_name_taken():
    host = [lo(), Link("p", 7, "bridge", 1500, True)]
    with pytest.raises(ConflictError, match="peer 'p' in the host namespace already exists as a bridge"):
        P.plan([Veth("veth0", peer="p")], world(host=host))


def test_move_refused_when_target_name_taken():
    host = [lo(), veth("a", 5, 6), veth("b", 6, 5)]
    ns = [lo(), Link("b", 3, "bridge", 1500, True)]
    with pytest.raises(ConflictError, match="already has a device named 'b'"):
        P.plan([Veth("a", peer="b", peer_netns="x")], world(["x"], host=host, x=ns))


def test_host_device_with_same_name_but_foreign_peer_is_not_adopted():
    # The host has its own veth0 (paired elsewhere); the task wants veth0 in ns x.
    host = [lo(), veth("veth0", 5, 6), veth("cni0", 6, 5)]
    plan = P.plan([Veth("veth0", netns="x", peer="p", peer_netns="x")], world(["x"], host=host, x=[lo()]))
    assert kinds(plan)[0] == "CreateVeth"


def test_veth_absent():
    host = [lo(), veth("a", 5, 6), veth("b", 6, 5)]
    assert kinds(P.plan([Veth("a", state="absent")], world(host=host))) == ["DeleteLink"]
    assert not P.plan([Veth("zz", state="absent")], world(host=host)).changed
    with pytest.raises(ConflictError, match="paired with 'b', not with 'c'"):
        P.plan([Veth("a", peer="c", state="absent")], world(host=host))
    with pytest.raises(ConflictError, match="not a veth; refusing to delete"):
        P.plan([Veth("lo", state="absent")], world(host=host))


def test_multi_object_plan_orders_by_dependency():
    desired = [
        Veth("a", netns="n1", peer="b", peer_netns="n2"),
        Netns("n1"),
        Netns("n2"),
        Netns("old", state="absent"),
    ]
    # Namespaces are planned first whatever their place in the list; results keep the list's order.
    plan = P.plan(desired, world(["old"], host=[lo()], old=[lo()]))
    assert kinds(plan) == ["CreateNetns", "CreateNetns", "CreateVeth", "SetUp", "SetUp", "SetUp", "SetUp",
                           "DeleteNetns"]
    assert [obj.key for obj in plan.objects] == [d.key for d in desired]


def test_veth_absent_checks_the_peers_namespace_too():
    host = [lo(), veth("veth0", 5, 6), veth("veth1", 6, 5)]
    with pytest.raises(ConflictError, match="paired with 'veth1' in the host namespace, not in namespace 'remote'"):
        P.plan([Veth("veth0", peer="veth1", peer_netns="remote", state="absent")],
               world(["remote"], host=host, remote=[lo()]))
    # Its peer in a namespace the task does not name: not the pair described either.
    ns_host = [lo(), veth("veth0", 5, 2, nsid=0)]
    with pytest.raises(ConflictError, match="in a namespace this task does not name"):
        P.plan([Veth("veth0", peer="iris_veth", state="absent")], world(["iris_network"], host=ns_host))


# ------------------------------------------- peers by (namespace, ifindex) ---


def _reused_index_world():
    """Two pairs a:eth0<->b:eth0 and c:eth0<->d:eth0, every end at ifindex 2 (each namespace counts from 1)."""
    ends = {ns: [lo(), veth("eth0", 2, 2, nsid=0)] for ns in "abcd"}
    nsids = {("a", 0): "b", ("b", 0): "a", ("c", 0): "d", ("d", 0): "c"}
    return world(list("abcd"), nsids=nsids, **ends)


def test_peer_is_found_by_namespace_and_index_not_index_alone():
    current = _reused_index_world()
    assert current.spaces["a"].links["eth0"].peer == ("b", "eth0")
    assert current.spaces["c"].links["eth0"].peer == ("d", "eth0")
    desired = [Netns(n) for n in "abcd"] + [
        Veth("eth0", netns="a", peer="eth0", peer_netns="b"),
        Veth("eth0", netns="c", peer="eth0", peer_netns="d"),
    ]
    plan = P.plan(desired, current)
    assert not plan.changed, [a.describe() for a in plan.actions]


def test_reused_index_pair_elsewhere_is_not_mistaken_for_ours():
    # The task wants a:eth0 <-> d:eth0; the kernel pairs a with b and c with d.
    with pytest.raises(ConflictError, match="paired with 'eth0' in namespace 'b'"):
        P.plan([Veth("eth0", netns="a", peer="eth0", peer_netns="d")], _reused_index_world())


def test_unknown_netnsid_leaves_the_peer_unresolved():
    # Same shapes, but the kernel's nsid table names none of the namespaces read.
    ends = {ns: [lo(), veth("eth0", 2, 2, nsid=0)] for ns in "ab"}
    current = world(list("ab"), **ends)
    assert current.spaces["a"].links["eth0"].peer is None
    with pytest.raises(ConflictError, match="peer lives in a namespace this task does not name"):
        P.plan([Veth("eth0", netns="a", peer="eth0", peer_netns="b")], current)


def test_moving_an_end_repoints_its_partner():
    # Seed 000 made the seeds' way: both ends in the host, one to be moved.
    host = [lo(), veth("veth0", 5, 6, up=False), veth("iris_veth", 6, 5, up=False)]
    plan = P.plan([Veth(**SEED)], world(["iris_network"], host=host, iris_network=[lo()]))
    projected = plan.projected
    assert projected.spaces[HOST].links["veth0"].peer == ("iris_network", "iris_veth")
    assert projected.spaces["iris_network"].links["iris_veth"].peer == (HOST, "veth0")


def test_resolve_peers_same_namespace_pair():
    spaces = {HOST: NamespaceState(HOST, {"a": veth("a", 5, 6), "b": veth("b", 6, 5)})}
    resolve_peers(spaces, lambda netns, link: None)
    assert spaces[HOST].links["a"].peer == (HOST, "b")
    assert spaces[HOST].links["b"].peer == (HOST, "a")


# --------------------------------------- check mode across a whole playbook ---


def test_check_mode_assumes_a_namespace_an_earlier_task_makes():
    plan = P.plan([Veth(**SEED)], world(host=[lo()]), assume_missing=True)
    assert kinds(plan)[0] == "CreateVeth"
    assert plan.warnings == ["veth veth0 peer iris_veth: network namespace 'iris_network' does not exist; "
                             "check mode assumes an earlier task creates it"]
    assert plan.objects[0].after["peer_netns"] == "iris_network"


def test_outside_check_mode_a_missing_namespace_stays_an_error():
    with pytest.raises(NamespaceMissingError, match="'iris_network' does not exist; create it first"):
        P.plan([Veth(**SEED)], world(host=[lo()]))


def test_names_to_read_for_a_veth_task_and_none_for_whole_namespaces():
    from ansible_collections.netvirt.linux.plugins.module_utils._engine import names_to_read

    pair = Veth("a", peer="b", peer_netns="blue")
    assert names_to_read([pair]) == {None: {"a", "b"}, "blue": {"a", "b"}}
    assert names_to_read([Veth("a", state="absent")]) == {None: {"a"}}
    # A kind without Kind.names (a namespace lists every device of it) makes the whole task read namespaces.
    assert names_to_read([pair, Netns("blue")]) is None
