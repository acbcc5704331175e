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
  - The pings of all pairs run concurrently.
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
        type: raw
        required: true
      expect:
        description:
          - V(reachable) passes when at least one reply comes back; V(unreachable) passes when none does.
        type: str
        choices: [reachable, unreachable]
        default: reachable
  count:
    description: Echo requests per pair.
    type: int
    default: 3
  interval:
    description: Seconds between the echo requests of one pair.
    type: float
    default: 0.2
  timeout:
    description: Seconds to wait for each reply.
    type: float
    default: 1.0
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Probes run in check mode too; they change nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: linux
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
"""

RETURN = r"""
matrix:
  description: One entry per probed pair, in the order of the checks.
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
      description: What ping said when it could not send at all (for example C(Network is unreachable)).
      type: str
      sample: null
summary:
  description: Counts of probed, passed and failed pairs.
  returned: always
  type: dict
  sample: {"pairs": 2, "passed": 2, "failed": 0}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError
from ansible_collections.netvirt.linux.plugins.module_utils._reachability import (
    expand,
    failures_message,
    probe,
)
from ansible_collections.netvirt.linux.plugins.module_utils._module import netvirt_module

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
    if params["count"] < 1 or params["interval"] <= 0 or params["timeout"] <= 0:
        module.fail_json(msg="count must be at least 1, interval and timeout greater than 0")
    try:
        pairs = expand(params["checks"])
        results = probe(pairs, count=params["count"], interval=params["interval"], timeout=params["timeout"])
    except NetvirtError as exc:
        module.fail_json(msg=exc.msg, **exc.details)

    matrix = [r.as_dict() for r in results]
    failed = sum(1 for r in results if not r.ok)
    summary = {"pairs": len(results), "passed": len(results) - failed, "failed": failed}
    if failed:
        module.fail_json(msg=failures_message(results), matrix=matrix, summary=summary, changed=False)
    module.exit_json(changed=False, matrix=matrix, summary=summary)


if __name__ == "__main__":
    main()
