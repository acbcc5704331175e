"""module_defaults through the action group netvirt.linux.netvirt (meta/runtime.yml), on the real kernel.

`module_defaults: {group/netvirt.linux.netvirt: {netns: lab1}}` gives every
module of the group `netns: lab1`: the objects land in lab1, a task's own
`netns` wins over the default, and tasks outside the block keep the host.
A veth's peer follows its first end (README's example, as written there), unless
`peer_netns: ""` puts it in the host.
"""

GROUP = "group/netvirt.linux.netvirt"
NS = "lab1"


def play(check_mode: bool = False) -> list:
    kind_tasks = [
        {"name": "bridge", "netvirt.linux.bridge": {"name": "br0", "addresses": ["10.0.0.1/24"]}},
        {"name": "veth", "netvirt.linux.veth": {"name": "v0", "peer": "v0p"}},
        {"name": "veth to the host", "netvirt.linux.veth": {"name": "v1", "peer": "v1h", "peer_netns": ""}},
        {"name": "route", "netvirt.linux.route": {"dst": "10.9.0.0/16", "gateway": "10.0.0.254"}},
        {"name": "own netns wins", "netvirt.linux.bridge": {"name": "br1", "netns": "lab2"}},
    ]
    tasks = [
        # The netns module takes no netns option: it stays outside the block.
        {"name": "namespaces", "netvirt.linux.netns": {"name": "{{ item }}"}, "loop": [NS, "lab2"]},
        {"name": "in lab1", "block": kind_tasks, "module_defaults": {GROUP: {"netns": NS}}},
        {"name": "host bridge", "netvirt.linux.bridge": {"name": "brhost"}},
    ]
    return [{"hosts": "localhost", "gather_facts": False, "check_mode": check_mode, "tasks": tasks}]


def changed(records: list) -> dict:
    assert all(r["status"] == "ok" for r in records), [r for r in records if r["status"] != "ok"]
    return {r["task"]: r["result"]["changed"] for r in records}


def test_group_default_netns(sandbox):
    before = sandbox.snapshot()
    checked = changed(sandbox.playbook(play(check_mode=True))[1])
    assert all(checked.values()), checked
    assert sandbox.snapshot() == before, "check mode changed the kernel"

    applied = changed(sandbox.playbook(play())[1])
    assert all(applied.values()), applied

    assert {NS, "lab2"} <= sandbox.namespaces()
    inside = sandbox.links(netns=NS)
    assert inside["br0"]["linkinfo"]["info_kind"] == "bridge"
    assert [a["local"] for a in inside["br0"]["addr_info"] if a["family"] == "inet"] == ["10.0.0.1"]
    assert inside["v0"]["linkinfo"]["info_kind"] == "veth" and "v0p" in inside
    assert inside["v0"]["link"] == "v0p", "v0's peer is not beside it in lab1"
    assert "v1" in inside and "v1h" in sandbox.links() and "v1h" not in inside
    routes = sandbox.ip_json("route", "show", "10.9.0.0/16", netns=NS)
    assert [(r["dst"], r["gateway"]) for r in routes] == [("10.9.0.0/16", "10.0.0.254")]
    assert "br1" in sandbox.links(netns="lab2") and "br1" not in inside
    host = sandbox.links()
    assert "brhost" in host and "brhost" not in inside
    assert not {"br0", "v0", "v0p", "v1", "br1"} & set(host), "a group-defaulted object landed in the host"

    after = sandbox.snapshot()
    assert not any(changed(sandbox.playbook(play(check_mode=True))[1]).values())
    assert not any(changed(sandbox.playbook(play())[1]).values())
    assert sandbox.snapshot() == after


def test_modules_without_netns_are_outside_the_group(sandbox):
    """topology, lab_info and reachability take no netns: a group default in their block leaves them be."""
    lab = {"name": "lab", "namespaces": [{"name": "a"}, {"name": "b"}],
           "veths": [{"name": "eth0", "netns": "a", "addresses": ["10.7.0.1/24"],
                      "peer": "eth0", "peer_netns": "b", "peer_addresses": ["10.7.0.2/24"]}]}
    tasks = [
        {"name": "lab", "netvirt.linux.topology": lab},
        {"name": "info", "netvirt.linux.lab_info": {"lab": "lab"}, "register": "info"},
        {"name": "ping", "netvirt.linux.reachability": {"checks": [{"from": "a", "to": "10.7.0.2"}]}},
    ]
    block = [{"name": "block", "block": tasks, "module_defaults": {GROUP: {"netns": NS}}}]
    proc, records = sandbox.playbook([{"hosts": "localhost", "gather_facts": False, "tasks": block}])
    assert proc.returncode == 0 and all(r["status"] == "ok" for r in records), records
    assert sandbox.namespaces() == {"a", "b"}, "the group's netns reached a module outside the group"
    assert [a["local"] for a in sandbox.links(netns="a")["eth0"]["addr_info"] if a["family"] == "inet"] == ["10.7.0.1"]
