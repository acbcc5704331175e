"""The forked-child helper every netfilter read and write goes through (no root, no namespace change)."""

import faulthandler
import os
import signal

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._errors import KernelError, NamespaceMissingError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._namespaces import ChildCrashed, in_netns


def answer(value):
    return {"pid": os.getpid(), "value": value}


def refuse():
    raise ValidationError("no such rule", rule_index=2)


def explode():
    raise RuntimeError("boom")


def crash():
    # What a C library fault inside python-iptables looks like from outside.
    faulthandler.disable()
    os.kill(os.getpid(), signal.SIGSEGV)


def test_result_comes_back_from_another_process():
    result = in_netns(None, answer, [1, "two"])
    assert result["value"] == [1, "two"]
    assert result["pid"] != os.getpid()


def test_domain_errors_keep_their_class_message_and_details():
    with pytest.raises(ValidationError) as info:
        in_netns(None, refuse)
    assert info.value.msg == "no such rule"
    assert info.value.details == {"rule_index": 2}


def test_other_exceptions_become_kernel_errors():
    with pytest.raises(KernelError, match="RuntimeError: boom"):
        in_netns(None, explode)


def test_a_crashing_child_is_reported_not_fatal():
    with pytest.raises(ChildCrashed, match="killed by SIGSEGV"):
        in_netns(None, crash)


def test_missing_namespace_is_named():
    with pytest.raises(NamespaceMissingError, match="network namespace 'no-such-ns-here' does not exist"):
        in_netns("no-such-ns-here", answer, 1)


# ------------------------------------------------------------ xtables lock ---


def test_xtables_lock_waits_for_the_holder_like_iptables_w(tmp_path, monkeypatch):
    import fcntl
    import time

    from ansible_collections.netvirt.linux.plugins.module_utils._iptables import xtables_lock

    path = tmp_path / "xtables.lock"
    monkeypatch.setenv("XTABLES_LOCKFILE", str(path))
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the other holder
        fd = os.open(str(path), os.O_RDONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(ready_write, b"x")
        time.sleep(0.5)
        os._exit(0)
    os.read(ready_read, 1)
    started = time.monotonic()
    with xtables_lock() as held:
        waited = time.monotonic() - started
        assert held == str(path)
        # Held now: nobody else gets it.
        probe = os.open(str(path), os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(probe)
    os.waitpid(pid, 0)
    assert waited >= 0.4
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_commands_run_under_the_lock_get_a_private_one(tmp_path, monkeypatch):
    """iptables-legacy-restore takes the xtables lock itself: under ours it must not wait for us for ever."""
    from ansible_collections.netvirt.linux.plugins.module_utils._iptables import _run, xtables_lock

    path = tmp_path / "xtables.lock"
    monkeypatch.setenv("XTABLES_LOCKFILE", str(path))
    with xtables_lock():
        own = _run(["sh", "-c", 'flock -n "$XTABLES_LOCKFILE" true && echo "$XTABLES_LOCKFILE"'])
        real = _run(["flock", "-n", str(path), "true"])
    assert own.returncode == 0 and own.stdout.startswith("/proc/self/fd/"), own
    assert real.returncode != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xtables.lock"]


def test_xtables_lock_gives_up_after_its_timeout_naming_the_holder(tmp_path, monkeypatch):
    import fcntl
    import time

    from ansible_collections.netvirt.linux.plugins.module_utils._iptables import XtablesLockTimeout, xtables_lock

    path = tmp_path / "xtables.lock"
    monkeypatch.setenv("XTABLES_LOCKFILE", str(path))
    ready_read, ready_write = os.pipe()
    done_read, done_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the other holder
        fd = os.open(str(path), os.O_RDONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(ready_write, b"x")
        os.read(done_read, 1)
        os._exit(0)
    try:
        os.read(ready_read, 1)
        started = time.monotonic()
        with pytest.raises(XtablesLockTimeout) as caught:
            with xtables_lock(0.3):
                pass
        assert 0.3 <= time.monotonic() - started < 2
        assert "the xtables lock %s is held by pid %d (" % (path, pid) in caught.value.msg
        assert "not released within 0.3 seconds (lock_timeout)" in caught.value.msg
        assert caught.value.details["lock"] == str(path)
        assert [holder["pid"] for holder in caught.value.details["lock_holders"]] == [pid]
    finally:
        os.write(done_write, b"x")
        os.waitpid(pid, 0)
    # Released: taken at once, even with no time to wait.
    with xtables_lock(0) as held:
        assert held == str(path)
