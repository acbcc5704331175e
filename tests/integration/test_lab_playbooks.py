"""The lab-file user paths: netvirt.linux.lab_up / lab_check / lab_show / lab_down and the role
netvirt.linux.lab, run as a newcomer runs them (``ansible-playbook netvirt.linux.lab_up -e lab=lab.yml``
in the lab file's directory, no inventory), in sandboxes.

These playbooks need the user's lab file, so test_user_paths.py leaves them to this file (their header
line ``# test-user-path``); the walk below is its five steps and more, in one test per place:

- one host: ``lab_up --check --diff`` on the empty host changes nothing, build, build again
  (changed=0, kernel as built), ``--check`` (changed=0), ``lab_check`` (every pair as the lab says),
  ``lab_show`` (the diagram beside the file), ``lab_down`` (back to empty), ``lab_check`` then fails
  saying the lab is not built;
- two hosts over SSH (multihost.py): the same lab with ``h3: {host: labhost2}`` added, nothing else;
- a lab file with mistakes: the task fails naming each node or link and key, nothing changed;
- the role, with the lab written inline.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import List

import pytest
import yaml
from multihost import LabHosts, changed_tasks, ssh_key, wheelhouse
from sandbox import BIN, ensure_collection_path

# The newcomer's lab: two hosts behind a router, routes made for them.
NEWCOMER = """\
name: first
routing: static
nodes: {h1: {}, r1: {}, h3: {}}
links: [[h1, r1], [r1, h3]]
"""
NODES = {"h1", "r1", "h3"}


def user_run(sandbox, directory: Path, playbook: str, *args: str):
    """``ansible-playbook netvirt.linux.PLAYBOOK ARGS`` in ``directory``, no inventory; (proc, records)."""
    record = Path(tempfile.mkdtemp(dir=sandbox.workdir, prefix="user-")) / "record.json"
    env = sandbox.ansible_env(record)
    ensure_collection_path()
    argv = ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", str(directory),
            str(BIN / "ansible-playbook"), "netvirt.linux.%s" % playbook] + list(args)
    proc = sandbox.run(argv, check=False, env=env)
    return proc, (json.loads(record.read_text()) if record.exists() else [])


def failed(proc, records) -> List[str]:
    found = ["%s: %s" % (r["task"], r["result"].get("msg")) for r in records if r["status"] in ("failed", "unreachable")]
    if proc.returncode != 0 and not found:
        found.append("exit %d: %s" % (proc.returncode, (proc.stdout + proc.stderr)[-2000:]))
    return found


def ok(run) -> list:
    proc, records = run
    assert not failed(proc, records), failed(proc, records)
    return records


def result_of(records, task: str, host: str = "localhost") -> dict:
    found = [r for r in records if r["task"].endswith(task) and r["host"] == host]
    assert found, "no task %r on %s in %s" % (task, host, [r["task"] for r in records])
    return found[-1]


def test_newcomer_lab_up_check_show_down_on_one_host(sandbox, tmp_path):
    directory = tmp_path / "mylab"
    directory.mkdir()
    (directory / "lab.yml").write_text(NEWCOMER)
    empty = sandbox.snapshot()

    # 1. Preview on the empty host: it says what it would do, and does nothing.
    records = ok(user_run(sandbox, directory, "lab_up", "-e", "lab=lab.yml", "--check", "--diff"))
    assert sandbox.snapshot() == empty, "check mode changed the kernel"
    preview = result_of(records, "Build or remove the lab")
    assert preview["status"] == "ok" and preview["result"]["changed"]
    assert preview["result"]["diff"], "--diff showed nothing"

    # 2. Build.
    records = ok(user_run(sandbox, directory, "lab_up", "-e", "lab=lab.yml"))
    assert changed_tasks(records), "the first build changed nothing"
    built = sandbox.snapshot()
    assert sandbox.namespaces() == NODES
    lab = result_of(records, "Build or remove the lab")["result"]
    assert lab["lab"] == "first" and set(lab["addresses"]) == NODES
    assert lab["placement"] == {node: "localhost" for node in NODES}
    assert lab["summary_text"].startswith("lab first")
    assert {check["from"] for check in lab["checks"]} == NODES

    # 3. Build again: nothing changes. 4. Preview again: nothing would.
    records = ok(user_run(sandbox, directory, "lab_up", "-e", "lab=lab.yml"))
    assert changed_tasks(records) == [] and sandbox.snapshot() == built
    records = ok(user_run(sandbox, directory, "lab_up", "-e", "lab=lab.yml", "--check"))
    assert changed_tasks(records) == [] and sandbox.snapshot() == built

    # lab_check proves every pair, changing nothing.
    records = ok(user_run(sandbox, directory, "lab_check", "-e", "lab=lab.yml"))
    matrix = result_of(records, "Probe every pair the lab generated")["result"]
    pairs = sum(len(check["to"]) for check in lab["checks"])
    assert matrix["summary"] == {"pairs": pairs, "passed": pairs, "failed": 0}
    assert all(entry["expect"] == "reachable" for entry in matrix["matrix"])  # routing static: all pairs
    assert sandbox.snapshot() == built

    # lab_show writes the diagram beside the lab file.
    records = ok(user_run(sandbox, directory, "lab_show", "-e", "lab=lab.yml"))
    diagram = (directory / "lab.mmd").read_text()
    assert diagram.startswith("flowchart") and all('"netns %s"' % node in diagram for node in NODES)
    assert sandbox.snapshot() == built

    # 5. lab_down: back to the empty host.
    records = ok(user_run(sandbox, directory, "lab_down", "-e", "lab=lab.yml"))
    assert changed_tasks(records)
    assert sandbox.snapshot() == empty, "lab_down left something behind"

    # lab_check on a host without the lab says so, and what lab_up would do.
    proc, records = user_run(sandbox, directory, "lab_check", "-e", "lab=lab.yml")
    assert proc.returncode != 0
    assert "lab first is not as the file says on localhost" in result_of(records, "Each host is as the lab file says")[
        "result"]["msg"]
    assert sandbox.snapshot() == empty


def test_a_lab_file_with_mistakes_names_each_and_changes_nothing(sandbox, tmp_path):
    (tmp_path / "lab.yml").write_text(yaml.safe_dump({
        "name": "broken",
        "nodes": {"h1": {}, "r1": {}, "h3": {"host": "lab2"}},
        "links": [["h1", "r1"], ["r1", "h9"]],
    }))
    empty = sandbox.snapshot()
    for check in ([], ["--check"]):
        proc, records = user_run(sandbox, tmp_path, "lab_up", "-e", "lab=lab.yml", *check)
        assert proc.returncode != 0
        msg = result_of(records, "Build or remove the lab")["result"]["msg"]
        assert "lab.yml" in msg, msg
        assert "links[1]" in msg and "'h9'" in msg, msg
        assert "nodes.h3.host" in msg and "lab2" in msg, msg
        assert sandbox.snapshot() == empty


def test_the_role_builds_proves_and_removes_an_inline_lab(sandbox):
    lab = yaml.safe_load(NEWCOMER)
    play = {"hosts": "localhost", "gather_facts": False,
            "roles": [{"role": "netvirt.linux.lab", "vars": {"lab": lab}}]}
    empty = sandbox.snapshot()
    _proc, records = sandbox.playbook([play])
    proof = result_of(records, "Prove it - every node reaches what the lab says it reaches")
    assert proof["status"] == "ok" and proof["result"]["summary"]["failed"] == 0
    assert proof["result"]["summary"]["pairs"] >= 6
    assert sandbox.namespaces() == NODES
    play["roles"][0]["vars"]["lab_state"] = "absent"
    sandbox.playbook([play])
    assert sandbox.snapshot() == empty


@pytest.fixture(scope="module")
def lab_key(tmp_path_factory):
    return ssh_key(tmp_path_factory.mktemp("ssh") / "key")


def test_the_same_lab_with_h3_on_a_second_host(sandbox, tmp_path, lab_key):
    """The newcomer adds ``host: labhost2`` to h3 and nothing else: the link r1-h3 crosses the hosts."""
    directory = tmp_path / "mylab"
    directory.mkdir()
    (directory / "lab.yml").write_text(NEWCOMER.replace("h3: {}", "h3: {host: labhost2}"))
    hosts = LabHosts(sandbox, tmp_path / "hosts", ["labhost1", "labhost2"], lab_key)
    try:
        lab_vars = {"lab": str(directory / "lab.yml"), "lab_hosts": "all", "lab_prepare": True,
                    "lab_host_wheelhouse": str(wheelhouse())}

        def run(playbook, *args):
            # ansible-playbook -i inventory.yml netvirt.linux.PLAYBOOK -e ..., as a user runs it.
            return hosts.playbook("netvirt.linux.%s" % playbook, lab_vars, check=False, extra_args=list(args))

        def state():
            return {name: host.namespaces() for name, host in hosts.hosts.items()}

        empty = state()
        ok(run("lab_up", "--check", "--diff"))
        assert state() == empty
        records = ok(run("lab_up"))
        assert changed_tasks(records)
        assert state() == {"labhost1": {"h1", "r1"}, "labhost2": {"h3"}}
        # Prepared: from now on the inventory names each host's interpreter, as a user's would.
        inventory = yaml.safe_load(hosts.inventory.read_text())
        for name, host in hosts.hosts.items():
            inventory["all"]["hosts"][name]["ansible_python_interpreter"] = str(host.dir / "venv" / "bin" / "python")
        hosts.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))
        lab_vars["lab_prepare"] = False
        records = ok(run("lab_up"))
        assert changed_tasks(records) == []

        records = ok(run("lab_check"))
        for name in hosts.hosts:
            matrix = result_of(records, "Probe every pair the lab generated", name)["result"]
            assert matrix["summary"]["failed"] == 0 and matrix["summary"]["pairs"] > 0
        # h3 on labhost2 reaches h1 on labhost1 (two hops through r1, across the hosts).
        h1 = result_of(records, "Compare each host with the lab file (changes nothing)", "labhost1")["result"]
        target = h1["addresses"]["h1"]["eth0"][0].split("/")[0]
        assert hosts.hosts["labhost2"].ping("h3", target)

        ok(run("lab_down"))
        assert state() == {"labhost1": set(), "labhost2": set()}
    finally:
        hosts.close()
