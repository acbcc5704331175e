"""The collection builds as Galaxy would ship it, installs, and every module's docs render.

Runs `ansible-galaxy collection build` on the working tree, installs the
tarball into a temporary collections path and runs `ansible-doc` there, so a
broken DOCUMENTATION block, a missing doc fragment or a file that build_ignore
should have left out is caught before release.
"""

import fnmatch
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
FQCN = "%s.%s" % (GALAXY["namespace"], GALAXY["name"])
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
# Development files that must not be shipped in the tarball: the test suite, the roles' Molecule
# scenarios (issue 23), pictures that only the repository's own pages show.
NOT_SHIPPED = (".venv/", "build/", ".git/", ".ci/", "tests/", ".pytest_cache/", ".ruff_cache/", "scripts/",
               "Makefile", "pyproject.toml", "requirements-dev")
NOT_SHIPPED_PATTERNS = ("roles/*/molecule/*", "docs/images/*.png")
# What an installed collection needs.
SHIPPED = ("README.md", "LICENSE", "meta/runtime.yml", "meta/execution-environment.yml", "meta/requirements.txt",
           "meta/bindep.txt", "changelogs/changelog.yaml", "docs/walkthrough.md",
           "roles/lab_host/files/kernel_features.sh", "playbooks/tasks/teardown_seed000_host_netns.yml")
SHIPPED_GLOBS = ("plugins/modules/*.py", "plugins/module_utils/*.py", "plugins/doc_fragments/*.py",
                 "roles/*/tasks/*.yml", "roles/*/defaults/main.yml", "roles/*/meta/*.yml", "playbooks/*.yml")


def run(argv, env=None, cwd=None):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
                          check=False)
    assert proc.returncode == 0, "%s failed (%d):\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(tarball, environment with only the installed collection on ANSIBLE_COLLECTIONS_PATH)."""
    tmp = tmp_path_factory.mktemp("galaxy")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp / "dist", REPO])
    tarballs = list((tmp / "dist").glob("*.tar.gz"))
    assert [t.name for t in tarballs] == ["%s-%s-%s.tar.gz" % (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])]
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="True",
        HOME=str(tmp),  # no ~/.ansible/collections of the user's
    )
    # --force: install even where another netvirt.linux is visible (make test's build/collections link).
    run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--force", "-p", tmp / "collections", tarballs[0]],
        env=env)
    assert (tmp / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"] / "MANIFEST.json").is_file()
    return tarballs[0], env


def test_tarball_leaves_development_files_out(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names and "FILES.json" in names
    shipped = [n for n in names if n.startswith(NOT_SHIPPED)
               or any(fnmatch.fnmatch(n, pattern) for pattern in NOT_SHIPPED_PATTERNS)]
    assert shipped == [], "build_ignore in galaxy.yml should leave these out: %s" % shipped[:20]
    missing = [n for n in SHIPPED if n not in names]
    missing += [str(p.relative_to(REPO)) for pattern in SHIPPED_GLOBS for p in REPO.glob(pattern)
                if str(p.relative_to(REPO)) not in names]
    assert missing == [], "an installed collection needs these: %s" % missing
    with tarfile.open(tarball) as tar:
        large = [(m.name, m.size) for m in tar.getmembers() if m.size > 64 * 1024]
    assert large == [], "files this large in an installed collection: %s" % large


def test_manifest_has_project_urls(installed):
    """Galaxy and the docsite link documentation, homepage and issues from MANIFEST.json."""
    with tarfile.open(installed[0]) as tar:
        member = tar.extractfile("MANIFEST.json")
        assert member is not None
        info = json.load(member)["collection_info"]
    for key in ("repository", "documentation", "homepage", "issues"):
        assert info[key], "MANIFEST.json has no %s: set it in galaxy.yml" % key
        assert info[key].startswith("https://"), (key, info[key])
        assert info[key] == GALAXY[key], (key, info[key])


def test_modules_are_listed(installed):
    env = installed[1]
    out = run([BIN / "ansible-doc", "-t", "module", "-l", FQCN], env=env).stdout
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"%s.%s" % (FQCN, m) for m in MODULES} <= listed, out


@pytest.mark.parametrize("module", MODULES)
def test_module_doc_renders(installed, module):
    env = installed[1]
    name = "%s.%s" % (FQCN, module)
    proc = run([BIN / "ansible-doc", "-t", "module", name], env=env)
    assert name in proc.stdout and "MODULE" in proc.stdout.upper(), proc.stdout
    assert "[WARNING]" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    doc = json.loads(run([BIN / "ansible-doc", "-t", "module", "-j", name], env=env).stdout)[name]
    assert doc["doc"]["short_description"], doc
    assert doc["examples"], "%s has no EXAMPLES" % name
    assert doc["return"] is not None, "%s has no RETURN" % name


def test_action_group_holds_the_modules_that_take_netns(installed):
    """module_defaults: {group/netvirt.linux.netvirt: {netns: X}} must suit every module of the group."""
    env = installed[1]
    names = ["%s.%s" % (FQCN, m) for m in MODULES]
    docs = json.loads(run([BIN / "ansible-doc", "-t", "module", "-j"] + names, env=env).stdout)
    taking = sorted(m for m in MODULES if "netns" in docs["%s.%s" % (FQCN, m)]["doc"].get("options", {}))
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["action_groups"]["netvirt"] == taking
