"""Several simulated lab hosts over real SSH (multihost.py): lab_host from bare python3,
labs on all hosts in parallel, idempotence, isolation, and a lab stretched across hosts by VXLAN."""

from pathlib import Path

import pytest
from multihost import LabHosts, changed_tasks, ssh_key, wheelhouse
from sandbox import REPO

PLAYBOOKS = REPO / "playbooks"


@pytest.fixture(scope="session")
def session_key(tmp_path_factory):
    """One key pair for the whole test session."""
    return ssh_key(tmp_path_factory.mktemp("ssh") / "key")


@pytest.fixture(scope="session")
def wheels():
    return wheelhouse()


def make_hosts(sandbox, tmp_path, key, names, **kwargs):
    return LabHosts(sandbox, tmp_path, names, key, **kwargs)


PREPARE_AND_VETH_LAB = [
    {"name": "Prepare the lab hosts", "hosts": "all", "gather_facts": False, "become": True,
     "roles": [{"role": "netvirt.linux.lab_host"}]},
    {"name": "Seed lab 000 on every host", "hosts": "all", "gather_facts": False, "become": True,
     "roles": [{"role": "netvirt.linux.veth_lab"}]},
]


def build_on_three_hosts(sandbox, tmp_path, key, wheels) -> LabHosts:
    """lab_host from bare python3, then seed lab 000, on three fresh hosts at once; checks what it built."""
    lab = make_hosts(sandbox, tmp_path, key, ["labhost1", "labhost2", "labhost3"])
    try:
        for host in lab.hosts.values():
            assert not (host.dir / "venv").exists()
        _proc, records = lab.playbook(PREPARE_AND_VETH_LAB, extra_vars={"lab_host_wheelhouse": str(wheels)})
        assert not [r for r in records if r["status"] in ("failed", "unreachable")]
        for name, host in lab.hosts.items():
            # Each venv was made from the host's own python3 and holds the libraries.
            assert "home = /usr/bin" in (host.dir / "venv" / "pyvenv.cfg").read_text()
            interpreter = [r["result"]["ansible_facts"]["lab_host_interpreter"] for r in records
                           if r["host"] == name and "lab_host_interpreter" in r["result"].get("ansible_facts", {})]
            assert interpreter == [str(host.dir / "venv" / "bin" / "python")]
            assert host.namespaces() == {"iris_network"}
            assert host.ping("iris_network", "10.1.1.2") and host.ping(None, "10.1.1.1")
        proofs = [r for r in records if r["task"].endswith("Prove each end reaches the other")]
        assert sorted(r["host"] for r in proofs if r["status"] == "ok") == sorted(lab.hosts)
        # The sandbox itself (the controller) got none of it.
        assert sandbox.namespaces() == set()
        assert "veth0" not in sandbox.links()
    except BaseException:
        lab.close()
        raise
    return lab


# A soak (make soak): make test runs lab_host from bare python3 over SSH on fresh hosts, then a lab
# there through the interpreter it hands over, in test_user_paths.py
# (test_user_path_on_several_hosts[stretched_lab.yml], step 2, which also checks each host's venv
# was made from its own python3, the lab_host_interpreter fact, that the hosts are apart and that the
# controller got none of it), and veth_lab's user path on one host (test_user_path[molecule-veth_lab-default]).
# It remains the run of three hosts at once.
@pytest.mark.soak
def test_lab_host_then_veth_lab_on_three_hosts(sandbox, tmp_path, session_key, wheels):
    lab = build_on_three_hosts(sandbox, tmp_path, session_key, wheels)
    try:
        # A namespace made on one host is invisible on the others (the module through the
        # interpreter lab_host made there; running lab_host again is the soak's, below).
        lab.playbook([{"hosts": "labhost1", "gather_facts": False, "become": True,
                       "vars": {"ansible_python_interpreter": "{{ lab_host_venv }}/bin/python"},
                       "tasks": [{"name": "only on labhost1", "netvirt.linux.netns": {"name": "only-a"}}]}])
        assert lab.hosts["labhost1"].namespaces() == {"iris_network", "only-a"}
        assert lab.hosts["labhost2"].namespaces() == {"iris_network"}
        assert lab.hosts["labhost3"].namespaces() == {"iris_network"}
    finally:
        lab.close()


# A soak (make soak): the same playbook again on the three hosts changes nothing. make test
# proves lab_host's second run over SSH changes nothing in test_user_paths.py
# (test_user_path_on_several_hosts[stretched_lab.yml], step 3), and veth_lab's on one host.
@pytest.mark.soak
def test_lab_host_then_veth_lab_again_on_three_hosts_changes_nothing(sandbox, tmp_path, session_key, wheels):
    lab = build_on_three_hosts(sandbox, tmp_path, session_key, wheels)
    try:
        _proc, records = lab.playbook(PREPARE_AND_VETH_LAB, extra_vars={"lab_host_wheelhouse": str(wheels)})
        assert changed_tasks(records) == []
    finally:
        lab.close()


# A soak (make soak): make test walks the same playbook on two hosts in test_user_paths.py
# (test_user_path_on_several_hosts[stretched_lab.yml]: check, build with its cross-host
# reachability proof, build again, check, teardown); this runs it again for the details.
@pytest.mark.soak
def test_stretched_lab_across_two_hosts(sandbox, tmp_path, session_key, wheels):
    lab = make_hosts(sandbox, tmp_path, session_key, ["site-a", "site-b"])
    try:
        playbook = PLAYBOOKS / "stretched_lab.yml"
        _proc, records = lab.playbook(playbook, extra_vars={"lab_host_wheelhouse": str(wheels)})
        proofs = [r for r in records if r["task"].endswith("reaches every other host's")]
        assert sorted(r["host"] for r in proofs if r["status"] == "ok") == ["site-a", "site-b"]
        a, b = lab.hosts["site-a"], lab.hosts["site-b"]
        assert a.ping("lab", "10.50.0.2") and b.ping("lab", "10.50.0.1")
        vx = a.run(["ip", "-j", "-d", "link", "show", "vx-lab"]).stdout
        assert '"remote":"10.99.0.2"' in vx and '"local":"10.99.0.1"' in vx and '"master":"br-lab"' in vx
        # The segment is made of the two hosts' namespaces only: the controller has no part in it.
        assert sandbox.namespaces() == set()

        _proc, records = lab.playbook(playbook, extra_vars={"lab_host_wheelhouse": str(wheels)})
        assert changed_tasks(records) == []

        lab.playbook(playbook, extra_vars={"lab_host_wheelhouse": str(wheels), "stretched_lab_state": "absent"})
        for host in (a, b):
            assert host.namespaces() == set()
            links = host.run(["ip", "-o", "link"]).stdout
            assert "br-lab" not in links and "vx-lab" not in links and "lab-br" not in links
    finally:
        lab.close()


def test_preflight_names_everything_missing_and_changes_nothing(sandbox, tmp_path, session_key, wheels):
    """A host whose kernel lacks tun and vxlan, and a wheelhouse without python-iptables."""
    partial = tmp_path / "partial-wheelhouse"
    partial.mkdir()
    for wheel in Path(wheels).glob("pyroute2-*"):
        (partial / wheel.name).write_bytes(wheel.read_bytes())
    lab = make_hosts(sandbox, tmp_path, session_key, ["oldhost"],
                     broken_link_kinds={"oldhost": ["tuntap", "vxlan"]})
    try:
        host = lab.hosts["oldhost"]
        # Its root's login shell talks, as real ones do (a motd, pyenv's rehash warnings): on the
        # tty the probe shares, on stdout and stderr. Only this host's mount namespace sees it.
        home = tmp_path / "noisy-home"
        home.mkdir()
        noise = 'echo "bridge: a line from a .bashrc"; echo "rm: cannot remove /root/.pyenv/shims/tmp.x" >&2\n'
        for rc in (".bashrc", ".profile"):
            (home / rc).write_text(noise)
        host.run(["mount", "--bind", str(home), str(Path.home())])
        assert "a line from a .bashrc" in host.run(["bash", "-ic", "true"]).stdout
        before = host.run(["ip", "-d", "link"]).stdout
        proc, records = lab.playbook(PREPARE_AND_VETH_LAB[:1], extra_vars={"lab_host_wheelhouse": str(partial)},
                                     check=False)
        assert proc.returncode != 0
        failed = [r for r in records if r["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["task"].endswith("Everything the labs need is there")
        msg = failed[0]["result"]["msg"]
        assert msg.startswith("oldhost is not ready for netvirt.linux labs and was not changed")
        assert "tun: the kernel refused a test device" in msg and "CONFIG_TUN" in msg
        assert "vxlan: the kernel refused a test device" in msg and "CONFIG_VXLAN" in msg
        assert "has no python-iptables" in msg and "pyroute2" not in msg.split("has no")[1].split("(")[0]
        for feature in ("netns:", "veth:", "bridge:", "rm:", "netvirt-missing"):
            assert feature not in msg
        assert not (host.dir / "venv").exists() and not (host.dir / "wheelhouse").exists()
        assert host.run(["ip", "-d", "link"]).stdout == before
        assert changed_tasks(records) == []
    finally:
        lab.close()


def test_missing_library_error_points_at_lab_host():
    import sys

    from sandbox import ensure_collection_path

    sys.path.insert(0, str(ensure_collection_path()))
    from ansible_collections.netvirt.linux.plugins.module_utils._module import PREPARE_HINT

    assert "netvirt.linux.lab_host" in PREPARE_HINT and "requirements.txt" in PREPARE_HINT


def test_lab_host_requirements_match_requirements_txt():
    import yaml

    defaults = yaml.safe_load((REPO / "roles" / "lab_host" / "defaults" / "main.yml").read_text())
    wanted = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    assert defaults["lab_host_requirements"] == [line for line in wanted if line]
