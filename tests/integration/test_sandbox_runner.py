"""The sandbox's in-process runner (sandbox.py, inprocess.py --serve) works inside the sandbox.

Forked from a zygote that runs outside every sandbox, the runner must have entered the
sandbox's network, mount and UTS namespaces before its first module call: what it makes is in the
sandbox, never on the machine.
"""

import os
import uuid

import sandbox as sandbox_module


def test_the_runner_lives_in_the_sandbox_and_its_changes_stay_there(sandbox):
    name = "nv-runner-%s" % uuid.uuid4().hex[:8]
    sandbox.module("netvirt.linux.netns", {"name": name})
    runner = sandbox.runner_pid
    assert runner is not None
    for kind in ("net", "mnt", "uts"):
        assert os.readlink("/proc/%d/ns/%s" % (runner, kind)) == os.readlink(
            "/proc/%d/ns/%s" % (sandbox.pid, kind)), "the runner is not in the sandbox's %s namespace" % kind
    assert os.readlink("/proc/%d/ns/net" % runner) != os.readlink("/proc/self/ns/net")
    assert name in sandbox.namespaces()
    assert not os.path.exists(os.path.join("/run/netns", name)), "the namespace was made on the machine"
    with open("/proc/%d/stat" % runner) as stat:
        parent = int(stat.read().rsplit(")", 1)[1].split()[1])
    # Forked from the zygote (ZYGOTE), else a process of this test's own (nsenter ... --serve).
    assert (parent != os.getpid()) == sandbox_module.ZYGOTE
