# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of every kind's module, and `topology`'s, generated from the registry.

Each kind's option table (plugins/module_utils/_kind_NAME.py, OPTIONS) is the
one place its options are declared, with their documentation. A module
takes its options with ``extends_documentation_fragment:
netvirt.linux.kinds.NAME``; `topology` takes its own options and one section
per kind with ``netvirt.linux.kinds.topology``. A kind added to the registry
gets its attribute here without an edit.
"""

from __future__ import annotations

import json

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._options import documentation
from ansible_collections.netvirt.linux.plugins.module_utils._specs import LAB_OPTIONS, section_table

COLLECTION = "netvirt.linux"


def kind_documentation(kind) -> str:
    """The options of the kind's own module."""
    return json.dumps({"options": documentation(kind.options)})


def section_documentation(kind) -> dict:
    """A `topology` section: a list of entries, each with the options of the kind's module but the lab's own."""
    module = "%s.%s" % (COLLECTION, kind.name)
    skipped = [name for name in kind.options if name in kind.section_skip]
    first = "%s, each with the options of M(%s)" % (kind.section_noun or kind.section.capitalize(), module)
    if skipped:
        first += " except " + " and ".join("V(%s)" % name for name in skipped)
    return dict(type="list", elements="dict", default=[], description=[first + "."] + list(kind.section_doc),
                suboptions=documentation(section_table(kind), section=kind.section, module=module, elsewhere=skipped))


def topology_documentation() -> str:
    """The topology module's options: the lab's own, then one section per kind, in the registry's order."""
    options = documentation(LAB_OPTIONS)
    options.update((kind.section, section_documentation(kind)) for kind in _kinds.KINDS)
    return json.dumps({"options": options})


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
"""


@_kinds.derived
def _fragments() -> None:
    """Computed outside the class: the yamllint sanity test reads every assignment in it as a YAML string.
    TOPOLOGY, and NETNS, VETH, BRIDGE, ...: one attribute per registered kind (netvirt.linux.kinds.veth)."""
    for stale in [name for name in vars(ModuleDocFragment) if name.isupper() and name != "DOCUMENTATION"]:
        delattr(ModuleDocFragment, stale)
    ModuleDocFragment.TOPOLOGY = topology_documentation()
    for registered in _kinds.KINDS:
        setattr(ModuleDocFragment, registered.name.upper(), kind_documentation(registered))
