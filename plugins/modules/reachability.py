#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reachability
short_description: Prove a lab works - ping from namespaces to addresses, with an expectation per pair
version_added: 0.1.0
description:
  - Pings from each source (a network namespace, or the host) to each target address and compares the outcome
    with what is expected, V(reachable) or V(unreachable), so that a firewall lab can prove a drop as well as
    a path.
  - Returns the whole matrix (sent, received, loss, round-trip times per pair) and fails naming every pair
    that broke its expectation.
  - Changes nothing, so it runs the same in check mode and always reports C(changed=false).
  - Before pinging an IPv6 address, waits (up to 5 seconds) until no IPv6 address of the host or of any named
    namespace is tentative - duplicate address detection keeps a new address unusable for a second or two, so a
    lab built by the task before would otherwise fail its first check.
  - The pings of all pairs run concurrently.
  - A probe that did not run is an error, never an outcome - whatever the pair expects, the task fails naming it.
    That covers ping failing to start or refusing its arguments, a source namespace that is missing or cannot
    be entered (a stale entry in C(/run/netns)), a ping exit status other than 0 (replies) or 1 (no reply),
    and output without ping's summary. So an V(unreachable) pair never passes because nothing was sent.
  - The one exception is the kernel's routing verdict - the source has no route to the target (ping's
    C(Network is unreachable) or C(No route to host) at connect, for example through an C(unreachable)
    route). That is an outcome, unreachable, with C(no_route=true) - it is how two isolated labs prove that
    neither reaches the other.
  - In check mode, when source namespaces do not exist yet (an earlier task of the play would create them),
    the task is skipped with a message naming them; outside check mode a missing source is an error.
author:
  - netvirt.linux developers (@netvirt)
options:
  checks:
    description:
      - The pairs to probe. Every source of a check is probed against every target of that check.
    type: list
    elements: dict
    required: true
    suboptions:
      from:
        description:
          - Source namespace, or a list of them. Omit it (or use V(null)) for the host itself.
        type: raw
      to:
        description:
          - Target address or list of addresses. An interface address in CIDR form (C(10.0.1.1/24)) is taken
            as its address, so a lab's own address lists can be passed as they are.
          - An IPv6 address may carry its zone, the interface to reach it through (C(fe80::1%eth0)); it is kept.
          - The unspecified address (C(0.0.0.0), C(::)) and C(255.255.255.255) are refused.
        type: raw
        required: true
      expect:
        description:
          - V(reachable) passes when at least one reply comes back; V(unreachable) passes when none does.
        type: str
        choices: [reachable, unreachable]
        default: reachable
  count:
    description:
      - Echo requests per pair, from 1 to 100.
    type: int
    default: 3
  interval:
    description:
      - Seconds between the echo requests of one pair, from 0.01 to 10.
    type: float
    default: 0.2
  timeout:
    description:
      - Seconds to wait for each reply, from 0.1 to 60.
      - Values out of these ranges (and NaN or infinity) are refused before any probe runs. Each ping is
        also given a deadline of O(count) * O(interval) + O(timeout) + 1 seconds.
    type: float
    default: 1.0
extends_documentation_fragment:
  - netvirt.linux._attributes.read_only
requirements:
  - iputils ping and iproute2 on the managed host
notes:
  - Pinging from inside a namespace needs root; run the task with privilege escalation (C(become)) or as root.
seealso:
  - module: netvirt.linux.veth
"""

EXAMPLES = r"""
- name: Seed 002 - both namespaces reach each other across the bridge
  netvirt.linux.reachability:
    checks:
      - from: net0
        to: 10.0.1.2
      - from: net1
        to: 10.0.1.1

- name: A firewall lab - the filter drops one client and lets the other through
  netvirt.linux.reachability:
    checks:
      - from: [trusted, guest]
        to: [10.0.1.1]
      - from: blocked
        to: 10.0.1.1
        expect: unreachable
  register: lab_matrix

- name: Show it as a table, a row per source and a column per target
  ansible.builtin.debug:
    msg: "{{ lab_matrix.matrix_text.split('\\n') }}"
"""

RETURN = r"""
matrix:
  description: One entry per probed pair, in the order of the checks; empty when the task is skipped.
  returned: always
  type: list
  elements: dict
  contains:
    from:
      description: Source namespace; null for the host.
      type: str
      sample: net0
    to:
      description: Target address.
      type: str
      sample: 10.0.1.2
    expect:
      description: What was expected.
      type: str
      sample: reachable
    sent:
      description: Echo requests sent.
      type: int
      sample: 3
    received:
      description: Replies received.
      type: int
      sample: 3
    loss:
      description: Packet loss in percent.
      type: float
      sample: 0.0
    rtt_min_ms:
      description: Smallest round-trip time, when there was a reply.
      type: float
      sample: 0.031
    rtt_avg_ms:
      description: Average round-trip time, when there was a reply.
      type: float
      sample: 0.045
    rtt_max_ms:
      description: Largest round-trip time, when there was a reply.
      type: float
      sample: 0.061
    reachable:
      description: Whether at least one reply came back.
      type: bool
      sample: true
    ok:
      description: Whether the outcome met the expectation.
      type: bool
      sample: true
    error:
      description:
        - Why the probe did not run (ping could not start, refused its arguments, exited with a status other
          than 0 or 1, or printed no summary); null when it ran. A pair with an error is never V(ok).
      type: str
      sample: "ping did not probe (exit status 255): setting the network namespace \"ghost\" failed: Invalid argument"
    no_route:
      description: Whether the source had no route to the target, so nothing was sent; the pair is unreachable.
      type: bool
      sample: false
matrix_text:
  description:
    - The same results as a text table for people, lines separated by newlines - a row per source (C(host) for
      the host), a column per target, and a legend line. A cell is C(ok) when a reply came back and C(--) when
      none did; C(!) marks an outcome against the expectation, C(ERR!) a probe that did not run, C(.) a pair no
      check names.
    - 'Print it with M(ansible.builtin.debug), one line per list item: C(msg: "{{ result.matrix_text.split(''\n'') }}").'
    - Empty when the task is skipped.
  returned: always
  type: str
  sample: "from \\ to  10.0.1.1  10.0.1.2\nnet0       .         ok\nnet1       ok        .\nok reachable, -- unreachable,
    ! not as expected, ERR the probe did not run, . not probed"
summary:
  description: Counts of probed, passed and failed pairs. When the task is skipped, C(pairs) counts the pairs
    that were not probed.
  returned: always
  type: dict
  sample: {"pairs": 2, "passed": 2, "failed": 0}
missing_sources:
  description: The source namespaces that do not exist yet, when check mode skipped the task for them.
  returned: when skipped
  type: list
  elements: str
  sample: [net0, net1]
"""

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError
from ansible_collections.netvirt.linux.plugins.module_utils._module import netvirt_module
from ansible_collections.netvirt.linux.plugins.module_utils._reachability import (
    expand,
    failures_message,
    matrix_text,
    missing_in_check_mode,
    probe,
    validate_timing,
)

ARGUMENT_SPEC = dict(
    checks=dict(type="list", elements="dict", required=True, options={
        "from": dict(type="raw"),
        "to": dict(type="raw", required=True),
        "expect": dict(type="str", choices=["reachable", "unreachable"], default="reachable"),
    }),
    count=dict(type="int", default=3),
    interval=dict(type="float", default=0.2),
    timeout=dict(type="float", default=1.0),
)


def main():
    module = netvirt_module(ARGUMENT_SPEC, netns_option=False, supports_check_mode=True)
    params = module.params
    missing = []
    try:
        validate_timing(params["count"], params["interval"], params["timeout"])
        pairs = expand(params["checks"])
        if module.check_mode:
            missing = missing_in_check_mode(pairs)
        if not missing:
            results = probe(pairs, count=params["count"], interval=params["interval"], timeout=params["timeout"])
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    if missing:
        module.exit_json(
            changed=False, skipped=True, matrix=[], matrix_text="", missing_sources=missing,
            summary={"pairs": len(pairs), "passed": 0, "failed": 0},
            msg="check mode: not probed, source namespace(s) %s do not exist yet (an earlier task would create "
                "them)" % ", ".join("'%s'" % name for name in missing))
    matrix = [r.as_dict() for r in results]
    failed = sum(1 for r in results if not r.ok)
    summary = {"pairs": len(results), "passed": len(results) - failed, "failed": failed}
    text = matrix_text(results)
    if failed:
        module.fail_json(msg=failures_message(results), matrix=matrix, matrix_text=text, summary=summary,
                         changed=False)
    module.exit_json(changed=False, matrix=matrix, matrix_text=text, summary=summary)


if __name__ == "__main__":
    main()
