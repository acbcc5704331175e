"""The versions the collection claims, proven on the kernel.

meta/runtime.yml claims ``requires_ansible: >=2.16.0`` and tests/config.yml
claims Python >= 3.9 on managed hosts. Two seed labs (000: a namespace joined
to the host; 002: namespaces on a bridge in a third namespace, through the
bridge_lab role) are built, re-run (changed=0) and torn down (back to the
empty state), in a sandbox:

- by the oldest claimed ansible-core (ANSIBLE_OLDEST) on a controller Python it
  supports (3.10 .. 3.12), the modules running on that same Python;
- by this venv's ansible-core, the modules running on Python 3.9.

The interpreters come from this machine (/usr/bin, python3.X on PATH, pyenv);
where one is missing the test is skipped with a reason that says the claim is
NOT proven here, and scripts/test.sh prints the same before pytest starts
(`python tests/integration/test_versions.py` prints it). The venvs are cached
under build/versions/, keyed by their requirements and interpreter.

The bootstrap tests check that scripts/bootstrap.sh picks the ansible-core a
Debian machine's own python3 can run (3.11: requirements-dev-py311.txt).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

import ansible.release
import pytest
from sandbox import REPO, Sandbox

ANSIBLE_OLDEST = "2.16.19"  # newest patch of the oldest minor meta/runtime.yml claims
OLDEST_CONTROLLER_MINORS = (12, 11, 10)  # ansible-core 2.16's controller Pythons, newest first
MANAGED_MINOR = 9  # tests/config.yml: modules.python_requires >=3.9
CACHE = REPO / "build" / "versions"
PLAYBOOKS = REPO / "playbooks"
LABS = [PLAYBOOKS / "seed000_host_netns.yml", PLAYBOOKS / "seed002_bridge_netns.yml"]
TEARDOWN = PLAYBOOKS / "teardown.yml"
# The first run starts with this play: it reports the versions that really ran.
PROBE = """\
- name: Versions in use
  hosts: all
  gather_facts: false
  tasks:
    - name: Managed-host Python
      ansible.builtin.setup:
        gather_subset: ["!all"]
        filter: ["ansible_python_version"]
    - name: Controller ansible-core
      ansible.builtin.debug:
        msg: "{{ ansible_version.full }}"
"""


# -- interpreters ---------------------------------------------------------------

def _version(python: str) -> Optional[Tuple[int, int, int]]:
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d %d %d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(part) for part in out.split())


def _candidates(minor: int) -> List[str]:
    """Interpreters that may be Python 3.<minor>: the distribution's first, then PATH, then pyenv."""
    found = ["/usr/bin/python3.%d" % minor]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if "shims" not in directory:  # a pyenv shim runs whatever version is selected, not this one
            found.append(os.path.join(directory, "python3.%d" % minor))
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found += sorted((str(p) for p in pyenv.glob("3.%d.*/bin/python3.%d" % (minor, minor))), reverse=True)
    return found


def find_python(minors) -> Tuple[Optional[str], str]:
    """(interpreter, version): the distribution's python3 if it is one of ``minors``, else the first
    minor found; or (None, where it looked)."""
    distribution = _version("/usr/bin/python3") if os.access("/usr/bin/python3", os.X_OK) else None
    if distribution and distribution[0] == 3 and distribution[1] in minors:
        return "/usr/bin/python3", "%d.%d.%d" % distribution
    for minor in minors:
        for python in _candidates(minor):
            if os.access(python, os.X_OK):
                version = _version(python)
                if version and version[:2] == (3, minor):
                    return python, "%d.%d.%d" % version
    return None, "looked in /usr/bin, PATH (python3.X) and pyenv"


def _oldest_controller():
    return find_python(OLDEST_CONTROLLER_MINORS)


def _managed_python():
    return find_python([MANAGED_MINOR])


def _wanted(minors) -> str:
    return " or ".join("3.%d" % m for m in minors)


def plan() -> List[str]:
    """What the version proofs will run on, one line each (printed by scripts/test.sh)."""
    lines = []
    python, found = _oldest_controller()
    if python:
        lines.append("ansible-core %s (oldest claimed) on controller Python %s: %s" % (ANSIBLE_OLDEST, found, python))
    else:
        lines.append("NOT PROVEN here: ansible-core %s (oldest claimed) needs a controller Python %s, none found (%s)"
                     % (ANSIBLE_OLDEST, _wanted(OLDEST_CONTROLLER_MINORS), found))
    python, found = _managed_python()
    if python:
        lines.append("managed-host Python %s (oldest claimed): %s" % (found, python))
    else:
        lines.append("NOT PROVEN here: managed-host Python 3.%d (oldest claimed), none found (%s)" % (MANAGED_MINOR, found))
    return lines


# -- cached virtual environments --------------------------------------------------

def cached_venv(label: str, python: str, requirements: str) -> Path:
    """A venv made from ``python`` with ``requirements``, reused while both are the same."""
    key = hashlib.sha256(("%s\n%s\n%s" % (python, _version(python), requirements)).encode()).hexdigest()[:16]
    venv = CACHE / ("%s-%s" % (label, key))
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / (".%s.lock" % label), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers or parallel sessions build it once
        if (venv / "ready").exists():
            return venv
        for stale in CACHE.glob("%s-*" % label):  # other keys, or a build that was interrupted
            shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
        (venv / "requirements.txt").write_text(requirements)
        for args in (["--upgrade", "pip"], ["-r", str(venv / "requirements.txt")]):
            proc = subprocess.run(pip + args, capture_output=True, text=True, check=False)
            assert proc.returncode == 0, "pip install %s into a Python %s venv failed:\n%s" % (
                " ".join(args), python, proc.stderr[-4000:])
        (venv / "ready").write_text(requirements)
        return venv


def managed_requirements() -> str:
    """What a managed host needs: the collection's requirements.txt."""
    return (REPO / "requirements.txt").read_text()


# -- the proof ----------------------------------------------------------------------

def run(sandbox: Sandbox, controller: Path, interpreter: str, playbooks: List[Path]) -> list:
    """ansible-playbook from ``controller`` (a venv's bin), modules on ``interpreter``; the task records."""
    tmp = Path(tempfile.mkdtemp(dir=sandbox.workdir, prefix="versions-"))
    record = tmp / "record.json"
    env = sandbox.ansible_env(record)
    env["PATH"] = "%s:%s" % (controller, os.environ.get("PATH", ""))
    argv = [str(controller / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % interpreter] + [str(p) for p in playbooks]
    proc = sandbox.run(argv, check=False, env=env)
    assert proc.returncode == 0, "ansible-playbook %s failed (%d):\n%s\n%s" % (
        " ".join(p.name for p in playbooks), proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])
    records = json.loads(record.read_text())
    assert records, "no task ran"
    assert not [r for r in records if r["status"] not in ("ok", "skipped")], records
    return records


def build_rerun_teardown(sandbox: Sandbox, controller: Path, interpreter: str) -> Tuple[str, str]:
    """Each lab built, re-run with no change, torn down to the empty state; returns the versions that ran.

    Each lab has a sandbox of its own: the labs side by side (`make lab`) are
    test_playbooks_seeds.py's business, with whatever ansible-core the venv has.
    """
    probe = Path(sandbox.workdir) / "probe.yml"
    probe.write_text(PROBE)
    versions = None
    for lab, proof in zip(LABS, [(None, "10.1.1.1"), ("net0", "10.0.1.2")]):
        if versions is None:
            box = sandbox
        else:
            (Path(sandbox.workdir) / lab.stem).mkdir()
            box = Sandbox(Path(sandbox.workdir) / lab.stem)
        try:
            empty = box.snapshot()
            first = run(box, controller, interpreter, ([probe] if versions is None else []) + [lab])
            if versions is None:
                by_task = {r["task"]: r["result"] for r in first}
                versions = (by_task["Controller ansible-core"]["msg"],
                            by_task["Managed-host Python"]["ansible_facts"]["ansible_python_version"])
            assert [r for r in first if r["result"].get("changed")], "%s built nothing" % lab.name
            assert box.snapshot() != empty
            assert box.ping(*proof), "%s: no ping %s -> %s" % ((lab.name,) + proof)
            again = run(box, controller, interpreter, [lab])
            assert [r["task"] for r in again if r["result"].get("changed")] == [], "%s: a second run changed something" % lab.name
            down = run(box, controller, interpreter, [TEARDOWN])
            assert [r for r in down if r["result"].get("changed")], "teardown removed nothing"
            assert box.snapshot() == empty, "teardown left something of %s behind" % lab.name
        finally:
            if box is not sandbox:
                box.close()
    return versions


@pytest.mark.xdist_group("versions-oldest-ansible")
def test_oldest_claimed_ansible_core_builds_and_tears_down_the_seed_labs(sandbox):
    python, found = _oldest_controller()
    if python is None:
        pytest.skip("NOT PROVEN on this machine: requires_ansible >=2.16 needs a controller Python %s for "
                    "ansible-core %s, none found (%s)" % (_wanted(OLDEST_CONTROLLER_MINORS), ANSIBLE_OLDEST, found))
    venv = cached_venv("ansible-%s" % ANSIBLE_OLDEST, python,
                       "ansible-core==%s\n%s" % (ANSIBLE_OLDEST, managed_requirements()))
    ansible_version, python_version = build_rerun_teardown(sandbox, venv / "bin", str(venv / "bin" / "python"))
    assert ansible_version == ANSIBLE_OLDEST
    assert python_version == found


@pytest.mark.xdist_group("versions-managed-python")
def test_modules_on_the_oldest_claimed_managed_python(sandbox):
    python, found = _managed_python()
    if python is None:
        pytest.skip("NOT PROVEN on this machine: managed-host Python >= 3.%d needs a Python 3.%d, none found (%s)"
                    % (MANAGED_MINOR, MANAGED_MINOR, found))
    venv = cached_venv("managed-py3.%d" % MANAGED_MINOR, python, managed_requirements())
    ansible_version, python_version = build_rerun_teardown(sandbox, Path(sys.executable).parent, str(venv / "bin" / "python"))
    assert ansible_version == ansible.release.__version__
    assert python_version == found


# -- what the claims and the bootstrap say ------------------------------------------

def test_claims_match_what_is_proven():
    runtime = (REPO / "meta" / "runtime.yml").read_text()
    oldest = re.search(r"requires_ansible:\s*['\"]>=([0-9.]+)['\"]", runtime).group(1)
    assert oldest.split(".")[:2] == ANSIBLE_OLDEST.split(".")[:2], "meta/runtime.yml claims %s, proven %s" % (oldest, ANSIBLE_OLDEST)
    config = (REPO / "tests" / "config.yml").read_text()
    assert "python_requires: '>=3.%d'" % MANAGED_MINOR in config


def _pins(name: str) -> dict:
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            package, version = line.split("==")
            pins[package.lower()] = version
    return pins


def test_python311_requirements_differ_only_in_ansible_core():
    """Both tool sets are the same tools at the same versions, but for ansible-core (2.20+ needs 3.12)."""
    newest, py311 = _pins("requirements-dev.txt"), _pins("requirements-dev-py311.txt")
    assert newest.pop("ansible-core").startswith("2.21.") and py311.pop("ansible-core").startswith("2.19.")
    assert py311 == newest


def _which_python(env: dict) -> List[str]:
    proc = subprocess.run([str(REPO / "scripts" / "bootstrap.sh"), "--which-python"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="no /usr/bin/python3 on this machine")
def test_bootstrap_without_pyenv_uses_the_distributions_python3():
    """A stock Debian: /usr/bin/python3 only (12: 3.11 -> ansible-core 2.19; 13: 3.13 -> the newest)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": tempfile.gettempdir(), "PYENV_ROOT": "/nonexistent"}
    python, requirements = _which_python(env)
    minor = _version(python)[1]
    assert _version(python)[:2] == _version("/usr/bin/python3")[:2]
    assert requirements == ("requirements-dev-py311.txt" if minor == 11 else "requirements-dev.txt")


def test_bootstrap_refuses_a_python_too_old_for_the_tools(tmp_path):
    """NETVIRT_VENV_PYTHON naming a Python 3.10 is refused, with the range the tools need."""
    fake = tmp_path / "python3.10"
    fake.write_text("#!/bin/sh\necho 10\n")  # answers bootstrap's one question: the minor version
    fake.chmod(0o755)
    env = dict(os.environ, NETVIRT_VENV_PYTHON=str(fake))
    proc = subprocess.run([str(REPO / "scripts" / "bootstrap.sh"), "--which-python"], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "%s is Python 3.10; the tools need 3.11..3.14" % fake in proc.stderr


if __name__ == "__main__":
    for line in plan():
        print("versions: %s" % line)
