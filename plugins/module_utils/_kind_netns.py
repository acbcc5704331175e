# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``netns``: a named network namespace, its loopback and its ``net.*`` sysctls."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Iterable, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _sysctl
from ansible_collections.netvirt.linux.plugins.module_utils._actions import PHASE_CREATE_NETNS, PHASE_DELETE_NETNS, PHASE_SYSCTL, Action, SetUp, where
from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, KernelError
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind, nothing
from ansible_collections.netvirt.linux.plugins.module_utils._model import (
    ARPHRD_LOOPBACK,
    HOST,
    Link,
    NamespaceState,
    netns_label,
    normalize_sysctls,
    stale_message,
    validate_netns_name,
    validate_state,
)
from ansible_collections.netvirt.linux.plugins.module_utils._options import ACTIONS, STATE, STATE_VALUE, VALUE, VIEW
from ansible_collections.netvirt.linux.plugins.module_utils._results import ObjectResult, kernel_made, tenant_text

OPTIONS = dict(
    name=dict(type="str", required=True, description=["Name of the namespace."]),
    state=STATE("the namespace", "Deleting a namespace destroys the virtual devices in it (a veth end in it takes its "
                "peer with it) unless a process still holds the namespace open: O(state=absent) refuses a namespace "
                "that holds any device but C(lo) and the kernel's fallback tunnel devices (C(tunl0), C(sit0), "
                "C(ip6tnl0), C(gre0), ...), naming them, unless O(force=true)."),
    force=dict(type="bool", default=False, description=[
        "With O(state=absent), delete the namespace even though it holds devices other than C(lo) and the "
        "kernel's fallback tunnel devices; they are destroyed with it (a veth end in it takes its peer, "
        "wherever that is, with it).",
        "Without it such a namespace is refused, in check mode too, and nothing is changed: delete its devices "
        "first (M(netvirt.linux.veth), M(netvirt.linux.bridge), ... with O(state=absent)).",
        "Ignored with O(state=present).",
    ]),
    loopback=dict(type="bool", default=True, description=[
        "Bring the loopback device C(lo) of the namespace up.",
        "With V(false) the module leaves C(lo) as it is.",
    ]),
    sysctls=dict(type="dict", description=[
        "Kernel settings of the namespace, as a mapping of C(net.*) keys to values, for example"
        " C(net.ipv4.ip_forward) for a namespace that routes.",
        "Each namespace has its own C(net.*) settings; keys outside C(net.*) are refused because they would"
        " change the whole host.",
        "Write a dot inside an interface name as C(/), as C(sysctl) does (C(net.ipv4.conf.eth0/100.rp_filter)).",
        "Keys not listed are left alone. Booleans are written as V(1) and V(0).",
    ]),
)


RETURNS = dict(
    actions=ACTIONS("create namespace iris_network", "set lo up in iris_network"),
    netns=VIEW("namespace", dict(
        name=VALUE("str", "Name of the namespace.", "iris_network"),
        state=STATE_VALUE(),
        loopback_up=VALUE("bool", "Whether C(lo) is up.", True),
        sysctls=VALUE("dict", "The values of the managed sysctls, only when O(sysctls) is given.",
                      {"net.ipv4.ip_forward": "1"}, returned="when O(sysctls) is given"),
    ), absent=False),
    interfaces=dict(
        description=["The interfaces in the namespace after the task; empty when it is absent.", "Predicted in check mode."],
        returned="always", type="list", elements="dict",
        sample=[dict(name="lo", index=1, kind=None, mtu=65536, up=True, addresses=["127.0.0.1/8", "::1/128"])]),
)


@dataclass(frozen=True)
class Netns:
    """A named network namespace."""

    name: str
    state: str = "present"
    loopback: bool = True
    # net.* sysctls of the namespace: ((key, value), ...); None = not managed.
    sysctls: Optional[Tuple[Tuple[str, str], ...]] = None
    # state=absent: delete it even when it holds devices besides lo and the kernel's fallback tunnels.
    force: bool = False

    kind = "netns"

    def __post_init__(self):
        validate_netns_name(self.name, "netns name")
        validate_state(self.state)
        object.__setattr__(self, "sysctls", normalize_sysctls(
            dict(self.sysctls) if isinstance(self.sysctls, (tuple, list)) else self.sysctls))

    @property
    def key(self) -> Tuple[str, str]:
        return ("netns", self.name)


@dataclass(frozen=True)
class CreateNetns(Action):
    name: str
    # A stale /run/netns entry of that name is removed first.
    replace_stale: bool = False
    phase = PHASE_CREATE_NETNS

    def describe(self) -> str:
        return "create namespace %s%s" % (self.name, " (replacing a stale entry)" if self.replace_stale else "")

    def creates(self):
        return ((self.name, "lo"),)

    def apply(self, kernel) -> None:
        kernel.create_netns(self.name, replace_stale=self.replace_stale)

    def undo(self, before):
        return (DeleteNetns(self.name),)


@dataclass(frozen=True)
class DeleteNetns(Action):
    name: str
    phase = PHASE_DELETE_NETNS

    def describe(self) -> str:
        return "delete namespace %s" % self.name

    def apply(self, kernel) -> None:
        kernel.delete_netns(self.name)


@dataclass(frozen=True)
class SetSysctl(Action):
    netns: Optional[str]
    key: str
    value: str
    phase = PHASE_SYSCTL

    def describe(self) -> str:
        return "set sysctl %s=%s in %s" % (self.key, self.value, where(self.netns))

    def undo(self, before):
        space = before.spaces.get(self.netns) if before is not None else None
        if space is None or self.key not in space.sysctls:
            return None
        value = space.sysctls[self.key]
        # None: the key did not exist (a device's key, of a device this run made and that goes).
        return (SetSysctl(self.netns, self.key, value),) if value is not None else ()

    def apply(self, kernel) -> None:
        with kernel.inside(self.netns):
            try:
                # Confined to /proc/sys/net, write-only, never created or truncated.
                _sysctl.write(self.key, self.value)
            except FileNotFoundError:
                raise KernelError("sysctl %s does not exist in %s (check the key; per-interface keys need the "
                                  "interface to exist)" % (self.key, netns_label(self.netns))) from None
            except OSError as exc:
                raise KernelError("the kernel refused sysctl %s=%s in %s: %s" % (
                    self.key, self.value, netns_label(self.netns), exc.strerror)) from None


def netns_view(name: str, exists: bool, space: Optional[NamespaceState]) -> dict:
    lo = space.get("lo") if space else None
    return {
        "name": name,
        "state": "present" if exists else "absent",
        "loopback_up": bool(lo and lo.up),
    }


def plan_netns(p, desired: Netns) -> ObjectResult:
    exists = p.exists(desired.name)
    space = p.spaces.get(desired.name) if exists else None
    result = ObjectResult(desired.key, before=netns_view(desired.name, exists, space), after={})
    stale = desired.name in p.stale
    if desired.state == "absent":
        if exists and not desired.force:
            _refuse_tenants(p, desired.name)
        for link in space.links.values() if space is not None else ():
            peer_netns, peer = p.partner(desired.name, link)
            if peer is not None and peer_netns != desired.name:
                p.reaped.append((peer_netns, peer.name))  # goes with the namespace, a moment later
        if exists or stale:
            result.actions.append(DeleteNetns(desired.name))
            p.namespaces.discard(desired.name)
            p.stale.discard(desired.name)
            p.spaces.pop(desired.name, None)
        result.after = netns_view(desired.name, False, None)
        return result

    if stale:
        p.warnings.append(stale_message(desired.name) + "; replaced by a new namespace")
        p.stale.discard(desired.name)
    if not exists:
        result.actions.append(CreateNetns(desired.name, replace_stale=stale))
        p.namespaces.add(desired.name)
        # A new namespace holds only a loopback device, down.
        p.spaces[desired.name] = NamespaceState(
            desired.name,
            {"lo": Link(name="lo", index=1, kind=None, mtu=65536, up=False, link_type=ARPHRD_LOOPBACK)})
    space = p.space(desired.name)
    lo = space.get("lo")
    if desired.loopback and lo is not None and not lo.up:
        result.actions.append(SetUp(desired.name, "lo", True))
        space.links["lo"] = replace(lo, up=True)
    for key, value in desired.sysctls or ():
        if exists and space.sysctls.get(key) is None:
            raise ConflictError(
                "sysctl %s does not exist in namespace '%s' (check the key; per-interface keys need the "
                "interface to exist); nothing was changed" % (key, desired.name), netns=desired.name, key=key)
        if space.sysctls.get(key) != value:
            result.actions.append(SetSysctl(desired.name, key, value))
            space.sysctls[key] = value
    result.after = netns_view(desired.name, True, space)
    if desired.sysctls is not None:
        keys = [key for key, _value in desired.sysctls]
        result.before["sysctls"] = {key: (p.world.space(desired.name).sysctls.get(key) if exists else None)
                                    for key in keys}
        result.after["sysctls"] = {key: space.sysctls.get(key) for key in keys}
    return result


def _refuse_tenants(p, name: str) -> None:
    """Deleting a namespace destroys every device in it: refuse one that holds any but lo and the kernel's own."""
    space = p.spaces.get(name)
    tenants = [link for link in sorted(space.links.values(), key=lambda item: item.name)
               if link.name != "lo" and not kernel_made(link)] if space is not None else []
    if tenants:
        raise ConflictError(
            "namespace '%s' holds %s, which deleting it would destroy: %s; delete them first, or set force=true to "
            "destroy them with it (nothing was changed)"
            % (name, "a device" if len(tenants) == 1 else "devices",
               ", ".join(tenant_text(p, name, link) for link in tenants)),
            netns=name, devices=[link.name for link in tenants])


def owned(desired) -> list:
    return [(desired.name, "lo")] if desired.state == "present" else []


def namespaces(desired) -> list:
    # Deleting it: the host too, so that a refusal names where a tenant veth's peer is.
    return [desired.name] + ([HOST] if desired.state == "absent" else [])


def reads(desired) -> Iterable[tuple]:
    return [(desired.name, key) for key, _value in desired.sysctls or ()]


def read(kernel, netns: Optional[str], keys) -> Dict[str, object]:
    values: Dict[str, Optional[str]] = {}
    with kernel.inside(netns):
        for key in keys:
            # Confined to /proc/sys/net; None when the key does not exist here.
            values[key] = _sysctl.read(key)
    return {"sysctls": values}


# Sysctls that differ in every namespace by design (random keys), or cannot be read back.
SYSCTL_VOLATILE = ("net.ipv4.tcp_fastopen_key", "stable_secret")


def sysctl_changes(values, defaults) -> Dict[str, str]:
    """The ``net.*`` settings whose value differs from a fresh namespace's."""
    changed = {}
    for key, value in sorted(values.items()):
        if value is None or not value or key not in defaults or any(word in key for word in SYSCTL_VOLATILE):
            continue
        if value != defaults[key]:
            changed[key] = value
    return changed


def describe(reader) -> list:
    """lab_info: the named namespaces in scope, with their loopback's state and changed sysctls."""
    namespaces = []
    for netns in reader.spaces:
        if netns is HOST:
            continue
        space = reader.world.spaces[netns]
        lo = space.get("lo")
        entry: dict = {"name": netns, "loopback": bool(lo is not None and lo.up)}
        sysctls = sysctl_changes(space.sysctls, reader.sysctl_defaults)
        if sysctls:
            entry["sysctls"] = sysctls
        namespaces.append(entry)
    return namespaces


KIND = Kind(
    endpoints=nothing,
    name="netns", section="namespaces", desired=Netns, plan=plan_netns, options=OPTIONS, returns=RETURNS,
    owned=owned, namespaces=namespaces, reads=reads, read=read,
    stands_on=nothing, container=True, section_skip=("state", "force"),
    describe=describe,
)
