"""Running a module with the kernel adapter's fault injector at every step (faults.py), and what each step must show.

Shared by test_undo.py and the kinds' own undo tests (test_shaping.py): a test module imports it by this name,
never another test module (tests/unit and tests/integration both hold a test_undo.py).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sandbox import COLLECTIONS, HERE, PYTHON

# faults.py calls modules by their file's name.
IN_PROCESS = "topology"


def run_faults(sandbox, module: str, args: dict, mode: str) -> dict:
    tmp = Path(tempfile.mkdtemp(dir=sandbox.workdir, prefix="faults-"))
    scenario, report = tmp / "scenario.json", tmp / "report.json"
    scenario.write_text(json.dumps({"module": module, "args": args, "mode": mode}))
    proc = sandbox.run([PYTHON, str(HERE / "faults.py"), str(scenario), str(report)], check=False,
                       env={"PYTHONPATH": str(COLLECTIONS)}, timeout=600)
    assert proc.returncode == 0 and report.exists(), proc.stdout + proc.stderr
    return json.loads(report.read_text())


def assert_every_step_undone(report: dict, words: str) -> None:
    steps = report["steps"]
    assert len(steps) == len(report["preview"]["actions"]) >= 1, report["preview"]
    for step in steps:
        result, where = step["result"], "step %d (%s)" % (step["step"], step["action"])
        assert result.get("failed"), "%s: the run did not fail: %s" % (where, result)
        msg = result["msg"]
        assert "Traceback" not in msg, "%s: %s" % (where, msg)
        assert words in msg, "%s: %s" % (where, msg)
        assert "NOT undone" not in msg and result["not_undone"] == [], "%s: %s" % (where, msg)
        assert step["action"] in msg.split("; undone:")[0], "%s: the error does not name the step: %s" % (where, msg)
        if step["step"] == 1:
            assert msg.endswith("; nothing had been changed") and result["undone"] == [], "%s: %s" % (where, msg)
        else:
            # What the run had done before the fault is said undone, newest first.
            assert "; undone: " in msg and result["undone"], "%s: %s" % (where, msg)
        assert step["kernel_unchanged"], "%s: the kernel was left changed: %s" % (where, msg)
        assert step["records_unchanged"], "%s: the lab's record was left changed: %s" % (where, msg)
    assert not report["build"].get("failed"), report["build"].get("msg")
    assert report["build"]["changed"] is True
    assert report["build"]["actions"] == report["preview"]["actions"]
    assert not report["again"].get("failed") and report["again"]["changed"] is False, report["again"]
