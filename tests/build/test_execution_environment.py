"""`ansible-builder create` turns meta/execution-environment.yml into a build context.

`create` writes the Containerfile and copies the dependency files and the
collection's tarball without any container runtime, so this runs anywhere;
`ansible-builder build` would then only add the image build itself (not run
here: this machine has no container engine).
"""

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUILDER = BIN / "ansible-builder"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = "%s-%s-%s.tar.gz" % (GALAXY["namespace"], GALAXY["name"], GALAXY["version"])


def run(argv, cwd):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300, check=False, cwd=cwd)
    assert proc.returncode == 0, "%s failed (%d):\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def test_ansible_builder_create(tmp_path):
    # The definition's own layout, outside the checkout: meta/ beside build/ee/ with the collection's tarball,
    # as its header says to make it (ansible-galaxy collection build --output-path build/ee .).
    shutil.copytree(REPO / "meta", tmp_path / "meta")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path / "build" / "ee", REPO], cwd=tmp_path)
    context = tmp_path / "context"
    proc = run([BUILDER, "create", "-f", tmp_path / "meta" / "execution-environment.yml", "-c", context,
                "--output-filename", "Containerfile"], cwd=tmp_path)
    assert "No matches" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile").read_text()

    # A pinned base image, never :latest.
    base = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())["images"]["base_image"]["name"]
    assert re.fullmatch(r"ghcr\.io/ansible-community/community-ee-minimal:\d+\.\d+\.\d+-\d+", base), base
    assert "ARG EE_BASE_IMAGE=\"%s\"" % base in containerfile
    assert ":latest" not in containerfile

    # The collection's own requirements, in the context and used by the builder stage.
    assert (context / "_build" / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert (context / "_build" / "bindep.txt").read_text() == (REPO / "bindep.txt").read_text()
    assert "COPY _build/requirements.txt requirements.txt" in containerfile
    assert "COPY _build/bindep.txt bindep.txt" in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.20.1 ansible-runner"' in containerfile

    # The collection itself: its tarball in the context, installed into the image's collections path.
    shipped = context / "_build" / "collection" / TARBALL
    assert shipped.read_bytes() == (tmp_path / "build" / "ee" / TARBALL).read_bytes()
    with tarfile.open(shipped) as tar:
        names = tar.getnames()
    assert "plugins/modules/topology.py" in names and not [n for n in names if n.startswith("tests/")]
    final = containerfile.split("FROM base AS final", 1)[1]
    assert "COPY _build/collection/ /tmp/netvirt-collection/" in final
    assert re.search(r"RUN ansible-galaxy collection install --offline -p /usr/share/ansible/collections "
                     r"/tmp/netvirt-collection/netvirt-linux-\*\.tar\.gz", final), final
    assert final.index("ansible-galaxy collection install") < final.index("USER 1000"), "installed as root"
