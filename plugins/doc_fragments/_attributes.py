# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module declares: netvirt.linux._attributes for a
module that changes the host, netvirt.linux._attributes.read_only for one
that only looks (nothing to predict in check mode, nothing to diff)."""

from __future__ import annotations

import json

import yaml


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - One diff per object, its headers naming the object by kind, name and namespace, for example
        C(veth eth0 in h1), C(bridge br0 (host)) or C(netns h1).
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: linux
"""


def changed(**changes: dict) -> str:
    """DOCUMENTATION with some of its attributes changed (computed outside the class: the yamllint sanity test
    reads every assignment in it as a YAML string)."""
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    for name, change in changes.items():
        fragment["attributes"][name].update(change)
    return json.dumps(fragment)


ModuleDocFragment.READ_ONLY = changed(
    check_mode=dict(details="The module changes nothing, so it runs the same in check mode."),
    diff_mode=dict(support="none"),
)


def added(**attributes: dict) -> str:
    """DOCUMENTATION with more attributes."""
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    fragment["attributes"].update(attributes)
    return json.dumps(fragment)


# netvirt.linux._attributes.action_plugin: a module that is an action plugin (it runs on the controller first).
ModuleDocFragment.ACTION_PLUGIN = added(
    action=dict(description="Indicates this has a corresponding action plugin so some parts of the options can be "
                            "executed on the controller.", support="full"),
)
