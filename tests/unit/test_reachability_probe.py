"""Unit tests of the reachability module's pure parts."""

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._reachability import (
    Pair,
    Probe,
    expand,
    failures_message,
    parse_ping,
    ping_argv,
)

OK = """PING 10.0.1.2 (10.0.1.2) 56(84) bytes of data.

--- 10.0.1.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 408ms
rtt min/avg/max/mdev = 0.029/0.039/0.059/0.013 ms
"""
LOST = """--- 10.0.1.9 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2050ms
"""
PARTIAL = """--- 10.0.1.2 ping statistics ---
4 packets transmitted, 3 received, 25% packet loss, time 608ms
rtt min/avg/max/mdev = 0.030/0.040/0.050/0.010 ms
"""


def test_parse_ping():
    assert parse_ping(OK) == {"sent": 3, "received": 3, "loss": 0.0, "rtt_min_ms": 0.029, "rtt_avg_ms": 0.039,
                              "rtt_max_ms": 0.059}
    assert parse_ping(LOST) == {"sent": 3, "received": 0, "loss": 100.0}
    assert parse_ping(PARTIAL)["loss"] == 25.0
    assert parse_ping("ping: connect: Network is unreachable") == {}


def test_expand_crosses_sources_and_targets():
    pairs = expand([{"from": ["a", "b"], "to": ["10.0.1.1/24", "fd00::1"]},
                    {"to": "10.0.1.9", "expect": "unreachable"}])
    assert pairs == [Pair("a", "10.0.1.1"), Pair("a", "fd00::1"), Pair("b", "10.0.1.1"), Pair("b", "fd00::1"),
                     Pair(None, "10.0.1.9", "unreachable")]


@pytest.mark.parametrize("checks, words", [
    ([{"from": "a", "to": "banana"}], "'banana' is not an IP address"),
    ([{"from": "a/b", "to": "10.0.0.1"}], "not a valid namespace name"),
    ([{"from": "a", "to": []}], "must name at least one address"),
    ([], "checks is empty"),
    ([{"from": "a", "to": "10.0.0.1", "expect": "maybe"}], "reachable or unreachable"),
])
def test_expand_refuses(checks, words):
    with pytest.raises(ValidationError, match=words):
        expand(checks)


def test_judgement_and_message():
    good = Probe("a", "10.0.1.2", "reachable", sent=3, received=1)
    dropped = Probe("b", "10.0.1.2", "unreachable", sent=3, received=0)
    broken = Probe(None, "10.0.1.9", "reachable", sent=3, received=0, error="connect: Network is unreachable")
    assert good.ok and dropped.ok and not broken.ok
    assert failures_message([good, dropped, broken]) == (
        "1 of 3 reachability checks failed: host -> 10.0.1.9: expected reachable, unreachable (0/3 replies); "
        "connect: Network is unreachable")
    assert good.as_dict()["from"] == "a" and good.as_dict()["reachable"] is True


def test_ping_argv():
    assert ping_argv(Pair("ns1", "10.0.0.1"), 3, 0.2, 1.0)[:5] == ["ip", "netns", "exec", "ns1", "ping"]
    assert ping_argv(Pair(None, "10.0.0.1"), 3, 0.2, 1.0)[0] == "ping"
