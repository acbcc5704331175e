"""netvirt.linux.reachability in the sandbox: the matrix, expectations, and failures."""

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


def test_missing_source_namespace(sandbox):
    sandbox.refused(REACH, {"checks": [{"from": "ghost", "to": "10.0.0.1"}]},
                    "source namespace(s) 'ghost' do not exist")
