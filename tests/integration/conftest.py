import os

import pytest
from sandbox import REPO, Sandbox

# The longest files first (user paths, the multi-host one the longest, Molecule: a minute or more a test).
# xdist's loadgroup hands tests out in collection order, so these start at once on both
# workers and the short ones fill in behind them: the two workers end together instead of
# one finishing a three-minute test while the other waits. The sort is stable: within a
# file, and among the other files, the order stays as written.
LONGEST_FIRST = ("test_user_paths.py", "test_multihost.py", "test_lab_playbooks.py", "test_generated_lab_files.py",
                 "test_molecule.py", "test_versions.py",
                 "test_generated_labs.py", "test_module_defaults.py", "test_bench.py", "test_playbooks_seeds.py",
                 "test_inprocess_parity.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))
    if os.geteuid() != 0:
        # Integration tests need root for unshare; fail loudly rather than skip.
        for item in items:
            item.add_marker(pytest.mark.usefixtures("_require_root"))


@pytest.fixture
def _require_root():
    pytest.fail("integration tests need root (unshare --net --mount); run them with make test as root")


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path)
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(scope="session")
def seed_lab(tmp_path_factory):
    """``seed_lab(name)``: playbooks/NAME.yml's lab as ansible-playbook builds it on an empty sandbox,
    built once per test process for the tests that only read it (test_playbooks_seeds.py and
    test_lab_info.py; their tests of one playbook share an xdist group, so that one worker builds it).
    Returns (sandbox, the build's records, the snapshot taken right after it); each reader asserts
    the snapshot unchanged, so that a reader that changed the lab would fail the next one.
    """
    built = {}

    def get(name):
        if name not in built:
            box = Sandbox(tmp_path_factory.mktemp("seed-" + name))
            try:
                records = box.playbook(REPO / "playbooks" / ("%s.yml" % name))[1]
                built[name] = (box, records, box.snapshot())
            except BaseException:
                box.close()
                raise
        box, records, snapshot = built[name]
        assert box.snapshot() == snapshot, "an earlier test changed the shared %s lab" % name
        return built[name]

    yield get
    for box, _records, _snapshot in built.values():
        box.close()
