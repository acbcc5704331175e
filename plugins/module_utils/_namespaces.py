# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Namespace plumbing, written once: where named namespaces live, entering one
and coming back, and running a function in a forked child inside one.

Every module that works in a namespace goes through here: the netlink adapter
enters a namespace to open its socket or /dev/net/tun, the sysctl code to reach
that namespace's /proc/sys/net, and the netfilter adapter and the sysctl
preflight run their work in a child (python-iptables caches tables per process).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import json
import os
import resource
import signal
import traceback
from collections import OrderedDict
from typing import Callable, Iterator, Optional

from ansible_collections.netvirt.linux.plugins.module_utils import _errors as E

# The namespace the module process runs in ("the host"). Named namespaces are
# the files under /run/netns, as `ip netns` manages them.
HOST = None
NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
# Marks "a fresh, empty network namespace" where a netns name is expected.
SCRATCH = "\0scratch"


def netns_label(netns: Optional[str]) -> str:
    """How a namespace is named in messages."""
    return "the host namespace" if netns is HOST else "namespace '%s'" % netns


def stale_message(netns: str) -> str:
    return ("'%s' in %s is a stale entry: no network namespace is mounted on it (left by a crashed "
            "`ip netns add`, or a stray file); remove it with netvirt.linux.netns state=absent "
            "(or `ip netns delete %s`)" % (netns, NETNS_RUN_DIR, netns))


def missing_message(netns: str) -> str:
    return ("network namespace '%s' does not exist; create it first (netvirt.linux.netns) or fix the name"
            % netns)


def list_namespaces() -> frozenset:
    """Named namespaces, exactly as `ip netns list` sees them (no prefix matching)."""
    try:
        return frozenset(
            entry for entry in os.listdir(NETNS_RUN_DIR) if os.path.isfile(os.path.join(NETNS_RUN_DIR, entry)))
    except FileNotFoundError:
        return frozenset()


def open_netns(netns: str) -> int:
    """A descriptor of the named namespace; NamespaceMissingError when there is none."""
    try:
        return os.open(os.path.join(NETNS_RUN_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise E.NamespaceMissingError(missing_message(netns), netns=netns) from None


@functools.lru_cache(maxsize=None)
def _libc():
    # Loaded once: find_library runs `ldconfig -p` each time (about a millisecond), and on
    # Python 3.11 (no os.setns) every entry into a namespace and every return calls setns.
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


MNT_DETACH = 2


def remove_netns(netns: str) -> None:
    """As `ip netns del`: detach the namespace's bind mount and unlink its entry. A stale entry
    (no mount) is unlinked all the same; an entry already gone raises FileNotFoundError."""
    path = os.path.join(NETNS_RUN_DIR, netns)
    # The kernel frees the namespace once nothing holds it (it cleans namespaces up in batches).
    _libc().umount2(path.encode(), MNT_DETACH)
    os.unlink(path)


def setns(fd: int) -> None:
    """Move this thread into the network namespace ``fd`` refers to."""
    if hasattr(os, "setns"):
        os.setns(fd, CLONE_NEWNET)
    elif _libc().setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def unshare_net() -> None:
    """Give this thread a new, empty network namespace."""
    if hasattr(os, "unshare"):
        os.unshare(CLONE_NEWNET)
    elif _libc().unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


MS_BIND, MS_REC, MS_SHARED = 0x1000, 0x4000, 0x100000


def _mount(source: bytes, target: bytes, flags: int, what: str) -> None:
    if _libc().mount(source, target, b"none", flags, None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, "%s: %s" % (what, os.strerror(code)))


def create_netns(netns: str) -> None:
    """As `ip netns add`, in this thread: make the namespace directory a shared mount (bound onto
    itself first if it is no mount point), make the entry, move this thread into a new network
    namespace and bind it onto the entry. The thread stays there: the caller goes home
    (Namespaces.home). An entry that exists is refused (FileExistsError); on a later failure the
    entry is removed again."""
    os.makedirs(NETNS_RUN_DIR, exist_ok=True)
    run_dir = NETNS_RUN_DIR.encode()
    if _libc().mount(b"", run_dir, b"none", MS_SHARED | MS_REC, None) != 0:
        _mount(run_dir, run_dir, MS_BIND | MS_REC, "bind-mount %s onto itself" % NETNS_RUN_DIR)
        _mount(b"", run_dir, MS_SHARED | MS_REC, "make %s a shared mount" % NETNS_RUN_DIR)
    path = os.path.join(NETNS_RUN_DIR, netns)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
    try:
        unshare_net()
        _mount(b"/proc/thread-self/ns/net", path.encode(), MS_BIND, "bind the new namespace to %s" % path)
    except BaseException:
        os.unlink(path)
        raise


# Descriptors left for whatever a run opens besides its per-namespace handles: forked helpers' pipes, the
# lab's lock and record, /dev/net/tun, pyroute2's own.
RESERVED_DESCRIPTORS = 16


def descriptor_budget() -> int:
    """How many descriptors a run may keep open for per-namespace handles (namespace descriptors and sockets):
    the soft RLIMIT_NOFILE less those open now and a reserve. Never below 4: under a limit that low a run
    still works, one namespace at a time."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - no /proc
        used = 64
    return max(4, soft - used - RESERVED_DESCRIPTORS)


class Handles(OrderedDict):
    """Per-namespace handles kept open for reuse, at most ``capacity`` of them: the one used least recently
    is closed to make room (``close(handle)``), so a run over a thousand namespaces never holds a thousand
    descriptors, and one over a few namespaces opens each handle once."""

    def __init__(self, capacity: int, close: Callable) -> None:
        super().__init__()
        self.capacity = max(1, capacity)
        self._close = close

    def use(self, key):
        """The handle kept for ``key`` (marked as just used), or None."""
        handle = self.get(key)
        if handle is not None:
            self.move_to_end(key)
        return handle

    def keep(self, key, handle) -> None:
        while len(self) >= self.capacity:
            self._close(self.popitem(last=False)[1])
        self[key] = handle

    def forget(self, key) -> None:
        handle = self.pop(key, None)
        if handle is not None:
            self._close(handle)

    def close_all(self) -> None:
        while self:
            self._close(self.popitem(last=False)[1])


class Namespaces:
    """Descriptors of the namespaces a run works in, and entering them and coming back.

    A namespace's descriptor is opened when first needed and kept for reuse, at most ``capacity`` of them
    (default: a quarter of descriptor_budget()); a caller uses the number ``fd()`` returns at once, before
    asking for another namespace's.
    """

    def __init__(self, capacity: Optional[int] = None) -> None:
        self._fds = Handles(descriptor_budget() // 4 if capacity is None else capacity, os.close)
        self._home: Optional[int] = None

    def home(self) -> int:
        """The namespace the module started in, to come back to."""
        if self._home is None:
            self._home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        return self._home

    def fd(self, netns: Optional[str]) -> int:
        if netns is HOST:
            return self.home()
        fd = self._fds.use(netns)
        if fd is None:
            fd = open_netns(netns)
            self._fds.keep(netns, fd)
        return fd

    def drop(self, netns: Optional[str]) -> None:
        self._fds.forget(netns)

    def close(self) -> None:
        self._fds.close_all()
        if self._home is not None:
            os.close(self._home)
            self._home = None

    @contextlib.contextmanager
    def inside(self, netns: Optional[str]) -> Iterator[None]:
        """Run the body with this thread in ``netns``; /proc/sys/net and /dev/net/tun follow it."""
        if netns is HOST:
            yield
            return
        target = self.fd(netns)
        home = self.home()
        try:
            setns(target)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise E.PrivilegeError(
                    "cannot enter network namespace '%s': permission denied; run the task as root "
                    "(become: true)" % netns, netns=netns) from None
            if exc.errno == errno.EINVAL:
                self.drop(netns)
                raise E.NamespaceStaleError(stale_message(netns), netns=netns) from None
            raise
        try:
            yield
        finally:
            setns(home)


class ChildCrashed(E.KernelError):
    """The forked child died without answering (a crash inside a C library)."""


def _child(netns: Optional[str], fd: Optional[int], func: Callable, args) -> dict:  # pragma: no cover - child
    try:
        if netns == SCRATCH:
            unshare_net()
        elif netns is not HOST and fd is not None:
            try:
                setns(fd)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                raise E.NamespaceStaleError(stale_message(netns), netns=netns) from None
        return {"ok": func(*args)}
    except E.NetvirtError as exc:
        return {"error": type(exc).__name__, "msg": exc.msg, "details": exc.details}
    except PermissionError as exc:
        return {"error": "PrivilegeError", "msg": "%s; run the task as root (become: true)" % exc, "details": {}}
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        return {"error": "KernelError", "msg": "%s: %s" % (type(exc).__name__, exc),
                "details": {"exception": traceback.format_exc()}}


def in_netns(netns: Optional[str], func: Callable, *args):
    """Run ``func(*args)`` in a forked child inside ``netns`` (or a fresh one: SCRATCH); return its result.

    The result travels back as JSON; a NetvirtError raised in the child is raised
    again here with the same class, message and details.
    """
    fd = open_netns(netns) if netns is not HOST and netns != SCRATCH else None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(read_end)
            data = json.dumps(_child(netns, fd, func, args)).encode()
            while data:
                data = data[os.write(write_end, data):]
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    if fd is not None:
        os.close(fd)
    with os.fdopen(read_end, "rb") as reader:
        raw = reader.read()
    status = os.waitpid(pid, 0)[1]
    if os.WIFSIGNALED(status) or not raw:
        why = ("killed by %s" % signal.Signals(os.WTERMSIG(status)).name) if os.WIFSIGNALED(status) else \
            "exit status %d" % os.WEXITSTATUS(status)
        raise ChildCrashed("the helper process for %s died (%s)" % (
            "a scratch namespace" if netns == SCRATCH else netns_label(netns), why))
    answer = json.loads(raw.decode())
    if "error" in answer:
        cls = getattr(E, answer["error"], E.KernelError)
        raise cls(answer["msg"], **answer["details"])
    return answer["ok"]
