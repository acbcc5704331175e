# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wrapper every netvirt.linux module is built with.

It merges the common options, checks that pyroute2 imports and that the
process may change network state, and runs the engine. It never exits the
module: modules call exit_json/fail_json from main() only.
"""

from __future__ import annotations

import contextlib
import os
from typing import Optional, Sequence

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netvirt.linux.plugins.module_utils._errors import MissingLibraryError, PrivilegeError
from ansible_collections.netvirt.linux.plugins.module_utils._options import NETNS, argument_spec, non_string_names

PREPARE_HINT = (
    " Prepare the lab host with the netvirt.linux.lab_host role first: it installs the libraries of "
    "the collection's requirements.txt into a virtual environment (/opt/netvirt/venv by default, "
    "from a wheelhouse for hosts without internet access) and sets ansible_python_interpreter to it "
    "for the plays that follow. Or install them (pip install pyroute2) into the Python that runs the "
    "modules, or point ansible_python_interpreter at one that has them."
)

NETNS_ARGUMENT_SPEC = argument_spec(dict(netns=NETNS()))


def netvirt_module(argument_spec: dict, netns_option: bool = True, **kwargs) -> AnsibleModule:
    """Build the AnsibleModule with the common options merged in; names that are not strings are refused."""
    spec = dict(argument_spec)
    if netns_option:
        spec.update(NETNS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    _refuse_non_string_names(module, spec)
    return module


def _refuse_non_string_names(module: AnsibleModule, spec: dict) -> None:
    """Ansible has converted every str option (a list to its text); names are checked on the task's own values.

    Part of argument validation, as Ansible's own type errors are: it fails the module before anything is read.
    """
    from ansible.module_utils.basic import _load_params

    problems = non_string_names(spec, _load_params())
    if problems:
        module.fail_json(msg="; ".join(problems) + " (nothing was changed)")


def capability_problem() -> Optional[str]:
    """Why this process cannot change network state, or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    caps = int(line.split()[1], 16)
                    break
            else:
                return None
    except OSError:
        return None
    missing = [name for bit, name in ((12, "CAP_NET_ADMIN"), (21, "CAP_SYS_ADMIN")) if not caps >> bit & 1]
    if not missing:
        return None
    return ("this module changes kernel network state and needs %s, which this process (uid %d) lacks; "
            "run the task as root (become: true)" % (" and ".join(missing), os.geteuid()))


def preflight() -> None:
    """Fail early, before reading anything, when the module cannot work here."""
    # Imported here so that modules without netlink work (iptables_chain,
    # reachability) never load pyroute2.
    from ansible_collections.netvirt.linux.plugins.module_utils import _netlink

    if not _netlink.HAS_PYROUTE2:
        raise MissingLibraryError(
            missing_required_lib("pyroute2") + PREPARE_HINT, exception=_netlink.PYROUTE2_IMPORT_ERROR)
    problem = capability_problem()
    if problem:
        raise PrivilegeError(problem)


def run(module: AnsibleModule, desired: Sequence, owner: Optional[str] = None, prune: bool = False,
        read_back: bool = True, chains=None):
    """Reconcile ``desired`` honouring the module's check mode; returns the engine's Outcome.

    ``owner`` and ``prune`` are a topology lab's marker and pruning switch.
    ``chains`` (a lab's _kind_iptables_chain.LabChains) go to the netfilter
    engine in the same hold of the lab's lock: proven before anything
    changes, written once the netlink objects (their namespaces) are there.
    """
    from ansible_collections.netvirt.linux.plugins.module_utils import _netlink, _ownership, _sysctl
    from ansible_collections.netvirt.linux.plugins.module_utils._engine import reconcile, undo_run
    from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError

    preflight()
    # Bad sysctl keys and values are refused before anything is created for them.
    _sysctl.preflight(desired, _ownership.interfaces_made(desired), existing=set(_netlink.list_namespaces()))
    with _lab_journal(owner, module.check_mode) as journal, _netlink.Kernel() as kernel:
        if chains is not None:
            chains.prove(journal)
        outcome = reconcile(kernel, desired, check_mode=module.check_mode, owner=owner, prune=prune,
                            read_back=read_back, journal=journal)
        if chains is not None and not module.check_mode:
            try:
                chains.apply(journal)
            except NetvirtError as exc:
                # The netlink part of the lab was reconciled in this run: what it changed is put back. Tables
                # written before the failure go with the namespaces this run made; those in others stay, named.
                gone = {netns for action in outcome.applied for netns, name in action.creates() if name == "lo"}
                written = ["iptables %s (written before the failure)" % text
                           for netns, text in exc.details.pop("written", ()) if netns not in gone]
                undo_run(kernel, outcome, exc, journal, kept_too=written)
                raise
        if journal is not None:
            outcome.plan.warnings.extend(w for w in journal.warnings if w not in outcome.plan.warnings)
        return outcome


@contextlib.contextmanager
def _lab_journal(owner: Optional[str], check_mode: bool):
    """A lab's record, held under its lock; in check mode read without the lock (nothing is written).
    Either way its directory is checked first (_labstate.LabState.check): before anything changes."""
    from ansible_collections.netvirt.linux.plugins.module_utils._labstate import LabState

    if owner is None:
        yield None
    elif check_mode:
        journal = LabState(owner)
        journal.check()
        try:
            yield journal
        finally:
            journal.close()
    else:
        with LabState(owner) as journal:
            yield journal


def run_module(kind_name: str, result_key: str, extra=None, **module_kwargs) -> None:
    """The whole main() of a single-object module: options from its kind, reconcile, exit.

    ``extra(result, desired, outcome)`` adds what the module returns beyond the object's view.
    """
    from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
    from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError

    kind = _kinds.get(kind_name)
    if kind.section_required:
        module_kwargs.setdefault("required_if", [("state", "present", kind.section_required)])
    module = netvirt_module(argument_spec(kind.options), netns_option=False, supports_check_mode=True,
                            **module_kwargs)
    try:
        desired = kind.build(dict(module.params))
        outcome = run(module, [desired] + (kind.expand(desired) if kind.expand is not None else []))
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg.lstrip("."), **exc.details)
    result = base_result(module, outcome)
    result[result_key] = outcome.plan.objects[0].after
    if extra is not None:
        extra(result, desired, outcome)
    module.exit_json(**result)


def base_result(module: AnsibleModule, outcome) -> dict:
    """changed, actions and (in diff mode) diff - one per object, named -, the same in check mode and for real."""
    result = dict(changed=outcome.changed, actions=outcome.actions())
    plan = getattr(outcome, "plan", None)
    for warning in getattr(plan, "warnings", ()):
        module.warn(warning)
    if module._diff:
        # One diff per object, its headers naming it (`veth eth0 in h1`): Ansible shows each on its own.
        from ansible_collections.netvirt.linux.plugins.module_utils._report import diffs as named_diffs

        diffs = named_diffs(outcome)
        result["diff"] = diffs[0] if len(diffs) == 1 else diffs
    return result
