"""topology's `definition`: one mapping of the module's own options, checked with its own argument spec."""

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._definition import merge
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.modules.topology import ARGUMENT_SPEC, SECTIONS

LAB = {"namespaces": [{"name": "a"}, {"name": "b"}],
       "veths": [{"name": "eth0", "netns": "a", "peer": "eth0", "peer_netns": "b", "mtu": "9000"}]}


def params(**given):
    """What AnsibleModule hands the module: every option, defaults filled in."""
    result = {key: entry.get("default") for key, entry in ARGUMENT_SPEC.items()}
    result.update(given)
    return result


def test_a_definition_is_converted_like_the_options_and_named_beside_it():
    merged = merge(params(name="adopted", definition=LAB), ARGUMENT_SPEC, SECTIONS)
    assert merged["name"] == "adopted" and merged["state"] == "present" and merged["prune"] is True
    assert "definition" not in merged
    (veth,) = merged["veths"]
    assert veth["mtu"] == 9000 and veth["peer_netns"] == "b" and veth["up"] is True
    assert merged["bridges"] == [] and [ns["name"] for ns in merged["namespaces"]] == ["a", "b"]


def test_the_definition_may_carry_the_lab_options_and_an_option_at_its_default_yields():
    merged = merge(params(definition=dict(LAB, name="inside", state="absent", prune="no")), ARGUMENT_SPEC, SECTIONS)
    assert (merged["name"], merged["state"], merged["prune"]) == ("inside", "absent", False)
    same = merge(params(name="inside", definition=dict(LAB, name="inside")), ARGUMENT_SPEC, SECTIONS)
    assert same["name"] == "inside"


@pytest.mark.parametrize("given, words", [
    (dict(name="one", definition=dict(LAB, name="two")), "name is 'one' as an option but 'two' in definition"),
    (dict(state="absent", definition=dict(LAB, name="x", state="present")), "state is 'absent' as an option"),
    (dict(definition=LAB), "name is required: give it as an option or as a key of definition"),
    (dict(), "name is required"),
    (dict(name="x", definition=dict(LAB, vethz=[])), "definition: unsupported key(s) vethz. Supported parameters include"),
    (dict(name="x", definition={"veths": [{"name": "v", "peer": "p", "mtu": "big"}]}), "definition: "),
    (dict(name="x", definition={"veths": [{"name": "v", "peer": "p", "colour": "red"}]}), "veths.colour"),
    (dict(name="x", definition={"veths": [{"peer": "p"}]}), "missing required arguments: name found in veths"),
    (dict(name="x", definition={"state": "gone"}), "state must be one of: present, absent"),
    (dict(name="x", definition={"definition": {}}), "a definition cannot hold another definition"),
])
def test_mistakes_are_named_by_their_key(given, words):
    with pytest.raises(ValidationError) as raised:
        merge(params(**given), ARGUMENT_SPEC, SECTIONS)
    assert words in raised.value.msg


def test_mtu_that_is_not_a_number_names_its_option():
    with pytest.raises(ValidationError, match="mtu"):
        merge(params(name="x", definition={"veths": [{"name": "v", "peer": "p", "mtu": "big"}]}),
              ARGUMENT_SPEC, SECTIONS)
