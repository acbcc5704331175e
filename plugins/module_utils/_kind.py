# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a kind is: everything the engine, the adapter and `topology` need to know of one.

Each kind's file (_kind_*.py) holds its desired dataclass, its read-back
parser, its planning and its actions, and ends with one ``KIND = Kind(...)``
that the registry (_kinds.py) lists. Nothing outside a kind's file names the
kind: the planner dispatches to ``Kind.plan``, the adapter decodes a device
with the ``Kind`` whose ``link_kind`` matches IFLA_INFO_KIND, ownership asks
``Kind.owned``, `topology` builds its sections from ``Kind.section`` and
``Kind.options``, and `lab_info` describes what it read with ``Kind.describe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import HOST

Interface = Tuple[Optional[str], str]


def link_owned(desired) -> List[Interface]:
    """A device that is one interface, ``name`` in ``netns``."""
    return [(desired.netns, desired.name)]


def link_namespaces(desired) -> List[Optional[str]]:
    """Its own namespace, and the host: a device made the seeds' way (in the host, then moved) is found."""
    return [desired.netns, HOST]


def nothing(desired) -> list:
    return []


def link_stands_on(desired) -> List[Interface]:
    """The bridge it joins (``master``), if it names one."""
    master = getattr(desired, "master", None)
    return [(desired.netns, master)] if master else []


def link_endpoints(desired) -> list:
    """[(netns, name, addresses)]: the interfaces it occupies in a lab, with the addresses it gives them."""
    return [(desired.netns, desired.name, desired.addresses)]


@dataclass(frozen=True)
class Kind:
    # The kind's name: ``desired.kind``, the single-object module's name, the key in plans and results.
    name: str
    # The desired-state dataclass; its fields are the options the engine takes.
    desired: type
    # plan(planner, desired) -> _results.ObjectResult: the actions and before/after views for one object.
    plan: Callable
    # The module's options (an Ansible argument spec whose entries may carry their documentation).
    options: Dict[str, Any]
    # The topology section holding a list of such objects; omitted, the name's plural ("veths").
    section: str = ""
    # Options of the module that a topology entry does not take (the lab decides ``state``).
    section_skip: Tuple[str, ...] = ("state",)
    # Options an object needs to be present: a topology entry must give them, and the module with state=present
    # (its required_if, _module.run_module), although it may go without them to delete (a veth's peer).
    section_required: Tuple[str, ...] = ()
    # The module's return values, documented in RETURN's keys (_options.ACTIONS, VIEW, VALUE ...): the module's
    # RETURN block is generated from it (scripts/gen_return.py, checked by tests/unit/test_docs.py).
    returns: Optional[Dict[str, Any]] = None
    # owned(desired) -> the interfaces the object stands for, as (netns, name): marked as the lab's.
    owned: Callable[..., List[Interface]] = link_owned
    # endpoints(desired) -> [(netns, name, addresses)]: interfaces it occupies in a lab (checked by `topology`).
    endpoints: Callable[..., list] = link_endpoints
    # namespaces(desired) -> the namespaces whose links must be read to plan it.
    namespaces: Callable[..., List[Optional[str]]] = link_namespaces
    # names(desired) -> {netns: {device name}}: every device its planner looks at, when it looks at no
    # other (no scan of a namespace's links). A task of such objects alone (not a lab) then reads only
    # those devices and the ends they pair with, not whole namespaces. None: it reads whole namespaces.
    names: Optional[Callable[..., Dict[Optional[str], set]]] = None
    # reads(desired) -> [(netns, item)]: namespace-wide state it needs beyond links (routes, sysctls) ...
    reads: Callable[..., Iterable[tuple]] = nothing
    # ... read by read(kernel, netns, items) -> {NamespaceState field: value}.
    read: Optional[Callable] = None
    # IFLA_INFO_KIND of its devices; None for what is not a device (a namespace, a route).
    link_kind: Optional[str] = None
    # parse(link, data) -> the kind's info object for Link.info: ``link`` a dict of the message's own
    # attributes it declares (link_attributes), ``data`` one of IFLA_INFO_DATA's (info_attributes), or None.
    parse: Optional[Callable] = None
    # The attributes parse reads, {pyroute2 name: (number, format)}, format being struct's or "ipv4"/"ipv6":
    # the adapter decodes only those (_nlwire.decode, values as pyroute2's, None when absent), and a kind
    # packs what it sends by the same layout (_nlwire.packed).
    info_attributes: Optional[Dict[str, Tuple[int, str]]] = None
    link_attributes: Optional[Dict[str, Tuple[int, str]]] = None
    # For kinds that are masters (a bridge): parse_port(data) -> Link.port, and a new port's settings.
    parse_port: Optional[Callable] = None
    # The attributes parse_port reads of IFLA_INFO_SLAVE_DATA, laid out as info_attributes.
    port_attributes: Optional[Dict[str, Tuple[int, str]]] = None
    new_port: Optional[Callable] = None
    # The configuration of its devices as `ip -j -d link` shows it (keys of info_data), which the tests'
    # kernel snapshot compares; () when the common fields say it all. None: not declared (a test fails).
    snapshot: Optional[Tuple[str, ...]] = None
    # For masters: the keys of a port's info_slave_data that are configuration.
    snapshot_port: Tuple[str, ...] = ()
    # IFLA_LINK of its devices names a peer, paired by _model.resolve_peers (a veth).
    peered: bool = False
    # lower(link) -> the ifindex, in the link's own namespace, of the device it is made on (a macvlan's
    # parent), or None. The kernel deletes it together with that device, so removal deletes only the lower.
    lower: Optional[Callable] = None
    # prepare(planner, objects): called once per plan with this kind's objects, before any is planned.
    prepare: Optional[Callable] = None
    # stands_on(desired) -> [(netns, name)]: the devices it is made on or joins (a macvlan's parent, a vxlan's
    # underlay, a port's master, a bridge's ports). The planner plans it after the objects that make them
    # (_plan.dependency_order), and removes it before them.
    stands_on: Callable[..., List[Interface]] = link_stands_on
    # reaches(desired) -> [(netns, address)]: addresses it needs on a subnet connected to that namespace (a
    # route's gateway): planned after the objects that give one of its interfaces such a subnet.
    reaches: Callable[..., list] = nothing
    # connects(desired) -> [(netns, ip_network)]: subnets it connects to a namespace beyond its endpoints'
    # addresses (a route with a dev and no gateway), which such gateways may lie on.
    connects: Callable[..., list] = nothing
    # exclusive(desired) -> (key, what, why) or None: what the kernel allows one object of in a namespace (a
    # route's table, destination and metric; a vxlan's vni and port): two objects of one key contradict each
    # other, and `topology` refuses the second, naming both.
    exclusive: Optional[Callable[..., Optional[Tuple[tuple, str, str]]]] = None
    # takes_over(desired) -> [(netns, name)]: devices whose receive path it takes (a macvlan's parent). The
    # kernel gives a device's receive path to one upper kind only, so such a device is no bridge's port.
    takes_over: Callable[..., List[Interface]] = nothing
    # Objects of this kind contain the others (namespaces): kept by name when a lab prunes.
    container: bool = False
    # from_params(params) -> the desired object, from a module's (or a topology entry's) converted options,
    # for kinds whose options need more than Ansible's conversion (a tap's owner name, a bridge's port dicts).
    from_params: Optional[Callable] = None
    # The engine that plans and applies it: "netlink" (this package's planner) or "netfilter" (_iptables).
    engine: str = "netlink"
    # The documentation of its `topology` section (plugins/doc_fragments/kinds.py): what the entries are
    # ("veth pairs"; None: the section's name), and lines of the section's own.
    section_noun: Optional[str] = None
    section_doc: Tuple[str, ...] = ()
    # How `lab_info` describes what it read as entries of this kind's `topology` section (the reader is a
    # _labinfo.LabReader: the read World, the namespaces in scope, and the helpers every kind shares). A kind of
    # device: describe(reader, netns, link) -> the entry of one of its devices, or None when it is left out
    # (reader.skip says why). Any other kind: describe(reader) -> the section's entries, asked once every
    # device is described. None: not declared (tests/unit/test_registry.py fails).
    describe: Optional[Callable] = None
    # The items ``read`` reads that ``describe`` needs, read by `lab_info` in every namespace it describes
    # (a route's {"routes"}); () when the links say all.
    describe_reads: Tuple[str, ...] = ()
    # expand(desired) -> objects of other kinds its options stand for (a veth's shaping of either end): built with
    # it by its module and by `topology`, and planned after it. None: none.
    expand: Optional[Callable[..., list]] = None
    # prune(planner, desired, interfaces) -> [ObjectResult]: for a lab that prunes, what of this kind the lab made
    # on ``interfaces`` (the lab's devices that stay, [(netns, Link)] as read) that ``desired`` (the lab's objects
    # of this kind) no longer names, removed (a dropped shaping's qdisc). None: nothing of it outlives its
    # devices. A teardown deletes every device of the lab, and what they carry with them: it calls none.
    prune: Optional[Callable[..., list]] = None
    # The items ``read`` reads that ``prune`` needs, read in every namespace a pruning lab reads.
    prune_reads: Tuple[str, ...] = ()

    def __post_init__(self):
        if not self.section:
            object.__setattr__(self, "section", self.name + "s")

    def build(self, params: dict):
        """The desired object for these options (None values: not given)."""
        if self.from_params is not None:
            return self.from_params(params)
        fields = getattr(self.desired, "__dataclass_fields__", {})
        return self.desired(**{key: value for key, value in params.items() if key in fields and value is not None})
