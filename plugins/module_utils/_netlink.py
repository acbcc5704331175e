# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel adapter: the only place that imports pyroute2 or speaks netlink. It knows no kind by name.

Kinds and actions talk to the kernel only through Kernel's methods, named for
what they do (new_link, set_link, set_link_data, delete_link, move_link,
address, replace_route, delete_route, routes, inside, ifindex ...), with plain
values: names, indexes, and a kind's own IFLA_INFO_DATA packed by its declared
layout (_nlwire.packed). Whatever carried a request, a refusal comes out as one
exception, _errors.KernelError (KernelRefusal: its errno and generic words,
put in the failing action's own words by apply()).

Which codec serves which message:
- _nlwire (packed and unpacked with struct, on the plain reading socket,
  Reader): link and address dumps and single-link reads, RTM_GETNSID,
  RTM_NEWLINK (every kind's creation, a pair's nested peer, a kind's or a
  port's settings), RTM_SETLINK (state, alias, master, MTU), RTM_DELLINK,
  RTM_NEWADDR/RTM_DELADDR, a device's forwarding entries (AF_BRIDGE RTM_GETNEIGH
  dumps, RTM_NEWNEIGH append, RTM_DELNEIGH: a vxlan's remotes); and the attributes a kind's parser reads, handed to
  it as a plain dict decoded by the layout it declares. A read and most builds
  import no pyroute2 (its import costs a small task most of its start-up).
- pyroute2 (IPRoute, imported on first use): routes (RTM_NEWROUTE replace,
  RTM_DELROUTE, RTM_GETROUTE dumps, returned as plain dicts), moving a device
  to another namespace (IFLA_NET_NS_FD), and tc (a root qdisc's replacement
  and deletion, RTM_GETQDISC dumps as plain dicts: pyroute2's tcmsg encoding).
Namespaces are made and removed as `ip netns` does (_namespaces); a tun/tap's
ioctls are its kind's, in the namespace inside() enters.

One reading socket per namespace per run, opened on first use and reused
(within the open-file limit: past it the least recently used is closed,
_namespaces.Handles), and an IPRoute beside it only where pyroute2 is needed.
Devices are decoded by their kind's parser and actions apply themselves
(_actions.Action.apply), both found through the registry (_kinds.py).
"""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import os
import socket
import time
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds, _nlwire
from ansible_collections.netvirt.linux.plugins.module_utils._actions import Action
from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError, KernelRefusal, NamespaceMissingError, NamespaceStaleError
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, Link, NamespaceState, World, netns_label, resolve_peers
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import (
    Handles,
    Namespaces,
    create_netns,
    descriptor_budget,
    list_namespaces,
    remove_netns,
    setns,
    unshare_net,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute

# pyroute2 is imported when first needed (_pyroute2()): its import costs about 0.2 s, and a read,
# which is all a run that changes nothing does, needs none of it (_nlwire reads).
HAS_PYROUTE2 = importlib.util.find_spec("pyroute2") is not None
PYROUTE2_IMPORT_ERROR: Optional[str] = None if HAS_PYROUTE2 else "ModuleNotFoundError: No module named 'pyroute2'"
_PYROUTE2: Optional[SimpleNamespace] = None


def _pyroute2() -> SimpleNamespace:
    """IPRoute and NetlinkError, imported on first use."""
    global _PYROUTE2  # pylint: disable=global-statement
    if _PYROUTE2 is None:
        from pyroute2 import IPRoute, NetlinkError

        _PYROUTE2 = SimpleNamespace(IPRoute=IPRoute, NetlinkError=NetlinkError)
    return _PYROUTE2


@contextmanager
def _refusals() -> Iterator[None]:
    """pyroute2's NetlinkError out of the body as the adapter's one exception (KernelRefusal)."""
    try:
        yield
    except _pyroute2().NetlinkError as exc:
        raise KernelRefusal(exc.code, _netlink_hint(exc.code, None)) from None


IFF_UP = 0x1
# rtnetlink, as <linux/netlink.h> and <linux/rtnetlink.h> number it.
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 0x1, 0x2, 0x300
NLMSG_ERROR, NLMSG_DONE = 0x2, 0x3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK, RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR, RTM_GETNSID = 16, 17, 18, 19, 20, 21, 22, 90
NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x4, 0x200, 0x400, 0x800
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
AF_INET6 = 10
# A route of any scope, as `ip route del` matches it.
RT_SCOPE_NOWHERE = 255
# The parent of a device's root qdisc (<linux/pkt_sched.h>).
TC_H_ROOT = 0xFFFFFFFF
# (namespace, {item: ...}) per kind: namespace-wide state a kind reads beyond links.
Reads = Dict[Optional[str], List[Tuple[Callable, set]]]


def _netlink_hint(code: int, action: Optional[Action]) -> str:
    # The action's own words first: root gets EACCES too (an IPv6 address where IPv6 is disabled).
    hint = action.hint(code) if action is not None else None
    if hint:
        return hint
    if code == errno.EPERM or code == errno.EACCES:
        return "permission denied; run the task as root (become: true), it needs CAP_NET_ADMIN"
    if code == errno.EEXIST:
        return "a device with that name already exists"
    if code == errno.ENODEV:
        return "no such device"
    if code == errno.EOPNOTSUPP:
        return "operation not supported by this kernel"
    return os.strerror(code)


class Reader:
    """A plain rtnetlink socket in one namespace, for reading (and for the
    common writes: Kernel.new_link, set_link, address, delete_link): requests go out
    and answers come back synchronously, packed and unpacked by _nlwire
    (only the fields the planner reads), without IPRoute's event loop (which
    costs about a millisecond to open) or pyroute2's decoding of every
    attribute (most of a dump's time at a thousand namespaces).
    """

    # One receive buffer for every reader of the process (a dump's datagram is
    # at most a few pages; a megabyte leaves room for any single message).
    _buffer = bytearray(0)

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            # Strict checking: the kernel refuses a request it cannot honour
            # exactly rather than ignoring part of it.
            self._sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        except OSError:  # pragma: no cover - kernels before 4.20
            pass
        self._sock.bind((0, 0))
        self._seq = 0
        if not Reader._buffer:
            Reader._buffer = bytearray(1 << 20)

    def close(self) -> None:
        self._sock.close()

    def request(self, msg_type: int, flags: int, body: bytes) -> List[bytes]:
        """Send a request; the messages of the answer (all of a dump's); KernelRefusal (``errno``,
        positive) when the kernel answers with an error."""
        self._seq += 1
        seq = self._seq
        self._sock.send(_nlwire.message(msg_type, flags, seq, body))
        answer: List[bytes] = []
        done = False
        while not done:
            size = self._sock.recv_into(self._buffer)
            try:
                found, done = _nlwire.replies(bytes(memoryview(self._buffer)[:size]), seq)
            except _nlwire.NetlinkFailure as exc:
                raise KernelRefusal(exc.code, _netlink_hint(exc.code, None)) from None
            answer.extend(found)
        return answer

    def links(self) -> List[_nlwire.LinkRecord]:
        return [_nlwire.LinkRecord(raw) for raw in
                self.request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, _nlwire.link_request())]

    def addresses(self, index: int = 0) -> List[_nlwire.AddressRecord]:
        """Every address, or (``index``) those of one device: the kernel filters a strict dump by ifa_index."""
        found = [_nlwire.AddressRecord(raw) for raw in
                 self.request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, _nlwire.address_request(index))]
        return [record for record in found if not index or record.index == index]

    def link(self, name: Optional[str] = None, index: int = 0) -> Optional[_nlwire.LinkRecord]:
        """One device, by name or by index (RTM_GETLINK, no dump), or None when there is none."""
        try:
            answer = self.request(RTM_GETLINK, NLM_F_REQUEST, _nlwire.link_request(index, name))
        except KernelRefusal as exc:
            if exc.errno == errno.ENODEV:
                return None
            raise
        for raw in answer:
            record = _nlwire.LinkRecord(raw)
            # The kernel finds a device by an alternative name too; only its name counts here.
            if name is None or record.name == name:
                return record
        return None

    def fdb(self, index: int = 0) -> List[_nlwire.NeighbourRecord]:
        """Every forwarding entry (AF_BRIDGE), or (``index``) one device's: the kernel filters a strict dump."""
        found = [_nlwire.NeighbourRecord(raw) for raw in
                 self.request(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, _nlwire.fdb_request(index))]
        return [record for record in found if not index or record.index == index]

    def netnsid(self, fd: int) -> Optional[int]:
        """The id this namespace gives the namespace ``fd`` refers to (NETNSA_NSID), or None."""
        for raw in self.request(RTM_GETNSID, NLM_F_REQUEST, _nlwire.nsid_request(fd)):
            return _nlwire.nsid(raw)
        return None


class Kernel:
    """Reads and changes the kernel's network state, across namespaces."""

    def __init__(self):
        # Sockets and namespace descriptors are kept for reuse within what RLIMIT_NOFILE leaves
        # (_namespaces.descriptor_budget): half of it for reading sockets (one descriptor each), a quarter for
        # namespace descriptors, a sixteenth for IPRoutes (four each). Past that, the least recently used is
        # closed, so a lab of a thousand namespaces is read and torn down under `ulimit -n 64`.
        budget = descriptor_budget()
        self._sockets: Handles = Handles(budget // 16, _close)
        self._readers: Handles = Handles(budget // 2, _close)
        self._namespaces = Namespaces(budget // 4)
        self._index: Dict[tuple, int] = {}
        # (namespace, other namespace) -> the netnsid the first gives the second.
        self._nsids: Dict[tuple, Optional[int]] = {}
        # The tests' fault injector (never set in use): the N-th change of the run is refused as the
        # kernel refuses (NETVIRT_TEST_FAIL_AT=N), or reported made without being made
        # (NETVIRT_TEST_DROP_AT=N), to prove a failed run is undone and a change is read back.
        self._fail_at = _test_step("NETVIRT_TEST_FAIL_AT")
        self._drop_at = _test_step("NETVIRT_TEST_DROP_AT")
        self._steps = 0
        # Qdisc kinds probed this run (qdisc_kind_available): {kind: whether the kernel has it}.
        self._qdisc_kinds: Dict[str, bool] = {}

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        self._sockets.close_all()
        self._readers.close_all()
        self._namespaces.close()

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what actions and kinds use -------------------------------------------

    def _ipr(self, netns: Optional[str]) -> "IPRoute":
        """The run's pyroute2 socket in ``netns``, opened on first use (for what _nlwire does not carry)."""
        sock = self._sockets.use(netns)
        if sock is None:
            # A netlink socket belongs to the namespace it is opened in: open it
            # from inside, in this process. pyroute2's IPRoute(netns=...) would
            # fork a child per socket, ten times slower, and create a missing
            # namespace unless told not to.
            with self.inside(netns):
                sock = _pyroute2().IPRoute()
            self._sockets.keep(netns, sock)
        return sock

    def reader(self, netns: Optional[str]) -> Reader:
        """The run's reading socket in ``netns``, opened on first use (from inside, as _ipr())."""
        reader = self._readers.use(netns)
        if reader is None:
            with self.inside(netns):
                reader = Reader()
            self._readers.keep(netns, reader)
        return reader

    def inside(self, netns: Optional[str]):
        """Context manager: the body runs with this thread in ``netns`` (/proc/sys/net and /dev/net/tun follow)."""
        return self._namespaces.inside(netns)

    def netns_fd(self, netns: Optional[str]) -> int:
        return self._namespaces.fd(netns)

    def ifindex(self, netns: Optional[str], name: str) -> int:
        index = self._index.get((netns, name))
        if index is None:
            record = self.reader(netns).link(name=name)
            if record is None:
                raise KernelError("no device '%s' in %s" % (name, netns_label(netns)), errno=errno.ENODEV)
            index = record.index
            self._index[(netns, name)] = index
        return index

    def set_link(self, netns: Optional[str], index: int, state: Optional[str] = None, ifalias: Optional[str] = None,
                 master: Optional[int] = None, mtu: Optional[int] = None) -> None:
        """RTM_SETLINK on device ``index``: ``state`` up or down, an alias, a master (0: none), an MTU."""
        body = _nlwire.setlink_request(index, state=state, ifalias=ifalias, master=master, mtu=mtu)
        self.reader(netns).request(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, body)

    def new_link(self, netns: Optional[str], name: str, link_kind: str, data: bytes = b"", mtu: Optional[int] = None,
                 parent: Optional[int] = None, peer: Optional[Tuple[str, Optional[str]]] = None) -> None:
        """RTM_NEWLINK: make device ``name`` of ``link_kind`` in ``netns`` (refused when the name is taken),
        with ``data`` as its IFLA_INFO_DATA (packed by its kind's layout, _nlwire.packed), ``mtu``, and
        ``parent``, the index of the device it is made on. ``peer``, (name, namespace): the other end of a
        pair, made with it straight in that namespace, with the same MTU."""
        # The reading socket first: opening it may close the least recently used namespace descriptor, and
        # the peer's must stay open until the request is sent.
        reader = self.reader(netns)
        body = _nlwire.newlink_request(name, link_kind, data, mtu=mtu, parent=parent,
                                       peer=None if peer is None else (peer[0], self.netns_fd(peer[1])))
        reader.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)

    def set_link_data(self, netns: Optional[str], index: int, link_kind: str, data: bytes, port: bool = False) -> None:
        """RTM_NEWLINK on device ``index`` with its ``link_kind``'s settings ``data`` (`ip link set ... type
        KIND ...`), or with ``port`` its settings as a port of a ``link_kind`` master (IFLA_INFO_SLAVE_DATA)."""
        self.reader(netns).request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK,
                                   _nlwire.newlink_request(None, link_kind, data, index, port))

    def delete_link(self, netns: Optional[str], index: int) -> None:
        """RTM_DELLINK of device ``index`` (a veth's peer goes with it), on the reading socket."""
        self.reader(netns).request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, _nlwire.ifinfo(index))

    def move_link(self, netns: Optional[str], name: str, target: Optional[str]) -> None:
        """Move device ``name`` of ``netns`` into ``target`` (pyroute2: IFLA_NET_NS_FD)."""
        index = self.ifindex(netns, name)
        sock = self._ipr(netns)
        with _refusals():
            sock.link("set", index=index, net_ns_fd=self.netns_fd(target))
        self.forget(netns, name)
        self.forget(target, name)

    def address(self, netns: Optional[str], command: str, index: int, address: str, prefixlen: int) -> None:
        """Add (``add``, refused when it is there) or remove (``del``) one address, on the reading socket."""
        msg_type, flags = {"add": (RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL),
                           "del": (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)}[command]
        self.reader(netns).request(msg_type, flags, _nlwire.address_change_request(index, address, prefixlen))

    def fdb_entries(self, netns: Optional[str], index: int = 0) -> List[Dict[str, Any]]:
        """The forwarding entries of ``netns`` (`bridge fdb show`), or of device ``index`` (`bridge fdb show dev X`),
        as plain dicts: ``index`` (the device), ``lladdr``, ``dst``, ``port``, ``vni``, ``via`` (NDA_IFINDEX; None
        when the kernel leaves them out, as it does for the device's own), ``self`` (the device's own table,
        NTF_SELF, not its master's) and ``permanent``."""
        return [dict(index=record.index, lladdr=record.lladdr, dst=record.dst, port=record.port, vni=record.vni,
                     via=record.via, self=bool(record.flags & _nlwire.NTF_SELF),
                     permanent=bool(record.state & _nlwire.NUD_PERMANENT))
                for record in self.reader(netns).fdb(index)]

    def fdb_append(self, netns: Optional[str], index: int, lladdr: str, dst: str, port: Optional[int] = None,
                   vni: Optional[int] = None, via: Optional[int] = None) -> None:
        """Add destination ``dst`` to device ``index``'s own forwarding entry for ``lladdr``, made when missing
        (`bridge fdb append LLADDR dev DEV dst DST`: RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND)."""
        self.reader(netns).request(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND,
                                   _nlwire.fdb_change_request(index, lladdr, dst, port, vni, via))

    def fdb_delete(self, netns: Optional[str], index: int, lladdr: str, dst: str, port: Optional[int] = None,
                   vni: Optional[int] = None, via: Optional[int] = None) -> None:
        """Remove destination ``dst`` from device ``index``'s forwarding entry for ``lladdr`` (`bridge fdb del`);
        the entry goes with its last destination."""
        self.reader(netns).request(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK,
                                   _nlwire.fdb_change_request(index, lladdr, dst, port, vni, via))

    def replace_route(self, netns: Optional[str], dst: str, table: int, metric: int, gateway: Optional[str] = None,
                      oif: Optional[int] = None, scope: Optional[int] = None) -> None:
        """Add or replace the route to ``dst`` (CIDR) of ``table`` and ``metric`` (pyroute2: RTM_NEWROUTE)."""
        kwargs: Dict[str, Any] = dict(dst=dst, table=table, priority=metric)
        for key, value in (("gateway", gateway), ("oif", oif), ("scope", scope)):
            if value is not None:
                kwargs[key] = value
        sock = self._ipr(netns)
        with _refusals():
            sock.route("replace", **kwargs)

    def delete_route(self, netns: Optional[str], dst: str, table: int, metric: int) -> None:
        """Delete the route to ``dst`` of ``table`` and ``metric``, whatever its scope, as `ip route del` does."""
        sock = self._ipr(netns)
        with _refusals():
            sock.route("del", dst=dst, table=table, priority=metric, scope=RT_SCOPE_NOWHERE)

    def routes(self, netns: Optional[str]) -> List[Dict[str, Any]]:
        """Every route of every table of ``netns`` (pyroute2: an RTM_GETROUTE dump), as plain dicts: ``type``
        (RTN_*), ``family`` (4 or 6), ``dst`` (a CIDR, the network's own), ``table``, ``metric``, ``gateway``,
        ``oif`` (an index, or None), ``proto``."""
        sock = self._ipr(netns)
        with _refusals():
            found = sock.get_routes()
        records = []
        for msg in found:
            family = 6 if msg["family"] == AF_INET6 else 4
            dst = msg.get_attr("RTA_DST") or ("::" if family == 6 else "0.0.0.0")
            records.append(dict(
                type=msg["type"], family=family,
                dst=ipaddress.ip_network("%s/%d" % (dst, msg["dst_len"]), strict=False).with_prefixlen,
                table=msg.get_attr("RTA_TABLE") or msg["table"], metric=msg.get_attr("RTA_PRIORITY") or 0,
                gateway=msg.get_attr("RTA_GATEWAY"), oif=msg.get_attr("RTA_OIF"), proto=msg["proto"]))
        return records

    def replace_root_qdisc(self, netns: Optional[str], index: int, qdisc_kind: str, handle: int,
                           params: Dict[str, Any]) -> None:
        """Make device ``index``'s root qdisc ``qdisc_kind`` with ``handle`` (`tc qdisc replace dev X root handle
        H: KIND ...`), its settings ``params`` encoded by pyroute2's tc plugin of that kind (tcmsg.sched_*)."""
        sock = self._ipr(netns)
        with _refusals():
            sock.tc("replace", qdisc_kind, index, handle, **params)

    def delete_root_qdisc(self, netns: Optional[str], index: int) -> None:
        """Delete device ``index``'s root qdisc (`tc qdisc del dev X root`): the kernel puts its default back."""
        sock = self._ipr(netns)
        with _refusals():
            sock.tc("del", index=index, parent=TC_H_ROOT)

    def qdiscs(self, netns: Optional[str]) -> List[Dict[str, Any]]:
        """Every qdisc of ``netns`` (pyroute2: an RTM_GETQDISC dump), as plain dicts: ``index``, ``kind``,
        ``handle``, ``parent`` (numbers, TC_H_ROOT for a root qdisc) and ``options``, the kind's TCA_OPTIONS as
        pyroute2's tc plugin decodes them, flattened to plain values ({field or attribute name: value})."""
        sock = self._ipr(netns)
        with _refusals():
            found = sock.get_qdiscs()
        return [dict(index=msg["index"], kind=msg.get_attr("TCA_KIND"), handle=msg["handle"], parent=msg["parent"],
                     options=_plain(msg.get_attr("TCA_OPTIONS"))) for msg in found]

    @staticmethod
    def tc_ticks_per_usec() -> float:
        """The kernel's packet scheduler ticks per microsecond (/proc/net/psched), as pyroute2 encodes times."""
        from pyroute2.netlink.rtnl.tcmsg.common import tick_in_usec

        return float(tick_in_usec)

    def qdisc_kind_available(self, qdisc_kind: str, params: Optional[Dict[str, Any]] = None) -> bool:
        """Whether this kernel has the qdisc ``qdisc_kind`` (its sch_* built in or loadable): probed once per
        run by adding one (with ``params``, or its defaults) to the loopback of a throwaway namespace that no one else sees
        and that goes when the probe ends. The kernel answers ENOENT for a kind it does not know."""
        if qdisc_kind not in self._qdisc_kinds:
            home = self._namespaces.home()
            try:
                unshare_net()
                sock = _pyroute2().IPRoute()
                try:
                    sock.tc("add", qdisc_kind, 1, 0x10000, **(params or {}))
                    self._qdisc_kinds[qdisc_kind] = True
                except _pyroute2().NetlinkError as exc:
                    if exc.code != errno.ENOENT:
                        raise KernelRefusal(exc.code, _netlink_hint(exc.code, None)) from None
                    self._qdisc_kinds[qdisc_kind] = False
                finally:
                    sock.close()
            finally:
                setns(home)
        return self._qdisc_kinds[qdisc_kind]

    def forget(self, netns: Optional[str], name: str) -> None:
        """A device was made, moved or deleted: look its index up again next time."""
        self._index.pop((netns, name), None)

    def create_netns(self, name: str, replace_stale: bool = False) -> None:
        if replace_stale:
            self._drop(name)
            remove_netns(name)
        # As `ip netns add` does, in this process (_namespaces.create_netns). The new namespace is
        # current, so open its reading socket (which also makes devices, sets links and adds
        # addresses) before going home; an IPRoute is opened there only if something needs one.
        home = self._namespaces.home()
        try:
            create_netns(name)
            self._readers.keep(name, Reader())
        finally:
            setns(home)

    def delete_netns(self, name: str) -> None:
        self._drop(name)
        remove_netns(name)

    def _drop(self, netns: Optional[str]) -> None:
        """Forget the socket and descriptor held for a namespace."""
        self._sockets.forget(netns)
        self._readers.forget(netns)
        self._namespaces.drop(netns)

    # -- reading ------------------------------------------------------------

    def read(self, namespaces: Iterable[Optional[str]], reads: Optional[Reads] = None,
             everything: bool = False, names: Optional[Dict[Optional[str], set]] = None,
             addresses: bool = True) -> World:
        """One link dump and one address dump for each namespace that exists (for
        every namespace with ``everything``); what else kinds read (routes,
        sysctls) only where ``reads`` says a desired object needs it. With
        ``names`` ({netns: {device}}, _engine.names_to_read), only those
        devices and the ends they pair with are read, one request each. ``addresses=False``: no
        address dumps (a lab's removal looks only at devices and their marks)."""
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
                if names is not None:
                    space = self.read_devices(netns, names.get(netns, ()))
                else:
                    # A namespace read only to find a lab's marks needs no addresses.
                    space = self.read_namespace(netns, addresses=addresses and netns in named)
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
        if names is not None:
            self._read_peers(world.spaces)
        resolve_peers(world.spaces, self._peer_namespace_finder(world.spaces))
        return world

    def read_devices(self, netns: Optional[str], names: Iterable[str]) -> NamespaceState:
        """Only the named devices of ``netns`` that exist, with their addresses."""
        reader = self.reader(netns)
        return self._space(netns, reader, [msg for msg in (reader.link(name) for name in sorted(names)) if msg])

    def _read_peers(self, spaces) -> None:
        """Add the other end of every pair read by name, where it is in a namespace read: resolve_peers
        then pairs them as after whole reads (a pair's foreign peer is named in refusals)."""
        for netns, space in list(spaces.items()):
            for link in list(space.links.values()):
                if link.link_index is None:
                    continue
                for other in [netns] if link.link_netnsid is None else [ns for ns in spaces if ns != netns]:
                    known = spaces[other]
                    if known.by_index(link.link_index) is None:
                        msg = self.reader(other).link(index=link.link_index)
                        if msg is not None:
                            found = self._space(other, self.reader(other), [msg])
                            known.links.update(found.links)

    def _peer_namespace_finder(self, spaces):
        """peer_namespace(netns, link) for resolve_peers: the namespace a veth's netnsid names.

        A netnsid means something only inside the namespace that holds the
        link, so the kernel is asked there (RTM_GETNSID with the candidate's
        fd). Only namespaces holding a veth at the peer's index that points
        back are asked (found by index, not by a walk over every namespace),
        and once one end is proven the other end is known without asking: a
        veth's peer names it back. A read costs about one question per pair.
        """
        # (index, peer's index) -> namespaces holding such an end that names its peer's namespace by netnsid.
        ends: Dict[tuple, list] = {}
        for netns, space in spaces.items():
            for link in space.links.values():
                if link.link_index is not None and link.link_netnsid is not None:
                    ends.setdefault((link.index, link.link_index), []).append(netns)
        proven: Dict[tuple, Optional[str]] = {}

        def peer_namespace(netns, link):
            if (netns, link.index) in proven:
                return proven[(netns, link.index)]
            for other in ends.get((link.link_index, link.index), ()):
                if other != netns and self._nsid(netns, other) == link.link_netnsid:
                    proven[(other, link.link_index)] = netns
                    return other
            return None

        return peer_namespace

    def _nsid(self, netns: Optional[str], other: Optional[str]) -> Optional[int]:
        key = (netns, other)
        if key not in self._nsids:
            nsid = self.reader(netns).netnsid(self.netns_fd(other))
            # NETNSA_NSID_NOT_ASSIGNED (-1, read unsigned): no id there, so no link points at it.
            self._nsids[key] = nsid if nsid is not None and 0 <= nsid < 0x7FFFFFFF else None
        return self._nsids[key]

    def read_namespace(self, netns: Optional[str], addresses: bool = True) -> NamespaceState:
        reader = self.reader(netns)
        return self._space(netns, reader, reader.links(), reader.addresses() if addresses else ())

    def _space(self, netns: Optional[str], reader: Reader, links: list, addresses=None) -> NamespaceState:
        """The NamespaceState of these link messages; their addresses asked device by device unless given."""
        if addresses is None:
            addresses = [record for link in links for record in reader.addresses(link.index)]
        by_index: Dict[int, list] = {}
        for record in addresses:
            addr = record.ip
            if addr is None:
                continue
            by_index.setdefault(record.index, []).append(_kernel_cidr(addr, record.prefixlen))
        space = NamespaceState(netns)
        for record in links:
            link = _link(record, by_index)
            space.links[link.name] = link
            self._index[(netns, link.name)] = link.index
        return space

    # -- applying -----------------------------------------------------------

    def apply(self, actions: Iterable[Action], done: list, undoing: bool = False) -> None:
        """Apply actions in order; each one applied is appended to ``done``. ``undoing``: putting back
        what a failed run changed (never counted by the tests' fault injector)."""
        for action in actions:
            try:
                if not undoing and (self._fail_at or self._drop_at):
                    self._steps += 1
                    if self._steps == self._drop_at:
                        done.append(action)
                        continue
                    if self._steps == self._fail_at:
                        raise KernelError(
                            "%s failed: refused by the tests' fault injector (NETVIRT_TEST_FAIL_AT=%d)" % (
                                action.describe(), self._fail_at),
                            errno=errno.EIO, failed_action=action.describe(), actions=[a.describe() for a in done])
                action.apply(self)
            except KernelRefusal as exc:
                raise KernelError(
                    "%s failed: %s" % (action.describe(), _netlink_hint(exc.errno, action)),
                    errno=exc.errno, failed_action=action.describe(), actions=[a.describe() for a in done],
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
        # One small request per device (not a dump of the whole namespace per poll, which at a
        # thousand devices kept a core busy while the kernel reaped): the last one first, as the
        # kernel reaps a batch of namespaces together, the rest are then found gone at once.
        pending = list(links)
        existing = list_namespaces()
        deadline = time.monotonic() + timeout
        while pending:
            netns, name = pending[-1]
            if (netns is not HOST and netns not in existing) or self.reader(netns).link(name=name) is None:
                pending.pop()
                continue
            if time.monotonic() > deadline:
                raise KernelError("the kernel did not remove %s within %d seconds" % (
                    ", ".join(sorted(name for _netns, name in pending)), timeout))
            time.sleep(0.01)
            existing = list_namespaces()


def _close(handle) -> None:
    handle.close()


def _test_step(variable: str) -> int:
    """The step a test asks the fault injector to act on (0: none)."""
    value = os.environ.get(variable)
    return int(value) if value and value.isdigit() else 0


def _link(record: _nlwire.LinkRecord, addresses: Dict[int, list]) -> Link:
    """One device of a link dump; its kind's parser decodes what only that kind has, and its
    master's what only a port has. Each parser gets plain dicts of only the attributes its kind
    declares (Kind.link_attributes and info_attributes, Kind.port_attributes), decoded by _nlwire:
    parse(link, data), parse_port(data), ``data`` None when the kernel sent no such block."""
    kind = _kinds.by_link_kind(record.kind)
    master = _kinds.by_link_kind(record.slave_kind)
    info = port = None
    if kind is not None and kind.parse is not None:
        data = record.info_data
        info = kind.parse(_nlwire.decode(record.raw, record.attributes, kind.link_attributes or {}),
                          _nlwire.decode(record.raw, data, kind.info_attributes or {}) if data else None)
    if master is not None and master.parse_port is not None:
        # Only what the master's parser reads: most of a big bridge's read otherwise.
        data = record.slave_data
        port = master.parse_port(_nlwire.decode(record.raw, data, master.port_attributes or {}) if data else None)
    peered = kind is not None and kind.peered
    return Link(
        name=record.name,
        index=record.index,
        kind=record.kind,
        mtu=record.mtu,
        up=bool(record.flags & IFF_UP),
        addresses=tuple(_normalize_all(addresses.get(record.index, ()))),
        link_index=record.link if peered else None,
        link_netnsid=record.link_netnsid if peered else None,
        master=record.master,
        alias=record.alias,
        link_type=record.ifi_type,
        info=info,
        port=port,
    )


def _plain(value):
    """A pyroute2 netlink attribute as plain values: its fields and its attributes by name, nested alike."""
    if isinstance(value, dict):
        plain = {key: _plain(item) for key, item in value.items() if key not in ("attrs", "header", "value")}
        for slot in value.get("attrs", ()):
            plain[slot[0]] = _plain(slot[1])
        if "value" in value and not plain:
            return _plain(value["value"])
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _kernel_cidr(address: str, prefixlen: int) -> tuple:
    """(sort key, CIDR) of an address the kernel reports: the CIDR as normalize_cidr writes it
    and address_sort_key's key, from one parse of the address alone (no network built)."""
    ip = ipaddress.ip_address(address)
    return (ip.version, ip, prefixlen), "%s/%d" % (ip, prefixlen)


def _normalize_all(cidrs) -> list:
    """Sorted as address_sort_key sorts, without duplicates."""
    return [cidr for _key, cidr in sorted(set(cidrs))]
