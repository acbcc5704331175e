# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options declared once: each kind's option table carries both the argument
spec and the documentation of every option; this file turns a table into
either.

An entry is an Ansible argument spec entry plus documentation keys
(``description``, ``version_added``) and ``suboptions`` for nested options.
Modules get ``argument_spec(table)``; the doc fragment
(plugins/doc_fragments/kinds.py) gets ``documentation(table)``.
"""

from __future__ import annotations

import copy
from typing import Dict, Iterable

DOC_ONLY = ("description", "version_added")
SPEC_KEYS = ("type", "required", "default", "choices", "elements", "aliases", "no_log", "options")


def argument_spec(table: Dict[str, dict]) -> Dict[str, dict]:
    """The argument spec of an option table: documentation keys dropped, ``suboptions`` as ``options``."""
    spec = {}
    for name, entry in table.items():
        spec[name] = {key: value for key, value in entry.items() if key not in DOC_ONLY and key != "suboptions"}
        if "suboptions" in entry:
            spec[name]["options"] = argument_spec(entry["suboptions"])
    return spec


def documentation(table: Dict[str, dict]) -> Dict[str, dict]:
    """The ``options`` of a DOCUMENTATION block for an option table."""
    docs = {}
    for name, entry in table.items():
        doc = {key: copy.deepcopy(value) for key, value in entry.items()
               if key in DOC_ONLY or key in ("type", "required", "default", "choices", "elements")}
        if "suboptions" in entry:
            doc["suboptions"] = documentation(entry["suboptions"])
        docs[name] = doc
    return docs


def pick(table: Dict[str, dict], skip: Iterable[str] = (), required: Iterable[str] = ()) -> Dict[str, dict]:
    """A copy of ``table`` without ``skip``, with ``required`` made required."""
    picked = {name: dict(entry) for name, entry in table.items() if name not in set(skip)}
    for name in required:
        picked[name]["required"] = True
    return picked
