"""Simulated lab hosts inside a test sandbox, reached by Ansible over real SSH.

Each lab host is a process held in its own network, mount and UTS namespaces
(`unshare --net --mount --uts`, made from inside the sandbox) with a tmpfs on
/run/netns, so namespaces made on one host are invisible to the others. Its
`eth0` is a veth whose other end sits on the sandbox's `underlay` bridge
(10.99.0.0/24; the controller is 10.99.0.254), and an sshd in its namespaces
listens on its underlay address. Ansible connects as root with a key made for
the test; `become` uses `su`, which needs no password from root (the machine
has no sudo). The hosts share the machine's file system, so a "fresh host" is
one whose lab_host virtual environment (a per-host path) does not exist yet.
Traffic never leaves the sandbox.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml
from sandbox import BIN, PYTHON, REPO, Sandbox

SSHD = "/usr/sbin/sshd"
UNDERLAY = "underlay"
CONTROLLER_ADDRESS = "10.99.0.254"
WHEELHOUSE = REPO / "build" / "wheelhouse"
SSH_OPTIONS = ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes "
               "-o ConnectTimeout=5 -o LogLevel=ERROR")


def wheelhouse() -> Path:
    """build/wheelhouse: requirements.txt's distributions plus what building them needs, fetched once.

    Prepared outside the sandbox, as a controller with index access would;
    the lab hosts install from it with no index at all.
    """
    requirements = REPO / "requirements.txt"
    stamp_value = hashlib.sha256(requirements.read_bytes()).hexdigest()
    WHEELHOUSE.parent.mkdir(parents=True, exist_ok=True)
    with open(WHEELHOUSE.parent / ".wheelhouse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = WHEELHOUSE / ".stamp"
        if stamp.exists() and stamp.read_text() == stamp_value:
            return WHEELHOUSE
        shutil.rmtree(WHEELHOUSE, ignore_errors=True)
        proc = subprocess.run([PYTHON, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                               "-d", str(WHEELHOUSE), "-r", str(requirements), "setuptools", "wheel"],
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError("could not prepare the wheelhouse (pip download needs the package index):\n%s"
                               % proc.stderr[-3000:])
        stamp.write_text(stamp_value)
    return WHEELHOUSE


def ssh_key(directory: Path) -> Path:
    """A fresh ed25519 key pair; the private key's directory is 0700, as ssh wants."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = directory / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netvirt-test", "-f", str(key)],
                       check=True)
    return key


def netns_id(pid: int) -> str:
    return os.readlink("/proc/%d/ns/net" % pid)


def _kill_netns_members(netns: str, keep: Iterable[int] = ()) -> None:
    """Kill the processes living in one network namespace (all of them started by this harness)."""
    keep = set(keep)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in keep or int(entry) == os.getpid():
            continue
        try:
            if os.readlink("/proc/%s/ns/net" % entry) == netns:
                os.kill(int(entry), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue


class LabHost:
    """One simulated lab host: namespaces held by a sleeping process, plus its sshd."""

    def __init__(self, sandbox: Sandbox, name: str, number: int, workdir: Path, public_key: str,
                 broken_link_kinds: Iterable[str] = ()):
        self.name = name
        self.address = "10.99.0.%d" % number
        self.dir = workdir / name
        self.dir.mkdir(parents=True)
        (self.dir / "tmp").mkdir(mode=0o700)
        script = ("mount -t tmpfs %s-netns /run/netns && mkdir -p /run/netvirt && "
                  "mount -t tmpfs %s-state /run/netvirt && hostname %s && ip link set lo up && "
                  "mkdir -p /run/sshd && " % (name, name, name))
        if broken_link_kinds:
            script += self._break_ip(broken_link_kinds)
        script += "echo ready && exec sleep infinity"
        self._holder = subprocess.Popen(
            sandbox.prefix() + ["unshare", "--net", "--mount", "--uts", "--propagation", "private",
                                "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self._holder.stdout.readline().strip() != "ready":
            self._holder.kill()
            raise RuntimeError("could not start lab host %s" % name)
        self.pid = self._holder.pid
        if netns_id(self.pid) == netns_id(sandbox.pid):
            self.close()
            raise RuntimeError("lab host %s shares the sandbox's network namespace" % name)
        try:
            # eth0 in the host, its peer on the sandbox's underlay bridge.
            sandbox.sh("ip link add ul-%s type veth peer name eth0 netns %d && ip link set ul-%s master %s up"
                       % (name, self.pid, name, UNDERLAY))
            self.sh("ip addr add %s/24 dev eth0 && ip link set eth0 up" % self.address)
            self._start_sshd(public_key)
        except BaseException:
            self.close()
            raise

    def _break_ip(self, kinds: Iterable[str]) -> str:
        """Hide link kinds from this host's `ip`, as on a kernel built without them (own mount namespace only)."""
        real = self.dir / "ip.real"
        shutil.copy2(shutil.which("ip"), real)
        wrapper = self.dir / "ip"
        pattern = "|".join("*%s*" % kind for kind in kinds)
        wrapper.write_text('#!/bin/sh\ncase " $* " in\n  %s) echo "Error: Unknown device type." >&2; exit 2 ;;\n'
                           'esac\nexec %s "$@"\n' % (pattern, real))
        wrapper.chmod(0o755)
        return "mount --bind %s %s && " % (wrapper, shutil.which("ip"))

    def _start_sshd(self, public_key: str) -> None:
        host_key = self.dir / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
        authorized = self.dir / "authorized_keys"
        authorized.write_text(public_key)
        authorized.chmod(0o600)
        config = self.dir / "sshd_config"
        # StrictModes off: the test's files live under /tmp, which is world-writable.
        config.write_text("\n".join([
            "ListenAddress %s" % self.address, "Port 22", "HostKey %s" % host_key,
            "PidFile %s" % (self.dir / "sshd.pid"), "AuthorizedKeysFile %s" % authorized,
            "PermitRootLogin prohibit-password", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "UseDNS no",
            "Subsystem sftp internal-sftp", "",
        ]))
        self._log = open(self.dir / "sshd.log", "w")
        self._sshd = subprocess.Popen(self.prefix() + [SSHD, "-D", "-e", "-f", str(config)],
                                      stdout=self._log, stderr=subprocess.STDOUT)

    def prefix(self) -> List[str]:
        return ["nsenter", "-t", str(self.pid), "--net", "--mount", "--uts", "--"]

    def run(self, argv: List[str], check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.prefix() + list(argv), capture_output=True, text=True, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("%s on %s failed (%d):\n%s\n%s"
                                 % (argv, self.name, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(["sh", "-ec", script], check=check)

    def namespaces(self) -> set:
        return set(self.run(["ls", "/run/netns"]).stdout.split())

    def ping(self, netns: Optional[str], address: str, tries: int = 5) -> bool:
        argv = (["ip", "netns", "exec", netns] if netns else []) + ["ping", "-n", "-c", "1", "-W", "1", address]
        for _attempt in range(tries):
            if self.run(argv, check=False).returncode == 0:
                return True
            time.sleep(0.3)
        return False

    def close(self) -> None:
        netns = None
        try:
            netns = netns_id(self.pid)
        except FileNotFoundError:
            pass
        for proc in (getattr(self, "_sshd", None), self._holder):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        if netns is not None:
            # sshd's session children and anything a playbook left running there.
            _kill_netns_members(netns)
        if getattr(self, "_log", None):
            self._log.close()


class LabHosts:
    """Two or three lab hosts on one underlay, an inventory for them, and ansible-playbook over SSH."""

    def __init__(self, sandbox: Sandbox, workdir: Path, names: Iterable[str], key: Path,
                 broken_link_kinds: Optional[Dict[str, Iterable[str]]] = None):
        self.sandbox = sandbox
        self.workdir = Path(workdir)
        self.key = key
        self.hosts: Dict[str, LabHost] = {}
        # ssh's control sockets need a short path (sun_path is 108 bytes).
        self.control_dir = Path(tempfile.mkdtemp(prefix="nv-cp-", dir="/tmp"))
        sandbox.sh("ip link add %s type bridge && ip addr add %s/24 dev %s && ip link set %s up"
                   % (UNDERLAY, CONTROLLER_ADDRESS, UNDERLAY, UNDERLAY))
        try:
            for number, name in enumerate(names, start=1):
                self.hosts[name] = LabHost(sandbox, name, number, self.workdir / "hosts", key.with_suffix(".pub")
                                           .read_text(), (broken_link_kinds or {}).get(name, ()))
            self._wait_for_sshd()
        except BaseException:
            self.close()
            raise
        self.inventory = self.workdir / "inventory.yml"
        self.inventory.write_text(yaml.safe_dump(self.inventory_data(), sort_keys=False))

    def inventory_data(self) -> dict:
        hosts = {}
        for name, host in self.hosts.items():
            hosts[name] = {
                "ansible_host": host.address,
                # Each host keeps its own files apart, as separate machines would.
                "ansible_remote_tmp": str(host.dir / "tmp"),
                "lab_host_venv": str(host.dir / "venv"),
                "lab_host_wheelhouse_dest": str(host.dir / "wheelhouse"),
            }
        return {"all": {"vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": SSH_OPTIONS,
            # A fresh host: only the distribution's python3.
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_become_method": "ansible.builtin.su",
        }, "hosts": hosts}}

    def _wait_for_sshd(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for host in self.hosts.values():
            while True:
                argv = ["ssh"] + SSH_OPTIONS.split() + ["-i", str(self.key), "root@%s" % host.address, "hostname"]
                proc = self.sandbox.run(argv, check=False)
                if proc.returncode == 0 and proc.stdout.strip() == host.name:
                    break
                if time.monotonic() > deadline:
                    log = (host.dir / "sshd.log").read_text()
                    raise RuntimeError("sshd on %s did not answer: %s\n%s" % (host.name, proc.stderr, log))
                time.sleep(0.3)

    def playbook(self, path, extra_vars: Optional[dict] = None, limit: Optional[str] = None,
                 check: bool = True, extra_args: Optional[List[str]] = None):
        """ansible-playbook over SSH against every host (or ``limit``); returns (proc, records)."""
        runs = len(list(self.workdir.glob("run*"))) + 1
        tmp = self.workdir / ("run%02d" % runs)
        tmp.mkdir()
        if not isinstance(path, (str, Path)):
            playbook = tmp / "playbook.yml"
            playbook.write_text(yaml.safe_dump(path, sort_keys=False))
            path = playbook
        record = tmp / "record.json"
        env = self.sandbox.ansible_env(record)
        env.update({
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir),
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_FORKS": "5",
        })
        argv = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(path)]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        if limit:
            argv += ["--limit", limit]
        argv += list(extra_args or [])
        proc = self.sandbox.run(argv, check=False, env=env, timeout=900)
        records = json.loads(record.read_text()) if record.exists() else []
        if check and proc.returncode != 0:
            raise AssertionError("ansible-playbook failed (%d):\n%s\n%s"
                                 % (proc.returncode, proc.stdout[-8000:], proc.stderr[-3000:]))
        return proc, records

    def close(self) -> None:
        for host in self.hosts.values():
            host.close()
        # ssh's ControlPersist masters run in the sandbox; they are this harness's own.
        _kill_netns_members(netns_id(self.sandbox.pid), keep=[self.sandbox.pid])
        shutil.rmtree(self.control_dir, ignore_errors=True)


def changed_tasks(records: list) -> List[str]:
    return ["%s: %s" % (r.get("host"), r["task"]) for r in records if r["status"] == "ok" and r["result"].get("changed")]
