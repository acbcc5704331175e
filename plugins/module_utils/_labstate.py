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
import time
from typing import Iterable, Optional, Set, Tuple

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


class LabState:
    """The lock and record of one lab; use as a context manager around a run."""

    def __init__(self, lab: str, root: Optional[str] = None, timeout: float = LOCK_TIMEOUT):
        self.lab = lab
        self.directory = root or _world_dir()
        base = os.path.join(self.directory, _file_name(lab))
        self.path = base + ".json"
        self.lock_path = base + ".lock"
        self.timeout = timeout
        self._lock_fd: Optional[int] = None

    def __enter__(self) -> "LabState":
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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

    def load(self) -> LabRecord:
        try:
            with open(self.path) as handle:
                return LabRecord.from_json(handle.read())
        except FileNotFoundError:
            return LabRecord()
        except (ValueError, KeyError, TypeError, IndexError):
            # A record we cannot read is treated as missing: the caller then
            # reads every namespace, as it would for a lab made before records.
            return LabRecord()

    def save(self, record: LabRecord) -> None:
        """Write atomically and durably: a kill leaves the old record or the new one, whole."""
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, record.to_json().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
