"""netvirt.linux.reachability in the sandbox: the matrix, expectations, and failures."""

import pytest

REACH = "netvirt.linux.reachability"

LAB = """
ip netns add a; ip netns add b
ip -n a link add va type veth peer name vb netns b
ip -n a addr add 10.0.1.1/24 dev va; ip -n a link set va up; ip -n a link set lo up
ip -n b addr add 10.0.1.2/24 dev vb; ip -n b link set vb up
"""


def test_matrix_with_both_expectations(sandbox):
    sandbox.sh(LAB)
    before = sandbox.snapshot()
    result = sandbox.module(REACH, {"checks": [
        {"from": ["a"], "to": ["10.0.1.2/24", "127.0.0.1"]},
        {"from": "b", "to": "10.0.1.99", "expect": "unreachable"},
    ], "count": 2}, check_mode=True)
    assert result["changed"] is False
    assert result["summary"] == {"pairs": 3, "passed": 3, "failed": 0}
    first = result["matrix"][0]
    assert (first["from"], first["to"], first["reachable"], first["ok"]) == ("a", "10.0.1.2", True, True)
    assert first["received"] >= 1 and first["rtt_avg_ms"] is not None
    assert result["matrix"][2]["received"] == 0 and result["matrix"][2]["ok"] is True
    assert result["matrix_text"].split("\n") == [
        "from \\ to  10.0.1.2  127.0.0.1  10.0.1.99",
        "a          ok        ok         .",
        "b          .         .          --",
        "ok reachable, -- unreachable, ! not as expected, ERR the probe did not run, . not probed"]
    assert sandbox.snapshot() == before


def test_broken_expectations_fail_naming_each_pair(sandbox):
    sandbox.sh(LAB)
    result = sandbox.module(REACH, {"checks": [
        {"from": "a", "to": "10.0.1.2", "expect": "unreachable"},
        {"from": "b", "to": "10.0.1.77"},
        {"to": "10.0.1.1"},
    ], "count": 1, "timeout": 0.5}, expect_failure=True)
    assert result["msg"].startswith("3 of 3 reachability checks failed")
    assert "a -> 10.0.1.2: expected unreachable, reachable" in result["msg"]
    assert "b -> 10.0.1.77: expected reachable, unreachable" in result["msg"]
    assert "host -> 10.0.1.1: expected reachable" in result["msg"]
    assert result["summary"]["failed"] == 3 and len(result["matrix"]) == 3
    # The table marks every pair against its expectation.
    assert result["matrix_text"].split("\n")[1:4] == [
        "a          ok!       .          .", "b          .         --!        .", "host       .         .          --!"]


def test_missing_source_namespace(sandbox):
    sandbox.refused(REACH, {"checks": [{"from": "ghost", "to": "10.0.0.1"}]},
                    "source namespace(s) 'ghost' do not exist")


# -- issue 11 item 5/7: a probe that did not run is an error, whatever the expectation --------------------

NO_NET_RAW = ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw"]


def test_huge_timeout_and_count_refused_before_anything_runs(sandbox):
    sandbox.sh(LAB)
    result = sandbox.refused(REACH, {"checks": [{"from": "a", "to": "10.0.1.2"}], "timeout": 1e12},
                             "timeout 1000000000000.0 is out of range; use 0.1 to 60 seconds")
    assert "matrix" not in result  # refused before probing: nothing to report
    sandbox.refused(REACH, {"checks": [{"from": "a", "to": "10.0.1.2"}], "count": 1000000},
                    "count 1000000 is out of range; use 1 to 100")
    sandbox.refused(REACH, {"checks": [{"from": "a", "to": "10.0.1.2"}], "timeout": "nan"},
                    "timeout nan is out of range")
    sandbox.refused(REACH, {"checks": [{"from": "a", "to": "10.0.1.2"}], "interval": -1},
                    "interval -1.0 is out of range; use 0.01 to 10 seconds")
    # The limits themselves are accepted, and probe.
    result = sandbox.module(REACH, {"checks": [{"from": "a", "to": "10.0.1.2"}], "count": 1, "interval": 0.01,
                                    "timeout": 0.1 * 10})
    assert result["matrix"][0]["reachable"] is True


def test_stale_source_namespace_is_an_error_whatever_the_expectation(sandbox):
    sandbox.sh(LAB + "touch /run/netns/ghost")
    # snapshot.py cannot read a stale entry, so compare what can be read: devices and their IPv4 addresses
    # (IPv6 link-local addresses and oper states settle on their own while the test runs).

    def state():
        return sandbox.namespaces(), {ns: {name: sorted(a["local"] for a in link.get("addr_info", [])
                                                        if a["family"] == "inet")
                                           for name, link in sandbox.links(ns).items()} for ns in (None, "a", "b")}

    before = state()
    for check_mode in (False, True):
        result = sandbox.module(REACH, {"checks": [
            {"from": "a", "to": "10.0.1.2"},
            {"from": "ghost", "to": "10.0.1.2", "expect": "unreachable"},
        ], "count": 1}, check_mode=check_mode, expect_failure=True)
        assert result["msg"] == "source namespace 'ghost' is not a network namespace (a stale entry in /run/netns?)"
        assert "matrix" not in result
    assert state() == before and before[0] == {"a", "b", "ghost"}


def test_ping_unable_to_start_fails_an_unreachable_expectation(sandbox):
    """ping without CAP_NET_RAW cannot even open its socket: nothing is sent, so nothing is proved."""
    sandbox.sh(LAB)
    result = sandbox.module(REACH, {"checks": [
        {"from": "b", "to": "10.0.1.99", "expect": "unreachable"},
        {"to": "127.0.0.1", "expect": "unreachable"},
    ], "count": 1}, expect_failure=True, wrap=NO_NET_RAW)
    assert result["msg"].startswith("2 of 2 reachability checks failed"), result["msg"]
    # `ip netns exec` reports the failed exec and exits 1 without ping's summary.
    assert 'b -> 10.0.1.99: expected unreachable, but the probe failed: ping printed no summary (exit status 1): ' \
        'exec of "ping" failed: Operation not permitted' in result["msg"], result["msg"]
    assert "host -> 127.0.0.1: expected unreachable, but the probe failed: ping could not start: Operation not " \
        "permitted" in result["msg"], result["msg"]
    assert result["summary"] == {"pairs": 2, "passed": 0, "failed": 2}
    for pair in result["matrix"]:
        assert pair["ok"] is False and pair["reachable"] is False and pair["error"] and pair["sent"] == 0


def test_link_local_target_without_a_working_zone_is_an_error(sandbox):
    sandbox.sh(LAB)
    result = sandbox.module(REACH, {"checks": [
        {"from": "a", "to": ["fe80::2%nope", "fe80::2%va"], "expect": "unreachable"},
    ], "count": 1}, expect_failure=True)
    assert result["msg"] == (
        "1 of 2 reachability checks failed: a -> fe80::2%nope: expected unreachable, but the probe failed: ping did "
        "not probe (exit status 2): ping: fe80::2%nope: Name or service not known")
    assert result["matrix"][1]["ok"] is True and result["matrix"][1]["sent"] == 1


def test_ipv6_link_local_with_zone_is_reachable(sandbox):
    sandbox.sh(LAB + """
ip -n a addr add fe80::1/64 dev va nodad; ip -n b addr add fe80::2/64 dev vb nodad
ip -n a addr add fd00::1/64 dev va nodad; ip -n b addr add fd00::2/64 dev vb nodad
""")
    result = sandbox.module(REACH, {"checks": [
        {"from": "a", "to": ["fe80::2%va", "fe80::0002%va/64", "fd00::2/64"]},
        {"from": "b", "to": "fe80::1%vb"},
        {"from": "a", "to": "fe80::99%va", "expect": "unreachable"},
    ], "count": 2, "timeout": 0.5})
    assert [(p["from"], p["to"], p["reachable"], p["ok"]) for p in result["matrix"]] == [
        ("a", "fe80::2%va", True, True), ("a", "fe80::2%va", True, True), ("a", "fd00::2", True, True),
        ("b", "fe80::1%vb", True, True), ("a", "fe80::99%va", False, True)]
    assert result["matrix"][0]["received"] >= 1 and result["matrix"][4]["sent"] == 2


def test_no_route_is_unreachable_not_an_error(sandbox):
    """Two isolated labs prove they do not reach each other: the kernel has no route, nothing can be sent."""
    sandbox.sh(LAB + "ip -n a route add unreachable 10.9.0.0/16")
    result = sandbox.module(REACH, {"checks": [
        {"from": "a", "to": ["10.8.0.1", "10.9.0.1"], "expect": "unreachable"},
    ], "count": 1})
    assert [(p["to"], p["reachable"], p["no_route"], p["error"], p["ok"]) for p in result["matrix"]] == [
        ("10.8.0.1", False, True, None, True), ("10.9.0.1", False, True, None, True)]
    result = sandbox.module(REACH, {"checks": [{"from": "a", "to": "10.8.0.1"}], "count": 1},
                            expect_failure=True)
    assert result["msg"] == ("1 of 1 reachability checks failed: a -> 10.8.0.1: expected reachable, "
                             "unreachable (no route)")


def test_bad_targets_and_sources_refused(sandbox):
    sandbox.sh(LAB)
    for target, words in [("10.0.1.2; reboot", "'10.0.1.2; reboot' is not an IP address"),
                          ("-f", "'-f' is not an IP address"),
                          ("fe80::1%a/../x", "is not an IP address"),
                          ("fe80::1%x y", "has a zone 'x y' that is not an interface name"),
                          ("0.0.0.0", "'0.0.0.0' is not the address of a host to ping")]:
        sandbox.refused(REACH, {"checks": [{"from": "a", "to": target}]}, words)
    for source in ["a\nb", "-all", "../a"]:
        sandbox.refused(REACH, {"checks": [{"from": source, "to": "10.0.1.2"}]}, "is not a valid namespace name")


# -- issue 10 item 3: in check mode, sources an earlier task would create skip the probes -----------------

def _check_mode_play(reach_args):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "create the namespaces", "netvirt.linux.netns": {"name": "{{ item }}"}, "loop": ["n0", "n1"]},
        {"name": "prove", REACH: reach_args, "register": "proof"},
        {"name": "consume the proof", "ansible.builtin.debug": {
            "msg": "{{ proof.matrix | length }} pairs, skipped={{ proof is skipped }}, {{ proof.summary }}, "
                   "changed={{ proof.changed }}"}},
    ]}]


def test_check_mode_skips_sources_that_do_not_exist_yet(sandbox):
    sandbox.sh("ip netns add other")
    before = sandbox.snapshot()
    proc, records = sandbox.playbook(_check_mode_play({"checks": [
        {"from": ["n0", "other"], "to": "10.0.1.2"}, {"from": "n1", "to": "10.0.1.1", "expect": "unreachable"}]}),
        extra_args=["--check", "--diff"])
    by_task = {r["task"]: r for r in records}
    assert [r["status"] for r in records if r["task"] == "create the namespaces"] == ["ok"]
    prove = by_task["prove"]
    assert prove["status"] == "skipped", prove
    assert prove["result"]["changed"] is False  # (the recorder drops the `skipped` key; the debug shows it)
    assert prove["result"]["msg"] == ("check mode: not probed, source namespace(s) 'n0', 'n1' do not exist yet "
                                      "(an earlier task would create them)")
    assert prove["result"]["missing_sources"] == ["n0", "n1"]
    assert prove["result"]["matrix"] == [] and prove["result"]["summary"]["pairs"] == 3
    assert prove["result"]["matrix_text"] == ""
    assert by_task["consume the proof"]["status"] == "ok"
    assert by_task["consume the proof"]["result"]["msg"] == (
        "0 pairs, skipped=True, {'pairs': 3, 'passed': 0, 'failed': 0}, changed=False")
    assert "failed=0" in proc.stdout and "skipped=1" in proc.stdout, proc.stdout
    assert sandbox.snapshot() == before


def test_outside_check_mode_a_missing_source_is_an_error(sandbox):
    # In-process (the module's main() as Ansible calls it); the check-mode play above is ansible-playbook's.
    failed = sandbox.refused(REACH, {"checks": [{"from": ["n0", "n1"], "to": "10.0.1.2"}]},
                             "source namespace(s) 'n0', 'n1' do not exist", via="inprocess")
    assert failed["msg"] == "source namespace(s) 'n0', 'n1' do not exist"
    # A stale entry is not something an earlier task would create: an error even in check mode.
    sandbox.sh("touch /run/netns/ghost")
    failed = sandbox.refused(REACH, {"checks": [{"from": ["n0", "ghost"], "to": "10.0.1.2"}]}, "stale entry",
                             check_mode=True, via="inprocess")
    assert failed["msg"] == ("source namespace(s) 'n0' do not exist; source namespace 'ghost' is not "
                             "a network namespace (a stale entry in /run/netns?)")


# -- the roles' proofs in --check (issue 10 item 3): never a failure for a lab that is not built yet ---------

ROLE_PREVIEWS = {
    # role, its variables, what exists before (a lab in namespaces the role does not own, or nothing)
    "bridge_lab, nothing built": ("bridge_lab", {"bridge_lab_bridge_netns": None, "bridge_lab_bridge": "hbr"}, ""),
    "bridge_lab, foreign namespaces": (
        "bridge_lab", {"bridge_lab_manage_netns": False, "bridge_lab_bridge_netns": None, "bridge_lab_bridge": "hbr"},
        "ip netns add net0; ip netns add net1"),
    "veth_lab, foreign namespaces": (
        "veth_lab", {"veth_lab_manage_netns": False, "veth_lab_left": {"name": "l0", "netns": "nl",
                                                                       "addresses": ["10.2.0.1/24"]},
                     "veth_lab_right": {"name": "r0", "netns": "nr", "addresses": ["10.2.0.2/24"]}},
        "ip netns add nl; ip netns add nr"),
    "router_lab, namespaces already there": (
        "router_lab", {}, "for ns in router client1 client2 upstream; do ip netns add $ns; done"),
}


@pytest.mark.parametrize("label", sorted(ROLE_PREVIEWS))
def test_role_proofs_in_check_mode(sandbox, label):
    role, variables, setup = ROLE_PREVIEWS[label]
    if setup:
        sandbox.sh(setup)
    before = sandbox.snapshot()
    play = [{"hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "netvirt.linux.%s" % role, "vars": variables}]}]
    proc, records = sandbox.playbook(play, extra_args=["--check", "--diff"], check=False)
    failed = [(r["task"], r["result"].get("msg")) for r in records if r["status"] == "failed"]
    assert proc.returncode == 0 and not failed, "%s\n%s" % (failed, proc.stdout[-3000:])
    proofs = [r for r in records if r["task"].split(" : ", 1)[-1].startswith("Prove")]
    assert [r["status"] for r in proofs] == ["skipped"], proofs
    shown = [r for r in records if r["task"].endswith("Show the reachability matrix, a row per source and a column per target")]
    assert [r["status"] for r in shown] == ["skipped"], shown  # nothing probed, nothing to show
    assert sandbox.snapshot() == before


def test_role_proof_runs_in_check_mode_once_the_lab_is_built(sandbox):
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "netvirt.linux.veth_lab", "vars": {
        "veth_lab_left": {"name": "l0", "netns": "nl", "addresses": ["10.2.0.1/24"]},
        "veth_lab_right": {"name": "r0", "netns": "nr", "addresses": ["10.2.0.2/24"]}}}]}]
    proc, records = sandbox.playbook(play)
    proof = [r for r in records if r["task"].endswith("Prove each end reaches the other")]
    assert [r["status"] for r in proof] == ["ok"] and proof[0]["result"]["summary"]["passed"] == 2
    # The role prints the module's table, one line per item.
    shown = [r for r in records if r["task"].endswith("Show the reachability matrix, a row per source and a column per target")]
    assert [r["status"] for r in shown] == ["ok"], shown
    assert shown[0]["result"]["msg"] == [
        "from \\ to  10.2.0.2  10.2.0.1", "nl         ok        .", "nr         .         ok",
        "ok reachable, -- unreachable, ! not as expected, ERR the probe did not run, . not probed"]
    proc, records = sandbox.playbook(play, extra_args=["--check", "--diff"])
    proof = [r for r in records if r["task"].endswith("Prove each end reaches the other")]
    assert [r["status"] for r in proof] == ["ok"], proof  # nothing would change: the lab is proved
    assert proof[0]["result"]["summary"] == {"pairs": 2, "passed": 2, "failed": 0}
    assert "changed=0" in proc.stdout and "failed=0" in proc.stdout


def test_ipv6_addresses_just_added_are_probed_once_their_detection_ends(sandbox):
    # Duplicate address detection keeps a new IPv6 address tentative for a second or two: a check right after
    # the build (the lab role's own proof) waits for it rather than failing the pair.
    sandbox.sh("""
ip netns add a; ip netns add b
ip -n a link add va type veth peer name vb netns b
ip -n a link set va up; ip -n b link set vb up
ip -n a addr add fd00:6::1/64 dev va; ip -n b addr add fd00:6::2/64 dev vb
""")
    assert "tentative" in sandbox.sh("ip -n b -6 -o addr show tentative").stdout
    result = sandbox.module(REACH, {"checks": [{"from": "a", "to": "fd00:6::2"}, {"from": "b", "to": "fd00:6::1"}],
                                    "count": 1})
    assert result["summary"] == {"pairs": 2, "passed": 2, "failed": 0}, result["matrix_text"]
    assert sandbox.sh("ip -n a -6 -o addr show tentative; ip -n b -6 -o addr show tentative").stdout == ""
