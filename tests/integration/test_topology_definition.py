"""topology's `definition` (issue 23): lab_info's description adopted in one option, with no templated task args.

The README's old pattern, `netvirt.linux.topology: "{{ info.topology | combine(...) }}"`, made
Ansible print `[WARNING]: Using a template for task args is unsafe`. With
`definition: "{{ info.topology }}"` nothing is templated but an option value.
"""

import json

from sandbox import HERE, PYTHON

# Seed 003's bridge in the host, made by hand: veths from ns1/ns2 to ports of br-test in the host.
BY_HAND = """
ip netns add ns1
ip netns add ns2
ip link add br-test type bridge stp_state 0
ip link set dev br-test up
ip link add tap1 type veth peer name br-tap1
ip link add tap2 type veth peer name br-tap2
ip link set tap1 netns ns1
ip link set tap2 netns ns2
ip link set br-tap1 master br-test up
ip link set br-tap2 master br-test up
ip -n ns1 link set dev tap1 up
ip -n ns2 link set dev tap2 up
ip -n ns1 address add 10.0.1.1/24 dev tap1
ip -n ns2 address add 10.0.1.2/24 dev tap2
"""
UNDO = "ip netns del ns1; ip netns del ns2; ip link del br-test"
SNAPSHOT = {"ansible.builtin.command": {"argv": [PYTHON, str(HERE / "snapshot.py")]}, "changed_when": False}


def adoption_play(topology_task: dict) -> list:
    call = dict(topology_task, diff=True)
    tasks = [
        {"name": "read", "netvirt.linux.lab_info": {}, "register": "info"},
        {"name": "undo by hand", "ansible.builtin.shell": UNDO, "changed_when": True},
        dict(SNAPSHOT, name="snapshot before"),
        dict(call, name="check", check_mode=True),
        dict(SNAPSHOT, name="snapshot after check"),
        dict(call, name="apply"),
        dict(SNAPSHOT, name="snapshot after apply"),
        dict(call, name="check again", check_mode=True),
        dict(call, name="apply again"),
    ]
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def test_lab_info_adopted_through_definition_without_a_warning(sandbox):
    sandbox.sh(BY_HAND)
    made = sandbox.snapshot()
    proc, records = sandbox.playbook(adoption_play(
        {"netvirt.linux.topology": {"name": "adopted", "definition": "{{ info.topology }}"}}))
    output = proc.stdout + proc.stderr
    assert "WARNING" not in output, output
    results = {r["task"]: r["result"] for r in records}
    snaps = {k: json.loads(v["stdout"]) for k, v in results.items() if k.startswith("snapshot")}
    check, apply, check2, apply2 = (results[k] for k in ("check", "apply", "check again", "apply again"))
    assert check["changed"] is True and snaps["snapshot after check"] == snaps["snapshot before"]
    assert apply["changed"] is True and apply["actions"] == check["actions"]
    assert apply["diff"] == check["diff"]
    assert check2["changed"] is False and check2["actions"] == []
    assert apply2["changed"] is False and apply2["actions"] == []
    # Rebuilt exactly as the commands made it.
    assert snaps["snapshot after apply"] == made
    assert sandbox.snapshot() == made
    assert sandbox.ping("ns1", "10.0.1.2")


def test_the_old_pattern_warns_and_definition_refuses_sections_beside_it(sandbox):
    """Why `definition` exists, and its one rule: the sections come from one place, with nothing changed."""
    sandbox.sh(BY_HAND)
    proc, _records = sandbox.playbook([{"hosts": "localhost", "gather_facts": False, "check_mode": True, "tasks": [
        {"name": "read", "netvirt.linux.lab_info": {}, "register": "info"},
        {"name": "templated args", "netvirt.linux.topology": "{{ info.topology | combine({'name': 'x'}) }}",
         "ignore_errors": True},
    ]}], check=False)
    assert "Using a template for task args is unsafe" in proc.stdout + proc.stderr
    sandbox.refused("netvirt.linux.topology", {"name": "x", "definition": {"namespaces": [{"name": "q"}]},
                                               "namespaces": [{"name": "q"}]},
                    "parameters are mutually exclusive: definition|namespaces")
    sandbox.refused("netvirt.linux.topology", {"name": "x", "definition": {"veths": [{"name": "v", "peer": "p",
                                                                                     "mtu": "big"}]}},
                    "definition: argument 'mtu' is of type str found in 'veths'")
    sandbox.refused("netvirt.linux.topology", {"definition": {"namespaces": [{"name": "q"}]}},
                    "name is required: give it as an option or as a key of definition")
