"""Labs with far more namespaces than the module may open descriptors (issue 23 item 6).

The module runs under `prlimit --nofile=LIMIT` (its interpreter is wrapped; Ansible itself is not
limited): sockets and namespace descriptors are kept within the limit (_namespaces.Handles), so a
build, a re-run and a teardown of a lab of N namespaces, N far above LIMIT, all work.
"""

import pytest
from sandbox import PYTHON

LAB = "fds"


def star(n: int) -> dict:
    """S(n): n namespaces, each joined by a veth to one bridge in the host."""
    return {
        "name": LAB,
        "namespaces": [{"name": "n%d" % i} for i in range(n)],
        "veths": [{"name": "n%d-br" % i, "peer": "eth0", "peer_netns": "n%d" % i,
                   "peer_addresses": ["10.%d.%d.1/24" % (20 + i // 250, i % 250)]} for i in range(n)],
        "bridges": [{"name": "br-fds", "ports": ["n%d-br" % i for i in range(n)]}],
    }


def limited(sandbox, tmp_path, limit: int, args: dict) -> dict:
    """One topology task whose module runs with at most ``limit`` open descriptors."""
    wrapper = tmp_path / ("python-nofile-%d" % limit)
    wrapper.write_text('#!/bin/sh\nexec prlimit --nofile=%d -- %s "$@"\n' % (limit, PYTHON))
    wrapper.chmod(0o755)
    _proc, records = sandbox.playbook(
        [{"hosts": "localhost", "gather_facts": False,
          "tasks": [{"name": "lab", "netvirt.linux.topology": args, "ignore_errors": True}]}],
        extra_args=["-e", "ansible_python_interpreter=%s" % wrapper], check=False)
    record = records[-1]
    assert record["status"] == "ok", "the module failed under nofile=%d: %s" % (limit, record["result"].get("msg"))
    return record["result"]


@pytest.mark.parametrize("n, limit", [(40, 32), (200, 64)])
def test_build_rerun_and_teardown_of_many_namespaces_under_a_low_descriptor_limit(sandbox, tmp_path, n, limit):
    # The limit holds for the module: a probe under the same wrapper cannot open more.
    probe = sandbox.run(["prlimit", "--nofile=%d" % limit, "--", PYTHON, "-c",
                         "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"])
    assert probe.stdout.strip() == str(limit)
    build = limited(sandbox, tmp_path, limit, star(n))
    assert build["summary"]["kinds"]["netns"]["created"] == n
    assert len(sandbox.namespaces()) == n
    assert len(sandbox.ip_json("link", "show", "master", "br-fds")) == n
    again = limited(sandbox, tmp_path, limit, star(n))
    assert again["changed"] is False and again["actions"] == [], again["actions"][:5]
    down = limited(sandbox, tmp_path, limit, {"name": LAB, "state": "absent"})
    assert down["summary"]["kinds"]["netns"]["removed"] == n
    assert sandbox.namespaces() == set()
    assert "br-fds" not in sandbox.links()
