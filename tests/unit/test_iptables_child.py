"""The forked-child helper every netfilter read and write goes through (no root, no namespace change)."""

import faulthandler
import os
import signal

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._errors import (
    KernelError,
    NamespaceMissingError,
    ValidationError,
)
from ansible_collections.netvirt.linux.plugins.module_utils._iptables import ChildCrashed, in_netns


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
