"""Unit tests of the hand-made rtnetlink records (_nlwire): packing requests, cutting replies.

tests/integration/test_reader.py holds the decoded records to pyroute2's
decoding of the same kernel dumps; here the wire format's edges: several
messages in one datagram, other requests' messages, errors, truncation,
attributes that repeat or nest, text that is not UTF-8.
"""

import socket
import struct

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils import _nlwire as w


def link_message(seq, index, name=None, flags=w.NLM_F_MULTI, extra=b"", ifi_flags=1, ifi_type=1):
    body = w.IFINFOMSG.pack(0, ifi_type, index, ifi_flags, 0)
    if name is not None:
        body += w.attribute(w.IFLA_IFNAME, name + b"\0")
    return w.message(16, flags, seq, body + extra)


def done(seq, code=0):
    return w.message(w.NLMSG_DONE, w.NLM_F_MULTI, seq, struct.pack("=i", code))


def test_requests_are_what_the_kernel_expects():
    dump = w.message(18, 0x301, 7, w.link_request())
    # nlmsghdr, ifinfomsg, then IFLA_EXT_MASK asking for no statistics.
    assert len(dump) == 40 and struct.unpack_from("=IHHII", dump) == (40, 18, 0x301, 7, 0)
    assert struct.unpack_from("=HHI", dump, 32) == (8, w.IFLA_EXT_MASK, w.RTEXT_FILTER_SKIP_STATS)
    by_name = w.link_request(name="eth0")
    # ifinfomsg, the mask, then IFLA_IFNAME: length 4 + 5 ("eth0\0"), padded to 12.
    assert len(by_name) == 16 + 8 + 12 and struct.unpack_from("=HH", by_name, 24) == (9, w.IFLA_IFNAME)
    assert by_name[28:33] == b"eth0\0" and by_name[33:] == b"\0\0\0"
    assert struct.unpack_from("=i", w.link_request(index=12), 4) == (12,)
    assert struct.unpack_from("=BBBBI", w.address_request(5)) == (0, 0, 0, 0, 5)
    assert w.nsid_request(9) == b"\0\0\0\0" + struct.pack("=HHI", 8, w.NETNSA_FD, 9)


def test_a_dump_spans_datagrams_and_ends_at_done():
    first = link_message(3, 1, b"lo") + link_message(3, 2, b"eth0")
    found, complete = w.replies(first, 3)
    assert [w.LinkRecord(raw).name for raw in found] == ["lo", "eth0"] and not complete
    found, complete = w.replies(done(3), 3)
    assert found == [] and complete


def test_messages_of_other_requests_are_passed_over():
    data = link_message(2, 1, b"old") + link_message(3, 2, b"new", flags=0)
    found, complete = w.replies(data, 3)
    assert [w.LinkRecord(raw).name for raw in found] == ["new"] and complete


def test_errors_raise_with_the_positive_errno():
    error = w.message(w.NLMSG_ERROR, 0, 4, struct.pack("=i", -19) + b"\0" * 16)
    with pytest.raises(w.NetlinkFailure) as exc:
        w.replies(error, 4)
    assert exc.value.code == 19
    # An acknowledgement (error 0) ends the answer; so does a dump that failed part way.
    assert w.replies(w.message(w.NLMSG_ERROR, 0, 4, struct.pack("=i", 0) + b"\0" * 16), 4) == ([], True)
    with pytest.raises(w.NetlinkFailure):
        w.replies(link_message(5, 1, b"lo") + done(5, -16), 5)


def test_truncated_data_is_not_read_past_its_end():
    whole = link_message(1, 1, b"eth0", flags=0)
    assert w.replies(whole[:-3], 1) == ([], False)
    assert w.replies(b"\x01\x00", 1) == ([], False)
    # An attribute claiming more than its message holds ends the walk.
    broken = whole[:32] + struct.pack("=HH", 200, w.IFLA_MTU)
    assert w.attributes(broken, 32, len(broken)) == {}


def test_link_fields_nested_kinds_and_first_of_each_attribute():
    linkinfo = w.attribute(w.IFLA_LINKINFO | 0x8000, w.attribute(w.IFLA_INFO_KIND, b"veth\0")
                           + w.attribute(w.IFLA_INFO_SLAVE_KIND, b"bridge\0"))
    extra = (w.attribute(w.IFLA_MTU, struct.pack("=I", 1400)) + w.attribute(w.IFLA_MTU, struct.pack("=I", 9000))
             + w.attribute(w.IFLA_LINK, struct.pack("=I", 7)) + w.attribute(w.IFLA_MASTER, struct.pack("=I", 3))
             + w.attribute(w.IFLA_LINK_NETNSID, struct.pack("=i", 0)) + w.attribute(w.IFLA_IFALIAS, b"lab x\0")
             + linkinfo)
    record = w.LinkRecord(link_message(1, 12, b"v0", extra=extra, ifi_flags=0x1003, ifi_type=1))
    assert (record.index, record.flags, record.ifi_type, record.name) == (12, 0x1003, 1, "v0")
    assert (record.mtu, record.link, record.master, record.link_netnsid, record.alias) == (1400, 7, 3, 0, "lab x")
    assert (record.kind, record.slave_kind) == ("veth", "bridge")
    assert record.raw[record.linkinfo + 2:record.linkinfo + 4] == struct.pack("=H", w.IFLA_LINKINFO | 0x8000)
    assert record.slave_data is None


def test_a_ports_slave_data_decoded_by_its_layout():
    layout = {"PRIORITY": (2, "=H"), "COST": (3, "=I"), "MODE": (4, "=B"), "ABSENT": (9, "=I")}
    slave = (w.attribute(2, struct.pack("=H", 32)) + w.attribute(3, struct.pack("=I", 100))
             + w.attribute(4, b"\x01") + w.attribute(4, b"\x00"))
    linkinfo = w.attribute(w.IFLA_LINKINFO | 0x8000, w.attribute(w.IFLA_INFO_SLAVE_KIND, b"bridge\0")
                           + w.attribute(w.IFLA_INFO_SLAVE_DATA | 0x8000, slave))
    record = w.LinkRecord(link_message(1, 4, b"p0", extra=linkinfo))
    data = w.decode(record.raw, record.slave_data, layout)
    # The first of each attribute, as for a link's; an absent one is None; nothing undeclared.
    assert data == {"PRIORITY": 32, "COST": 100, "MODE": 1, "ABSENT": None}
    # A device's IFLA_INFO_DATA and the message's own attributes, by the same means.
    info = w.attribute(w.IFLA_LINKINFO, w.attribute(w.IFLA_INFO_KIND, b"tun\0")
                       + w.attribute(w.IFLA_INFO_DATA, w.attribute(1, struct.pack("=I", 1000))))
    record = w.LinkRecord(link_message(1, 5, b"d0", extra=w.attribute(33, b"\x01") + info))
    assert w.decode(record.raw, record.info_data, {"OWNER": (1, "=I")}) == {"OWNER": 1000}
    assert w.decode(record.raw, record.attributes, {"CARRIER": (33, "=B")}) == {"CARRIER": 1}
    # Shorter than its format says: None, not a read past it.
    short = w.attribute(w.IFLA_LINKINFO, w.attribute(w.IFLA_INFO_SLAVE_DATA, w.attribute(3, b"\x01\x02")))
    record = w.LinkRecord(link_message(1, 4, b"p1", extra=short))
    assert w.decode(record.raw, record.slave_data, layout)["COST"] is None
    # Addresses, as text both ways; one shorter than its family's is None.
    addresses = {"GROUP": (2, "ipv4"), "LOCAL6": (17, "ipv6"), "LOCAL": (4, "ipv4")}
    data = w.packed([((2, "ipv4"), "10.0.0.2"), ((17, "ipv6"), "fd00::1")]) + w.attribute(4, b"\x0a\x00")
    assert w.decode(data, (0, len(data)), addresses) == {"GROUP": "10.0.0.2", "LOCAL6": "fd00::1", "LOCAL": None}


def test_absent_attributes_are_none_and_bytes_that_are_not_utf8_stay_bytes():
    record = w.LinkRecord(link_message(1, 1, b"\xff\xfe"))
    assert record.name == b"\xff\xfe"
    assert (record.mtu, record.link, record.master, record.alias, record.kind, record.linkinfo) == (None,) * 6
    assert w.LinkRecord(link_message(1, 1)).name is None


def test_addresses_ipv4_local_first_ipv6_address():
    v4 = w.message(20, w.NLM_F_MULTI, 1, w.IFADDRMSG.pack(socket.AF_INET, 24, 0, 0, 5)
                   + w.attribute(w.IFA_ADDRESS, socket.inet_aton("10.0.0.9"))
                   + w.attribute(w.IFA_LOCAL, socket.inet_aton("10.0.0.1")))
    record = w.AddressRecord(v4)
    assert (record.index, record.family, record.prefixlen) == (5, socket.AF_INET, 24)
    assert (record.address, record.local, record.ip) == ("10.0.0.9", "10.0.0.1", "10.0.0.1")
    v6 = w.message(20, w.NLM_F_MULTI, 1, w.IFADDRMSG.pack(socket.AF_INET6, 64, 0, 0, 5)
                   + w.attribute(w.IFA_ADDRESS, socket.inet_pton(socket.AF_INET6, "fd00::1")))
    assert w.AddressRecord(v6).ip == "fd00::1"
    bare = w.AddressRecord(w.message(20, 0, 1, w.IFADDRMSG.pack(socket.AF_INET, 8, 0, 0, 1)))
    assert bare.ip is None


def test_nsid_unsigned_as_the_kernel_writes_it():
    answer = w.message(88, 0, 1, w.RTGENMSG.pack(0) + w.attribute(w.NETNSA_NSID, struct.pack("=i", -1)))
    assert w.nsid(answer) == 2 ** 32 - 1
    assert w.nsid(w.message(88, 0, 1, w.RTGENMSG.pack(0))) is None


def test_setlink_changes_only_what_it_names():
    up = w.setlink_request(7, state="up")
    # ifinfomsg: family, type, index 7, IFF_UP set, and only IFF_UP in the change mask.
    assert up == w.IFINFOMSG.pack(0, 0, 7, 1, 1)
    assert w.setlink_request(7, state="down") == w.IFINFOMSG.pack(0, 0, 7, 0, 1)
    # Nothing about flags: both zero (the kernel then leaves the flags alone).
    body = w.setlink_request(7, ifalias="netvirt:lab=x", master=3, mtu=9000)
    assert body[:16] == w.IFINFOMSG.pack(0, 0, 7, 0, 0)
    found = w.attributes(body, 16, len(body))
    assert body[slice(*found[w.IFLA_IFALIAS])] == b"netvirt:lab=x"  # no NUL, as `ip link set alias`
    assert struct.unpack_from("=I", body, found[w.IFLA_MASTER][0]) == (3,)
    assert struct.unpack_from("=I", body, found[w.IFLA_MTU][0]) == (9000,)
    assert struct.unpack_from("=I", w.setlink_request(7, master=0), 20) == (0,)
    with pytest.raises(ValueError):
        w.setlink_request(7, state="sideways")


def test_address_change_requests_as_pyroute2_sends_them():
    v4 = w.address_change_request(5, "10.0.0.1", 24)
    assert w.IFADDRMSG.unpack_from(v4) == (socket.AF_INET, 24, 0, 0, 5)
    found = w.attributes(v4, 8, len(v4))
    assert v4[slice(*found[w.IFA_ADDRESS])] == v4[slice(*found[w.IFA_LOCAL])] == socket.inet_aton("10.0.0.1")
    v6 = w.address_change_request(5, "fd00::1", 64)
    assert w.IFADDRMSG.unpack_from(v6) == (socket.AF_INET6, 64, 0, 0, 5)
    found = w.attributes(v6, 8, len(v6))
    assert set(found) == {w.IFA_ADDRESS}
    assert v6[slice(*found[w.IFA_ADDRESS])] == socket.inet_pton(socket.AF_INET6, "fd00::1")


def test_veth_request_decoded_by_pyroute2_as_ip_link_add_sends_it():
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    for mtu in (None, 1400):
        msg = ifinfmsg(w.message(16, 0x605, 1, w.newlink_request("h1-br", "veth", mtu=mtu, peer=("eth0", 42))))
        msg.decode()
        assert (msg["index"], msg["flags"], msg["change"]) == (0, 0, 0)
        assert msg.get_attr("IFLA_IFNAME") == "h1-br" and msg.get_attr("IFLA_MTU") == mtu
        info = msg.get_attr("IFLA_LINKINFO")
        assert info.get_attr("IFLA_INFO_KIND") == "veth"
        peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
        assert peer.get_attr("IFLA_IFNAME") == "eth0" and peer.get_attr("IFLA_MTU") == mtu
        assert peer.get_attr("IFLA_NET_NS_FD") == 42


def test_bridge_requests_decoded_by_pyroute2_as_ip_link_sends_them():
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    from ansible_collections.netvirt.linux.plugins.module_utils._kind_bridge import bridge_data

    options = (("stp", True), ("forward_delay", 400), ("hello_time", 300), ("max_age", 1200),
               ("ageing_time", 30000), ("priority", 4096))
    for name, index, data in (("br0", 0, bridge_data(options)), (None, 7, bridge_data(options)), ("br1", 0, b"")):
        msg = ifinfmsg(w.message(16, 0x605, 1, w.newlink_request(name, "bridge", data, index)))
        msg.decode()
        assert msg["index"] == index and msg.get_attr("IFLA_IFNAME") == name
        info = msg.get_attr("IFLA_LINKINFO")
        assert info.get_attr("IFLA_INFO_KIND") == "bridge"
        decoded = info.get_attr("IFLA_INFO_DATA")
        if not data:
            assert decoded is None
            continue
        assert {nla[0]: nla[1] for nla in decoded["attrs"]} == {
            "IFLA_BR_STP_STATE": 1, "IFLA_BR_FORWARD_DELAY": 400, "IFLA_BR_HELLO_TIME": 300,
            "IFLA_BR_MAX_AGE": 1200, "IFLA_BR_AGEING_TIME": 30000, "IFLA_BR_PRIORITY": 4096}


def test_port_settings_decoded_by_pyroute2_as_ip_link_set_type_bridge_slave_sends_them():
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    from ansible_collections.netvirt.linux.plugins.module_utils._kind_bridge import port_data

    body = w.newlink_request(None, "bridge", port_data((("cost", 9), ("priority", 40), ("hairpin", True))), 5, port=True)
    msg = ifinfmsg(w.message(16, 0x5, 1, body))
    msg.decode()
    assert msg["index"] == 5 and msg.get_attr("IFLA_IFNAME") is None
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") is None and info.get_attr("IFLA_INFO_SLAVE_KIND") == "bridge"
    assert {nla[0]: nla[1] for nla in info.get_attr("IFLA_INFO_SLAVE_DATA")["attrs"]} == {
        "IFLA_BRPORT_COST": 9, "IFLA_BRPORT_PRIORITY": 40, "IFLA_BRPORT_MODE": 1}


def test_vxlan_requests_as_pyroute2_encodes_and_decodes_them():
    # The layout vxlan declares packs what pyroute2's link("add", kind="vxlan", ...) sends, and decodes
    # pyroute2's own encoding to the values pyroute2 decodes.
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    from ansible_collections.netvirt.linux.plugins.module_utils._kind_vxlan import INFO_ATTRIBUTES, vxlan_data

    for values in ({"IFLA_VXLAN_ID": 42, "IFLA_VXLAN_PORT": 4789, "IFLA_VXLAN_LOCAL": "192.0.2.1",
                    "IFLA_VXLAN_GROUP": "239.1.1.1", "IFLA_VXLAN_LINK": 7},
                   {"IFLA_VXLAN_ID": 16777215, "IFLA_VXLAN_PORT": 8472, "IFLA_VXLAN_LOCAL6": "fd00::1",
                    "IFLA_VXLAN_GROUP6": "fd00::2"}):
        body = w.newlink_request("vx0", "vxlan", vxlan_data(values))
        msg = ifinfmsg(w.message(16, 0x605, 1, body))
        msg.decode()
        data = msg.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
        assert {nla[0]: nla[1] for nla in data["attrs"]} == values
        # pyroute2's encoding of the same, decoded by the declared layout.
        sent = ifinfmsg()
        sent["attrs"] = [("IFLA_IFNAME", "vx0"), ("IFLA_LINKINFO", {"attrs": [
            ("IFLA_INFO_KIND", "vxlan"), ("IFLA_INFO_DATA", {"attrs": list(values.items())})]})]
        sent.encode()
        record = w.LinkRecord(bytes(sent.data))
        decoded = w.decode(record.raw, record.info_data, INFO_ATTRIBUTES)
        assert decoded == {name: values.get(name) for name in INFO_ATTRIBUTES}


def test_macvlan_requests_as_pyroute2_decodes_them():
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    from ansible_collections.netvirt.linux.plugins.module_utils._kind_macvlan import LINK_ATTRIBUTES, MODES, macvlan_data

    for mode in MODES:
        msg = ifinfmsg(w.message(16, 0x605, 1, w.newlink_request("mv0", "macvlan", macvlan_data(mode), parent=9)))
        msg.decode()
        assert msg.get_attr("IFLA_LINK") == 9 and msg.get_attr("IFLA_IFNAME") == "mv0"
        info = msg.get_attr("IFLA_LINKINFO")
        assert info.get_attr("IFLA_INFO_KIND") == "macvlan"
        assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_MACVLAN_MODE") == mode
        record = w.LinkRecord(w.message(16, 0, 1, w.newlink_request("mv0", "macvlan", parent=9)))
        assert w.decode(record.raw, record.attributes, LINK_ATTRIBUTES) == {"IFLA_LINK": 9, "IFLA_LINK_NETNSID": None}


def test_forwarding_entry_requests_as_pyroute2_encodes_and_decodes_them():
    # What `bridge fdb append 00:00:00:00:00:00 dev DEV dst ADDR` sends (and pyroute2's fdb("append") alike):
    # AF_BRIDGE, the device's own table, permanent; pyroute2's encoding of an entry read back as NeighbourRecord.
    from pyroute2.netlink.rtnl.ndmsg import ndmsg

    for dst, extra in (("192.0.2.2", {}), ("fd00::2", {"port": 1234, "vni": 7, "via": 3})):
        msg = ndmsg(w.message(28, 0xC05, 1, w.fdb_change_request(9, "00:00:00:00:00:00", dst, **extra)))
        msg.decode()
        assert (msg["family"], msg["ifindex"], msg["state"], msg["flags"]) == (socket.AF_BRIDGE, 9, 0xC0, 2)
        assert msg.get_attr("NDA_LLADDR") == "00:00:00:00:00:00" and msg.get_attr("NDA_DST") == dst
        assert (msg.get_attr("NDA_PORT"), msg.get_attr("NDA_VNI"), msg.get_attr("NDA_IFINDEX")) == (
            extra.get("port"), extra.get("vni"), extra.get("via"))
        sent = ndmsg()
        sent["family"], sent["ifindex"], sent["state"], sent["flags"] = socket.AF_BRIDGE, 9, 0x80, 2
        sent["attrs"] = [("NDA_DST", dst), ("NDA_LLADDR", "00:00:00:00:00:00")] + [
            (name, extra[key]) for key, name in (("port", "NDA_PORT"), ("vni", "NDA_VNI"), ("via", "NDA_IFINDEX"))
            if key in extra]
        sent.encode()
        record = w.NeighbourRecord(bytes(sent.data))
        assert (record.index, record.state, record.flags, record.lladdr, record.dst) == (
            9, 0x80, 2, "00:00:00:00:00:00", dst)
        assert (record.port, record.vni, record.via) == (extra.get("port"), extra.get("vni"), extra.get("via"))
    assert w.NDMSG.unpack(w.fdb_request(5)) == (socket.AF_BRIDGE, 5, 0, 0, 0)
