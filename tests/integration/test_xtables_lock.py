"""The xtables lock held by another process (issue 23 item 8): iptables_chain and topology wait at most
lock_timeout seconds, then fail naming the lock and its holder, with nothing changed.

The sandbox's /run is the machine's (only /run/netns and /run/netvirt are its own), so each test
first mounts a private tmpfs on /run inside the sandbox's mount namespace: the lock file held here
is the sandbox's /run/xtables.lock, never the machine's.
"""

import os
import signal
import subprocess
import time

import pytest

LOCK = "/run/xtables.lock"
CHAIN = {"chain": "INPUT", "netns": "fw", "rules": ["-s 10.3.0.1 -j ACCEPT"]}
LAB = {"name": "L", "namespaces": [{"name": "a"}],
       "iptables_chains": [{"netns": "a", "chain": "INPUT", "rules": ["-s 10.3.0.1 -j ACCEPT"]}]}


def private_run(sandbox) -> None:
    sandbox.sh("mount -t tmpfs netvirt-run /run && mkdir /run/netns /run/netvirt && "
               "mount -t tmpfs netvirt-sandbox /run/netns && mount -t tmpfs netvirt-sandbox-state /run/netvirt")
    assert "xtables.lock" not in sandbox.run(["ls", "-A", "/run"]).stdout.split()


@pytest.fixture
def held(sandbox):
    """The sandbox's xtables lock, held by `flock /run/xtables.lock sleep 300` inside it; yields the holder."""
    private_run(sandbox)
    sandbox.sh("ip netns add fw")
    # A session of its own: flock's child (sleep) holds the lock too, and goes with the group.
    holder = subprocess.Popen(sandbox.prefix() + ["flock", LOCK, "sleep", "300"], start_new_session=True)
    try:
        for _attempt in range(100):
            if sandbox.run(["flock", "-n", LOCK, "true"], check=False).returncode != 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the holder did not take the lock")
        yield holder
    finally:
        release(holder)


def release(holder) -> None:
    if holder.poll() is None:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


def refused_in_bounded_time(sandbox, module, args, holder, check_mode=False):
    started = time.monotonic()
    result = sandbox.refused(module, args, "the xtables lock %s is held by pid %d (flock %s sleep 300)"
                             % (LOCK, holder.pid, LOCK), check_mode=check_mode)
    # Ansible's own start-up is most of it; the holder keeps the lock for 300 s.
    assert time.monotonic() - started < 60
    assert "was not released within 2 seconds (lock_timeout); no iptables chain was read or changed" in result["msg"]
    assert result["lock"] == LOCK
    assert result["lock_holders"] == [{"pid": holder.pid, "command": "flock %s sleep 300" % LOCK}]
    assert holder.poll() is None, "the holder must be left alone"
    return result


def test_iptables_chain_gives_up_on_a_held_lock(sandbox, held):
    for check_mode in (False, True):
        refused_in_bounded_time(sandbox, "netvirt.linux.iptables_chain", dict(CHAIN, lock_timeout=2), held,
                                check_mode=check_mode)
    # Released: the same task goes through.
    release(held)
    assert sandbox.module("netvirt.linux.iptables_chain", dict(CHAIN, lock_timeout=2))["changed"] is True


def test_topology_gives_up_on_a_held_lock_before_building_anything(sandbox, held):
    for check_mode in (False, True):
        refused_in_bounded_time(sandbox, "netvirt.linux.topology", dict(LAB, lock_timeout=2), held,
                                check_mode=check_mode)
    assert "a" not in sandbox.namespaces()
    # A lab without chains never takes the lock.
    assert sandbox.module("netvirt.linux.topology", {"name": "L", "namespaces": [{"name": "a"}],
                                                     "lock_timeout": 0})["changed"] is True


def test_lock_timeout_zero_fails_at_once_and_a_negative_one_is_refused(sandbox, held):
    result = sandbox.refused("netvirt.linux.iptables_chain", dict(CHAIN, lock_timeout=0),
                             "was not released within 0 seconds (lock_timeout)")
    assert "pid %d" % held.pid in result["msg"]
    sandbox.refused("netvirt.linux.iptables_chain", dict(CHAIN, lock_timeout=-1),
                    "lock_timeout must be a whole number of seconds, 0 or more (got -1)")
    sandbox.refused("netvirt.linux.topology", dict(LAB, lock_timeout=-1),
                    "lock_timeout must be a whole number of seconds, 0 or more (got -1)")


def test_lock_timeout_leaves_a_normal_run_alone(sandbox):
    private_run(sandbox)
    sandbox.sh("ip netns add fw")
    steps = sandbox.four_steps("netvirt.linux.iptables_chain", dict(CHAIN, lock_timeout=5))
    assert steps["apply"]["chain"]["ipv4"]["rules"] == ["-s 10.3.0.1/32 -j ACCEPT"]
    steps = sandbox.four_steps("netvirt.linux.topology", dict(LAB, lock_timeout=5))
    assert steps["apply"]["summary"]["kinds"]["iptables_chain"]["changed"] == 1
    assert sandbox.namespaces() == {"a", "fw"}
    saved = sandbox.run(["ip", "netns", "exec", "a", "iptables-save"]).stdout
    assert "-A INPUT -s 10.3.0.1/32 -j ACCEPT" in saved
    # Nobody holds it now: lock_timeout 0 takes it at once.
    assert sandbox.module("netvirt.linux.iptables_chain", dict(CHAIN, lock_timeout=0))["changed"] is False
