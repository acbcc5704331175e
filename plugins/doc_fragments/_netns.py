# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module that works in network namespaces needs, and the netns
option (declared once, in plugins/module_utils/_options.py) for a module
whose options are not a kind's (a kind's module gets it from
netvirt.linux.kinds.NAME and takes only netvirt.linux._netns.requirements)."""

from __future__ import annotations

import json

from ansible_collections.netvirt.linux.plugins.module_utils._options import NETNS, documentation

NEEDS = dict(
    requirements=["pyroute2 >= 0.9.7 on the managed host"],
    notes=["Needs root (C(CAP_NET_ADMIN) and C(CAP_SYS_ADMIN)); run the task with privilege escalation (C(become))"
           " or as root."],
)


class ModuleDocFragment:
    DOCUMENTATION = json.dumps(dict(options=documentation(dict(netns=NETNS())), **NEEDS))
    REQUIREMENTS = json.dumps(dict(options={}, **NEEDS))
