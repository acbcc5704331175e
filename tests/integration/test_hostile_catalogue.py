"""The hostile-input catalogue (issue 11 item 8): every case a clear refusal that changes nothing.

Cases live in tests/integration/hostile_cases/<module>.yml (format: see the
"Hostile-input catalogue" section of README.md and any of those files). Per
file: one fresh sandbox (with its own hostname), the file's `setup`, a kernel
snapshot and a snapshot of canary files outside the sandbox, then every case
as one module call (ignore_errors) in ONE in-process run (Sandbox.steps: each
module's main() with the arguments, check mode and diff Ansible passes, its
result as the controller records it; test_inprocess_parity.py holds that equal
to ansible-playbook's per module), in the sandbox's UTS namespace too, then
both snapshots again. test_without_net_admin's refusals still go through
ansible-playbook, one end-to-end run of the catalogue's kind.

Each case must fail, its message must contain its `error` (case-insensitive),
nothing may look like a crash (no Traceback, no MODULE FAILURE), and neither
the kernel (links, addresses, namespaces, routes, sysctls, every namespace's
iptables in both variants) nor the canary files may change.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml
from sandbox import WITHOUT_NET_ADMIN, Sandbox

CASES = Path(__file__).resolve().parent / "hostile_cases"
FILES = sorted(CASES.glob("*.yml"))
CASE_KEYS = {"id", "module", "args", "error", "check_mode"}
MINIMUM_CASES = 60

# Cases aim keys and names at these: a directory some keys try to write into
# (/tmp/x of the reproduction) and a file they try to overwrite or read.
CANARY_DIR = Path("/tmp/netvirt-hostile-canary")
CANARY_FILE = CANARY_DIR / "canary"
CANARY_TEXT = "netvirt hostile-input canary: must never change\n"
# Paths that must not appear, and files whose contents must not change.
MUST_NOT_EXIST = ("/tmp/x", "/tmp/pwned", "/pwned", "/etc/pwned", "/proc/sys/pwned")
WATCHED_FILES = ("/etc/hostname", "/etc/hosts", "/etc/passwd", "/etc/resolv.conf", str(CANARY_FILE))
WATCHED_DIRS = ("/etc", "/", str(CANARY_DIR))


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text()) or {}
    assert isinstance(data, dict) and isinstance(data.get("cases"), list) and data["cases"], \
        "%s: a mapping with a non-empty list of cases" % path.name
    for case in data["cases"]:
        assert isinstance(case, dict), "%s: %r is not a mapping" % (path.name, case)
        assert {"id", "module", "args", "error"} <= set(case), "%s: case %r lacks a key" % (path.name, case)
        assert set(case) <= CASE_KEYS, "%s: case %s has unknown keys %s" % (
            path.name, case["id"], sorted(set(case) - CASE_KEYS))
        assert isinstance(case["error"], str) and case["error"].strip(), "%s: case %s: empty error" % (
            path.name, case["id"])
        assert isinstance(case["args"], dict), "%s: case %s: args must be a mapping" % (path.name, case["id"])
    return data


def all_cases() -> list:
    return [(path.name, case) for path in FILES for case in load(path)["cases"]]


def test_catalogue_is_well_formed_and_large_enough():
    cases = all_cases()
    ids = [case["id"] for _name, case in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, "case ids must be unique across files: %s" % duplicates
    assert len(cases) >= MINIMUM_CASES, "the catalogue holds %d cases; issue 11 asks for at least %d" % (
        len(cases), MINIMUM_CASES)


def files_state() -> dict:
    state = {"missing": {path: not os.path.lexists(path) for path in MUST_NOT_EXIST}}
    state["files"] = {}
    for path in WATCHED_FILES:
        try:
            state["files"][path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except FileNotFoundError:
            state["files"][path] = None
    state["dirs"] = {path: sorted(os.listdir(path)) for path in WATCHED_DIRS}
    return state


def plant_canaries() -> None:
    CANARY_DIR.mkdir(exist_ok=True)
    if not CANARY_FILE.exists() or CANARY_FILE.read_text() != CANARY_TEXT:
        CANARY_FILE.write_text(CANARY_TEXT)


def uts(box: Sandbox) -> list:
    """Playbooks run in the sandbox's UTS namespace too: a key reaching the hostname hits the sandbox's."""
    return ["nsenter", "-t", str(box.pid), "--uts", "--"]


def box_state(box: Sandbox) -> dict:
    return {"kernel": box.snapshot(), "hostname": box.run(uts(box) + ["hostname"]).stdout.strip()}


def step_for(case: dict) -> dict:
    check_mode = bool(case.get("check_mode", False))
    # Check-mode cases also ask for a diff: a diff must never show what it may not read.
    return {"name": case["id"], "module": case["module"], "args": case["args"], "check_mode": check_mode,
            "diff": check_mode, "ignore_errors": True}


def problems_of(case: dict, record) -> list:
    if record is None:
        return ["%s: no result recorded (did the playbook stop early?)" % case["id"]]
    result = record["result"]
    msg = str(result.get("msg", ""))
    problems = []
    if record["status"] != "failed":
        problems.append("%s: expected a refusal, got %s: %s" % (case["id"], record["status"], msg or result))
    if case["error"].lower() not in msg.lower():
        problems.append("%s: message %r does not say %r" % (case["id"], msg, case["error"]))
    text = json.dumps(result)
    # ansible-core adds "exception": "(traceback unavailable)" to every failure; a real one holds a Traceback.
    if "Traceback" in text or "MODULE FAILURE" in msg or "module_stderr" in result:
        problems.append("%s: looks like a crash: %s" % (case["id"], text[:2000]))
    return problems


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_hostile_cases(tmp_path, path):
    data = load(path)
    plant_canaries()
    box = Sandbox(tmp_path, hostname="hostile-%s" % path.stem.replace("_", "-")[:40])
    try:
        for command in data.get("setup") or []:
            box.sh(command)
        files_before, before = files_state(), box_state(box)
        # The sandbox's runner is in its UTS namespace too (a key reaching the hostname hits the sandbox's).
        records = box.steps([step_for(case) for case in data["cases"]], via="inprocess")
        files_after, after = files_state(), box_state(box)
    finally:
        box.close()
    by_task = {record["task"]: record for record in records}
    problems = [p for case in data["cases"] for p in problems_of(case, by_task.get(case["id"]))]
    assert len(records) == len(data["cases"]), "%d results for %d cases" % (len(records), len(data["cases"]))
    assert not problems, "\n".join(problems)
    assert after["hostname"] == before["hostname"], "a case changed the (sandbox's) hostname"
    assert after["kernel"] == before["kernel"], "a refused case changed the kernel"
    assert files_after == files_before, "a case touched files outside the sandbox: %s" % json.dumps(
        {k: (files_before[k], files_after[k]) for k in files_before if files_before[k] != files_after[k]})
    assert CANARY_FILE.read_text() == CANARY_TEXT


# Without CAP_NET_ADMIN (an unprivileged user, or become forgotten): refused clearly, nothing changed.
UNPRIVILEGED = [
    {"netvirt.linux.netns": {"name": "n1"}},
    {"netvirt.linux.netns": {"name": "n1", "sysctls": {"net.ipv4.ip_forward": 1}}},
    {"netvirt.linux.veth": {"name": "v1", "peer": "v2"}},
    {"netvirt.linux.bridge": {"name": "br0"}},
    {"netvirt.linux.tap": {"name": "tap0"}},
    {"netvirt.linux.vxlan": {"name": "vx0", "vni": 1, "remote": "192.0.2.1"}},
    {"netvirt.linux.route": {"dst": "192.0.2.0/24", "dev": "lo"}},
    {"netvirt.linux.topology": {"name": "lab", "namespaces": [{"name": "n1"}]}},
]


def test_without_net_admin(tmp_path):
    box = Sandbox(tmp_path, hostname="hostile-unpriv")
    try:
        box.sh("ip netns add n0")
        before = box_state(box)
        tasks = [dict(task, name="task%d" % i, ignore_errors=True) for i, task in enumerate(UNPRIVILEGED)]
        _proc, records = box.playbook([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}],
                                      check=False, wrap=uts(box) + WITHOUT_NET_ADMIN)
        after = box_state(box)
    finally:
        box.close()
    assert len(records) == len(UNPRIVILEGED)
    for record in records:
        msg = record["result"].get("msg", "")
        assert record["status"] == "failed", record
        assert "CAP_NET_ADMIN" in msg and "become" in msg, record
        assert "Traceback" not in json.dumps(record["result"]), record
    assert after == before
