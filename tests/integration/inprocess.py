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

Usage (inside the sandbox): python inprocess.py --steps STEPS.json RECORD.json
                        or: python inprocess.py --serve  (lines "STEPS.json RECORD.json" on stdin)
          (outside, once): python inprocess.py --zygote (forks --serve runners into sandboxes)

For Sandbox.module, four_steps and refused (tests/integration/sandbox.py):
STEPS is a list of ``{"name", "module", "args", "check_mode", "diff",
"ignore_errors"}`` module calls and ``{"name", "snapshot": true}`` kernel
snapshots (snapshot.py's, recorded as the ``command`` task records its
output). Each module call runs in a child forked from this process once the
collection is imported, so every call starts as a fresh module process does
(no warnings, caches or sockets left over from the call before), and gets
the module arguments ansible-core 2.21's action plugin adds (module name,
check mode, diff, no_log, verbosity ...). The result is what the
netvirt_record callback records for the same task run by ansible-playbook:
the controller's conversions (warnings as message strings, ``changed``
defaulted, ``failed`` and ``invocation`` left out, an ``exception`` on a
failure) are applied here; test_inprocess_parity.py runs the same steps both
ways for every module and asserts equal records.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

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
    argv = task["ansible.builtin.command"]["argv"]
    if len(argv) == 2 and Path(argv[1]).name == "snapshot.py" and Path(argv[1]).resolve().parent == HERE:
        # snapshot.py's state, computed here rather than in an interpreter of its own: what it prints.
        import snapshot
        return {"rc": 0, "stdout": json.dumps(snapshot.state(), sort_keys=True) + "\n", "stderr": "", "changed": False}
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    result = {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "changed": False}
    if proc.returncode != 0:
        result.update(failed=True, msg="non-zero return code")
    return result


# -- Sandbox.module / four_steps / refused: module calls as ansible-playbook records them ------------

HERE = Path(__file__).resolve().parent
COLLECTIONS = HERE.parents[1] / "build" / "collections"
# What ansible-core's action plugin adds to every module's arguments (ActionBase._update_module_args),
# at verbosity 0 on the local connection.
TASK_DEFAULTS = {
    "_ansible_no_log": False,
    "_ansible_debug": False,
    "_ansible_verbosity": 0,
    "_ansible_syslog_facility": "LOG_USER",
    "_ansible_selinux_special_fs": ["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"],
    "_ansible_shell_executable": "/bin/sh",
    "_ansible_keep_remote_files": False,
    "_ansible_ignore_unknown_opts": False,
    "_ansible_target_log_info": None,
    "_ansible_tracebacks_for": [],
    "_ansible_inject_invocation": False,
}


def _summaries_as_controller(value):
    """Warnings, deprecations and error summaries as the controller hands them to callbacks
    (ansible/_internal/_templating/_transform.py: warnings as brief messages, errors as a placeholder
    unless tracebacks are on)."""
    try:
        from ansible.module_utils._internal import _event_utils, _messages
    except ImportError:  # ansible-core < 2.19: modules print plain strings and dicts
        return value
    if isinstance(value, _messages.DeprecationSummary):
        return dict(_event_utils.deprecation_as_dict(value), deprecator=_json_safe(value.deprecator))
    if isinstance(value, _messages.WarningSummary):
        return _event_utils.format_event_brief_message(value.event)
    if isinstance(value, _messages.ErrorSummary):
        return "(traceback unavailable)"
    if isinstance(value, dict):
        return {key: _summaries_as_controller(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_summaries_as_controller(item) for item in value]
    return value


def _json_safe(value):
    import dataclasses
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def _child_result(fqcn: str, args: dict, check_mode: bool, diff: bool) -> dict:
    """In a forked child: the module's main() and the result it hands to the controller."""
    from ansible.module_utils import basic

    module = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % tuple(fqcn.rsplit(".", 1)))
    params = dict(TASK_DEFAULTS, **args)
    params.update(_ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_module_name=fqcn,
                  _ansible_version=_ansible_version(), _ansible_remote_tmp="~/.ansible/tmp",
                  _ansible_tmpdir=None)
    captured = []
    record = basic.AnsibleModule._record_module_result

    def keep(self, result):
        captured.append(result)
        # The module's own encoding (and its refusal of what cannot cross to the controller), as printed.
        with contextlib.redirect_stdout(io.StringIO()):
            record(self, result)

    basic.AnsibleModule._record_module_result = keep
    out = io.StringIO()
    try:
        with patch_module_args(params), contextlib.redirect_stdout(out):
            module.main()
    except SystemExit:
        pass
    except Exception:  # noqa: BLE001 - what ansible-playbook reports as MODULE FAILURE
        return {"failed": True, "changed": False, "rc": 1, "module_stdout": out.getvalue(),
                "module_stderr": traceback.format_exc(),
                "msg": "MODULE FAILURE: No start of json char found\nSee stdout/stderr for the exact error"}
    if not captured:
        return {"failed": True, "msg": "the module ended without a result: %s" % out.getvalue()[-2000:]}
    return _summaries_as_controller(captured[-1])


def _ansible_version() -> str:
    from ansible.release import __version__
    return __version__


def _as_recorded(result: dict) -> dict:
    """A module's result as the netvirt_record callback records it (ansible-core's TaskExecutor and
    TaskResult: no internal keys, ``changed`` defaulted, ``failed`` kept out of the callback's copy)."""
    from ansible.module_utils.common.json import Direction, get_module_encoder

    result = {key: value for key, value in result.items() if not key.startswith("_ansible_") and key != "invocation"}
    # TaskExecutor: without a ``failed`` key, a non-zero ``rc`` fails the task.
    failed = bool(result.pop("failed")) if "failed" in result else result.get("rc", 0) not in (0, "0")
    result.setdefault("changed", False)
    # UnifiedTaskResult.as_result_dict: stdout and stderr come split into lines as well.
    for stream in ("stdout", "stderr"):
        if stream in result and stream + "_lines" not in result:
            result[stream + "_lines"] = (result[stream] or "").splitlines()
    if failed:
        result.setdefault("exception", "(traceback unavailable)")
    encoder = get_module_encoder("legacy", Direction.MODULE_TO_CONTROLLER)
    result = json.loads(json.dumps(result, cls=encoder))
    status = "failed" if failed else "skipped" if result.get("skipped") else "ok"
    return {"status": status, "result": result}


def _fork(work, *args) -> int:
    """Fork: the child runs ``work(*args)`` and ends there (status 0, or 70 with its traceback on stderr),
    never back in the caller's code; the parent gets the child's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            work(*args)
        except BaseException:  # noqa: BLE001 - the child never returns into the parent's code
            traceback.print_exc()
            code = 70
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def call_module(fqcn: str, args: dict, check_mode: bool, diff: bool) -> dict:
    """One module run in a forked child; its record's status and result."""
    read_end, write_end = os.pipe()

    def child() -> None:
        os.close(read_end)
        try:
            data = _as_recorded(_child_result(fqcn, args, check_mode, diff))
        except BaseException:  # noqa: BLE001 - everything must reach the parent
            data = {"status": "failed", "result": {"changed": False, "msg": "inprocess.py: " + traceback.format_exc()}}
        with os.fdopen(write_end, "w") as handle:
            json.dump(data, handle)

    pid = _fork(child)
    os.close(write_end)
    with os.fdopen(read_end) as handle:
        text = handle.read()
    _pid, status = os.waitpid(pid, 0)
    if not text:
        return {"status": "failed", "result": {"changed": False, "msg": "inprocess.py: the module's child process "
                                               "died (wait status %d)" % status}}
    return json.loads(text)


def run_steps(steps: list) -> list:
    """Records of the steps, in order; stops after a failed call that does not ignore errors."""
    import snapshot

    records = []
    for step in steps:
        if step.get("snapshot"):
            state = snapshot.state()
            record = {"status": "ok", "result": {"changed": False, "rc": 0, "stdout": json.dumps(state, sort_keys=True)}}
        else:
            record = call_module(step["module"], step.get("args") or {}, bool(step.get("check_mode")),
                                 bool(step.get("diff")))
        records.append(dict(task=step["name"], host="localhost", **record))
        if record["status"] == "failed" and not step.get("ignore_errors"):
            break
    return records


def steps_file(steps_path: str, record_path: str) -> None:
    """Run the steps of one file, write their records to another."""
    steps = json.loads(Path(steps_path).read_text())
    # Imported in this process, before any fork: every child starts with the collection loaded.
    for step in steps:
        if "module" in step:
            importlib.import_module("ansible_collections.%s.plugins.modules.%s" % tuple(step["module"].rsplit(".", 1)))
    Path(record_path).write_text(json.dumps(run_steps(steps)))


def serve() -> int:
    """``--serve``: a sandbox's runner for its whole test. Reads ``STEPS RECORD`` lines (or ``plays
    PLAYS RECORD``: plays_file in a child) on stdin,
    answers each with a line (``done``, or ``error`` and a traceback) once the records are written.
    Whatever the modules or the commands they run print goes to stderr, never into the answers."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for line in sys.stdin:
        words = line.split()
        try:
            if words[0] == "plays":
                plays_in_child(words[1], words[2])
            else:
                steps_file(words[0], words[1])
            answers.write("done\n")
        except Exception:  # noqa: BLE001 - the test that asked gets the traceback
            answers.write("error " + json.dumps(traceback.format_exc()) + "\n")
        answers.flush()
    return 0


def zygote() -> int:
    """``--zygote``: one per test process, started OUTSIDE any sandbox, where it only imports.

    With ansible's module_utils, snapshot.py and every module of the collection loaded (the
    0.5 CPU-second a runner spends before its first answer), it reads ``PID REQUESTS REPLIES LOG``
    lines on stdin and for each forks a runner that enters the network, mount and UTS namespaces
    of process PID (the sandbox's holder; its UTS one is the machine's unless the sandbox has a
    hostname of its own) with setns(2), refuses to go on if that left it in the
    zygote's own network namespace, and then serves as ``--serve`` does, its requests and answers
    through the two named pipes, its stderr to LOG. The zygote answers each line with the runner's
    pid, or ``error`` and why. It never opens a socket nor runs a module itself.
    """
    import signal

    import snapshot  # noqa: F401 - loaded once here, for every runner forked from this process
    from ansible.module_utils import basic  # noqa: F401
    from ansible.module_utils.common import json as _json  # noqa: F401

    for path in sorted((COLLECTIONS / "ansible_collections" / "netvirt" / "linux" / "plugins" / "modules").glob("*.py")):
        if not path.name.startswith("_"):
            importlib.import_module("ansible_collections.netvirt.linux.plugins.modules." + path.stem)
    _ansible_version()
    try:
        _summaries_as_controller(None)
        from ansible.module_utils._internal import _event_utils, _messages  # noqa: F401
    except ImportError:
        pass
    # The runners are reaped by the kernel (they are the tests' to end, by pid).
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    own_netns = os.readlink("/proc/self/ns/net")
    cwd = os.getcwd()
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        child = _fork(_runner, *line.split(), own_netns, cwd)
        sys.stdout.write("%d\n" % child)
        sys.stdout.flush()


def _runner(pid: str, requests: str, replies: str, log: str, own_netns: str, cwd: str) -> None:
    """In a child of the zygote: into process PID's network, mount and UTS namespaces, then serve."""
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    for kind, flag in (("net", os.CLONE_NEWNET), ("mnt", os.CLONE_NEWNS), ("uts", os.CLONE_NEWUTS)):
        handle = os.open("/proc/%s/ns/%s" % (pid, kind), os.O_RDONLY)
        os.setns(handle, flag)
        os.close(handle)
    if os.readlink("/proc/self/ns/net") == own_netns:
        raise RuntimeError("the runner is still in the zygote's network namespace")
    os.chdir(cwd)
    # Answers first, then requests: once the test's end of the requests is open,
    # it knows this end of the answers is (sandbox.py's _Zygote.runner).
    os.dup2(os.open(replies, os.O_WRONLY), 1)
    os.dup2(os.open(requests, os.O_RDONLY), 0)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    serve()


def main() -> int:
    if sys.argv[1] in ("--steps", "--serve", "--zygote"):
        sys.path[:0] = [str(COLLECTIONS), str(HERE)]
        if sys.argv[1] == "--serve":
            return serve()
        if sys.argv[1] == "--zygote":
            return zygote()
        steps_file(sys.argv[2], sys.argv[3])
        return 0
    sys.path[:0] = [str(HERE)]
    plays_file(sys.argv[1], sys.argv[2])
    return 0


def plays_file(plays_path: str, record_path: str) -> None:
    """The plays' tasks, one after another in this process; their records to ``record_path``."""
    plays = json.loads(Path(plays_path).read_text())
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
    with open(record_path, "w") as handle:
        json.dump(records, handle)


def plays_in_child(plays_path: str, record_path: str) -> None:
    """plays_file in a child forked from this runner, so that the runner stays as it was."""
    pid = _fork(plays_file, plays_path, record_path)
    _pid, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError("the plays' child process failed (wait status %d); its traceback is in the runner's log"
                           % status)


if __name__ == "__main__":
    sys.exit(main())
