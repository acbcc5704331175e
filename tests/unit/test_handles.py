"""_namespaces.Handles: per-namespace handles kept within a descriptor budget, least recently used closed first."""

import os
import resource

from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import RESERVED_DESCRIPTORS, Handles, descriptor_budget


def test_the_least_recently_used_handle_is_closed_to_make_room():
    closed = []
    handles = Handles(2, closed.append)
    handles.keep("a", "A")
    handles.keep("b", "B")
    assert handles.use("a") == "A"  # a is now the most recent
    handles.keep("c", "C")
    assert closed == ["B"] and list(handles) == ["a", "c"]
    assert handles.use("b") is None
    handles.forget("a")
    handles.forget("missing")
    assert closed == ["B", "A"]
    handles.close_all()
    assert closed == ["B", "A", "C"] and not handles


def test_a_capacity_below_one_keeps_one():
    closed = []
    handles = Handles(0, closed.append)
    handles.keep("a", 1)
    handles.keep("b", 2)
    assert closed == [1] and list(handles) == ["b"]


def test_the_budget_follows_the_soft_descriptor_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    used = len(os.listdir("/proc/self/fd"))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (used + RESERVED_DESCRIPTORS + 40, hard))
        assert descriptor_budget() in (39, 40, 41)
        resource.setrlimit(resource.RLIMIT_NOFILE, (used + 2, hard))
        assert descriptor_budget() == 4
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
