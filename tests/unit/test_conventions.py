"""The collection's ecosystem metadata agrees with itself and with the code.

meta/runtime.yml's action group, the execution environment definition and its
dependency files, bindep.txt's profiles, requirements.txt and the lab_host role's
copy of it, galaxy.yml's URLs: files that nothing imports, so nothing else would
notice them drifting apart.
"""

import re
from pathlib import Path

import pytest
import yaml
from bindep.depends import Depends
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


def load(relative: str):
    return yaml.safe_load((REPO / relative).read_text())


def requirement_lines(text: str) -> list:
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


# -- meta/runtime.yml -----------------------------------------------------------------

def test_action_group_is_one_sorted_list_of_modules():
    # Which modules belong (those taking netns) is checked on their rendered docs in tests/build.
    runtime = load("meta/runtime.yml")
    assert list(runtime["action_groups"]) == ["netvirt"]
    group = runtime["action_groups"]["netvirt"]
    assert group == sorted(set(group)), "keep action_groups.netvirt sorted, each module once: %s" % group
    assert set(group) <= set(MODULES), set(group) - set(MODULES)


def test_requires_ansible_has_action_groups():
    # module_defaults' group/NAMESPACE.COLLECTION.GROUP exists since ansible-core 2.12.
    spec = load("meta/runtime.yml")["requires_ansible"]
    oldest = re.fullmatch(r">=\s*(\d+)\.(\d+)(?:\.\d+)?", spec)
    assert oldest, "requires_ansible should be a lower bound: %r" % spec
    assert (int(oldest.group(1)), int(oldest.group(2))) >= (2, 12)


# -- execution environment ------------------------------------------------------------

def test_execution_environment_definition():
    ee = load("meta/execution-environment.yml")
    assert ee["version"] == 3
    # A pinned tag (issue 23), and the base image's own ansible-core.
    assert ee["images"]["base_image"]["name"] == "ghcr.io/ansible-community/community-ee-minimal:2.20.1-1"
    deps = ee["dependencies"]
    assert deps["python"] == "requirements.txt" and deps["system"] == "bindep.txt"
    assert deps["ansible_core"] == {"package_pip": "ansible-core==2.20.1"}
    assert deps["ansible_runner"] == {"package_pip": "ansible-runner"}
    assert "galaxy" not in deps, "the collection depends on no other collection"


@pytest.mark.parametrize("name", ["requirements.txt", "bindep.txt"])
def test_meta_dependency_files_are_copies(name):
    # ansible-builder resolves dependency files relative to the EE file, hence the copies in meta/.
    assert (REPO / "meta" / name).read_text() == (REPO / name).read_text(), (
        "meta/%s differs from %s: copy it (cp %s meta/%s)" % (name, name, name, name))


# -- requirements.txt ------------------------------------------------------------------

def test_requirements_have_no_upper_caps():
    for line in requirement_lines((REPO / "requirements.txt").read_text()):
        req = Requirement(line)
        ops = {spec.operator for spec in req.specifier}
        assert ops <= {">="}, "%s: only lower bounds in requirements.txt, not %s" % (line, sorted(ops))
    names = [Requirement(line).name for line in requirement_lines((REPO / "requirements.txt").read_text())]
    assert names == ["pyroute2", "python-iptables"]


def test_lab_host_role_installs_requirements_txt():
    wanted = requirement_lines((REPO / "requirements.txt").read_text())
    defaults = load("roles/lab_host/defaults/main.yml")
    spec = load("roles/lab_host/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert defaults["lab_host_requirements"] == wanted
    assert spec["lab_host_requirements"]["default"] == wanted


# -- bindep.txt -------------------------------------------------------------------------

@pytest.mark.parametrize("platform, compile_packages", [
    ("platform:dpkg", ["gcc", "libc6-dev", "python3-dev"]),
    ("platform:rpm", ["gcc", "glibc-devel", "python3-devel"]),
])
def test_bindep_profiles(platform, compile_packages):
    depends = Depends((REPO / "bindep.txt").read_text())
    runtime = [rule[0] for rule in depends.active_rules(["default", platform])]
    build = [rule[0] for rule in depends.active_rules(["compile", platform])]
    assert runtime == ["iproute2", "iptables"], "the compilers belong to the compile profile only"
    assert build == ["iproute2", "iptables"] + compile_packages


# -- galaxy.yml ---------------------------------------------------------------------------

def test_galaxy_urls():
    galaxy = load("galaxy.yml")
    repository = galaxy["repository"]
    assert repository == "https://github.com/netvirt/linux"
    assert galaxy["homepage"] == repository
    assert galaxy["documentation"] == repository + "/blob/main/README.md"
    assert galaxy["issues"] == repository + "/issues"
