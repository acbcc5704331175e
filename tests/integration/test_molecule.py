"""Every role's Molecule scenarios, run the way a user runs them.

`cd roles/ROLE && molecule test -s SCENARIO` with the virtual environment's
bin first on PATH (as `. .venv/bin/activate` does) and no NETVIRT_* variable.
The scenario's own create step makes its instance, a private network-namespace
sandbox host; the test runs inside its sandbox too, which stands for the
user's machine: that machine's links and namespaces must be the same before and
after, because everything the scenario builds lives in the instance.
"""

import os

import pytest
from multihost import wheelhouse
from sandbox import BIN, REPO, ensure_collection_path

SCENARIOS = sorted(
    (path.parents[1].name, path.name)
    for path in REPO.glob("roles/*/molecule/*")
    if (path / "molecule.yml").is_file()
)


def host_view(sandbox) -> dict:
    """What the user's machine looks like: the links, the namespaces, and the configuration snapshot."""
    return {"links": sorted(sandbox.links()), "namespaces": sandbox.namespaces(), "snapshot": sandbox.snapshot()}


# make test runs one scenario end to end through Molecule (the harness: create, converge,
# idempotence, verify, cleanup, destroy over ssh into a sandbox instance); every scenario's
# converge, idempotence, verify and cleanup run in test_user_paths.py. The others, each a
# minute of the same harness, are soaks: make molecule (or make soak) runs them all.
IN_MAKE_TEST = ("veth_lab", "default")


def scenario_params():
    return [pytest.param(role, scenario, id="%s-%s" % (role, scenario),
                         marks=() if (role, scenario) == IN_MAKE_TEST else pytest.mark.soak)
            for role, scenario in SCENARIOS]


# Molecule (through ansible-compat) installs the collection under its cache
# directory: scenarios run one after another, on one worker.
@pytest.mark.xdist_group("molecule")
@pytest.mark.parametrize("role, scenario", scenario_params())
def test_molecule_scenario(sandbox, role, scenario):
    # lab_host's prepare step would fetch this on the controller; the sandbox has
    # no network, so fetch it beforehand, as a controller with index access would.
    wheelhouse()
    before = host_view(sandbox)
    env = {
        "PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % BIN,
        # This checkout's collection, not a copy another checkout installed in ~/.ansible.
        "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_path()),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
    }
    unset = [arg for name in os.environ if name.startswith("NETVIRT_") for arg in ("-u", name)]
    proc = sandbox.run(["env"] + unset + ["sh", "-c", 'cd "$1" && exec molecule test -s "$2"', "molecule",
                                          str(REPO / "roles" / role), scenario], check=False, env=env, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, "molecule test failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-6000:])
    for step in ("create", "converge", "idempotence", "verify", "cleanup", "destroy"):
        assert "%s: Executed: Successful" % step in output, "step %s did not run:\n%s" % (step, output[-3000:])
    assert host_view(sandbox) == before, "the scenario changed the machine's own network"


def test_every_role_has_a_scenario():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
    assert roles and sorted({role for role, _scenario in SCENARIOS}) == roles
    assert IN_MAKE_TEST in SCENARIOS


@pytest.mark.parametrize("role, scenario", SCENARIOS, ids=["%s-%s" % s for s in SCENARIOS])
def test_scenario_is_walked_by_the_user_path_test(role, scenario):
    """What make test proves of a scenario it does not run through Molecule: test_user_paths.py
    walks its converge (check, build, build again, check), runs its verify.yml after the build
    and its cleanup.yml as the teardown."""
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
