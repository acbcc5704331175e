# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of every kind's module, and `topology`'s, generated from the registry.

Each kind's option table (plugins/module_utils/_kind_NAME.py, OPTIONS) is the
one place its options are declared, with their documentation. A module
takes its options with ``extends_documentation_fragment:
netvirt.linux.kinds.NAME``, which brings the attributes and requirements every
kind's module shares; `topology` takes its own options and one section
per kind with ``netvirt.linux.kinds.topology``. A kind added to the registry
gets its attribute here without an edit. Each kind's RETURNS table becomes its
module's RETURN block (return_documentation, below).
"""

from __future__ import annotations

import json

import yaml

from ansible_collections.netvirt.linux.plugins.doc_fragments import _attributes, _netns
from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._options import documentation
from ansible_collections.netvirt.linux.plugins.module_utils._specs import LAB_OPTIONS, section_table

COLLECTION = "netvirt.linux"


def kind_documentation(kind) -> str:
    """The options of the kind's own module, with what every kind's module shares: the attributes of a module that
    changes the host (netvirt.linux._attributes), and for the netlink engine's kinds its requirements and notes
    (netvirt.linux._netns.requirements)."""
    doc = dict(yaml.safe_load(_attributes.ModuleDocFragment.DOCUMENTATION), options=documentation(kind.options))
    if kind.engine == "netlink":
        shared = yaml.safe_load(_netns.ModuleDocFragment.REQUIREMENTS)
        doc.update(requirements=shared["requirements"], notes=shared["notes"])
    return json.dumps(doc)


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


# ------------------------------------------------------------------ RETURN ---
# ansible-core reads a module's RETURN from the module file alone, so each kind's RETURNS table is written into its
# module (scripts/gen_return.py) and tests/unit/test_docs.py checks that the two agree. The values come in the order
# ansible-doc shows them (by name), each a flow mapping on a line of its own (two when it is long).

RETURN_WIDTH = 160  # the pep8 sanity test's line length


def _flow(value) -> str:
    """``value`` in YAML's flow style, quoted as it must be inside a flow collection."""
    return yaml.safe_dump([value], default_flow_style=True, width=float("inf"), sort_keys=False,
                          allow_unicode=True).rstrip("\n")[1:-1]


def _pieces(entry: dict) -> list:
    """The entry as one flow mapping, in pieces that a line may break between: its keys, and a list's items."""
    pieces = []
    for key, value in entry.items():
        if isinstance(value, list) and value:
            items = [_flow(item) for item in value]
            pieces.extend(["%s: [%s," % (key, items[0])] + [item + "," for item in items[1:]])
            pieces[-1] = pieces[-1][:-1] + "],"
        elif key != "contains":
            pieces.append("%s: %s," % (key, _flow(value)))
    pieces[0] = "{" + pieces[0]
    return pieces


def _return_lines(table: dict, indent: str) -> list:
    """One flow mapping per value, broken between keys where a line would grow too long; the values an entry
    ``contains`` follow it, one a line, indented."""
    lines = []
    names = sorted(table)
    for place, name in enumerate(names):
        # Inside a ``contains`` mapping (indented), the last value closes it, the others end with a comma.
        entry, close = table[name], "}" if place == len(names) - 1 else ""
        line = "%s%s:" % (indent, name)
        pieces = _pieces(entry)
        if "contains" in entry:
            pieces.append("contains: {")
        else:
            pieces[-1] = pieces[-1][:-1] + "}"
        for number, piece in enumerate(pieces):
            if number and len(line) + 1 + len(piece) > RETURN_WIDTH:
                lines.append(line)
                line = indent + "   " + piece
            else:
                line += " " + piece
        lines.append(line)
        if "contains" in entry:
            lines.extend(_return_lines(entry["contains"], indent + "    "))
            lines[-1] += "}"  # the entry's own mapping
        if indent:
            lines[-1] += close or ","
    return lines


def return_documentation(kind) -> str:
    """The RETURN block of the kind's module, as the module file holds it (between the triple quotes)."""
    return "\n" + "\n".join(_return_lines(kind.returns, "")) + "\n"
