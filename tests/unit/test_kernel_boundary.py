"""One kernel boundary: the kinds and the engine talk to the kernel only through the adapter's methods.

_netlink.py (with _nlwire.py) is the only place that speaks netlink or imports
pyroute2. A kind file, the actions and the engine's pure layers name no pyroute2
object, socket, netlink message or exception, and call on the kernel only the
methods Kernel offers for what they do (new_link, set_link, move_link,
replace_route, routes ...), never its sockets.
"""

import ast
import errno
import re
from pathlib import Path

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._netlink import Kernel

MODULE_UTILS = Path(__file__).resolve().parents[2] / "plugins" / "module_utils"
CHECKED = sorted(MODULE_UTILS.glob("_kind_*.py")) + [
    MODULE_UTILS / name for name in ("_actions.py", "_plan.py", "_ownership.py", "_engine.py", "_labinfo.py")]

# pyroute2's names, its objects' methods and messages, and the adapter's sockets and codec errors.
FORBIDDEN = [
    re.compile(r"pyroute2", re.IGNORECASE),
    re.compile(r"\b(IPRoute|IPBatch|NetNS|NDB|IPDB|NetlinkError|NetlinkFailure|KernelRefusal)\b"),
    re.compile(r"\b(nlmsg\w*|ifinfmsg|ifaddrmsg|rtmsg|tcmsg|nla_\w+)\b"),
    re.compile(r"\b(get_attr|get_attrs|get_nested|get_links|get_addr|get_routes|get_netnsid)\b"),
    re.compile(r"\.(socket|reader|_ipr|_sock)\("),
    re.compile(r"\b(Reader|LinkRecord|AddressRecord)\b"),
]
# The only Kernel attributes a kind or action may use: its public methods, minus its reading socket.
KERNEL_METHODS = {name for name in dir(Kernel) if not name.startswith("_")} - {"reader"}


def offenders_in(text: str, label: str) -> list:
    """'label:line: text' of every line that names what belongs behind the kernel boundary."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if any(pattern.search(line) for pattern in FORBIDDEN):
            found.append("%s:%d: %s" % (label, number, line.strip()))
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
            names = [alias.name for alias in node.names]
            if any(m.split(".")[0] in ("pyroute2", "socket") or m.endswith("_netlink") for m in modules) \
                    or "_netlink" in names:
                found.append("%s:%d: imports %s" % (label, node.lineno, ", ".join(modules + names)))
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "kernel"
                and node.attr not in KERNEL_METHODS):
            found.append("%s:%d: kernel.%s is not one of Kernel's methods" % (label, node.lineno, node.attr))
    return found


def test_kinds_actions_and_engine_name_nothing_behind_the_kernel_boundary():
    assert len(CHECKED) > 8 and all(path.exists() for path in CHECKED), CHECKED
    offenders = [line for path in CHECKED for line in offenders_in(path.read_text(), path.name)]
    assert offenders == [], "pyroute2, sockets or netlink messages outside _netlink.py/_nlwire.py " \
                            "(use a Kernel method named for what it does):\n" + "\n".join(offenders)


def test_the_check_finds_what_it_forbids():
    # Each way past the boundary, as a kind file would write it: every one is reported, with its line.
    source = "\n".join([
        "from pyroute2 import IPRoute",
        "from ansible_collections.netvirt.linux.plugins.module_utils import _netlink",
        "import socket",
        "def apply(self, kernel):",
        "    kernel.socket(self.netns).link('add', ifname=self.name, kind='vxlan')",
        "    kernel._ipr(None).route('replace', dst='10.0.0.0/8')",
        "    kernel.reader(None).request(16, 5, b'')",
        "def parse(msg, data):",
        "    return data.get_attr('IFLA_VXLAN_ID')",
        "def read(kernel, netns):",
        "    return [m for m in kernel.routes(netns)]",
        "try:",
        "    pass",
        "except NetlinkError:",
        "    pass",
    ])
    found = offenders_in(source, "k.py")
    lines = sorted({int(entry.split(":")[1]) for entry in found})
    assert lines == [1, 2, 3, 5, 6, 7, 9, 14], found
    assert "k.py:6: kernel._ipr is not one of Kernel's methods" in found, found
    # What a kind may say: the adapter's methods, its own attributes by their kernel names.
    assert offenders_in("def apply(self, kernel):\n    kernel.new_link(None, 'vx0', 'vxlan', b'')\n"
                        "    kernel.move_link(None, 'v0', 'blue')\n"
                        "def parse(link, data):\n    return data['IFLA_VXLAN_ID']\n", "ok.py") == []


KIND_WORDS = {"veth", "bridge", "vxlan", "macvlan", "tun", "tap", "tuntap"}


def identifiers_and_strings(tree) -> set:
    """The words of a module's code: its names, attributes, arguments and strings that are not docstrings."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    words = set()
    for node in ast.walk(tree):
        text = (node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
                else node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else node.arg
                if isinstance(node, ast.arg) else node.value if isinstance(node, ast.Constant)
                and isinstance(node.value, str) and id(node) not in docstrings else "")
        words.update(re.split(r"[^A-Za-z0-9]+", text.lower()))
    return words


def test_the_adapter_offers_what_kinds_need_and_names_no_kind():
    assert {"new_link", "set_link", "set_link_data", "delete_link", "move_link", "address", "replace_route",
            "delete_route", "routes", "inside", "ifindex", "forget"} <= KERNEL_METHODS
    for module in ("_netlink.py", "_nlwire.py"):
        words = identifiers_and_strings(ast.parse((MODULE_UTILS / module).read_text()))
        # No kind-specific method, branch or constant (create_veth, tun_ioctls, kind="vxlan" ...).
        assert words.isdisjoint(KIND_WORDS), (module, sorted(words & KIND_WORDS))
    assert "create_veth" not in dir(Kernel) and "tun_ioctls" not in dir(Kernel)


def test_tun_ioctls_moved_to_the_tap_kind_are_pyroute2s():
    from pyroute2.netlink.rtnl.ifinfmsg import tuntap

    from ansible_collections.netvirt.linux.plugins.module_utils._kind_tap import tun_ioctls

    assert tun_ioctls() == {name: getattr(tuntap, name) for name in ("TUNSETIFF", "TUNSETOWNER", "TUNSETGROUP",
                                                                     "TUNSETPERSIST")}
    assert tun_ioctls("ppc64")["TUNSETIFF"] == 0x800454CA and tun_ioctls("aarch64")["TUNSETGROUP"] == 0x400454CE
    with pytest.raises(OSError) as exc:
        tun_ioctls("pdp11")
    assert exc.value.errno == errno.EOPNOTSUPP
