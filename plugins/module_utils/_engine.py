# -*- coding: utf-8 -*-
# Copyright: netvirt.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read -> plan -> apply for any set of desired objects.

Every module, from `netns` to a whole-lab `topology`, reconciles through
:func:`reconcile`; none of them talks to the kernel another way.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ansible_collections.netvirt.linux.plugins.module_utils import _kinds
from ansible_collections.netvirt.linux.plugins.module_utils._actions import Action
from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError, NetvirtError
from ansible_collections.netvirt.linux.plugins.module_utils._labstate import LabRecord
from ansible_collections.netvirt.linux.plugins.module_utils._model import HOST, World
from ansible_collections.netvirt.linux.plugins.module_utils._plan import Plan
from ansible_collections.netvirt.linux.plugins.module_utils._plan import plan as make_plan


def namespaces_to_read(desired: Sequence) -> List[Optional[str]]:
    """The namespaces whose links the planner needs, each once, in a stable order (each kind says its own)."""
    wanted: Dict[Optional[str], None] = {}  # ordered, and a thousand namespaces are not searched a thousand times
    for obj in desired:
        for netns in _kinds.get(obj.kind).namespaces(obj):
            wanted.setdefault(netns, None)
    return list(wanted)


def names_to_read(desired: Sequence) -> Optional[Dict[Optional[str], set]]:
    """{netns: {device name}} when every object's kind plans from named devices alone (Kind.names), else None."""
    wanted: Dict[Optional[str], set] = {}
    for obj in desired:
        names = _kinds.get(obj.kind).names
        if names is None:
            return None
        for netns, found in names(obj).items():
            wanted.setdefault(netns, set()).update(found)
    return wanted


def reads_for(desired: Sequence) -> dict:
    """What each namespace needs read beyond its links: {netns: [(kind.read, items)]}."""
    items: dict = {}
    for obj in desired:
        kind = _kinds.get(obj.kind)
        for netns, item in kind.reads(obj):
            items.setdefault((netns, kind.name), set()).add(item)
    reads: dict = {}
    for (netns, name), wanted in items.items():
        reads.setdefault(netns, []).append((_kinds.get(name).read, wanted))
    return reads


def prune_reads(desired: Sequence, owner: Optional[str], prune: bool) -> list:
    """[(kind.read, items)] a lab that prunes reads in every namespace it reads (Kind.prune_reads): what its
    kinds made on its devices may outlive the objects that made it (a dropped shaping's qdisc). A teardown
    (nothing desired) deletes every device of the lab, and what they carry with them: it reads none."""
    if owner is None or not prune or not desired:
        return []
    return [(kind.read, set(kind.prune_reads)) for kind in _kinds.KINDS if kind.prune_reads]


@dataclass
class Outcome:
    """What one reconcile run did (or, in check mode, would do)."""

    plan: Plan
    # What the kernel holds after the run: read again after changes, or, in
    # check mode, the planner's projection.
    world: World
    applied: list = field(default_factory=list)
    # What was read before any change (what undo puts back), and the lab's record as the run found it.
    before: Optional[World] = None
    record: Optional[LabRecord] = None

    @property
    def changed(self) -> bool:
        return self.plan.changed

    def actions(self) -> List[str]:
        return [action.describe() for action in self.plan.actions]

    def diffs(self) -> List[dict]:
        return [{"before": obj.before, "after": obj.after} for obj in self.plan.objects]


def reconcile(kernel, desired: Sequence, check_mode: bool, owner: Optional[str] = None,
              prune: bool = False, read_back: bool = True, journal=None) -> Outcome:
    """Bring the kernel to ``desired``; in check mode, only say what would change.

    ``owner`` marks everything created as a lab's; ``prune`` removes what the
    lab owns but ``desired`` no longer names. ``journal`` (a held
    _labstate.LabState) says which namespaces may hold the lab's objects, so
    only those are read, and records what a run is about to create before it
    creates it, so a killed run is finished or undone by the next.
    ``read_back=False`` skips reading the kernel again after changes, for
    callers that report only the plan's views.
    """
    spaces = namespaces_to_read(desired)
    if owner is not None and HOST not in spaces:
        spaces.insert(0, HOST)  # a lab's links in the host: veth ends, bridges, taps
    record = journal.load() if journal is not None else None
    everything = owner is not None and not (record is not None and record.known)
    if record is not None:
        listed = set(spaces)
        spaces += [netns for netns in sorted(record.namespaces | {ns for ns, _name in record.pending if ns is not HOST})
                   if netns not in listed]
    reads = reads_for(desired)
    everywhere = prune_reads(desired, owner, prune)
    # A lab reads whole namespaces (it prunes, marks and pairs across them); a task of named devices reads those.
    names = names_to_read(desired) if owner is None and desired else None
    # Removing a whole lab (nothing desired) plans from devices and their marks alone: no address dumps.
    addresses = bool(desired)
    world = kernel.read(spaces, reads=reads, everything=everything, names=names, addresses=addresses,
                        everywhere=everywhere)
    adopt = set()
    if record is not None:
        adopt = set(record.pending) | {(ns, "lo") for ns in record.namespaces if ns in world.stale}
    held = record.held() if record is not None else ()
    plan = make_plan(desired, world, owner=owner, prune=prune, assume_missing=check_mode, adopt=adopt,
                     unmarked=held)
    outcome = Outcome(plan=plan, world=plan.projected if check_mode else world, before=world, record=record)
    if check_mode:
        return outcome
    if plan.changed:
        if record is not None:
            # Written and synced before the first change: from here on a kill
            # leaves nothing this lab cannot recognise as its own.
            created = {end for action in plan.actions for end in action.creates()}
            journal.save(LabRecord(record.namespaces | _lab_namespaces(desired) | {end[0] for end in created if end[0]},
                                   record.pending | created, known=True, chains=record.chains,
                                   unmarked=record.unmarked))
        try:
            kernel.apply(plan.actions, outcome.applied)
            if plan.reaped:
                kernel.wait_gone(plan.reaped)
            # Report what the kernel holds now, not what we expect it to hold; and check it holds what
            # was planned (a removal alone needs no check: nothing desired is left to compare).
            after = plan.projected
            if read_back:
                after = kernel.read(spaces, reads=reads, everything=everything, names=names, addresses=addresses,
                                    everywhere=everywhere)
            # What this run made is the lab's: a mark the kernel did not keep is reported, not refused.
            made = adopt | {end for action in outcome.applied for end in action.creates()}
            # Only the objects that changed are checked (a removal alone needs no check), from what is
            # read back: all of it when it was read for the result anyway, else just their namespaces.
            changed = [obj for obj, result in zip(desired, plan.objects) if result.changed]
            if changed and read_back:
                verify(changed, after, owner=owner, adopt=made, unmarked=held)
            elif changed:
                verify(changed, _read_for(kernel, changed, owner), owner=owner, adopt=made,
                       unmarked=held)
        except NetvirtError as exc:
            undo_run(kernel, outcome, exc, journal)
            raise
        outcome.world = after if read_back else plan.projected
    if record is not None:
        # Everything is made and marked: nothing is pending any more.
        keep = _lab_namespaces(desired)
        if not prune:
            keep |= {ns for ns in record.namespaces if ns in plan.projected.namespaces}
        if keep:
            # Chains go with their namespaces; the netfilter engine updates the rest (_kind_iptables_chain).
            unmarked = _lab_unmarked(desired, keep) | (set() if prune else record.unmarked_in(keep))
            journal.save(LabRecord(keep, (), known=True, chains=record.chains_in(keep), unmarked=unmarked))
        else:
            journal.remove()
    return outcome


def undo_run(kernel, outcome: Outcome, exc: NetvirtError, journal=None, kept_too: Sequence[str] = ()) -> None:
    """The run failed after ``outcome.applied`` (a step of its own, or a later part of the task: a lab's iptables
    chains): put back what it changed, the lab's record with it, and say so in ``exc``. ``kept_too``: what the
    later part changed and could not put back (the record then keeps what it says)."""
    before = outcome.before if outcome.before is not None else World()
    undone, kept = undo(kernel, outcome.applied, before, not_made=exc.details.get("not_made", ()))
    kept = kept + list(kept_too)
    record = outcome.record
    if record is not None and journal is not None and not kept:
        # Everything this run made is gone again: so is what its record said it would make.
        if record.known:
            journal.save(record)
        else:
            journal.remove()
    exc.msg += undo_text(outcome.applied or kept_too, undone, kept)
    exc.args = (exc.msg,)
    exc.details.update(undone=undone, not_undone=kept)


def _read_for(kernel, desired: Sequence, owner: Optional[str]) -> World:
    """The kernel as the planner needs it for ``desired`` alone."""
    spaces = namespaces_to_read(desired)
    if owner is not None and HOST not in spaces:
        spaces.insert(0, HOST)
    names = names_to_read(desired) if owner is None else None
    return kernel.read(spaces, reads=reads_for(desired), names=names)


def verify(desired: Sequence, after: World, owner: Optional[str] = None, adopt=frozenset(),
           unmarked=frozenset()) -> None:
    """Every planned change is in the kernel: planned again against what was read back, ``desired`` needs
    nothing. A change the kernel accepted without making it (an address it ignores, a value it stores
    otherwise) is an error naming it, never a change reported again by every later run."""
    again = make_plan(desired, after, owner=owner, adopt=adopt, unmarked=unmarked)
    missing = [action.describe() for action in again.actions]
    if missing:
        raise KernelError("the kernel accepted but did not make %s (read back after the run): %s" % (
            "this change" if len(missing) == 1 else "these changes", "; ".join(missing)), not_made=missing)


def undo(kernel, applied: Sequence[Action], before: World, not_made: Sequence[str] = ()) -> Tuple[List[str], List[str]]:
    """Put back what a failed run changed, newest first; (what was undone, what was not and why).

    THE UNDO RULE: what the run made (namespaces, devices) is deleted; what it changed on objects that
    were there before is set back to the values read before the run (MTU, up/down, addresses, marks,
    bridge membership and options, port settings, namespace moves, sysctls, routes, a tap's flags, owner and
    group, a macvlan's mode, shaping); a change on something the run made goes with it. What cannot be put
    back is named (a deletion: a device is not made again as it was; a port that rejoins its old bridge gets
    that bridge's default port settings; a tap's owner or group that was unset).
    """
    made = [end for action in applied for end in action.creates()]
    created = set(made)
    spaces = {netns for netns, name in made if name == "lo" and netns is not HOST}
    undone: List[str] = []
    kept: List[str] = []
    # What goes with a namespace this run made, said undone once the namespace is gone.
    inside: Dict[Optional[str], List[str]] = {}
    for action in reversed(applied):
        text = action.describe()
        ends = action.creates()
        if text in not_made:
            continue  # the kernel did not make it: nothing to put back
        if ends and not any(name == "lo" for _netns, name in ends) and all(netns in spaces for netns, _name in ends):
            inside.setdefault(ends[0][0], []).append(text)
            continue
        if not ends and _within(action, created, spaces):
            continue
        steps = action.undo(before)
        if steps is None:
            kept.append("%s (cannot be put back)" % text)
            continue
        try:
            kernel.apply(steps, [], undoing=True)
        except NetvirtError as exc:
            # What this run made and is gone already (with what it stood on) needs no undoing.
            if not (ends and exc.details.get("errno") in (errno.ENODEV, errno.ENOENT)):
                kept.append("%s (%s)" % (text, exc.msg))
                continue
        undone.extend(inside.pop(ends[0][0], ()) if ends else ())
        undone.append(text)
    for texts in inside.values():
        kept.extend("%s (its namespace could not be deleted)" % text for text in texts)
    return undone, kept


def _within(action: Action, created: set, spaces: set) -> bool:
    """Whether the action changed something this run made (in a namespace it made, or a device it made)."""
    netns = getattr(action, "netns", HOST)
    if netns is not HOST and netns in spaces:
        return True
    name = getattr(action, "name", None)
    return name is not None and (netns, name) in created


def undo_text(applied: Sequence, undone: Sequence[str], kept: Sequence[str]) -> str:
    """The end of a failed run's message: what it had changed (actions, or what else it names) and what of that
    was put back."""
    if not applied:
        return "; nothing had been changed"
    text = "; undone: %s" % (", ".join(undone) if undone else "nothing")
    if kept:
        text += "; NOT undone: %s" % ", ".join(kept)
    return text


def _lab_namespaces(desired: Sequence) -> set:
    return {obj.name for obj in desired if _kinds.get(obj.kind).container and getattr(obj, "state", "present") == "present"}


def _lab_unmarked(desired: Sequence, namespaces: set) -> set:
    """The keys of the objects without a marker of their own (routes) that the lab keeps in its namespaces."""
    return {obj.key for obj in desired if getattr(obj, "state", "present") == "present"
            and getattr(obj, "netns", None) in namespaces and not _kinds.get(obj.kind).container
            and _kinds.get(obj.kind).engine == "netlink" and not _kinds.get(obj.kind).owned(obj)}
