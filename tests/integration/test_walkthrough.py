"""docs/walkthrough.md, its pictures (make pictures) and `make try`.

The walkthrough must name only playbooks that exist and give every seed lab
playbook a section and a picture; lab_info's DOT diagram of a lab really built
must be accepted by Graphviz's dot (bootstrap installs graphviz); and `make try`
must build its lab in a sandbox of its own, inside the test's sandbox, leaving
the test sandbox's links and namespaces as they were.
"""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

from sandbox import REPO

DOC = REPO / "docs" / "walkthrough.md"
SEED_PLAYBOOKS = sorted(path.stem for path in (REPO / "playbooks").glob("seed*.yml"))


def render_script():
    spec = importlib.util.spec_from_file_location("render_walkthrough", REPO / "scripts" / "render_walkthrough.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_playbook_the_walkthrough_names_exists():
    text = DOC.read_text()
    named = set(re.findall(r"playbooks/([\w-]+)\.yml", text)) | set(re.findall(r"LAB=([\w-]+)", text))
    assert named, "the walkthrough names no playbook"
    missing = sorted(name for name in named if not (REPO / "playbooks" / ("%s.yml" % name)).is_file())
    assert not missing, "the walkthrough names playbooks that do not exist: %s" % missing


def test_every_seed_lab_has_a_section_and_a_picture():
    text = DOC.read_text()
    assert SEED_PLAYBOOKS, "no seed playbooks found"
    headings = re.findall(r"^#+ (.*)$", text, re.M)
    for seed in sorted({name[4:7] for name in SEED_PLAYBOOKS}):
        assert any(h.startswith("Seed %s:" % seed) for h in headings), "no section for seed %s" % seed
    for name in SEED_PLAYBOOKS:
        assert "`playbooks/%s.yml`" % name in headings, "no section for playbooks/%s.yml" % name
        section = text.split("### `playbooks/%s.yml`" % name, 1)[1].split("\n#", 1)[0]
        assert "](images/%s.svg)" % name in section, "the section of %s shows no picture of it" % name
        picture = REPO / "docs" / "images" / ("%s.svg" % name)
        assert picture.is_file(), "%s is missing: run make pictures" % picture
        assert "<svg" in picture.read_text(), "%s is not an SVG picture" % picture
    # make pictures draws exactly these labs.
    assert sorted(render_script().LABS) == SEED_PLAYBOOKS


def test_lab_info_dot_diagram_is_drawn_by_graphviz(sandbox):
    dot = shutil.which("dot")
    assert dot, "Graphviz's dot is missing: make venv installs graphviz (scripts/bootstrap.sh)"
    diagram = render_script().lab_dot(sandbox, "seed002_bridge_netns")
    proc = subprocess.run([dot, "-Tsvg"], input=diagram, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "dot refused lab_info's diagram: %s\n%s" % (proc.stderr, diagram)
    assert proc.stderr == "", proc.stderr
    assert "<svg" in proc.stdout
    for name in ("netns net0", "netns net1", "netns bridge", "br (bridge)", "10.0.1.1/24"):
        assert name in proc.stdout, "the picture does not show %r" % name


def make_try(sandbox, command, *make_args):
    # -o venv: the test session already has its .venv (and the sandbox has no network for pip).
    return sandbox.run(["make", "--no-print-directory", "-C", str(REPO), "-o", "venv", "try"] + list(make_args),
                       check=False, env={"TRY_COMMAND": command}, timeout=600)


def test_make_try_builds_the_lab_in_its_own_sandbox(sandbox):
    sandbox.sh("ip netns add outer && ip link add outer0 type veth peer name outer1")
    before = sandbox.snapshot()
    links_before = sandbox.links()
    # A process left running in the try sandbox must not outlive it: make returns.
    proc = make_try(sandbox, "sleep 600 & ip netns list; echo host-links; ip -br link")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    matrix = re.search(r"from \\+ to +10\.0\.1\.2 +10\.0\.1\.1\",\n\s*\"net0 +ok +\.\",\n\s*\"net1 +\. +ok\"", out)
    assert matrix, "no reachability matrix with net0 -> 10.0.1.2 and net1 -> 10.0.1.1 reachable:\n" + out
    after_command = out.split("==> try: sleep 600", 1)[1].split("\n", 1)[1]
    namespaces_part, links_part = after_command.split("\nhost-links\n", 1)
    assert set(namespaces_part.split()) == {"net0", "net1", "bridge"}
    assert re.findall(r"^(\S+)", links_part, re.M) == ["lo"], "the try sandbox's host namespace should hold only lo"
    assert "outer" not in namespaces_part, "make try saw the outer sandbox's namespaces"
    assert "outer0" not in links_part, "make try saw the outer sandbox's links"
    assert sandbox.snapshot() == before, "make try changed the sandbox it ran in"
    assert sandbox.links().keys() == links_before.keys()
    assert sandbox.namespaces() == {"outer"}


def test_make_try_refuses_an_unknown_lab_and_builds_nothing(sandbox):
    before = sandbox.snapshot()
    proc = make_try(sandbox, "true", "LAB=no_such_lab")
    assert proc.returncode != 0
    assert "no playbook playbooks/no_such_lab.yml" in proc.stderr, proc.stderr
    assert "seed002_bridge_netns" in proc.stderr, "the message should list the labs to choose from"
    assert sandbox.snapshot() == before
    assert sandbox.namespaces() == set()


def test_make_try_returns_the_command_status(sandbox):
    proc = make_try(sandbox, "ip netns list; exit 3", "LAB=seed004_veth_pair")
    # make reports the recipe's status: the command's.
    assert proc.returncode != 0
    assert "try] Error 3" in proc.stderr, proc.stderr
    assert sandbox.namespaces() == set()


def test_make_try_refuses_a_lab_that_needs_other_hosts_or_the_machines_files(sandbox):
    """stretched_lab needs two hosts and its lab_host role writes /opt/netvirt/venv on the real filesystem
    (the try sandbox isolates the network only): refused before anything runs, with the labs it can try."""
    before = sandbox.snapshot()
    venv = Path("/opt/netvirt/venv")
    venv_before = venv.stat().st_mtime_ns if venv.exists() else None
    proc = make_try(sandbox, "true", "LAB=stretched_lab")
    assert proc.returncode != 0
    assert "cannot try playbooks/stretched_lab.yml: it needs 2 lab hosts" in proc.stderr, proc.stderr
    assert "writes /opt/netvirt/venv on this machine's own filesystem" in proc.stderr, proc.stderr
    assert "Nothing was built" in proc.stderr
    can_try = proc.stderr.split("It can try:", 1)[1].split()
    assert "seed002_bridge_netns" in can_try and "stretched_lab" not in can_try, proc.stderr
    assert "building playbooks/stretched_lab.yml" not in proc.stdout, "the playbook ran"
    assert (venv.stat().st_mtime_ns if venv.exists() else None) == venv_before, "make try touched /opt/netvirt/venv"
    assert sandbox.snapshot() == before
    assert sandbox.namespaces() == set()
