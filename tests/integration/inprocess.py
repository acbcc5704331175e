"""Run a playbook's netvirt.linux tasks in ONE Python process, inside the sandbox.

Usage (inside the sandbox): python inprocess.py PLAYS.json RECORD.json

For the generated-lab sets, whose per-object way runs thousands of module
tasks: each task's module ``main()`` is called with the task's arguments and
the play's check/diff mode exactly as Ansible passes them to the module on the
managed host (``ansible.module_utils.testing.patch_module_args``), against
the real kernel; only the controller and the AnsiballZ wrapper are left out,
which is what makes a task cost milliseconds instead of a second.
``ansible.builtin.command`` tasks run as subprocesses. Records have the
shape of the netvirt_record callback's: task, status, result.

Understands just what test_generated_labs.py writes: plays of tasks, the play
keywords check_mode and diff, and per-task ignore_errors, check_mode and
changed_when: false. Real ansible-playbook runs of the same plays stay in the
suite (a few labs) and behind ``make fuzz``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import subprocess
import sys

from ansible.module_utils.testing import patch_module_args

PREFIX = "netvirt.linux."


def run_module(name: str, args: dict, check_mode: bool, diff: bool) -> dict:
    module = importlib.import_module("ansible_collections.netvirt.linux.plugins.modules." + name)
    params = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    text = out.getvalue().strip()
    try:
        return json.loads(text.splitlines()[-1]) if text else {"failed": True, "msg": "the module printed nothing"}
    except ValueError:
        return {"failed": True, "msg": "the module printed no JSON: %s" % text[-2000:]}


def run_command(task: dict) -> dict:
    proc = subprocess.run(task["ansible.builtin.command"]["argv"], capture_output=True, text=True, check=False)
    result = {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "changed": False}
    if proc.returncode != 0:
        result.update(failed=True, msg="non-zero return code")
    return result


def main() -> int:
    plays = json.loads(open(sys.argv[1]).read())
    records = []
    for play in plays:
        for task in play["tasks"]:
            if "ansible.builtin.command" in task:
                result = run_command(task)
            else:
                key = next(k for k in task if k.startswith(PREFIX))
                result = run_module(key[len(PREFIX):], task[key], check_mode=task.get("check_mode", play.get(
                    "check_mode", False)), diff=task.get("diff", play.get("diff", False)))
            records.append({"task": task["name"], "status": "failed" if result.get("failed") else "ok",
                            "result": result})
            if result.get("failed") and not task.get("ignore_errors"):
                break
        else:
            continue
        break
    with open(sys.argv[2], "w") as handle:
        json.dump(records, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
