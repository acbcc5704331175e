# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``bridge``: a Linux bridge in any namespace, its STP options and its exact set of ports."""

from __future__ import annotations

import errno
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _nlwire
from ansible_collections.netvirt.linux.plugins.module_utils._actions import (
    PHASE_CREATE_LINK,
    PHASE_PORT_OPTIONS,
    PHASE_SET_LINK,
    AttachPort,
    DetachPort,
    LinkAction,
    SetMtu,
    _before_link,
    describe_options,
    where,
)
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, DeviceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    HOST,
    Device,
    Link,
    NamespaceState,
    check_bool,
    check_int,
    netns_label,
    validate_ifname,
)
from ansible_collections.netvirt.linux.plugins.module_utils._options import ADDRESSES, DEVICE_RETURNS, IFNAME, MTU, NETNS, STATE, UP, VALUE
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, addresses_view

_PORTS = (
    "The exact set of interfaces attached to the bridge. Each entry is an interface name, or a dictionary with the"
    " interface's C(name) and optional port settings - C(cost) (STP path cost, 1 to 65535), C(priority) (STP port"
    " priority, 0 to 63) and C(hairpin) (boolean; frames may leave through the port they came in on, also called"
    " reflective relay)."
)
_PORTS_LEFT = [
    "Interfaces attached to the bridge but not listed are detached, not deleted.",
    "Omit it to leave the ports alone; V([]) detaches them all.",
    "A port setting that is not given is left as it is.",
]
OPTIONS = dict(
    name=IFNAME("the bridge"),
    netns=NETNS("the bridge"),
    state=STATE("the bridge", "Deleting a bridge detaches its ports; the kernel never deletes them with it."),
    # Entries are interface names or dicts (PORT_OPTIONS); Ansible's suboptions
    # take only dicts, so dict entries are converted by convert_port.
    ports=dict(type="list", elements="raw", description=[
        _PORTS,
        "Every interface must already exist in the bridge's namespace (create veth ends or taps first)."
        " An interface attached to another bridge is moved to this one.",
    ] + _PORTS_LEFT, section_description=[
        _PORTS + " Values are converted as Ansible converts options (C(\"10\") becomes 10).",
        "Every port must be an interface the lab describes in the bridge's namespace (a veth end or a tap, for"
        " example), not a bridge.",
    ] + _PORTS_LEFT),
    stp=dict(type="bool", description=[
        "Whether the bridge runs the spanning tree protocol (in the kernel). Omit it to leave it alone"
        " (a new bridge has STP off).",
    ]),
    forward_delay=dict(type="float", description=[
        "Time, in seconds, a port spends in the listening and learning states before forwarding, in steps of"
        " 0.02 (see O(ageing_time)). 2 to 30 while STP is on. Omit it to leave it alone (a new bridge has 15).",
    ]),
    hello_time=dict(type="float", description=[
        "Interval in seconds between STP hello packets, 1 to 10 in steps of 0.02. Omit it to leave it alone"
        " (a new bridge has 2).",
    ]),
    max_age=dict(type="float", description=[
        "Maximum age in seconds of STP information, 6 to 40 in steps of 0.02. Omit it to leave it alone"
        " (a new bridge has 20).",
    ]),
    ageing_time=dict(type="float", description=[
        "Time in seconds a learned MAC address stays in the forwarding database; V(0) makes the bridge"
        " flood every frame like a hub. Omit it to leave it alone (a new bridge has 300).",
        "Like every bridge timer, in steps of 0.02 seconds: the kernel counts in clock ticks and reports"
        " hundredths of a second, and only such steps come back unchanged whatever the kernel's tick rate"
        " (C(ageing_time=0.001) would become 0, a hub); other values are refused.",
    ]),
    priority=dict(type="int", description=[
        "Bridge priority for the STP root election, 0 to 65535 (lower wins). Omit it to leave it alone"
        " (a new bridge has 32768).",
    ]),
    addresses=ADDRESSES("the bridge itself", "C(10.0.1.254/24), C(fd00::1/64)"),
    mtu=MTU("the bridge", "Omit it to let the kernel manage it (the smallest MTU of the ports, 1500 when the bridge"
            " has none).", ["A bridge MTU set by hand sticks when ports join."]),
    up=UP("the bridge", "It does not change the ports' own up/down state."),
)


RETURNS = DEVICE_RETURNS("bridge", [
    "create bridge br-test in host with stp off", "attach br-tap1 to bridge br-test in host", "set br-test up in host",
], dict(
    stp=VALUE("bool", "Whether STP is on.", False),
    forward_delay=VALUE("float", "Forward delay in seconds.", 15.0),
    hello_time=VALUE("float", "Hello time in seconds.", 2.0),
    max_age=VALUE("float", "Max age in seconds.", 20.0),
    ageing_time=VALUE("float", "MAC ageing time in seconds.", 300.0),
    priority=VALUE("int", "Bridge priority.", 32768),
    ports=VALUE("list", "The attached interfaces by name, with the port settings the task manages.",
                [{"name": "br-tap1"}, {"name": "br-tap2", "cost": 10}], elements="dict"),
), what="bridge", name="br-test", addresses=["10.0.1.254/24"])

PORT_OPTIONS = dict(
    name=dict(type="str", required=True),
    cost=dict(type="int"),
    priority=dict(type="int"),
    hairpin=dict(type="bool"),
)

# Bridge timers travel over netlink in clock_t units (USER_HZ = 100 on every
# Linux architecture): the module speaks seconds, as brctl does.
CENTIS = 100
BRIDGE_DEFAULTS = {
    # What the kernel gives a new bridge (br_dev_setup / br_stp_timer_init).
    "stp": False,
    "forward_delay": 1500,
    "hello_time": 200,
    "max_age": 2000,
    "ageing_time": 30000,
    "priority": 32768,
}
# (option, lowest, highest) in seconds; the kernel's own ranges (br_private.h).
BRIDGE_TIMER_RANGES = (
    ("forward_delay", 0, 30),
    ("hello_time", 1, 10),
    ("max_age", 6, 40),
    ("ageing_time", 0, 1000000),
)
PORT_COST_RANGE = (1, 65535)
PORT_PRIORITY_RANGE = (0, 63)
BRIDGE_PRIORITY_RANGE = (0, 65535)


# The kernel keeps a timer in jiffies and reports it in centiseconds (clock_t): a value survives the trip only
# when it is a whole number of both. With HZ=250 (Debian's, Ubuntu's kernels) a jiffy is 4 ms, so 0.01 s
# comes back as 0 and 4.01 as 4.0; HZ=100 and HZ=1000 keep every centisecond. Steps of 0.02 s come back
# exactly on all three, so a playbook means the same on every host.
TIMER_STEP_CENTIS = 2


def check_timer_step(option: str, seconds) -> None:
    """Refuse a bridge timer the kernel would store as another value (ageing_time 0.001 would become 0, a hub)."""
    centis = float(seconds) * CENTIS
    whole = round(centis)
    if abs(centis - whole) < 1e-6 and whole % TIMER_STEP_CENTIS == 0:
        return
    below = int(centis // TIMER_STEP_CENTIS) * TIMER_STEP_CENTIS
    raise ValidationError(
        "%s %r cannot be stored as given: the kernel keeps bridge timers in clock ticks and reports them in "
        "hundredths of a second, so only multiples of 0.02 seconds come back unchanged on every kernel (HZ 100, 250 "
        "or 1000); use %s or %s" % (option, seconds, _seconds_text(below), _seconds_text(below + TIMER_STEP_CENTIS)))


def _seconds_text(centis: int) -> str:
    return ("%.2f" % (centis / float(CENTIS))).rstrip("0").rstrip(".") if centis % CENTIS else str(centis // CENTIS)


def seconds_to_centis(value) -> int:
    return int(round(float(value) * CENTIS))


def centis_to_seconds(value: int) -> float:
    return value / float(CENTIS)


@dataclass(frozen=True)
class BridgePort:
    """One interface a bridge should hold, with optional port settings."""

    name: str
    cost: Optional[int] = None
    priority: Optional[int] = None
    hairpin: Optional[bool] = None

    def __post_init__(self):
        validate_ifname(self.name, "ports entry name")
        check_int(self.cost, PORT_COST_RANGE[0], PORT_COST_RANGE[1], "cost of port '%s'" % self.name)
        check_int(self.priority, PORT_PRIORITY_RANGE[0], PORT_PRIORITY_RANGE[1],
                  "priority of port '%s'" % self.name)
        check_bool(self.hairpin, "hairpin of port '%s'" % self.name)

    def settings(self) -> Dict[str, Any]:
        """The port settings the task manages (those it gives)."""
        values = {"cost": self.cost, "priority": self.priority, "hairpin": self.hairpin}
        return {k: v for k, v in values.items() if v is not None}


PORT_KEYS = ("name", "cost", "priority", "hairpin")


def normalize_ports(values) -> Optional[Tuple[BridgePort, ...]]:
    """ports: names or dicts -> BridgePorts sorted by name; None means 'not managed'."""
    if values is None:
        return None
    ports: Dict[str, BridgePort] = {}
    for value in values:
        if isinstance(value, BridgePort):
            port = value
        elif isinstance(value, str):
            port = BridgePort(value)
        elif isinstance(value, dict):
            unknown = sorted(set(value) - set(PORT_KEYS))
            if unknown:
                raise ValidationError(
                    "ports entry %r has unknown key(s) %s; use %s" % (value, ", ".join(unknown), ", ".join(PORT_KEYS)))
            if "name" not in value:
                raise ValidationError("ports entry %r has no name" % (value,))
            port = BridgePort(**value)
        else:
            raise ValidationError("ports entries must be interface names or dicts with a name, not %r" % (value,))
        if port.name in ports:
            raise ValidationError("ports lists '%s' twice" % port.name)
        ports[port.name] = port
    return tuple(ports[name] for name in sorted(ports))


@dataclass(frozen=True)
class Bridge(Device):
    """A Linux bridge in ``netns``. Timers are in seconds."""

    ports: Optional[Tuple[BridgePort, ...]] = None
    stp: Optional[bool] = None
    forward_delay: Optional[float] = None
    hello_time: Optional[float] = None
    max_age: Optional[float] = None
    ageing_time: Optional[float] = None
    priority: Optional[int] = None

    kind = "bridge"

    def __post_init__(self):
        super().__post_init__()
        check_bool(self.stp, "stp")
        check_int(self.priority, BRIDGE_PRIORITY_RANGE[0], BRIDGE_PRIORITY_RANGE[1], "priority")
        for option, low, high in BRIDGE_TIMER_RANGES:
            value = getattr(self, option)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise ValidationError("%s %r is out of range; use %s to %s seconds" % (option, value, low, high))
            check_timer_step(option, value)
        if self.stp and self.forward_delay is not None and self.forward_delay < 2:
            raise ValidationError(
                "forward_delay %r is too short for a bridge running STP; the kernel needs 2 to 30 seconds"
                % (self.forward_delay,))
        object.__setattr__(self, "ports", normalize_ports(self.ports))
        if self.ports and any(port.name == self.name for port in self.ports):
            raise ValidationError("bridge '%s' cannot be a port of itself" % self.name)

    def options(self) -> Dict[str, Any]:
        """The bridge options the task manages, in kernel units (timers in centiseconds)."""
        wanted: Dict[str, int] = {}
        if self.stp is not None:
            wanted["stp"] = self.stp
        for option, _low, _high in BRIDGE_TIMER_RANGES:
            value = getattr(self, option)
            if value is not None:
                wanted[option] = seconds_to_centis(value)
        if self.priority is not None:
            wanted["priority"] = self.priority
        return wanted


@dataclass(frozen=True)
class BridgeInfo:
    """A bridge's options as the kernel reports them (timers in centiseconds)."""

    stp: bool = bool(BRIDGE_DEFAULTS["stp"])
    forward_delay: int = BRIDGE_DEFAULTS["forward_delay"]
    hello_time: int = BRIDGE_DEFAULTS["hello_time"]
    max_age: int = BRIDGE_DEFAULTS["max_age"]
    ageing_time: int = BRIDGE_DEFAULTS["ageing_time"]
    priority: int = BRIDGE_DEFAULTS["priority"]


@dataclass(frozen=True)
class PortInfo:
    """A bridge port's settings."""

    cost: Optional[int] = None
    priority: Optional[int] = None
    hairpin: bool = False


BRIDGE_TIMERS = ("forward_delay", "hello_time", "max_age", "ageing_time")


def _range_hint(code: int) -> Optional[str]:
    if code == errno.ERANGE:
        return ("a bridge option is out of the kernel's range (forward_delay must be 2 to 30 seconds while STP "
                "is on, hello_time 1 to 10, max_age 6 to 40)")
    return None


def _describe(options) -> str:
    return describe_options(options, seconds=BRIDGE_TIMERS)


@dataclass(frozen=True)
class CreateBridge(LinkAction):
    # (option, kernel value) pairs, timers in centiseconds.
    options: Tuple[Tuple[str, object], ...] = ()
    phase = PHASE_CREATE_LINK

    def describe(self) -> str:
        text = "create bridge %s in %s" % (self.name, where(self.netns))
        return text + (" with %s" % _describe(self.options) if self.options else "")

    def creates(self):
        return ((self.netns, self.name),)

    def apply(self, kernel) -> None:
        kernel.new_link(self.netns, self.name, "bridge", bridge_data(self.options))

    def hint(self, code: int) -> Optional[str]:
        return _range_hint(code)


@dataclass(frozen=True)
class SetBridgeOptions(LinkAction):
    options: Tuple[Tuple[str, object], ...]
    phase = PHASE_SET_LINK

    def describe(self) -> str:
        return "set %s on bridge %s in %s" % (_describe(self.options), self.name, where(self.netns))

    def apply(self, kernel) -> None:
        self.set_kind_data(kernel, "bridge", bridge_data(self.options))

    def undo(self, before):
        link = _before_link(before, self.netns, self.name)
        if link is None or not isinstance(link.info, BridgeInfo):
            return None
        return (SetBridgeOptions(self.netns, self.name, tuple((option, getattr(link.info, option))
                                                              for option, _value in self.options)),)

    def hint(self, code: int) -> Optional[str]:
        return _range_hint(code)


@dataclass(frozen=True)
class SetPortOptions(LinkAction):
    options: Tuple[Tuple[str, int], ...]
    phase = PHASE_PORT_OPTIONS

    def describe(self) -> str:
        return "set %s on bridge port %s in %s" % (_describe(self.options), self.name, where(self.netns))

    def apply(self, kernel) -> None:
        self.set_kind_data(kernel, "bridge", port_data(self.options), port=True)

    def undo(self, before):
        link = _before_link(before, self.netns, self.name)
        if link is None or not isinstance(link.port, PortInfo):
            return None
        old = tuple((option, getattr(link.port, option)) for option, _value in self.options)
        return (SetPortOptions(self.netns, self.name, old),) if all(value is not None for _o, value in old) else None


def _ports_view(space: NamespaceState, bridge: Link, desired_ports) -> List[dict]:
    """The bridge's ports by name, with the settings the task manages."""
    managed = {port.name: port.settings() for port in desired_ports or ()}
    view = []
    for link in sorted(space.links.values(), key=lambda link: link.name):
        if bridge.index is None or link.master != bridge.index:
            continue
        entry: Dict[str, object] = {"name": link.name}
        info = link.port if isinstance(link.port, PortInfo) else PortInfo()
        for option in managed.get(link.name, {}):
            entry[option] = getattr(info, option)
        view.append(entry)
    return view


def bridge_view(desired: Bridge, link: Optional[Link], space: Optional[NamespaceState]) -> dict:
    if link is None:
        return {"name": desired.name, "netns": desired.netns, "state": "absent"}
    info = link.info if isinstance(link.info, BridgeInfo) else BridgeInfo()
    view: Dict[str, object] = {
        "name": link.name,
        "netns": desired.netns,
        "state": "present",
        "mtu": link.mtu,
        "up": link.up,
        "addresses": addresses_view(link, desired.addresses),
        "stp": info.stp,
        "priority": info.priority,
        "ports": _ports_view(space, link, desired.ports) if space is not None else [],
    }
    for option in BRIDGE_TIMERS:
        view[option] = centis_to_seconds(getattr(info, option))
    return view


def plan_bridge(p, desired: Bridge) -> ObjectResult:
    if desired.state == "absent":
        return _plan_bridge_absent(p, desired)
    p.require_netns(desired.netns, "bridge %s" % desired.name)
    space = p.space(desired.netns)
    link = p.own_link(desired.netns, desired.name, "bridge", "bridge")
    if link is None:
        _refuse_bridge_move(p, desired)
    result = ObjectResult(desired.key, before=bridge_view(desired, link, space), after={})

    created = link is None
    options = desired.options()
    if created:
        result.actions.append(CreateBridge(desired.netns, desired.name, tuple(sorted(options.items()))))
        link = Link(desired.name, index=p.new_index(), kind="bridge", mtu=1500, up=False,
                    info=replace(BridgeInfo(), **options))
    else:
        info = link.info if isinstance(link.info, BridgeInfo) else BridgeInfo()
        changes = {k: v for k, v in options.items() if getattr(info, k) != v}
        if changes:
            result.actions.append(SetBridgeOptions(desired.netns, desired.name, tuple(sorted(changes.items()))))
            link = replace(link, info=replace(info, **changes))
    space.links[link.name] = link

    attached = _plan_ports(p, result, desired, space, link)
    link = space.links[link.name]
    if desired.mtu is not None:
        # An MTU set by hand sticks; otherwise the kernel gives the bridge
        # the smallest MTU of its ports whenever a port joins.
        if link.mtu != desired.mtu or (created or attached) and _ports_mtu(space, link) != desired.mtu:
            result.actions.append(SetMtu(desired.netns, desired.name, desired.mtu))
            link = replace(link, mtu=desired.mtu)
    elif attached:
        link = replace(link, mtu=_ports_mtu(space, link) or link.mtu)
    link = p.settle(result, desired.netns, link, desired.addresses, desired)
    result.after = bridge_view(desired, link, space)
    return result


def _ports_mtu(space: NamespaceState, bridge: Link) -> Optional[int]:
    mtus = [port.mtu for port in space.links.values() if port.master == bridge.index and port.name != bridge.name]
    return min(mtus) if mtus else None


def _refuse_bridge_move(p, desired: Bridge) -> None:
    """A bridge found in the host but wanted elsewhere would have to move, which the kernel forbids."""
    if desired.netns is HOST or (HOST, desired.name) in p.notes.get("host_bridges", ()):
        return  # the host's bridge of that name is wanted too: two bridges, one name
    stray = p.space(HOST).get(desired.name)
    if stray is None or stray.kind != "bridge":
        return
    raise ConflictError(
        "bridge '%s' exists in the host namespace but the task wants it in %s; bridges are netns-local "
        "(the kernel refuses to move them: 'Invalid argument'). Delete it in the host first "
        "(netvirt.linux.bridge with state=absent and no netns; its ports are detached, not deleted) and run "
        "the task again to create it in %s, or give the bridge in %s another name (nothing was changed)"
        % (desired.name, netns_label(desired.netns), netns_label(desired.netns), netns_label(desired.netns)),
        netns=desired.netns, name=desired.name,
    )


def _plan_ports(p, result: ObjectResult, desired: Bridge, space: NamespaceState, bridge: Link) -> bool:
    """Make the bridge's ports the exact set asked for; True when a port joins."""
    if desired.ports is None:
        return False
    wanted = {port.name: port for port in desired.ports}
    link: Optional[Link]
    for link in sorted(space.links.values(), key=lambda link: link.name):
        if link.master == bridge.index and link.name not in wanted:
            result.actions.append(DetachPort(desired.netns, link.name, desired.name))
            space.links[link.name] = replace(link, master=None, port=None)
    attached = False
    for port in desired.ports:
        link = space.get(port.name)
        if link is None and p.assume_missing:
            link = p.assume(desired.netns, port.name, Link(port.name, 0, "veth", 1500, False),
                            "port '%s' of bridge '%s'" % (port.name, desired.name))
        if link is None:
            raise DeviceMissingError(
                "port '%s' of bridge '%s' does not exist in %s; create it there first (for example the "
                "bridge end of a veth pair, netvirt.linux.veth, or a netvirt.linux.tap) - a bridge can only "
                "hold interfaces of its own namespace (nothing was changed)"
                % (port.name, desired.name, netns_label(desired.netns)),
                netns=desired.netns, name=port.name,
            )
        if link.kind == "bridge":
            raise ConflictError(
                "port '%s' of bridge '%s' is itself a bridge; a bridge cannot be a port of another bridge "
                "(nothing was changed)" % (port.name, desired.name), netns=desired.netns, name=port.name)
        if getattr(link.info, "mode", None) == "tun":  # a tun-mode tun/tap device planned in this run
            raise ConflictError(
                "port '%s' of bridge '%s' is a tun device (IP packets, no Ethernet frames) and cannot join a "
                "bridge; recreate it in mode tap (nothing was changed)" % (port.name, desired.name),
                netns=desired.netns, name=port.name)
        if link.link_type is not None and link.link_type != ARPHRD_ETHER:
            # br_add_if() takes Ethernet devices only (loopback, tun, ip tunnels: EINVAL).
            raise ConflictError(
                "port '%s' of bridge '%s' is %s, not an Ethernet device, and cannot join a bridge "
                "(nothing was changed)" % (port.name, desired.name, "the loopback device"
                                           if link.link_type == ARPHRD_LOOPBACK else
                                           "a device of hardware type %d" % link.link_type),
                netns=desired.netns, name=port.name)
        if link.master != bridge.index:
            previous = space.by_index(link.master) if link.master is not None else None
            result.actions.append(AttachPort(desired.netns, port.name, desired.name,
                                             previous.name if previous is not None else None))
            link = replace(link, master=bridge.index, port=PortInfo(priority=32))
            attached = True
        info = link.port if isinstance(link.port, PortInfo) else PortInfo()
        changes = {k: v for k, v in port.settings().items() if getattr(info, k) != v}
        if changes:
            result.actions.append(SetPortOptions(desired.netns, port.name, tuple(sorted(changes.items()))))
            link = replace(link, port=replace(info, **changes))
        space.links[link.name] = link
    return attached


def _plan_bridge_absent(p, desired: Bridge) -> ObjectResult:
    # The kernel detaches the ports; it never deletes them.
    return p.plan_link_absent(desired, "bridge", "bridge",
                              lambda link, space: bridge_view(desired, link, space))


BRIDGE_NLA = {
    "stp": "IFLA_BR_STP_STATE",
    "forward_delay": "IFLA_BR_FORWARD_DELAY",
    "hello_time": "IFLA_BR_HELLO_TIME",
    "max_age": "IFLA_BR_MAX_AGE",
    "ageing_time": "IFLA_BR_AGEING_TIME",
    "priority": "IFLA_BR_PRIORITY",
}


# What parse reads of IFLA_INFO_DATA (<linux/if_link.h>), for the reader's own decoder.
INFO_ATTRIBUTES = {"IFLA_BR_FORWARD_DELAY": (1, "=I"), "IFLA_BR_HELLO_TIME": (2, "=I"), "IFLA_BR_MAX_AGE": (3, "=I"),
                   "IFLA_BR_AGEING_TIME": (4, "=I"), "IFLA_BR_STP_STATE": (5, "=I"), "IFLA_BR_PRIORITY": (6, "=H")}


def bridge_data(options) -> bytes:
    """(option, value) pairs -> the IFLA_INFO_DATA block of a bridge (IFLA_BR_*, laid out as read)."""
    return _nlwire.packed((INFO_ATTRIBUTES[BRIDGE_NLA[option]], int(value)) for option, value in options)


def parse(_link: dict, data: Optional[dict]) -> BridgeInfo:
    if data is None:
        return BridgeInfo()
    values: Dict[str, Any] = {}
    for option, nla in BRIDGE_NLA.items():
        value = data[nla]
        if value is not None:
            values[option] = bool(value) if option == "stp" else int(value)
    return BridgeInfo(**values)


# What parse_port reads of IFLA_INFO_SLAVE_DATA (<linux/if_link.h>), for the reader's own decoder.
PORT_ATTRIBUTES = {"IFLA_BRPORT_PRIORITY": (2, "=H"), "IFLA_BRPORT_COST": (3, "=I"), "IFLA_BRPORT_MODE": (4, "=B")}


# A port's settings by the kernel's names (it calls hairpin mode IFLA_BRPORT_MODE).
PORT_NLA = {"priority": "IFLA_BRPORT_PRIORITY", "cost": "IFLA_BRPORT_COST", "hairpin": "IFLA_BRPORT_MODE"}


def port_data(options) -> bytes:
    """(setting, value) pairs -> a port's IFLA_INFO_SLAVE_DATA block (IFLA_BRPORT_*, laid out as read)."""
    return _nlwire.packed((PORT_ATTRIBUTES[PORT_NLA[option]], int(value)) for option, value in options)


def parse_port(data: Optional[dict]) -> PortInfo:
    if data is None:
        return PortInfo()
    return PortInfo(cost=data["IFLA_BRPORT_COST"], priority=data["IFLA_BRPORT_PRIORITY"],
                    hairpin=bool(data["IFLA_BRPORT_MODE"]))


def stands_on(desired: Bridge) -> list:
    """Its ports: they exist before the bridge is planned, which attaches them."""
    return [(desired.netns, port.name) for port in desired.ports or ()]


def prepare(p, bridges) -> None:
    """The host's bridges this plan wants: one of those and a namespaced bridge may share a name."""
    p.notes["host_bridges"] = {(obj.netns, obj.name) for obj in bridges if obj.netns is HOST and obj.state == "present"}


def convert_port(entry: dict) -> dict:
    """A bridge port given as a dict, converted and checked as Ansible does suboptions.

    Returns the given keys with their converted values; raises ValueError with
    Ansible's own words when the entry does not fit PORT_OPTIONS.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible.module_utils.errors import UnsupportedError

    result = ArgumentSpecValidator(PORT_OPTIONS).validate(dict(entry))
    if result.error_messages:  # the errors object has no truth value of its own
        raise ValueError("; ".join(
            "unsupported parameter %s" % error if isinstance(error, UnsupportedError) else str(error)
            for error in result.errors.errors))
    return {key: value for key, value in result.validated_parameters.items() if value is not None}


def from_params(params: dict) -> Bridge:
    """Port dicts are converted and checked as Ansible converts suboptions (C("10") becomes 10)."""
    params = {key: value for key, value in params.items() if value is not None and key in Bridge.__dataclass_fields__}
    ports = []
    for index, port in enumerate(params.get("ports") or ()):
        if isinstance(port, dict):
            try:
                port = convert_port(port)
            except ValueError as exc:
                raise ValidationError(".ports[%d]: %s" % (index, exc)) from None
        ports.append(port)
    if "ports" in params:
        params["ports"] = ports
    return Bridge(**params)


PORT_PRIORITY_DEFAULT = 32
# The path cost the kernel gives a new port (br_port_cost: from the device's speed, 100 when it has none):
# a port's cost is described when it differs.
PORT_COST_DEFAULT = {"veth": 2, "tun": 2, "vxlan": 100}


def auto_cost(space, link: Link) -> Optional[int]:
    """The cost the kernel would give this port by itself; None when not known (never described)."""
    if link.kind == "macvlan" and link.info is not None:
        parent = space.by_index(getattr(link.info, "parent", None))
        return PORT_COST_DEFAULT.get(parent.kind or "") if parent is not None else None
    return PORT_COST_DEFAULT.get(link.kind or "")


def describe_ports(reader, netns, bridge: Link, entry: dict) -> None:
    """A bridge's ports: the described devices whose master it is, with their non-default settings; its MTU
    when it is not what the kernel derives from them."""
    space = reader.world.spaces[netns]
    mtus = []
    for link in sorted(space.links.values(), key=lambda item: item.name):
        port_info: Any = link.port
        if link.master != bridge.index:
            continue
        if (netns, link.name) not in reader.described:
            if reader.mine(link):
                reader.warn("bridge %s in %s: port %s is not described (see left_out)" % (
                    bridge.name, reader.label(netns), link.name))
            continue
        port: dict = {"name": link.name}
        if port_info is not None and port_info.cost not in (None, auto_cost(space, link)):
            port["cost"] = port_info.cost
        if port_info is not None and port_info.priority not in (None, PORT_PRIORITY_DEFAULT):
            port["priority"] = port_info.priority
        if port_info is not None and port_info.hairpin:
            port["hairpin"] = True
        entry["ports"].append(port)
        mtus.append(link.mtu)
    if bridge.mtu != (min(mtus) if mtus else reader.DEFAULT_MTU):
        entry["mtu"] = bridge.mtu


def describe(reader, netns, link: Link) -> dict:
    """lab_info: a bridge with its non-default settings; its ports once every device is described."""
    info: Any = link.info
    entry = reader.entry(netns, link)
    entry["ports"] = []
    if info is not None:
        for option, default in BRIDGE_DEFAULTS.items():
            value = getattr(info, option)
            if value != default:
                entry[option] = value if option in ("stp", "priority") else centis_to_seconds(value)
    entry["addresses"] = reader.addresses(link)
    entry["up"] = link.up
    reader.later(lambda: describe_ports(reader, netns, link, entry))
    return entry


KIND = Kind(
    name="bridge", desired=Bridge, plan=plan_bridge, options=OPTIONS, returns=RETURNS,
    link_kind="bridge", parse=parse, info_attributes=INFO_ATTRIBUTES,
    parse_port=parse_port, port_attributes=PORT_ATTRIBUTES, new_port=lambda: PortInfo(priority=32),
    prepare=prepare, from_params=from_params, stands_on=stands_on,
    snapshot=("stp_state", "forward_delay", "hello_time", "max_age", "ageing_time", "priority", "vlan_filtering"),
    snapshot_port=("cost", "priority", "hairpin"),
    describe=describe,
)
