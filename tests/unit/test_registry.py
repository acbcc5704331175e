"""Every kind of the registry has all it needs: a module, a topology section, snapshot support, docs.

Adding a kind is one file and one registry line (CONTRIBUTING.md); these tests
fail, naming what is missing, when the rest of the checklist was forgotten.
"""

import ast
import importlib
from pathlib import Path

import pytest
import yaml
from unit_helpers import action_group_misses

from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS, by_link_kind, by_section, get
from ansible_collections.netvirt.linux.plugins.module_utils._options import argument_spec
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS

REPO = Path(__file__).resolve().parents[2]
MODULES = REPO / "plugins" / "modules"


def documentation(module_name: str) -> dict:
    """The module's DOCUMENTATION with its fragments' options merged, as ansible-doc shows it."""
    tree = ast.parse((MODULES / (module_name + ".py")).read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    doc = yaml.safe_load(text)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        _namespace, _name, plugin = fragment.partition("netvirt.linux.")
        base, _dot, attribute = plugin.partition(".")
        module = importlib.import_module("ansible_collections.netvirt.linux.plugins.doc_fragments." + base)
        text = getattr(module.ModuleDocFragment, attribute.upper() or "DOCUMENTATION")
        options.update(yaml.safe_load(text).get("options") or {})
    doc["options"] = options
    return doc


def test_names_are_unique():
    for attribute in ("name", "section"):
        values = [getattr(kind, attribute) for kind in KINDS]
        assert len(values) == len(set(values)), attribute
    link_kinds = [kind.link_kind for kind in KINDS if kind.link_kind]
    assert len(link_kinds) == len(set(link_kinds))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_kind_is_complete(kind):
    assert get(kind.name) is kind and by_section(kind.section) is kind
    # Its module: plugins/modules/<name>.py, documented with every option it takes.
    assert (MODULES / (kind.name + ".py")).is_file(), "no module plugins/modules/%s.py" % kind.name
    doc = documentation(kind.name)
    spec = argument_spec(kind.options)
    assert set(doc["options"]) >= set(spec), "undocumented options of %s: %s" % (
        kind.name, sorted(set(spec) - set(doc["options"])))
    for option, entry in spec.items():
        documented = doc["options"][option]
        assert documented.get("type", "str") == entry.get("type", "str"), (kind.name, option)
        assert bool(documented.get("required")) == bool(entry.get("required")), (kind.name, option)
        assert documented.get("default") == entry.get("default"), (kind.name, option)
        assert documented.get("description"), (kind.name, option)
    # Its topology section, documented there too.
    assert kind.section in SECTION_OPTIONS
    topology = documentation("topology")
    assert kind.section in topology["options"], "topology does not document section %s" % kind.section
    assert set(topology["options"][kind.section].get("suboptions") or {}) == set(SECTION_OPTIONS[kind.section])
    # The desired dataclass takes every option the module passes on.
    assert set(spec) - {"recreate"} <= set(kind.desired.__dataclass_fields__) | {"backend", "lock_timeout"}
    # A kind of device is decoded by its parser and compared by the tests' kernel snapshot.
    if kind.link_kind:
        assert by_link_kind(kind.link_kind) is kind
        assert kind.snapshot is not None, "%s declares no snapshot fields (Kind.snapshot)" % kind.name
    # lab_info describes its objects (a device's, or a whole section's).
    assert kind.describe is not None, "%s declares no lab_info description (Kind.describe)" % kind.name
    assert not kind.describe_reads or kind.read is not None, "%s: describe_reads without a read" % kind.name
    # README lists the module.
    assert "`netvirt.linux.%s`" % kind.name in (REPO / "README.md").read_text()


def test_the_action_group_holds_every_kind_that_takes_netns():
    """meta/runtime.yml's group netvirt: checked against the registry here, and against every module's
    rendered options by tests/build/test_collection_build.py."""
    assert action_group_misses(KINDS) == []


def test_table_is_the_kinds():
    """_kinds._TABLE (names and link kinds, read without importing the kind files) says what the kinds say."""
    from ansible_collections.netvirt.linux.plugins.module_utils import _kinds

    assert list(_kinds._TABLE) == [(kind.name, kind.link_kind) for kind in KINDS]
    assert _kinds.names() == [kind.name for kind in KINDS]
    # Every kind file is in the registry (a file with no line in _TABLE would be left out of KINDS).
    files = sorted(path.stem[len("_kind_"):] for path in (REPO / "plugins" / "module_utils").glob("_kind_*.py"))
    assert files == sorted(kind.name for kind in KINDS)


def test_a_single_object_module_imports_only_the_kinds_it_meets():
    """A veth task runs the veth kind's code (and shaping's, which a veth's options expand to), and netns's
    (ownership's), not every kind file: Kind lookups import the kind files they need (_kinds.get), so that
    a per-object task does not pay for every kind's import (issue 27). KINDS imports them all."""
    import os
    import subprocess
    import sys

    script = """
import sys
from ansible_collections.netvirt.linux.plugins.module_utils import _engine, _kinds, _module, _netlink, _plan, _report
veth = _kinds.get("veth")
assert _kinds.by_link_kind("veth") is veth and _kinds.by_link_kind("dummy") is None
assert _plan.dependency_order([veth.build(dict(name="v0", peer="v1", state="present"))]) == [0]
prefix = "ansible_collections.netvirt.linux.plugins.module_utils._kind_"
print(" ".join(sorted(name[len(prefix):] for name in sys.modules if name.startswith(prefix))))
assert len(_kinds.KINDS) == len(_kinds.names())
print(" ".join(sorted(name[len(prefix):] for name in sys.modules if name.startswith(prefix))))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    first, everything = proc.stdout.splitlines()
    assert first.split() == ["netns", "shaping", "veth"]
    assert everything.split() == sorted(kind.name for kind in KINDS)
