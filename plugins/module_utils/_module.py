# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wrapper every netvirt.linux module is built with.

It merges the common options, checks that pyroute2 imports and that the
process may change network state, and runs the engine. It never exits the
module: modules call exit_json/fail_json from main() only.
"""

from __future__ import annotations

from typing import Sequence

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netvirt.linux.plugins.module_utils._errors import (
    MissingLibraryError,
    PrivilegeError,
)
from ansible_collections.netvirt.linux.plugins.module_utils import _netlink
from ansible_collections.netvirt.linux.plugins.module_utils._engine import Outcome, reconcile

PREPARE_HINT = (
    " On a lab host, install the libraries from the collection's requirements.txt "
    "(pip install pyroute2) into the Python that runs the modules, or point "
    "ansible_python_interpreter at one that has them."
)

NETNS_ARGUMENT_SPEC = dict(netns=dict(type="str"))


def netvirt_module(argument_spec: dict, netns_option: bool = True, **kwargs) -> AnsibleModule:
    """Build the AnsibleModule with the common options merged in."""
    spec = dict(argument_spec)
    if netns_option:
        spec.update(NETNS_ARGUMENT_SPEC)
    return AnsibleModule(argument_spec=spec, **kwargs)


def preflight() -> None:
    """Fail early, before reading anything, when the module cannot work here."""
    if not _netlink.HAS_PYROUTE2:
        raise MissingLibraryError(
            missing_required_lib("pyroute2") + PREPARE_HINT, exception=_netlink.PYROUTE2_IMPORT_ERROR)
    problem = _netlink.capability_problem()
    if problem:
        raise PrivilegeError(problem)


def run(module: AnsibleModule, desired: Sequence) -> Outcome:
    """Reconcile ``desired`` honouring the module's check mode."""
    preflight()
    with _netlink.Kernel() as kernel:
        return reconcile(kernel, desired, check_mode=module.check_mode)


def base_result(module: AnsibleModule, outcome: Outcome) -> dict:
    """changed, actions and (in diff mode) diff, the same in check mode and for real."""
    result = dict(changed=outcome.changed, actions=outcome.actions())
    if module._diff:
        diffs = outcome.diffs()
        result["diff"] = diffs[0] if len(diffs) == 1 else diffs
    return result
