# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of each topology section, generated from the registry.

A section takes the options of its kind's single-object module with the same
types, choices and defaults, minus what belongs to the whole topology
(``state``) or what it does not offer (``recreate``): ``Kind.section_skip``.
Declared as suboptions, Ansible converts and checks each entry exactly as it
does a single module's options (``mtu: "9000"`` from ``-e`` becomes 9000).
"""

from __future__ import annotations

from typing import Dict

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._kind_iptables_chain import OPTIONS as _CHAIN_OPTIONS
from ansible_collections.netvirt.linux.plugins.module_utils._options import STATE, argument_spec, pick

# The topology module's own options, beside its sections.
LAB_OPTIONS: Dict[str, dict] = dict(
    name=dict(type="str", description=[
        "Name of the lab; the ownership marker is C(netvirt:lab=NAME). 1 to 64 characters, no white space.",
        "Required, as an option or as a key of O(definition).",
    ]),
    definition=dict(type="dict", version_added="0.2.0", description=[
        "The whole lab as one mapping whose keys are this module's own options (O(name), O(state), O(prune),"
        " O(iptables_backend) and the sections O(namespaces), O(veths), ...), as C(kubernetes.core.k8s) takes"
        " a resource: C(definition: \"{{ info.topology }}\") adopts what M(netvirt.linux.lab_info) read, with"
        " no templated task arguments.",
        "Checked and converted against this module's own argument specification, so a mistake is named by its"
        " key (C(definition: veths.0.mtu ...)); an unknown key is an error.",
        "The sections are given either here or as options, never both (mutually exclusive).",
        "O(name), O(state), O(prune) and O(iptables_backend) may also be given as options beside it, so"
        " O(name) can name an adopted description that has none; given in both places they must agree,"
        " except that an option left at its default yields to the definition.",
    ]),
    state=STATE("the lab", "V(absent) removes every object marked as the lab's, whatever the description says"
                " (it may be omitted)."),
    prune=dict(type="bool", default=True, description=[
        "With O(state=present), remove the lab's objects (by marker) that the description no longer names.",
    ]),
    iptables_backend=dict(_CHAIN_OPTIONS["backend"], description=[
        "The iptables variant that writes O(iptables_chains), one for the whole lab (a chain's jumps reach only "
        "chains of its own variant), chosen as M(netvirt.linux.iptables_chain)'s "
        "O(netvirt.linux.iptables_chain#module:backend) is: V(auto) follows the host's C(iptables) command, "
        "V(nft) and V(legacy) name a variant.",
    ]),
    lock_timeout=dict(_CHAIN_OPTIONS["lock_timeout"], description=[
        "Seconds the lab's O(iptables_chains) wait for the xtables lock (C(/run/xtables.lock), or "
        "C($XTABLES_LOCKFILE)) while another process holds it, as M(netvirt.linux.iptables_chain)'s "
        "O(netvirt.linux.iptables_chain#module:lock_timeout) does. When it is still held after that, the task "
        "fails naming the lock file and, where C(/proc) shows it, the holding process; the chains are proven "
        "before the lab's devices change, so a lock held from the start fails the task with nothing changed.",
        "V(0) fails at once when the lock is held. A lab without O(iptables_chains) never takes the lock.",
    ]),
)


def section_table(kind) -> Dict[str, dict]:
    """The option table (with documentation) of one section's entries."""
    return pick(kind.options, skip=kind.section_skip, required=kind.section_required)


# Section name -> the options of one entry (argument spec), in the registry's order.
SECTION_OPTIONS: Dict[str, Dict[str, dict]] = {}


@_kinds.derived
def _section_options() -> None:
    SECTION_OPTIONS.clear()
    SECTION_OPTIONS.update((kind.section, argument_spec(section_table(kind))) for kind in _kinds.KINDS)


def section_argument_spec() -> dict:
    """The topology module's section options: lists of entries with suboptions."""
    return {section: dict(type="list", elements="dict", default=[], options=options)
            for section, options in SECTION_OPTIONS.items()}
