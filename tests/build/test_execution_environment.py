"""`ansible-builder create` turns meta/execution-environment.yml into a build context.

`create` writes the Containerfile and copies the dependency files without any
container runtime, so this runs anywhere; `ansible-builder build` would then
only add the image build itself.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILDER = Path(sys.executable).parent / "ansible-builder"


def test_ansible_builder_create(tmp_path):
    context = tmp_path / "context"
    proc = subprocess.run(
        [str(BUILDER), "create", "-f", str(REPO / "meta" / "execution-environment.yml"), "-c", str(context),
         "--output-filename", "Containerfile"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert proc.returncode == 0, "ansible-builder create failed (%d):\n%s\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    containerfile = (context / "Containerfile").read_text()
    assert "ghcr.io/ansible-community/community-ee-minimal:latest" in containerfile
    # The collection's own requirements, in the context and used by the builder stage.
    assert (context / "_build" / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert (context / "_build" / "bindep.txt").read_text() == (REPO / "bindep.txt").read_text()
    assert "COPY _build/requirements.txt requirements.txt" in containerfile
    assert "COPY _build/bindep.txt bindep.txt" in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core ansible-runner"' in containerfile
