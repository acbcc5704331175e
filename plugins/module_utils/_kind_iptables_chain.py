# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind ``iptables_chain``: a chain of a netfilter table in a namespace.

The netlink planner never sees one: chains are read, planned and written by
the netfilter engine (_iptables.reconcile). The registry entry gives the
single module and `topology`'s ``iptables_chains`` section their options.

:class:`LabChains` is what a `topology` lab needs beyond that: its chains are
proven before the lab's netlink objects change (every rule loaded in a
throwaway namespace, every chain planned), written after them, and listed in
the lab's record with the backend that wrote them, so that a later run
removes the ones its description no longer names.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import NetvirtError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._iptables_rules import IP_VERSIONS, TABLES, IptablesChain, parse_save
from ansible_collections.netvirt.linux.plugins.module_utils._kind import Kind, nothing
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import HOST
from ansible_collections.netvirt.linux.plugins.module_utils._options import ACTIONS, NETNS, STATE, STATE_VALUE, VALUE, VIEW

OPTIONS: Dict[str, dict] = dict(
    table=dict(
        type="str", choices=["filter", "nat", "mangle", "raw", "security"], default="filter",
        description=["The netfilter table."]),
    chain=dict(
        type="str", required=True,
        description=[
            "Name of the chain. A built-in chain of O(table) (C(INPUT), C(FORWARD), C(OUTPUT), C(PREROUTING), "
            "C(POSTROUTING) as the table has them), or a user-defined chain, created when missing.",
            "At most 28 characters, no white space, quotes or control characters."]),
    state=STATE("the chain", "V(absent) deletes a user-defined chain with its rules, refused while rules of other "
                "chains jump to it; built-in chains cannot be deleted, use O(rules=[]) to empty one."),
    policy=dict(
        type="str", choices=["ACCEPT", "DROP"],
        description=[
            "Policy of a built-in chain. Omit it to leave the policy alone.",
            "User-defined chains have no policy; giving one for them is an error (end the chain with a "
            "C(-j DROP) rule instead).",
            "V(DROP) on a chain of table C(nat) is refused, as C(iptables -P) refuses it."]),
    rules=dict(
        type="list", elements="str",
        description=[
            "The ordered list of rules the chain holds, each written as iptables arguments after C(-A CHAIN).",
            "Quote arguments with spaces as a shell would, for example C(-m comment --comment \"allow ssh\").",
            "A rule holding a control character (tab, a line break, vertical tab, form feed, C(\\x1c)-C(\\x1f), "
            "C(\\x85), and the like) or a Unicode line or paragraph separator is refused before anything is read "
            "or written, since in saved tables such a character could split the rule into others.",
            "The chain is made to hold exactly these rules in this order; rules not listed are removed. "
            "V([]) empties the chain; omit the option to leave the rules alone.",
            "A rule that iptables expands into several (C(-s 10.0.0.1,10.0.0.2)) counts as all of them.",
            "A jump (C(-j)/C(-g)) to a user-defined chain needs that chain to exist already; the module does not "
            "create it."]),
    ip_version=dict(
        type="str", choices=["ipv4", "ipv6", "both"], default="ipv4",
        description=[
            "Which tables to manage, V(ipv4) (C(iptables)), V(ipv6) (C(ip6tables)) or V(both), with the same "
            "rules."]),
    backend=dict(
        type="str", choices=["auto", "legacy", "nft"], default="auto",
        description=[
            "V(auto) follows the host's C(iptables) command (C(iptables -V) says C(nf_tables) or C(legacy)), so "
            "that C(iptables -S) on the host shows what the module wrote.",
            "V(nft) writes the nf_tables tables with C(iptables-nft-restore).",
            "V(legacy) writes the x_tables tables with python-iptables. Before it touches a real table, "
            "python-iptables writes the same change in a throwaway namespace and must produce exactly what "
            "C(iptables-legacy-restore) produces; where it does not (python-iptables does not work with every "
            "libxtables release, for example 1.8.11) or is not installed, the module writes with "
            "C(iptables-legacy-restore) and warns. RV(engine) tells which was used."]),
    lock_timeout=dict(
        type="int", default=30,
        description=[
            "Seconds to wait for the xtables lock (C(/run/xtables.lock), or C($XTABLES_LOCKFILE)) while another "
            "process holds it, as C(iptables -w SECONDS) does. When it is still held after that, the task fails "
            "naming the lock file and, where C(/proc) shows it, the holding process (pid and command line), with "
            "no chain read or changed.",
            "V(0) fails at once when the lock is held."]),
    netns=NETNS("the chain"),
)


RETURNS: Dict[str, dict] = dict(
    actions=ACTIONS("create chain SSH_IN in table filter (ipv4) in the host namespace",
                    "replace the rules of chain SSH_IN in table filter (ipv4) in the host namespace (0 -> 2)"),
    backend=dict(description="The backend used, V(nft) or V(legacy).", returned="always", type="str", sample="nft"),
    engine=dict(description=[
        "What wrote (or, in check mode, would write) the tables, C(iptables-nft-restore), C(python-iptables) or"
        " C(iptables-legacy-restore).",
        "Null when nothing needed changing.",
    ], returned="always", type="str", sample="iptables-nft-restore"),
    chain=VIEW("chain", dict(
        table=VALUE("str", "The table.", "filter"),
        chain=VALUE("str", "The chain.", "SSH_IN"),
        netns=VALUE("str", "The namespace; null for the host's own.", None),
        ipv4=dict(description="The chain in the IPv4 table, when O(ip_version) includes it.", type="dict",
                  returned="when O(ip_version) is V(ipv4) or V(both)", contains=dict(
                      state=STATE_VALUE(),
                      policy=VALUE("str", "Policy of a built-in chain; null for user-defined chains.", None),
                      rules=VALUE("list", "The rules, as C(iptables-save) prints them after C(-A CHAIN).",
                                  ['-s 10.0.1.0/24 -p tcp -m tcp --dport 22 -m comment --comment "lab admins" -j ACCEPT'],
                                  elements="str"),
                  )),
        ipv6=dict(description="The chain in the IPv6 table, likewise.", type="dict",
                  returned="when O(ip_version) is V(ipv6) or V(both)"),
    ), absent=False),
)

# (netns, family, table, chain, backend variant): one chain the lab wrote, as its record lists it.
ChainKey = Tuple[str, str, str, str, str]


def planned_by_netfilter(p, desired):
    raise TypeError("iptables chains are planned and applied by the netfilter engine (_iptables.reconcile), "
                    "never by the netlink planner: %r" % (desired,))


def lock_timeout(value, option: str = "lock_timeout") -> int:
    """The seconds to wait for the xtables lock, checked: a whole number, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("%s must be a whole number of seconds, 0 or more (got %r)" % (option, value))
    return value


def from_params(params: dict) -> IptablesChain:
    """The chain for these options; those not given take the module's defaults (Ansible fills them in, a
    description built without Ansible may not)."""
    fields = IptablesChain.__dataclass_fields__
    values: Dict[str, Any] = {name: entry["default"] for name, entry in OPTIONS.items()
                              if isinstance(entry, dict) and "default" in entry and name in fields}
    values.update({name: value for name, value in params.items() if name in fields and value is not None})
    return IptablesChain(**values)


def record_keys(chain: IptablesChain, variant: str) -> List[ChainKey]:
    # Chains of a lab live in its namespaces (_topology refuses the host), so netns is a name here.
    return [(str(chain.netns), family, chain.table, chain.chain, variant) for family in chain.families]


def removals(stale: Iterable[ChainKey]) -> Dict[str, List[IptablesChain]]:
    """{variant: [chain]}: what undoes each recorded chain, a chain's IP versions merged.

    A user-defined chain is deleted; a built-in chain cannot be, so it is
    emptied and its policy set back to ACCEPT, as a new namespace has it.
    """
    families: Dict[tuple, Set[str]] = {}
    for netns, family, table, chain, variant in stale:
        families.setdefault((variant, netns, table, chain), set()).add(family)
    undo: Dict[str, List[IptablesChain]] = {}
    for (variant, netns, table, chain), found in sorted(families.items()):
        ip_version = next(name for name, fams in IP_VERSIONS.items() if set(fams) == found)
        try:
            builtin = IptablesChain(table, chain, netns, ip_version=ip_version).builtin
        except ValidationError:
            continue  # names no chain: not one the lab can have written
        undo.setdefault(variant, []).append(
            IptablesChain(table, chain, netns, policy="ACCEPT", rules=(), ip_version=ip_version) if builtin
            else IptablesChain(table, chain, netns, state="absent", ip_version=ip_version))
    return undo


def chain_actions(outcome, chain: IptablesChain) -> list:
    """The actions of a netfilter Outcome that concern one chain (each of its IP versions)."""
    return [action for plan in outcome.tables for action in plan.ordered()
            if (action.netns, action.table, action.chain) == (chain.netns, chain.table, chain.chain)
            and action.family in chain.families]


class LabChains:
    """A `topology` lab's chains: those its description names and those its record says it left behind.

    ``prove(journal)`` plans every chain in check mode before the lab's
    netlink objects change, so that a bad rule (or a chain still jumped to)
    fails the task with nothing changed; ``apply(journal)`` writes them once
    the namespaces are there, recording them first (a run killed meanwhile
    leaves chains the next run knows). With ``prune``, chains the lab wrote in
    namespaces that stay, but no longer names, are removed through the same
    engine; in namespaces being deleted nothing needs doing.
    """

    def __init__(self, chains: Sequence[IptablesChain], places: Dict[tuple, str], namespaces: Iterable[str],
                 backend: str = "auto", prune: bool = True, lock_timeout: Optional[float] = None):
        self.chains = list(chains)
        self.lock_timeout = lock_timeout
        # chain.key -> its place in the description ("iptables_chains[0]"), to name it in errors.
        self.places = dict(places)
        self.namespaces = set(namespaces)
        self.backend = backend
        self.prune = prune
        self.variant: Optional[str] = None
        self.described: Set[ChainKey] = set()
        self.stale: Set[ChainKey] = set()
        # [(variant, [IptablesChain])]: one netfilter run per backend, the current one last.
        self.runs: List[Tuple[str, List[IptablesChain]]] = []
        self.outcomes: list = []

    def prove(self, journal) -> None:
        """Read, normalise and plan every chain (check mode): raise before anything changes."""
        from ansible_collections.netvirt.linux.plugins.module_utils import _iptables

        recorded = journal.load().chains if journal is not None else set()
        if self.chains:
            self.variant = _iptables.resolve_backend(self.backend).variant
            self.described = {key for chain in self.chains for key in record_keys(chain, self.variant)}
        if self.prune:
            self.stale = {key for key in recorded if key not in self.described and key[0] in self.namespaces}
        undo = removals(self.stale)
        self.runs = [(variant, undo[variant]) for variant in sorted(undo) if variant != self.variant]
        if self.variant is not None:
            self.runs.append((self.variant, self.chains + undo.get(self.variant, [])))
        self.outcomes = [self._reconcile(variant, chains, check_mode=True) for variant, chains in self.runs]

    def apply(self, journal) -> None:
        """Write the proven chains (after the lab's namespaces exist) and record them."""
        if not self.runs:
            return
        record = journal.load()
        if not self.described <= record.chains:
            # Before the first write: a run killed now leaves no chain the lab does not know.
            record.chains |= self.described
            journal.save(record)
        # A run the proof found nothing to do for is not read again.
        self.outcomes = [self._reconcile(variant, chains, check_mode=False) if proof.changed else proof
                         for (variant, chains), proof in zip(self.runs, self.outcomes)]
        record = journal.load()
        kept = (record.chains - self.stale) | self.described
        if kept != record.chains:
            record.chains = kept
            journal.save(record)

    def _reconcile(self, variant: str, chains: List[IptablesChain], check_mode: bool):
        from ansible_collections.netvirt.linux.plugins.module_utils import _iptables

        try:
            # The lab's namespaces are made by its netlink part: in check mode, silently taken as new.
            return _iptables.reconcile(chains, variant, check_mode=check_mode, new_namespaces=self.namespaces,
                                       lock_timeout=_iptables.LOCK_TIMEOUT if self.lock_timeout is None
                                       else self.lock_timeout)
        except NetvirtError as exc:
            # A rule iptables refused: named by its place in the description.
            place = self.places.get(tuple(exc.details.get("chain_key") or ()))
            if place is None:
                raise
            details = {key: value for key, value in exc.details.items() if key != "chain_key"}
            problem = "%s: %s" % (place, exc.msg)
            msg = "the topology has 1 problem(s), nothing was changed: %s" % problem if check_mode else problem
            raise type(exc)(msg, problems=[problem], **details) from None

    # ------------------------------------------------------------ results ---

    def results(self) -> Tuple[list, list]:
        """(described, removed): one entry per chain the description names, then one per chain removed,
        as `topology` reports its objects (with the chain's diff under ``diff``)."""
        described, removed = [], []
        names = {id(chain) for chain in self.chains}
        for outcome in self.outcomes:
            for result in outcome.chains:
                chain = result.desired
                actions = [action.describe() for action in chain_actions(outcome, chain)]
                entry = {"key": list(chain.key), "changed": bool(actions), "actions": actions,
                         "after": dict(table=chain.table, chain=chain.chain, netns=chain.netns, **result.views),
                         "diff": result.diff()}
                if id(chain) in names:
                    described.append(entry)
                elif actions:
                    removed.append(entry)
        return described, removed

    @property
    def changed(self) -> bool:
        return any(outcome.changed for outcome in self.outcomes)

    def actions(self) -> List[str]:
        return [action for outcome in self.outcomes for action in outcome.actions()]

    @property
    def warnings(self) -> List[str]:
        return [warning for outcome in self.outcomes for warning in outcome.warnings]


def chain_entries(saved: Dict[str, Dict[str, str]]) -> List[dict]:
    """`iptables_chains` entries from each namespace's iptables-save output ({netns: {family: text}}).

    A user-defined chain is described with its rules; a built-in chain only when it holds rules or its
    policy is not ACCEPT. A chain alike in both families is one entry with ``ip_version: both``.
    """
    entries = []
    for netns in sorted(saved):
        found: Dict[tuple, dict] = {}
        for family in ("ipv4", "ipv6"):
            text = saved[netns].get(family) or ""
            tables = [line[1:] for line in text.splitlines() if line.startswith("*") and line[1:] in TABLES]
            for table in tables:
                state = parse_save(text, table)
                for name, chain in state.chains.items():
                    if chain.policy is not None and chain.policy == "ACCEPT" and not chain.rules:
                        continue
                    entry: dict = {"table": table, "chain": name}
                    if chain.policy is not None:
                        entry["policy"] = chain.policy
                    entry["rules"] = list(chain.rules)
                    entry["netns"] = netns
                    found.setdefault((table, chain.policy is not None, name), {})[family] = entry
        for (_table, _builtin, _name), families in sorted(found.items()):
            if len(families) == 2 and families["ipv4"] == families["ipv6"]:
                entries.append(dict(families["ipv4"], ip_version="both"))
            else:
                entries.extend(dict(entry, ip_version=family) for family, entry in sorted(families.items()))
    return entries


def describe(reader) -> List[dict]:
    """lab_info: the chains of the named namespaces in scope, from the iptables-save texts read."""
    return chain_entries({ns: text for ns, text in reader.chains.items() if ns is not HOST and ns in reader.spaces})


KIND = Kind(
    name="iptables_chain", desired=IptablesChain, plan=planned_by_netfilter,
    options=OPTIONS, returns=RETURNS, engine="netfilter",
    # The lab decides state; one backend writes all of a lab's chains (the topology's iptables_backend), under
    # one wait for the xtables lock (the topology's lock_timeout).
    section_skip=("state", "backend", "lock_timeout"),
    owned=nothing, endpoints=nothing, namespaces=lambda desired: [desired.netns], from_params=from_params,
    describe=describe,
)
