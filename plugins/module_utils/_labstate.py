# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A topology lab's record and lock, under /run beside the namespaces they describe.

The kernel cannot mark a device at the moment it makes it (an interface
alias is set by a second request, and a namespace has no alias at all), so a
run killed between the two would leave objects that no run recognises. The
record closes that gap, as a journal does:

- ``pending``: every object a run is about to create, written (and synced)
  BEFORE the first change. The next run treats an unmarked object listed
  there as the lab's own, half made, and finishes it (or removes it).
- ``namespaces``: every namespace that may hold the lab's objects, so that a
  run reads only those (plus the ones its description names), never every
  namespace of the host; another lab's namespaces appearing or vanishing
  meanwhile is no concern of this one.
- ``chains``: every iptables chain the lab wrote, as (netns, family, table,
  chain, backend variant). A chain has no marker of its own, so this is how a
  run knows which chains its description no longer names (and with which
  backend to remove them); a chain goes with its namespace. Records written
  before chains were recorded have none.
- ``unmarked``: the keys of the objects the lab made in its namespaces that
  carry no marker of their own and go with their namespace (routes), so that
  a teardown names (and counts) what it removes as the build did.

One lock per lab: two runs of the same lab take turns instead of racing.
The files live under /run (a tmpfs, like /run/netns), in a directory named
after the network namespace the module runs in, so a record dies with the
namespaces at reboot and never leaks to another network world.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time
from typing import Iterable, List, Optional, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError

STATE_ROOT = "/run/netvirt/labs"
LOCK_TIMEOUT = 600.0

Interface = Tuple[Optional[str], str]
# (netns, family, table, chain, backend variant)
Chain = Tuple[str, str, str, str, str]


def _world_dir() -> str:
    """One directory per network world: the inode of the namespace this process runs in."""
    return os.path.join(STATE_ROOT, "netns-%d" % os.stat("/proc/self/ns/net").st_ino)


def _file_name(lab: str) -> str:
    # A lab name is free text without white space: keep it out of the path's structure.
    return lab.encode("utf-8").hex()


class LabRecord:
    """What one lab's record holds; ``None`` stands for the host in interface keys."""

    def __init__(self, namespaces: Iterable[str] = (), pending: Iterable[Interface] = (), known: bool = False,
                 chains: Iterable[Chain] = (), unmarked: Iterable[tuple] = ()):
        self.namespaces: Set[str] = set(namespaces)
        self.pending: Set[Interface] = set(pending)
        # False when no record existed: the lab was made before records, or never.
        self.known = known
        self.chains: Set[Chain] = set(chains)
        # Object keys (kind, netns, ...), e.g. ("route", "n1", 254, "10.9.0.0/16", 1024).
        self.unmarked: Set[tuple] = set(unmarked)

    def chains_in(self, namespaces: Iterable[str]) -> Set[Chain]:
        """The recorded chains that live in ``namespaces`` (the others went with theirs)."""
        namespaces = set(namespaces)
        return {chain for chain in self.chains if chain[0] in namespaces}

    def held(self) -> Set[tuple]:
        """Every object without a marker the record knows, keyed as `topology` reports it: the unmarked
        objects, and the chains (one per chain, its IP versions merged, as a description names it)."""
        families: dict = {}
        for netns, family, table, chain, _variant in self.chains:
            families.setdefault((netns, table, chain), set()).add(family)
        chains = {("iptables_chain", netns, table, chain, "both" if len(found) > 1 else min(found))
                  for (netns, table, chain), found in families.items()}
        return self.unmarked | chains

    def unmarked_in(self, namespaces: Iterable[str]) -> Set[tuple]:
        """The recorded unmarked objects that live in ``namespaces``."""
        namespaces = set(namespaces)
        return {key for key in self.unmarked if key[1] in namespaces}

    def to_json(self) -> str:
        data = {
            "version": 1,
            "namespaces": sorted(self.namespaces),
            "pending": [[netns, name] for netns, name in sorted(
                self.pending, key=lambda item: (item[0] is not None, item[0] or "", item[1]))],
        }
        if self.chains:
            data["chains"] = [list(chain) for chain in sorted(self.chains)]
        if self.unmarked:
            data["unmarked"] = [list(key) for key in sorted(self.unmarked, key=repr)]
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "LabRecord":
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("unknown record format")
        pending = [(item[0], item[1]) for item in data.get("pending", [])]
        chains = []
        for item in data.get("chains", []):
            if not (isinstance(item, list) and len(item) == 5 and all(isinstance(part, str) for part in item)
                    and item[1] in ("ipv4", "ipv6") and item[4] in ("nft", "legacy")):
                raise ValueError("unknown chain entry %r" % (item,))
            chains.append(tuple(item))
        unmarked = []
        for item in data.get("unmarked", []):
            if not (isinstance(item, list) and len(item) >= 2 and isinstance(item[0], str) and isinstance(item[1], str)
                    and all(isinstance(part, (str, int)) for part in item)):
                raise ValueError("unknown object entry %r" % (item,))
            unmarked.append(tuple(item))
        return cls(data.get("namespaces", []), pending, known=True, chains=chains, unmarked=unmarked)


class RecordError(KernelError):
    """The lab's record directory or files cannot be used; raised before anything changes."""


def _reason(exc: OSError, path: Optional[str] = None) -> str:
    # O_DIRECTORY | O_NOFOLLOW on a symbolic link gives ENOTDIR.
    if exc.errno == errno.ENOTDIR and path is not None and os.path.islink(path):
        return "is a symbolic link (never followed: remove it)"
    if exc.errno == errno.EROFS:
        return "is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be used: permission denied"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link (never followed: remove it)"
    if exc.errno == errno.ENOTDIR:
        return "is not a directory (remove what is there)"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "is on a full file system (%s)" % os.strerror(exc.errno)
    return "cannot be used: %s" % (exc.strerror or exc)


class LabState:
    """The lock and record of one lab; use as a context manager around a run.

    The record's directories and files are reached without following a
    symbolic link (the module runs as root: a link planted there must not
    make it write elsewhere), each directory must be root's or this user's and
    not writable by others (unless sticky, as a tmpfs's root is), and every problem is a RecordError naming the path,
    raised before the run changes anything (check() does the same without
    creating anything, for check mode).
    """

    def __init__(self, lab: str, root: Optional[str] = None, timeout: float = LOCK_TIMEOUT):
        self.lab = lab
        if root is None:
            # /run is the system's; what lies below it is this module's and is checked.
            self._base, self._parts = "/run", STATE_ROOT[len("/run/"):].split("/") + [os.path.basename(_world_dir())]
        else:
            self._base, self._parts = os.path.dirname(os.path.abspath(root)) or "/", [os.path.basename(os.path.abspath(root))]
        self.directory = os.path.join(self._base, *self._parts)
        name = _file_name(lab)
        self.path = os.path.join(self.directory, name + ".json")
        self.lock_path = os.path.join(self.directory, name + ".lock")
        self._name = name
        self.timeout = timeout
        self._lock_fd: Optional[int] = None
        self._dir_fd: Optional[int] = None
        # Problems worth a warning (a record that could not be read), for the module to show.
        self.warnings: List[str] = []

    # -- the directory -----------------------------------------------------

    def _fail(self, path: str, reason: str) -> RecordError:
        return RecordError("the lab record directory %s %s; lab records are kept under %s (a tmpfs), see the "
                           "topology module's documentation; nothing was changed" % (path, reason, STATE_ROOT),
                           path=path)

    def _check_directory(self, fd: int, path: str) -> None:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode):
            raise self._fail(path, "is not a directory (remove what is there)")
        if info.st_uid not in (0, os.geteuid()):
            raise self._fail(path, "belongs to uid %d, neither root nor this user (uid %d)" % (info.st_uid, os.geteuid()))
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            raise self._fail(path, "is writable by other users (mode %04o)" % stat.S_IMODE(info.st_mode))

    def check(self) -> None:
        """Raise RecordError when the record directory could not be made or used; creates nothing."""
        path = self._base
        for part in self._parts:
            parent = path
            path = os.path.join(path, part)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                # The rest is made on the first real run: the nearest existing directory must take it.
                if not os.access(parent, os.W_OK | os.X_OK):
                    try:
                        os.statvfs(parent)
                        readonly = os.statvfs(parent).f_flag & os.ST_RDONLY
                    except OSError:
                        readonly = False
                    raise self._fail(parent, "is on a read-only file system" if readonly
                                     else "cannot be used: permission denied") from None
                return
            except OSError as exc:
                raise self._fail(path, _reason(exc, path)) from None
            try:
                self._check_directory(fd, path)
            finally:
                os.close(fd)
        if not os.access(self.directory, os.W_OK | os.X_OK):
            readonly = os.statvfs(self.directory).f_flag & os.ST_RDONLY
            raise self._fail(self.directory, "is on a read-only file system" if readonly
                             else "cannot be used: permission denied")

    def _dir(self, create: bool = True) -> int:
        """The record directory, opened (and, with ``create``, made with mode 0700) component by component
        without following links; FileNotFoundError when it is missing and not to be made."""
        if self._dir_fd is not None:
            return self._dir_fd
        path = self._base
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise self._fail(path, _reason(exc, path)) from None
        try:
            for part in self._parts:
                path = os.path.join(path, part)
                if create:
                    try:
                        os.mkdir(part, 0o700, dir_fd=fd)
                    except FileExistsError:
                        pass
                    except OSError as exc:
                        # EROFS or EACCES where the directory exists already: use it as it is.
                        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM) or not os.path.lexists(path):
                            raise self._fail(path, _reason(exc, path)) from None
                try:
                    child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    raise
                except OSError as exc:
                    raise self._fail(path, _reason(exc, path)) from None
                os.close(fd)
                fd = child
                self._check_directory(fd, path)
        except BaseException:
            os.close(fd)
            raise
        self._dir_fd = fd
        return fd

    def _open(self, name: str, flags: int, path: str) -> int:
        """A regular file of the record directory, never through a symbolic link."""
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600,
                         dir_fd=self._dir(create=bool(flags & os.O_CREAT)))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise
            raise RecordError("lab record file %s %s; nothing was changed" % (
                path, "is a symbolic link (never followed: remove it)" if exc.errno == errno.ELOOP
                else _reason(exc).replace("cannot be used", "cannot be opened")), path=path) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RecordError("lab record file %s is not a regular file (remove it); nothing was changed" % path,
                              path=path)
        return fd

    def close(self) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    # -- the lock ------------------------------------------------------------

    def __enter__(self) -> "LabState":
        self.check()
        fd = self._open(self._name + ".lock", os.O_RDWR | os.O_CREAT, self.lock_path)
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() - start > self.timeout:
                os.close(fd)
                raise KernelError("another run of lab '%s' has held its lock (%s) for over %d seconds; "
                                  "nothing was changed" % (self.lab, self.lock_path, self.timeout))
            time.sleep(0.05)
        self._lock_fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._lock_fd is not None:
            # Closing the descriptor releases the lock; a killed run releases it the same way.
            os.close(self._lock_fd)
            self._lock_fd = None
        self.close()

    # -- the record ----------------------------------------------------------

    def load(self) -> LabRecord:
        try:
            fd = self._open(self._name + ".json", os.O_RDONLY, self.path)
        except FileNotFoundError:
            return LabRecord()
        try:
            with os.fdopen(fd, "rb") as handle:
                text = handle.read().decode("utf-8")
            return LabRecord.from_json(text)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            # A record we cannot read is treated as missing: the caller then
            # reads every namespace, as it would for a lab made before records,
            # and the run writes it anew.
            warning = ("the lab's record %s is not valid (%s): every namespace is read instead, and the record "
                       "is written anew" % (self.path, exc))
            if warning not in self.warnings:
                self.warnings.append(warning)
            return LabRecord()

    def save(self, record: LabRecord) -> None:
        """Write atomically and durably: a kill, or a full file system, leaves the old record or the new one, whole."""
        directory = self._dir()
        tmp_name = self._name + ".json.tmp"
        try:
            # A temporary file left by a killed run (or anything planted there) goes; unlink follows no link.
            os.unlink(tmp_name, dir_fd=directory)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=directory)
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            data = memoryview(record.to_json().encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            os.unlink(tmp_name, dir_fd=directory)
            raise self._write_error(exc) from None
        os.close(fd)
        try:
            os.rename(tmp_name, self._name + ".json", src_dir_fd=directory, dst_dir_fd=directory)
            os.fsync(directory)
        except OSError as exc:
            raise self._write_error(exc) from None

    def _write_error(self, exc: OSError) -> RecordError:
        return RecordError("cannot write lab record %s: %s (the previous record, if any, is left whole)" % (
            self.path, exc.strerror or exc), path=self.path, errno=exc.errno)

    def remove(self) -> None:
        try:
            os.unlink(self._name + ".json", dir_fd=self._dir())
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._write_error(exc) from None
