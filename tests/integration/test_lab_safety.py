"""Labs that others share a host with: stale /run/netns entries, racing runs,
foreign devices in a lab's namespaces, a tap a program holds (issue: safe as root)."""

from __future__ import annotations

import subprocess
import threading

TOPOLOGY = "netvirt.linux.topology"
NETNS = "netvirt.linux.netns"


def small_lab(name="s1", prefix="a", n=2):
    return {
        "name": name,
        "namespaces": [{"name": "%s%d" % (prefix, i)} for i in range(n)],
        "veths": [{"name": "eth0", "netns": "%s%d" % (prefix, i), "addresses": ["10.%d.0.%d/24" % (ord(prefix), i + 1)],
                   "peer": "%s%d-br" % (prefix, i), "peer_netns": ""} for i in range(n)],
        "bridges": [{"name": "br-%s" % prefix, "ports": ["%s%d-br" % (prefix, i) for i in range(n)]}],
    }


def namespaces(sandbox):
    return set(sandbox.sh("ls /run/netns").stdout.split())


# -------------------------------------------------------------- stale entries ---


def test_stale_netns_entry_is_skipped_reported_and_removable(sandbox):
    """`touch /run/netns/ghost` (what a crashed `ip netns add` leaves) breaks no one else's task."""
    sandbox.sh("touch /run/netns/ghost")
    # A lab that has no record yet reads every namespace: the ghost is skipped.
    assert sandbox.module(TOPOLOGY, small_lab())["changed"] is True
    assert sandbox.module(TOPOLOGY, small_lab())["changed"] is False
    # Single-object modules in other namespaces are not disturbed either.
    assert sandbox.module(NETNS, {"name": "other"})["changed"] is True
    assert sandbox.module("netvirt.linux.veth", {"name": "v0", "peer": "v1", "peer_netns": "other"})["changed"]
    assert sandbox.module("netvirt.linux.route", {"netns": "other", "dst": "10.200.0.0/16", "dev": "v1"})["changed"]
    # A task that needs the ghost says what it is, by name.
    sandbox.refused("netvirt.linux.veth", {"name": "g0", "peer": "g1", "peer_netns": "ghost"},
                    "'ghost' in /run/netns is a stale entry")
    # And netns state=absent removes it, with check mode first.
    assert sandbox.module(NETNS, {"name": "ghost", "state": "absent"}, check_mode=True)["changed"] is True
    assert "ghost" in namespaces(sandbox)
    assert sandbox.module(NETNS, {"name": "ghost", "state": "absent"})["changed"] is True
    assert "ghost" not in namespaces(sandbox)
    assert sandbox.module(NETNS, {"name": "ghost", "state": "absent"})["changed"] is False


def test_stale_entry_named_by_a_task_is_replaced_with_a_warning(sandbox):
    sandbox.sh("touch /run/netns/ghost")
    records = sandbox.tasks([{"name": "ns", NETNS: {"name": "ghost"}}])
    result = records[-1]["result"]
    assert result["changed"] is True
    assert any("stale entry" in w for w in result.get("warnings", [])), result
    sandbox.sh("ip netns exec ghost ip link show lo")
    assert sandbox.module(NETNS, {"name": "ghost"})["changed"] is False


# --------------------------------------------------------------- racing runs ---


def test_same_lab_twice_at_once_one_waits_for_the_other(sandbox):
    outcomes = []

    def run():
        # Each run a process of its own (a wrapped in-process run: the module's main() as Ansible calls it),
        # both at once, as two ansible-playbook runs would be.
        try:
            records = sandbox.steps([{"name": "lab", "module": TOPOLOGY, "args": small_lab(n=6)}],
                                    via="inprocess", wrap=["env"])
            outcomes.append((0, records[-1]["result"]))
        except AssertionError as exc:
            outcomes.append((1, str(exc)))

    threads = [threading.Thread(target=run) for dummy in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [outcome[0] for outcome in outcomes] == [0, 0], outcomes
    assert sorted(outcome[1]["changed"] for outcome in outcomes) == [False, True], outcomes
    assert namespaces(sandbox) == {"a%d" % i for i in range(6)}


def test_another_lab_coming_and_going_never_fails_this_one(sandbox):
    """Lab b is built and torn down over and over while lab a re-runs: a never reads b's namespaces."""
    assert sandbox.module(TOPOLOGY, small_lab("labA", "a", 3))["changed"] is True
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            sandbox.sh("for i in 0 1 2 3 4 5 6 7; do ip netns add b$i; done; "
                       "for i in 0 1 2 3 4 5 6 7; do ip netns del b$i; done", check=False)

    churner = threading.Thread(target=churn)
    churner.start()
    try:
        # Ten re-runs of lab a, each call in a process of its own (in-process: the module's main() as
        # Ansible calls it, without the controller's start-up between them).
        records = sandbox.steps([{"name": "re-run %d" % i, "module": TOPOLOGY, "args": small_lab("labA", "a", 3)}
                                 for i in range(10)], via="inprocess")
        assert len(records) == 10 and all(r["status"] == "ok" for r in records), records
        assert [r["result"]["changed"] for r in records] == [False] * 10, records
    finally:
        stop.set()
        churner.join()


# ----------------------------------------------- teardown removes only its own ---


def test_teardown_refuses_to_destroy_a_foreign_device_in_a_lab_namespace(sandbox):
    assert sandbox.module(TOPOLOGY, small_lab())["changed"] is True
    # Someone plugs their own veth into the lab's namespace a0, the other end in their namespace.
    sandbox.sh("ip netns add theirs && ip -n theirs link add mine type veth peer name plugged netns a0")
    before = sandbox.snapshot()
    result = sandbox.module(TOPOLOGY, {"name": "s1", "state": "absent"}, expect_failure=True)
    assert ("'plugged' (veth) (its peer is in a namespace that is not the lab's) in namespace 'a0'"
            in result["msg"]), result
    assert sandbox.snapshot() == before
    # Once they take it out, the lab goes, and their namespace and device stay.
    sandbox.sh("ip -n a0 link del plugged && ip -n theirs link add mine type veth peer name theirs2")
    assert sandbox.module(TOPOLOGY, {"name": "s1", "state": "absent"})["changed"] is True
    assert namespaces(sandbox) == {"theirs"}
    assert {"mine", "theirs2"} <= set(sandbox.links("theirs"))


def test_pruned_namespace_with_a_foreign_device_is_refused_too(sandbox):
    assert sandbox.module(TOPOLOGY, small_lab(n=3))["changed"] is True
    sandbox.sh("ip -n a2 link add br-theirs type bridge")
    smaller = small_lab(n=2)
    before = sandbox.snapshot()
    result = sandbox.module(TOPOLOGY, smaller, expect_failure=True)
    assert "'br-theirs' (bridge) in namespace 'a2'" in result["msg"], result
    assert sandbox.snapshot() == before


def test_moving_a_tap_a_program_holds_is_refused(sandbox):
    sandbox.sh("ip netns add n1 && ip tuntap add vnet0 mode tap")
    script = ("import fcntl, os, struct, sys\n"
              "fd = os.open('/dev/net/tun', os.O_RDWR)\n"
              "fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', b'vnet0', 0x1002))\n"
              "print('held', flush=True)\n"
              "sys.stdin.read()\n")
    holder = subprocess.Popen(sandbox.prefix() + ["/usr/bin/python3", "-c", script],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        words = "tap 'vnet0' in the host namespace is open in a program"
        sandbox.refused("netvirt.linux.tap", {"name": "vnet0", "netns": "n1"}, words)
        sandbox.refused("netvirt.linux.tap", {"name": "vnet0", "netns": "n1"}, words, check_mode=True)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert "vnet0" in sandbox.links()
