"""A kind is what CONTRIBUTING.md says: a throwaway kind, defined here only, goes through every consumer.

The kind below is what a contributor writes in ``_kind_dummy.py`` (a desired
dataclass, a parser, an action, planning, options, a describe hook, and
``KIND = Kind(...)``); ``_kinds.registered`` adds it to the registry for the
test's duration, as the one line in _kinds.KINDS would. Every part of the
collection that iterates kinds must then handle it without an edit of its
own: reading a device, planning, pruning, `topology`'s sections and argument
spec, `lab_info`'s description, the report's order and counts, the doc
fragments. A consumer that keeps its own list of kinds (a name-keyed dispatch,
an order constant, a table built once at import) fails here.
"""

from dataclasses import dataclass, replace
from typing import Optional, Tuple

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from unit_helpers import HOST, Link, P, action_group_misses, world

from ansible_collections.netvirt.linux.plugins.doc_fragments import kinds as fragments
from ansible_collections.netvirt.linux.plugins.module_utils import _kinds, _labinfo, _netlink, _nlwire, _report, _specs, _topology
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind
from ansible_collections.netvirt.linux.plugins.module_utils._model import ARPHRD_ETHER, check_bool, validate_device
from ansible_collections.netvirt.linux.plugins.module_utils._options import ADDRESSES, IFNAME, MTU, NETNS, STATE, UP, argument_spec

# ------------------------------------------------- the kind (_kind_dummy.py) ---

# A made-up setting fixed at creation, carried in IFLA_INFO_DATA as attribute 1.
FLAVOUR = 1

OPTIONS = dict(
    name=IFNAME("the dummy device"),
    netns=NETNS("the dummy device"),
    state=STATE("the device"),
    flavour=dict(type="int", default=0, description=["A number fixed at creation."]),
    addresses=ADDRESSES("the dummy device"),
    mtu=MTU("the device"),
    up=UP("the device"),
)


@dataclass(frozen=True)
class DummyInfo:
    flavour: Optional[int] = None


@dataclass(frozen=True)
class Dummy:
    name: str
    netns: Optional[str] = HOST
    flavour: int = 0
    addresses: Optional[Tuple[str, ...]] = None
    mtu: Optional[int] = None
    up: bool = True
    state: str = "present"

    kind = "dummy"

    def __post_init__(self):
        validate_device(self)
        check_bool(self.up, "up")

    @property
    def key(self):
        return ("dummy", self.netns, self.name)


@dataclass(frozen=True)
class CreateDummy(P.LinkAction):
    flavour: int
    phase = P.PHASE_CREATE_LINK

    def creates(self):
        return ((self.netns, self.name),)

    def apply(self, kernel) -> None:
        raise AssertionError("a unit test applies nothing")

    def describe(self) -> str:
        return "create dummy %s in %s, flavour %d" % (self.name, P.where(self.netns), self.flavour)


def view(desired: Dummy, link: Optional[Link], _space=None) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    return {"name": link.name, "netns": desired.netns, "state": "present", "flavour": link.info.flavour,
            "mtu": link.mtu, "up": link.up, "addresses": P.addresses_view(link, desired.addresses)}


def plan_dummy(p, desired: Dummy):
    if desired.state == "absent":
        return p.plan_link_absent(desired, "dummy", "dummy", lambda link, space: view(desired, link))
    p.require_netns(desired.netns, "dummy %s" % desired.name)
    space = p.space(desired.netns)
    link = p.own_link(desired.netns, desired.name, "dummy", "dummy")
    result = P.ObjectResult(desired.key, before=view(desired, link), after={})
    if link is None:
        result.actions.append(CreateDummy(desired.netns, desired.name, desired.flavour))
        link = Link(desired.name, index=p.new_index(), kind="dummy", mtu=1500, up=False,
                    info=DummyInfo(desired.flavour))
        space.links[link.name] = link
    link = p.settle(result, desired.netns, link, desired.addresses, desired)
    result.after = view(desired, link)
    return result


def parse(msg, data) -> DummyInfo:
    return DummyInfo(flavour=data.get("IFLA_DUMMY_FLAVOUR") if data is not None else None)


def describe(reader, netns, link: Link) -> Optional[dict]:
    if link.info.flavour is None:
        reader.skip(netns, link, "a dummy without a flavour")
        return None
    entry = reader.entry(netns, link)
    entry["flavour"] = link.info.flavour
    return reader.common(entry, link, reader.DEFAULT_MTU)


KIND = Kind(
    name="dummy", section="dummies", desired=Dummy, plan=plan_dummy, options=OPTIONS, link_kind="dummy",
    parse=parse, info_attributes={"IFLA_DUMMY_FLAVOUR": (FLAVOUR, "=I")}, snapshot=("flavour",),
    section_noun="Dummy devices", describe=describe,
)

# ----------------------------------------------------------------- the test ---


@pytest.fixture
def dummy():
    """The registry with the dummy kind between macvlan and bridge: its place shows in every ordered list."""
    with _kinds.registered(KIND, before="bridge"):
        yield KIND
    # Put back: no consumer keeps the throwaway kind.
    assert _kinds.by_link_kind("dummy") is None and "dummies" not in _specs.SECTION_OPTIONS
    assert not hasattr(fragments.ModuleDocFragment, "DUMMY")


def dummy_link(name="d0", index=3, flavour=7, addresses=("10.5.0.1/24",), alias=None):
    return Link(name, index, "dummy", 1500, True, addresses=addresses, alias=alias, link_type=ARPHRD_ETHER,
                info=DummyInfo(flavour))


def lab_world(*links):
    lo = Link("lo", 1, None, 65536, True, link_type=772)
    return world(["n1"], host=[lo], n1=[lo] + list(links))


def test_the_registry_finds_it(dummy):
    names = [kind.name for kind in _kinds.KINDS]
    assert names.index("dummy") == names.index("bridge") - 1
    assert _kinds.get("dummy") is dummy and _kinds.by_section("dummies") is dummy
    assert _kinds.by_link_kind("dummy") is dummy


def test_the_reader_decodes_its_devices_with_its_parser(dummy):
    data = _nlwire.attribute(FLAVOUR, (7).to_bytes(4, "little"))
    body = _nlwire.IFINFOMSG.pack(0, ARPHRD_ETHER, 3, 1, 0) + _nlwire.attribute(_nlwire.IFLA_IFNAME, b"d0\0") + \
        _nlwire.attribute(_nlwire.IFLA_MTU, (1500).to_bytes(4, "little")) + \
        _nlwire.link_info("dummy", data)
    record = _nlwire.LinkRecord(_nlwire.message(16, 0, 1, body))
    link = _netlink._link(record, {3: [(None, "10.5.0.1/24")]})
    assert (link.name, link.kind, link.info) == ("d0", "dummy", DummyInfo(flavour=7))


def test_the_planner_creates_keeps_and_deletes_it(dummy):
    wanted = Dummy("d0", netns="n1", flavour=7, addresses=("10.5.0.1/24",))
    created = P.plan([wanted], lab_world())
    assert [a.describe() for a in created.actions][0] == "create dummy d0 in n1, flavour 7"
    assert created.objects[0].after["state"] == "present"
    assert P.plan([wanted], lab_world(dummy_link())).actions == []
    gone = P.plan([replace(wanted, state="absent")], lab_world(dummy_link()))
    assert [type(a).__name__ for a in gone.actions] == ["DeleteLink"]


def test_a_lab_prunes_it_and_the_report_counts_it_in_the_registrys_order(dummy):
    mark = _topology.marker("lab")
    current = lab_world(dummy_link(alias=mark))
    current.spaces["n1"].links["lo"] = replace(current.spaces["n1"].links["lo"], alias=mark)
    plan = P.plan([P.Netns("n1")], current, owner=mark, prune=True)
    removed = [obj for obj in plan.objects if obj.key[0] == "link"]
    assert [(obj.key, obj.before.get("kind")) for obj in removed] == [(("link", "n1", "d0"), "dummy")]
    entries = [{"key": list(obj.key), "changed": obj.changed,
                "diff": {"before": obj.before, "after": obj.after}} for obj in plan.objects]
    bridge = {"key": ["bridge", None, "br0"], "changed": True,
              "diff": {"before": {"state": "absent"}, "after": {"state": "present"}}}
    counts = _report.lab_counts(entries[:1] + [bridge], entries[1:])
    assert list(counts) == ["netns", "dummy", "bridge"]
    assert counts["dummy"] == {"created": 0, "changed": 0, "removed": 1}
    assert _report.header(("dummy", "n1", "d0")) == "dummy d0 in n1"
    assert _report.header(removed[0].key, removed[0].before) == "dummy d0 in n1"


def test_topology_takes_its_section_as_suboptions_and_builds_it(dummy):
    spec = _specs.section_argument_spec()
    assert list(spec).index("dummies") == list(spec).index("bridges") - 1
    assert set(spec["dummies"]["options"]) == set(OPTIONS) - {"state"}
    validated = ArgumentSpecValidator(dict(argument_spec(_specs.LAB_OPTIONS), **spec)).validate(
        {"name": "lab", "namespaces": [{"name": "n1"}], "dummies": [{"name": "d0", "netns": "n1", "flavour": "7"}]})
    assert validated.error_messages == []
    sections = {section: validated.validated_parameters[section] for section in spec}
    lab = _topology.build(sections)
    assert Dummy("d0", netns="n1", flavour=7) in lab.objects
    with pytest.raises(P.ValidationError, match="dummies"):
        _topology.build({"dummies": [{"name": "d0", "colour": "red"}]})


def test_lab_info_describes_it_and_the_description_builds_it_again(dummy):
    info = _labinfo.describe(lab_world(dummy_link(), dummy_link("d1", 4, flavour=None)))
    sections = [kind.section for kind in _kinds.KINDS]
    assert list(info.topology) == sections
    assert info.topology["dummies"] == [
        {"name": "d0", "netns": "n1", "flavour": 7, "addresses": ["10.5.0.1/24"], "up": True}]
    assert [(row["name"], row["reason"]) for row in info.left_out] == [("d1", "a dummy without a flavour")]
    assert [row["described"] for row in info.links if row["name"].startswith("d")] == [True, False]
    rebuilt = _topology.build(info.topology)
    assert Dummy("d0", netns="n1", flavour=7, addresses=("10.5.0.1/24",)) in rebuilt.objects
    assert "d0 (dummy)" in _labinfo.mermaid(info.topology)


def test_its_module_and_topology_section_are_documented(dummy):
    module = yaml.safe_load(fragments.ModuleDocFragment.DUMMY)["options"]
    assert set(module) == set(OPTIONS)
    assert module["flavour"]["description"] == ["A number fixed at creation."]
    section = yaml.safe_load(fragments.ModuleDocFragment.TOPOLOGY)["options"]["dummies"]
    assert section["description"][0] == "Dummy devices, each with the options of M(netvirt.linux.dummy) except V(state)."
    assert set(section["suboptions"]) == set(_specs.SECTION_OPTIONS["dummies"])


def test_the_action_group_check_asks_for_its_module(dummy):
    # Its module takes netns: module_defaults for the group must reach it (meta/runtime.yml).
    assert action_group_misses(_kinds.KINDS) == ["dummy takes netns but is not in action group netvirt"]


def test_the_planner_names_it_in_refusals(dummy):
    taken = lab_world(Link("d0", 3, "veth", 1500, True, link_type=ARPHRD_ETHER))
    with pytest.raises(P.ConflictError, match="already exists as a veth device, not a dummy"):
        P.plan([Dummy("d0", netns="n1")], taken)
