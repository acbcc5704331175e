# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain errors: each carries a message a user can act on."""

from __future__ import annotations


class NetvirtError(Exception):
    """Base class; ``details`` is merged into the module's failure result."""

    def __init__(self, msg: str, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class ValidationError(NetvirtError):
    """The task's arguments are wrong; nothing was touched."""


class ConflictError(NetvirtError):
    """The kernel holds something that the task must not overwrite."""


class NamespaceMissingError(NetvirtError):
    """A network namespace named by the task does not exist."""


class NamespaceStaleError(NamespaceMissingError):
    """A /run/netns entry with no namespace mounted on it (left by a crashed `ip netns add`)."""


class DeviceMissingError(NetvirtError):
    """An interface the task refers to (a bridge port, a master) does not exist where it must."""


class KernelError(NetvirtError):
    """The kernel refused a change."""


class PrivilegeError(NetvirtError):
    """The module lacks the capabilities it needs."""


class MissingLibraryError(NetvirtError):
    """A Python library the module needs is not importable on the host."""
