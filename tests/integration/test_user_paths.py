"""Every shipped playbook and every role's Molecule converge, run as users run them.

Discovered, never listed by hand, so that a new playbook or scenario is covered
without editing this file:

- every top-level ``playbooks/*.yml`` except the teardown playbooks, which are
  recognised by name: ``teardown*.yml`` and ``*_down.yml``;
- every ``roles/*/molecule/*/converge.yml``, with the scenario's own
  inventory (``provisioner.inventory`` of its molecule.yml).

Each one, in a fresh sandbox, walks the user's path:

1. ``ansible-playbook --check --diff`` on the empty host: nothing fails, the
   kernel is unchanged (tests/integration/snapshot.py);
2. build: nothing fails, something changes; a Molecule scenario's
   verify.yml then passes, leaving the kernel as it is;
3. build again: ``changed=0``, the kernel as after the first build;
4. ``--check``: ``changed=0``, nothing fails, the kernel unchanged;
5. teardown: back to the snapshot taken before step 1.

How a playbook is torn down and where it runs is read from the playbook
itself: a header line ``# test-teardown: <playbook> [ansible-playbook args]``
names its teardown; without one, ``<name>_down.yml`` if that exists (two_labs.yml
-> two_labs_down.yml), else ``teardown.yml``. A header line ``# test-hosts: N``
(N >= 2) marks a playbook that needs several hosts: it runs in the multi-host
harness (multihost.py, real SSH between simulated hosts), with the same five
steps on every host. A header line ``# test-user-path: <test file>`` marks a
playbook that needs the user's input (the lab_* playbooks take ``-e lab=FILE``):
that test file walks its path (and says so by naming the playbook). A Molecule scenario is torn down by its cleanup.yml (else
destroy.yml, else teardown.yml).

A playbook that a Makefile target runs (``$(PLAYBOOK) playbooks/<file>``) is
built and torn down through that target, as ``make lab; make lab; make
lab-down`` (the recipe's own command line, ``make -o venv``: the venv is the
test's own).

Every step runs even when an earlier one failed; the test then fails with
every problem found, each naming its step, task and message.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import yaml
from multihost import LabHosts, ssh_key, wheelhouse
from sandbox import HERE, PYTHON, REPO, ensure_collection_path

PLAYBOOKS = REPO / "playbooks"
DEFAULT_TEARDOWN = PLAYBOOKS / "teardown.yml"
MOLECULE_TEARDOWNS = ("cleanup.yml", "destroy.yml")
MARKER = re.compile(r"^#\s*test-(hosts|teardown|user-path):\s*(.+?)\s*$", re.MULTILINE)


def is_teardown(path: Path) -> bool:
    """The rule for playbooks that only remove: they are the teardowns of the others, not labs."""
    return path.name.startswith("teardown") or path.stem.endswith("_down")


def markers(path: Path) -> Dict[str, str]:
    return dict(MARKER.findall(path.read_text()))


def make_targets() -> Dict[str, str]:
    """playbook file name -> the Makefile target whose recipe runs it."""
    targets, current = {}, None
    for line in (REPO / "Makefile").read_text().splitlines():
        rule = re.match(r"^([A-Za-z0-9_.-]+):", line)
        if rule:
            current = rule.group(1)
        found = re.match(r"^\t\$\(PLAYBOOK\)\s+playbooks/(\S+\.yml)\s*$", line)
        if found and current:
            targets[found.group(1)] = current
    return targets


@dataclass
class Case:
    """One thing a user runs: a playbook, or a Molecule scenario's converge."""

    id: str
    playbook: Path
    teardown: Path
    teardown_args: List[str] = field(default_factory=list)
    hosts: int = 1
    scenario: Optional[Path] = None  # the Molecule scenario's directory
    verify: Optional[Path] = None  # the scenario's verify.yml, run after the first build


def playbook_cases() -> List[Case]:
    cases = []
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        if is_teardown(path):
            continue
        mark = markers(path)
        if "user-path" in mark:
            continue  # walked by the test file it names (test_discovery_covers_every_playbook_and_scenario)
        if "teardown" in mark:
            words = shlex.split(mark["teardown"])
            teardown, args = PLAYBOOKS / words[0], words[1:]
        elif (PLAYBOOKS / ("%s_down.yml" % path.stem)).is_file():
            teardown, args = PLAYBOOKS / ("%s_down.yml" % path.stem), []
        else:
            teardown, args = DEFAULT_TEARDOWN, []
        cases.append(Case(path.name, path, teardown, args, int(mark.get("hosts", "1"))))
    return cases


def molecule_cases() -> List[Case]:
    cases = []
    for converge in sorted(REPO.glob("roles/*/molecule/*/converge.yml")):
        scenario = converge.parent
        teardown = next((scenario / name for name in MOLECULE_TEARDOWNS if (scenario / name).is_file()),
                        DEFAULT_TEARDOWN)
        verify = scenario / "verify.yml"
        cases.append(Case("molecule-%s-%s" % (scenario.parents[1].name, scenario.name), converge, teardown,
                          scenario=scenario, verify=verify if verify.is_file() else None))
    return cases


CASES = playbook_cases() + molecule_cases()
SINGLE = [c for c in CASES if c.hosts == 1]
MULTI = [c for c in CASES if c.hosts > 1]
# Every shipped playbook's path runs in make test; of the Molecule scenarios' converges, this one
# (the scenario test_molecule.py runs through Molecule in make test). The others build what a
# shipped playbook builds with the same role (test_every_role_is_walked_in_make_test), a minute
# each: soaks, run by make soak.
SCENARIO_IN_MAKE_TEST = "molecule-veth_lab-default"


def in_make_test(case: Case) -> bool:
    return case.scenario is None or case.id == SCENARIO_IN_MAKE_TEST


def roles_used(path: Path) -> set:
    """The collection's roles a playbook names (netvirt.linux.ROLE)."""
    return set(re.findall(r"netvirt\.linux\.(\w+)", path.read_text())) & {
        p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir()}


# -- reading results ---------------------------------------------------------------------------

def message(result: dict) -> str:
    """A failed result's message; a loop's, each failed item's."""
    items = [i for i in result.get("results") or [] if isinstance(i, dict) and i.get("failed")]
    if items:
        return " | ".join("%s: %s" % (i.get("_ansible_item_label", i.get("item")), message(i)) for i in items)
    return str(result.get("msg") or result.get("stderr") or result)


def failures(proc, records) -> List[str]:
    """Each failed or unreachable task as 'task: message'; a run that failed before any task, its output."""
    found = ["%s%s: %s" % ("[%s] " % r["host"] if r.get("host") else "", r["task"], message(r["result"]))
             for r in records if r["status"] in ("failed", "unreachable")]
    if proc.returncode != 0 and not found:
        found.append("ansible-playbook exited %d: %s" % (proc.returncode, (proc.stdout + proc.stderr)[-1500:]))
    return found


def changed(records) -> List[str]:
    return ["%s%s" % ("[%s] " % r["host"] if r.get("host") else "", r["task"])
            for r in records if r["status"] == "ok" and r["result"].get("changed")]


def diff_snapshots(before: dict, after: dict, path: str = "") -> List[str]:
    """Where two snapshots differ, as short paths (the whole state is too long to read)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after)):
            if key not in after:
                out.append("%s/%s removed" % (path, key))
            elif key not in before:
                out.append("%s/%s added" % (path, key))
            else:
                out.extend(diff_snapshots(before[key], after[key], "%s/%s" % (path, key)))
        return out
    return [] if before == after else ["%s: %r -> %r" % (path, before, after)]


# -- where the steps run ------------------------------------------------------------------------

class LocalTarget:
    """One sandbox; the playbook against localhost, as its Run line says (or the scenario's inventory)."""

    def __init__(self, sandbox, tmp_path: Path, case: Case):
        self.sandbox = sandbox
        self.case = case
        self.make = make_targets()
        self.inventory_args: List[str] = []
        self.env: Dict[str, str] = {}
        self.scratch: List[Path] = []
        if case.scenario is not None:
            self._molecule_inventory(tmp_path)

    def _molecule_inventory(self, tmp_path: Path) -> None:
        """The scenario's inventory as molecule writes it, its instances run in this test's sandbox.

        Molecule's create.yml makes each platform a private network-namespace
        sandbox reached over ssh; here the test's own sandbox stands in for it,
        with a local connection, so that each user-path step runs in isolation.
        The ${MOLECULE_*} variables are expanded as molecule would; the
        ephemeral directory is this test's own, and what the scenario puts
        there must be gone after its cleanup.
        """
        text = (self.case.scenario / "molecule.yml").read_text()
        if "wheelhouse" in text:
            wheelhouse()  # prepare.yml's job under molecule; the same place and stamp
        ephemeral = tmp_path / "ephemeral"
        values = {
            "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
            "MOLECULE_PROJECT_DIRECTORY": str(self.case.scenario.parents[1]),
            "MOLECULE_SCENARIO_DIRECTORY": str(self.case.scenario),
        }
        unknown = set()

        def expand(m):
            if m.group(1) in values:
                return values[m.group(1)]
            if m.group(2) is None:
                unknown.add(m.group(1))
            return m.group(2) or ""

        text = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", expand, text)
        assert not unknown, "molecule.yml of %s uses variables this test does not set: %s" % (
            self.case.scenario, sorted(unknown))
        config = yaml.safe_load(text)
        inventory = (config.get("provisioner") or {}).get("inventory") or {}
        platforms = [p["name"] for p in config.get("platforms") or []]
        assert platforms, "%s names no platform" % self.case.scenario
        host_vars = inventory.get("host_vars") or {}
        for data in host_vars.values():
            for value in data.values():
                if isinstance(value, str) and value.startswith(str(ephemeral)):
                    self.scratch.append(Path(value))
        hosts = {"all": {"hosts": {name: {"ansible_connection": "local"} for name in platforms}}}
        directory = tmp_path / "inventory"
        directory.mkdir()
        (directory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
        for kind in ("group_vars", "host_vars"):
            for name, data in (inventory.get(kind) or {}).items():
                (directory / kind).mkdir(exist_ok=True)
                (directory / kind / ("%s.yml" % name)).write_text(yaml.safe_dump(data, sort_keys=False))
        self.inventory_args = ["-i", str(directory / "hosts.yml")]

    def snapshot(self) -> dict:
        state = self.sandbox.snapshot()
        if self.scratch:
            state["scratch files"] = sorted(str(p) for p in self.scratch if p.exists())
        return state

    def _playbook(self, path: Path, args: List[str]):
        if self.inventory_args:
            # The scenario's inventory replaces `-i localhost, -c local`.
            return self._run_with_inventory(path, args)
        proc, records = self.sandbox.playbook(path, extra_args=args, check=False)
        return proc, records

    def _run_with_inventory(self, path: Path, args: List[str]):
        tmp = Path(tempfile.mkdtemp(dir=self.sandbox.workdir, prefix="run-"))
        record = tmp / "record.json"
        env = self.sandbox.ansible_env(record)
        env.update(self.env)
        argv = [str(Path(PYTHON).parent / "ansible-playbook")] + self.inventory_args + [str(path)] + args
        proc = self.sandbox.run(argv, check=False, env=env)
        return proc, (json.loads(record.read_text()) if record.exists() else [])

    def _make(self, target: str):
        tmp = Path(tempfile.mkdtemp(dir=self.sandbox.workdir, prefix="make-"))
        record = tmp / "record.json"
        env = self.sandbox.ansible_env(record)
        ensure_collection_path()
        # The test's make, not the one that may have started pytest.
        proc = self.sandbox.run(["env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL", "sh", "-c",
                                 'cd "$1" && exec make --no-print-directory -o venv "$2"', "make", str(REPO), target],
                                check=False, env=env)
        return proc, (json.loads(record.read_text()) if record.exists() else [])

    def check(self, diff: bool):
        return self._playbook(self.case.playbook, ["--check"] + (["--diff"] if diff else []))

    def verify(self):
        return self._playbook(self.case.verify, [])

    def build(self):
        target = None if self.case.scenario else self.make.get(self.case.playbook.name)
        return self._make(target) if target else self._playbook(self.case.playbook, [])

    def teardown(self):
        target = None if self.case.scenario else self.make.get(self.case.teardown.name)
        if target and not self.case.teardown_args:
            return self._make(target)
        return self._playbook(self.case.teardown, self.case.teardown_args)


class MultiTarget:
    """Simulated lab hosts over SSH; the snapshot is every host's, and the controller's."""

    def __init__(self, sandbox, tmp_path: Path, case: Case, key: Path):
        self.case = case
        self.sandbox = sandbox
        self.lab = LabHosts(sandbox, tmp_path, ["labhost%d" % n for n in range(1, case.hosts + 1)], key)
        self.extra_vars = {"lab_host_wheelhouse": str(wheelhouse())}

    def close(self) -> None:
        self.lab.close()

    def snapshot(self) -> dict:
        state = {name: json.loads(host.run([PYTHON, str(HERE / "snapshot.py")]).stdout)
                 for name, host in self.lab.hosts.items()}
        state["controller"] = self.sandbox.snapshot()
        return state

    def check(self, diff: bool):
        return self.lab.playbook(self.case.playbook, self.extra_vars, check=False,
                                 extra_args=["--check"] + (["--diff"] if diff else []))

    def build(self):
        return self.lab.playbook(self.case.playbook, self.extra_vars, check=False)

    def teardown(self):
        return self.lab.playbook(self.case.teardown, self.extra_vars, check=False,
                                 extra_args=self.case.teardown_args)


# -- the user's path -----------------------------------------------------------------------------

def user_path(target) -> Tuple[List[str], dict]:
    """The five steps; returns every problem found and the steps' changed tasks."""
    problems: List[str] = []
    seen: dict = {}

    def note(step: str, what: List[str]) -> None:
        problems.extend("%s: %s" % (step, line) for line in what)

    def kernel(step: str, expected: dict, what: str) -> None:
        moved = diff_snapshots(expected, target.snapshot())
        if moved:
            note(step, ["%s: %s" % (what, "; ".join(moved[:12]) + (" ..." if len(moved) > 12 else ""))])

    empty = target.snapshot()

    step = "1 --check --diff on empty"
    proc, records = target.check(diff=True)
    note(step, failures(proc, records))
    kernel(step, empty, "check mode changed the kernel")
    seen[step] = changed(records)

    step = "2 build"
    proc, records = target.build()
    note(step, failures(proc, records))
    seen[step] = changed(records)
    if not seen[step]:
        note(step, ["the first build changed nothing"])
    built = target.snapshot()

    if getattr(target.case, "verify", None):
        # A Molecule scenario's own checks of what it built (molecule's verify step).
        step = "2b verify (%s)" % target.case.verify.name
        proc, records = target.verify()
        note(step, failures(proc, records))
        if not [r for r in records if r["status"] == "ok"]:
            note(step, ["no task of the verify playbook ran"])
        kernel(step, built, "verify changed the kernel")

    step = "3 build again"
    proc, records = target.build()
    note(step, failures(proc, records))
    seen[step] = changed(records)
    if seen[step]:
        note(step, ["changed=%d, expected 0: %s" % (len(seen[step]), seen[step])])
    kernel(step, built, "the second build changed the kernel")

    step = "4 --check"
    proc, records = target.check(diff=False)
    note(step, failures(proc, records))
    seen[step] = changed(records)
    if seen[step]:
        note(step, ["changed=%d, expected 0: %s" % (len(seen[step]), seen[step])])
    kernel(step, built, "check mode changed the kernel")

    step = "5 teardown (%s)" % " ".join([target.case.teardown.name] + target.case.teardown_args)
    proc, records = target.teardown()
    note(step, failures(proc, records))
    seen[step] = changed(records)
    kernel(step, empty, "not back to the empty state")
    return problems, seen


@pytest.fixture(scope="module")
def user_path_key(tmp_path_factory):
    return ssh_key(tmp_path_factory.mktemp("ssh") / "key")


@pytest.mark.parametrize("case", MULTI, ids=[c.id for c in MULTI])
def test_user_path_on_several_hosts(sandbox, tmp_path, case, user_path_key):
    target = MultiTarget(sandbox, tmp_path, case, user_path_key)
    try:
        problems, _seen = user_path(target)
    finally:
        target.close()
    assert not problems, "%s:\n  %s" % (case.id, "\n  ".join(problems))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=() if in_make_test(c) else pytest.mark.soak)
                                  for c in SINGLE])
def test_user_path(sandbox, tmp_path, case):
    problems, _seen = user_path(LocalTarget(sandbox, tmp_path, case))
    assert not problems, "%s:\n  %s" % (case.id, "\n  ".join(problems))


def test_discovery_covers_every_playbook_and_scenario():
    """What the rules above find: every playbook but the teardowns, make lab's pair, the multi-host lab."""
    names = {c.playbook.name for c in CASES if c.scenario is None}
    top = {p.name for p in PLAYBOOKS.glob("*.yml")}
    elsewhere = {p.name: markers(p)["user-path"] for p in PLAYBOOKS.glob("*.yml") if "user-path" in markers(p)}
    assert names and names == {n for n in top if not is_teardown(PLAYBOOKS / n)} - set(elsewhere)
    # A playbook walked elsewhere is walked there: the named test file runs it by name.
    assert {"lab_up.yml", "lab_check.yml", "lab_show.yml", "lab_down.yml"} <= set(elsewhere)
    for name, test_file in elsewhere.items():
        assert '"%s"' % Path(name).stem in (REPO / test_file).read_text(), (name, test_file)
    assert {n for n in top if is_teardown(PLAYBOOKS / n)} == {"teardown.yml", "two_labs_down.yml", "lab_down.yml"}
    assert len([c for c in CASES if c.scenario]) == len(list(REPO.glob("roles/*/molecule/*/molecule.yml")))
    for case in CASES:
        assert case.teardown.is_file(), "%s: teardown %s does not exist" % (case.id, case.teardown)
    by_name = {c.playbook.name: c for c in CASES if c.scenario is None}
    # make lab twice, then make lab-down, is two_labs.yml's path.
    assert make_targets().get("two_labs.yml") == "lab" and make_targets().get("two_labs_down.yml") == "lab-down"
    assert by_name["two_labs.yml"].teardown.name == "two_labs_down.yml"
    # stretched_lab.yml points each host at the others: it runs on several hosts.
    assert by_name["stretched_lab.yml"].hosts >= 2
    assert os.path.basename(str(by_name["seed000_host_netns.yml"].teardown)) == "teardown.yml"


@pytest.mark.parametrize("role", sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir()))
def test_every_role_is_walked_in_make_test(role):
    """A Molecule scenario's path left to make soak leaves its role proven in make test: a shipped
    playbook (or the scenario make test keeps) walks the user's path with it."""
    walked = sorted(c.id for c in CASES if in_make_test(c) and role in roles_used(c.playbook))
    # A playbook walked by the test file its header names (test-user-path) walks the role there.
    walked += sorted(p.name for p in PLAYBOOKS.glob("*.yml") if "user-path" in markers(p) and role in roles_used(p))
    assert walked, "no user path of make test runs role %s (only make soak's: %s)" % (
        role, sorted(c.id for c in CASES if role in roles_used(c.playbook)))
    assert any(c.id == SCENARIO_IN_MAKE_TEST for c in CASES)
