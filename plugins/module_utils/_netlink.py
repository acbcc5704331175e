# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel adapter: the only place that imports pyroute2.

One netlink socket per namespace per run, opened on first use and reused;
one link dump and one address dump to read a namespace. Netlink errors come
out as domain errors with words a user can act on.
"""

from __future__ import annotations

import errno
import os
import traceback
from typing import Dict, Iterable, Optional

from ansible_collections.netvirt.linux.plugins.module_utils._errors import (
    KernelError,
    NamespaceMissingError,
    PrivilegeError,
)
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    Link,
    NamespaceState,
    World,
    address_sort_key,
    netns_label,
    normalize_cidr,
)
from ansible_collections.netvirt.linux.plugins.module_utils import _plan as P

try:
    from pyroute2 import IPRoute, NetlinkError
    from pyroute2 import netns as pyroute2_netns
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR: Optional[str] = traceback.format_exc()
else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

NETNS_RUN_DIR = "/run/netns"
IFF_UP = 0x1


def list_namespaces() -> frozenset:
    """Named namespaces, exactly as `ip netns list` sees them (no prefix matching)."""
    try:
        return frozenset(
            entry for entry in os.listdir(NETNS_RUN_DIR) if os.path.isfile(os.path.join(NETNS_RUN_DIR, entry))
        )
    except FileNotFoundError:
        return frozenset()


def _netlink_hint(code: int, action: Optional[P.Action]) -> str:
    if code == errno.EPERM or code == errno.EACCES:
        return "permission denied; run the task as root (become: true), it needs CAP_NET_ADMIN"
    if code == errno.EEXIST:
        return "a device with that name already exists"
    if code == errno.ENODEV:
        return "no such device"
    if code == errno.EINVAL and isinstance(action, P.MoveLink):
        return ("the kernel refused to move it; bridges, vxlan and loopback devices are netns-local "
                "and cannot change namespace: delete it and create it in the target namespace instead")
    if code == errno.EINVAL and isinstance(action, (P.SetMtu, P.CreateVeth)):
        return "the kernel refused the MTU for this device"
    if code == errno.EOPNOTSUPP:
        return "operation not supported by this kernel"
    return os.strerror(code)


class Kernel:
    """Reads and changes the kernel's network state, across namespaces."""

    def __init__(self):
        self._sockets: Dict[Optional[str], "IPRoute"] = {}
        self._fds: Dict[Optional[str], int] = {}
        self._index: Dict[tuple, int] = {}

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _socket(self, netns: Optional[str]) -> "IPRoute":
        sock = self._sockets.get(netns)
        if sock is None:
            try:
                # flags=0: never create a namespace by accident.
                sock = IPRoute() if netns is HOST else IPRoute(netns=netns, flags=0)
            except FileNotFoundError:
                raise NamespaceMissingError(
                    "network namespace '%s' does not exist" % netns, netns=netns) from None
            except PermissionError:
                raise PrivilegeError(
                    "cannot enter network namespace '%s': permission denied; run the task as root "
                    "(become: true)" % netns, netns=netns) from None
            self._sockets[netns] = sock
        return sock

    def _netns_fd(self, netns: Optional[str]) -> int:
        fd = self._fds.get(netns)
        if fd is None:
            path = "/proc/self/ns/net" if netns is HOST else os.path.join(NETNS_RUN_DIR, netns)
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                raise NamespaceMissingError(
                    "network namespace '%s' does not exist" % netns, netns=netns) from None
            self._fds[netns] = fd
        return fd

    # -- reading ------------------------------------------------------------

    def read(self, namespaces: Iterable[Optional[str]]) -> World:
        """One link dump and one address dump for each namespace that exists."""
        existing = list_namespaces()
        world = World(namespaces=existing)
        for netns in namespaces:
            if netns in world.spaces or not (netns is HOST or netns in existing):
                continue
            world.spaces[netns] = self.read_namespace(netns)
        return world

    def read_namespace(self, netns: Optional[str]) -> NamespaceState:
        sock = self._socket(netns)
        addresses: Dict[int, list] = {}
        for msg in sock.get_addr():
            addr = msg.get_attr("IFA_ADDRESS") if msg["family"] == 10 else (
                msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS"))
            if addr is None:
                continue
            addresses.setdefault(msg["index"], []).append("%s/%d" % (addr, msg["prefixlen"]))
        space = NamespaceState(netns)
        for msg in sock.get_links():
            name = msg.get_attr("IFLA_IFNAME")
            kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
            link = Link(
                name=name,
                index=msg["index"],
                kind=kind,
                mtu=msg.get_attr("IFLA_MTU"),
                up=bool(msg["flags"] & IFF_UP),
                addresses=tuple(_normalize_all(addresses.get(msg["index"], ()))),
                link_index=msg.get_attr("IFLA_LINK") if kind == "veth" else None,
                link_netnsid=msg.get_attr("IFLA_LINK_NETNSID") if kind == "veth" else None,
                master=msg.get_attr("IFLA_MASTER"),
            )
            space.links[name] = link
            self._index[(netns, name)] = link.index
        return space

    # -- applying -----------------------------------------------------------

    def apply(self, actions: Iterable[P.Action], done: list) -> None:
        """Apply actions in order; each one applied is appended to ``done``."""
        for action in actions:
            handler = getattr(self, "_apply_" + type(action).__name__)
            try:
                handler(action)
            except NetlinkError as exc:
                raise KernelError(
                    "%s failed: %s" % (action.describe(), _netlink_hint(exc.code, action)),
                    errno=exc.code, failed_action=action.describe(), actions=[a.describe() for a in done],
                ) from None
            except OSError as exc:
                if exc.errno in (errno.EPERM, errno.EACCES):
                    hint = _netlink_hint(exc.errno, action)
                else:
                    hint = exc.strerror or str(exc)
                raise KernelError(
                    "%s failed: %s" % (action.describe(), hint),
                    errno=exc.errno, failed_action=action.describe(), actions=[a.describe() for a in done],
                ) from None
            done.append(action)

    def _ifindex(self, netns: Optional[str], name: str) -> int:
        index = self._index.get((netns, name))
        if index is None:
            found = self._socket(netns).link_lookup(ifname=name)
            if not found:
                raise KernelError("no device '%s' in %s" % (name, netns_label(netns)))
            index = found[0]
            self._index[(netns, name)] = index
        return index

    def _forget(self, netns: Optional[str], name: str) -> None:
        self._index.pop((netns, name), None)

    def _apply_CreateNetns(self, action: P.CreateNetns) -> None:
        pyroute2_netns.create(action.name)

    def _apply_DeleteNetns(self, action: P.DeleteNetns) -> None:
        sock = self._sockets.pop(action.name, None)
        if sock is not None:
            sock.close()
        fd = self._fds.pop(action.name, None)
        if fd is not None:
            os.close(fd)
        pyroute2_netns.remove(action.name)

    def _apply_CreateVeth(self, action: P.CreateVeth) -> None:
        peer = {"ifname": action.peer, "net_ns_fd": self._netns_fd(action.peer_netns)}
        extra = {}
        if action.mtu is not None:
            peer["mtu"] = action.mtu
            extra["mtu"] = action.mtu
        self._socket(action.netns).link("add", ifname=action.name, kind="veth", peer=peer, **extra)

    def _apply_MoveLink(self, action: P.MoveLink) -> None:
        index = self._ifindex(action.netns, action.name)
        self._socket(action.netns).link("set", index=index, net_ns_fd=self._netns_fd(action.target))
        self._forget(action.netns, action.name)
        self._forget(action.target, action.name)

    def _apply_DeleteLink(self, action: P.DeleteLink) -> None:
        self._socket(action.netns).link("del", index=self._ifindex(action.netns, action.name))
        self._forget(action.netns, action.name)

    def _apply_SetMtu(self, action: P.SetMtu) -> None:
        self._socket(action.netns).link("set", index=self._ifindex(action.netns, action.name), mtu=action.mtu)

    def _apply_SetUp(self, action: P.SetUp) -> None:
        self._socket(action.netns).link(
            "set", index=self._ifindex(action.netns, action.name), state="up" if action.up else "down")

    def _apply_AddAddress(self, action: P.AddAddress) -> None:
        address, prefixlen = action.cidr.split("/")
        self._socket(action.netns).addr(
            "add", index=self._ifindex(action.netns, action.name), address=address, prefixlen=int(prefixlen))

    def _apply_DelAddress(self, action: P.DelAddress) -> None:
        address, prefixlen = action.cidr.split("/")
        self._socket(action.netns).addr(
            "del", index=self._ifindex(action.netns, action.name), address=address, prefixlen=int(prefixlen))


def _normalize_all(cidrs) -> list:
    return sorted({normalize_cidr(c) for c in cidrs}, key=address_sort_key)


def capability_problem() -> Optional[str]:
    """Why this process cannot change network state, or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    caps = int(line.split()[1], 16)
                    break
            else:
                return None
    except OSError:
        return None
    missing = [name for bit, name in ((12, "CAP_NET_ADMIN"), (21, "CAP_SYS_ADMIN")) if not caps >> bit & 1]
    if not missing:
        return None
    return ("this module changes kernel network state and needs %s, which this process (uid %d) lacks; "
            "run the task as root (become: true)" % (" and ".join(missing), os.geteuid()))
