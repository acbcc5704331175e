"""Every role's Molecule scenarios, each inside its own network sandbox.

molecule test runs cleanup, converge, idempotence, verify and cleanup; on top
of that the sandbox's network state after the run must equal the state before.
"""

import pytest
from multihost import wheelhouse
from sandbox import BIN, PYTHON, REPO, ensure_collection_path

SCENARIOS = sorted(
    (path.parents[1].name, path.name)
    for path in REPO.glob("roles/*/molecule/*")
    if (path / "molecule.yml").is_file()
)


# Molecule (through ansible-compat) installs the collection under ~/.ansible and
# the role's .ansible/: scenarios run one after another, on one worker.
@pytest.mark.xdist_group("molecule")
@pytest.mark.parametrize("role, scenario", SCENARIOS, ids=["%s-%s" % s for s in SCENARIOS])
def test_molecule_scenario(sandbox, role, scenario):
    before = sandbox.snapshot()
    env = {
        "PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % BIN,
        "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_path()),
        "NETVIRT_PYTHON": PYTHON,
        # lab_host installs from it: the sandbox has no network.
        "NETVIRT_WHEELHOUSE": str(wheelhouse()),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
    }
    proc = sandbox.run(["sh", "-c", 'cd "$1" && exec molecule test -s "$2"', "molecule",
                        str(REPO / "roles" / role), scenario], check=False, env=env, timeout=600)
    assert proc.returncode == 0, "molecule test failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-6000:])
    assert "idempotence] Executed: Successful" in proc.stdout + proc.stderr, "no idempotence step ran"
    assert sandbox.snapshot() == before, "cleanup did not restore the sandbox's network state"


def test_every_role_has_a_scenario():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
    assert roles and sorted({role for role, _scenario in SCENARIOS}) == roles
