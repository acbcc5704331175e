# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability probes: which namespace reaches which address, as a matrix.

The parsing and judging here are pure; :func:`probe` runs the pings, many at
once, from inside each source namespace. Nothing here changes any state.

A probe that did not run (ping could not start, refused its arguments, exited
with a status other than 0 or 1, or printed no summary) is an error, never an
outcome: it fails the task whatever the pair expected, so that an
``expect: unreachable`` pair cannot pass because nothing was sent. The one
exit-2 case that is an outcome is the kernel's own routing verdict: no route
from the source to the target (ENETUNREACH, EHOSTUNREACH at connect), which is
how two isolated labs prove they do not reach each other.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import math
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NamespaceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, validate_netns_name
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import NETNS_RUN_DIR

EXPECTATIONS = ("reachable", "unreachable")
# Limits of the timing options, inclusive. iputils ping itself takes far larger values (a -W up to
# 2147483 s) but a probe that waits minutes per pair is a mistake, not a lab check.
COUNT_RANGE = (1, 100)
INTERVAL_RANGE = (0.01, 10.0)
TIMEOUT_RANGE = (0.1, 60.0)
# Ping exits 0 when a reply came back and 1 when none did; anything else means it did not probe.
PING_PROBED = (0, 1)
# A ping that outlives deadline() by this much is killed and recorded as an error.
WATCHDOG_GRACE = 10.0
IFNAMSIZ = 16
_NS_GET_NSTYPE = 0xB703  # ioctl on a namespace file: which kind of namespace it is
_CLONE_NEWNET = 0x40000000
_STATS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/")
# What iputils ping prints (LC_ALL=C) when the source's routing table has no way to the target.
_NO_ROUTE = ("ping: connect: Network is unreachable", "ping: connect: No route to host")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Pair:
    source: Optional[str]  # a namespace, or HOST
    target: str
    expect: str = "reachable"


@dataclass
class Probe:
    source: Optional[str]
    target: str
    expect: str
    sent: int = 0
    received: int = 0
    loss: float = 100.0
    rtt_min_ms: Optional[float] = None
    rtt_avg_ms: Optional[float] = None
    rtt_max_ms: Optional[float] = None
    error: Optional[str] = None
    no_route: bool = False

    @property
    def reachable(self) -> bool:
        return self.error is None and self.received > 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.reachable == (self.expect == "reachable")

    def as_dict(self) -> dict:
        result = asdict(self)
        result["from"] = result.pop("source")
        result["to"] = result.pop("target")
        result["reachable"] = self.reachable
        result["ok"] = self.ok
        return result


def _in_range(value, bounds: Tuple[float, float]) -> bool:
    # NaN compares false both ways, so it fails here as it should.
    return value is not None and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]


def validate_timing(count, interval, timeout) -> None:
    """Refuse counts and durations outside the documented limits, before anything runs."""
    problems = []
    if not _in_range(count, COUNT_RANGE):
        problems.append("count %r is out of range; use %d to %d" % ((count,) + COUNT_RANGE))
    if not _in_range(interval, INTERVAL_RANGE):
        problems.append("interval %r is out of range; use %g to %g seconds" % ((interval,) + INTERVAL_RANGE))
    if not _in_range(timeout, TIMEOUT_RANGE):
        problems.append("timeout %r is out of range; use %g to %g seconds" % ((timeout,) + TIMEOUT_RANGE))
    if problems:
        raise ValidationError("; ".join(problems))


def _as_list(value) -> list:
    if value is None:
        return [HOST]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def validate_source(source, number: int) -> Optional[str]:
    what = "check %d: from" % number
    if isinstance(source, str) and (_CONTROL.search(source) or source.startswith("-")):
        raise ValidationError("%s %r is not a valid namespace name (no control characters, no leading '-')"
                              % (what, source))
    return validate_netns_name(source, what)


def expand(checks: Iterable[dict]) -> List[Pair]:
    """Each check names sources and targets; every source is probed against every target."""
    pairs: List[Pair] = []
    for number, check in enumerate(checks, 1):
        expect = check.get("expect") or "reachable"
        if expect not in EXPECTATIONS:
            raise ValidationError("check %d: expect must be reachable or unreachable, not %r" % (number, expect))
        targets = _as_list(check.get("to"))
        if targets == [HOST] or not targets:
            raise ValidationError("check %d: 'to' must name at least one address" % number)
        for source in _as_list(check.get("from")):
            validate_source(source, number)
            for target in targets:
                pairs.append(Pair(source, normalize_target(target, number), expect))
    if not pairs:
        raise ValidationError("checks is empty: name at least one source and target")
    return pairs


def _valid_zone(zone: str) -> bool:
    """A zone is an interface name (or index): what the kernel accepts as a device name."""
    return (0 < len(zone.encode("utf-8")) < IFNAMSIZ and zone not in (".", "..")
            and not any(c in zone for c in "/:%") and not any(c.isspace() for c in zone))


def normalize_target(target, number: int = 0) -> str:
    """'10.0.1.1' or '10.0.1.1/24' (an interface address, as a lab lists them) -> '10.0.1.1'.

    An IPv6 zone is kept: 'fe80::1%eth0/64' -> 'fe80::1%eth0'.
    """
    not_address = ValidationError("check %d: %r is not an IP address" % (number, target))
    if not isinstance(target, str) or _CONTROL.search(target):
        raise not_address
    text = target.strip()
    address, _slash, prefix = text.partition("/")
    address, percent, zone = address.partition("%")
    if percent and not _valid_zone(zone):
        raise ValidationError("check %d: %r has a zone %r that is not an interface name" % (number, target, zone))
    try:
        ip = ipaddress.ip_interface(address + ("/" + prefix if prefix else "")).ip
    except ValueError:
        raise not_address from None
    if percent and ip.version != 6:
        raise ValidationError("check %d: %r: only IPv6 addresses take a zone (%%interface)" % (number, target))
    if ip.is_unspecified or ip == ipaddress.IPv4Address("255.255.255.255"):
        raise ValidationError("check %d: %r is not the address of a host to ping" % (number, target))
    return str(ip) + (percent + zone if percent else "")


def parse_ping(output: str) -> dict:
    """Counts and round-trip times from iputils ping's summary."""
    result: dict = {}
    stats = _STATS.search(output)
    if stats:
        result["sent"], result["received"] = int(stats.group(1)), int(stats.group(2))
        result["loss"] = round(100.0 * (1 - result["received"] / result["sent"]), 1) if result["sent"] else 100.0
    rtt = _RTT.search(output)
    if rtt:
        result["rtt_min_ms"], result["rtt_avg_ms"], result["rtt_max_ms"] = (float(x) for x in rtt.groups())
    return result


def judge(pair: Pair, returncode: int, out: str, err: str) -> Probe:
    """One pair's result from what its ping said; an error unless ping probed and summed up."""
    found = parse_ping(out)
    if returncode in PING_PROBED and "sent" in found and found["sent"] > 0:
        return Probe(pair.source, pair.target, pair.expect, **found)
    said = [line.strip() for line in (err + "\n" + out).splitlines() if line.strip() and "statistics" not in line]
    if returncode == 2 and not found and said and all(line in _NO_ROUTE for line in said):
        return Probe(pair.source, pair.target, pair.expect, no_route=True)
    reason = said[-1] if said else "no output"
    if returncode not in PING_PROBED:
        why = "ping did not probe (exit status %d): %s" % (returncode, reason)
    else:
        why = "ping printed no summary (exit status %d): %s" % (returncode, reason)
    return Probe(pair.source, pair.target, pair.expect, error=why)


def deadline(count: int, interval: float, timeout: float) -> int:
    """Seconds a ping may take: ``count`` requests ``interval`` apart, then ``timeout`` for the last reply."""
    return int(math.ceil(count * interval + timeout + 1))


def ping_argv(pair: Pair, count: int, interval: float, timeout: float) -> List[str]:
    prefix = [] if pair.source is HOST else ["ip", "netns", "exec", pair.source]
    # No -w: with a deadline, ping keeps sending until ``count`` replies come back, so an unreachable
    # pair would get far more requests than asked for. A watchdog in probe() bounds the run instead.
    return prefix + ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(timeout), pair.target]


def namespace_problem(name: str) -> Optional[str]:
    """None when /run/netns/<name> is a network namespace one can enter; else what is wrong."""
    path = os.path.join(NETNS_RUN_DIR, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        return "missing" if exc.errno == errno.ENOENT else "cannot be opened (%s)" % exc.strerror
    try:
        if os.fstat(fd).st_dev != os.stat("/proc/self/ns/net").st_dev:
            return "is not a network namespace (a stale entry in %s?)" % NETNS_RUN_DIR
        try:
            kind = fcntl.ioctl(fd, _NS_GET_NSTYPE)
        except OSError:
            return None  # kernels before 4.11 cannot say the kind; it is a namespace file
        return None if kind == _CLONE_NEWNET else "is a namespace but not a network namespace"
    finally:
        os.close(fd)


def source_problems(pairs: Sequence[Pair]) -> Tuple[List[str], List[str]]:
    """(missing, unusable): source namespaces that do not exist, and those that exist but cannot be entered."""
    missing: List[str] = []
    unusable: List[str] = []
    for name in sorted({p.source for p in pairs if p.source is not HOST}):
        problem = namespace_problem(name)
        if problem == "missing":
            missing.append(name)
        elif problem:
            unusable.append("'%s' %s" % (name, problem))
    return missing, unusable


def missing_message(missing: Sequence[str]) -> str:
    return "source namespace(s) %s do not exist" % ", ".join("'%s'" % m for m in missing)


def check_tools() -> None:
    for tool in ("ping", "ip"):
        if shutil.which(tool) is None:
            raise ValidationError("'%s' is not installed on this host; install iputils-ping and iproute2" % tool)


def missing_in_check_mode(pairs: Sequence[Pair]) -> List[str]:
    """Sources that do not exist yet and nothing else wrong with them: in check mode, an earlier task
    of the play would create them, so the probes are skipped rather than failed."""
    missing, unusable = source_problems(pairs)
    return [] if unusable else missing


def check_sources(pairs: Sequence[Pair]) -> None:
    missing, unusable = source_problems(pairs)
    words = ([missing_message(missing)] if missing else []) + (
        ["source namespace %s" % u for u in unusable])
    if words:
        raise NamespaceMissingError("; ".join(words), missing=missing)


# How long probe() waits for IPv6 duplicate address detection to end before pinging an IPv6 target: an
# address is tentative (unusable as a source, and unanswered as a target) for a second or two after it is
# added (the kernel's default: one probe, one second), so a lab built by the task before would fail its
# own first check.
DAD_WAIT = 5.0


def tentative(netns: Optional[str]) -> bool:
    """Whether an IPv6 address of ``netns`` (HOST: this namespace) is still tentative (`ip -6 addr show
    tentative`); a namespace that cannot be read counts as settled (the probes will say what is wrong)."""
    argv = ["ip"] + ([] if netns is HOST else ["-n", netns]) + ["-6", "-o", "addr", "show", "tentative"]
    # pylint: disable-next=ansible-bad-function
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          env=dict(os.environ, LC_ALL="C"), check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


def wait_for_dad(pairs: Sequence[Pair], limit: float = DAD_WAIT) -> None:
    """Before an IPv6 target is pinged: wait (up to ``limit`` seconds) until no IPv6 address is tentative in
    the host or any named namespace (a target's namespace is not known); an address whose detection failed
    stays tentative, and its probe then says so."""
    if not any(":" in pair.target for pair in pairs):
        return
    try:
        named = sorted(os.listdir(NETNS_RUN_DIR))
    except OSError:
        named = []
    pending: List[Optional[str]] = [HOST] + named
    until = time.monotonic() + limit
    while pending:
        pending = [netns for netns in pending if tentative(netns)]
        if not pending or time.monotonic() >= until:
            return
        time.sleep(0.1)


def probe(pairs: Sequence[Pair], count: int = 3, interval: float = 0.2, timeout: float = 1.0,
          parallel: int = 32) -> List[Probe]:
    """Ping every pair, ``parallel`` at a time; results in the pairs' order."""
    validate_timing(count, interval, timeout)
    check_tools()
    check_sources(pairs)
    wait_for_dad(pairs)
    limit = deadline(count, interval, timeout) + WATCHDOG_GRACE
    results: List[Optional[Probe]] = [None] * len(pairs)
    running: list = []
    queue = list(enumerate(pairs))
    env = dict(os.environ, LC_ALL="C")
    while queue or running:
        while queue and len(running) < parallel:
            index, pair = queue.pop(0)
            try:
                # Concurrent pings need Popen; AnsibleModule.run_command runs one command at a time.
                # pylint: disable-next=ansible-bad-function
                proc = subprocess.Popen(ping_argv(pair, count, interval, timeout), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
            except OSError as exc:
                results[index] = Probe(pair.source, pair.target, pair.expect,
                                       error="ping could not start: %s" % exc.strerror)
                continue
            running.append((index, pair, proc, time.monotonic()))
        still = []
        for index, pair, proc, started in running:
            if proc.poll() is None:
                if time.monotonic() - started <= limit:
                    still.append((index, pair, proc, started))
                    continue
                proc.kill()
                proc.communicate()
                results[index] = Probe(pair.source, pair.target, pair.expect,
                                       error="ping did not finish within %d seconds and was killed" % limit)
                continue
            out, err = proc.communicate()
            results[index] = judge(pair, proc.returncode, out, err)
        running = still
        if running:
            time.sleep(0.02)
    return [result for result in results if result is not None]  # every pair has its result


def failures_message(results: Sequence[Probe]) -> str:
    bad = [r for r in results if not r.ok]
    words = []
    for r in bad:
        head = "%s -> %s: expected %s, " % ("host" if r.source is HOST else r.source, r.target, r.expect)
        if r.error:
            words.append(head + "but the probe failed: %s" % r.error)
        else:
            outcome = "no route" if r.no_route else "%d/%d replies" % (r.received, r.sent)
            words.append(head + "%s (%s)" % ("reachable" if r.reachable else "unreachable", outcome))
    return "%d of %d reachability checks failed: %s" % (len(bad), len(results), "; ".join(words))


MATRIX_LEGEND = "ok reachable, -- unreachable, ! not as expected, ERR the probe did not run, . not probed"


def _cell(result: Probe) -> str:
    if result.error:
        return "ERR!"
    return ("ok" if result.reachable else "--") + ("" if result.ok else "!")


def matrix_text(results: Sequence[Probe]) -> str:
    """The results as a text table for people: a row per source, a column per target, and a legend line.

    A pair probed twice (two checks name it) shows its worse result.
    """
    if not results:
        return ""
    sources: List[str] = []
    targets: List[str] = []
    cells: Dict[Tuple[str, str], Probe] = {}
    for result in results:
        source = "host" if result.source is HOST else result.source
        if source not in sources:
            sources.append(source)
        if result.target not in targets:
            targets.append(result.target)
        seen = cells.get((source, result.target))
        if seen is None or seen.ok:
            cells[(source, result.target)] = result
    corner = "from \\ to"
    first = max([len(corner)] + [len(source) for source in sources])
    widths = [max(len(target), 4) for target in targets]
    lines = [[corner.ljust(first)] + [target.ljust(width) for target, width in zip(targets, widths)]]
    for source in sources:
        row = [source.ljust(first)]
        for target, width in zip(targets, widths):
            cell = cells.get((source, target))
            row.append(("." if cell is None else _cell(cell)).ljust(width))
        lines.append(row)
    return "\n".join(["  ".join(line).rstrip() for line in lines] + [MATRIX_LEGEND])
