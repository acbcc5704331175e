# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netvirt.linux.lab: a lab file (nodes and links) built on every host of the play.

Runs on the controller for each host: compiles the lab for the play's hosts
(module_utils/_labfile.py, pure), then hands this host's share to the
``netvirt.linux.topology`` module on the host. The documentation is
plugins/modules/lab.py.
"""

from __future__ import annotations

import copy
from collections import OrderedDict

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.netvirt.linux.plugins.module_utils._labfile import LabFileError, compile_lab

ARGUMENT_SPEC = dict(
    src=dict(type="path"),
    lab=dict(type="dict"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    prune=dict(type="bool", default=True),
    iptables_backend=dict(type="str", choices=["auto", "legacy", "nft"]),
    lock_timeout=dict(type="int"),
)
MUTUALLY_EXCLUSIVE = [("src", "lab")]
REQUIRED_ONE_OF = [("src", "lab")]
# Passed to netvirt.linux.topology only when given: it keeps its own defaults.
PASSED_THROUGH = ("iptables_backend", "lock_timeout")
TOPOLOGY = "netvirt.linux.topology"


def underlay_addresses(task_vars: dict) -> "OrderedDict[str, object]":
    """The play's hosts in play order -> each one's underlay address (netvirt_underlay_address, else
    ansible_host, else None)."""
    hostvars = task_vars.get("hostvars") or {}
    hosts: "OrderedDict[str, object]" = OrderedDict()
    for host in task_vars.get("ansible_play_hosts_all") or [task_vars["inventory_hostname"]]:
        variables = hostvars.get(host) or {}
        address = variables.get("netvirt_underlay_address") or variables.get("ansible_host")
        hosts[to_text(host)] = to_text(address) if address else None
    return hosts


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused: the topology module runs in its own temporary directory
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE, required_one_of=REQUIRED_ONE_OF)

        lab = self._load(args) if args["src"] is not None else copy.deepcopy(args["lab"])
        host = to_text(task_vars.get("inventory_hostname"))
        try:
            # Each host's run checks its own share as topology will (the others are checked on their hosts').
            compiled = compile_lab(lab, hosts=underlay_addresses(task_vars), validate=host)
        except LabFileError as exc:
            where = args["src"] if args["src"] is not None else "lab"
            raise AnsibleActionFail("%s: %s" % (where, exc.msg), result={"problems": exc.problems}) from None
        share = compiled.shares.get(host)
        if share is None:
            # compile_lab promises a share for every host of the play; this is not a user's mistake.
            raise AnsibleActionFail("the lab compiler gave no share for host %s (hosts: %s)"
                                    % (host, ", ".join(compiled.shares)))

        if args["state"] == "absent":
            module_args = {"name": compiled.name, "state": "absent"}
        else:
            module_args = {"definition": share, "state": "present", "prune": args["prune"]}
        module_args.update({key: args[key] for key in PASSED_THROUGH if args[key] is not None})
        outcome = self._execute_module(module_name=TOPOLOGY, module_args=module_args, task_vars=task_vars)
        result.update(outcome)

        summary = compiled.summary()
        if outcome.get("summary_text"):
            summary = "%s; %s: %s" % (summary, host, outcome["summary_text"])
        result.update(
            lab=compiled.name,
            placement=dict(compiled.placement),
            addresses=compiled.addresses,
            checks=compiled.checks_for(host),
            topology=share,
            summary_text=summary,
        )
        return result

    def _load(self, args: dict):
        """The lab file as a mapping, found as ``template`` finds its src (the role's files/, the play's
        directory, ...); read as YAML, not templated."""
        try:
            source = self._find_needle("files", args["src"])
        except AnsibleError as exc:
            raise AnsibleActionFail(to_text(exc)) from None
        try:
            data = self._loader.load_from_file(source)
        except AnsibleError as exc:
            raise AnsibleActionFail("lab file %s: %s" % (source, to_text(exc))) from None
        if not isinstance(data, dict):
            raise AnsibleActionFail("lab file %s: expected a mapping (name, nodes, links, ...), got %s"
                                    % (source, "nothing" if data is None else type(data).__name__))
        # The loader caches what it read; the compiler gets its own copy.
        return copy.deepcopy(data)
