"""A private network sandbox for integration tests.

Each Sandbox is a process held in its own network and mount namespaces
(`unshare --net --mount`) with a tmpfs on /run/netns, so namespaces, links
and firewall rules made by a test never touch the machine's own network.
Commands run inside it through nsenter; ansible-playbook too, and the
in-process module runner (inprocess.py) that module(), four_steps() and
refused() use by default.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COLLECTIONS = REPO / "build" / "collections"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# "inprocess" (default) or "ansible": how Sandbox.module, four_steps and refused run modules
# (NETVIRT_TEST_VIA=ansible sends every one of them through ansible-playbook: make test-ansible).
VIA = os.environ.get("NETVIRT_TEST_VIA", "inprocess")
# Runs a command as root stripped of the capabilities the modules need, as an
# unprivileged user would be.
WITHOUT_NET_ADMIN = ["setpriv", "--inh-caps=-net_admin,-sys_admin", "--bounding-set=-net_admin,-sys_admin"]


def ensure_collection_path() -> Path:
    """ansible needs the collection under ansible_collections/netvirt/linux."""
    link = COLLECTIONS / "ansible_collections" / "netvirt" / "linux"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return COLLECTIONS


class Sandbox:
    def __init__(self, workdir: Path, hostname: Optional[str] = None):
        self.workdir = Path(workdir)
        # The runs' playbooks, steps and records go here (snapshot() too).
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._server: Optional[subprocess.Popen] = None
        Path("/run/netns").mkdir(parents=True, exist_ok=True)
        # Labs keep their records and locks here (_labstate); each sandbox gets its own.
        Path("/run/netvirt").mkdir(parents=True, exist_ok=True)
        unshare = ["unshare", "--net", "--mount", "--propagation", "private"]
        if hostname:
            unshare.append("--uts")
        script = ("mount -t tmpfs netvirt-sandbox /run/netns && mount -t tmpfs netvirt-sandbox-state /run/netvirt && "
                  "ip link set lo up && ")
        if hostname:
            script += "hostname %s && " % hostname
        script += "echo ready && exec sleep infinity"
        self._holder = subprocess.Popen(unshare + ["sh", "-c", script], stdout=subprocess.PIPE, text=True)
        line = self._holder.stdout.readline().strip()
        if line != "ready":
            self._holder.kill()
            raise RuntimeError("could not start the network sandbox (needs root and unshare)")
        self.pid = self._holder.pid
        inside = os.readlink("/proc/%d/ns/net" % self.pid)
        if inside == os.readlink("/proc/self/ns/net"):
            self.close()
            raise RuntimeError("sandbox shares the host's network namespace; refusing to run")
        self._runs = 0
        # How module(), four_steps() and refused() run modules unless told (see steps()).
        self.via = VIA

    def close(self) -> None:
        self._stop_server()
        if self._holder.poll() is None:
            self._holder.kill()
            self._holder.wait()

    # -- commands -------------------------------------------------------------

    def prefix(self) -> List[str]:
        return ["nsenter", "-t", str(self.pid), "--net", "--mount", "--"]

    def run(self, argv: List[str], check: bool = True, env: Optional[dict] = None,
            timeout: int = 300) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(self.prefix() + list(argv), capture_output=True, text=True, env=full_env,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("command %s failed (%d):\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(["sh", "-ec", script], check=check)

    def ip_json(self, *args: str, netns: Optional[str] = None) -> list:
        argv = ["ip", "-j"] + (["-n", netns] if netns else []) + list(args)
        out = self.run(argv).stdout
        return json.loads(out) if out.strip() else []

    def namespaces(self) -> set:
        return set(self.run(["ls", "/run/netns"]).stdout.split())

    def links(self, netns: Optional[str] = None) -> Dict[str, dict]:
        """name -> `ip -j -d addr show` entry."""
        return {entry["ifname"]: entry for entry in self.ip_json("-d", "addr", "show", netns=netns)}

    def snapshot(self) -> dict:
        """snapshot.py's state of the sandbox (read by the in-process runner, which has it loaded)."""
        record = self.steps([{"name": "snapshot", "snapshot": True}], via="inprocess")[0]
        return json.loads(record["result"]["stdout"])

    def ping(self, netns: Optional[str], address: str, count: int = 1, tries: int = 5) -> bool:
        """True once a ping gets through; retries cover a veth's first NO-CARRIER moment."""
        argv = (["ip", "netns", "exec", netns] if netns else []) + ["ping", "-n", "-c", str(count), "-W", "1", address]
        for _attempt in range(tries):
            if self.run(argv, check=False).returncode == 0:
                return True
            time.sleep(0.2)
        return False

    # -- ansible --------------------------------------------------------------

    def ansible_env(self, record: Path) -> dict:
        return {
            "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_path()),
            "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "plugins" / "callback"),
            "ANSIBLE_CALLBACKS_ENABLED": "netvirt_record",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "NETVIRT_RECORD": str(record),
            "PATH": "%s:%s" % (BIN, os.environ.get("PATH", "")),
        }

    def playbook(self, plays, extra_args: Optional[List[str]] = None, check: bool = True,
                 wrap: Optional[List[str]] = None):
        """Run a playbook (a list of plays, or YAML text, or a path); return (proc, records)."""
        self._runs += 1
        tmp = Path(tempfile.mkdtemp(dir=self.workdir, prefix="run%02d-" % self._runs))
        if isinstance(plays, (str, Path)) and Path(str(plays)).exists():
            path = Path(plays)
        else:
            path = tmp / "playbook.yml"
            path.write_text(plays if isinstance(plays, str) else yaml.safe_dump(plays, sort_keys=False))
        record = tmp / "record.json"
        argv = list(wrap or []) + [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                                   "-e", "ansible_python_interpreter=%s" % PYTHON, str(path)] + list(extra_args or [])
        proc = self.run(argv, check=False, env=self.ansible_env(record))
        records = json.loads(record.read_text()) if record.exists() else []
        if check and proc.returncode != 0:
            raise AssertionError("ansible-playbook failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
        return proc, records

    def tasks(self, tasks: list, check: bool = True, wrap: Optional[List[str]] = None, **play):
        """Run tasks in one play against localhost; return the records of every task."""
        plays = [dict(hosts="localhost", gather_facts=False, tasks=tasks, **play)]
        return self.playbook(plays, check=check, wrap=wrap)[1]

    # -- module calls: in-process by default, through ansible-playbook on request --------------

    def steps(self, steps: list, via: Optional[str] = None, wrap: Optional[List[str]] = None) -> list:
        """Run module calls and snapshots; return their records (task, host, status, result).

        ``steps``: ``{"name", "module", "args", "check_mode", "diff", "ignore_errors"}`` calls and
        ``{"name", "snapshot": True}`` snapshots (recorded as a command task with the state as stdout).
        ``via="inprocess"`` (the default, or NETVIRT_TEST_VIA): the sandbox's runner, one Python
        process for the whole test (inprocess.py --serve; under ``wrap``, inprocess.py --steps,
        a process of its own), each call's main() in a child forked from it, with the arguments
        and check/diff modes Ansible passes and the result converted as the controller does;
        ``via="ansible"``: one ansible-playbook run of the same tasks. Arguments with Jinja
        markup always go through ansible-playbook, which templates them. Stops at the first
        failed call without ``ignore_errors`` (ansible-playbook's failure raises).
        """
        via = via or self.via
        if via not in ("inprocess", "ansible"):
            raise ValueError("via must be 'inprocess' or 'ansible', not %r" % via)
        if via == "inprocess" and not any(_templated(step.get("args")) for step in steps):
            self._runs += 1
            tmp = Path(tempfile.mkdtemp(dir=self.workdir, prefix="run%02d-" % self._runs))
            path, record = tmp / "steps.json", tmp / "record.json"
            path.write_text(json.dumps(steps))
            if wrap:
                # A wrapped run (setpriv ...) gets a process of its own.
                argv = list(wrap) + [PYTHON, str(HERE / "inprocess.py"), "--steps", str(path), str(record)]
                proc = self.run(argv, check=False, env=self.ansible_env(record))
                if proc.returncode != 0 or not record.exists():
                    raise AssertionError("inprocess.py failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
            else:
                self._inprocess(path, record)
            records = json.loads(record.read_text())
            last = records[-1] if records else None
            if last and last["status"] == "failed" and not steps[len(records) - 1].get("ignore_errors"):
                raise AssertionError("task %r failed: %s" % (last["task"], last["result"].get("msg", last["result"])))
            return records
        tasks = []
        for step in steps:
            if step.get("snapshot"):
                tasks.append({"name": step["name"], "ansible.builtin.command": {"argv": [PYTHON, str(HERE / "snapshot.py")]},
                              "changed_when": False})
                continue
            task = {"name": step["name"], step["module"]: step.get("args") or {},
                    "check_mode": bool(step.get("check_mode")), "diff": bool(step.get("diff"))}
            if step.get("ignore_errors"):
                task["ignore_errors"] = True
            tasks.append(task)
        return self.tasks(tasks, wrap=wrap)

    def plays_inprocess(self, path: Path, record: Path, timeout: int = 300) -> None:
        """inprocess.py's plays (PLAYS.json, records to RECORD.json) through this sandbox's runner."""
        self._inprocess(path, record, timeout, kind="plays ")

    def _inprocess(self, path: Path, record: Path, timeout: int = 300, kind: str = "") -> None:
        """One request to this sandbox's inprocess.py --serve, started on first use (again if it ended)."""
        if self._server is not None and self._server.poll() is not None:
            self._stop_server()
        if self._server is None:
            ensure_collection_path()
            self._server_log = self.workdir / "inprocess-server.log"
            self._server = _ZYGOTE.runner(self) if ZYGOTE else None
            if self._server is None:
                env = dict(os.environ, **self.ansible_env(self.workdir / "unused-record.json"))
                with open(self._server_log, "w") as log:
                    # In the sandbox's UTS namespace too, as the zygote's runners are.
                    self._server = subprocess.Popen(self.prefix()[:-1] + ["--uts", "--", PYTHON,
                                                                          str(HERE / "inprocess.py"), "--serve"],
                                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                                    text=True, env=env)
        self._server.stdin.write("%s%s %s\n" % (kind, path, record))
        self._server.stdin.flush()
        ready = select.select([self._server.stdout], [], [], timeout)[0]
        answer = self._server.stdout.readline() if ready else ""
        if answer.strip() != "done":
            if not ready:
                self._stop_server()
            log = self._server_log.read_text()[-5000:]
            raise AssertionError("inprocess.py --serve: %s\n%s" % (
                json.loads(answer[len("error "):]) if answer.startswith("error ") else
                "no answer in %d s" % timeout if not ready else "it ended", log))

    @property
    def runner_pid(self) -> Optional[int]:
        """The pid of this sandbox's in-process runner while it runs (None before its first call)."""
        return self._server.pid if self._server is not None and self._server.poll() is None else None

    def _stop_server(self) -> None:
        if self._server is not None:
            if self._server.poll() is None:
                self._server.kill()
            self._server.wait()
            self._server.stdin.close()
            self._server.stdout.close()
            self._server = None

    def module(self, name: str, args: dict, check_mode: bool = False, diff: bool = False,
               expect_failure: bool = False, wrap: Optional[List[str]] = None, via: Optional[str] = None) -> dict:
        """Run one module task; return its result. ``wrap`` prefixes the runner (e.g. setpriv)."""
        step = {"name": "call", "module": name, "args": args, "check_mode": check_mode, "diff": diff}
        if expect_failure:
            step["ignore_errors"] = True
        records = self.steps([step], via=via, wrap=wrap)
        result = records[-1]
        if expect_failure:
            assert result["status"] == "failed", "expected %s to fail, got %s" % (name, result)
        else:
            assert result["status"] == "ok", "%s failed: %s" % (name, result["result"].get("msg", result))
        return result["result"]

    def four_steps(self, name: str, args: dict, via: Optional[str] = None) -> dict:
        """check+diff -> apply -> check -> apply, in one run, with kernel snapshots between.

        Asserts the contract every state-changing option must keep and returns
        the results and snapshots for the caller's own assertions on state.
        """
        records = self.steps(four_steps_plan(name, args), via=via)
        return four_steps_contract(records)

    def refused(self, name: str, args: dict, words: str, check_mode: bool = False,
                wrap: Optional[List[str]] = None, via: Optional[str] = None) -> dict:
        """The module must fail with a message containing ``words`` and change nothing."""
        call = {"name": "call", "module": name, "args": args, "check_mode": check_mode, "ignore_errors": True}
        if wrap:
            # The snapshots read iptables, which a wrapped (unprivileged) run may not: they run apart.
            before = self.snapshot()
            result = self.module(name, args, check_mode=check_mode, expect_failure=True, wrap=wrap, via=via)
            after = self.snapshot()
        else:
            records = self.steps([{"name": "snapshot before", "snapshot": True}, call,
                                  {"name": "snapshot after", "snapshot": True}], via=via)
            assert records[1]["status"] == "failed", "expected %s to fail, got %s" % (name, records[1])
            before, result, after = (json.loads(records[0]["result"]["stdout"]), records[1]["result"],
                                     json.loads(records[2]["result"]["stdout"]))
        assert words in result.get("msg", ""), "message %r does not say %r" % (result.get("msg"), words)
        assert after == before, "a refused task changed the kernel"
        return result


class _Runner:
    """A sandbox's inprocess.py --serve forked by the zygote: what Sandbox uses of a Popen."""

    def __init__(self, pid: int, stdin, stdout):
        self.pid, self.stdin, self.stdout = pid, stdin, stdout

    def poll(self) -> Optional[int]:
        # The zygote ignores SIGCHLD: an ended runner is reaped at once, and its pid is gone.
        return None if Path("/proc/%d" % self.pid).exists() else 0

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        return 0


class _Zygote:
    """This test process's inprocess.py --zygote, started on first use (again if it ended).

    It runs outside every sandbox and only imports; each sandbox's runner is forked from it
    and enters the sandbox's namespaces (setns) before it serves, so that a test pays no
    interpreter start nor imports for its runner.
    """

    def __init__(self):
        self.proc: Optional[subprocess.Popen] = None

    def runner(self, box: "Sandbox") -> Optional[_Runner]:
        if self.proc is None or self.proc.poll() is not None:
            env = dict(os.environ, **box.ansible_env(box.workdir / "unused-record.json"))
            self.log = tempfile.NamedTemporaryFile(prefix="netvirt-zygote-", suffix=".log", delete=False)
            self.proc = subprocess.Popen([PYTHON, str(HERE / "inprocess.py"), "--zygote"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        requests, replies = box.workdir / "runner.requests", box.workdir / "runner.replies"
        for fifo in (requests, replies):
            if fifo.exists():
                fifo.unlink()
            os.mkfifo(fifo)
        self.proc.stdin.write("%d %s %s %s\n" % (box.pid, requests, replies, box._server_log))
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], 120)[0]:
            raise AssertionError("inprocess.py --zygote did not answer")
        pid = int(self.proc.stdout.readline())
        # The runner opens its end of the answers, then of the requests (blocking on each until this
        # side opens its own): ours of the answers at once, then ours of the requests, which fails
        # (ENXIO) until the runner holds both. If the runner died before, its log says why.
        answers = os.open(replies, os.O_RDONLY | os.O_NONBLOCK)
        deadline = time.monotonic() + 120
        while True:
            try:
                asks = os.open(requests, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if not Path("/proc/%d" % pid).exists() or time.monotonic() > deadline:
                    os.close(answers)
                    raise AssertionError("the sandbox's runner ended before it served:\n%s"
                                         % box._server_log.read_text()[-5000:]) from None
                time.sleep(0.002)
        for fd in (answers, asks):
            os.set_blocking(fd, True)
        stdin, stdout = os.fdopen(asks, "w"), os.fdopen(answers, "r")
        return _Runner(pid, stdin, stdout)

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            os.unlink(self.log.name)


# NETVIRT_TEST_ZYGOTE=0: each sandbox's runner starts as a process of its own (nsenter ... --serve).
ZYGOTE = os.environ.get("NETVIRT_TEST_ZYGOTE", "1") != "0" and hasattr(os, "setns")
_ZYGOTE = _Zygote()
atexit.register(_ZYGOTE.close)


def _templated(value) -> bool:
    """Whether module arguments hold Jinja markup (only ansible-playbook templates it)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_templated(k) or _templated(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_templated(v) for v in value)
    return False


def four_steps_plan(module: str, args: dict) -> list:
    """The steps of the four-step contract, with a kernel snapshot around each change."""
    call = {"module": module, "args": args, "diff": True}
    return [
        {"name": "snapshot before", "snapshot": True},
        dict(call, name="check", check_mode=True),
        {"name": "snapshot after check", "snapshot": True},
        dict(call, name="apply"),
        {"name": "snapshot after apply", "snapshot": True},
        dict(call, name="check again", check_mode=True),
        dict(call, name="apply again"),
        {"name": "snapshot after apply again", "snapshot": True},
    ]


def four_steps_contract(records: list) -> dict:
    """The four-step contract over Sandbox.four_steps's records; its results and snapshots."""
    by_name = {r["task"]: r["result"] for r in records}
    snaps = {k: json.loads(v["stdout"]) for k, v in by_name.items() if k.startswith("snapshot")}
    check, apply, check2, apply2 = (by_name[k] for k in ("check", "apply", "check again", "apply again"))

    assert check["changed"] is True, "check mode should report a change: %s" % check
    assert "diff" in check, check
    diffs = check["diff"] if isinstance(check["diff"], list) else [check["diff"]]
    assert any(d["before"] != d["after"] for d in diffs), check
    assert snaps["snapshot after check"] == snaps["snapshot before"], "check mode changed the kernel"
    assert apply["changed"] is True, apply
    assert apply["actions"] == check["actions"], (check["actions"], apply["actions"])
    assert apply["diff"] == check["diff"], "check mode predicted another diff than the real run made"
    assert snaps["snapshot after apply"] != snaps["snapshot before"], "apply changed nothing in the kernel"
    assert check2["changed"] is False and check2["actions"] == [], check2
    assert apply2["changed"] is False and apply2["actions"] == [], apply2
    assert snaps["snapshot after apply again"] == snaps["snapshot after apply"]
    return {"check": check, "apply": apply, "check_again": check2, "apply_again": apply2,
            "before": snaps["snapshot before"], "after": snaps["snapshot after apply"]}
