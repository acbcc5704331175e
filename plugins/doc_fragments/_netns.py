# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  netns:
    description:
      - Name of the network namespace the object lives in, as C(ip netns list) shows it
        (a file under C(/run/netns)).
      - Omit it for the namespace the module runs in (the host's own).
      - The namespace must exist; the module never creates one by accident.
    type: str
requirements:
  - pyroute2 >= 0.9.7 on the managed host
notes:
  - Needs root (C(CAP_NET_ADMIN) and C(CAP_SYS_ADMIN)); run the task with privilege escalation (C(become)) or as root.
"""
