"""Options declared once: each kind's option table is the only place its options and their documentation live.

The doc fragment netvirt.linux.kinds (plugins/doc_fragments/kinds.py) renders
the tables for the single modules and for `topology`; these tests check that
what it renders agrees with the argument specs the modules run with, that
every option reference in it resolves, and that no module declares options
or attributes by hand.
"""

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from ansible_collections.netvirt.linux.plugins.doc_fragments import _attributes, _netns, kinds
from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS
from ansible_collections.netvirt.linux.plugins.module_utils._options import argument_spec, documentation
from ansible_collections.netvirt.linux.plugins.module_utils._specs import LAB_OPTIONS, SECTION_OPTIONS
from ansible_collections.netvirt.linux.plugins.modules.topology import ARGUMENT_SPEC as TOPOLOGY_SPEC

MODULES = Path(__file__).resolve().parents[2] / "plugins" / "modules"
SPEC_KEYS = ("type", "required", "default", "choices", "elements")
REFERENCE = re.compile(r"O\(([^)=]*)(=[^)]*)?\)")


def fragment(name: str) -> dict:
    return yaml.safe_load(getattr(kinds.ModuleDocFragment, name))


def module_documentation(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [target.id for target in node.targets] == ["DOCUMENTATION"])
    return yaml.safe_load(text)


def same_spec(docs: dict, spec: dict) -> None:
    """The documented options are the argument spec's, with its types, defaults, choices and required."""
    assert set(docs) == set(spec)
    for name, doc in docs.items():
        for key in SPEC_KEYS:
            assert doc.get(key) == spec[name].get(key), (name, key)
        if "options" in spec[name]:
            same_spec(doc["suboptions"], spec[name]["options"])


def descriptions(docs: dict):
    for name, doc in docs.items():
        yield name, doc["description"]
        yield from descriptions(doc.get("suboptions", {}))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_every_option_of_a_kind_is_described(kind):
    for name, description in descriptions(documentation(kind.options)):
        assert description and all(isinstance(line, str) and line.strip() for line in description), name


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_kinds_fragment_documents_the_argument_spec_of_its_module(kind):
    docs = fragment(kind.name.upper())["options"]
    same_spec(docs, argument_spec(kind.options))
    for name, description in descriptions(docs):
        for target, _value in REFERENCE.findall(" ".join(description)):
            assert target in kind.options or "#module:" in target, "%s.%s refers to O(%s)" % (kind.name, name, target)


def test_topologys_fragment_documents_its_argument_spec():
    same_spec(fragment("TOPOLOGY")["options"], TOPOLOGY_SPEC)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.section)
def test_a_sections_references_point_into_the_section_or_elsewhere_by_name(kind):
    """O(name) in a section's entry becomes O(veths[].name); what the section lacks names the module's option."""
    section = fragment("TOPOLOGY")["options"][kind.section]
    assert section["description"][0].startswith("%s, each with the options of M(netvirt.linux.%s)" % (
        kind.section_noun or kind.section.capitalize(), kind.name))
    for name, description in descriptions(section["suboptions"]):
        for target, _value in REFERENCE.findall(" ".join(description)):
            if "[]." in target:
                other, option = target.split("[].")
                assert option in SECTION_OPTIONS[other], "%s[].%s refers to O(%s)" % (kind.section, name, target)
            elif "#module:" in target:
                module, option = target.split("#module:")
                assert module == "netvirt.linux.%s" % kind.name or option == "ports", target
                assert option in _kinds.get(module.rsplit(".", 1)[1]).options, target
            else:
                assert target in TOPOLOGY_SPEC, "%s[].%s refers to O(%s)" % (kind.section, name, target)


def test_a_section_gives_its_own_wording_where_the_kind_has_one():
    bridges = fragment("TOPOLOGY")["options"]["bridges"]["suboptions"]
    assert "Every port must be an interface the lab describes" in bridges["ports"]["description"][1]
    taps = fragment("TOPOLOGY")["options"]["taps"]["suboptions"]
    assert "O(bridges[].ports)" in taps["master"]["description"][0]
    assert "O(taps[].mode=tap)" in taps["master"]["description"][0]
    assert taps["mode"]["description"][1] == "Fixed at creation; see O(netvirt.linux.tap#module:recreate)."


def test_state_is_worded_the_same_for_every_kind():
    for kind in KINDS:
        state = documentation(kind.options)["state"]["description"]
        assert re.fullmatch(r"V\(present\) makes the [a-z ]+ exist as described; V\(absent\) deletes it\.", state[0])
        assert state[-1] == "V(absent) reports no change when there is nothing to delete."
        assert len(state) <= 3
    assert documentation(LAB_OPTIONS)["state"]["description"][0].startswith("V(present) makes the lab exist")


def test_a_kind_added_to_the_registry_gets_its_fragment_and_its_section():
    veth = _kinds.get("veth")
    macvlan = replace(veth, name="macvlan2", section="macvlans2", link_kind=None, section_noun=None)
    with _kinds.registered(macvlan):
        assert set(yaml.safe_load(kinds.ModuleDocFragment.MACVLAN2)["options"]) == set(veth.options)
        section = yaml.safe_load(kinds.ModuleDocFragment.TOPOLOGY)["options"]["macvlans2"]
        assert section["description"][0] == "Macvlans2, each with the options of M(netvirt.linux.macvlan2) except V(state)."
        assert section["suboptions"]["name"]["description"][0].startswith("Name of the first end, in O(macvlans2[].netns).")
    assert not hasattr(kinds.ModuleDocFragment, "MACVLAN2")
    assert "macvlans2" not in yaml.safe_load(kinds.ModuleDocFragment.TOPOLOGY)["options"]


@pytest.mark.parametrize("path", sorted(MODULES.glob("*.py")), ids=lambda path: path.stem)
def test_no_module_pastes_attributes_and_no_kinds_module_declares_options(path):
    doc = module_documentation(path)
    fragments = doc.get("extends_documentation_fragment", [])
    assert "attributes" not in doc, "use netvirt.linux._attributes (or a named part of it)"
    if path.stem in {kind.name for kind in KINDS} | {"topology"}:
        assert "options" not in doc or set(doc["options"]) <= set(LAB_OPTIONS)
        assert "netvirt.linux.kinds.%s" % path.stem in fragments
    if path.stem in {kind.name for kind in KINDS}:  # the kind's fragment brings the attributes
        assert not [f for f in fragments if f.startswith("netvirt.linux._attributes")], fragments
    else:
        assert [f for f in fragments if f.startswith("netvirt.linux._attributes")], fragments
        assert "netvirt.linux._netns" not in fragments  # its netns option comes with the kind's


def test_the_netns_fragment_and_the_attribute_fragments_render():
    netns = yaml.safe_load(_netns.ModuleDocFragment.DOCUMENTATION)
    assert netns["options"]["netns"]["type"] == "str" and netns["requirements"] and netns["notes"]
    assert yaml.safe_load(_netns.ModuleDocFragment.REQUIREMENTS)["options"] == {}
    full = yaml.safe_load(_attributes.ModuleDocFragment.DOCUMENTATION)["attributes"]
    read_only = yaml.safe_load(_attributes.ModuleDocFragment.READ_ONLY)["attributes"]
    assert {name: a["support"] for name, a in full.items()} == dict.fromkeys(full, "full")
    assert read_only["diff_mode"]["support"] == "none" and read_only["check_mode"]["support"] == "full"
    assert set(read_only) == set(full)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_modules_return_block_is_generated_from_its_kind(kind):
    """ansible-core reads RETURN from the module file only: the block there is the kind's RETURNS, rendered."""
    path = MODULES / (kind.name + ".py")
    tree = ast.parse(path.read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [getattr(target, "id", None) for target in node.targets] == ["RETURN"])
    assert kind.returns, "the kind %s declares no RETURNS table (returns= in its KIND)" % kind.name
    assert text == kinds.return_documentation(kind), (
        "RETURN of plugins/modules/%s.py differs from the RETURNS table of _kind_%s.py; edit the table and run "
        "`python3 scripts/gen_return.py` to write the block again" % (kind.name, kind.name))
    assert yaml.safe_load(text)["actions"]["returned"] == "always"
    assert max(len(line) for line in text.splitlines()) <= kinds.RETURN_WIDTH


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_kinds_fragment_brings_the_attributes_and_requirements_its_module_shares(kind):
    doc = fragment(kind.name.upper())
    assert doc["attributes"] == yaml.safe_load(_attributes.ModuleDocFragment.DOCUMENTATION)["attributes"]
    shared = yaml.safe_load(_netns.ModuleDocFragment.REQUIREMENTS)
    if kind.engine == "netlink":
        assert (doc["requirements"], doc["notes"]) == (shared["requirements"], shared["notes"])
    else:  # iptables_chain names its own requirements
        assert "requirements" not in doc
