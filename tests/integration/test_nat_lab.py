"""Issue 4's proof by traffic: a client behind a masquerading router reaches an
upstream that has no route back, and the upstream sees the router's address."""

import subprocess

from sandbox import PYTHON

LAB = [dict(hosts="localhost", gather_facts=False, roles=[{"role": "netvirt.linux.router_lab"}])]

LISTEN = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9999)); "
          "s.settimeout(20); data, peer = s.recvfrom(100); print(peer[0])")
SEND = ("import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for attempt in range(40):\n"
        "    s.sendto(b'hello', ('192.0.2.1', 9999)); time.sleep(0.25)\n")


def test_upstream_sees_the_routers_address(sandbox):
    records = sandbox.playbook(LAB)[1]
    assert any(r["task"].endswith("Prove the paths (and the drops)") and r["status"] == "ok" for r in records)
    listener = subprocess.Popen(sandbox.prefix() + ["ip", "netns", "exec", "upstream", PYTHON, "-c", LISTEN],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sender = subprocess.Popen(sandbox.prefix() + ["ip", "netns", "exec", "client1", PYTHON, "-c", SEND])
    try:
        out, err = listener.communicate(timeout=30)
    finally:
        sender.kill()
        sender.wait()
    assert listener.returncode == 0, err
    assert out.strip() == "192.0.2.254", "the upstream saw %r, not the router's address" % out
    # And without masquerading the upstream cannot answer.
    sandbox.module("netvirt.linux.iptables_chain", {"netns": "router", "table": "nat", "chain": "POSTROUTING",
                                                    "rules": []})
    assert not sandbox.ping("client1", "192.0.2.1", tries=1)
    # The second run of the lab puts it back, and changes only that.
    again = sandbox.playbook(LAB)[1]
    assert [r["task"] for r in again if r["result"].get("changed")] == [
        "netvirt.linux.router_lab : Masquerade what leaves through wan0"]
