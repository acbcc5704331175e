# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability probes: which namespace reaches which address, as a matrix.

The parsing and judging here are pure; :func:`probe` runs the pings, many at
once, from inside each source namespace. Nothing here changes any state.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Iterable, List, Optional, Sequence

from ansible_collections.netvirt.linux.plugins.module_utils._errors import (
    NamespaceMissingError,
    ValidationError,
)
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, validate_netns_name

NETNS_RUN_DIR = "/run/netns"
EXPECTATIONS = ("reachable", "unreachable")
_STATS = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/")


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

    @property
    def reachable(self) -> bool:
        return self.received > 0

    @property
    def ok(self) -> bool:
        return self.reachable == (self.expect == "reachable")

    def as_dict(self) -> dict:
        result = asdict(self)
        result["from"] = result.pop("source")
        result["to"] = result.pop("target")
        result["reachable"] = self.reachable
        result["ok"] = self.ok
        return result


def _as_list(value) -> list:
    if value is None:
        return [HOST]
    return list(value) if isinstance(value, (list, tuple)) else [value]


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
            validate_netns_name(source, "check %d: from" % number)
            for target in targets:
                pairs.append(Pair(source, normalize_target(target, number), expect))
    if not pairs:
        raise ValidationError("checks is empty: name at least one source and target")
    return pairs


def normalize_target(target, number: int = 0) -> str:
    """'10.0.1.1' or '10.0.1.1/24' (an interface address, as a lab lists them) -> '10.0.1.1'."""
    text = str(target).strip()
    try:
        return str(ipaddress.ip_interface(text).ip)
    except ValueError:
        raise ValidationError("check %d: %r is not an IP address" % (number, target)) from None


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


def ping_argv(pair: Pair, count: int, interval: float, timeout: float) -> List[str]:
    prefix = [] if pair.source is HOST else ["ip", "netns", "exec", pair.source]
    return prefix + ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(timeout),
                     "-w", str(int(count * interval + timeout + 1)), pair.target]


def probe(pairs: Sequence[Pair], count: int = 3, interval: float = 0.2, timeout: float = 1.0,
          parallel: int = 32) -> List[Probe]:
    """Ping every pair, ``parallel`` at a time; results in the pairs' order."""
    for tool in ("ping", "ip"):
        if shutil.which(tool) is None:
            raise ValidationError("'%s' is not installed on this host; install iputils-ping and iproute2" % tool)
    missing = sorted({p.source for p in pairs if p.source is not HOST
                      and not os.path.isfile(os.path.join(NETNS_RUN_DIR, p.source))})
    if missing:
        raise NamespaceMissingError("source namespace(s) %s do not exist" % ", ".join(repr(m) for m in missing))
    results: List[Optional[Probe]] = [None] * len(pairs)
    running: list = []
    queue = list(enumerate(pairs))
    env = dict(os.environ, LC_ALL="C")
    while queue or running:
        while queue and len(running) < parallel:
            index, pair = queue.pop(0)
            # Concurrent pings need Popen; AnsibleModule.run_command runs one command at a time.
            # pylint: disable-next=ansible-bad-function
            proc = subprocess.Popen(ping_argv(pair, count, interval, timeout), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
            running.append((index, pair, proc))
        still = []
        for index, pair, proc in running:
            if proc.poll() is None:
                still.append((index, pair, proc))
                continue
            out, err = proc.communicate()
            found = parse_ping(out)
            found.setdefault("sent", count)
            result = Probe(pair.source, pair.target, pair.expect, **found)
            if not found and (err or out).strip():
                result.error = (err or out).strip().splitlines()[-1]
            results[index] = result
        running = still
        if running:
            time.sleep(0.02)
    return results


def failures_message(results: Sequence[Probe]) -> str:
    bad = [r for r in results if not r.ok]
    words = ["%s -> %s: expected %s, %s (%d/%d replies)%s" % (
        "host" if r.source is HOST else r.source, r.target, r.expect,
        "reachable" if r.reachable else "unreachable", r.received, r.sent,
        "; %s" % r.error if r.error else "") for r in bad]
    return "%d of %d reachability checks failed: %s" % (len(bad), len(results), "; ".join(words))
