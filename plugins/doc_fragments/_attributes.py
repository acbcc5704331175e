# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module declares: netvirt.linux._attributes for a
module that changes the host, netvirt.linux._attributes.read_only for one
that only looks (nothing to predict in check mode, nothing to diff)."""

from __future__ import annotations

import copy
import json

ATTRIBUTES = dict(
    check_mode=dict(
        description="Can run in check_mode and return changed status prediction without modifying target.",
        support="full"),
    diff_mode=dict(
        description="Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.",
        support="full"),
    idempotent=dict(
        description="When run twice in a row outside check mode, with the same arguments, the second invocation indicates"
                    " no change.",
        support="full"),
    platform=dict(description="Target OS/families that can be operated against.", support="full", platforms="linux"),
)


def attributes(**changes: dict) -> str:
    """A fragment with ATTRIBUTES, some of them changed."""
    declared = copy.deepcopy(ATTRIBUTES)
    for name, change in changes.items():
        declared[name].update(change)
    return json.dumps(dict(options={}, attributes=declared))


class ModuleDocFragment:
    DOCUMENTATION = attributes()
    READ_ONLY = attributes(
        check_mode=dict(details="The module changes nothing, so it runs the same in check mode."),
        diff_mode=dict(support="none"),
    )
