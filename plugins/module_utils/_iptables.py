# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netfilter adapter: the only python-iptables (``iptc``) importer.

Two backends, matching the two variants of the ``iptables`` command:

* ``nft``: the nf_tables variant (Debian 11+, RHEL 8+). Read with
  ``iptables-nft-save``, written with one ``iptables-nft-restore --noflush``
  transaction per table.
* ``legacy``: the x_tables variant. Read with ``iptables-legacy-save``, written
  with python-iptables (libiptc: one table replace per commit). python-iptables
  calls libxtables through ctypes and breaks on some libxtables releases
  (1.8.11 reshaped structures it reads), so before it touches a real table it
  is proven on the very same rules in a throwaway namespace; where that proof
  fails the table is written with ``iptables-legacy-restore`` instead, and the
  result says so.

Every run (check mode too) holds the xtables lock (``/run/xtables.lock``, or
``$XTABLES_LOCKFILE``: the file ``iptables -w`` locks) from its first read to
its last, so that it never replaces a table another writer changed after it
was read: libiptc itself takes no lock, and without it two runs updating two
chains of one legacy table lose one update. The nft variant ignores that lock
(its kernel transactions are atomic and ``--noflush`` touches only the listed
chains); holding it anyway serialises runs of this module, so each reads what
the other wrote.

Rules are normalised by the iptables binary itself: the user's rules are loaded
into a private, empty network namespace (a forked child that unshared its
network namespace) and read back with ``*-save``. That also validates them
before the real table is touched. Every piece of work for a namespace runs in a
forked child that entered it, so python-iptables' per-process table cache never
sees two namespaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _errors as E
from ansible_collections.netvirt.linux.plugins.module_utils._iptables_rules import (
    ChainAction,
    IptablesChain,
    TablePlan,
    TableState,
    chain_lines,
    check_references,
    diff_text,
    explain_restore_error,
    failing_line,
    family_label,
    join_rule,
    jump_target,
    missing_target,
    parse_canonical,
    parse_save,
    plan_chain,
    where,
)
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import HOST, SCRATCH, ChildCrashed, in_netns, netns_label  # noqa: F401 - re-exported; pylint: disable=unused-import

SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"
BACKENDS = ("auto", "legacy", "nft")
ENGINE_IPTC = "python-iptables"
HAS_IPTC = importlib.util.find_spec("iptc") is not None
# iptables' own lock file (XT_LOCK_NAME); iptables reads the override from the environment too.
XTABLES_LOCK = "/run/xtables.lock"
# How long a run waits for another holder of that lock by default (the lock_timeout option), in seconds.
LOCK_TIMEOUT = 30


# ---------------------------------------------------------------- backends ---


def _which(name: str) -> Optional[str]:
    return shutil.which(name, path="%s:%s" % (os.environ.get("PATH", ""), SBIN_PATH))


def host_variant() -> Optional[str]:
    """The variant of the host's own `iptables` command: 'nft', 'legacy' or None (not installed)."""
    binary = _which("iptables")
    if binary:
        try:
            # pylint: disable-next=ansible-bad-function  # no AnsibleModule at this layer; may run in a forked child
            out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=30, check=False).stdout
        except OSError:
            out = ""
        if "nf_tables" in out:
            return "nft"
        if out.startswith("iptables"):
            # "(legacy)" since 1.8; older releases only knew the legacy variant.
            return "legacy"
    for variant in ("nft", "legacy"):
        if _which("iptables-%s-restore" % variant):
            return variant
    return None


@dataclass(frozen=True)
class Tools:
    save: str
    restore: str


@dataclass
class Backend:
    variant: str  # nft | legacy
    tools: Dict[str, Tools]  # family -> binaries
    iptc: bool = False  # python-iptables importable (legacy only)

    @property
    def restore_engine(self) -> str:
        return os.path.basename(self.tools["ipv4"].restore)


def resolve_backend(option: str) -> Backend:
    host = host_variant()
    variant = host if option == "auto" else option
    if variant is None:
        raise E.MissingLibraryError(
            "the iptables command is not installed on this host; install the iptables package "
            "(it provides iptables-save and iptables-restore)")
    tools = {}
    for family in ("ipv4", "ipv6"):
        prefix = family_label(family)
        found = []
        for op in ("save", "restore"):
            path = _which("%s-%s-%s" % (prefix, variant, op))
            if path is None and variant == host:
                path = _which("%s-%s" % (prefix, op))
            if path is None:
                raise E.MissingLibraryError(
                    "backend '%s' needs %s-%s-%s, which is not installed; install the iptables package "
                    "with its %s variant, or choose backend: %s"
                    % (variant, prefix, variant, op, variant, "auto" if option != "auto" else "nft"))
            found.append(path)
        tools[family] = Tools(*found)
    return Backend(variant=variant, tools=tools, iptc=variant == "legacy" and HAS_IPTC)


# ------------------------------------------------------ work in a namespace ---


def lock_path() -> str:
    return os.environ.get("XTABLES_LOCKFILE") or XTABLES_LOCK


class XtablesLockTimeout(E.KernelError):
    """Another process held the xtables lock for longer than the run may wait."""


def lock_holders(fd: int) -> List[Tuple[int, str]]:
    """(pid, command line) of the processes holding a lock on the file ``fd`` refers to, as far as /proc tells.

    /proc/locks names the process that took each lock (by device and inode);
    where it names none here (another pid namespace), every process with the
    file open is listed instead, as fuser does.
    """
    info = os.fstat(fd)
    device = "%02x:%02x:%d" % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    pids: List[int] = []
    try:
        with open("/proc/locks") as locks:
            for line in locks:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1445 fe:00:16040323 0 EOF" ("->" marks a waiter).
                if len(fields) > 5 and fields[1] != "->" and fields[5] == device and fields[4].isdigit():
                    pid = int(fields[4])
                    if pid not in pids and pid != os.getpid():
                        pids.append(pid)
    except OSError:
        pass
    if not any(os.path.exists("/proc/%d" % pid) for pid in pids):
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                for name in os.listdir("/proc/%s/fd" % entry):
                    found = os.stat("/proc/%s/fd/%s" % (entry, name))
                    if (found.st_dev, found.st_ino) == (info.st_dev, info.st_ino):
                        pids.append(int(entry))
                        break
            except OSError:
                continue
    holders = []
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
                command = cmdline.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        holders.append((pid, command[:200]))
    return holders


@contextlib.contextmanager
def xtables_lock(timeout: Optional[float] = None):
    """Hold the xtables lock as ``iptables -w`` takes it: flock(LOCK_EX) on its lock file, waiting at most
    ``timeout`` seconds (None: for ever), then XtablesLockTimeout naming the lock and its holder."""
    path = lock_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise E.KernelError("cannot open the xtables lock %s: %s" % (path, exc.strerror)) from None
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            pause = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _lock_timeout(fd, path, timeout)
                # Short first waits (a concurrent run of this module holds it for a moment), then 0.1 s.
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.1)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _lock_timeout(fd: int, path: str, timeout: float) -> XtablesLockTimeout:
    holders = lock_holders(fd)
    if holders:
        who = "held by %s" % ", ".join("pid %d (%s)" % holder for holder in holders)
    else:
        who = "held by a process this host's /proc does not show (another PID namespace or container)"
    return XtablesLockTimeout(
        "the xtables lock %s is %s and was not released within %s seconds (lock_timeout); no iptables chain was "
        "read or changed. Wait for that process, or stop it, and run again (or raise lock_timeout)"
        % (path, who, "%g" % timeout), lock=path, lock_holders=[{"pid": pid, "command": cmd} for pid, cmd in holders])


def _private_lock() -> Tuple[dict, Tuple[int, ...]]:
    """Environment and fds that give an iptables child a lock file of its own.

    The real writes happen while this process holds the xtables lock, and
    iptables-legacy-restore takes that lock itself: it would wait for us for
    ever. An anonymous file (memfd) reopened through /proc is a lock nobody
    else holds, and creates nothing on disk.
    """
    if not hasattr(os, "memfd_create"):
        return {}, ()
    fd = os.memfd_create("netvirt-xtables-lock", 0)
    return {"XTABLES_LOCKFILE": "/proc/self/fd/%d" % fd}, (fd,)


def _run(argv: List[str], stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    env, fds = _private_lock()
    try:
        # surrogateescape: a foreign chain name or comment need not be UTF-8.
        # pylint: disable-next=ansible-bad-function  # runs in a forked child inside a namespace, no AnsibleModule there
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, errors="surrogateescape",
                              timeout=120, check=False, env=dict(os.environ, **env), pass_fds=fds)
    finally:
        for fd in fds:
            os.close(fd)


def _save(save: str) -> str:
    # Never `-t TABLE`: the legacy save would load (create) a table that is not there yet.
    proc = _run([save])
    if proc.returncode != 0:
        raise E.KernelError("%s failed: %s" % (os.path.basename(save), proc.stderr.strip()))
    return proc.stdout


def _restore(restore: str, payload: str) -> Tuple[int, str]:
    # Real tables are only written under xtables_lock(), and _run gives the child a private lock file;
    # --wait stays so that a restore run without it still waits rather than fails.
    proc = _run([restore, "--noflush", "--wait"], payload)
    return proc.returncode, proc.stderr


def child_read(save: str) -> str:
    return _save(save)


def child_normalise(tools: dict, payload: str) -> dict:
    """In a scratch namespace: load the candidate rules, read them back."""
    code, stderr = _restore(tools["restore"], payload)
    if code != 0:
        return {"error": stderr}
    return {"saved": _save(tools["save"])}


def child_restore(tools: dict, payload: str) -> dict:
    code, stderr = _restore(tools["restore"], payload)
    return {"code": code, "stderr": stderr}


def _iptc_rule(iptc, family: str, text: str):
    parts = parse_canonical(text)
    rule = iptc.Rule() if family == "ipv4" else iptc.Rule6()
    for option in parts.basic:
        if option.name == "fragment":
            if option.negated:
                raise ValueError("python-iptables cannot express '! -f'")
            rule.fragment = True
        else:
            setattr(rule, option.name, ("!" if option.negated else "") + option.values[0])
    for name, options in parts.matches:
        match = rule.create_match(name)
        for option in options:
            match.set_parameter(option.name, _iptc_value(option))
    if parts.target is not None:
        target = rule.create_target(parts.target, goto=parts.goto)
        for option in parts.target_options:
            target.set_parameter(option.name, _iptc_value(option))
    return rule


def _iptc_value(option):
    values = (["!"] if option.negated else []) + list(option.values)
    if not values:
        return ""
    return values[0] if len(values) == 1 else values


def child_iptc_apply(family: str, table: str, actions: List[dict]) -> None:
    """Apply one table's actions with python-iptables, in one libiptc commit."""
    import iptc  # pylint: disable=import-outside-toplevel

    cls = iptc.Table if family == "ipv4" else iptc.Table6
    # Building a target makes python-iptables look the name up as a chain in
    # every table it believes available, and looking a legacy table up creates
    # it in the kernel. Only this table's chains can be jumped to: say so, and
    # leave the other tables of the namespace alone.
    cls.existing_table_names = {name: name == table for name in cls.ALL}
    handle = cls(table)
    handle.autocommit = False
    # The per-process cache may hold another namespace's view: re-read.
    handle.refresh()
    for action in actions:
        verb, chain = action["verb"], action["chain"]
        if verb == "create":
            handle.create_chain(chain)
        elif verb == "policy":
            iptc.Chain(handle, chain).set_policy(action["policy"])
        elif verb == "rules":
            handle.flush_entries(chain)
            target_chain = iptc.Chain(handle, chain)
            for text in action["rules"]:
                target_chain.append_rule(_iptc_rule(iptc, family, text))
        elif verb == "delete":
            handle.flush_entries(chain)
            handle.delete_chain(chain)
    handle.commit()


def child_iptc_proof(tools: dict, family: str, table: str, declare: str, actions: List[dict]) -> dict:
    """In a scratch namespace: apply with python-iptables, read back, for comparison."""
    code, stderr = _restore(tools["restore"], declare)
    if code != 0:
        return {"error": explain_restore_error(stderr)}
    child_iptc_apply(family, table, actions)
    return {"saved": _save(tools["save"])}


def _action_dict(action: ChainAction) -> dict:
    return {"verb": action.verb, "chain": action.chain, "policy": action.policy, "rules": list(action.rules)}


# ------------------------------------------------------------------ engine ---


@dataclass
class ChainResult:
    desired: IptablesChain
    before: Dict[str, List[str]] = field(default_factory=dict)
    after: Dict[str, List[str]] = field(default_factory=dict)
    views: Dict[str, dict] = field(default_factory=dict)

    def diff(self) -> dict:
        header = "%s -t %s" % ("%s", self.desired.table)
        families = self.desired.families
        label = "" if self.desired.netns is HOST else " in namespace %s" % self.desired.netns
        return {
            "before": diff_text([(header % family_label(f), self.before[f]) for f in families]),
            "after": diff_text([(header % family_label(f), self.after[f]) for f in families]),
            "before_header": "%s chain %s%s (before)" % (self.desired.table, self.desired.chain, label),
            "after_header": "%s chain %s%s (after)" % (self.desired.table, self.desired.chain, label),
        }


@dataclass
class Outcome:
    """What one run did (or, in check mode, would do); the shape _module.base_result reads."""

    backend: str
    tables: List[TablePlan]
    chains: List[ChainResult]
    engines: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(plan.actions for plan in self.tables)

    def actions(self) -> List[str]:
        return [action.describe() for plan in self.tables for action in plan.ordered()]

    def diffs(self) -> List[dict]:
        return [chain.diff() for chain in self.chains]

    @property
    def engine(self) -> Optional[str]:
        return ", ".join(self.engines) if self.engines else None


class Netfilter:
    """Reads, normalises and writes iptables chains with one backend, across namespaces."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def tools(self, family: str) -> dict:
        tools = self.backend.tools[family]
        return {"save": tools.save, "restore": tools.restore}

    def read(self, netns: Optional[str], family: str, table: str) -> TableState:
        return parse_save(in_netns(netns, child_read, self.tools(family)["save"]), table)

    def normalise(self, netns, family: str, table: str, current: TableState,
                  chains: Sequence[IptablesChain]) -> Dict[str, List[str]]:
        """Each chain's rules in iptables-save form, loaded and read back in a scratch namespace."""
        wanted = [c for c in chains if c.rules is not None and c.state == "present"]
        if not wanted:
            return {}
        declared = list(current.user_chains())
        for chain in chains:
            if not chain.builtin and chain.state == "present" and chain.chain not in declared:
                declared.append(chain.chain)
        lines = ["*%s" % table] + [":%s - [0:0]" % name for name in declared]
        origin: Dict[int, Tuple[IptablesChain, int]] = {}
        for chain in wanted:
            for index, tokens in enumerate(chain.rule_tokens(), 1):
                lines.append("-A %s %s" % (chain.chain, join_rule(tokens)))
                origin[len(lines)] = (chain, index)
        lines.append("COMMIT")
        answer = in_netns(SCRATCH, child_normalise, self.tools(family), "\n".join(lines) + "\n")
        if "error" in answer:
            raise self._rule_error(netns, family, table, answer["error"], origin)
        saved = parse_save(answer["saved"], table)
        return {chain.chain: list(saved.chains[chain.chain].rules) for chain in wanted}

    def _rule_error(self, netns, family, table, stderr, origin) -> E.NetvirtError:
        line = failing_line(stderr)
        reason = explain_restore_error(stderr)
        target = missing_target(stderr)
        if line not in origin and target is not None:
            # The nft variant finds missing chains at COMMIT: blame the first rule jumping there.
            line = next((n for n, (chain, index) in sorted(origin.items())
                         if jump_target(chain.rule_tokens()[index - 1]) == target), line)
        if line not in origin:
            return E.ValidationError(
                "%s refused the rules for %s: %s (nothing was changed)"
                % (family_label(family), where(netns, family, table), reason), stderr=stderr)
        chain, index = origin[line]
        rule = chain.rules[index - 1]
        place = where(netns, family, table, chain.chain)
        if target is not None and target == jump_target(chain.rule_tokens()[index - 1]):
            return E.ValidationError(
                "rule %d of %s jumps to '%s', which is neither a user-defined chain of table %s nor a target "
                "%s knows; create that chain first (netvirt.linux.iptables_chain, state: present) or fix "
                "the name (nothing was changed): %s" % (index, place, target, table, family_label(family), rule),
                rule=rule, rule_index=index, chain_key=list(chain.key), stderr=stderr)
        return E.ValidationError(
            "rule %d of %s is not a valid %s rule: %s (nothing was changed): %s"
            % (index, place, family_label(family), reason, rule),
            rule=rule, rule_index=index, chain_key=list(chain.key), stderr=stderr)

    def iptc_proof(self, plan: TablePlan) -> Optional[str]:
        """Why python-iptables cannot write this plan here, or None once it has written it right in scratch."""
        if not self.backend.iptc:
            return "python-iptables is not installed for this Python"
        # Scratch starts from the current chains (empty) so that creates and deletes are real.
        current_names = plan.current.user_chains()
        declare = "*%s\n%sCOMMIT\n" % (plan.table, "".join(":%s - [0:0]\n" % n for n in current_names))
        try:
            answer = in_netns(SCRATCH, child_iptc_proof, self.tools(plan.family), plan.family, plan.table,
                              declare, [_action_dict(a) for a in plan.ordered()])
        except E.NetvirtError as exc:
            return exc.msg
        if "error" in answer:
            return answer["error"]
        saved = parse_save(answer["saved"], plan.table)
        for action in plan.actions:
            got = saved.chains.get(action.chain)
            # Scratch held none of the real rules: compare only what each action wrote.
            if action.verb == "delete":
                wrong = got is not None
            elif action.verb == "create":
                wrong = got is None
            elif action.verb == "policy":
                wrong = got is None or got.policy != action.policy
            else:
                wrong = got is None or got.rules != list(action.rules)
            if wrong:
                return "python-iptables wrote %s differently from iptables (%s)" % (
                    action.chain, "; ".join(chain_lines(saved, action.chain)) or "missing")
        return None

    def apply(self, plan: TablePlan, engine: str) -> None:
        if engine == ENGINE_IPTC:
            try:
                in_netns(plan.netns, child_iptc_apply, plan.family, plan.table,
                         [_action_dict(a) for a in plan.ordered()])
            except E.NetvirtError as exc:
                raise E.KernelError("python-iptables could not write %s: %s (the table was left as it was)"
                                    % (where(plan.netns, plan.family, plan.table), exc.msg)) from None
            return
        answer = in_netns(plan.netns, child_restore, self.tools(plan.family), plan.restore_payload())
        if answer["code"] != 0:
            raise E.KernelError(
                "%s refused the change to %s: %s (the table was left as it was)"
                % (engine, where(plan.netns, plan.family, plan.table), explain_restore_error(answer["stderr"])),
                stderr=answer["stderr"], payload=plan.restore_payload())


def _group(desired: Sequence[IptablesChain]) -> Dict[tuple, List[IptablesChain]]:
    groups: Dict[tuple, List[IptablesChain]] = {}
    for chain in desired:
        for family in chain.families:
            groups.setdefault((chain.netns, family, chain.table), []).append(chain)
    return groups


def chain_view(table: TableState, chain: str) -> dict:
    current = table.chains.get(chain)
    if current is None:
        return {"state": "absent"}
    return {"state": "present", "policy": current.policy, "rules": list(current.rules)}


def reconcile(desired: Sequence[IptablesChain], backend_option: str, check_mode: bool,
              new_namespaces: Iterable[str] = (), lock_timeout: Optional[float] = LOCK_TIMEOUT) -> Outcome:
    """Bring every chain to ``desired``: one atomic commit per table, nothing written in check mode.

    Read, compare and write happen under the xtables lock, as ``iptables -w``
    does it, so no other writer that honours the lock changes a table between
    this run's read and its write. In check mode a namespace that does not
    exist is taken as new (empty tables) with a warning, except those in
    ``new_namespaces``, which the caller itself creates (a `topology` lab's).
    The lock is waited for at most ``lock_timeout`` seconds (XtablesLockTimeout).
    """
    backend = resolve_backend(backend_option)
    with xtables_lock(lock_timeout):
        return _reconcile(desired, backend, check_mode, frozenset(new_namespaces))


def _reconcile(desired: Sequence[IptablesChain], backend: Backend, check_mode: bool,
               new_namespaces: frozenset = frozenset()) -> Outcome:
    kernel = Netfilter(backend)
    results = {chain.key: ChainResult(chain) for chain in desired}
    plans: List[TablePlan] = []
    # Read, normalise and plan everything before writing anything.
    assumed: List[str] = []
    for (netns, family, table), chains in _group(desired).items():
        try:
            current = kernel.read(netns, family, table)
        except E.NamespaceMissingError:
            if not check_mode:
                raise
            # Check mode previews a whole playbook: the namespace is one an
            # earlier task would create, and a new namespace's table is what
            # a scratch namespace holds.
            if netns not in assumed:
                assumed.append(netns)
            current = kernel.read(SCRATCH, family, table)
        canonical = kernel.normalise(netns, family, table, current, chains)
        plan = TablePlan(netns, family, table, current=current, projected=current.copy())
        for chain in chains:
            result = results[chain.key]
            result.before[family] = chain_lines(plan.projected, chain.chain)
            plan.actions.extend(plan_chain(chain, family, plan, canonical.get(chain.chain)))
            result.after[family] = chain_lines(plan.projected, chain.chain)
            result.views[family] = chain_view(plan.projected, chain.chain)
        check_references(plan)
        plans.append(plan)

    outcome = Outcome(backend=backend.variant, tables=plans, chains=list(results.values()))
    outcome.warnings.extend("iptables chains in namespace '%s': it does not exist; check mode assumes an earlier "
                            "task creates it" % netns for netns in assumed if netns not in new_namespaces)
    chosen = []
    for plan in plans:
        if not plan.actions:
            continue
        engine = backend.restore_engine
        if backend.variant == "legacy":
            problem = kernel.iptc_proof(plan)
            if problem is None:
                engine = ENGINE_IPTC
            else:
                outcome.warnings.append(
                    "python-iptables not used for %s: %s; wrote it with %s instead"
                    % (where(plan.netns, plan.family, plan.table), problem, engine))
        chosen.append(engine)
        if engine not in outcome.engines:
            outcome.engines.append(engine)
    if check_mode:
        return outcome

    # (netns, table) written so far: a caller that undoes its own changes when this fails names what stays.
    written: List[Tuple[Optional[str], str]] = []
    try:
        for plan, engine in zip([p for p in plans if p.actions], chosen):
            kernel.apply(plan, engine)
            written.append((plan.netns, where(plan.netns, plan.family, plan.table)))
            # Trust the kernel, not the plan: what iptables-save shows now must be what was planned.
            now = kernel.read(plan.netns, plan.family, plan.table)
            for action in plan.actions:
                if chain_lines(now, action.chain) != chain_lines(plan.projected, action.chain):
                    raise E.KernelError(
                        "after writing %s, iptables-save shows %s instead of %s"
                        % (where(plan.netns, plan.family, plan.table, action.chain),
                           chain_lines(now, action.chain), chain_lines(plan.projected, action.chain)))
    except E.NetvirtError as exc:
        if written:
            exc.details.setdefault("written", written)
        raise
    return outcome
