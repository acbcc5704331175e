"""The netvirt.linux.lab action plugin's pure parts: its documentation (plugins/modules/lab.py, which
validate-modules cannot compare with an argument spec it does not see) and the hosts it compiles for."""

import ast
from pathlib import Path

import yaml

from ansible_collections.netvirt.linux.plugins.action import lab as action
from ansible_collections.netvirt.linux.plugins.modules.topology import ARGUMENT_SPEC as TOPOLOGY_SPEC

DOC = Path(action.__file__).resolve().parents[1] / "modules" / "lab.py"


def documentation() -> dict:
    tree = ast.parse(DOC.read_text())
    return {node.targets[0].id: yaml.safe_load(node.value.value) for node in tree.body
            if isinstance(node, ast.Assign) and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")}


def test_the_documentation_is_the_action_plugins_argument_spec():
    options = documentation()["DOCUMENTATION"]["options"]
    assert set(options) == set(action.ARGUMENT_SPEC)
    for name, spec in action.ARGUMENT_SPEC.items():
        documented = options[name]
        assert documented["type"] == spec["type"], name
        assert documented.get("default") == spec.get("default"), name
        assert documented.get("choices") == spec.get("choices"), name
        assert documented["description"], name


def test_the_options_passed_through_are_topologys_own():
    for name in action.PASSED_THROUGH:
        assert action.ARGUMENT_SPEC[name]["type"] == TOPOLOGY_SPEC[name]["type"], name
        assert action.ARGUMENT_SPEC[name].get("choices") == TOPOLOGY_SPEC[name].get("choices"), name
        assert "default" not in action.ARGUMENT_SPEC[name]  # topology's default applies
    assert action.ARGUMENT_SPEC["prune"]["default"] == TOPOLOGY_SPEC["prune"]["default"]


def test_the_examples_use_only_documented_options():
    options = set(documentation()["DOCUMENTATION"]["options"])
    for task in documentation()["EXAMPLES"]:
        args = task.get("netvirt.linux.lab")
        if args is not None:
            assert set(args) <= options, task["name"]


def test_the_hosts_are_the_plays_in_play_order_with_their_underlay_addresses():
    task_vars = {
        "inventory_hostname": "b",
        "ansible_play_hosts_all": ["c", "a", "b"],
        "hostvars": {
            "a": {"ansible_host": "192.0.2.1", "netvirt_underlay_address": "10.0.0.1"},  # the variable wins
            "b": {"ansible_host": "192.0.2.2"},
            "c": {},  # no address: the compiler says where one is needed
        },
    }
    hosts = action.underlay_addresses(task_vars)
    assert list(hosts.items()) == [("c", None), ("a", "10.0.0.1"), ("b", "192.0.2.2")]


def test_without_play_hosts_the_host_itself():
    assert list(action.underlay_addresses({"inventory_hostname": "localhost"}).items()) == [("localhost", None)]
