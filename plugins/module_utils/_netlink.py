# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel adapter: the only place that imports pyroute2. It knows no kind by name.

One netlink socket per namespace per run, opened on first use and reused;
one link dump and one address dump to read a namespace. Netlink errors come
out as domain errors with words a user can act on. Devices are decoded by
their kind's parser and actions apply themselves (_actions.Action.apply),
both found through the registry (_kinds.py).
"""

from __future__ import annotations

import errno
import os
import time
import traceback
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._actions import Action
from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError, NamespaceMissingError, NamespaceStaleError
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    Link,
    NamespaceState,
    World,
    address_sort_key,
    netns_label,
    normalize_cidr,
    resolve_peers,
)
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import Namespaces, list_namespaces

try:
    from pyroute2 import IPRoute, NetlinkError
    from pyroute2 import netns as pyroute2_netns
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR: Optional[str] = traceback.format_exc()
else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

IFF_UP = 0x1
# (namespace, {item: ...}) per kind: namespace-wide state a kind reads beyond links.
Reads = Dict[Optional[str], List[Tuple[Callable, set]]]


def _netlink_hint(code: int, action: Optional[Action]) -> str:
    if code == errno.EPERM or code == errno.EACCES:
        return "permission denied; run the task as root (become: true), it needs CAP_NET_ADMIN"
    hint = action.hint(code) if action is not None else None
    if hint:
        return hint
    if code == errno.EEXIST:
        return "a device with that name already exists"
    if code == errno.ENODEV:
        return "no such device"
    if code == errno.EOPNOTSUPP:
        return "operation not supported by this kernel"
    return os.strerror(code)


class Kernel:
    """Reads and changes the kernel's network state, across namespaces."""

    def __init__(self):
        self._sockets: Dict[Optional[str], "IPRoute"] = {}
        self._namespaces = Namespaces()
        self._index: Dict[tuple, int] = {}
        # (namespace, other namespace) -> the netnsid the first gives the second.
        self._nsids: Dict[tuple, Optional[int]] = {}

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        self._namespaces.close()

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what actions and kinds use -------------------------------------------

    def socket(self, netns: Optional[str]) -> "IPRoute":
        """The run's netlink socket in ``netns``, opened on first use."""
        sock = self._sockets.get(netns)
        if sock is None:
            # A netlink socket belongs to the namespace it is opened in: open it
            # from inside, in this process. pyroute2's IPRoute(netns=...) would
            # fork a child per socket, ten times slower, and create a missing
            # namespace unless told not to.
            with self.inside(netns):
                sock = IPRoute()
            self._sockets[netns] = sock
        return sock

    def inside(self, netns: Optional[str]):
        """Context manager: the body runs with this thread in ``netns``."""
        return self._namespaces.inside(netns)

    def netns_fd(self, netns: Optional[str]) -> int:
        return self._namespaces.fd(netns)

    def ifindex(self, netns: Optional[str], name: str) -> int:
        index = self._index.get((netns, name))
        if index is None:
            found = self.socket(netns).link_lookup(ifname=name)
            if not found:
                raise KernelError("no device '%s' in %s" % (name, netns_label(netns)))
            index = found[0]
            self._index[(netns, name)] = index
        return index

    def forget(self, netns: Optional[str], name: str) -> None:
        """A device was made, moved or deleted: look its index up again next time."""
        self._index.pop((netns, name), None)

    @staticmethod
    def tun_ioctls() -> Dict[str, int]:
        """The tun/tap ioctl numbers of this architecture (TUNSETIFF, ...), as pyroute2 knows them."""
        from pyroute2.netlink.rtnl.ifinfmsg import tuntap

        try:
            return {name: getattr(tuntap, name) for name in ("TUNSETIFF", "TUNSETOWNER", "TUNSETGROUP", "TUNSETPERSIST")}
        except AttributeError:
            raise OSError(errno.EOPNOTSUPP, "tun/tap ioctls unknown for this architecture") from None

    def create_netns(self, name: str, replace_stale: bool = False) -> None:
        if replace_stale:
            self._drop(name)
            pyroute2_netns.remove(name)
        create_here = getattr(pyroute2_netns, "_create", None)
        if create_here is None:  # pragma: no cover - other pyroute2 releases
            pyroute2_netns.create(name)
            return
        # As `ip netns add` does, in this process: unshare this thread's
        # network namespace and bind-mount it under /run/netns. The new
        # namespace is current, so open its socket before going home.
        home = self._namespaces.home()
        try:
            create_here(name)
            self._sockets[name] = IPRoute()
        finally:
            pyroute2_netns.setns(home, flags=0)

    def delete_netns(self, name: str) -> None:
        self._drop(name)
        # As `ip netns del`: detach the mount (a stale entry has none) and unlink the entry.
        pyroute2_netns.remove(name)

    def _drop(self, netns: Optional[str]) -> None:
        """Forget the socket and descriptor held for a namespace."""
        sock = self._sockets.pop(netns, None)
        if sock is not None:
            sock.close()
        self._namespaces.drop(netns)

    # -- reading ------------------------------------------------------------

    def read(self, namespaces: Iterable[Optional[str]], reads: Optional[Reads] = None,
             everything: bool = False) -> World:
        """One link dump and one address dump for each namespace that exists (for
        every namespace with ``everything``); what else kinds read (routes,
        sysctls) only where ``reads`` says a desired object needs it."""
        existing = set(list_namespaces())
        stale = set()
        world = World()
        # Namespaces may have been deleted and made again since the last read.
        self._nsids.clear()
        named = set(namespaces)
        if everything:
            namespaces = [HOST] + sorted(existing) + list(namespaces)
        for netns in namespaces:
            if netns in world.spaces or netns in stale or not (netns is HOST or netns in existing):
                continue
            try:
                # A namespace read only to find a lab's marks needs no addresses.
                space = self.read_namespace(netns, addresses=netns in named)
                for read, items in (reads or {}).get(netns, ()):
                    for field_name, value in read(self, netns, items).items():
                        setattr(space, field_name, value)
            except NamespaceStaleError:
                # Reported by name by whoever needs it; no concern of anyone else.
                stale.add(netns)
                continue
            except NamespaceMissingError:
                # Deleted between listing and opening (another run, another lab).
                existing.discard(netns)
                continue
            world.spaces[netns] = space
        world.namespaces = frozenset(existing)
        world.stale = frozenset(stale)
        resolve_peers(world.spaces, self._peer_namespace_finder(world.spaces))
        return world

    def _peer_namespace_finder(self, spaces):
        """peer_namespace(netns, link) for resolve_peers: the namespace a veth's netnsid names.

        A netnsid means something only inside the namespace that holds the
        link, so the kernel is asked there (RTM_GETNSID with the candidate's
        fd). Only namespaces holding a veth at the peer's index that points
        back are asked, so a read costs about one question per veth.
        """
        by_index = {netns: {link.index: link for link in space.links.values() if link.link_index is not None}
                    for netns, space in spaces.items()}

        def peer_namespace(netns, link):
            for other in spaces:
                if other == netns:
                    continue
                candidate = by_index[other].get(link.link_index)
                if candidate is None or candidate.link_index != link.index or candidate.link_netnsid is None:
                    continue
                if self._nsid(netns, other) == link.link_netnsid:
                    return other
            return None

        return peer_namespace

    def _nsid(self, netns: Optional[str], other: Optional[str]) -> Optional[int]:
        key = (netns, other)
        if key not in self._nsids:
            answer = self.socket(netns).get_netnsid(fd=self.netns_fd(other))
            nsid = (answer or {}).get("nsid")
            # NETNSA_NSID_NOT_ASSIGNED (-1, read unsigned): no id there, so no link points at it.
            self._nsids[key] = nsid if nsid is not None and 0 <= nsid < 0x7FFFFFFF else None
        return self._nsids[key]

    def read_namespace(self, netns: Optional[str], addresses: bool = True) -> NamespaceState:
        sock = self.socket(netns)
        by_index: Dict[int, list] = {}
        for msg in sock.get_addr() if addresses else ():
            addr = msg.get_attr("IFA_ADDRESS") if msg["family"] == 10 else (
                msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS"))
            if addr is None:
                continue
            by_index.setdefault(msg["index"], []).append("%s/%d" % (addr, msg["prefixlen"]))
        space = NamespaceState(netns)
        for msg in sock.get_links():
            link = _link(msg, by_index)
            space.links[link.name] = link
            self._index[(netns, link.name)] = link.index
        return space

    # -- applying -----------------------------------------------------------

    def apply(self, actions: Iterable[Action], done: list) -> None:
        """Apply actions in order; each one applied is appended to ``done``."""
        for action in actions:
            try:
                action.apply(self)
            except NetlinkError as exc:
                raise KernelError(
                    "%s failed: %s" % (action.describe(), _netlink_hint(exc.code, action)),
                    errno=exc.code, failed_action=action.describe(), actions=[a.describe() for a in done],
                ) from None
            except OSError as exc:
                hint = (action.hint(exc.errno) if exc.errno else None) or exc.strerror or str(exc)
                if exc.errno in (errno.EPERM, errno.EACCES):
                    hint = _netlink_hint(exc.errno, action)
                raise KernelError(
                    "%s failed: %s" % (action.describe(), hint),
                    errno=exc.errno, failed_action=action.describe(), actions=[a.describe() for a in done],
                ) from None
            done.append(action)

    def wait_gone(self, links, timeout: float = 10.0) -> None:
        """Wait until the kernel has reaped links that die with a deleted namespace.

        Namespace cleanup runs in a kernel work queue after `ip netns del`
        returns; waiting here means a task that removed a lab never reports
        back while parts of it linger (a re-run would find them).
        """
        pending: Dict[Optional[str], set] = {}
        for netns, name in links:
            pending.setdefault(netns, set()).add(name)
        deadline = time.monotonic() + timeout
        while pending:
            for netns in list(pending):
                if netns is not HOST and netns not in list_namespaces():
                    del pending[netns]
                    continue
                present = {msg.get_attr("IFLA_IFNAME") for msg in self.socket(netns).get_links()}
                pending[netns] &= present
                if not pending[netns]:
                    del pending[netns]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise KernelError("the kernel did not remove %s within %d seconds" % (
                    ", ".join(sorted(n for names in pending.values() for n in names)), timeout))
            time.sleep(0.01)


def _link(msg, addresses: Dict[int, list]) -> Link:
    """One device of a link dump; its kind's parser decodes what only that kind has."""
    kind_name = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    kind = _kinds.by_link_kind(kind_name)
    info = None
    if kind is not None and kind.parse is not None:
        info = kind.parse(msg, msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA"))
    master = _kinds.by_link_kind(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_KIND"))
    port = None
    if master is not None and master.parse_port is not None:
        port = master.parse_port(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA"))
    peered = kind is not None and kind.peered
    return Link(
        name=msg.get_attr("IFLA_IFNAME"),
        index=msg["index"],
        kind=kind_name,
        mtu=msg.get_attr("IFLA_MTU"),
        up=bool(msg["flags"] & IFF_UP),
        addresses=tuple(_normalize_all(addresses.get(msg["index"], ()))),
        link_index=msg.get_attr("IFLA_LINK") if peered else None,
        link_netnsid=msg.get_attr("IFLA_LINK_NETNSID") if peered else None,
        master=msg.get_attr("IFLA_MASTER"),
        alias=msg.get_attr("IFLA_IFALIAS"),
        link_type=msg["ifi_type"],
        info=info,
        port=port,
    )


def _normalize_all(cidrs) -> list:
    return sorted({normalize_cidr(c) for c in cidrs}, key=address_sort_key)
