"""Unit tests of the shaping kind: tc(8)'s units, validation, planning against a read qdisc, lab_info's entries,
and netem's request as pyroute2 encodes and decodes it (this kernel has no netem to read it back)."""

import pytest
from unit_helpers import HOST, Link, NamespaceState, P, World

from ansible_collections.netvirt.linux.plugins.module_utils import _kind_shaping as S
from ansible_collections.netvirt.linux.plugins.module_utils import _netlink
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, ValidationError

TICKS = 15.625  # a 64 ns scheduler tick, as /proc/net/psched says on this kernel


def world(root=None, missing=frozenset(), links=None):
    links = links if links is not None else {"lo": Link("lo", 1, None, 65536, True), "a0": Link("a0", 7, "veth", 1500, True)}
    roots = (S.Qdisc(7, "noqueue", 0),) if root is None else (root,)
    spaces = {"a": NamespaceState("a", dict(links), qdiscs=S.Qdiscs(roots, TICKS)),
              HOST: NamespaceState(HOST, {}, qdiscs=S.Qdiscs((), TICKS, frozenset(missing)))}
    return World(namespaces=frozenset(["a"]), spaces=spaces)


def ours(shaping):
    """The qdisc the kernel reports once ``shaping`` is made."""
    return S.Qdisc(7, shaping.qdisc, S.HANDLE, shaping.settings(TICKS))


def describe(plan):
    return [a.describe() for a in plan.actions]


@pytest.mark.parametrize("text, rate", [
    ("2mbit", 250000), ("500kbit", 62500), ("1gbit", 125000000), ("10Mbit", 1250000), ("1.5mbit", 187500),
    ("8000", 1000), ("8000bit", 1000), ("100kbps", 100000), ("1mibit", 131072), (8000, 1000),
])
def test_rates_in_tc_units(text, rate):
    assert S.parse_rate(text) == rate


@pytest.mark.parametrize("text, size", [("32k", 32768), ("32kb", 32768), ("1m", 1048576), ("1600", 1600),
                                        ("1600b", 1600), ("8kbit", 1024)])
def test_sizes_in_tc_units(text, size):
    assert S.parse_size(text) == size


@pytest.mark.parametrize("text, usec", [("20ms", 20000), ("1s", 1000000), ("250us", 250), ("1.5ms", 1500),
                                        ("100", 100), ("2msec", 2000)])
def test_times_in_tc_units(text, usec):
    assert S.parse_time(text, "delay") == usec


@pytest.mark.parametrize("kwargs, words", [
    (dict(rate="10 mbits"), "rate '10 mbits' is malformed"),
    (dict(rate="10mbitz"), "is malformed: give a number with one of tc\\(8\\)'s units"),
    (dict(rate="-1mbit"), "is malformed"),
    (dict(rate="100gbit"), "out of range: from 8bit to 34gbit"),
    (dict(rate="1bit"), "out of range"),
    (dict(rate="2mbit", burst="0"), "burst '0' is out of range"),
    (dict(delay="20 parsecs"), "delay '20 parsecs' is malformed"),
    (dict(delay="300s"), "delay '300s' is out of range"),
    (dict(loss="101%"), "loss '101%' is out of range"),
    (dict(loss="lots"), "loss 'lots' is malformed"),
    (dict(jitter="2ms"), "jitter needs a delay"),
    (dict(delay="20ms", delay_distribution="normal"), "delay_distribution needs a jitter"),
    (dict(delay="20ms", jitter="2ms", delay_distribution="pareto"), "'pareto' is not supported"),
    (dict(reorder="10%"), "reorder needs a delay"),
    (dict(rate="2mbit", burst="32k", delay="20ms"), "burst applies to a rate alone"),
    (dict(limit=0, rate="1mbit"), "limit 0 is out of range"),
    (dict(), "needs a rate or an impairment"),
])
def test_validation(kwargs, words):
    with pytest.raises(ValidationError, match=words):
        S.Shaping("a0", "a", **kwargs)


def test_rate_alone_is_tbf_and_impairments_are_netem_with_its_own_rate():
    assert S.Shaping("a0", rate="2mbit").qdisc == "tbf"
    netem = S.Shaping("a0", rate="2mbit", delay="20ms", loss="1%")
    assert netem.qdisc == "netem" and netem.request()["rate"] == 250000 and "burst" not in netem.request()


def test_new_shaping_then_converged():
    desired = S.Shaping("a0", "a", rate="2mbit")
    plan = P.plan([desired], world())
    assert describe(plan) == ["shape 'a0' in a: 2mbit (tbf 4e56:)"]
    assert plan.objects[0].before == {"interface": "a0", "netns": "a", "state": "absent", "qdisc": "noqueue"}
    assert plan.objects[0].after == {"interface": "a0", "netns": "a", "state": "present", "qdisc": "tbf",
                                     "handle": "4e56:", "owned": True, "rate": "2mbit"}
    again = P.plan([desired], world(root=ours(desired)))
    assert again.actions == [] and again.objects[0].after == plan.objects[0].after


def test_tbf_buffer_read_back_within_a_tick_is_no_change():
    desired = S.Shaping("a0", "a", rate="10mbit")
    settings = dict(desired.settings(TICKS))
    settings["buffer"] -= 1
    assert P.plan([desired], world(root=S.Qdisc(7, "tbf", S.HANDLE, settings))).actions == []


def test_rate_changed_in_place():
    old = S.Shaping("a0", "a", rate="2mbit")
    plan = P.plan([S.Shaping("a0", "a", rate="10mbit")], world(root=ours(old)))
    assert describe(plan) == ["shape 'a0' in a: 10mbit (tbf 4e56:)"]
    assert plan.objects[0].before["rate"] == "2mbit"


def test_kind_change_deletes_first():
    """The kernel never changes a qdisc's kind under one handle: ours is deleted, then made anew."""
    old = S.Shaping("a0", "a", rate="2mbit")
    plan = P.plan([S.Shaping("a0", "a", rate="2mbit", delay="20ms")], world(root=ours(old)))
    assert describe(plan) == ["delete shaping of 'a0' in a", "shape 'a0' in a: 2mbit 20ms (netem 4e56:)"]


def test_absent_deletes_ours_and_leaves_the_default():
    plan = P.plan([S.Shaping("a0", "a", state="absent")], world(root=ours(S.Shaping("a0", "a", rate="1mbit"))))
    assert describe(plan) == ["delete shaping of 'a0' in a"]
    assert plan.objects[0].after["state"] == "absent"
    assert P.plan([S.Shaping("a0", "a", state="absent")], world()).actions == []
    assert P.plan([S.Shaping("gone0", "a", state="absent")], world()).actions == []
    assert P.plan([S.Shaping("a0", "nowhere", state="absent")], world()).actions == []


def test_kernel_default_qdisc_of_a_queue_is_replaced():
    plan = P.plan([S.Shaping("a0", "a", rate="1gbit")], world(root=S.Qdisc(7, "fq_codel", 0)))
    assert describe(plan) == ["shape 'a0' in a: 1gbit (tbf 4e56:)"]


@pytest.mark.parametrize("state", ["present", "absent"])
def test_foreign_qdisc_refused_by_name_unless_forced(state):
    foreign = world(root=S.Qdisc(7, "htb", 0x10000))
    with pytest.raises(ConflictError, match="its root qdisc is htb \\(handle 1:\\), which this module did not make"):
        P.plan([S.Shaping("a0", "a", rate="2mbit", state=state)], foreign)
    forced = P.plan([S.Shaping("a0", "a", rate="2mbit", state=state, force=True)], foreign)
    assert describe(forced) == (["shape 'a0' in a: 2mbit (tbf 4e56:)"] if state == "present"
                                else ["delete root qdisc htb 1: of 'a0' in a"])


def test_netem_missing_refused_before_anything_naming_options_and_kernel_feature():
    desired = S.Shaping("a0", "a", delay="20ms", loss="1%")
    with pytest.raises(ValidationError, match="delay, loss need the kernel's netem qdisc, which this kernel lacks "
                                              "\\(CONFIG_NET_SCH_NETEM"):
        P.plan([desired], world(missing={"netem"}))
    assert describe(P.plan([desired], world())) == ["shape 'a0' in a: 20ms 1% (netem 4e56:)"]
    # A rate alone needs no netem.
    assert P.plan([S.Shaping("a0", "a", rate="1mbit")], world(missing={"netem"})).actions


def test_netem_probe_asked_only_when_needed():
    assert S.reads(S.Shaping("a0", "a", rate="1mbit")) == [("a", "qdiscs")]
    assert S.reads(S.Shaping("a0", "a", delay="1ms")) == [("a", "qdiscs"), (HOST, "netem")]
    assert S.namespaces(S.Shaping("a0", "a", delay="1ms")) == ["a", HOST]


def test_missing_interface_refused_and_assumed_in_check_mode():
    with pytest.raises(DeviceMissingError, match="no interface 'b0' in namespace 'a'"):
        P.plan([S.Shaping("b0", "a", rate="1mbit")], world())
    plan = P.Planner(world(), assume_missing=True).plan([S.Shaping("b0", "a", rate="1mbit")])
    assert describe(plan) == ["shape 'b0' in a: 1mbit (tbf 4e56:)"] and plan.warnings


def test_undo_puts_back_what_was_read():
    before = world()
    action = S.SetShaping("a", S.Shaping("a0", "a", rate="1mbit"))
    assert [a.describe() for a in action.undo(before)] == ["delete shaping of 'a0' in a"]
    old = S.Shaping("a0", "a", rate="2mbit")
    assert [a.describe() for a in action.undo(world(root=ours(old)))] == ["shape 'a0' in a: 2mbit (tbf 4e56:)"]
    assert action.undo(world(root=S.Qdisc(7, "htb", 0x10000))) is None


@pytest.mark.parametrize("kwargs, text", [
    (dict(rate="2mbit"), dict(rate="2mbit")),
    (dict(rate="500kbit", burst="32k", limit=20), dict(rate="500kbit", burst="32768b", limit=20)),
    (dict(rate="10mbit", delay="20ms", jitter="2ms", loss="1%", duplicate="0.5%", reorder="25%", corrupt="0.1%",
          limit=500), dict(rate="10mbit", delay="20ms", jitter="2ms", loss="1%", duplicate="0.5%", reorder="25%",
                           corrupt="0.1%", limit=500)),
])
def test_read_back_as_written(kwargs, text):
    """What lab_info writes back (from the kernel's units) is what was asked, and rebuilds the same qdisc."""
    desired = S.Shaping("a0", "a", **kwargs)
    shaping = S.from_kernel("a0", "a", ours(desired), TICKS)
    assert S.text_options(shaping) == text
    assert shaping.settings(TICKS) == desired.settings(TICKS)


def test_summary_for_the_diagram():
    assert S.summary(S.Shaping("a0", rate="10mbit", delay="20ms", loss="1%")) == "10mbit 20ms 1%"


def test_netem_request_as_pyroute2_encodes_and_decodes_it():
    """This kernel has no netem to read a request back: pyroute2's own codec stands in for the kernel's reading."""
    tcmsg = pytest.importorskip("pyroute2.netlink.rtnl.tcmsg")
    from pyroute2.netlink.rtnl.tcmsg import sched_netem
    from pyroute2.netlink.rtnl.tcmsg.common import tick_in_usec

    desired = S.Shaping("a0", "a", rate="10mbit", delay="20ms", jitter="2ms", loss="1%", duplicate="0.5%",
                        reorder="10%", corrupt="0.1%", limit=500)
    msg = tcmsg.tcmsg()
    msg["index"], msg["handle"], msg["parent"] = 7, S.HANDLE, S.TC_H_ROOT
    msg["attrs"] = [["TCA_KIND", "netem"], ["TCA_OPTIONS", sched_netem.get_parameters(desired.request())]]
    msg.encode()
    back = tcmsg.tcmsg(msg.data)
    back.decode()
    settings = S._settings("netem", _netlink._plain(back.get_attr("TCA_OPTIONS")))
    assert settings == desired.settings(tick_in_usec)
    assert S.from_kernel("a0", "a", S.Qdisc(7, "netem", S.HANDLE, settings), tick_in_usec) == S.Shaping(
        "a0", "a", rate="10mbit", delay="20ms", jitter="2ms", loss="1%", duplicate="0.5%", reorder="10%",
        corrupt="0.1%", limit=500)


def test_diagram_edge_shows_the_shaping():
    from ansible_collections.netvirt.linux.plugins.module_utils import _labinfo

    topology = {"namespaces": [{"name": "a"}, {"name": "b"}],
                "veths": [{"name": "a0", "netns": "a", "peer": "b0", "peer_netns": "b", "addresses": ["10.0.0.1/24"]}],
                "shaping": [{"interface": "a0", "netns": "a", "rate": "10mbit", "delay": "20ms", "loss": "1%"}]}
    assert "10.0.0.1/24 on a0, 10mbit 20ms 1%" in _labinfo.mermaid(topology)
    topology["shaping"].append({"interface": "b0", "netns": "b", "rate": "2mbit"})
    assert "a0 10mbit 20ms 1%, b0 2mbit" in _labinfo.dot(topology)


def test_a_veth_entry_shaping_is_drawn_too():
    from ansible_collections.netvirt.linux.plugins.module_utils import _labinfo

    topology = {"namespaces": [{"name": "a"}, {"name": "b"}],
                "veths": [{"name": "a0", "netns": "a", "peer": "b0", "peer_netns": "b",
                           "shaping": {"rate": "10mbit", "delay": "20ms"}, "peer_shaping": {"rate": "10mbit", "delay": "20ms"}}]}
    assert '"10mbit 20ms"' in _labinfo.mermaid(topology)


def test_veth_shaping_expands_to_shaping_objects():
    from ansible_collections.netvirt.linux.plugins.module_utils import _kind_veth

    veth = _kind_veth.Veth("a0", peer="b0", netns="a", peer_netns="b", shaping={"rate": "2mbit", "delay": None},
                           peer_shaping={"rate": "1mbit"})
    assert _kind_veth.expand(veth) == [S.Shaping("a0", "a", rate="2mbit"), S.Shaping("b0", "b", rate="1mbit")]
    assert _kind_veth.expand(_kind_veth.Veth("a0", netns="a", state="absent", shaping={"rate": "2mbit"})) == []
    with pytest.raises(ValidationError, match="peer_shaping: loss '200%' is out of range"):
        _kind_veth.Veth("a0", peer="b0", peer_shaping={"loss": "200%"})
    with pytest.raises(ValidationError, match="shaping: unknown key\\(s\\) interface"):
        _kind_veth.Veth("a0", peer="b0", shaping={"interface": "x", "rate": "1mbit"})


def test_two_new_veths_shaped_alike_in_one_namespace_are_both_shaped():
    # Both new ends once shared the placeholder index 0, so the second's shaping found the first's as made.
    from ansible_collections.netvirt.linux.plugins.module_utils import _kind_veth

    veths = [_kind_veth.Veth(name, peer="eth0", netns="a", peer_netns=peer, shaping={"rate": "10mbit"})
             for name, peer in (("b0", "b"), ("c0", "c"))]
    objects = veths + [shaping for veth in veths for shaping in _kind_veth.expand(veth)]
    spaces = world().spaces
    spaces.update({ns: NamespaceState(ns, {"lo": Link("lo", 1, None, 65536, True)}, qdiscs=S.Qdiscs((), TICKS))
                   for ns in ("b", "c")})
    plan = P.plan(objects, World(namespaces=frozenset("abc"), spaces=spaces))
    assert [a for a in describe(plan) if a.startswith("shape")] == [
        "shape 'b0' in a: 10mbit (tbf 4e56:)", "shape 'c0' in a: 10mbit (tbf 4e56:)"]


MARK = "netvirt:lab=slow"


def pair(name, index, peer, peer_index):
    return [Link(name, index, "veth", 1500, True, alias=MARK, peer=("a", peer)),
            Link(peer, peer_index, "veth", 1500, True, alias=MARK, peer=("a", name))]


def lab_world():
    """Namespace a of lab "slow": the pairs a0-a1 and e0-e1 the lab's (a0 with the module's qdisc, e0 with someone's
    htb), x0 a stranger's device carrying the module's qdisc."""
    links = [Link("lo", 1, None, 65536, True, alias=MARK), Link("x0", 9, "tun", 1500, True)]
    links += pair("a0", 7, "a1", 10) + pair("e0", 8, "e1", 11)
    shaped = ours(S.Shaping("a0", "a", rate="2mbit"))
    roots = (shaped, S.Qdisc(8, "htb", 0x10000), S.Qdisc(9, "tbf", S.HANDLE, shaped.settings))
    spaces = {"a": NamespaceState("a", {link.name: link for link in links}, qdiscs=S.Qdiscs(roots, TICKS)),
              HOST: NamespaceState(HOST, {}, qdiscs=S.Qdiscs((), TICKS))}
    return World(namespaces=frozenset(["a"]), spaces=spaces)


def lab(*shaping, pairs=("a0", "e0")):
    veths = [P.Veth(name, netns="a", peer=name[0] + "1", peer_netns="a") for name in pairs]
    return [P.Netns("a")] + veths + list(shaping)


def test_prune_takes_off_the_module_qdisc_of_a_dropped_shaping_only_on_the_lab_devices():
    assert describe(P.plan(lab(S.Shaping("a0", "a", rate="2mbit")), lab_world(), owner=MARK, prune=True)) == []
    plan = P.plan(lab(), lab_world(), owner=MARK, prune=True)
    assert describe(plan) == ["delete shaping of 'a0' in a"]
    (removed,) = [obj for obj in plan.objects if obj.key[0] == "shaping"]
    assert removed.before["rate"] == "2mbit" and removed.after == {"interface": "a0", "netns": "a", "state": "absent",
                                                                   "qdisc": None}
    assert [q.index for q in plan.projected.spaces["a"].qdiscs.roots] == [8, 9], "the htb and the stranger's stay"
    assert describe(P.plan(lab(), lab_world(), owner=MARK, prune=False)) == []


def test_prune_names_no_qdisc_of_a_device_it_deletes():
    """A dropped pair takes its qdisc with it: one deletion, no qdisc step."""
    plan = P.plan(lab(pairs=("e0",)), lab_world(), owner=MARK, prune=True)
    assert describe(plan) == ["delete a0 in a"], describe(plan)
