# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel adapter: the only place that imports pyroute2.

One netlink socket per namespace per run, opened on first use and reused;
one link dump and one address dump to read a namespace. Netlink errors come
out as domain errors with words a user can act on.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import fcntl
import os
import struct
import time
import traceback
from typing import Dict, Iterable, Optional

from ansible_collections.netvirt.linux.plugins.module_utils._errors import (
    KernelError,
    NamespaceMissingError,
    NamespaceStaleError,
    PrivilegeError,
)
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    HOST,
    BridgeInfo,
    Link,
    NamespaceState,
    PortInfo,
    TunInfo,
    VxlanInfo,
    RouteEntry,
    World,
    address_sort_key,
    resolve_peers,
    stale_message,
    NETNS_RUN_DIR,
    netns_label,
    normalize_cidr,
)
from ansible_collections.netvirt.linux.plugins.module_utils import _plan as P
from ansible_collections.netvirt.linux.plugins.module_utils import _sysctl

try:
    from pyroute2 import IPRoute, NetlinkError
    from pyroute2 import netns as pyroute2_netns
    from pyroute2.netlink.rtnl.ifinfmsg.tuntap import TUNSETGROUP, TUNSETIFF, TUNSETOWNER, TUNSETPERSIST
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR: Optional[str] = traceback.format_exc()
else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

AF_INET6 = 10
RTN_UNICAST = 1
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
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
    if code == errno.EEXIST and isinstance(action, P.CreateVxlan):
        return ("a device with that name, or another vxlan device in that namespace with the same vni, "
                "dstport and local address, already exists")
    if code == errno.EEXIST:
        return "a device with that name already exists"
    if code == errno.ENODEV:
        return "no such device"
    if code == errno.EINVAL and isinstance(action, P.MoveLink):
        return ("the kernel refused to move it; bridges, vxlan and loopback devices are netns-local "
                "and cannot change namespace: delete it and create it in the target namespace instead")
    if code == errno.EINVAL and isinstance(action, (P.SetMtu, P.CreateVeth)):
        return "the kernel refused the MTU for this device"
    if code == errno.ERANGE and isinstance(action, (P.CreateBridge, P.SetBridgeOptions)):
        return ("a bridge option is out of the kernel's range (forward_delay must be 2 to 30 seconds while STP "
                "is on, hello_time 1 to 10, max_age 6 to 40)")
    if code == errno.EBUSY and isinstance(action, P.SetTunParams):
        return ("a program (a VM, a VPN) has the device open; packet info, vnet_hdr, owner and group can only "
                "be changed while nothing is attached: stop the program and run the task again")
    if code == errno.EINVAL and isinstance(action, (P.CreateTap, P.SetTunParams)):
        return ("the kernel refused the tun/tap flags: the name is held by another kind of device, or the "
                "device's mode or multi_queue differ")
    if code == errno.ELOOP and isinstance(action, P.AttachPort):
        return "that would put a bridge inside itself"
    if code == errno.ENETUNREACH and isinstance(action, P.SetRoute):
        return ("the gateway is not on a network connected to that namespace; give one of its interfaces "
                "an address in the gateway's subnet first")
    if code == errno.EOPNOTSUPP:
        return "operation not supported by this kernel"
    return os.strerror(code)


class Kernel:
    """Reads and changes the kernel's network state, across namespaces."""

    def __init__(self):
        self._sockets: Dict[Optional[str], "IPRoute"] = {}
        self._fds: Dict[Optional[str], int] = {}
        self._index: Dict[tuple, int] = {}
        self._home_fd: Optional[int] = None
        # (namespace, other namespace) -> the netnsid the first gives the second.
        self._nsids: Dict[tuple, Optional[int]] = {}

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._home_fd is not None:
            os.close(self._home_fd)
            self._home_fd = None

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _socket(self, netns: Optional[str]) -> "IPRoute":
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

    def _home(self) -> int:
        """The namespace the module started in, to come back to."""
        if self._home_fd is None:
            self._home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        return self._home_fd

    def _netns_fd(self, netns: Optional[str]) -> int:
        fd = self._fds.get(netns)
        if fd is None:
            if netns is HOST:
                return self._home()
            path = os.path.join(NETNS_RUN_DIR, netns)
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                raise NamespaceMissingError(
                    "network namespace '%s' does not exist" % netns, netns=netns) from None
            self._fds[netns] = fd
        return fd

    # -- reading ------------------------------------------------------------

    def read(self, namespaces: Iterable[Optional[str]], routes_in: Iterable[Optional[str]] = (),
             sysctls: Optional[Dict[Optional[str], Iterable[str]]] = None, everything: bool = False) -> World:
        """One link dump and one address dump for each namespace that exists (for
        every namespace with ``everything``); a route dump and sysctl reads only
        where a desired object needs them."""
        existing = set(list_namespaces())
        stale = set()
        world = World()
        # Namespaces may have been deleted and made again since the last read.
        self._nsids.clear()
        named = set(namespaces)
        if everything:
            namespaces = [HOST] + sorted(existing) + list(namespaces)
        routes_in = set(routes_in)
        for netns in namespaces:
            if netns in world.spaces or netns in stale or not (netns is HOST or netns in existing):
                continue
            try:
                # A namespace read only to find a lab's marks needs no addresses.
                space = self.read_namespace(netns, addresses=netns in named)
                if netns in routes_in:
                    space.routes = self.read_routes(netns)
                keys = (sysctls or {}).get(netns)
                if keys:
                    space.sysctls = self.read_sysctls(netns, keys)
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
        by_index = {netns: {link.index: link for link in space.links.values() if link.kind == "veth"}
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
            answer = self._socket(netns).get_netnsid(fd=self._netns_fd(other))
            nsid = (answer or {}).get("nsid")
            # NETNSA_NSID_NOT_ASSIGNED (-1, read unsigned): no id there, so no link points at it.
            self._nsids[key] = nsid if nsid is not None and 0 <= nsid < 0x7FFFFFFF else None
        return self._nsids[key]

    def read_routes(self, netns: Optional[str]) -> tuple:
        """Unicast routes of every table, one dump."""
        entries = []
        for msg in self._socket(netns).get_routes():
            if msg["type"] != RTN_UNICAST:
                continue
            family = 6 if msg["family"] == AF_INET6 else 4
            dst = msg.get_attr("RTA_DST") or ("::" if family == 6 else "0.0.0.0")
            entries.append(RouteEntry(
                dst=ipaddress.ip_network("%s/%d" % (dst, msg["dst_len"]), strict=False).with_prefixlen,
                table=msg.get_attr("RTA_TABLE") or msg["table"],
                metric=msg.get_attr("RTA_PRIORITY") or 0,
                gateway=msg.get_attr("RTA_GATEWAY"),
                oif=msg.get_attr("RTA_OIF"),
                proto=msg["proto"],
            ))
        return tuple(entries)

    @contextlib.contextmanager
    def inside(self, netns: Optional[str]):
        """Run the body with this thread in ``netns``; /proc/sys/net and /dev/net/tun follow it."""
        if netns is HOST:
            yield
            return
        target = self._netns_fd(netns)
        home = self._home()
        try:
            pyroute2_netns.setns(target, flags=0)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise PrivilegeError(
                    "cannot enter network namespace '%s': permission denied; run the task as root "
                    "(become: true)" % netns, netns=netns) from None
            if exc.errno == errno.EINVAL:
                self._drop(netns)
                raise NamespaceStaleError(stale_message(netns), netns=netns) from None
            raise
        try:
            yield
        finally:
            pyroute2_netns.setns(home, flags=0)

    def read_sysctls(self, netns: Optional[str], keys: Iterable[str]) -> Dict[str, Optional[str]]:
        values: Dict[str, Optional[str]] = {}
        with self.inside(netns):
            for key in keys:
                # Confined to /proc/sys/net; None when the key does not exist here.
                values[key] = _sysctl.read(key)
        return values

    def read_namespace(self, netns: Optional[str], addresses: bool = True) -> NamespaceState:
        sock = self._socket(netns)
        by_index: Dict[int, list] = {}
        for msg in sock.get_addr() if addresses else ():
            addr = msg.get_attr("IFA_ADDRESS") if msg["family"] == 10 else (
                msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS"))
            if addr is None:
                continue
            by_index.setdefault(msg["index"], []).append("%s/%d" % (addr, msg["prefixlen"]))
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
                addresses=tuple(_normalize_all(by_index.get(msg["index"], ()))),
                link_index=msg.get_attr("IFLA_LINK") if kind == "veth" else None,
                link_netnsid=msg.get_attr("IFLA_LINK_NETNSID") if kind == "veth" else None,
                master=msg.get_attr("IFLA_MASTER"),
                alias=msg.get_attr("IFLA_IFALIAS"),
                link_type=msg["ifi_type"],
                bridge=_bridge_info(msg, kind),
                port=_port_info(msg),
                tun=_tun_info(msg, kind),
                vxlan=_vxlan_info(msg, kind),
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

    def wait_gone(self, links, timeout: float = 10.0) -> None:
        """Wait until the kernel has reaped links that die with a deleted namespace.

        Namespace cleanup runs in a kernel work queue after `ip netns del`
        returns; waiting here means a task that removed a lab never reports
        back while parts of it linger (a re-run would find them).
        """
        pending = {}
        for netns, name in links:
            pending.setdefault(netns, set()).add(name)
        deadline = time.monotonic() + timeout
        while pending:
            for netns in list(pending):
                if netns is not HOST and netns not in list_namespaces():
                    del pending[netns]
                    continue
                present = {msg.get_attr("IFLA_IFNAME") for msg in self._socket(netns).get_links()}
                pending[netns] &= present
                if not pending[netns]:
                    del pending[netns]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise KernelError("the kernel did not remove %s within %d seconds" % (
                    ", ".join(sorted(n for names in pending.values() for n in names)), timeout))
            time.sleep(0.01)

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
        if action.replace_stale:
            self._drop(action.name)
            pyroute2_netns.remove(action.name)
        create_here = getattr(pyroute2_netns, "_create", None)
        if create_here is None:  # pragma: no cover - other pyroute2 releases
            pyroute2_netns.create(action.name)
            return
        # As `ip netns add` does, in this process: unshare this thread's
        # network namespace and bind-mount it under /run/netns. The new
        # namespace is current, so open its socket before going home.
        home = self._home()
        try:
            create_here(action.name)
            self._sockets[action.name] = IPRoute()
        finally:
            pyroute2_netns.setns(home, flags=0)

    def _drop(self, netns: Optional[str]) -> None:
        """Forget the socket and descriptor held for a namespace."""
        sock = self._sockets.pop(netns, None)
        if sock is not None:
            sock.close()
        fd = self._fds.pop(netns, None)
        if fd is not None:
            os.close(fd)

    def _apply_DeleteNetns(self, action: P.DeleteNetns) -> None:
        self._drop(action.name)
        # As `ip netns del`: detach the mount (a stale entry has none) and unlink the entry.
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

    def _apply_SetAlias(self, action: P.SetAlias) -> None:
        self._socket(action.netns).link("set", index=self._ifindex(action.netns, action.name), ifalias=action.alias)

    def _apply_SetSysctl(self, action: P.SetSysctl) -> None:
        with self.inside(action.netns):
            try:
                # Confined to /proc/sys/net, write-only, never created or truncated.
                _sysctl.write(action.key, action.value)
            except FileNotFoundError:
                raise KernelError("sysctl %s does not exist in %s (check the key; per-interface keys need the "
                                  "interface to exist)" % (action.key, netns_label(action.netns))) from None
            except OSError as exc:
                raise KernelError("the kernel refused sysctl %s=%s in %s: %s" % (
                    action.key, action.value, netns_label(action.netns), exc.strerror)) from None

    def _route_kwargs(self, netns: Optional[str], route) -> dict:
        kwargs = dict(dst=route.dst, table=route.table, priority=route.effective_metric)
        if route.gateway:
            kwargs["gateway"] = route.gateway
        else:
            # A route straight out of a device reaches hosts on the link, as `ip route` sets it.
            kwargs["scope"] = RT_SCOPE_LINK
        if route.dev:
            kwargs["oif"] = self._ifindex(netns, route.dev)
        return kwargs

    def _apply_SetRoute(self, action: P.SetRoute) -> None:
        self._socket(action.netns).route("replace", **self._route_kwargs(action.netns, action.route))

    def _apply_DelRoute(self, action: P.DelRoute) -> None:
        route = action.route
        # Scope "nowhere" matches a route of any scope, as `ip route del` does.
        self._socket(action.netns).route(
            "del", dst=route.dst, table=route.table, priority=route.effective_metric, scope=RT_SCOPE_NOWHERE)

    def _apply_DelAddress(self, action: P.DelAddress) -> None:
        address, prefixlen = action.cidr.split("/")
        self._socket(action.netns).addr(
            "del", index=self._ifindex(action.netns, action.name), address=address, prefixlen=int(prefixlen))

    # -- bridge / tap ---------------------------------------------------------

    def _apply_CreateBridge(self, action: P.CreateBridge) -> None:
        self._socket(action.netns).link("add", ifname=action.name, kind="bridge", **_bridge_kwargs(action.options))

    def _apply_SetBridgeOptions(self, action: P.SetBridgeOptions) -> None:
        self._socket(action.netns).link("set", index=self._ifindex(action.netns, action.name), kind="bridge",
                                        **_bridge_kwargs(action.options))

    def _apply_AttachPort(self, action: P.AttachPort) -> None:
        self._socket(action.netns).link("set", index=self._ifindex(action.netns, action.name),
                                        master=self._ifindex(action.netns, action.bridge))

    def _apply_DetachPort(self, action: P.DetachPort) -> None:
        self._socket(action.netns).link("set", index=self._ifindex(action.netns, action.name), master=0)

    def _apply_SetPortOptions(self, action: P.SetPortOptions) -> None:
        kwargs = {}
        for option, value in action.options:
            # The kernel calls hairpin mode IFLA_BRPORT_MODE.
            kwargs["mode" if option == "hairpin" else option] = int(value)
        self._socket(action.netns).brport("set", index=self._ifindex(action.netns, action.name), **kwargs)

    def _apply_CreateTap(self, action: P.CreateTap) -> None:
        self._tun_configure(action.netns, action.name, action.mode, action.multi_queue, action.pi,
                            action.vnet_hdr, action.owner, action.group)

    def _apply_SetTunParams(self, action: P.SetTunParams) -> None:
        self._tun_configure(action.netns, action.name, action.mode, action.multi_queue, action.pi,
                            action.vnet_hdr, action.owner, action.group)

    def _apply_CreateVxlan(self, action: P.CreateVxlan) -> None:
        kwargs = {"vxlan_id": action.vni, "vxlan_port": action.dstport}
        six = any(":" in a for a in (action.local, action.remote, action.group) if a)
        if action.local:
            kwargs["vxlan_local6" if six else "vxlan_local"] = action.local
        destination = action.remote or action.group
        if destination:
            kwargs["vxlan_group6" if six else "vxlan_group"] = destination
        if action.dev is not None:
            kwargs["vxlan_link"] = self._ifindex(action.netns, action.dev)
        self._socket(action.netns).link("add", ifname=action.name, kind="vxlan", **kwargs)

    def _tun_configure(self, netns, name, mode, multi_queue, pi, vnet_hdr, owner, group) -> None:
        """Create or re-attach a tun/tap device by ioctl, set owner/group, and make it persistent.

        Attaching to an existing device sets its packet-info and vnet_hdr
        flags; its type and multi_queue must match, which the planner ensures.
        """
        flags = IFF_TAP if mode == "tap" else IFF_TUN
        if not pi:
            flags |= IFF_NO_PI
        if vnet_hdr:
            flags |= IFF_VNET_HDR
        if multi_queue:
            flags |= IFF_MULTI_QUEUE
        if TUNSETIFF is None:
            raise NetlinkError(errno.EOPNOTSUPP, "tun/tap ioctls unknown for this architecture")
        fd = self._tun_open(netns)
        try:
            # struct ifreq: the name, then the flags, padded to 40 bytes.
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode("utf-8"), flags))
            if owner is not None:
                fcntl.ioctl(fd, TUNSETOWNER, owner)
            if group is not None:
                fcntl.ioctl(fd, TUNSETGROUP, group)
            fcntl.ioctl(fd, TUNSETPERSIST, 1)
        except OSError as exc:
            # Reported like a netlink refusal, so that the error gets its hint.
            raise NetlinkError(exc.errno or errno.EIO, str(exc)) from None
        finally:
            os.close(fd)
        self._forget(netns, name)

    def _tun_open(self, netns) -> int:
        """/dev/net/tun opened from inside ``netns``: TUNSETIFF works in the opener's namespace."""
        if netns is HOST:
            return os.open(TUN_DEVICE, os.O_RDWR)
        target = self._netns_fd(netns)
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            pyroute2_netns.setns(target, flags=0)
            try:
                return os.open(TUN_DEVICE, os.O_RDWR)
            finally:
                pyroute2_netns.setns(home, flags=0)
        finally:
            os.close(home)


def _normalize_all(cidrs) -> list:
    return sorted({normalize_cidr(c) for c in cidrs}, key=address_sort_key)


# ------------------------------------------------------------ bridge / tap ---

TUN_DEVICE = "/dev/net/tun"
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_TYPES = {1: "tun", 2: "tap"}
BRIDGE_NLA = {
    "stp": "IFLA_BR_STP_STATE",
    "forward_delay": "IFLA_BR_FORWARD_DELAY",
    "hello_time": "IFLA_BR_HELLO_TIME",
    "max_age": "IFLA_BR_MAX_AGE",
    "ageing_time": "IFLA_BR_AGEING_TIME",
    "priority": "IFLA_BR_PRIORITY",
}


def _bridge_kwargs(options) -> dict:
    """(option, value) pairs -> pyroute2's link() keywords (br_<nla name>)."""
    return {BRIDGE_NLA[option][len("IFLA_"):].lower(): int(value) for option, value in options}


def _bridge_info(msg, kind: Optional[str]) -> Optional[BridgeInfo]:
    if kind != "bridge":
        return None
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    if data is None:
        return BridgeInfo()
    values = {}
    for option, nla in BRIDGE_NLA.items():
        value = data.get_attr(nla)
        if value is not None:
            values[option] = bool(value) if option == "stp" else int(value)
    return BridgeInfo(**values)


def _port_info(msg) -> Optional[PortInfo]:
    if msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_KIND") != "bridge":
        return None
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA")
    if data is None:
        return PortInfo()
    return PortInfo(cost=data.get_attr("IFLA_BRPORT_COST"), priority=data.get_attr("IFLA_BRPORT_PRIORITY"),
                    hairpin=bool(data.get_attr("IFLA_BRPORT_MODE")))


def _tun_info(msg, kind: Optional[str]) -> Optional[TunInfo]:
    if kind != "tun":
        return None
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    if data is None:
        return TunInfo()
    return TunInfo(
        mode=TUN_TYPES.get(data.get_attr("IFLA_TUN_TYPE"), "tap"),
        # The kernel leaves owner and group out when they are unset.
        owner=data.get_attr("IFLA_TUN_OWNER"),
        group=data.get_attr("IFLA_TUN_GROUP"),
        pi=bool(data.get_attr("IFLA_TUN_PI")),
        vnet_hdr=bool(data.get_attr("IFLA_TUN_VNET_HDR")),
        multi_queue=bool(data.get_attr("IFLA_TUN_MULTI_QUEUE")),
        persist=bool(data.get_attr("IFLA_TUN_PERSIST")),
        # A tun/tap device has carrier exactly while a program has it open.
        attached=bool(msg.get_attr("IFLA_CARRIER")),
    )


def _vxlan_info(msg, kind: Optional[str]) -> Optional[VxlanInfo]:
    if kind != "vxlan":
        return None
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    if data is None:
        return VxlanInfo()

    def address(*nlas):
        for nla in nlas:
            value = data.get_attr(nla)
            if value and value not in ("0.0.0.0", "::"):
                return str(ipaddress.ip_address(value))
        return None

    destination = address("IFLA_VXLAN_GROUP", "IFLA_VXLAN_GROUP6")
    multicast = destination is not None and ipaddress.ip_address(destination).is_multicast
    return VxlanInfo(
        vni=data.get_attr("IFLA_VXLAN_ID"),
        local=address("IFLA_VXLAN_LOCAL", "IFLA_VXLAN_LOCAL6"),
        remote=None if multicast else destination,
        group=destination if multicast else None,
        dstport=data.get_attr("IFLA_VXLAN_PORT"),
        dev=data.get_attr("IFLA_VXLAN_LINK") or None,
    )
