"""Unit tests of the reachability module's pure parts."""

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._reachability import (
    Pair,
    Probe,
    deadline,
    expand,
    failures_message,
    judge,
    normalize_target,
    parse_ping,
    ping_argv,
    validate_timing,
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
    lost = Probe(None, "10.0.1.9", "reachable", sent=3, received=0)
    broken = Probe(None, "10.0.1.8", "reachable", error="ping did not probe (exit status 2): connect: Network is "
                                                        "unreachable")
    assert good.ok and dropped.ok and not lost.ok and not broken.ok
    assert failures_message([good, dropped, lost, broken]) == (
        "2 of 4 reachability checks failed: host -> 10.0.1.9: expected reachable, unreachable (0/3 replies); "
        "host -> 10.0.1.8: expected reachable, but the probe failed: ping did not probe (exit status 2): "
        "connect: Network is unreachable")
    assert good.as_dict()["from"] == "a" and good.as_dict()["reachable"] is True


def test_a_probe_that_did_not_run_fails_whatever_the_expectation():
    for expect in ("reachable", "unreachable"):
        probe = Probe("a", "10.0.1.2", expect, error="ping could not start: No such file or directory")
        assert probe.ok is False and probe.reachable is False
        assert probe.as_dict()["ok"] is False
        assert "but the probe failed: ping could not start" in failures_message([probe])


PAIR = Pair("a", "10.0.1.2", "unreachable")


@pytest.mark.parametrize("returncode, out, err, words", [
    (2, "", "ping: bad linger time: 1e12\n", "exit status 2): ping: bad linger time: 1e12"),
    (1, "", "ping: invalid argument: '0': out of range: 1 <= value <= 9223372036854775807\n",
     "ping printed no summary (exit status 1): ping: invalid argument"),
    (255, "", 'setting the network namespace "ghost" failed: Invalid argument\n',
     'exit status 255): setting the network namespace "ghost" failed'),
    (2, "", "ping: connect: Invalid argument\n", "exit status 2): ping: connect: Invalid argument"),
    (2, "", "ping: fe80::9%nope: Name or service not known\n", "exit status 2): ping: fe80::9%nope: Name or"),
    (2, "", "ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules\n",
     "exit status 2): ping: Do you want to ping broadcast?"),
    (1, "", "ping: connect: Network is unreachable\n", "ping printed no summary (exit status 1)"),
    (2, "", "ping: connect: Network is unreachable\nping: something else\n", "exit status 2): ping: something"),
    (0, "garbage\n", "", "ping printed no summary (exit status 0): garbage"),
    (1, "", "", "ping printed no summary (exit status 1): no output"),
    (-9, OK, "", "exit status -9)"),  # killed after printing a summary: still not a clean run
])
def test_judge_records_probes_that_did_not_run(returncode, out, err, words):
    probe = judge(PAIR, returncode, out, err)
    assert probe.error is not None and words in probe.error, probe.error
    assert probe.ok is False and probe.sent == 0 and probe.received == 0


@pytest.mark.parametrize("message", ["ping: connect: Network is unreachable", "ping: connect: No route to host"])
def test_no_route_is_an_outcome(message):
    probe = judge(PAIR, 2, "", message + "\n")
    assert (probe.error, probe.no_route, probe.reachable, probe.ok, probe.sent) == (None, True, False, True, 0)
    wanted = judge(Pair(None, "10.0.1.9"), 2, "", message + "\n")
    assert wanted.ok is False
    assert failures_message([wanted]) == ("1 of 1 reachability checks failed: host -> 10.0.1.9: expected reachable, "
                                          "unreachable (no route)")


def test_judge_outcomes():
    assert judge(PAIR, 1, LOST, "").ok is True
    assert judge(PAIR, 1, LOST, "").error is None
    reached = judge(PAIR, 0, OK, "")
    assert (reached.reachable, reached.ok, reached.received, reached.rtt_max_ms) == (True, False, 3, 0.059)
    assert judge(Pair("a", "10.0.1.2"), 0, PARTIAL, "").ok is True


@pytest.mark.parametrize("count, interval, timeout", [
    (1, 0.01, 0.1), (100, 10.0, 60.0), (3, 0.2, 1.0),
])
def test_timing_limits_accept(count, interval, timeout):
    validate_timing(count, interval, timeout)
    assert deadline(count, interval, timeout) <= 100 * 10 + 60 + 1


@pytest.mark.parametrize("count, interval, timeout, words", [
    (3, 0.2, 1e12, "timeout 1000000000000.0 is out of range; use 0.1 to 60 seconds"),
    (3, 0.2, float("nan"), "timeout nan is out of range"),
    (3, 0.2, float("inf"), "timeout inf is out of range"),
    (3, 0.2, -1.0, "timeout -1.0 is out of range"),
    (3, 0.2, 0.0, "timeout 0.0 is out of range"),
    (3, 0.2, 60.5, "timeout 60.5 is out of range"),
    (0, 0.2, 1.0, "count 0 is out of range; use 1 to 100"),
    (101, 0.2, 1.0, "count 101 is out of range"),
    (10 ** 12, 0.2, 1.0, "count 1000000000000 is out of range"),
    (-5, 0.2, 1.0, "count -5 is out of range"),
    (3, 0.0, 1.0, "interval 0.0 is out of range; use 0.01 to 10 seconds"),
    (3, float("nan"), 1.0, "interval nan is out of range"),
    (3, 1e9, 1.0, "interval 1000000000.0 is out of range"),
])
def test_timing_limits_refuse(count, interval, timeout, words):
    with pytest.raises(ValidationError, match=words.replace("(", r"\(").replace(".", r"\.")):
        validate_timing(count, interval, timeout)


@pytest.mark.parametrize("target, normal", [
    ("10.0.1.1", "10.0.1.1"),
    (" 10.0.1.1/24 ", "10.0.1.1"),
    ("fd00::0001/64", "fd00::1"),
    ("fe80::1%lo", "fe80::1%lo"),
    ("fe80::0001%eth0/64", "fe80::1%eth0"),
    ("fe80::1%2", "fe80::1%2"),
])
def test_normalize_target_keeps_zones(target, normal):
    assert normalize_target(target) == normal


@pytest.mark.parametrize("target, words", [
    ("10.0.0.1%lo", "only IPv6 addresses take a zone"),
    ("fe80::1%", "not an interface name"),
    ("fe80::1%a b", "not an interface name"),
    ("fe80::1%../../x", "not an interface name"),
    ("fe80::1%averyveryverylongname", "not an interface name"),
    ("fe80::1%lo\n", "is not an IP address"),
    ("10.0.0.1\n-c 1", "is not an IP address"),
    ("10.0.0.1; reboot", "is not an IP address"),
    ("$(reboot)", "is not an IP address"),
    ("-f", "is not an IP address"),
    ("example.com", "is not an IP address"),
    ("0.0.0.0", "not the address of a host"),
    ("::", "not the address of a host"),
    ("255.255.255.255", "not the address of a host"),
    (167772161, "is not an IP address"),
])
def test_normalize_target_refuses(target, words):
    with pytest.raises(ValidationError, match=words):
        normalize_target(target, 1)


@pytest.mark.parametrize("source", ["a\nb", "-all", "a\tb", "a\x85b"])
def test_expand_refuses_unsafe_sources(source):
    with pytest.raises(ValidationError, match="not a valid namespace name"):
        expand([{"from": source, "to": "10.0.0.1"}])


def test_ping_argv():
    assert ping_argv(Pair("ns1", "10.0.0.1"), 3, 0.2, 1.0)[:5] == ["ip", "netns", "exec", "ns1", "ping"]
    assert ping_argv(Pair(None, "10.0.0.1"), 3, 0.2, 1.0)[0] == "ping"
    assert ping_argv(Pair("ns1", "fe80::1%lo"), 3, 0.2, 1.0)[-1] == "fe80::1%lo"
    argv = ping_argv(Pair(None, "10.0.0.1"), 100, 10.0, 60.0)
    assert argv[argv.index("-c") + 1] == "100" and argv[argv.index("-W") + 1] == "60.0"
    assert "-w" not in argv  # with a deadline ping sends until `count` replies: more requests than asked for
    assert deadline(100, 10.0, 60.0) == 1061


def test_matrix_text_rows_are_sources_columns_are_targets():
    from ansible_collections.netvirt.linux.plugins.module_utils._reachability import matrix_text

    results = [
        Probe("a", "10.0.1.2", "reachable", sent=3, received=3),
        Probe("a", "127.0.0.1", "reachable", sent=3, received=3),
        Probe("blocked", "10.0.1.2", "unreachable", sent=3, received=0),
        Probe("blocked", "10.0.1.77", "reachable", sent=3, received=0),
        Probe(None, "10.0.1.2", "unreachable", sent=3, received=1),
        Probe(None, "fe80::1%eth0", "reachable", error="ping did not probe"),
    ]
    assert matrix_text(results).split("\n") == [
        "from \\ to  10.0.1.2  127.0.0.1  10.0.1.77  fe80::1%eth0",
        "a          ok        ok         .          .",
        "blocked    --        .          --!        .",
        "host       ok!       .          .          ERR!",
        "ok reachable, -- unreachable, ! not as expected, ERR the probe did not run, . not probed",
    ]
    assert matrix_text([]) == ""
