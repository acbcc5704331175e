"""The adapter's reading socket (_netlink.Reader) against pyroute2's IPRoute, on a real sandbox.

The Reader sends the same requests without IPRoute's event loop and decodes
the answers with _nlwire (by hand, only the fields the planner reads):
everything it reads must come back as pyroute2 decodes it.
"""

import errno
import json
import os

from sandbox import PYTHON, ensure_collection_path

COMPARE = r"""
import json, os
from pyroute2 import IPRoute
from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Reader, _link
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import Namespaces

LINK_ATTRS = ("IFLA_IFNAME", "IFLA_MTU", "IFLA_MASTER", "IFLA_LINK", "IFLA_LINK_NETNSID", "IFLA_IFALIAS",
              "IFLA_ADDRESS", "IFLA_CARRIER")
INFO = ("IFLA_INFO_KIND", "IFLA_INFO_SLAVE_KIND")

def link_view(msg):
    view = {name: msg.get_attr(name) for name in LINK_ATTRS}
    view.update({name: msg.get_nested("IFLA_LINKINFO", name) for name in INFO})
    view.update(index=msg["index"], flags=msg["flags"], type=msg["ifi_type"])
    return view

def record_view(record):
    # The fields _nlwire.LinkRecord decodes, under pyroute2's names.
    return {"IFLA_IFNAME": record.name, "IFLA_MTU": record.mtu, "IFLA_MASTER": record.master,
            "IFLA_LINK": record.link, "IFLA_LINK_NETNSID": record.link_netnsid, "IFLA_IFALIAS": record.alias,
            "IFLA_INFO_KIND": record.kind, "IFLA_INFO_SLAVE_KIND": record.slave_kind,
            "index": record.index, "flags": record.flags, "type": record.ifi_type}

def decoded(record):
    link = _link(record, {})
    return [link.name, link.mtu, link.master, link.alias, link.kind, link.link_index, link.link_netnsid,
            repr(link.info), repr(link.port), link.link_type, link.up]

def attrs(block, layout):
    # The attributes a kind declares, as pyroute2 decodes them (the parsers get them as a dict).
    return None if block is None else {name: block.get_attr(name) for name in layout or {}}

def expected(msg):
    kind = _kinds.by_link_kind(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"))
    master = _kinds.by_link_kind(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_KIND"))
    peered = kind is not None and kind.peered
    info = (kind.parse(attrs(msg, kind.link_attributes),
                       attrs(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA"), kind.info_attributes))
            if kind and kind.parse else None)
    port = (master.parse_port(attrs(msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA"), master.port_attributes))
            if master and master.parse_port else None)
    return [msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_MTU"), msg.get_attr("IFLA_MASTER"),
            msg.get_attr("IFLA_IFALIAS"), msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
            msg.get_attr("IFLA_LINK") if peered else None, msg.get_attr("IFLA_LINK_NETNSID") if peered else None,
            repr(info), repr(port), msg["ifi_type"], bool(msg["flags"] & 1)]

def addr_view(msg):
    return {"index": msg["index"], "family": msg["family"], "prefixlen": msg["prefixlen"],
            "address": msg.get_attr("IFA_ADDRESS"), "local": msg.get_attr("IFA_LOCAL")}

def addr_record_view(record):
    return {"index": record.index, "family": record.family, "prefixlen": record.prefixlen,
            "address": record.address, "local": record.local}

def fdb_view(msg):
    return {"index": msg["ifindex"], "state": msg["state"], "flags": msg["flags"],
            "lladdr": msg.get_attr("NDA_LLADDR"), "dst": msg.get_attr("NDA_DST"), "port": msg.get_attr("NDA_PORT"),
            "vni": msg.get_attr("NDA_VNI"), "via": msg.get_attr("NDA_IFINDEX")}

def fdb_record_view(record):
    return {key: getattr(record, key) for key in ("index", "state", "flags", "lladdr", "dst", "port", "vni", "via")}

out = {}
spaces = Namespaces()
for netns in (None, "blue"):
    with spaces.inside(netns):
        reader, ipr = Reader(), IPRoute()
    other = spaces.fd("blue" if netns is None else None)
    links = reader.links()
    dumped = ipr.get_links()
    by_index = {m["index"]: m for m in dumped}
    iproute = [link_view(m) for m in dumped]
    out[str(netns)] = {
        "reader_links": sorted((record_view(r) for r in links), key=lambda v: v["index"]),
        "iproute_links": sorted(({key: v[key] for key in record_view(links[0])} for v in iproute),
                                key=lambda v: v["index"]),
        "reader_addrs": sorted((addr_record_view(r) for r in reader.addresses()), key=json.dumps),
        "iproute_addrs": sorted((addr_view(m) for m in ipr.get_addr()), key=json.dumps),
        "reader_nsid": reader.netnsid(other),
        "decoded": [decoded(r) for r in links],
        # pyroute2's own decoding of the same devices (dumped by IPRoute), through the kinds' parsers.
        "expected": [expected(by_index[r.index]) for r in links],
        "by_name": {r.name: record_view(reader.link(name=r.name)) for r in links},
        "by_index": {r.name: record_view(reader.link(index=r.index)) for r in links},
        "missing": reader.link(name="nothere") is None and reader.link(index=99999) is None,
        "iproute_nsid": ipr.get_netnsid(fd=other)["nsid"],
        "reader_fdb": sorted((fdb_record_view(r) for r in reader.fdb()), key=json.dumps),
        "iproute_fdb": sorted((fdb_view(m) for m in ipr.fdb("dump")), key=json.dumps),
        # One device's entries, as the kernel filters a strict dump (a vxlan's remotes are read so).
        "reader_fdb_vx0": sorted((fdb_record_view(r) for r in reader.fdb(
            next((r.index for r in links if r.name == "vx0"), 99999))), key=json.dumps),
    }
    reader.close()
    ipr.close()
spaces.close()
print(json.dumps(out))
"""


def python(sandbox, script: str, *args: str) -> str:
    """What ``script`` prints, run in the sandbox by the suite's Python with the collection importable."""
    return sandbox.run([PYTHON, "-c", script, *args], env={"PYTHONPATH": str(ensure_collection_path())}).stdout


def host_index(found, name):
    return next((link["index"] for link in found["None"]["reader_links"] if link["IFLA_IFNAME"] == name), None)


def test_reader_reads_what_iproute_reads(sandbox):
    sandbox.sh(
        "ip netns add blue\n"
        # Options away from their defaults, as the tap's below: read from the attributes its kind declares.
        "ip link add br0 type bridge stp_state 1 priority 4096 forward_delay 500 hello_time 300 max_age 1500"
        " ageing_time 20000\n"
        "ip link add v0 mtu 1400 type veth peer name eth0 netns blue\n"
        "ip link set v0 master br0 up\n"
        # A port's settings away from their defaults: decoded from the declared attributes alone.
        "ip link set v0 type bridge_slave cost 77 priority 5 hairpin on\n"
        "ip link set br0 alias 'a bridge' up\n"
        "ip addr add 10.0.0.1/24 dev br0\n"
        "ip addr add fd00::1/64 dev br0\n"
        "ip -n blue link set eth0 up\n"
        "ip -n blue addr add 10.0.0.2/24 dev eth0\n"
        "ip -n blue link set lo up\n"
        "ip tuntap add d0 mode tap user 1000 group 100 vnet_hdr multi_queue\n"
        "ip tuntap add t0 mode tun pi\n"
        "ip link add vx0 type vxlan id 42 dstport 4789 local 10.0.0.1\n"
        # Forwarding entries (head-end replication's and odder ones): read as pyroute2 reads them.
        "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.7\n"
        "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.8 port 1234 vni 5 via br0\n"
        "bridge fdb add 02:00:00:00:00:09 dev vx0 dst 10.0.0.9\n"
        "ip link add vx6 type vxlan id 43 dstport 8472 local fd00::1 group ff05::9 dev br0\n"
        # Text that is not ASCII, in a name and an alias, survives the hand decoder as pyroute2's.
        "ip link add 'v\u00e9-\u20ac' type veth peer name w\u00e9\n"
        "ip link set w\u00e9 alias '\u00fcber alles, a long alias with spaces' master br0\n"
        "ip link add mv0 link 'v\u00e9-\u20ac' type macvlan mode bridge\n"
    )
    found = json.loads(python(sandbox, COMPARE))
    for netns, got in found.items():
        assert got["reader_links"] == got["iproute_links"], netns
        assert got["reader_addrs"] == got["iproute_addrs"], netns
        assert got["reader_nsid"] == got["iproute_nsid"], netns
        assert got["decoded"] == got["expected"], netns
        rows = {row["IFLA_IFNAME"]: row for row in got["reader_links"]}
        assert got["by_name"] == rows and got["by_index"] == rows, netns
        assert got["missing"] is True, netns
        assert got["reader_fdb"] == got["iproute_fdb"], netns
        assert got["reader_fdb_vx0"] == [e for e in got["iproute_fdb"] if e["index"] == host_index(found, "vx0")]
    host = {link["IFLA_IFNAME"]: link for link in found["None"]["reader_links"]}
    assert {"lo", "br0", "v0", "d0", "vx0", "mv0", "v\u00e9-\u20ac", "w\u00e9"} <= set(host)
    assert host["w\u00e9"]["IFLA_IFALIAS"] == "\u00fcber alles, a long alias with spaces"
    assert host["v0"]["IFLA_MASTER"] == host["br0"]["index"] and host["v0"]["IFLA_MTU"] == 1400
    assert host["br0"]["IFLA_IFALIAS"] == "a bridge" and host["vx0"]["IFLA_INFO_KIND"] == "vxlan"
    ports = {row[0]: row for row in found["None"]["decoded"]}
    assert "BridgeInfo(stp=True, forward_delay=500, hello_time=300, max_age=1500, ageing_time=20000, priority=4096" \
        in ports["br0"][7], ports["br0"]
    assert "mode='tap', owner=1000, group=100, pi=False, vnet_hdr=True, multi_queue=True, persist=True" in ports["d0"][7]
    assert "mode='tun', owner=None, group=None, pi=True" in ports["t0"][7], ports["t0"]
    assert "cost=77" in ports["v0"][8] and "priority=5" in ports["v0"][8] and "hairpin=True" in ports["v0"][8]
    assert ports["v0"][8] != "None" and ports["vx0"][7] != "None" and ports["d0"][7] != "None"
    assert "vni=43, local='fd00::1', remote=None, group='ff05::9', dstport=8472, dev=%d" % host["br0"]["index"] \
        in ports["vx6"][7], ports["vx6"]
    assert ports["mv0"][7] != "None" and ports["w\u00e9"][8] != "None" and ports["br0"][7] != "None"
    assert found["None"]["reader_nsid"] is not None
    vx0 = [(e["lladdr"], e["dst"], e["port"], e["vni"], e["via"]) for e in found["None"]["reader_fdb_vx0"]]
    assert sorted(vx0) == [("00:00:00:00:00:00", "10.0.0.7", None, None, None),
                           ("00:00:00:00:00:00", "10.0.0.8", 1234, 5, host_index(found, "br0")),
                           ("02:00:00:00:00:09", "10.0.0.9", None, None, None)], vx0
    assert host["v0"]["IFLA_LINK_NETNSID"] == found["None"]["reader_nsid"]
    assert {a["address"] for a in found["blue"]["reader_addrs"]} >= {"10.0.0.2", "127.0.0.1"}


def test_reader_error_names_the_errno_without_pyroute2(sandbox):
    # The adapter's one exception (KernelError), with the kernel's errno.
    script = ("import os, sys\n"
              "from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError\n"
              "from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Reader\n"
              "fd = os.open('/dev/null', os.O_RDONLY)\n"
              "try:\n"
              "    Reader().netnsid(fd)\n"
              "except KernelError as exc:\n"
              "    print('code', exc.errno, 'pyroute2' in sys.modules, exc.msg)\n")
    out = python(sandbox, script)
    assert out.startswith("code "), out
    code = int(out.split()[1])
    assert code > 0 and os.strerror(code) in out
    # A read imports none of pyroute2 (its import is most of a small task's start-up).
    assert out.split()[2] == "False", out


NAMED = r"""
import json
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

with Kernel() as kernel:
    world = kernel.read([None, "blue"], names={None: {"v0", "nothere"}, "blue": {"v0"}})
    full = kernel.read([None, "blue"])
out = {}
for name, read in (("named", world), ("full", full)):
    out[name] = {str(ns): {link.name: [link.index, link.peer and [link.peer[0], link.peer[1]], list(link.addresses), link.master]
                           for link in space.links.values()} for ns, space in read.spaces.items()}
print(json.dumps(out))
"""


READ_WITHOUT_PYROUTE2 = r"""
import sys
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds

with Kernel() as kernel:
    # With what a vxlan task reads beyond links: its all-zeros forwarding entry (its remotes).
    world = kernel.read([None], reads={None: [(_kinds.get("vxlan").read, {"vx0", "vx6"})]})
links = world.spaces[None].links
print(sorted(links), repr(links["br0"].info), repr(links["p0"].port), repr(links["d0"].info),
      repr(links["vx0"].info), repr(links["vx6"].info), repr(links["mv0"].info),
      repr(world.spaces[None].fdb[links["vx0"].index]), "pyroute2" in sys.modules)
"""


def test_a_read_of_bridges_ports_taps_vxlans_macvlans_and_veths_imports_no_pyroute2(sandbox):
    sandbox.sh("ip link add br0 type bridge stp_state 1\n"
               "ip link add p0 type veth peer name p1\n"
               "ip link set p0 master br0\n"
               "ip link set p0 type bridge_slave cost 9\n"
               "ip tuntap add d0 mode tap\n"
               "ip link add vx0 type vxlan id 42 dstport 4789 local 192.0.2.1 remote 192.0.2.2 dev p1\n"
               "ip link add vx6 type vxlan id 43 dstport 8472 local fd00::1 group ff05::9 dev p1\n"
               "ip link add mv0 link p1 type macvlan mode private\n"
               "bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.3\n")
    out = python(sandbox, READ_WITHOUT_PYROUTE2)
    assert out.startswith("['br0', 'd0', 'lo', 'mv0', 'p0', 'p1', 'vx0', 'vx6']"), out
    assert "stp=True" in out and "cost=9" in out and "mode='tap'" in out, out
    assert "vni=42, local='192.0.2.1', remote='192.0.2.2', group=None, dstport=4789" in out, out
    assert "vni=43, local='fd00::1', remote=None, group='ff05::9', dstport=8472" in out, out
    assert "MacvlanInfo(mode='private'" in out, out
    # The default destination (remote, pinned to dev p1) and the appended one.
    assert "FdbEntry(dst='192.0.2.2', port=None, vni=None, via=%d), FdbEntry(dst='192.0.2.3'," % (
        sandbox.ip_json("link", "show", "dev", "p1")[0]["ifindex"]) in out, out
    assert out.split()[-1] == "False", out


def test_named_read_reads_the_devices_and_their_peers(sandbox):
    sandbox.sh(
        "ip netns add blue\n"
        "ip link add br0 type bridge\n"
        "ip link add v0 type veth peer name eth0 netns blue\n"
        "ip link set v0 master br0\n"
        "ip addr add 10.0.0.1/24 dev v0\n"
        "ip -n blue addr add 10.0.0.2/24 dev eth0\n"
        "ip -n blue addr add fd00::2/64 dev eth0\n"
        "ip link add w0 type veth peer name w1\n"
    )
    found = json.loads(python(sandbox, NAMED))
    named, full = found["named"], found["full"]
    # Only v0 in the host (nothere does not exist), and its peer, found by index in the namespace read.
    assert set(named["None"]) == {"v0"} and set(named["blue"]) == {"eth0"}
    assert named["None"]["v0"] == full["None"]["v0"]
    assert named["blue"]["eth0"] == full["blue"]["eth0"]
    assert named["None"]["v0"][1] == ["blue", "eth0"] and named["blue"]["eth0"][1] == [None, "v0"]
    assert named["None"]["v0"][2] == ["10.0.0.1/24"] and "10.0.0.2/24" in named["blue"]["eth0"][2]
    assert {"br0", "w0", "w1", "lo"} <= set(full["None"])


def test_veth_task_names_a_foreign_peer_read_by_index(sandbox):
    # pv0 pairs with x, not with the peer the task asks for: the refusal names x, as after a whole read.
    sandbox.sh("ip link add pv0 type veth peer name x")
    result = sandbox.module("netvirt.linux.veth", {"name": "pv0", "peer": "pv1"}, expect_failure=True)
    assert "paired with 'x'" in result["msg"], result["msg"]
    assert set(sandbox.links()) == {"lo", "pv0", "x"}


WRITE = r"""
import errno, json, sys
from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

out = {}
with Kernel() as kernel:
    index = kernel.ifindex("blue", "w0")
    bridge = kernel.ifindex("blue", "b0")
    kernel.set_link("blue", index, ifalias="netvirt:lab=t \u00e9", mtu=1400, master=bridge)
    kernel.set_link("blue", index, state="up")
    kernel.address("blue", "add", index, "10.9.0.1", 24)
    kernel.address("blue", "add", index, "fd00:9::1", 64)
    kernel.address("blue", "add", index, "10.9.1.1", 16)
    kernel.address("blue", "del", index, "10.9.1.1", 16)
    try:
        kernel.address("blue", "add", index, "10.9.0.1", 24)
    except KernelError as exc:
        out["again"] = exc.errno
    try:
        kernel.set_link("blue", 99999, state="up")
    except KernelError as exc:
        out["missing"] = exc.errno
    other = kernel.ifindex("blue", "w1")
    kernel.set_link("blue", other, state="down")
out["pyroute2"] = "pyroute2" in sys.modules
print(json.dumps(out))
"""


def test_links_set_and_addresses_changed_on_the_reading_socket(sandbox):
    # set_link's own fields and address changes go out packed by _nlwire: the kernel must end as `ip` says.
    sandbox.sh("ip netns add blue\n"
               "ip -n blue link add b0 type bridge\n"
               "ip -n blue link add w0 type veth peer name w1\n"
               "ip -n blue link set w1 up\n")
    out = json.loads(python(sandbox, WRITE))
    assert out == {"again": errno.EEXIST, "missing": errno.ENODEV, "pyroute2": False}, out
    links = sandbox.links("blue")
    w0 = links["w0"]
    assert w0["ifalias"] == "netvirt:lab=t \u00e9" and w0["mtu"] == 1400 and w0["master"] == "b0"
    assert "UP" in w0["flags"] and "UP" not in links["w1"]["flags"]
    addresses = {(a["local"], a["prefixlen"]) for entry in sandbox.ip_json("addr", "show", "dev", "w0", netns="blue")
                 for a in entry["addr_info"] if a.get("scope") != "link"}
    assert addresses == {("10.9.0.1", 24), ("fd00:9::1", 64)}


# Python 3.11 (stock Debian 12) has no os.setns: entering a namespace goes through libc's setns
# by ctypes. Loading libc runs `ldconfig -p` (find_library), a millisecond each: loaded once per
# run, not twice per namespace (it made a re-run of a thousand namespaces take 6.6 s, not 0.9 s).
READ_WITHOUT_OS_SETNS = r"""
import ctypes.util, os, sys
del os.setns
calls = []
find = ctypes.util.find_library
ctypes.util.find_library = lambda name: calls.append(name) or find(name)
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

spaces = [None] + ["ns%d" % i for i in range(5)]
with Kernel() as kernel:
    world = kernel.read(spaces)
    again = kernel.read(spaces)
print(sorted(str(ns) for ns in world.spaces), sorted(world.spaces["ns3"].links), len(calls))
"""


def test_entering_namespaces_without_os_setns_loads_libc_once(sandbox):
    sandbox.sh("".join("ip netns add ns%d\nip -n ns%d link add v%d type veth peer name w%d\n" % (i, i, i, i)
                       for i in range(5)))
    out = python(sandbox, READ_WITHOUT_OS_SETNS)
    assert out.split("] ")[0] == "['None', 'ns0', 'ns1', 'ns2', 'ns3', 'ns4'", out
    assert "['lo', 'v3', 'w3']" in out, out
    assert out.split()[-1] == "1", out


DELETE = r"""
import json, sys
from ansible_collections.netvirt.linux.plugins.module_utils._actions import DeleteLink
from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_netns import DeleteNetns
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

out = {}
with Kernel() as kernel:
    kernel.read([None, "blue", "red"])
    kernel.apply([DeleteLink(None, "h0"), DeleteNetns("blue"), DeleteNetns("red")], [])
    kernel.wait_gone([(None, "r0")])
    for action in (DeleteLink(None, "h0"), DeleteNetns("blue")):
        try:
            kernel.apply([action], [])
        except KernelError as exc:
            out[action.describe()] = exc.msg
out["pyroute2"] = "pyroute2" in sys.modules
print(json.dumps(out))
"""


def test_devices_and_namespaces_deleted_without_pyroute2(sandbox):
    # A lab's removal: a device by RTM_DELLINK on the reading socket (its peer goes with it), namespaces
    # as `ip netns del` does, the host end of a deleted namespace's veth waited for until the kernel reaps it.
    sandbox.sh("ip link add h0 type veth peer name h1\n"
               "ip netns add blue\n"
               "ip netns add red\n"
               "ip link add r0 type veth peer name r1 netns red\n"
               "ip link add keep type veth peer name keep1\n")
    out = json.loads(python(sandbox, DELETE))
    assert out["pyroute2"] is False, out
    assert sorted(out) == ["delete h0 in host", "delete namespace blue", "pyroute2"], out
    assert out["delete h0 in host"] == "no device 'h0' in the host namespace", out
    assert "delete namespace blue failed" in out["delete namespace blue"], out
    assert sandbox.namespaces() == set()
    assert set(sandbox.links()) == {"lo", "keep", "keep1"}


CREATE = r"""
import json, sys
from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_netns import CreateNetns
from ansible_collections.netvirt.linux.plugins.module_utils._kind_veth import CreateVeth
from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

out = {}
with Kernel() as kernel:
    kernel.apply([CreateNetns("a"), CreateVeth("x", None, "y", "a", 1400), CreateVeth("p", "a", "q", "a")], [])
    for action in (CreateNetns("a"), CreateVeth("x", None, "z", "a")):
        try:
            kernel.apply([action], [])
        except KernelError as exc:
            out[action.describe()] = exc.details["errno"]
out["pyroute2"] = "pyroute2" in sys.modules
print(json.dumps(out))
"""


def test_namespaces_and_veths_made_without_pyroute2(sandbox):
    # As `ip netns add` (an entry bound to a new namespace, /run/netns a shared mount) and
    # `ip link add ... type veth peer name ... netns ...`; a taken name is refused and nothing changes.
    out = json.loads(python(sandbox, CREATE))
    assert out == {"create namespace a": errno.EEXIST, "create veth x in host with peer z in a": errno.EEXIST,
                   "pyroute2": False}, out
    assert sandbox.namespaces() == {"a"}
    host, inside = sandbox.links(), sandbox.links("a")
    assert set(host) == {"lo", "x"} and set(inside) == {"lo", "y", "p", "q"}
    assert host["x"]["mtu"] == inside["y"]["mtu"] == 1400 and inside["p"]["mtu"] == 1500
    assert host["x"]["link_index"] == inside["y"]["ifindex"] and inside["p"]["link"] == "q"
    mounts = sandbox.sh("grep ' /run/netns' /proc/self/mountinfo").stdout
    assert " /run/netns/a " in mounts and "nsfs" in mounts and "shared:" in mounts.split(" /run/netns ")[1].split("\n")[0], mounts


# The topology module run as Ansible runs it (its file, the arguments as JSON), reporting on exit
# whether anything imported pyroute2.
LAB_RUN = r"""
import atexit, runpy, sys
atexit.register(lambda: print("pyroute2", "pyroute2" in sys.modules))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_lab_of_namespaces_veths_and_a_bridge_with_port_settings_needs_no_pyroute2(sandbox, tmp_path):
    # Built, re-run and removed with reads and changes on _nlwire's sockets alone (pyroute2's import
    # is about 0.25 s of every task that needs it).
    module = str(ensure_collection_path() / "ansible_collections/netvirt/linux/plugins/modules/topology.py")
    lab = {"name": "p", "namespaces": [{"name": "a"}, {"name": "b"}],
           "bridges": [{"name": "br0", "ports": [{"name": "a-br", "cost": 7, "hairpin": True}, "b-br"],
                        "stp": True, "forward_delay": 4}],
           "veths": [{"name": "a-br", "peer": "eth0", "peer_netns": "a", "peer_addresses": ["10.0.0.1/24"]},
                     {"name": "b-br", "peer": "eth0", "peer_netns": "b", "peer_addresses": ["10.0.0.2/24"]}]}
    changed = []
    for args in (lab, lab, {"name": "p", "state": "absent"}):
        path = tmp_path / "args.json"
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        out = python(sandbox, LAB_RUN, module, str(path)).split()
        result = json.loads(" ".join(out[:-2]))
        assert not result.get("failed"), result
        assert out[-2:] == ["pyroute2", "False"], out
        changed.append(result["changed"])
        if args is lab and changed == [True]:
            assert "UP" in sandbox.links("a")["eth0"]["flags"] and sandbox.links()["a-br"]["master"] == "br0"
            assert sandbox.ip_json("-d", "link", "show", "br0")[0]["linkinfo"]["info_data"]["stp_state"] == 1
            port = sandbox.ip_json("-d", "link", "show", "a-br")[0]["linkinfo"]["info_slave_data"]
            assert port["cost"] == 7 and port["hairpin"] is True, port
    assert changed == [True, False, True]
    assert sandbox.namespaces() == set() and set(sandbox.links()) == {"lo"}
