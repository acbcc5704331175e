# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few rtnetlink records a read needs, packed and unpacked with struct.

pyroute2's message classes decode every attribute of every message they
receive: a link carries some forty (statistics, per-family configuration,
queues...), and a read of a thousand namespaces spent most of its time
there while the planner looks at eight. Here a request is packed by hand
(a header, a fixed part, an attribute or two) and a reply is cut into
messages whose fixed part and wanted attributes are unpacked on demand.

What a kind parses itself (a bridge's options, a tap's flags, a vxlan's
endpoints, a bridge port's settings) is decoded by decode(), and what it
sends by packed(), both by the attribute numbers and formats the kind
declares (Kind.info_attributes, link_attributes, port_attributes).
tests/integration/test_reader.py holds these records and parsers to what
pyroute2 decodes from the same dumps, and tests/unit/test_nlwire.py the
requests to pyroute2's decoding of them. No pyroute2 import here.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Any, Dict, Iterable, List, Optional, Tuple

NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
RTATTR = struct.Struct("=HH")  # length, type
IFINFOMSG = struct.Struct("=BxHiII")  # family, device type, index, flags, change mask
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
RTGENMSG = struct.Struct("=Bxxx")  # family
U32 = struct.Struct("=I")
I32 = struct.Struct("=i")

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI = 0x2
IFF_UP = 0x1
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER

# <linux/if_link.h>, <linux/if_addr.h>, <linux/net_namespace.h>
IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 3, 4, 5, 10
IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD, IFLA_EXT_MASK, IFLA_LINK_NETNSID = 18, 20, 28, 29, 37
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
# No statistics in the answer (IFLA_STATS*, IPv6's per-device counters): the kernel skips summing
# per-CPU counters no one here reads, which halves a link dump's time in the kernel.
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFA_ADDRESS, IFA_LOCAL = 1, 2
NETNSA_NSID, NETNSA_FD = 1, 3

# Formats a kind's layout may give besides struct's: an IPv4 or IPv6 address, as text both ways (as pyroute2's).
ADDRESS_FORMATS = {"ipv4": (socket.AF_INET, 4), "ipv6": (socket.AF_INET6, 16)}
# The nested peer of a paired device's IFLA_INFO_DATA (<linux/veth.h>; vxcan and netkit number theirs alike).
INFO_PEER = 1

# A NUL-terminated string as pyroute2 gives it: str, or the bytes when they are not UTF-8
# (a device name is any bytes but '/', ':' and white space); None when absent.
Text = Any


def _align(length: int) -> int:
    return (length + 3) & ~3


# -- requests ---------------------------------------------------------------------


def attribute(kind: int, payload: bytes) -> bytes:
    length = RTATTR.size + len(payload)
    return RTATTR.pack(length, kind) + payload + b"\0" * (_align(length) - length)


def message(msg_type: int, flags: int, seq: int, body: bytes) -> bytes:
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, flags, seq, 0) + body


def ifinfo(index: int = 0, name: Optional[str] = None, mtu: Optional[int] = None, parent: Optional[int] = None) -> bytes:
    """A link request's head: the ifinfomsg of device ``index`` (0: none yet), then its name, MTU and
    parent device (IFLA_LINK) when given."""
    body = IFINFOMSG.pack(0, 0, index, 0, 0)
    if name is not None:
        body += attribute(IFLA_IFNAME, name.encode("utf-8") + b"\0")
    if mtu is not None:
        body += attribute(IFLA_MTU, U32.pack(mtu))
    if parent is not None:
        body += attribute(IFLA_LINK, U32.pack(parent))
    return body


def link_request(index: int = 0, name: Optional[str] = None) -> bytes:
    """The body of RTM_GETLINK: a dump (nothing set) or one device by index or name."""
    body = IFINFOMSG.pack(0, 0, index, 0, 0) + attribute(IFLA_EXT_MASK, U32.pack(RTEXT_FILTER_SKIP_STATS))
    if name is not None:
        body += attribute(IFLA_IFNAME, name.encode("utf-8") + b"\0")
    return body


def setlink_request(index: int, state: Optional[str] = None, ifalias: Optional[str] = None,
                    master: Optional[int] = None, mtu: Optional[int] = None) -> bytes:
    """The body of RTM_SETLINK on device ``index``: up or down (only IFF_UP changes), an alias (as
    `ip link set alias`: the text without a NUL), a master (0: none), an MTU. Keywords as pyroute2's."""
    if state not in (None, "up", "down"):
        raise ValueError("state must be up or down, not %r" % (state,))
    flags, change = (0, 0) if state is None else (IFF_UP if state == "up" else 0, IFF_UP)
    body = IFINFOMSG.pack(0, 0, index, flags, change)
    if ifalias is not None:
        body += attribute(IFLA_IFALIAS, ifalias.encode("utf-8"))
    if master is not None:
        body += attribute(IFLA_MASTER, U32.pack(master))
    if mtu is not None:
        body += attribute(IFLA_MTU, U32.pack(mtu))
    return body


def link_info(kind: str, data: bytes = b"", port: bool = False) -> bytes:
    """IFLA_LINKINFO: the kind and, when there is one, its IFLA_INFO_DATA block; with ``port``, a
    port's settings under its master's kind (IFLA_INFO_SLAVE_KIND and IFLA_INFO_SLAVE_DATA)."""
    kind_type, data_type = (IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA) if port else (IFLA_INFO_KIND, IFLA_INFO_DATA)
    info = attribute(kind_type, kind.encode("ascii"))
    return attribute(IFLA_LINKINFO, info + (attribute(data_type, data) if data else b""))


def _pack(layout: str, value: Any) -> bytes:
    if layout in ADDRESS_FORMATS:
        return socket.inet_pton(ADDRESS_FORMATS[layout][0], value)
    return struct.pack(layout, value)


def packed(values: Iterable[Tuple[Tuple[int, str], Any]]) -> bytes:
    """Attributes from ((number, format), value) pairs: a kind's declared layout (Kind.info_attributes),
    a format being struct's or one of ADDRESS_FORMATS."""
    return b"".join(attribute(number, _pack(layout, value)) for (number, layout), value in values)


def newlink_request(name: Optional[str], kind: str, data: bytes = b"", index: int = 0, port: bool = False,
                    mtu: Optional[int] = None, parent: Optional[int] = None,
                    peer: Optional[Tuple[str, int]] = None) -> bytes:
    """The body of RTM_NEWLINK: a device ``name`` of ``kind`` to create, or (``index``) the kind's
    settings of one that exists, as `ip link add|set ... type KIND ...` sends them; with ``port``, the
    settings of device ``index`` as a port of a ``kind`` master (`ip link set ... type bridge_slave ...`).
    ``mtu`` and ``parent`` (IFLA_LINK, the device it is made on) when given; ``peer``, (name, namespace
    descriptor): the other end of a pair, made with it in that namespace and the same MTU, nested in
    IFLA_INFO_DATA as `ip link add NAME type veth peer name PEER netns FD` sends it."""
    if peer is not None:
        peer_body = ifinfo(name=peer[0], mtu=mtu) + attribute(IFLA_NET_NS_FD, U32.pack(peer[1]))
        data = attribute(INFO_PEER, peer_body) + data
    return ifinfo(index, name, mtu, parent) + link_info(kind, data, port)


def address_request(index: int = 0) -> bytes:
    """The body of an RTM_GETADDR dump, of every device or (strict checking) of one."""
    return IFADDRMSG.pack(0, 0, 0, 0, index)


def address_change_request(index: int, address: str, prefixlen: int) -> bytes:
    """The body of RTM_NEWADDR or RTM_DELADDR for one address of device ``index``, as pyroute2's
    addr("add"/"del") sends it: IFA_ADDRESS, and for IPv4 IFA_LOCAL too (the same address)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    packed = socket.inet_pton(family, address)
    body = IFADDRMSG.pack(family, prefixlen, 0, 0, index) + attribute(IFA_ADDRESS, packed)
    if family == socket.AF_INET:
        body += attribute(IFA_LOCAL, packed)
    return body


def nsid_request(fd: int) -> bytes:
    """The body of RTM_GETNSID for the namespace an open descriptor refers to."""
    return RTGENMSG.pack(0) + attribute(NETNSA_FD, U32.pack(fd))


# -- replies ----------------------------------------------------------------------


class NetlinkFailure(Exception):
    """The kernel answered a request with an error (a positive errno in ``code``)."""

    def __init__(self, code: int):
        super().__init__(code, os.strerror(code))
        self.code = code


def replies(data: bytes, seq: int) -> Tuple[List[bytes], bool]:
    """The messages of one datagram that answer request ``seq``, and whether the answer is complete.

    NLMSG_DONE and NLMSG_ERROR end an answer (an error code raises
    NetlinkFailure), and so does a message that is not part of a dump.
    Messages of other requests are passed over.
    """
    found: List[bytes] = []
    offset, size = 0, len(data)
    while offset + NLMSGHDR.size <= size:
        length, msg_type, flags, msg_seq, _port = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size or offset + length > size:
            break
        if msg_seq == seq:
            if msg_type in (NLMSG_ERROR, NLMSG_DONE):
                code = I32.unpack_from(data, offset + NLMSGHDR.size)[0] if length >= NLMSGHDR.size + 4 else 0
                if code < 0:
                    raise NetlinkFailure(-code)
                return found, True
            found.append(data[offset:offset + length])
            if not flags & NLM_F_MULTI:
                return found, True
        offset += _align(length)
    return found, False


def attributes(data: bytes, offset: int, end: int) -> Dict[int, Tuple[int, int]]:
    """{type: (start, end) of its payload} of the attributes in data[offset:end], the first of each type."""
    # The innermost loop of a read (a link carries some forty attributes): names bound locally, no calls.
    found: Dict[int, Tuple[int, int]] = {}
    unpack, header, mask = RTATTR.unpack_from, RTATTR.size, NLA_TYPE_MASK
    while offset + header <= end:
        length, kind = unpack(data, offset)
        if length < header or offset + length > end:
            break
        kind &= mask
        if kind not in found:
            found[kind] = (offset + header, offset + length)
        offset += (length + 3) & ~3
    return found


def _text(data: bytes, span: Optional[Tuple[int, int]]) -> Text:
    """A NUL-terminated string, as pyroute2 gives it: text, or the bytes when they are not UTF-8."""
    if span is None:
        return None
    raw = data[span[0]:span[1]].split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _u32(data: bytes, span: Optional[Tuple[int, int]]) -> Any:
    """An unsigned 32-bit value, or None when absent (the kernel sends IFLA_MTU for every device)."""
    return None if span is None or span[1] - span[0] < 4 else U32.unpack_from(data, span[0])[0]


def _i32(data: bytes, span: Optional[Tuple[int, int]]) -> Optional[int]:
    return None if span is None or span[1] - span[0] < 4 else I32.unpack_from(data, span[0])[0]


class LinkRecord:
    """One RTM_NEWLINK message: the fields every device has, and its bytes for a kind's own parser."""

    __slots__ = ("raw", "index", "flags", "ifi_type", "name", "mtu", "link", "master", "alias",
                 "link_netnsid", "kind", "slave_kind", "linkinfo", "info_data", "slave_data")

    def __init__(self, raw: bytes):
        self.raw = raw
        start = NLMSGHDR.size
        _family, self.ifi_type, self.index, self.flags, _change = IFINFOMSG.unpack_from(raw, start)
        found = attributes(raw, start + IFINFOMSG.size, len(raw))
        self.name = _text(raw, found.get(IFLA_IFNAME))
        self.mtu = _u32(raw, found.get(IFLA_MTU))
        self.link = _u32(raw, found.get(IFLA_LINK))
        self.master = _u32(raw, found.get(IFLA_MASTER))
        self.alias = _text(raw, found.get(IFLA_IFALIAS))
        self.link_netnsid = _i32(raw, found.get(IFLA_LINK_NETNSID))
        self.kind = self.slave_kind = None
        # Where IFLA_LINKINFO starts in raw (its header), for a decoder of what a kind nests in it.
        self.linkinfo: Optional[int] = None
        # Where a device's IFLA_INFO_DATA and a port's IFLA_INFO_SLAVE_DATA payloads lie in raw, for Nested.
        self.info_data: Optional[Tuple[int, int]] = None
        self.slave_data: Optional[Tuple[int, int]] = None
        info = found.get(IFLA_LINKINFO)
        if info is not None:
            self.linkinfo = info[0] - RTATTR.size
            nested = attributes(raw, info[0], info[1])
            self.kind = _text(raw, nested.get(IFLA_INFO_KIND))
            self.slave_kind = _text(raw, nested.get(IFLA_INFO_SLAVE_KIND))
            self.info_data = nested.get(IFLA_INFO_DATA)
            self.slave_data = nested.get(IFLA_INFO_SLAVE_DATA)

    @property
    def attributes(self) -> Tuple[int, int]:
        """Where the message's own attributes lie in raw, for Nested."""
        return NLMSGHDR.size + IFINFOMSG.size, len(self.raw)


def decode(raw: bytes, span: Tuple[int, int], layout: Dict[str, Tuple[int, str]]) -> Dict[str, Any]:
    """The attributes of one block (a port's IFLA_INFO_SLAVE_DATA, a device's IFLA_INFO_DATA, the message's
    own) that a layout names, {pyroute2 name: (type, format)}, as {name: value}: as pyroute2 decodes them,
    None when absent or shorter than their format. A parser reading a name its kind did not declare gets
    a KeyError: it fails loudly."""
    found = attributes(raw, span[0], span[1])
    values: Dict[str, Any] = {}
    for name, (number, fmt) in layout.items():
        where = found.get(number)
        family, size = ADDRESS_FORMATS.get(fmt, (None, 0))
        size = size or struct.calcsize(fmt)
        if where is None or where[1] - where[0] < size:
            values[name] = None
        elif family is not None:
            values[name] = socket.inet_ntop(family, raw[where[0]:where[0] + size])
        else:
            values[name] = struct.unpack_from(fmt, raw, where[0])[0]
    return values


class AddressRecord:
    """One RTM_NEWADDR message: the device, the family, the prefix length and the address."""

    __slots__ = ("index", "family", "prefixlen", "address", "local")

    def __init__(self, raw: bytes):
        start = NLMSGHDR.size
        self.family, self.prefixlen, _flags, _scope, self.index = IFADDRMSG.unpack_from(raw, start)
        found = attributes(raw, start + IFADDRMSG.size, len(raw))
        self.address = self._ip(raw, found.get(IFA_ADDRESS))
        self.local = self._ip(raw, found.get(IFA_LOCAL))

    def _ip(self, raw: bytes, span: Optional[Tuple[int, int]]) -> Optional[str]:
        if span is None:
            return None
        family = socket.AF_INET6 if span[1] - span[0] == 16 else socket.AF_INET
        return socket.inet_ntop(family, raw[span[0]:span[1]])

    @property
    def ip(self) -> Optional[str]:
        """The address of this device: IFA_ADDRESS for IPv6; IFA_LOCAL (else IFA_ADDRESS) for IPv4,
        where IFA_ADDRESS is the peer's on a point-to-point device."""
        if self.family == socket.AF_INET6:
            return self.address
        return self.local or self.address


def nsid(raw: bytes) -> Optional[int]:
    """NETNSA_NSID of an RTM_NEWNSID answer, unsigned as the kernel writes it (NOT_ASSIGNED is 2**32 - 1)."""
    found = attributes(raw, NLMSGHDR.size + RTGENMSG.size, len(raw))
    return _u32(raw, found.get(NETNSA_NSID))


# -- bridge forwarding entries (a vxlan's head-end replication) ---------------------

NDMSG = struct.Struct("=BxxxiHBB")  # family, index, state, flags, type
# <linux/neighbour.h>
NDA_DST, NDA_LLADDR, NDA_PORT, NDA_VNI, NDA_IFINDEX = 1, 2, 6, 7, 8
NTF_SELF = 0x02
# The family of forwarding-database messages: AF_BRIDGE (7) of <linux/socket.h>.
FDB_FAMILY = 7
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80
BE16 = struct.Struct(">H")


def fdb_request(index: int = 0) -> bytes:
    """The body of an AF_BRIDGE RTM_GETNEIGH dump: every forwarding entry, or (strict checking) one device's."""
    return NDMSG.pack(FDB_FAMILY, index, 0, 0, 0)


def fdb_change_request(index: int, lladdr: str, dst: str, port: Optional[int] = None, vni: Optional[int] = None,
                       via: Optional[int] = None) -> bytes:
    """The body of RTM_NEWNEIGH or RTM_DELNEIGH for one forwarding entry of device ``index`` to ``dst``, as
    `bridge fdb append|del LLADDR dev DEV dst DST [port P] [vni V] [via IFINDEX]` sends it: that family, the
    device's own table (NTF_SELF), permanent (NUD_PERMANENT | NUD_NOARP)."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    body = NDMSG.pack(FDB_FAMILY, index, NUD_PERMANENT | NUD_NOARP, NTF_SELF, 0)
    body += attribute(NDA_LLADDR, bytes(int(part, 16) for part in lladdr.split(":")))
    body += attribute(NDA_DST, socket.inet_pton(family, dst))
    if port is not None:
        body += attribute(NDA_PORT, BE16.pack(port))
    if vni is not None:
        body += attribute(NDA_VNI, U32.pack(vni))
    if via is not None:
        body += attribute(NDA_IFINDEX, U32.pack(via))
    return body


class NeighbourRecord:
    """One RTM_NEWNEIGH message of an AF_BRIDGE dump: a forwarding entry of device ``index``."""

    __slots__ = ("index", "state", "flags", "lladdr", "dst", "port", "vni", "via")

    def __init__(self, raw: bytes):
        start = NLMSGHDR.size
        _family, self.index, self.state, self.flags, _type = NDMSG.unpack_from(raw, start)
        found = attributes(raw, start + NDMSG.size, len(raw))
        span = found.get(NDA_LLADDR)
        self.lladdr = None if span is None else ":".join("%02x" % byte for byte in raw[span[0]:span[1]])
        span = found.get(NDA_DST)
        self.dst = None
        if span is not None and span[1] - span[0] in (4, 16):
            family = socket.AF_INET6 if span[1] - span[0] == 16 else socket.AF_INET
            self.dst = socket.inet_ntop(family, raw[span[0]:span[1]])
        span = found.get(NDA_PORT)
        self.port = None if span is None or span[1] - span[0] < 2 else BE16.unpack_from(raw, span[0])[0]
        self.vni = _u32(raw, found.get(NDA_VNI))
        self.via = _u32(raw, found.get(NDA_IFINDEX))
