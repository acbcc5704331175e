#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: shaping
short_description: Make an interface's link slow or imperfect (rate, delay, jitter, loss) with its root qdisc
version_added: 0.2.0
description:
  - Sets what an interface sends (its egress) to a rate and impairments, as Mininet's C(TCLink(bw=, delay=, loss=,
    jitter=)) or containerlab's C(tools netem set) do, by making its root queueing discipline (qdisc).
  - A rate alone is a token bucket filter (C(tbf)). Any impairment (delay, jitter, loss, duplicate, reorder, corrupt)
    is C(netem), which then carries the rate itself (netem's own rate, not netem over a tbf).
  - The module's qdiscs have handle C(4e56:). A task replaces only a root qdisc the module made or the kernel's
    default (handle C(0:)); any other root qdisc is refused by name unless O(force=true).
  - Settings are compared with the kernel's own reading of the qdisc, so a task that finds them in place changes
    nothing.
  - Units are tc(8)'s; a malformed or out-of-range value is refused before any change, in check mode too.
  - A kernel without netem (C(CONFIG_NET_SCH_NETEM)) refuses a task that needs it before any change, in check mode
    too; the module probes for it once per run, in a throwaway network namespace.
  - O(state=absent) deletes the root qdisc; the kernel gives the interface its default back. A qdisc goes with its
    interface, so a lab's teardown removes its shaping.
author:
  - netvirt.linux developers (@netvirt)
extends_documentation_fragment:
  - netvirt.linux.kinds.shaping
notes:
  - Shapes egress only. To shape both directions of a veth pair, shape each end.
seealso:
  - module: netvirt.linux.veth
  - module: netvirt.linux.topology
"""

EXAMPLES = r"""
- name: A 10 Mbit/s link out of veth0
  netvirt.linux.shaping:
    netns: lab1
    interface: veth0
    rate: 10mbit

- name: A slow, lossy WAN link (needs the kernel's netem)
  netvirt.linux.shaping:
    netns: lab1
    interface: wan0
    rate: 2mbit
    delay: 40ms
    jitter: 5ms
    loss: 1%

- name: Give the interface back its default qdisc
  netvirt.linux.shaping:
    netns: lab1
    interface: veth0
    state: absent
"""

RETURN = r"""
actions: {description: 'The changes made, or that would be made in check mode, in order.', returned: always, type: list, elements: str,
   sample: ['shape ''veth0'' in lab1: 10mbit (tbf 4e56:)']}
shaping: {description: The interface's root qdisc after the task (predicted in check mode)., returned: always, type: dict, contains: {
    burst: {description: 'A tbf''s burst in bytes, when it is not the default.', type: str, sample: 32000b},
    corrupt: {description: The corrupted packets. Only when set., type: str, sample: 0.1%},
    delay: {description: The added delay. Only when set., type: str, sample: 20ms},
    duplicate: {description: The duplicated packets. Only when set., type: str, sample: 0.5%},
    handle: {description: The root qdisc's handle. Only when present., type: str, sample: '4e56:'},
    interface: {description: The interface., type: str, sample: veth0},
    jitter: {description: The delay's variation. Only when set., type: str, sample: 5ms},
    limit: {description: 'The queue in packets, when it is not the default.', type: int, sample: 1000},
    loss: {description: The random loss. Only when set., type: str, sample: 1%},
    netns: {description: Its namespace; null for the host's own., type: str, sample: lab1},
    owned: {description: 'Whether the root qdisc is this module''s (handle C(4e56:)). Only when present.', type: bool, sample: true},
    qdisc: {description: 'The root qdisc''s kind (C(tbf), C(netem), or the kernel''s default such as C(noqueue)).', type: str, sample: tbf},
    rate: {description: 'The rate, as tc(8) writes it. Only when set.', type: str, sample: 10mbit},
    reorder: {description: The reordered packets. Only when set., type: str, sample: 25%},
    state: {description: 'V(present) when a root qdisc other than the kernel''s default is set, else V(absent).', type: str, sample: present}}}
"""

from ansible_collections.netvirt.linux.plugins.module_utils._module import run_module


def main():
    run_module("shaping", "shaping")


if __name__ == "__main__":
    main()
