#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iptables_chain
short_description: Make an iptables chain hold exactly the given rules, in any network namespace
version_added: 0.1.0
description:
  - Declares one chain of one netfilter table (built-in such as C(INPUT), or user-defined) in the host or in a
    named network namespace; the chain ends up holding exactly O(rules), in order, and nothing else.
  - Rules are written the way iptables users write them, without C(-A CHAIN), for example
    C(-s 10.0.1.0/24 -p tcp --dport 22 -m comment --comment ssh -j ACCEPT).
  - Rules are compared in the form C(iptables-save) prints, which the module obtains by loading them into a
    private, empty network namespace first. So C(-p tcp --dport 22) and C(-p tcp -m tcp --dport 22) are the
    same rule, C(10.0.1.7) equals C(10.0.1.7/32), and a rule whose comment changed is replaced rather than added
    a second time. Loading them there also validates them before the real table is touched.
  - All changes to one table (of one IP version) are one atomic commit. An invalid rule, a jump to a chain that
    does not exist, or the deletion of a chain other rules still jump to is reported as an error and leaves the
    table exactly as it was.
  - From reading the tables to writing them the module holds the xtables lock (C(/run/xtables.lock), or
    C($XTABLES_LOCKFILE)), waiting for it as C(iptables -w) does, so concurrent runs updating different chains
    of one table, and other iptables users that take the lock, never undo each other's changes. It waits at most
    O(lock_timeout) seconds, then fails naming the lock and the process holding it.
  - "Two backends: C(nft) writes the nf_tables tables through C(iptables-nft-restore); C(legacy) writes the
    x_tables tables with python-iptables (libiptc). By default the module writes where the host's own
    C(iptables -S) shows rules, that is the variant the C(iptables) command belongs to."
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.iptables_chain
requirements:
  - the iptables command line tools on the managed host (C(iptables-nft-save)/C(-restore) for the V(nft)
    backend, C(iptables-legacy-save)/C(-restore) for V(legacy))
  - python-iptables on the managed host to write legacy tables through libiptc (optional)
notes:
  - Replacing a chain's rules resets their packet and byte counters.
  - Rules that refer to other per-namespace objects which a fresh namespace lacks (for example C(-m set)
    with an ipset) cannot be validated in the throwaway namespace and are reported as invalid.
  - With O(ip_version=both), the IPv4 and IPv6 tables are two commits; both are validated before either is
    written.
seealso:
  - module: netvirt.linux.netns
  - module: ansible.builtin.iptables
"""

EXAMPLES = r"""
- name: Namespace c accepts ping from 10.0.2.0/24 and drops it from 10.0.1.0/24
  netvirt.linux.iptables_chain:
    netns: c
    chain: INPUT
    rules:
      - -s 10.0.1.0/24 -p icmp -j DROP
      - -s 10.0.2.0/24 -p icmp -j ACCEPT

- name: A user chain for ssh, with a comment per rule
  netvirt.linux.iptables_chain:
    chain: SSH_IN
    rules:
      - -s 10.0.1.0/24 -p tcp --dport 22 -m comment --comment "lab admins" -j ACCEPT
      - -p tcp --dport 22 -j DROP

- name: Send INPUT through it, drop everything else by policy
  netvirt.linux.iptables_chain:
    chain: INPUT
    policy: DROP
    rules:
      - -i lo -j ACCEPT
      - -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
      - -j SSH_IN

- name: Masquerade a lab subnet leaving the router namespace, IPv4 only
  netvirt.linux.iptables_chain:
    netns: router
    table: nat
    chain: POSTROUTING
    rules:
      - -s 10.0.1.0/24 -o upstream0 -j MASQUERADE

- name: Same filter for IPv4 and IPv6
  netvirt.linux.iptables_chain:
    chain: INPUT
    ip_version: both
    rules:
      - -p tcp --dport 80 -j ACCEPT

- name: Remove the user chain (after removing the rules that jump to it)
  netvirt.linux.iptables_chain:
    chain: SSH_IN
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: [create chain SSH_IN in table filter (ipv4) in the host namespace,
   replace the rules of chain SSH_IN in table filter (ipv4) in the host namespace (0 -> 2)]}
backend: {description: 'The backend used, V(nft) or V(legacy).', returned: always, type: str, sample: nft}
chain: {description: The chain after the task (predicted in check mode)., returned: always, type: dict, contains: {
    chain: {description: The chain., type: str, sample: SSH_IN},
    ipv4: {description: 'The chain in the IPv4 table, when O(ip_version) includes it.', type: dict, returned: when O(ip_version) is V(ipv4) or V(both),
       contains: {
        policy: {description: Policy of a built-in chain; null for user-defined chains., type: str, sample: null},
        rules: {description: 'The rules, as C(iptables-save) prints them after C(-A CHAIN).', type: list, elements: str,
           sample: [-s 10.0.1.0/24 -p tcp -m tcp --dport 22 -m comment --comment "lab admins" -j ACCEPT]},
        state: {description: V(present) or V(absent)., type: str, sample: present}}},
    ipv6: {description: 'The chain in the IPv6 table, likewise.', type: dict, returned: when O(ip_version) is V(ipv6) or V(both)},
    netns: {description: The namespace; null for the host's own., type: str, sample: null},
    table: {description: The table., type: str, sample: filter}}}
engine: {description: ['What wrote (or, in check mode, would write) the tables, C(iptables-nft-restore), C(python-iptables) or C(iptables-legacy-restore).',
   Null when nothing needed changing.], returned: always, type: str, sample: iptables-nft-restore}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError, PrivilegeError
from ansible_collections.netvirt.linux.plugins.module_utils._iptables import reconcile
from ansible_collections.netvirt.linux.plugins.module_utils._iptables_rules import IptablesChain
from ansible_collections.netvirt.linux.plugins.module_utils._kind_iptables_chain import OPTIONS, lock_timeout
from ansible_collections.netvirt.linux.plugins.module_utils._module import base_result, capability_problem, netvirt_module
from ansible_collections.netvirt.linux.plugins.module_utils._options import argument_spec

# The kind's option table (netns included), shared with topology's iptables_chains section.
ARGUMENT_SPEC = argument_spec(OPTIONS)


def main():
    module = netvirt_module(ARGUMENT_SPEC, netns_option=False, supports_check_mode=True)
    params = module.params
    try:
        desired = IptablesChain(
            table=params["table"],
            chain=params["chain"],
            netns=params["netns"],
            state=params["state"],
            policy=params["policy"],
            rules=params["rules"],
            ip_version=params["ip_version"],
        )
        problem = capability_problem()
        if problem:
            raise PrivilegeError(problem)
        outcome = reconcile([desired], params["backend"], check_mode=module.check_mode,
                            lock_timeout=lock_timeout(params["lock_timeout"]))
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    for warning in outcome.warnings:
        module.warn(warning)
    result = base_result(module, outcome)
    result["backend"] = outcome.backend
    result["engine"] = outcome.engine
    chain = outcome.chains[0]
    result["chain"] = dict(table=desired.table, chain=desired.chain, netns=desired.netns, **chain.views)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
