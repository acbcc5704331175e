# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netfilter chains as plain data: the desired chain, the tables read back from
``iptables-save``, and the plan between them.

Pure: no Ansible, no python-iptables, no subprocess. The canonical form of a
rule is the text ``iptables-save`` prints after ``-A CHAIN``; the kernel
adapter (``_iptables.py``) produces it by loading the user's rules into a
throwaway namespace, so that comparing rules is comparing strings.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, netns_label, validate_netns_name

# Built-in chains of each table, in the order iptables-save lists them.
TABLES: Dict[str, Tuple[str, ...]] = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
HOOK_CHAINS = frozenset(c for chains in TABLES.values() for c in chains)
FAMILIES = ("ipv4", "ipv6")
IP_VERSIONS = {"ipv4": ("ipv4",), "ipv6": ("ipv6",), "both": ("ipv4", "ipv6")}
POLICIES = ("ACCEPT", "DROP")
# Verdicts that can never be chain names.
STANDARD_TARGETS = frozenset(("ACCEPT", "DROP", "RETURN", "QUEUE"))
# XT_EXTENSION_MAXNAMELEN (29) less the trailing NUL.
CHAIN_NAME_MAX = 28
# Options that say where a rule goes; in `rules` the chain is the task's `chain`.
PLACEMENT_OPTIONS = frozenset((
    "-A", "--append", "-I", "--insert", "-D", "--delete", "-R", "--replace", "-N", "--new-chain",
    "-X", "--delete-chain", "-F", "--flush", "-P", "--policy", "-t", "--table", "-Z", "--zero",
    "-E", "--rename-chain", "-S", "--list-rules", "-L", "--list",
))
JUMP_OPTIONS = ("-j", "--jump", "-g", "--goto")


# Names for the characters that most often end up in a rule by accident or on purpose.
CHARACTER_NAMES = {
    "\0": "NUL", "\t": "tab \\t", "\n": "line break \\n", "\r": "line break \\r", "\v": "vertical tab \\v",
    "\f": "form feed \\f", "\x1c": "file separator", "\x1d": "group separator", "\x1e": "record separator",
    "\x1f": "unit separator", "\x7f": "DEL", "\x85": "next line", "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


def control_character(text: str) -> Optional[str]:
    """The first control character (Unicode Cc) or line/paragraph separator in ``text``, if any.

    str.splitlines() breaks on many of them and iptables never should see them:
    a rule or chain name holding one could be read back as several lines.
    """
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return char
    return None


def describe_character(char: str) -> str:
    name = CHARACTER_NAMES.get(char)
    return "U+%04X%s" % (ord(char), ", %s" % name if name else "")


def refuse_control_characters(text: str, what: str) -> None:
    char = control_character(text)
    if char is not None:
        raise ValidationError(
            "%s contains a control character (%s); rules and chain names must be plain text on one line, "
            "since a line break or separator there could split it into other rules: remove it "
            "(nothing was changed): %r" % (what, describe_character(char), text))


def family_label(family: str) -> str:
    return "iptables" if family == "ipv4" else "ip6tables"


def where(netns: Optional[str], family: str, table: str, chain: Optional[str] = None) -> str:
    """How a chain is named in messages and actions."""
    text = "table %s (%s) in %s" % (table, family, netns_label(netns))
    return "chain %s in %s" % (chain, text) if chain else text


# ------------------------------------------------------------------ rules ---


def split_rule(rule: str, what: str) -> Tuple[str, ...]:
    """Tokenize one rule as a shell would, and refuse what cannot be a rule body."""
    if not isinstance(rule, str) or not rule.strip():
        raise ValidationError("%s is empty; write it as iptables arguments, e.g. '-p tcp --dport 22 -j ACCEPT'"
                              % what)
    refuse_control_characters(rule, what)
    try:
        tokens = tuple(shlex.split(rule))
    except ValueError as exc:
        raise ValidationError("%s cannot be split into arguments (%s): %s" % (what, exc, rule)) from None
    for token in tokens:
        if token in PLACEMENT_OPTIONS:
            raise ValidationError(
                "%s contains %s; write only the rule's matches and target (the chain is the task's "
                "'chain' and the order is the list's order): %s" % (what, token, rule))
    return tokens


def quote_token(token: str) -> str:
    """Quote one argument the way iptables-restore reads it back."""
    if token and not re.search(r'[\s"\'\\#]', token):
        return token
    return '"%s"' % token.replace("\\", "\\\\").replace('"', '\\"')


def join_rule(tokens: Iterable[str]) -> str:
    return " ".join(quote_token(t) for t in tokens)


def jump_target(tokens: Sequence[str]) -> Optional[str]:
    """The -j/-g target named by a tokenized rule, if any."""
    for index, token in enumerate(tokens[:-1]):
        if token in JUMP_OPTIONS:
            return tokens[index + 1]
    return None


@dataclass(frozen=True)
class Option:
    name: str  # without the leading dashes
    values: Tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class RuleParts:
    """A canonical rule split the way libiptc builds one (for python-iptables)."""

    basic: Tuple[Option, ...] = ()
    matches: Tuple[Tuple[str, Tuple[Option, ...]], ...] = ()
    target: Optional[str] = None
    target_options: Tuple[Option, ...] = ()
    goto: bool = False


BASIC_OPTIONS = {"-s": "src", "-d": "dst", "-i": "in_interface", "-o": "out_interface", "-p": "protocol",
                 "-f": "fragment"}


def parse_canonical(rule: str) -> RuleParts:
    """Split a rule as iptables-save prints it into basic fields, matches and target.

    Canonical text always names each match with ``-m`` before its options, so
    every ``--option`` belongs to the last ``-m`` (or to the target after ``-j``).
    """
    tokens = shlex.split(rule)
    basic: List[Option] = []
    matches: List[Tuple[str, List[Option]]] = []
    target: Optional[str] = None
    target_options: List[Option] = []
    goto = False
    current: Optional[List[Option]] = None
    negate = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "!":
            negate = True
            i += 1
            continue
        if token in BASIC_OPTIONS and current is None:
            if token == "-f":
                basic.append(Option("fragment", (), negate))
                i += 1
            else:
                basic.append(Option(BASIC_OPTIONS[token], (tokens[i + 1],), negate))
                i += 2
        elif token == "-m":
            current = []
            matches.append((tokens[i + 1], current))
            i += 2
        elif token in ("-j", "-g"):
            target = tokens[i + 1]
            goto = token == "-g"
            current = target_options
            i += 2
        elif token.startswith("--") and current is not None:
            values = []
            i += 1
            while i < len(tokens) and not tokens[i].startswith("--") and tokens[i] not in ("!", "-m", "-j", "-g"):
                values.append(tokens[i])
                i += 1
            current.append(Option(token[2:], tuple(values), negate))
        else:
            raise ValueError("cannot place %r in %r" % (token, rule))
        negate = False
    return RuleParts(
        basic=tuple(basic),
        matches=tuple((name, tuple(opts)) for name, opts in matches),
        target=target,
        target_options=tuple(target_options),
        goto=goto,
    )


# ---------------------------------------------------------------- desired ---


def validate_chain_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationError("chain must be a non-empty string")
    refuse_control_characters(name, "chain name")
    if len(name) > CHAIN_NAME_MAX:
        raise ValidationError("chain '%s' is %d characters long; iptables allows at most %d"
                              % (name, len(name), CHAIN_NAME_MAX))
    if name[0] in "-!" or any(c.isspace() or c in "\"'" for c in name):
        raise ValidationError("chain '%s' is not a valid chain name (no white space or quotes, "
                              "must not start with '-' or '!')" % name)
    if name in STANDARD_TARGETS:
        raise ValidationError("'%s' is a verdict, not a chain name" % name)
    return name


@dataclass(frozen=True)
class IptablesChain:
    """One chain of one table, in one namespace, for one or both IP versions."""

    table: str
    chain: str
    netns: Optional[str] = HOST
    state: str = "present"
    policy: Optional[str] = None
    # None: leave the rules alone; () : the chain must be empty.
    rules: Optional[Tuple[str, ...]] = None
    ip_version: str = "ipv4"

    kind = "iptables_chain"

    def __post_init__(self):
        if self.table not in TABLES:
            raise ValidationError("unknown table '%s'; netfilter tables are %s"
                                  % (self.table, ", ".join(TABLES)))
        validate_chain_name(self.chain)
        validate_netns_name(self.netns)
        if self.state not in ("present", "absent"):
            raise ValidationError("state must be 'present' or 'absent', not %r" % (self.state,))
        if self.ip_version not in IP_VERSIONS:
            raise ValidationError("ip_version must be one of %s, not %r" % (", ".join(IP_VERSIONS), self.ip_version))
        if not self.builtin and self.chain in HOOK_CHAINS:
            raise ValidationError(
                "%s is not a built-in chain of table %s (its built-in chains are %s); choose another name "
                "for a user-defined chain" % (self.chain, self.table, ", ".join(TABLES[self.table])))
        if self.policy is not None:
            if self.policy not in POLICIES:
                raise ValidationError("policy must be ACCEPT or DROP, not %r" % (self.policy,))
            if not self.builtin:
                raise ValidationError(
                    "policy applies only to built-in chains (%s of table %s); '%s' is a user-defined chain, "
                    "end it with a rule such as '-j DROP' instead" % (", ".join(TABLES[self.table]), self.table,
                                                                      self.chain))
            if self.table == "nat" and self.policy == "DROP":
                # iptables -P refuses it too; only iptables-restore's ':CHAIN DROP' and libiptc let it through.
                raise ValidationError(
                    "policy DROP on %s of table nat is refused, as iptables refuses it: the \"nat\" table is "
                    "not intended for filtering; filter in table filter (or mangle) instead" % self.chain)
        if self.state == "absent":
            if self.builtin:
                raise ValidationError(
                    "%s is a built-in chain of table %s and cannot be deleted; use rules: [] to empty it"
                    % (self.chain, self.table))
            if self.rules or self.policy:
                raise ValidationError("rules and policy cannot be combined with state: absent")
        if self.rules is not None:
            rules = tuple(self.rules)
            for index, rule in enumerate(rules, 1):
                split_rule(rule, "rule %d" % index)
            object.__setattr__(self, "rules", rules)

    @property
    def builtin(self) -> bool:
        return self.chain in TABLES[self.table]

    @property
    def families(self) -> Tuple[str, ...]:
        return IP_VERSIONS[self.ip_version]

    @property
    def key(self) -> tuple:
        return ("iptables_chain", self.netns, self.table, self.chain, self.ip_version)

    def rule_tokens(self) -> List[Tuple[str, ...]]:
        return [split_rule(rule, "rule %d" % index) for index, rule in enumerate(self.rules or (), 1)]


# ---------------------------------------------------------------- current ---


@dataclass
class ChainState:
    name: str
    policy: Optional[str]  # None for user-defined chains
    rules: List[str] = field(default_factory=list)


@dataclass
class TableState:
    """One table of one family in one namespace, as iptables-save shows it."""

    name: str
    chains: Dict[str, ChainState] = field(default_factory=dict)

    @classmethod
    def empty(cls, name: str) -> "TableState":
        """A table the kernel has not loaded yet behaves like this."""
        return cls(name, {c: ChainState(c, "ACCEPT") for c in TABLES[name]})

    def copy(self) -> "TableState":
        return TableState(self.name, {n: ChainState(c.name, c.policy, list(c.rules)) for n, c in self.chains.items()})

    def user_chains(self) -> List[str]:
        return [name for name, chain in self.chains.items() if chain.policy is None]

    def references(self, target: str) -> List[str]:
        """Rules of other chains that jump or go to ``target``, in -A syntax."""
        found = []
        for chain in self.chains.values():
            if chain.name == target:
                continue
            for rule in chain.rules:
                if jump_target(shlex.split(rule)) == target:
                    found.append("-A %s %s" % (chain.name, rule))
        return found


def save_lines(text: str) -> List[str]:
    """iptables-save output as iptables-restore reads it: lines end at "\\n" only.

    Never str.splitlines(): it also breaks at \\v, \\f, \\x1c-\\x1e, \\x85, U+2028 and
    U+2029, which anyone with CAP_NET_ADMIN can put in a comment of their own rule.
    A comment may even hold a real "\\n": iptables-save prints it inside the
    double quotes, so a rule line whose quotes are still open continues on the next.
    """
    lines: List[str] = []
    pending: Optional[str] = None
    for line in text.split("\n"):
        if pending is not None:
            pending += "\n" + line
            if not _open_quote(pending):
                lines.append(pending)
                pending = None
            continue
        if line.startswith("-A ") and _open_quote(line):
            pending = line
        else:
            lines.append(line)
    if pending is not None:
        # Never closed: not a quoted string after all; read the lines one by one.
        lines.extend(pending.split("\n"))
    return lines


def _open_quote(line: str) -> bool:
    """Whether a rule line ends inside a double-quoted argument as iptables-save quotes them.

    Quotes open only at the start of an argument (a chain or interface name may
    hold a '"' of its own); inside, backslash escapes the next character.
    """
    body = (line.split(" ", 2) + ["", ""])[2]  # after "-A CHAIN": names may contain '"'
    inside = False
    escaped = False
    previous = " "
    for char in body:
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"' and previous == " ":
            inside = True
        previous = char
    return inside


def parse_save(text: str, table: str) -> TableState:
    """The named table from iptables-save output; an unloaded table reads as empty."""
    state: Optional[TableState] = None
    inside = False
    for line in save_lines(text):
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            inside = line[1:] == table
            if inside:
                state = TableState(table)
            continue
        if not inside or state is None:
            continue
        if line == "COMMIT":
            inside = False
        elif line.startswith(":"):
            # Split at spaces only: iptables allows e.g. \\x1c in a chain name, str.split() does not.
            name, policy = (line[1:].split(" ") + ["-"])[:2]
            state.chains[name] = ChainState(name, None if policy == "-" else policy)
        elif line.startswith("-A "):
            name, rest = (line.split(" ", 2) + [""])[1:3]
            state.chains.setdefault(name, ChainState(name, None)).rules.append(rest)
    return state if state is not None else TableState.empty(table)


def chain_lines(table: TableState, chain: str) -> List[str]:
    """One chain in `iptables -S` syntax; empty when the chain does not exist."""
    current = table.chains.get(chain)
    if current is None:
        return []
    head = "-N %s" % chain if current.policy is None else "-P %s %s" % (chain, current.policy)
    return [head] + ["-A %s %s" % (chain, rule) if rule else "-A %s" % chain for rule in current.rules]


# ------------------------------------------------------------------- plan ---


@dataclass(frozen=True)
class ChainAction:
    verb: str  # create | policy | rules | delete
    netns: Optional[str]
    family: str
    table: str
    chain: str
    policy: Optional[str] = None
    rules: Tuple[str, ...] = ()
    was: int = 0

    def describe(self) -> str:
        place = where(self.netns, self.family, self.table, self.chain)
        if self.verb == "create":
            return "create %s" % place
        if self.verb == "policy":
            return "set policy %s on %s" % (self.policy, place)
        if self.verb == "rules":
            return "replace the rules of %s (%d -> %d)" % (place, self.was, len(self.rules))
        return "delete %s" % place

    def restore_lines(self) -> List[str]:
        if self.verb == "create":
            return [":%s - [0:0]" % self.chain]
        if self.verb == "policy":
            return ["-P %s %s" % (self.chain, self.policy)]
        if self.verb == "rules":
            return ["-F %s" % self.chain] + ["-A %s %s" % (self.chain, rule) for rule in self.rules]
        return ["-F %s" % self.chain, "-X %s" % self.chain]


# Within one table: chains exist before rules jump to them, and go away last.
VERB_ORDER = {"create": 0, "policy": 1, "rules": 2, "delete": 3}


@dataclass
class TablePlan:
    """Everything one run does to one table of one family in one namespace: one atomic commit."""

    netns: Optional[str]
    family: str
    table: str
    current: TableState
    projected: TableState
    actions: List[ChainAction] = field(default_factory=list)

    def ordered(self) -> List[ChainAction]:
        return sorted(self.actions, key=lambda a: VERB_ORDER[a.verb])

    def restore_payload(self) -> str:
        lines = ["*%s" % self.table]
        for action in self.ordered():
            lines.extend(action.restore_lines())
        lines.append("COMMIT")
        return "\n".join(lines) + "\n"


def plan_chain(desired: IptablesChain, family: str, table: TablePlan,
               canonical: Optional[Sequence[str]]) -> List[ChainAction]:
    """Actions that bring one chain of ``table.projected`` to ``desired``; updates the projection.

    ``canonical`` is the desired rule list in iptables-save form (None: rules not managed).
    """
    projected = table.projected
    current = projected.chains.get(desired.chain)
    args = (desired.netns, family, desired.table, desired.chain)
    actions: List[ChainAction] = []
    if desired.state == "absent":
        if current is not None:
            actions.append(ChainAction("delete", *args))
            del projected.chains[desired.chain]
        return actions
    if current is None:
        actions.append(ChainAction("create", *args))
        current = projected.chains[desired.chain] = ChainState(desired.chain, None)
    if desired.policy is not None and current.policy != desired.policy:
        actions.append(ChainAction("policy", *args, policy=desired.policy))
        current.policy = desired.policy
    if canonical is not None and list(canonical) != current.rules:
        actions.append(ChainAction("rules", *args, rules=tuple(canonical), was=len(current.rules)))
        current.rules = list(canonical)
    return actions


def check_references(plan: TablePlan) -> None:
    """Refuse to delete a chain that a rule left in the table still jumps to."""
    for action in plan.actions:
        if action.verb != "delete":
            continue
        users = plan.projected.references(action.chain)
        if users:
            raise ConflictError(
                "cannot delete %s: other rules jump to it (%s); remove or change those rules first "
                "(nothing was changed)" % (where(plan.netns, plan.family, plan.table, action.chain),
                                           "; ".join(users)),
                referenced_by=users,
            )


def diff_text(blocks: Sequence[Tuple[str, List[str]]]) -> str:
    """Diff view: per family a header comment, then the chain in -S syntax."""
    out = []
    for header, lines in blocks:
        out.append("# %s" % header)
        out.extend(lines)
    return "\n".join(out) + "\n"


# --------------------------------------------------- iptables-restore errors ---

LINE_RE = re.compile(r"line:? (\d+)")


def failing_line(stderr: str) -> Optional[int]:
    """The payload line iptables-restore blames, if it says."""
    match = LINE_RE.search(stderr)
    return int(match.group(1)) if match else None


MISSING_TARGET_RES = (
    re.compile(r"Chain '([^']+)' does not exist"),
    re.compile(r"Couldn't load target `([^']+)'"),
)


def missing_target(stderr: str) -> Optional[str]:
    for regex in MISSING_TARGET_RES:
        match = regex.search(stderr)
        if match:
            return match.group(1)
    return None


def explain_restore_error(stderr: str) -> str:
    """iptables-restore's own words, without its usage hint."""
    lines = [line.strip() for line in stderr.split("\n")
             if line.strip() and not line.startswith("Try `") and not line.startswith("Error occurred at line")]
    text = " ".join(lines)
    return re.sub(r"^\S*tables\S*-restore( v[\d.]+ \(\w+\))?:\s*", "", text) or "iptables-restore failed"
