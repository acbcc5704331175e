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
    """The kernel refused a change: the one exception the kernel adapter (_netlink) lets out, whatever
    codec carried the request. ``errno`` is the kernel's code when it gave one."""

    @property
    def errno(self):
        return self.details.get("errno")


class KernelRefusal(KernelError):
    """A request the kernel answered with an error (``errno``, positive), in generic words (``hint``); the
    adapter's apply() puts it in the failing action's own words (Action.hint)."""

    def __init__(self, code: int, hint: str):
        super().__init__("the kernel refused: %s" % hint, errno=code)
        self.hint = hint


class PrivilegeError(NetvirtError):
    """The module lacks the capabilities it needs."""


class MissingLibraryError(NetvirtError):
    """A Python library the module needs is not importable on the host."""
