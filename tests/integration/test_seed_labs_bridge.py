"""Seed labs 002 and 003 (bridges) side by side, and seed 004's tun/tap for a user-space program."""

import json
import subprocess
import time

from sandbox import REPO

SEED002 = REPO / "playbooks" / "seed002_bridge_netns.yml"
SEED003 = REPO / "playbooks" / "seed003_bridge_host.yml"
TEARDOWN = REPO / "playbooks" / "teardown.yml"

# Each seed lab's own round trip (built twice, equal to the seed's commands,
# torn down) is in test_playbooks_seeds.py.


def changed_tasks(records):
    return [r["task"] for r in records if r["result"].get("changed")]


def test_both_seed_labs_side_by_side(sandbox):
    """Each lab's names are its own: both build and prove themselves, and one teardown removes both."""
    empty = sandbox.snapshot()
    for playbook in (SEED002, SEED003):
        sandbox.playbook(playbook)
    assert sandbox.ping("net0", "10.0.1.2") and sandbox.ping("ns1", "10.0.1.2")
    down = sandbox.playbook(TEARDOWN)[1]
    # Each lab's own devices go first, then its namespaces (netns state=absent refuses a namespace with devices).
    assert len(changed_tasks(down)) == 6, changed_tasks(down)
    assert sandbox.snapshot() == empty


# ---------------------------------------------------------- tun/tap e2e ---

NOBODY = 65534

# Runs as the unprivileged owner: attaches to the tap the module made and
# reports the first Ethernet frame whose source is the given MAC address.
READER = r"""
import fcntl, json, os, select, struct, sys, time
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
name, source = sys.argv[1], sys.argv[2]
fd = os.open("/dev/net/tun", os.O_RDWR)
try:
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
except OSError as exc:
    print(json.dumps({"uid": os.getuid(), "error": exc.errno}), flush=True)
    sys.exit(1)
print(json.dumps({"uid": os.getuid(), "attached": name}), flush=True)
deadline = time.time() + 15
while time.time() < deadline:
    if not select.select([fd], [], [], 0.5)[0]:
        continue
    frame = os.read(fd, 65536)
    src = ":".join("%02x" % b for b in frame[6:12])
    if src == source:
        print(json.dumps({"uid": os.getuid(), "dst": ":".join("%02x" % b for b in frame[0:6]), "src": src,
                          "ethertype": "%04x" % struct.unpack("!H", frame[12:14])[0], "length": len(frame)}),
              flush=True)
        sys.exit(0)
print(json.dumps({"uid": os.getuid(), "timeout": True}), flush=True)
sys.exit(2)
"""

TAP_LAB = [{
    "name": "Build - namespace, veth to the host, a tap owned by nobody, a bridge joining them",
    "hosts": "localhost",
    "gather_facts": False,
    "tasks": [
        {"name": "namespace", "netvirt.linux.netns": {"name": "client"}},
        {"name": "veth", "netvirt.linux.veth": {
            "name": "veth-c", "netns": "client", "addresses": ["10.0.9.2/24"], "peer": "br-c", "peer_netns": ""}},
        {"name": "tap", "netvirt.linux.tap": {"name": "tap-vm", "owner": "nobody", "group": "nogroup"}},
        {"name": "bridge", "netvirt.linux.bridge": {
            "name": "br0", "stp": False, "addresses": ["10.0.9.1/24"], "ports": ["br-c", "tap-vm"]}},
    ],
}]


def unprivileged_node(sandbox):
    """Give the sandbox its own /dev/net/tun, mode 0666 as distributions ship it.

    This machine's node is 0600; a tmpfs over /dev/net in the sandbox's own
    mount namespace leaves the machine's node untouched.
    """
    sandbox.sh("mount -t tmpfs -o mode=0755 netvirt-dev-net /dev/net && mknod -m 0666 /dev/net/tun c 10 200")


def reader(sandbox, uid, name, source):
    argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
            "/usr/bin/python3", "-c", READER, name, source]
    return subprocess.Popen(sandbox.prefix() + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_tap_owner_receives_frames_from_a_namespace(sandbox):
    # The lab's module calls in-process (each main() as Ansible calls it), twice.
    steps = [{"name": task["name"], "module": module, "args": args}
             for task in TAP_LAB[0]["tasks"] for module, args in task.items() if module != "name"]
    assert len(changed_tasks(sandbox.steps(steps, via="inprocess"))) == len(steps)
    assert changed_tasks(sandbox.steps(steps, via="inprocess")) == [], "a second run changed something"
    unprivileged_node(sandbox)
    info = sandbox.ip_json("-d", "link", "show", "dev", "tap-vm")[0]["linkinfo"]
    assert info["info_kind"] == "tun" and info["info_data"]["user"] == "nobody"
    assert info["info_slave_kind"] == "bridge"
    source = sandbox.ip_json("link", "show", "dev", "veth-c", netns="client")[0]["address"]

    # Another unprivileged user may not attach: the owner is what lets ours in.
    stranger = reader(sandbox, NOBODY - 1, "tap-vm", source)
    out = stranger.communicate(timeout=30)[0]
    assert stranger.returncode == 1 and json.loads(out.splitlines()[0])["error"] == 1  # EPERM

    owner = reader(sandbox, NOBODY, "tap-vm", source)
    try:
        hello = json.loads(owner.stdout.readline())
        assert hello == {"uid": NOBODY, "attached": "tap-vm"}
        # An address on the bridge's subnet that nobody holds: the namespace
        # broadcasts ARP requests, which the bridge floods out of the tap.
        deadline = time.time() + 15
        while owner.poll() is None and time.time() < deadline:
            sandbox.run(["ip", "netns", "exec", "client", "ping", "-n", "-c", "1", "-W", "1", "10.0.9.77"], check=False)
        out, err = owner.communicate(timeout=30)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    assert owner.returncode == 0, (out, err)
    frame = json.loads(out.splitlines()[-1])
    assert frame["uid"] == NOBODY
    assert frame["src"] == source
    assert frame["dst"] == "ff:ff:ff:ff:ff:ff" and frame["ethertype"] == "0806"  # ARP broadcast
    # The lab itself still works: the namespace reaches the bridge's address.
    assert sandbox.ping("client", "10.0.9.1")
