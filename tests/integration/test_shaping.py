"""netvirt.linux.shaping against the real kernel, in the sandbox: the qdisc as tc reads it, and the link's
measured rate. This kernel has tbf but not netem: netem's tests are skipped here, reported as not proven."""

import json
import re
import sys

import pytest
import yaml
from sandbox import REPO

SHAPING = "netvirt.linux.shaping"

# a (10.0.0.1, a0) <-> b (10.0.0.2, b0)
LAB = """
ip netns add a; ip netns add b
ip -n a link add a0 type veth peer name b0 netns b
ip -n a addr add 10.0.0.1/24 dev a0; ip -n a link set a0 up; ip -n a link set lo up
ip -n b addr add 10.0.0.2/24 dev b0; ip -n b link set b0 up; ip -n b link set lo up
"""

NETEM_MISSING = "not proven here: this kernel lacks the netem qdisc (CONFIG_NET_SCH_NETEM)"


@pytest.fixture
def lab(sandbox):
    sandbox.sh(LAB)
    return sandbox


def root_qdisc(sandbox, netns, dev):
    """The device's root qdisc as `tc -j qdisc show` reads it; None when it is the kernel's default (handle 0:)."""
    out = sandbox.run(["ip", "netns", "exec", netns, "tc", "-j", "qdisc", "show", "dev", dev]).stdout
    roots = [q for q in (json.loads(out) if out.strip() else []) if q.get("root")]
    return roots[0] if roots and roots[0]["handle"] != "0:" else None


def has_netem(sandbox) -> bool:
    probe = sandbox.run(["sh", "-c", "ip netns add probe && ip netns exec probe tc qdisc add dev lo root netem;"
                         " rc=$?; ip netns del probe; exit $rc"], check=False)
    return probe.returncode == 0


def test_rate_four_steps(lab):
    steps = lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit"})
    assert steps["apply"]["actions"] == ["shape 'a0' in a: 2mbit (tbf 4e56:)"]
    assert steps["check"]["diff"]["before"]["state"] == "absent"
    assert steps["apply"]["shaping"] == {"interface": "a0", "netns": "a", "state": "present", "qdisc": "tbf",
                                         "handle": "4e56:", "owned": True, "rate": "2mbit"}
    qdisc = root_qdisc(lab, "a", "a0")
    # 2 mbit/s is 250000 bytes per second; the default burst is 16k (10 ms of the rate, at least 16k).
    assert (qdisc["kind"], qdisc["handle"], qdisc["options"]["rate"], qdisc["options"]["burst"]) == (
        "tbf", "4e56:", 250000, 16384)
    assert root_qdisc(lab, "b", "b0") is None, "the peer's egress is not shaped"


def test_every_tbf_option_and_units_four_steps(lab):
    lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "rate": "62500bps", "burst": "32kb", "limit": 20})
    qdisc = root_qdisc(lab, "a", "a0")
    # 62500 bytes/s is 500kbit; 32kb is 32768 bytes; a queue of 20 frames of 1514 bytes.
    assert (qdisc["options"]["rate"], qdisc["options"]["burst"]) == (62500, 32768)
    assert qdisc["options"].get("limit") == 20 * 1514 or "lat" in qdisc["options"], qdisc


def test_rate_changed_in_place_then_absent_restores_default(lab):
    lab.module(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit"})
    steps = lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "rate": "10mbit"})
    assert steps["check"]["diff"]["before"]["rate"] == "2mbit" and steps["apply"]["shaping"]["rate"] == "10mbit"
    assert root_qdisc(lab, "a", "a0")["options"]["rate"] == 1250000
    steps = lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "state": "absent"})
    assert steps["apply"]["actions"] == ["delete shaping of 'a0' in a"]
    assert steps["apply"]["shaping"]["state"] == "absent"
    assert root_qdisc(lab, "a", "a0") is None, "the kernel's default (noqueue) is back"


def test_absent_without_shaping_is_no_change(lab):
    result = lab.module(SHAPING, {"netns": "a", "interface": "a0", "state": "absent"})
    assert result["changed"] is False and result["actions"] == []


@pytest.mark.parametrize("args, words, check_mode", [
    ({"rate": "10 mbits"}, "rate '10 mbits' is malformed", False),
    ({"rate": "fast"}, "rate 'fast' is malformed", True),
    ({"rate": "100gbit"}, "rate '100gbit' is out of range: from 8bit to 34gbit", False),
    ({"rate": "2mbit", "burst": "-1"}, "burst '-1' is malformed", True),
    ({"delay": "20 parsecs"}, "delay '20 parsecs' is malformed", False),
    ({"loss": "150%"}, "loss '150%' is out of range", True),
    ({"jitter": "5ms"}, "jitter needs a delay", False),
    ({}, "needs a rate or an impairment", True),
])
def test_bad_values_refused_before_any_change(lab, args, words, check_mode):
    """Each refusal in one mode (the other is its neighbour's): the units are checked before the kernel is read."""
    lab.module(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit"})
    lab.refused(SHAPING, dict({"netns": "a", "interface": "a0"}, **args), words, check_mode=check_mode)
    assert root_qdisc(lab, "a", "a0")["options"]["rate"] == 250000


def test_missing_interface_refused(lab):
    lab.refused(SHAPING, {"netns": "a", "interface": "nope0", "rate": "2mbit"}, "no interface 'nope0' in namespace 'a'")


@pytest.mark.parametrize("check_mode", [False, True])
def test_netem_missing_refused_naming_option_and_kernel_feature(lab, check_mode):
    if has_netem(lab):
        pytest.skip("this kernel has netem: the refusal for a kernel without it is not exercised")
    lab.module(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit"})
    result = lab.refused(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit", "delay": "20ms", "loss": "1%"},
                         "delay, loss need the kernel's netem qdisc, which this kernel lacks (CONFIG_NET_SCH_NETEM",
                         check_mode=check_mode)
    assert "nothing was changed" in result["msg"]
    assert root_qdisc(lab, "a", "a0")["kind"] == "tbf", "the shaping in place was left alone"


def test_netem_four_steps_where_the_kernel_has_it(lab):
    if not has_netem(lab):
        pytest.skip(NETEM_MISSING)
    lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "rate": "10mbit", "delay": "20ms", "jitter": "2ms",
                             "loss": "1%", "duplicate": "0.5%", "reorder": "10%", "corrupt": "0.1%", "limit": 500})
    qdisc = root_qdisc(lab, "a", "a0")
    assert (qdisc["kind"], qdisc["handle"]) == ("netem", "4e56:")
    options = qdisc["options"]
    assert options["limit"] == 500 and options["rate"]["rate"] == 1250000
    assert options["delay"]["delay"] == pytest.approx(0.020) and options["delay"]["jitter"] == pytest.approx(0.002)
    assert options["loss-random"]["loss"] == pytest.approx(0.01)


def test_netem_delay_and_loss_measured_where_the_kernel_has_it(lab):
    if not has_netem(lab):
        pytest.skip(NETEM_MISSING)
    lab.module(SHAPING, {"netns": "a", "interface": "a0", "delay": "100ms"})
    out = lab.run(["ip", "netns", "exec", "a", "ping", "-n", "-c", "3", "-i", "0.2", "10.0.0.2"]).stdout
    average = float(out.strip().splitlines()[-1].split("=")[1].split("/")[1])
    assert 95 <= average <= 150, out


def test_foreign_qdisc_refused_by_name_unless_forced(lab):
    lab.sh("ip netns exec a tc qdisc add dev a0 root handle 1: htb")
    for state in ("present", "absent"):
        result = lab.refused(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit", "state": state},
                             "its root qdisc is htb (handle 1:), which this module did not make")
        assert "force: true" in result["msg"]
    steps = lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "rate": "2mbit", "force": True})
    assert steps["check"]["diff"]["before"] == {"interface": "a0", "netns": "a", "state": "present", "qdisc": "htb",
                                                "handle": "1:", "owned": False}
    assert root_qdisc(lab, "a", "a0")["handle"] == "4e56:"


def test_kernel_default_qdisc_of_a_real_queue_is_replaced(lab):
    """A device with a queue gets pfifo_fast or fq_codel (handle 0:) from the kernel: the module's to replace."""
    lab.sh("ip netns exec a tc qdisc add dev a0 root pfifo_fast 2>/dev/null || true")
    lab.sh("ip netns exec a tc qdisc del dev a0 root 2>/dev/null || true")
    lab.four_steps(SHAPING, {"netns": "a", "interface": "a0", "rate": "1gbit"})
    assert root_qdisc(lab, "a", "a0")["options"]["rate"] == 125000000


# -- the link, measured ------------------------------------------------------------------------------------

SERVER = """
import socket, sys
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[2], 5001)); server.listen(1)
print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    conn, _peer = server.accept()
    want = int(conn.recv(16).decode().strip())
    got = 0
    while got < want:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        got += len(chunk)
    conn.sendall(b"k"); conn.close()
"""

CLIENT = """
import socket, sys, time
size = int(sys.argv[1])
for _ in range(50):
    try:
        conn = socket.create_connection((sys.argv[2], 5001), timeout=1); break
    except OSError:
        time.sleep(0.05)
conn.settimeout(60)
conn.sendall(b"%-16d" % size)
start = time.monotonic()
block = b"x" * 65536
sent = 0
while sent < size:
    sent += conn.send(block[:size - sent])
conn.recv(1)
print(size * 8 / (time.monotonic() - start))
"""


def transfer_rates(sandbox, sizes, source="a", target="b", address="10.0.0.2"):
    """Bits per second of TCP transfers of ``sizes`` bytes from ``source`` to ``address`` in ``target``, in turn."""
    script = ("ip netns exec %(target)s %(py)s -c '%(server)s' %(n)d %(address)s > /dev/null & "
              "for size in %(sizes)s; do ip netns exec %(source)s %(py)s -c '%(client)s' $size %(address)s; done; wait"
              % dict(py=sys.executable, server=SERVER, client=CLIENT, n=len(sizes), sizes=" ".join(map(str, sizes)),
                     source=source, target=target, address=address))
    out = sandbox.run(["sh", "-ec", script], timeout=120).stdout
    return [float(line) for line in out.split()]


def test_rate_measured_on_the_link(lab, record_property):
    """2mbit lands within 20 % of 2 Mbit/s, unshaped is 20 times faster, a new rate is measurable, absent restores."""
    args = {"netns": "a", "interface": "a0"}
    (unshaped,) = transfer_rates(lab, [20000000])
    assert lab.module(SHAPING, dict(args, rate="2mbit"))["changed"] is True
    # 500 kB: two seconds at 2 Mbit/s.
    (shaped,) = transfer_rates(lab, [500000])
    changed = lab.module(SHAPING, dict(args, rate="4mbit"))
    assert changed["changed"] is True and changed["actions"] == ["shape 'a0' in a: 4mbit (tbf 4e56:)"]
    (faster,) = transfer_rates(lab, [1000000])
    assert lab.module(SHAPING, dict(args, state="absent"))["changed"] is True
    (restored,) = transfer_rates(lab, [20000000])
    record_property("rates_bit_per_s", dict(unshaped=unshaped, shaped_2mbit=shaped, shaped_4mbit=faster,
                                            restored=restored))
    print("unshaped %.0f, 2mbit %.0f, 4mbit %.0f, restored %.0f bit/s" % (unshaped, shaped, faster, restored))
    assert 1.6e6 <= shaped <= 2.4e6, shaped
    assert 3.2e6 <= faster <= 4.8e6, faster
    assert unshaped >= 20 * shaped, (unshaped, shaped)
    assert restored >= 20 * shaped, (restored, shaped)


# -- a lab: topology's section, lab_info's reading, teardown --------------------------------------------------

TOPOLOGY_LAB = {
    "name": "slow",
    "namespaces": [{"name": "a"}, {"name": "b"}],
    "veths": [{"name": "a0", "netns": "a", "addresses": ["10.0.0.1/24"], "peer": "b0", "peer_netns": "b",
               "peer_addresses": ["10.0.0.2/24"]}],
    "shaping": [{"netns": "a", "interface": "a0", "rate": "2mbit"},
                {"netns": "b", "interface": "b0", "rate": "500kbit", "burst": "32k", "limit": 40}],
}


def test_topology_section_lab_info_round_trip_and_teardown(sandbox, tmp_path):
    from sandbox import Sandbox

    empty = sandbox.snapshot()
    steps = sandbox.four_steps("netvirt.linux.topology", TOPOLOGY_LAB)
    assert root_qdisc(sandbox, "a", "a0")["options"]["rate"] == 250000
    assert root_qdisc(sandbox, "b", "b0")["options"]["rate"] == 62500
    built = steps["after"]
    info = sandbox.module("netvirt.linux.lab_info", {})
    # A veth's ends' shaping is written into its entry, as `topology` takes it (shaping, peer_shaping).
    (veth,) = info["topology"]["veths"]
    assert (veth["shaping"], veth["peer_shaping"]) == ({"rate": "2mbit"}, {"rate": "500kbit", "burst": "32768b",
                                                                           "limit": 40})
    assert info["topology"].get("shaping") in (None, [])
    assert "2mbit" in info["diagram"] and "500kbit" in info["diagram"]
    box = Sandbox(tmp_path / "rebuilt")
    try:
        description = dict(info["topology"], name="adopted")
        assert box.module("netvirt.linux.topology", description)["changed"] is True
        assert box.module("netvirt.linux.topology", description)["changed"] is False
        rebuilt = box.snapshot()
    finally:
        box.close()
    assert rebuilt["netns"] == built["netns"], "the rebuilt lab's shaping differs"
    gone = sandbox.module("netvirt.linux.topology", {"name": "slow", "state": "absent"})
    assert gone["changed"] is True
    assert sandbox.snapshot() == empty, "the shaping went with the lab's interfaces"


def readme_seed002_slow():
    """The README's seed 002 variant (section "Realistic links"), as its one task's arguments."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Realistic links", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    return yaml.safe_load(block)[0]["netvirt.linux.topology"]


def test_readme_seed002_variant_one_member_on_a_1mbit_link(sandbox):
    """net0's link is 1 Mbit/s both ways: 125 kB takes about a second; unshaped, net1's own link is 20 times faster."""
    lab = readme_seed002_slow()
    steps = sandbox.four_steps("netvirt.linux.topology", lab)
    assert steps["apply"]["summary"]["kinds"]["shaping"]["created"] == 2
    assert sandbox.ping("net0", "10.0.1.2")
    (slow,) = transfer_rates(sandbox, [125000], source="net0", target="net1", address="10.0.1.2")
    (back,) = transfer_rates(sandbox, [125000], source="net1", target="net0", address="10.0.1.1")
    print("seed002 slow: net0->net1 %.0f, net1->net0 %.0f bit/s" % (slow, back))
    assert 0.8e6 <= slow <= 1.2e6, slow
    assert 0.8e6 <= back <= 1.2e6, back
    # The same link unshaped: the module takes the lab's shaping off (absent gives the kernel's default back).
    sandbox.module("netvirt.linux.shaping", {"interface": "net0-bridge", "netns": "net0", "state": "absent"})
    sandbox.module("netvirt.linux.shaping", {"interface": "bridge-net0", "netns": "bridge", "state": "absent"})
    (fast,) = transfer_rates(sandbox, [20000000], source="net0", target="net1", address="10.0.1.2")
    print("seed002 unshaped: net0->net1 %.0f bit/s" % fast)
    assert fast >= 20 * slow, (fast, slow)


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_lab_needing_netem_is_not_half_built(sandbox, check_mode):
    """The netem probe runs while the lab is planned: nothing of the lab is made, its namespaces included."""
    if has_netem(sandbox):
        pytest.skip("this kernel has netem: the refusal for a kernel without it is not exercised")
    lab = dict(TOPOLOGY_LAB, shaping=[{"netns": "a", "interface": "a0", "rate": "2mbit", "delay": "20ms"}])
    sandbox.refused("netvirt.linux.topology", lab, "delay needs the kernel's netem qdisc, which this kernel lacks "
                    "(CONFIG_NET_SCH_NETEM", check_mode=check_mode)
    assert not sandbox.namespaces()


def test_veth_shaping_both_ends_in_one_task_four_steps(lab):
    """A link shaped both ways is one veth task (shaping, peer_shaping); the pair's view shows each end's shaping."""
    lab.sh("ip -n a link del a0")
    args = {"name": "a0", "netns": "a", "peer": "b0", "peer_netns": "b", "addresses": ["10.0.0.1/24"],
            "peer_addresses": ["10.0.0.2/24"], "shaping": {"rate": "2mbit"}, "peer_shaping": {"rate": "4mbit"}}
    steps = lab.four_steps("netvirt.linux.veth", args)
    assert "shape 'a0' in a: 2mbit (tbf 4e56:)" in steps["apply"]["actions"]
    assert "shape 'b0' in b: 4mbit (tbf 4e56:)" in steps["apply"]["actions"]
    assert root_qdisc(lab, "a", "a0")["options"]["rate"] == 250000
    assert root_qdisc(lab, "b", "b0")["options"]["rate"] == 500000
    diff = steps["check"]["diff"][0]
    assert "shaping" not in diff["before"] and "peer_shaping" not in diff["before"]
    assert (diff["after"]["shaping"], diff["after"]["peer_shaping"]) == ({"rate": "2mbit"}, {"rate": "4mbit"})
    assert (steps["apply"]["veth"]["shaping"], steps["apply"]["veth"]["peer_shaping"]) == (
        {"rate": "2mbit"}, {"rate": "4mbit"})
    changed = lab.module("netvirt.linux.veth", dict(args, peer_shaping={"rate": "1mbit"}), diff=True)
    assert changed["changed"] is True and changed["actions"] == ["shape 'b0' in b: 1mbit (tbf 4e56:)"]
    assert changed["diff"][0]["before"]["peer_shaping"] == {"rate": "4mbit"}
    assert changed["veth"]["peer_shaping"] == {"rate": "1mbit"} and changed["veth"]["shaping"] == {"rate": "2mbit"}
    # Without the options the task leaves the qdiscs alone, and its view still shows them as read.
    plain = {key: value for key, value in args.items() if "shaping" not in key}
    unchanged = lab.module("netvirt.linux.veth", plain)
    assert unchanged["changed"] is False and unchanged["veth"]["peer_shaping"] == {"rate": "1mbit"}
    lab.refused("netvirt.linux.veth", dict(args, peer_shaping={"rate": "fast"}), "peer_shaping: rate 'fast' is malformed")


def test_topology_veths_take_shaping_and_peer_shaping(sandbox):
    lab = dict(TOPOLOGY_LAB, shaping=[])
    lab["veths"] = [dict(TOPOLOGY_LAB["veths"][0], shaping={"rate": "10mbit"}, peer_shaping={"rate": "10mbit"})]
    steps = sandbox.four_steps("netvirt.linux.topology", lab)
    assert steps["apply"]["summary"]["kinds"]["shaping"]["created"] == 2
    assert root_qdisc(sandbox, "a", "a0")["options"]["rate"] == root_qdisc(sandbox, "b", "b0")["options"]["rate"] == 1250000
    (veth,) = [obj["after"] for obj in steps["apply"]["objects"] if obj["key"][0] == "veth"]
    assert (veth["shaping"], veth["peer_shaping"]) == ({"rate": "10mbit"}, {"rate": "10mbit"})


def test_topology_veth_view_shows_the_shaping_section_of_its_ends(sandbox):
    """The veth's object view shows each end's shaping, made by the lab's shaping section too (planned after it)."""
    steps = sandbox.four_steps("netvirt.linux.topology", TOPOLOGY_LAB)
    (veth,) = [obj for obj in steps["check"]["objects"] if obj["key"][0] == "veth"]
    assert (veth["after"]["shaping"], veth["after"]["peer_shaping"]) == (
        {"rate": "2mbit"}, {"rate": "500kbit", "burst": "32768b", "limit": 40})
    again = sandbox.module("netvirt.linux.topology", TOPOLOGY_LAB)
    (veth,) = [obj for obj in again["objects"] if obj["key"][0] == "veth"]
    assert veth["after"]["shaping"] == {"rate": "2mbit"} and not veth["changed"]


# -- a refusal halfway through a run is undone --------------------------------------------------------------


def test_refused_at_every_step_of_a_shaped_lab_is_undone(sandbox):
    """The tests' fault injector refuses each step in turn: a new lab leaves nothing, a changed shaping its old qdisc."""
    from undo_steps import IN_PROCESS, assert_every_step_undone, run_faults

    report = run_faults(sandbox, IN_PROCESS, TOPOLOGY_LAB, "fail")
    assert_every_step_undone(report, "fault injector")
    assert any(step["action"].startswith("shape 'b0'") for step in report["steps"])
    sandbox.module("netvirt.linux.topology", TOPOLOGY_LAB)
    changed = dict(TOPOLOGY_LAB, shaping=[{"netns": "a", "interface": "a0", "rate": "10mbit"},
                                          {"netns": "b", "interface": "b0", "rate": "1mbit", "delay": None}])
    report = run_faults(sandbox, IN_PROCESS, changed, "fail")
    assert_every_step_undone(report, "fault injector")
    assert report["preview"]["actions"] == ["shape 'a0' in a: 10mbit (tbf 4e56:)", "shape 'b0' in b: 1mbit (tbf 4e56:)"]


# -- prune: a shaping dropped from the lab's description is taken off, its interface kept ---------------------

PRUNED_LAB = dict(TOPOLOGY_LAB, veths=TOPOLOGY_LAB["veths"] + [
    {"name": "c0", "netns": "a", "peer": "c1", "peer_netns": "", "shaping": {"rate": "10mbit"},
     "peer_shaping": {"rate": "4mbit"}},
    {"name": "e0", "netns": "a", "peer": "e1", "peer_netns": "b"},
])


def test_prune_takes_off_a_dropped_shaping_and_leaves_foreign_qdiscs(sandbox):
    """Dropping b0's shaping entry and c1's peer_shaping deletes the module's qdiscs on them (the lab's interfaces
    stay); someone's htb on the lab's e0, and the module's qdisc on a device the lab does not own, are not touched."""
    sandbox.module("netvirt.linux.topology", PRUNED_LAB)
    sandbox.sh("ip netns exec a tc qdisc add dev e0 root handle 1: htb; ip link add x0 type veth peer name x1")
    sandbox.module(SHAPING, {"interface": "x0", "rate": "3mbit"})
    dropped = dict(PRUNED_LAB, shaping=TOPOLOGY_LAB["shaping"][:1],
                   veths=[PRUNED_LAB["veths"][0], dict(PRUNED_LAB["veths"][1], peer_shaping=None), PRUNED_LAB["veths"][2]])
    steps = sandbox.four_steps("netvirt.linux.topology", dropped)
    assert steps["check"]["actions"] == ["delete shaping of 'c1' in host", "delete shaping of 'b0' in b"]
    removed = {tuple(obj["key"]): obj for obj in steps["apply"]["objects"] if obj["key"][0] == "shaping"
               and obj["after"]["state"] == "absent"}
    assert set(removed) == {("shaping", "b", "b0"), ("shaping", None, "c1")}
    diffs = {d["before_header"]: d for d in steps["check"]["diff"]}
    assert diffs["shaping b0 in b"]["before"]["rate"] == "500kbit" and diffs["shaping b0 in b"]["after"]["state"] == "absent"
    assert steps["apply"]["summary"]["kinds"]["shaping"]["removed"] == 2
    assert root_qdisc(sandbox, "b", "b0") is None and root_qdisc_host(sandbox, "c1") is None, "defaults are back"
    assert root_qdisc(sandbox, "a", "a0")["options"]["rate"] == 250000
    assert root_qdisc(sandbox, "a", "c0")["options"]["rate"] == 1250000
    assert root_qdisc(sandbox, "a", "e0")["handle"] == "1:", "someone's qdisc on the lab's interface stays"
    assert root_qdisc_host(sandbox, "x0")["options"]["rate"] == 375000, "the module's qdisc on a stranger stays"
    assert {"b0", "c1"} <= set(sandbox.links("b")) | set(sandbox.links())
    # lab_info's description of what is left rebuilds it: fed back to the lab, it changes nothing.
    sandbox.sh("ip netns exec a tc qdisc del dev e0 root; ip link del x0")
    info = sandbox.module("netvirt.linux.lab_info", {})
    ends = {}
    for veth in info["topology"]["veths"]:
        ends.update({veth["name"]: veth.get("shaping"), veth["peer"]: veth.get("peer_shaping")})
    assert ends == {"a0": {"rate": "2mbit"}, "b0": None, "c0": {"rate": "10mbit"}, "c1": None, "e0": None, "e1": None}
    assert sandbox.module("netvirt.linux.topology", dict(info["topology"], name="slow"))["changed"] is False
    # The lab's teardown takes the rest of its shaping with its interfaces, and leaves a stranger's alone.
    sandbox.sh("ip link add y0 type veth peer name y1")
    sandbox.module(SHAPING, {"interface": "y0", "rate": "3mbit"})
    gone = sandbox.four_steps("netvirt.linux.topology", {"name": "slow", "state": "absent"})
    assert not sandbox.namespaces() and "c1" not in sandbox.links()
    assert root_qdisc_host(sandbox, "y0")["handle"] == "4e56:"
    assert gone["apply"]["changed"] is True


def root_qdisc_host(sandbox, dev):
    """The host device's root qdisc, as root_qdisc reads one in a namespace."""
    out = sandbox.run(["tc", "-j", "qdisc", "show", "dev", dev]).stdout
    roots = [q for q in (json.loads(out) if out.strip() else []) if q.get("root")]
    return roots[0] if roots and roots[0]["handle"] != "0:" else None
