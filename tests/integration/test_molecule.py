"""Every role's Molecule scenarios, run the way a user runs them.

`cd roles/ROLE && molecule test -s SCENARIO` with the virtual environment's
bin first on PATH (as `. .venv/bin/activate` does) and no NETVIRT_* variable.
The scenario's own create step makes its instance, a private network-namespace
sandbox host; the test runs inside its sandbox too, which stands for the
user's machine: that machine's links and namespaces must be the same before and
after, because everything the scenario builds lives in the instance.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from multihost import wheelhouse
from sandbox import BIN, REPO

SCENARIOS = sorted(
    (path.parents[1].name, path.name)
    for path in REPO.glob("roles/*/molecule/*")
    if (path / "molecule.yml").is_file()
)


def host_view(sandbox) -> dict:
    """What the user's machine looks like: the links, the namespaces, and the configuration snapshot."""
    return {"links": sorted(sandbox.links()), "namespaces": sandbox.namespaces(), "snapshot": sandbox.snapshot()}


# make test runs one scenario end to end through Molecule (the harness: create, converge,
# idempotence, verify, cleanup, destroy over ssh into a sandbox instance), and the same one's
# converge, idempotence, verify and cleanup in test_user_paths.py. The others, each a minute
# of the same harness, are soaks: make molecule (or make soak) runs them all, and make soak
# walks their converges in test_user_paths.py (whose roles the shipped playbooks walk in make test).
IN_MAKE_TEST = ("veth_lab", "default")


def scenario_params():
    return [pytest.param(role, scenario, id="%s-%s" % (role, scenario),
                         marks=() if (role, scenario) == IN_MAKE_TEST else pytest.mark.soak)
            for role, scenario in SCENARIOS]


# Scenarios run one after another, on one worker (they share build/wheelhouse).
@pytest.mark.xdist_group("molecule")
@pytest.mark.parametrize("role, scenario", scenario_params())
def test_molecule_scenario(sandbox, role, scenario):
    # lab_host's prepare step would fetch this on the controller; the sandbox has
    # no network, so fetch it beforehand, as a controller with index access would.
    wheelhouse()
    before = host_view(sandbox)
    # A home of its own: whatever Molecule leaves in ~/.ansible is seen, and no other checkout's copy of the
    # collection is found there. No ANSIBLE_COLLECTIONS_PATH: the scenario finds this checkout by itself.
    # Short: ssh's ControlPath under ~/.ansible/cp must fit a Unix socket's 108 bytes.
    home = Path(tempfile.mkdtemp(prefix="mh", dir="/tmp"))
    try:
        _run_scenario(sandbox, home, role, scenario, before)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_scenario(sandbox, home: Path, role: str, scenario: str, before: dict) -> None:
    env = {
        "HOME": str(home),
        "PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % BIN,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
    }
    ours = ("NETVIRT_", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_HOME", "ANSIBLE_CONFIG")
    unset = [arg for name in os.environ if name.startswith(ours) for arg in ("-u", name)]
    proc = sandbox.run(["env"] + unset + ["sh", "-c", 'cd "$1" && exec molecule test -s "$2"', "molecule",
                                          str(REPO / "roles" / role), scenario], check=False, env=env, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, "molecule test failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-6000:])
    for step in ("dependency", "create", "converge", "idempotence", "verify", "cleanup", "destroy"):
        assert "%s: Executed: Successful" % step in output, "step %s did not run:\n%s" % (step, output[-3000:])
    assert host_view(sandbox) == before, "the scenario changed the machine's own network"
    # Issue 23: the collection was never installed where ansible-galaxy and other playbooks look.
    left = sorted(str(path.relative_to(home)) for path in (home / ".ansible" / "collections").rglob("*"))
    assert not left, "molecule test left the collection in ~/.ansible/collections: %s ..." % left[:5]
    assert "netvirt.linux: " in output, "the scenario's dependency step did not link this checkout"


def test_every_role_has_a_scenario():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
    assert roles and sorted({role for role, _scenario in SCENARIOS}) == roles
    assert IN_MAKE_TEST in SCENARIOS


@pytest.mark.parametrize("role, scenario", SCENARIOS, ids=["%s-%s" % s for s in SCENARIOS])
def test_scenario_is_walked_by_the_user_path_test(role, scenario):
    """What the suite proves of a scenario without Molecule: test_user_paths.py walks its converge
    (check, build, build again, check), runs its verify.yml after the build and its cleanup.yml
    as the teardown (in make test for IN_MAKE_TEST's, in make soak for the others)."""
    import test_user_paths

    directory = REPO / "roles" / role / "molecule" / scenario
    cases = [c for c in test_user_paths.CASES if c.scenario == directory]
    assert len(cases) == 1, cases
    assert cases[0].playbook == directory / "converge.yml"
    assert (directory / "verify.yml").is_file() and cases[0].verify == directory / "verify.yml"
    assert cases[0].teardown == directory / "cleanup.yml"


@pytest.mark.parametrize("role, scenario", SCENARIOS, ids=["%s-%s" % s for s in SCENARIOS])
def test_scenario_uses_the_sandbox_host(role, scenario):
    """No scenario runs against the machine itself or needs an environment variable of ours."""
    text = (REPO / "roles" / role / "molecule" / scenario / "molecule.yml").read_text()
    assert "managed: true" in text and "tests/molecule/create.yml" in text and "tests/molecule/destroy.yml" in text
    assert "localhost" not in text and "ansible_connection: local" not in text
    assert "NETVIRT_" not in text
