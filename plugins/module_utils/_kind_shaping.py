# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``shaping``: what an interface sends, made slow or imperfect: its root qdisc.

A rate alone is a token bucket (``tbf``); any impairment (delay, jitter, loss,
duplicate, reorder, corrupt) is ``netem``, which then carries the rate itself
(TCA_NETEM_RATE: one qdisc, not netem over a tbf). The module's qdiscs carry a
handle of their own, major ``4e56:`` ("NV"), so a run replaces only a root qdisc
it made or the kernel's default (handle ``0:``); any other is someone else's,
refused by name unless ``force``. ``state: absent`` deletes the root qdisc and
the kernel puts its default back. Units are tc(8)'s.

The kernel's reading (an RTM_GETQDISC dump, decoded by the adapter into plain
dicts) is compared in the kernel's own units: bytes per second, scheduler ticks,
bytes, packets, 32-bit fractions. Whether the kernel has ``netem`` at all
(``CONFIG_NET_SCH_NETEM``) is probed once per run, in a throwaway namespace
(_netlink.Kernel.qdisc_kind_available), when a task needs it: the answer rides
with the host's reading, so planning refuses such a task before any change,
in check mode too.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_LINK_UP, Action, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind, nothing
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, Link, netns_label, validate_ifname, validate_netns_name, validate_state
from ansible_collections.netvirt.linux.plugins.module_utils._options import ACTIONS, NETNS, STATE, VALUE, VIEW
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult

# The major number of the module's qdisc handles: 0x4e56 is "NV". Root qdiscs the kernel gives a device
# have handle 0:, so the two are told apart from anyone else's.
HANDLE_MAJOR = 0x4E56
HANDLE = HANDLE_MAJOR << 16
TC_H_ROOT = 0xFFFFFFFF
# After the links are up (a qdisc needs its device), before sysctls and routes.
PHASE_QDISC = PHASE_LINK_UP + 2
# The largest u32 the kernel's tbf and netem take for a rate (bytes per second) and a time (ticks).
U32 = 0xFFFFFFFF
NETEM_CONFIG = "CONFIG_NET_SCH_NETEM"
# An Ethernet frame with its header: the unit of a tbf's queue given in packets.
FRAME = 1514
# netem's queue when none is given (netem.c), and a tbf's: the bytes a rate sends in 50 ms, plus the burst.
DEFAULT_LIMIT = 1000
TBF_LATENCY_US = 50000
IMPAIRMENTS = ("delay", "jitter", "loss", "duplicate", "reorder", "corrupt")
DISTRIBUTIONS = ["uniform", "normal", "pareto", "paretonormal"]

OPTIONS: Dict[str, Dict[str, Any]] = dict(
    interface=dict(type="str", required=True, description=[
        "The interface whose egress (what it sends) is shaped, in O(netns). It must exist.",
    ]),
    rate=dict(type="str", description=[
        "The rate it sends at most, in tc(8)'s units: C(bit) (or a bare number), C(kbit), C(mbit), C(gbit), C(tbit),"
        " C(bps), C(kbps), C(mbps), C(gbps) (bytes per second), and the binary C(kibit), C(mibit), C(kibps)...; for"
        " example C(10mbit), C(1gbit), C(500kbit). From C(8bit) to C(34gbit) (a 32-bit count of bytes per second).",
        "Alone, it is a token bucket filter (C(tbf)); with an impairment, netem's own rate.",
    ]),
    burst=dict(type="str", description=[
        "The bytes a C(tbf) may send at once, in tc(8)'s sizes (C(b) or a bare number, C(k)/C(kb), C(m)/C(mb),"
        " C(kbit), C(mbit)); at least the interface's MTU. Default: what the rate sends in 10 ms, at least C(16k).",
        "Only with O(rate) alone (netem's rate has no burst).",
    ]),
    delay=dict(type="str", description=[
        "Added delay, in tc(8)'s times (C(s), C(ms), C(us), a bare number being microseconds), e.g. C(20ms).",
        "Needs the kernel's netem (C(CONFIG_NET_SCH_NETEM)), as every option below does.",
    ]),
    jitter=dict(type="str", description=[
        "Variation of the delay, as O(delay); needs O(delay).",
    ]),
    delay_distribution=dict(type="str", choices=DISTRIBUTIONS, description=[
        "How the jitter is distributed; needs O(jitter). V(uniform) (netem's own, the default) is the only one"
        " taken: the other tables are iproute2's files, which the netem encoding this collection uses does not"
        " carry, so they are refused before any change.",
    ]),
    loss=dict(type="str", description=[
        "Packets dropped at random, a percentage (C(1%), C(0.5%); a bare number is a percentage too).",
    ]),
    duplicate=dict(type="str", description=["Packets sent twice, a percentage as O(loss)."]),
    reorder=dict(type="str", description=[
        "Packets sent at once, ahead of the delayed ones, a percentage as O(loss); needs O(delay).",
    ]),
    corrupt=dict(type="str", description=["Packets with one bit flipped, a percentage as O(loss)."]),
    limit=dict(type="int", description=[
        "The queue, in packets (netem's C(limit); a C(tbf)'s queue is that many 1514-byte frames). Default: netem's"
        " 1000; a C(tbf)'s queue holds what the rate sends in 50 ms plus the burst (tc's C(latency 50ms)).",
    ]),
    force=dict(type="bool", default=False, description=[
        "Replace (or, with O(state=absent), delete) a root qdisc this module did not make. Without it, such a qdisc"
        " (any but the kernel's default, handle C(0:), and the module's own, handle C(4e56:)) is refused by name.",
    ]),
    netns=NETNS("the interface"),
    state=STATE("the shaping", "V(absent) deletes the interface's root qdisc: the kernel gives it its default back."),
)

RETURNS = dict(
    actions=ACTIONS("shape 'veth0' in lab1: 10mbit (tbf 4e56:)"),
    shaping=VIEW("interface's root qdisc", dict(
        interface=VALUE("str", "The interface.", "veth0"),
        netns=VALUE("str", "Its namespace; null for the host's own.", "lab1"),
        state=VALUE("str", "V(present) when a root qdisc other than the kernel's default is set, else V(absent).",
                    "present"),
        qdisc=VALUE("str", "The root qdisc's kind (C(tbf), C(netem), or the kernel's default such as C(noqueue)).",
                    "tbf"),
        handle=VALUE("str", "The root qdisc's handle. Only when present.", "4e56:"),
        owned=VALUE("bool", "Whether the root qdisc is this module's (handle C(4e56:)). Only when present.", True),
        rate=VALUE("str", "The rate, as tc(8) writes it. Only when set.", "10mbit"),
        burst=VALUE("str", "A tbf's burst in bytes, when it is not the default.", "32000b"),
        delay=VALUE("str", "The added delay. Only when set.", "20ms"),
        jitter=VALUE("str", "The delay's variation. Only when set.", "5ms"),
        loss=VALUE("str", "The random loss. Only when set.", "1%"),
        duplicate=VALUE("str", "The duplicated packets. Only when set.", "0.5%"),
        reorder=VALUE("str", "The reordered packets. Only when set.", "25%"),
        corrupt=VALUE("str", "The corrupted packets. Only when set.", "0.1%"),
        limit=VALUE("int", "The queue in packets, when it is not the default.", 1000),
    ), absent=False),
)

# The options of an interface's shaping given in another kind's entry (a veth's shaping and peer_shaping): the
# interface and namespace are that entry's, its state the entry's, and force is the module's alone.
# Their words name the module's options as code: in a veth's documentation an O(...) names the veth's.
LINK_OPTIONS = {name: dict(entry, description=[re.sub(r"O\(([^)]*)\)", r"C(\1)", line) for line in entry["description"]])
                for name, entry in OPTIONS.items() if name not in ("interface", "netns", "state", "force")}

_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z%]*)\s*$")
# tc(8): rates in bits per second (bit, a bare number) or bytes per second (bps).
RATE_UNITS = {
    "": 1, "bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
    "kibit": 1024, "mibit": 1024 ** 2, "gibit": 1024 ** 3, "tibit": 1024 ** 4,
    "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9, "tbps": 8e12,
    "kibps": 8 * 1024, "mibps": 8 * 1024 ** 2, "gibps": 8 * 1024 ** 3, "tibps": 8 * 1024 ** 4,
}
# tc(8): sizes in bytes (b, a bare number, k/kb, m/mb, g/gb: binary) or bits (kbit, mbit, gbit).
SIZE_UNITS = {
    "": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3,
    "kbit": 1024 / 8, "mbit": 1024 ** 2 / 8, "gbit": 1024 ** 3 / 8,
}
# tc(8): times in microseconds (us, usec, a bare number), milliseconds or seconds.
TIME_UNITS = {
    "": 1, "us": 1, "usec": 1, "usecs": 1, "ms": 1e3, "msec": 1e3, "msecs": 1e3, "s": 1e6, "sec": 1e6, "secs": 1e6,
}


def _number(value, option: str, units: Dict[str, float], example: str) -> float:
    if isinstance(value, bool):
        raise ValidationError("%s %r is not a number with a unit (e.g. %s)" % (option, value, example))
    if isinstance(value, (int, float)):
        return float(value)
    found = _NUMBER.match(str(value))
    unit = found.group(2).lower() if found else None
    if found is None or unit not in units:
        raise ValidationError("%s %r is malformed: give a number with one of tc(8)'s units (%s), e.g. %s" % (
            option, value, ", ".join(u for u in units if u) or "none", example))
    return float(found.group(1)) * units[unit]


def parse_rate(value, option: str = "rate") -> int:
    """tc(8)'s rate -> bytes per second, as the kernel's tbf and netem keep it (a u32)."""
    rate = int(_number(value, option, RATE_UNITS, "10mbit") / 8)
    if not 1 <= rate <= U32:
        raise ValidationError("%s %r is out of range: from 8bit to 34gbit (the kernel keeps a 32-bit count of bytes"
                              " per second)" % (option, value))
    return rate


def parse_size(value, option: str = "burst") -> int:
    size = int(_number(value, option, SIZE_UNITS, "32k"))
    if not 1 <= size <= U32:
        raise ValidationError("%s %r is out of range: from 1 byte to 4g" % (option, value))
    return size


# The kernel's scheduler tick is 64 ns (/proc/net/psched), and a time is a 32-bit count of ticks.
MAX_TIME_US = int(U32 / 15.625)


def parse_time(value, option: str) -> int:
    """tc(8)'s time -> microseconds."""
    time_us = int(round(_number(value, option, TIME_UNITS, "20ms")))
    if not 0 <= time_us <= MAX_TIME_US:
        raise ValidationError("%s %r is out of range: from 0 to %ds (the kernel keeps a 32-bit count of 64 ns ticks)"
                              % (option, value, MAX_TIME_US // 1000000))
    return time_us


def parse_percent(value, option: str) -> float:
    percent = _number(value, option, {"": 1, "%": 1}, "1%")
    if not 0 <= percent <= 100:
        raise ValidationError("%s %r is out of range: a percentage from 0%% to 100%%" % (option, value))
    return percent


def percent_u32(percent: float) -> int:
    """A percentage as the kernel's 32-bit fraction, as the adapter's tc encoding writes it."""
    return int(U32 * percent / 100)


def rate_text(rate: int) -> str:
    """Bytes per second as tc(8) would write it: the largest decimal unit that divides it."""
    bits = rate * 8
    for unit, size in (("gbit", 10 ** 9), ("mbit", 10 ** 6), ("kbit", 10 ** 3)):
        if bits % size == 0:
            return "%d%s" % (bits // size, unit)
    return "%dbit" % bits


def time_text(time_us: int) -> str:
    for unit, size in (("s", 10 ** 6), ("ms", 10 ** 3)):
        if time_us and time_us % size == 0:
            return "%d%s" % (time_us // size, unit)
    return "%dus" % time_us


def percent_text(percent: float) -> str:
    return "%g%%" % round(percent, 4)


@dataclass(frozen=True)
class Shaping:
    """The root qdisc an interface's egress should have. Options are kept normalized: rate in bytes per second,
    burst in bytes, delay and jitter in microseconds, percentages as floats, limit in packets."""

    interface: str
    netns: Optional[str] = HOST
    rate: Any = None
    burst: Any = None
    delay: Any = None
    jitter: Any = None
    delay_distribution: Optional[str] = None
    loss: Any = None
    duplicate: Any = None
    reorder: Any = None
    corrupt: Any = None
    limit: Optional[int] = None
    force: bool = False
    state: str = "present"

    kind = "shaping"

    def __post_init__(self):
        validate_state(self.state)
        validate_netns_name(self.netns, "netns")
        validate_ifname(self.interface, "interface")
        convert: Dict[str, Callable[..., Any]] = dict(rate=parse_rate, burst=parse_size)
        for option in ("delay", "jitter"):
            convert[option] = parse_time
        for option in ("loss", "duplicate", "reorder", "corrupt"):
            convert[option] = parse_percent
        for option, parse in convert.items():
            value = getattr(self, option)
            if value is not None:
                object.__setattr__(self, option, parse(value, option))
        if self.limit is not None and not 1 <= self.limit <= U32:
            raise ValidationError("limit %r is out of range: from 1 to 4294967295 packets" % (self.limit,))
        if self.state == "absent":
            return
        if self.rate is None and not self.impaired:
            raise ValidationError("shaping of '%s' needs a rate or an impairment (%s); use state=absent to take"
                                  " shaping off" % (self.interface, ", ".join(IMPAIRMENTS)))
        if self.jitter and not self.delay:
            raise ValidationError("jitter needs a delay (netem varies the delay by the jitter)")
        if self.delay_distribution is not None and not self.jitter:
            raise ValidationError("delay_distribution needs a jitter (it distributes the jitter)")
        if self.delay_distribution not in (None, "uniform"):
            raise ValidationError(
                "delay_distribution %r is not supported: its table is iproute2's file, which the netem encoding used"
                " here does not carry; use uniform (netem's own) or leave it out" % (self.delay_distribution,))
        if self.reorder and not self.delay:
            raise ValidationError("reorder needs a delay (netem sends the reordered packets ahead of the delayed ones)")
        if self.burst is not None and (self.rate is None or self.impaired):
            raise ValidationError("burst applies to a rate alone (a tbf); netem's rate, used with an impairment, has"
                                  " no burst")

    @property
    def key(self) -> tuple:
        return ("shaping", self.netns, self.interface)

    @property
    def impaired(self) -> bool:
        return any(getattr(self, option) for option in IMPAIRMENTS)

    @property
    def qdisc(self) -> str:
        """The qdisc kind it takes: netem for any impairment, tbf for a rate alone."""
        return "netem" if self.impaired else "tbf"

    @property
    def netem_options(self) -> List[str]:
        return [option for option in IMPAIRMENTS if getattr(self, option)]

    def effective_burst(self) -> int:
        return self.burst if self.burst is not None else max(self.rate // 100, 16384)

    def settings(self, ticks: float) -> Dict[str, int]:
        """What the kernel will report, in its own units (the comparison's terms)."""
        if self.qdisc == "tbf":
            burst = self.effective_burst()
            limit = self.limit * FRAME if self.limit else int(self.rate * TBF_LATENCY_US / 1e6 + burst)
            # As tc and the encoding compute a tbf's buffer: whole microseconds first, then ticks.
            return dict(rate=self.rate, buffer=int(int(1e6 * burst / self.rate) * ticks), limit=limit)
        return dict(delay=int((self.delay or 0) * ticks), jitter=int((self.jitter or 0) * ticks),
                    limit=self.limit or DEFAULT_LIMIT, loss=percent_u32(self.loss or 0),
                    duplicate=percent_u32(self.duplicate or 0), reorder=percent_u32(self.reorder or 0),
                    corrupt=percent_u32(self.corrupt or 0), rate=self.rate or 0)

    def request(self) -> Dict[str, Any]:
        """The settings Kernel.replace_root_qdisc encodes for its qdisc (the tc library's parameter names)."""
        if self.qdisc == "tbf":
            burst = self.effective_burst()
            params: Dict[str, Any] = dict(rate=self.rate, burst=burst)
            if self.limit:
                params["limit"] = self.limit * FRAME
            else:
                params["latency"] = "%dus" % TBF_LATENCY_US
            return params
        params = dict(delay=self.delay or 0, jitter=self.jitter or 0, limit=self.limit or DEFAULT_LIMIT,
                      loss=self.loss or 0, duplicate=self.duplicate or 0)
        if self.reorder:
            params["prob_reorder"] = self.reorder
        if self.corrupt:
            params["prob_corrupt"] = self.corrupt
        if self.rate:
            params["rate"] = self.rate
        return params


@dataclass(frozen=True)
class Qdisc:
    """A root qdisc as the kernel reports it: its device's index, kind, handle, and settings in its units."""

    index: int
    kind: Optional[str]
    handle: int
    settings: Dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def ours(self) -> bool:
        return self.handle >> 16 == HANDLE_MAJOR

    @property
    def default(self) -> bool:
        """The kernel's own root qdisc (noqueue, pfifo_fast, mq, fq_codel ...): handle 0:."""
        return self.handle >> 16 == 0

    @property
    def label(self) -> str:
        return "%s %x:" % (self.kind, self.handle >> 16)


@dataclass
class Qdiscs:
    """What the shaping kind reads of a namespace (NamespaceState.qdiscs): its devices' root qdiscs, the
    scheduler's ticks per microsecond, and (in the host's) the qdisc kinds this kernel lacks."""

    roots: Tuple[Qdisc, ...] = ()
    ticks: float = 15.625
    missing: frozenset = frozenset()

    def root(self, index: Optional[int]) -> Optional[Qdisc]:
        return next((qdisc for qdisc in self.roots if qdisc.index == index), None)


def _settings(kind: Optional[str], options: Optional[dict]) -> Dict[str, int]:
    """The settings the planner compares, from the adapter's plain decoding of TCA_OPTIONS."""
    options = options or {}
    if kind == "tbf":
        parms = options.get("TCA_TBF_PARMS") or {}
        return dict(rate=parms.get("rate", 0), buffer=parms.get("buffer", 0), limit=parms.get("limit", 0))
    if kind == "netem":
        rate = options.get("TCA_NETEM_RATE") or {}
        return dict(delay=options.get("delay", 0), jitter=options.get("jitter", 0), limit=options.get("limit", 0),
                    loss=options.get("loss", 0), duplicate=options.get("duplicate", 0),
                    reorder=(options.get("TCA_NETEM_REORDER") or {}).get("prob_reorder", 0),
                    corrupt=(options.get("TCA_NETEM_CORRUPT") or {}).get("prob_corrupt", 0),
                    rate=rate.get("rate", 0))
    return {}


def shaping_of(interface: str, netns: Optional[str], options, what: str) -> Optional["Shaping"]:
    """The Shaping of ``options`` (a dict of LINK_OPTIONS, None values not given) for an interface of another
    kind's entry, its refusals prefixed with ``what`` (the option: "peer_shaping"); None when there is none."""
    if options is None:
        return None
    if isinstance(options, Shaping):
        return options
    given = {key: value for key, value in dict(options).items() if value is not None}
    unknown = sorted(set(given) - set(LINK_OPTIONS))
    if unknown:
        raise ValidationError("%s: unknown key(s) %s; it takes %s" % (what, ", ".join(unknown), ", ".join(LINK_OPTIONS)))
    try:
        return Shaping(interface, netns, **given)
    except ValidationError as exc:
        raise ValidationError("%s: %s" % (what, exc.msg)) from None


def read_back(space, link) -> Optional[Dict[str, Any]]:
    """lab_info: the module's shaping of a device, as an entry's ``shaping`` option writes it; None if none."""
    qdiscs = space.qdiscs
    qdisc = qdiscs.root(link.index) if qdiscs is not None else None
    if qdisc is None or not qdisc.ours:
        return None
    shaping = from_kernel(link.name, space.name, qdisc, qdiscs.ticks)
    return text_options(shaping) if shaping is not None else None


def read(kernel, netns: Optional[str], items) -> Dict[str, object]:
    """Root qdiscs, one dump; with ``netem`` (asked in the host), whether the kernel has netem at all. A pruning
    lab's look alone (``owned_qdiscs``) first reads only their handles: where none is the module's, nothing more."""
    if not set(items) & {"qdiscs", "netem"}:
        if not any(handle >> 16 == HANDLE_MAJOR for _index, handle in kernel.root_qdisc_handles(netns)):
            return {"qdiscs": Qdiscs()}
    roots = tuple(Qdisc(record["index"], record["kind"], record["handle"], _settings(record["kind"], record["options"]))
                  for record in kernel.qdiscs(netns) if record["parent"] == TC_H_ROOT)
    missing = frozenset(("netem",)) if "netem" in items and not kernel.qdisc_kind_available("netem") else frozenset()
    return {"qdiscs": Qdiscs(roots, kernel.tc_ticks_per_usec(), missing)}


def reads(desired: Shaping) -> list:
    wanted = [(desired.netns, "qdiscs")]
    if desired.state == "present" and desired.impaired:
        wanted.append((HOST, "netem"))
    return wanted


def namespaces(desired: Shaping) -> list:
    # The host is read for the netem probe's answer.
    return [desired.netns, HOST] if desired.state == "present" and desired.impaired else [desired.netns]


def from_kernel(interface: str, netns: Optional[str], qdisc: Qdisc, ticks: float) -> Optional[Shaping]:
    """The shaping a qdisc of the module's stands for, as a user writes it (lab_info, undo); None if not one."""
    settings = qdisc.settings
    try:
        if qdisc.kind == "tbf" and settings.get("rate"):
            rate = settings["rate"]
            burst = int(round(settings["buffer"] / ticks * rate / 1e6))
            options: Dict[str, Any] = dict(rate=rate_text(rate))
            if burst != max(rate // 100, 16384):
                options["burst"] = "%db" % burst
            probe = Shaping(interface, netns, **options)
            if probe.settings(ticks)["limit"] != settings["limit"]:
                options["limit"] = max(1, settings["limit"] // FRAME)
            return Shaping(interface, netns, **options)
        if qdisc.kind == "netem":
            options = {}
            for option in ("delay", "jitter"):
                if settings.get(option):
                    options[option] = time_text(int(round(settings[option] / ticks)))
            for option in ("loss", "duplicate", "reorder", "corrupt"):
                if settings.get(option):
                    options[option] = percent_text(settings[option] * 100.0 / U32)
            if settings.get("rate"):
                options["rate"] = rate_text(settings["rate"])
            if settings.get("limit", DEFAULT_LIMIT) != DEFAULT_LIMIT:
                options["limit"] = settings["limit"]
            return Shaping(interface, netns, **options)
    except ValidationError:
        return None
    return None


def same(desired: Shaping, qdisc: Optional[Qdisc], ticks: float) -> bool:
    """The qdisc is the module's and holds exactly what is desired (a tbf's buffer within a tick of rounding)."""
    if qdisc is None or not qdisc.ours or qdisc.kind != desired.qdisc:
        return False
    wanted = desired.settings(ticks)
    return all(abs(qdisc.settings.get(key, 0) - value) <= (1 if key == "buffer" else 0) for key, value in wanted.items())


def shaping_view(desired: Shaping, qdisc: Optional[Qdisc], ticks: float) -> dict:
    view: Dict[str, Any] = {"interface": desired.interface, "netns": desired.netns}
    if qdisc is None or qdisc.default:
        view.update(state="absent", qdisc=qdisc.kind if qdisc is not None else None)
        return view
    view.update(state="present", qdisc=qdisc.kind, handle="%x:" % (qdisc.handle >> 16), owned=qdisc.ours)
    shown = from_kernel(desired.interface, desired.netns, qdisc, ticks) if qdisc.ours else None
    if shown is not None:
        view.update(text_options(shown))
    return view


def text_options(shaping: Shaping) -> Dict[str, Any]:
    """Its options as a user writes them (C(2mbit), C(20ms), C(1%)), the given ones only."""
    options: Dict[str, Any] = {}
    if shaping.rate is not None:
        options["rate"] = rate_text(shaping.rate)
    if shaping.burst is not None:
        options["burst"] = "%db" % shaping.burst
    for option in ("delay", "jitter"):
        if getattr(shaping, option):
            options[option] = time_text(getattr(shaping, option))
    for option in ("loss", "duplicate", "reorder", "corrupt"):
        if getattr(shaping, option):
            options[option] = percent_text(getattr(shaping, option))
    if shaping.limit is not None:
        options["limit"] = shaping.limit
    return options


def summary(shaping: Shaping) -> str:
    """'10mbit 20ms 1%': a shaping in a few words, for the actions and the diagram."""
    words = []
    if shaping.rate is not None:
        words.append(rate_text(shaping.rate))
    if shaping.delay:
        words.append(time_text(shaping.delay) + ("±" + time_text(shaping.jitter) if shaping.jitter else ""))
    if shaping.loss:
        words.append(percent_text(shaping.loss))
    for option in ("duplicate", "reorder", "corrupt"):
        if getattr(shaping, option):
            words.append("%s %s" % (option, percent_text(getattr(shaping, option))))
    return " ".join(words)


@dataclass(frozen=True)
class SetShaping(Action):
    """Make an interface's root qdisc the module's, with these settings (tc qdisc replace ... root)."""

    netns: Optional[str]
    shaping: Shaping
    phase = PHASE_QDISC

    def describe(self) -> str:
        return "shape '%s' in %s: %s (%s %x:)" % (
            self.shaping.interface, where(self.netns), summary(self.shaping), self.shaping.qdisc, HANDLE_MAJOR)

    def apply(self, kernel) -> None:
        kernel.replace_root_qdisc(self.netns, kernel.ifindex(self.netns, self.shaping.interface), self.shaping.qdisc,
                                  HANDLE, self.shaping.request())

    def undo(self, before):
        return _put_back(before, self.netns, self.shaping.interface)

    def hint(self, code: int) -> Optional[str]:
        if code == errno.ENOENT:
            feature = NETEM_CONFIG if self.shaping.qdisc == "netem" else "CONFIG_NET_SCH_TBF"
            return "this kernel has no %s qdisc (%s)" % (self.shaping.qdisc, feature)
        if code == errno.EINVAL:
            return "the kernel refused these settings of the %s qdisc" % self.shaping.qdisc
        return None


@dataclass(frozen=True)
class DeleteShaping(Action):
    """Delete an interface's root qdisc: the kernel gives it its default back (tc qdisc del ... root)."""

    netns: Optional[str]
    interface: str
    what: str = "shaping"
    phase = PHASE_QDISC - 1

    def describe(self) -> str:
        return "delete %s of '%s' in %s" % (self.what, self.interface, where(self.netns))

    def apply(self, kernel) -> None:
        kernel.delete_root_qdisc(self.netns, kernel.ifindex(self.netns, self.interface))

    def undo(self, before):
        return _put_back(before, self.netns, self.interface)


def _put_back(before, netns: Optional[str], interface: str):
    """The actions that give the interface its root qdisc as read before the run; None when they cannot (a
    qdisc someone else made, or not read)."""
    space = before.spaces.get(netns) if before is not None else None
    if space is None or space.qdiscs is None or space.get(interface) is None:
        return None
    qdiscs: Qdiscs = space.qdiscs
    qdisc = qdiscs.root(space.get(interface).index)
    if qdisc is None or qdisc.default:
        return (DeleteShaping(netns, interface),)
    old = from_kernel(interface, netns, qdisc, qdiscs.ticks) if qdisc.ours else None
    return (SetShaping(netns, old),) if old is not None else None


def _missing_netem(p, desired: Shaping) -> None:
    host = p.space(HOST).qdiscs
    if desired.state == "present" and desired.impaired and host is not None and "netem" in host.missing:
        raise ValidationError(
            "shaping of '%s' in %s: %s need%s the kernel's netem qdisc, which this kernel lacks (%s, module sch_netem);"
            " nothing was changed: use a kernel with it, or shape with rate alone (tbf)" % (
                desired.interface, netns_label(desired.netns), ", ".join(desired.netem_options),
                "s" if len(desired.netem_options) == 1 else "", NETEM_CONFIG),
            netns=desired.netns, interface=desired.interface, options=desired.netem_options, kernel_feature=NETEM_CONFIG)


def plan_shaping(p, desired: Shaping) -> ObjectResult:
    _missing_netem(p, desired)
    absent_view = {"interface": desired.interface, "netns": desired.netns, "state": "absent", "qdisc": None}
    if desired.state == "absent" and not p.exists(desired.netns):
        return ObjectResult(desired.key, before=absent_view, after=absent_view)
    p.require_netns(desired.netns, "shaping of '%s'" % desired.interface)
    space = p.space(desired.netns)
    qdiscs = space.qdiscs if space.qdiscs is not None else Qdiscs()
    link = space.get(desired.interface)
    if link is None and desired.state == "absent":
        return ObjectResult(desired.key, before=absent_view, after=absent_view)
    if link is None and p.assume_missing:
        link = p.assume(desired.netns, desired.interface, Link(desired.interface, 0, None, 1500, True),
                        "interface '%s' of the shaping" % desired.interface)
    if link is None:
        raise DeviceMissingError("shaping: there is no interface '%s' in %s" % (
            desired.interface, netns_label(desired.netns)), netns=desired.netns, interface=desired.interface)
    current = qdiscs.root(link.index)
    result = ObjectResult(desired.key, before=shaping_view(desired, current, qdiscs.ticks), after={})
    if current is not None and not current.ours and not current.default and not desired.force:
        raise ConflictError(
            "shaping of '%s' in %s: its root qdisc is %s (handle %x:), which this module did not make (its own have"
            " handle %x:); nothing was changed: remove it, or set force: true to %s it" % (
                desired.interface, netns_label(desired.netns), current.kind, current.handle >> 16, HANDLE_MAJOR,
                "replace" if desired.state == "present" else "delete"),
            netns=desired.netns, interface=desired.interface, qdisc=current.kind, handle="%x:" % (current.handle >> 16))
    roots = [qdisc for qdisc in qdiscs.roots if qdisc.index != link.index]
    after = current
    if desired.state == "absent":
        if current is not None and not current.default:
            result.actions.append(DeleteShaping(desired.netns, desired.interface,
                                                "shaping" if current.ours else "root qdisc %s" % current.label))
            after = None
    elif not same(desired, current, qdiscs.ticks):
        if current is not None and current.ours and current.kind != desired.qdisc:
            # The kernel changes a qdisc's settings in place but never its kind under the same handle.
            result.actions.append(DeleteShaping(desired.netns, desired.interface))
        result.actions.append(SetShaping(desired.netns, desired))
        after = Qdisc(link.index, desired.qdisc, HANDLE, desired.settings(qdiscs.ticks))
    if after is not None:
        roots.append(after)
    space.qdiscs = replace(qdiscs, roots=tuple(roots))
    result.after = shaping_view(desired, after, qdiscs.ticks)
    return result


def prepare(p, objects) -> None:
    """The plan's shapings by interface, for the views of the devices they shape (end_shaping)."""
    p.notes["shaping"] = {obj.key: obj for obj in objects}


def end_shaping(p, netns: Optional[str], link: Optional[Link], planned: bool = False,
                kept: bool = True) -> Optional[Dict[str, Any]]:
    """A device's shaping as an entry's ``shaping`` option writes it (C(rate: 10mbit)), for another kind's view (a
    veth's ends): the module's qdisc on it as read (None: none, someone else's, or not read); ``planned``: once the
    plan is applied, what a shaping of this plan makes it, else, when the device is ``kept`` where it was read
    (not made, nor moved: a move takes its qdisc off), what it has."""
    if link is None:
        return None
    shaping = p.notes.get("shaping", {}).get(("shaping", netns, link.name)) if planned else None
    if shaping is not None:
        return text_options(shaping) if shaping.state == "present" else None
    return read_back(p.space(netns), link) if kept else None


def prune(p, desired, interfaces) -> List[ObjectResult]:
    """A pruning lab's qdiscs of the module's own (handle 4e56:) on its devices that stay, which no shaping of
    ``desired`` names any more: deleted, the kernel giving the device its default back. Anyone else's root qdisc,
    and the module's on a device the lab does not own, are left alone."""
    kept = {obj.key for obj in desired if obj.state == "present"}
    results: List[ObjectResult] = []
    for netns, link in interfaces:
        space = p.space(netns)
        qdiscs = space.qdiscs
        qdisc = qdiscs.root(link.index) if qdiscs is not None else None
        if qdisc is None or not qdisc.ours or ("shaping", netns, link.name) in kept:
            continue
        gone = Shaping(link.name, netns, state="absent")
        results.append(ObjectResult(gone.key, before=shaping_view(gone, qdisc, qdiscs.ticks),
                                    after=shaping_view(gone, None, qdiscs.ticks),
                                    actions=[DeleteShaping(netns, link.name)]))
        space.qdiscs = replace(qdiscs, roots=tuple(other for other in qdiscs.roots if other.index != link.index))
    return results


def stands_on(desired: Shaping) -> list:
    return [(desired.netns, desired.interface)]


def describe(reader) -> list:
    """lab_info: the module's qdiscs on the devices described, as `topology`'s shaping entries."""
    found = []
    for netns in reader.spaces:
        space = reader.world.spaces[netns]
        qdiscs = space.qdiscs
        if qdiscs is None:
            continue
        for qdisc in sorted(qdiscs.roots, key=lambda q: q.index):
            link = space.by_index(qdisc.index)
            if not qdisc.ours or link is None or (netns, link.name) not in reader.described:
                continue
            if link.kind == "veth":
                continue  # written into its pair's entry (shaping, peer_shaping), as `topology` takes it
            shaping = from_kernel(link.name, netns, qdisc, qdiscs.ticks)
            if shaping is None:
                reader.warn("the root qdisc %s of '%s' in %s is not one this module makes; left out" % (
                    qdisc.label, link.name, netns_label(netns)))
                continue
            entry: dict = {"interface": link.name}
            entry.update(text_options(shaping))
            reader.put(entry, netns)
            found.append(entry)
    return found


KIND = Kind(
    name="shaping", section="shaping", desired=Shaping, plan=plan_shaping, options=OPTIONS, returns=RETURNS,
    owned=nothing, endpoints=nothing, namespaces=namespaces, reads=reads, read=read, stands_on=stands_on,
    section_skip=("state", "force"),
    section_noun="shaped interfaces",
    section_doc=("Each entry makes the root qdisc of one of the lab's interfaces; it goes with the interface.",),
    describe=describe,
    describe_reads=("owned_qdiscs",),
    prune=prune,
    prune_reads=("owned_qdiscs",),
    prepare=prepare,
)
