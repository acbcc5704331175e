"""Role output a new user reads (issue 23): a passing check's loop label says what holds, never the failure.

bridge_lab's preflight used to label each passing assertion with its failure message
(`ok: ... (item=bridge_lab_members is empty; a bridge lab needs at least...)`), which reads like an error.
"""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TASK_FILES = sorted(REPO.glob("roles/*/tasks/*.yml"))


def tasks_of(path: Path):
    stack = list(yaml.safe_load(path.read_text()) or [])
    while stack:
        task = stack.pop(0)
        yield task
        for key in ("block", "rescue", "always"):
            stack.extend(task.get(key) or [])


def looped_asserts():
    return [(path, task) for path in TASK_FILES for task in tasks_of(path)
            if "ansible.builtin.assert" in task and "loop" in task]


@pytest.mark.parametrize("path", TASK_FILES, ids=[str(p.relative_to(REPO)) for p in TASK_FILES])
def test_a_looped_assertion_is_labelled_by_what_holds(path):
    for task in tasks_of(path):
        if "ansible.builtin.assert" not in task or "loop" not in task:
            continue
        label = (task.get("loop_control") or {}).get("label", "")
        assert label, "%s: %r loops without a label, so each item prints whole" % (path, task["name"])
        fail_msg = str(task["ansible.builtin.assert"].get("fail_msg", ""))
        assert "item.msg" not in label and label not in fail_msg, \
            "%s: %r labels its items with the failure message" % (path, task["name"])
        assert task["ansible.builtin.assert"].get("quiet") is True, "%s: %r is not quiet" % (path, task["name"])
        for item in task["loop"]:
            assert isinstance(item, dict) and "check" in item, "%s: an item without its check: %r" % (path, item)
            words = item["check"].lower()
            for alarming in ("empty", "cannot", "twice", "must", "not allowed", "error", "fail"):
                assert alarming not in words, "%s: label %r reads like an error" % (path, item["check"])


def test_the_roles_have_looped_assertions_to_check():
    assert any(path.parts[-3] == "bridge_lab" for path, _task in looped_asserts())
