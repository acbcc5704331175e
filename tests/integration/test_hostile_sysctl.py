"""Issue 11 items 1 and 9: sysctls stay under /proc/sys/net, refusals come before any change.

The reproductions need paths of the test's own making (a directory under
tmp_path that a key tries to reach) and a private UTS namespace (a key that
tries to reach /proc/sys/kernel/hostname), so they live here rather than in
the static hostile-case catalogue.
"""

from __future__ import annotations

import pytest
from sandbox import Sandbox

NETNS = "netvirt.linux.netns"
TOPOLOGY = "netvirt.linux.topology"
HOSTNAME = "hostile-uts"


@pytest.fixture
def box(tmp_path):
    """A sandbox with its own hostname; its runner, where the modules run, is in its UTS namespace."""
    (tmp_path / "box").mkdir()
    sandbox = Sandbox(tmp_path / "box", hostname=HOSTNAME)
    try:
        yield sandbox
    finally:
        sandbox.close()


def uts(box) -> list:
    return ["nsenter", "-t", str(box.pid), "--uts", "--"]


def hostname(box) -> str:
    return box.run(uts(box) + ["hostname"]).stdout.strip()


def escape_key(target) -> str:
    """A key whose `//` parts used to become `..`, climbing from /proc/sys/net to ``target``."""
    parts = [part.replace(".", "/") for part in str(target).strip("/").split("/")]
    return "net.//.//.//." + ".".join(parts)


def files_under(path) -> list:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def refused(box, module, args, words, check_mode=False, diff=False):
    """Fails with ``words`` in the message, no traceback, kernel unchanged; returns the result."""
    before = box.snapshot()
    # The sandbox's runner (in its UTS namespace too): the module's main() as Ansible calls it.
    step = {"name": "call", "module": module, "args": args, "check_mode": check_mode, "diff": diff,
            "ignore_errors": True}
    result = box.steps([step], via="inprocess")[-1]
    assert result["status"] == "failed", result
    msg = result["result"].get("msg", "")
    assert words.lower() in msg.lower(), "message %r does not say %r" % (msg, words)
    assert "Traceback" not in str(result["result"]) and "MODULE FAILURE" not in msg, result
    assert box.snapshot() == before, "a refused task changed the kernel"
    return result["result"]


# ------------------------------------------------------------- item 1 -----


@pytest.mark.parametrize("existing", [False, True], ids=["new-namespace", "existing-namespace"])
def test_key_cannot_create_a_file_outside_proc(box, tmp_path, existing):
    target = tmp_path / "x"
    target.mkdir()
    if existing:
        box.sh("ip netns add x1")
    key = escape_key(target / "pwned")
    refused(box, NETNS, {"name": "x1", "sysctls": {key: "text"}}, "sysctl")
    assert files_under(target) == [], "a sysctl key created a file outside /proc/sys/net"
    assert box.namespaces() == ({"x1"} if existing else set())


def test_key_cannot_overwrite_a_file(box, tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("keep me\n")
    box.sh("ip netns add x1")
    refused(box, NETNS, {"name": "x1", "sysctls": {escape_key(canary): "pwned"}}, "sysctl")
    assert canary.read_text() == "keep me\n"


def test_key_cannot_reach_the_hostname(box):
    assert hostname(box) == HOSTNAME
    for existing in (False, True):
        if existing:
            box.sh("ip netns add x1")
        refused(box, NETNS, {"name": "x1", "sysctls": {"net.//.kernel.hostname": "pwned"}}, "sysctl")
        assert hostname(box) == HOSTNAME


def test_check_diff_never_reads_outside_proc_sys_net(box, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-contents\n")
    box.sh("ip netns add x1")
    result = refused(box, NETNS, {"name": "x1", "sysctls": {escape_key(secret): "x"}}, "sysctl",
                     check_mode=True, diff=True)
    assert "s3cr3t" not in str(result)
    result = refused(box, NETNS, {"name": "x1", "sysctls": {"net.//.kernel.hostname": "x"}}, "sysctl",
                     check_mode=True, diff=True)
    assert HOSTNAME not in str(result.get("diff", "")) and HOSTNAME not in result["msg"]


def test_topology_key_is_confined_too(box, tmp_path):
    target = tmp_path / "x"
    target.mkdir()
    for key in (escape_key(target / "pwned"), "net.//.kernel.hostname"):
        refused(box, TOPOLOGY, {"name": "lab", "namespaces": [{"name": "x1", "sysctls": {key: "pwned"}}]},
                "sysctl")
    assert files_under(target) == [] and hostname(box) == HOSTNAME


def test_value_with_newline_refused(box):
    box.sh("ip netns add x1")
    refused(box, NETNS, {"name": "x1", "sysctls": {"net.ipv4.ip_forward": "1\n0"}}, "control character")
    refused(box, NETNS, {"name": "x1", "sysctls": {"net.ipv4.ip_local_port_range": "30000\v40000"}},
            "control character")


def test_sysctl_still_works_with_slash_for_dot(box):
    """sysctl(8)'s `/` for a dot inside an interface name still reaches that interface."""
    box.sh("ip netns add x1; ip -n x1 link add eth0.100 type veth peer name p0")
    result = box.module(NETNS, {"name": "x1", "sysctls": {"net.ipv4.conf.eth0/100.rp_filter": 2}})
    assert result["netns"]["sysctls"] == {"net.ipv4.conf.eth0/100.rp_filter": "2"}
    assert box.run(["ip", "netns", "exec", "x1", "cat", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"]
                   ).stdout.strip() == "2"


# ------------------------------------------------------------- item 9 -----


@pytest.mark.parametrize("module", [NETNS, TOPOLOGY])
def test_bad_key_on_new_namespace_creates_nothing(box, module):
    for key, words in (("net.ipv4.no_such_thing", "net.ipv4.no_such_thing"),
                       ("net.ipv4.conf.nosuchif.forwarding", "nosuchif")):
        ns = {"name": "fresh", "sysctls": {key: 1}}
        args = ns if module == NETNS else {"name": "lab", "namespaces": [ns]}
        refused(box, module, args, words)
        refused(box, module, args, words, check_mode=True)
    assert box.namespaces() == set()


@pytest.mark.parametrize("module", [NETNS, TOPOLOGY])
def test_bad_value_on_new_namespace_creates_nothing(box, module):
    for value in ("banana", "99999999999999999999999"):
        ns = {"name": "fresh", "sysctls": {"net.ipv4.ip_forward": 1, "net.ipv4.conf.all.rp_filter": value}}
        args = ns if module == NETNS else {"name": "lab", "namespaces": [ns]}
        refused(box, module, args, "net.ipv4.conf.all.rp_filter")
    assert box.namespaces() == set()


def test_topology_interface_sysctl_for_its_own_interface(box):
    """A per-interface key on a new namespace is fine when the lab makes that interface."""
    result = box.module(TOPOLOGY, {
        "name": "lab",
        "namespaces": [{"name": "r1", "sysctls": {"net.ipv4.conf.v1.rp_filter": 2}}],
        "veths": [{"name": "v1", "netns": "r1", "peer": "v1h", "peer_netns": ""}],
    })
    assert result["changed"] is True


def test_bad_key_on_new_namespace_is_refused_before_creation_with_good_keys(box):
    refused(box, NETNS, {"name": "fresh", "sysctls": {"net.ipv4.ip_forward": 1, "net.ipv4.nope": 1}}, "net.ipv4.nope")
    assert box.namespaces() == set()
