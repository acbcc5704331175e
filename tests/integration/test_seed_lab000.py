"""Seed lab 000 built by its playbook equals what the seed's own commands build."""

from sandbox import REPO, Sandbox

PLAYBOOK = REPO / "playbooks" / "seed000_host_netns.yml"
TEARDOWN = REPO / "playbooks" / "teardown.yml"

# The seed's commands (000_5dfaa4a3fefbc0d9.txt), ifconfig spelled with ip.
SEED_COMMANDS = """
ip netns add iris_network
ip netns exec iris_network ip link set dev lo up
ip link add veth0 type veth peer name iris_veth
ip link set iris_veth netns iris_network
ip netns exec iris_network ip addr add 10.1.1.1/24 dev iris_veth
ip netns exec iris_network ip link set iris_veth up
ip addr add 10.1.1.2/24 dev veth0
ip link set veth0 up
"""


def changed_tasks(records):
    return [r["task"] for r in records if r["result"].get("changed")]


def test_playbook_builds_the_seed_lab_idempotently(sandbox, tmp_path):
    empty = sandbox.snapshot()
    first = sandbox.playbook(PLAYBOOK)[1]
    assert changed_tasks(first) == ["Create the namespace, loopback up", "Join it to the host with a veth pair"]
    second = sandbox.playbook(PLAYBOOK)[1]
    assert changed_tasks(second) == [], "a second run changed something"
    built = sandbox.snapshot()

    reference = Sandbox(tmp_path / "reference")
    try:
        reference.sh(SEED_COMMANDS)
        assert reference.snapshot() == built
    finally:
        reference.close()

    assert sandbox.ping(None, "10.1.1.1") and sandbox.ping("iris_network", "10.1.1.2")

    down = sandbox.playbook(TEARDOWN)[1]
    assert len(changed_tasks(down)) == 2
    assert sandbox.snapshot() == empty, "teardown left something behind"
    again = sandbox.playbook(TEARDOWN)[1]
    assert changed_tasks(again) == []


def test_teardown_leaves_foreign_objects_alone(sandbox):
    """A host veth0 that is not the lab's is refused, not deleted."""
    sandbox.sh("ip link add veth0 type veth peer name other")
    proc, records = sandbox.playbook(TEARDOWN, check=False)
    assert proc.returncode != 0
    failed = [r for r in records if r["status"] == "failed"]
    # The refused lab is left as it is and the play fails at its end, naming why (teardown.yml's rescue).
    assert [r["task"] for r in failed] == ["Seed 000 - remove the host's veth0 (its peer in iris_network goes with it)",
                                           "Fail when a lab could not be removed whole"]
    assert "paired with 'other', not with 'iris_veth'" in failed[0]["result"]["msg"]
    assert "veth0" in sandbox.links()
