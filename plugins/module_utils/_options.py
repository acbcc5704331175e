# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options declared once: each kind's option table carries both the argument
spec and the documentation of every option; this file turns a table into
either, and holds the options many kinds share.

An entry is an Ansible argument spec entry plus documentation keys
(``description``, ``version_added``, and ``section_description`` where a
`topology` section words the option otherwise) and ``suboptions`` for nested
options. Modules get ``argument_spec(table)``; the doc fragment
(plugins/doc_fragments/kinds.py) gets ``documentation(table)``, or
``documentation(table, section=...)`` for a `topology` section.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, Iterable, List, Optional

DOC_ONLY = ("description", "version_added", "section_description")
DOC_SPEC = ("type", "required", "default", "choices", "elements")


def argument_spec(table: Dict[str, dict]) -> Dict[str, dict]:
    """The argument spec of an option table: documentation keys dropped, ``suboptions`` as ``options``."""
    spec = {}
    for name, entry in table.items():
        spec[name] = {key: value for key, value in entry.items() if key not in DOC_ONLY and key != "suboptions"}
        if "suboptions" in entry:
            spec[name]["options"] = argument_spec(entry["suboptions"])
    return spec


def documentation(table: Dict[str, dict], section: Optional[str] = None, module: Optional[str] = None,
                  elsewhere: Iterable[str] = ()) -> Dict[str, dict]:
    """The ``options`` of a DOCUMENTATION block for an option table.

    For the entries of a `topology` section (``section="veths"``), an entry's
    ``section_description`` replaces its ``description``, and references to
    the entries' options become the section's: ``O(peer)`` -> ``O(veths[].peer)``.
    A reference to one of the kind's options that the section does not take
    (``elsewhere``) points at that option of the single ``module``.
    """
    docs = {}
    for name, entry in table.items():
        doc = {key: copy.deepcopy(value) for key, value in entry.items()
               if key in ("description", "version_added") or key in DOC_SPEC}
        if section is not None:
            doc["description"] = [_in_section(line, section, table, module, elsewhere)
                                  for line in entry.get("section_description", entry.get("description", []))]
        if "suboptions" in entry:
            doc["suboptions"] = documentation(entry["suboptions"])
        docs[name] = doc
    return docs


_OPTION_REFERENCE = re.compile(r"O\(([a-z_][a-z0-9_]*)(=[^)]*)?\)")


def _in_section(line: str, section: str, table, module: Optional[str], elsewhere: Iterable[str]) -> str:
    def reference(match):
        name, value = match.group(1), match.group(2) or ""
        if name in table:
            return "O(%s[].%s%s)" % (section, name, value)
        if module and name in elsewhere:
            return "O(%s#module:%s%s)" % (module, name, value)
        return match.group(0)
    return _OPTION_REFERENCE.sub(reference, line)


# Options that name something (an interface, a namespace, a lab, a chain): given as anything but a string, Ansible
# would write the value out (``[lab1]`` becomes a namespace named "['lab1']", ``true`` a device named "True",
# ``010`` from YAML one named "8"); such a value is refused instead.
NAME_OPTIONS = frozenset(("name", "netns", "peer", "peer_netns", "master", "link", "dev", "chain", "lab",
                          "namespaces"))
_TYPE_WORDS = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}


def non_string_names(spec: Dict[str, dict], params, where: str = "") -> List[str]:
    """Problems with the names in the raw ``params`` (before Ansible's conversion) that are not strings.

    ``spec`` is an argument spec; suboptions (a `topology` section's entries) are walked, each problem naming its
    option by its place (``veths[0].name``).
    """
    problems: List[str] = []
    if not isinstance(params, dict):
        return problems
    for option, entry in spec.items():
        value = params.get(option)
        if value is None:
            continue
        place = where + option
        kind = entry.get("type", "str")
        if option in NAME_OPTIONS and kind == "str" and not isinstance(value, str):
            problems.append(_not_a_string(place, value))
        elif option in NAME_OPTIONS and kind == "list" and entry.get("elements") == "str" and isinstance(value, list):
            problems.extend(_not_a_string("%s[%d]" % (place, index), item)
                            for index, item in enumerate(value) if not isinstance(item, str))
        elif "options" in entry and kind == "list" and isinstance(value, list):
            for index, item in enumerate(value):
                problems.extend(non_string_names(entry["options"], item, "%s[%d]." % (place, index)))
        elif "options" in entry and kind == "dict":
            problems.extend(non_string_names(entry["options"], value, place + "."))
    return problems


def _not_a_string(place: str, value) -> str:
    what = _TYPE_WORDS.get(type(value), type(value).__name__)  # exact type: a bool is not called a number
    return ("%s must be a string, not %s (%r): a name is taken as written, never converted; quote it in YAML"
            % (place, what, value))


def pick(table: Dict[str, dict], skip: Iterable[str] = (), required: Iterable[str] = ()) -> Dict[str, dict]:
    """A copy of ``table`` without ``skip``, with ``required`` made required."""
    picked = {name: dict(entry) for name, entry in table.items() if name not in set(skip)}
    for name in required:
        picked[name]["required"] = True
    return picked


# --------------------------------------------------------- shared options ---
# Each call returns a fresh entry; a kind's OPTIONS uses them beside its own.

def STATE(what: str, consequence: Optional[str] = None) -> dict:
    """``state``, the same words for every kind, plus one sentence of the kind's own."""
    description = ["V(present) makes %s exist as described; V(absent) deletes it." % what]
    if consequence:
        description.append(consequence)
    description.append("V(absent) reports no change when there is nothing to delete.")
    return dict(type="str", choices=["present", "absent"], default="present", description=description)


def IFNAME(what: str) -> dict:
    """``name`` of a device (an interface name), in ``netns``."""
    return dict(type="str", required=True,
                description=["Name of %s, in O(netns). At most 15 characters." % what])


NETNS_DESCRIPTION = [
    "Name of the network namespace the object lives in, as C(ip netns list) shows it (a file under C(/run/netns)).",
    "Omit it for the namespace the module runs in (the host's own).",
    "The namespace must exist; the module never creates one by accident.",
]


def NETNS(what: str = "the object") -> dict:
    """``netns``: where the object lives. In a `topology` section, one of the lab's namespaces."""
    return dict(type="str", description=list(NETNS_DESCRIPTION),
                section_description=["Namespace of %s, one of O(namespaces); omit it for the host's own namespace."
                                     % what])


def ADDRESSES(where: str, examples: str = "C(10.1.1.2/24), C(fd00::1/64)") -> dict:
    """``addresses``: the exact set of a device's addresses."""
    return dict(type="list", elements="str", description=[
        "The exact set of addresses, in CIDR form (%s), on %s." % (examples, where),
        "Addresses not listed are removed, except the IPv6 link-local ones the kernel assigns itself.",
        "Omit it to leave the addresses alone; V([]) removes them all.",
    ])


def MTU(what: str, omitted: str = "Omit it to leave the MTU alone (the kernel default is 1500).",
        more: Iterable[str] = ()) -> dict:
    """``mtu``, with what omitting it means for this kind."""
    return dict(type="int", description=["MTU of %s. %s" % (what, omitted)] + list(more))


def UP(what: str, note: Optional[str] = None, plural: bool = False) -> dict:
    """``up``: administratively up (the default) or down."""
    line = "Whether %s %s administratively up." % (what, "are" if plural else "is")
    return dict(type="bool", default=True, description=[line + (" " + note if note else "")])


def MASTER(note: Optional[str] = None) -> dict:
    """``master``: the bridge a device is a port of. In a `topology` section, a bridge of the lab."""
    extra = " " + note if note else ""
    return dict(type="str", description=[
        "The bridge the device is a port of; it must exist in the same namespace (netvirt.linux.bridge)." + extra,
        "V('') detaches the device from its bridge. Omit it to leave the bridge membership alone.",
        "A bridge that lists its ports with netvirt.linux.bridge's O(netvirt.linux.bridge#module:ports) must"
        " list this device too, or that task detaches it again.",
    ], section_description=[
        "The bridge the device is a port of; a bridge of the lab in the same namespace that lists the device among"
        " its O(bridges[].ports) (or does not manage its ports)." + extra,
    ])


def RECREATE(difference: str, consequence: Optional[str] = None) -> dict:
    """``recreate``: whether a difference in what the kernel fixes at creation may delete the device."""
    return dict(type="bool", default=False, description=[
        "When %s from the existing device, delete the device and create it again as described (addresses,"
        " MTU, O(master) and up/down from the task are then applied to the new device).%s"
        % (difference, " " + consequence if consequence else ""),
        "V(false) makes such a difference an error that changes nothing.",
    ])


# ---------------------------------------------------------- return values ---
# A kind's RETURNS table documents what its module returns, in RETURN's own keys. ansible-core 2.16 reads RETURN
# from the module file itself (not from a doc fragment, nor, for a Python module, from a sidecar file), so
# scripts/gen_return.py writes each table into its module and tests/unit/test_docs.py fails when they differ.

def ACTIONS(*sample: str) -> dict:
    """``actions``, every module's list of changes."""
    return dict(description="The changes made, or that would be made in check mode, in order.", returned="always",
                type="list", elements="str", sample=list(sample))


def VIEW(what: str, contains: Dict[str, dict], absent: bool = True) -> dict:
    """The object after the task, the kind's view (before/after in diff mode)."""
    description = "The %s after the task (predicted in check mode)." % what
    if absent:
        description += " Only C(name), C(netns) and C(state) when absent."
    return dict(description=description, returned="always", type="dict", contains=contains)


def VALUE(type: str, description: str, sample, **more) -> dict:  # pylint: disable=redefined-builtin
    """One returned value: ``more`` are RETURN's other keys (``elements``, ``returned``)."""
    return dict(description=description, type=type, **more, sample=sample)


def STATE_VALUE() -> dict:
    return VALUE("str", "V(present) or V(absent).", "present")


def DEVICE_VALUES(the: str, name: str, netns: Optional[str] = None, mtu: int = 1500, addresses: Iterable[str] = (),
                  up: Optional[str] = None, where: Optional[str] = None, master: Any = False) -> Dict[str, dict]:
    """The values every device's view has (Device's fields), with their samples: ``the`` names the device ("the
    bridge"), ``up`` what is up when that is more ("both ends are"), ``where`` its namespace when that is more;
    ``master``, a PortDevice's, when it is not False (its sample: a bridge's name, or None)."""
    values = dict(
        name=VALUE("str", "Name of %s." % the, name),
        netns=VALUE("str", "Namespace of %s; null for the host's own." % (where or the), netns),
        state=STATE_VALUE(),
        mtu=VALUE("int", "MTU of %s." % the, mtu),
        up=VALUE("bool", "Whether %s administratively up." % (up or the + " is"), True),
        addresses=VALUE("list", "Addresses of %s, without kernel IPv6 link-local ones unless asked for." % the,
                        list(addresses), elements="str"),
    )
    if master is not False:
        values["master"] = VALUE("str", "The bridge the device is a port of; null when none.", master)
    return values


def DEVICE_RETURNS(kind: str, actions: List[str], values: Dict[str, dict], what: str = "device", **device) -> Dict[str, dict]:
    """RETURN of a device kind's module: ``actions``, and the view named ``kind``, with the values every device has
    (DEVICE_VALUES: ``device`` gives their samples, and ``the``, by default "the ``what``") and the kind's own."""
    the = device.pop("the", "the " + what)
    return {"actions": ACTIONS(*actions), kind: VIEW(what, dict(DEVICE_VALUES(the, **device), **values))}
