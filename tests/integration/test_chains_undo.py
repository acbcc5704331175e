"""A lab whose iptables chains fail to be written after its netlink part was reconciled in the same run: what the
run made and changed is undone, every step of it, and the lab's record is as it was.

The failure is real, not injected: the xtables lock. A holder inside the sandbox (its own /run, as in
test_xtables_lock.py) lets the run's proof of the chains take the lock, takes it the moment the proof lets go
(closes the lock file), and keeps it while the run builds the lab's namespaces and devices; the chains' write
then waits lock_timeout seconds and gives up.
"""

import copy
import subprocess
import sys

from test_xtables_lock import LOCK, private_run, release

TOPOLOGY = "netvirt.linux.topology"

# Takes the lock the moment the run's proof lets it go (its first close of the lock file, seen by inotify, so
# never missed however late this process is scheduled), then keeps it.
AFTER_THE_PROOF = """
import ctypes, fcntl, os, struct, sys, time
IN_CLOSE = 0x08 | 0x10
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
watch = libc.inotify_init()
assert watch >= 0 and libc.inotify_add_watch(watch, sys.argv[1].encode(), IN_CLOSE) >= 0
print("watching", flush=True)
os.read(watch, 4096)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(300)
"""

LAB = {
    "name": "fw", "lock_timeout": 1,
    "namespaces": [{"name": "a"}, {"name": "b", "sysctls": {"net.ipv4.ip_forward": 1}}],
    "veths": [{"name": "a0", "netns": "a", "peer": "b0", "peer_netns": "b", "addresses": ["10.71.0.1/24"],
               "peer_addresses": ["10.71.0.2/24"], "shaping": {"rate": "10mbit"}},
              {"name": "b1", "netns": "b", "peer": "fw-b1", "peer_netns": "", "addresses": ["10.72.0.1/24"]}],
    "routes": [{"netns": "a", "dst": "10.72.0.0/24", "gateway": "10.71.0.2"}],
    "iptables_chains": [{"netns": "b", "chain": "FORWARD", "rules": ["-s 10.71.0.0/24 -j ACCEPT"]}],
}


def changed_lab() -> dict:
    lab = copy.deepcopy(LAB)
    # (Its address stays: taking it off would take a's route through 10.71.0.2 with it, which the kernel does by
    # itself and no undo puts back yet.)
    lab["veths"][0].update(addresses=["10.71.0.1/24", "10.74.0.1/24"], mtu=1400, shaping={"rate": "2mbit"})
    lab["veths"][1]["addresses"] = ["10.72.0.9/24"]
    lab["veths"].append({"name": "a1", "netns": "a", "peer": "fw-a1", "peer_netns": "", "addresses": ["10.73.0.1/24"]})
    lab["iptables_chains"][0]["rules"] = ["-s 10.71.0.0/24 -j DROP"]
    return lab


def records(sandbox) -> str:
    return sandbox.run(["sh", "-c", "cat /run/netvirt/*.json 2>/dev/null || true"]).stdout


def fails_with_the_lock_taken_after_the_proof(sandbox, lab) -> dict:
    """Run ``lab`` once with the lock taken between the proof and the write; the run's result."""
    preview = sandbox.module(TOPOLOGY, lab, check_mode=True)
    chain_actions = {a for obj in preview["objects"] if obj["key"][0] == "iptables_chain" for a in obj["actions"]}
    netlink = [action for action in preview["actions"] if action not in chain_actions]
    assert netlink and chain_actions, preview["actions"]
    before, files = sandbox.snapshot(), records(sandbox)
    holder = subprocess.Popen(sandbox.prefix() + [sys.executable, "-c", AFTER_THE_PROOF, LOCK], stdout=subprocess.PIPE,
                              start_new_session=True, text=True)
    try:
        assert holder.stdout.readline().strip() == "watching"
        result = sandbox.module(TOPOLOGY, lab, expect_failure=True)
        assert holder.stdout.readline().strip() == "held", "the holder did not take the lock after the proof"
    finally:
        release(holder)
    msg = result["msg"]
    assert "xtables lock %s is held by pid" % LOCK in msg, msg
    assert "NOT undone" not in msg and result["not_undone"] == [], msg
    # What the netlink part made is said undone, the first made last (a change on something it made goes with
    # it, unsaid); the kernel and the record say every step was.
    created = [action for action in netlink if action.startswith("create ")]
    assert set(created) <= set(result["undone"]) <= set(netlink), (result["undone"], netlink)
    if created:
        assert result["undone"][-1] == created[0], result["undone"]
    assert sandbox.snapshot() == before, "the kernel was left changed: %s" % msg
    assert records(sandbox) == files, "the lab's record was left changed"
    # Nothing holds the lock any more: the same run goes through, and a second changes nothing.
    assert sandbox.module(TOPOLOGY, lab)["changed"] is True
    assert sandbox.module(TOPOLOGY, lab)["changed"] is False
    return result


def test_a_new_lab_whose_chains_cannot_be_written_is_undone_whole(sandbox):
    private_run(sandbox)
    result = fails_with_the_lock_taken_after_the_proof(sandbox, LAB)
    assert result["undone"][-1].startswith("create namespace")
    saved = sandbox.run(["ip", "netns", "exec", "b", "iptables-save"]).stdout
    assert "-A FORWARD -s 10.71.0.0/24 -j ACCEPT" in saved


def test_a_changed_lab_whose_chains_cannot_be_written_gets_its_old_state_back(sandbox):
    private_run(sandbox)
    sandbox.module(TOPOLOGY, LAB)
    result = fails_with_the_lock_taken_after_the_proof(sandbox, changed_lab())
    words = " ".join(result["undone"])
    for step in ("set mtu 1400", "add address 10.74.0.1/24", "remove address 10.72.0.1/24", "create veth a1",
                 "shape 'a0' in a: 2mbit"):
        assert step in words, (step, result["undone"])
