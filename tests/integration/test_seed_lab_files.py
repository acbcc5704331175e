"""The seeds as lab files (issue 26 item 6): playbooks/labs/*.yml build exactly the seeds' own state.

Each lab file is compiled with compile_lab (one host, localhost) and its share built by
`netvirt.linux.topology` in an empty sandbox (in-process: inprocess.py); the kernel state (snapshot.py:
links, kinds, masters, addresses, up/down, routes, sysctls, chains) must equal the one the seed's own
playbook (playbooks/seed*.yml, which test_playbooks_seeds.py holds equal to the seed's commands) makes:
the seed_lab fixture's, shared with test_playbooks_seeds.py and test_lab_info.py. Names are the seeds'
own (``node:ifname``, ``ports``, the link's ``name``), not masked by the comparison. A second run
changes nothing, and the checks the compiler generates hold in the lab it built (where the lab has
iptables chains, which the checks do not simulate, the seed playbook's own proof is asserted instead,
beside what the generated checks say).

One lab file goes end to end as a user runs it: ``ansible-playbook netvirt.linux.lab_up -e lab=...``,
again (changed=0), and ``lab_down`` (back to the empty host).
"""

from __future__ import annotations

import shutil
import sys

import pytest
import yaml
from sandbox import REPO, ensure_collection_path
from test_lab_playbooks import ok, result_of, user_run

sys.path.insert(0, str(ensure_collection_path()))
from ansible_collections.netvirt.linux.plugins.module_utils._labfile import compile_lab

LABS = REPO / "playbooks" / "labs"
# Each lab file, and the seed playbook whose state it must build.
SEED_PLAYBOOK = {
    "seed000": "seed000_host_netns",
    "seed002": "seed002_bridge_netns",
    "seed003_blue_netns": "seed003_blue_netns",
    "seed003_bridge_host": "seed003_bridge_host",
    "seed003_netns_pair": "seed003_netns_pair",
    "seed004_bridge_address": "seed004_bridge_address",
    "seed004_netfilter_router": "seed004_netfilter_router",
    "seed004_tun": "seed004_tun",
    "seed004_veth_pair": "seed004_veth_pair",
}
# The seed playbook's own proof for the router (its FORWARD chain drops client2, its NAT lets client1 out),
# and the two clients, whose replies or requests from client2 the FORWARD chain drops too: the generated
# checks do not simulate iptables chains, so they say otherwise for client1 -> upstream and between the clients.
ROUTER_PROOF = [
    {"from": "client1", "to": ["192.0.2.1"]},
    {"from": "client2", "to": ["192.0.2.1"], "expect": "unreachable"},
    {"from": "upstream", "to": ["10.0.1.1", "10.0.2.1"], "expect": "unreachable"},
    {"from": "client1", "to": ["10.0.2.1"], "expect": "unreachable"},
    {"from": "client2", "to": ["10.0.1.1"], "expect": "unreachable"},
]


def load(name: str) -> dict:
    return yaml.safe_load((LABS / ("%s.yml" % name)).read_text())


def test_every_seed_playbook_has_its_lab_file():
    playbooks = sorted(p.stem for p in (REPO / "playbooks").glob("seed*.yml"))
    assert sorted(SEED_PLAYBOOK.values()) == playbooks
    assert sorted(p.stem for p in LABS.glob("*.yml")) == sorted(SEED_PLAYBOOK)


@pytest.mark.parametrize("name", sorted(SEED_PLAYBOOK))
def test_a_seed_lab_file_is_short_and_names_what_the_seed_names(name):
    text = (LABS / ("%s.yml" % name)).read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) <= 20, "%s.yml: %d lines of nodes and links" % (name, len(lines))
    compiled = compile_lab(load(name))
    assert list(compiled.shares) == ["localhost"]


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.xdist_group("seed-" + SEED_PLAYBOOK[name]))
                                  for name in sorted(SEED_PLAYBOOK)])
def test_a_seed_lab_file_builds_the_seed_playbooks_state(seed_lab, sandbox, name):
    _box, _records, seed_state = seed_lab(SEED_PLAYBOOK[name])
    compiled = compile_lab(load(name))
    share = compiled.shares["localhost"]
    first = sandbox.module("netvirt.linux.topology", {"definition": share})
    assert first["changed"] is True
    assert sandbox.snapshot() == seed_state, "%s.yml built another lab than %s.yml" % (name, SEED_PLAYBOOK[name])
    second = sandbox.module("netvirt.linux.topology", {"definition": share})
    assert second["changed"] is False, second.get("actions")

    if "iptables_chains" in share:
        assert compiled.notes, "the compiler should say its checks do not simulate the chains"
        proof = sandbox.module("netvirt.linux.reachability", {"checks": ROUTER_PROOF})
        # What the generated checks say of those pairs, without the chains: a reply to client1 has no route
        # back from the upstream (NAT is not simulated), the clients reach each other (the drop is not).
        generated = {(c.get("from"), to): c["expect"] for c in compiled.checks for to in c["to"]}
        assert generated[("client1", "192.0.2.1")] == generated[("client2", "192.0.2.1")] == "unreachable"
        assert generated[("client1", "10.0.2.1")] == generated[("client2", "10.0.1.1")] == "reachable"
    elif compiled.checks:
        proof = sandbox.module("netvirt.linux.reachability", {"checks": compiled.checks})
    else:
        return  # seed 004's veth pair and tun: nothing to ping across (test_playbooks_seeds.py's header)
    # The module fails a pair against its expectation (sandbox.module asserts it did not fail): said again.
    assert proof["summary"]["failed"] == 0 and all(row["ok"] for row in proof["matrix"]), proof["matrix_text"]


def test_the_walkthrough_shows_each_seed_lab_file_beside_its_picture():
    text = (REPO / "docs" / "walkthrough.md").read_text()
    for name, playbook in SEED_PLAYBOOK.items():
        section = text.split("### `playbooks/%s.yml`" % playbook, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
        body = "\n".join(line for line in (LABS / ("%s.yml" % name)).read_text().splitlines()
                         if line != "---" and not line.startswith("#"))
        assert "](images/%s.svg)" % playbook in section
        assert "`playbooks/labs/%s.yml`:\n\n```yaml\n%s\n```" % (name, body) in section, \
            "the walkthrough's copy of %s.yml differs from the file" % name


def test_lab_up_builds_the_netfilter_router_seed_and_lab_down_removes_it(seed_lab, sandbox, tmp_path):
    """The user path for one seed file: lab_up, lab_up again (nothing changed), lab_down."""
    name = "seed004_netfilter_router"
    _box, _records, seed_state = seed_lab(SEED_PLAYBOOK[name])
    directory = tmp_path / "labs"
    directory.mkdir()
    shutil.copy(LABS / ("%s.yml" % name), directory / "lab.yml")
    empty = sandbox.snapshot()

    built = result_of(ok(user_run(sandbox, directory, "lab_up", "-e", "lab=lab.yml")), "Build or remove the lab")
    assert built["result"]["changed"] is True
    assert sandbox.snapshot() == seed_state, "lab_up built another lab than %s.yml" % SEED_PLAYBOOK[name]
    again = result_of(ok(user_run(sandbox, directory, "lab_up", "-e", "lab=lab.yml")), "Build or remove the lab")
    assert again["result"]["changed"] is False
    ok(user_run(sandbox, directory, "lab_down", "-e", "lab=lab.yml"))
    assert sandbox.snapshot() == empty, "lab_down left something behind"
