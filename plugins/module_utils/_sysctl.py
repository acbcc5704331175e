# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing net.* sysctls, confined to /proc/sys/net.

A key becomes a path only through ``_model.sysctl_path`` (which refuses '..',
'.' and empty parts after sysctl(8)'s '/'-for-'.' conversion); here the path
is resolved again when it is opened, so that no symlink can lead out of
/proc/sys/net, and it is opened write-only without O_CREAT or O_TRUNC: a
sysctl that does not exist is an error, never a new file.

Before a task changes anything, :func:`preflight` tries every key and value
in a throwaway network namespace (a forked child that unshared its own), so a
bad key or value is refused before a namespace is created for it.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._model import SYSCTL_ROOT, sysctl_generic_key, sysctl_interface, sysctl_path, sysctl_text
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import SCRATCH, in_netns, list_namespaces


def _confined_path(key: str) -> str:
    path = sysctl_path(key)
    real = os.path.realpath(path)
    if real != path or not real.startswith(SYSCTL_ROOT):
        raise ValidationError("sysctl %s resolves to %s, outside %s; refusing it" % (key, real, SYSCTL_ROOT))
    return path


def _open(key: str, flags: int) -> int:
    return os.open(_confined_path(key), flags | os.O_NOFOLLOW | os.O_CLOEXEC)


def not_a_setting(key: str) -> Optional[str]:
    """Why ``key`` is not a setting that can be both written and read back (its mode bits), or None.

    A write-only entry (net.ipv4.route.flush, mode 0200) is an action: it can never be read back to compare, and
    reading it fails with EACCES even for root. A read-only one (0444) cannot be set. Raises FileNotFoundError
    when the key does not exist.
    """
    status = os.stat(_confined_path(key), follow_symlinks=False)
    if stat.S_ISDIR(status.st_mode):
        return "is a directory of settings, not a setting: name one of its entries"
    mode = stat.S_IMODE(status.st_mode)
    if not mode & 0o444:
        return ("is write-only (mode %04o): an action, not a setting; it cannot be read back to compare, so a task "
                "cannot keep it (use a command task to trigger it)" % mode)
    if not mode & 0o222:
        return "is read-only (mode %04o): the kernel reports it, it cannot be set" % mode
    return None


def read(key: str) -> Optional[str]:
    """The current value (fields separated by single spaces), or None when the key does not exist here."""
    try:
        fd = _open(key, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return sysctl_text(b"".join(chunks).decode("utf-8", "replace"))


def write(key: str, value: str) -> None:
    """Write an existing sysctl; raises FileNotFoundError when it does not exist, OSError when refused."""
    fd = _open(key, os.O_WRONLY)
    try:
        data = value.encode("utf-8")
        # A sysctl takes one write; a short write would leave half a value.
        if os.write(fd, data) != len(data):
            raise OSError(errno.EIO, "short write")
    finally:
        os.close(fd)


# ------------------------------------------------------------- preflight ---


def _probe(trials: List[Tuple[str, str, str]]) -> List[Tuple[str, str]]:
    """In a fresh namespace: write each (key, probe key, value); return (key, problem) for each refusal."""
    problems = []
    for key, probe_key, value in trials:
        try:
            problem = not_a_setting(probe_key)
            if problem is not None:
                problems.append((key, problem))
                continue
            write(probe_key, value)
        except FileNotFoundError:
            problems.append((key, "does not exist"))
        except OSError as exc:
            problems.append((key, "the kernel refuses the value %r: %s" % (value, exc.strerror or exc)))
    return problems


def preflight(desired: Sequence, made: Dict[Optional[str], Set[str]], existing: Optional[Set[str]] = None) -> None:
    """Refuse bad sysctl keys and values before anything changes.

    Every key is tried with its value in a throwaway namespace; a per-interface
    key is tried as the table's `default` entry, and for a namespace the task
    creates its interface must be one the task makes there (or lo): ``made``
    (namespace -> interface names, _ownership.interfaces_made(desired)).
    """
    wanted = [obj for obj in desired if obj.kind == "netns" and obj.state == "present" and obj.sysctls]
    if not wanted:
        return
    if existing is None:
        existing = set(list_namespaces())
    problems: List[str] = []
    trials: List[Tuple[str, str, str]] = []
    for netns in wanted:
        for key, value in netns.sysctls:
            interface = sysctl_interface(key)
            if interface is not None and netns.name not in existing and interface != "lo" \
                    and interface not in made.get(netns.name, ()):
                problems.append(
                    "sysctl %s (namespace '%s'): interface '%s' does not exist in the new namespace and the task "
                    "does not create it there" % (key, netns.name, interface))
                continue
            trials.append((key, sysctl_generic_key(key), value))
    if trials:
        refused = in_netns(SCRATCH, _probe, sorted(set(trials)))
        for key, problem in refused:
            if problem == "does not exist":
                problems.append("sysctl %s does not exist in a network namespace (check the key)" % key)
            else:
                # "is write-only ...", "is read-only ..." read as a sentence; the kernel's refusals follow a colon.
                problems.append(("sysctl %s %s" if problem.startswith("is ") else "sysctl %s: %s") % (key, problem))
    if problems:
        raise ValidationError("; ".join(sorted(set(problems))) + " (nothing was changed)")
