"""Inject a kernel fault at every step of a module run, in ONE Python process inside the sandbox.

Usage (inside the sandbox): python faults.py SCENARIO.json REPORT.json

SCENARIO: {"module": name, "args": {...}, "mode": "fail" | "drop"}. The module's
planned actions are taken from a check-mode run; then, for each step N of the
plan, the module runs with the kernel adapter's fault injector set
(NETVIRT_TEST_FAIL_AT=N: the N-th change is refused; NETVIRT_TEST_DROP_AT=N: it
is reported made without being made), against the real kernel for everything
else, and the kernel snapshot (snapshot.py) and the lab records
(/run/netvirt) are taken after it. Then a normal run and a second one. The
report holds, per step, the action, the result and whether the snapshot and
the records equal those before; the test asserts on it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

# Run as a script: its directory is on the path, with snapshot.py and inprocess.py.
import snapshot
from inprocess import run_module

VARIABLES = {"fail": "NETVIRT_TEST_FAIL_AT", "drop": "NETVIRT_TEST_DROP_AT"}
RECORDS = Path("/run/netvirt")


def state() -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        snapshot.main()
    return json.loads(out.getvalue())


def records() -> dict:
    """The labs' records (their locks are empty files that stay)."""
    return {str(path.relative_to(RECORDS)): path.read_text() for path in sorted(RECORDS.rglob("*.json"))}


def main() -> int:
    scenario = json.loads(Path(sys.argv[1]).read_text())
    module, args, variable = scenario["module"], scenario["args"], VARIABLES[scenario["mode"]]
    before, files = state(), records()
    preview = run_module(module, args, check_mode=True, diff=False)
    actions = preview.get("actions", [])
    steps = []
    for step, action in enumerate(actions, 1):
        os.environ[variable] = str(step)
        try:
            result = run_module(module, args, check_mode=False, diff=False)
        finally:
            del os.environ[variable]
        steps.append({"step": step, "action": action, "result": result,
                      "kernel_unchanged": state() == before, "records_unchanged": records() == files})
    build = run_module(module, args, check_mode=False, diff=False)
    again = run_module(module, args, check_mode=False, diff=False)
    Path(sys.argv[2]).write_text(json.dumps({"preview": preview, "steps": steps, "build": build, "again": again,
                                             "before": before, "after": state()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
