# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module that works in network namespaces needs
(netvirt.linux._netns.requirements, for a kind's module, whose netns option
comes from netvirt.linux.kinds.NAME), and with it the netns option
(netvirt.linux._netns, for a module whose options are not a kind's)."""

from __future__ import annotations

import json

import yaml

from ansible_collections.netvirt.linux.plugins.module_utils._options import NETNS, documentation


class ModuleDocFragment:
    REQUIREMENTS = r"""
options: {}
requirements:
  - pyroute2 >= 0.9.7 on the managed host
notes:
  - Needs root (C(CAP_NET_ADMIN) and C(CAP_SYS_ADMIN)); run the task with privilege escalation (C(become)) or as root.
"""


# The netns option is declared once, in _options.NETNS (computed outside the class: the yamllint sanity
# test reads every assignment in it as a YAML string).
ModuleDocFragment.DOCUMENTATION = json.dumps(dict(yaml.safe_load(ModuleDocFragment.REQUIREMENTS),
                                                  options=documentation(dict(netns=NETNS()))))
