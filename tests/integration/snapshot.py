"""Print the sandbox's network state as normalized JSON (run inside the sandbox).

Volatile fields (counters, operstate, timers) are dropped so that two
snapshots are equal exactly when the configuration is equal.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# The collection, as the tests import it (build/collections/ansible_collections/netvirt/linux -> the checkout).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "build" / "collections"))
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS


def ip_json(*args):
    out = subprocess.run(["ip", "-j"] + list(args), check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


# Each kind of the registry says which of its devices' details are configuration (not timers or
# STP runtime state): Kind.snapshot, and Kind.snapshot_port for a master's ports.
FIELDS = {kind.link_kind: kind.snapshot for kind in KINDS if kind.link_kind and kind.snapshot}
PORT_FIELDS = {kind.link_kind: kind.snapshot_port for kind in KINDS if kind.link_kind and kind.snapshot_port}


def kind_details(info):
    """A device's configuration details under its kind (bridge, tun, vxlan, ...), and its port settings."""
    details = {}
    data = info.get("info_data") or {}
    if info.get("info_kind") in FIELDS:
        details[info["info_kind"]] = {k: data.get(k) for k in FIELDS[info["info_kind"]]}
    if info.get("info_slave_kind") in PORT_FIELDS:
        slave = info.get("info_slave_data") or {}
        details["port"] = {k: slave.get(k) for k in PORT_FIELDS[info["info_slave_kind"]]}
    return details


def links(netns=None):
    prefix = ["-n", netns] if netns else []
    state = {}
    for entry in ip_json(*prefix, "-d", "addr", "show"):
        info = entry.get("linkinfo", {})
        state[entry["ifname"]] = {
            "kind": info.get("info_kind"),
            "up": "UP" in entry.get("flags", []),
            "mtu": entry.get("mtu"),
            "master": entry.get("master"),
            "peer_elsewhere": "link_netnsid" in entry,
            "addresses": sorted(
                "%s/%s" % (a["local"], a["prefixlen"])
                for a in entry.get("addr_info", [])
                if not (a.get("family") == "inet6" and a.get("scope") == "link")
            ),
        }
        state[entry["ifname"]].update(kind_details(info))
        if entry.get("qdisc") not in DEFAULT_QDISCS:
            state[entry["ifname"]]["qdisc"] = entry.get("qdisc")
    if any("qdisc" in link for link in state.values()):
        root_qdiscs(netns, state)
    for name, link in state.items():
        if link["kind"] == "vxlan":
            link["fdb_all_zeros"] = all_zeros_entries(netns, name)
    return state


def all_zeros_entries(netns, name):
    """A vxlan's all-zeros forwarding entry (`bridge -j fdb show dev X`): its destinations (with a port, vni or
    underlay of their own), the default one (remote, group) and head-end replication's (remotes)."""
    argv = ["bridge", "-j"] + (["-n", netns] if netns else []) + ["fdb", "show", "dev", name]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return sorted(" ".join(str(entry[key]) for key in ("dst", "port", "vni", "via") if key in entry)
                  for entry in (json.loads(out) if out.strip() else []) if entry.get("mac") == "00:00:00:00:00:00")


# Root qdiscs a kernel gives a device by itself (handle 0:): left out, so that only a qdisc someone set (the
# shaping kind's) is in the state, read with `tc -j qdisc show` only in a namespace that has one.
DEFAULT_QDISCS = (None, "noqueue", "pfifo_fast", "fq_codel", "mq", "fq")


def root_qdiscs(netns, state):
    """A set root qdisc's kind, handle and options (`tc -j qdisc`: its configuration, no counters)."""
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["tc", "-j", "qdisc", "show"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    for qdisc in json.loads(out) if out.strip() else []:
        if qdisc.get("root") and qdisc.get("dev") in state and "qdisc" in state[qdisc["dev"]]:
            options = {key: value for key, value in (qdisc.get("options") or {}).items() if key not in QDISC_COUNTERS}
            state[qdisc["dev"]]["qdisc"] = {"kind": qdisc.get("kind"), "handle": qdisc.get("handle"), "options": options}


# Counters tc shows among a qdisc's options (htb's packets sent past its classes): not configuration.
QDISC_COUNTERS = ("direct_packets_stat",)


NETFILTER_SAVES = ("iptables-legacy-save", "iptables-nft-save", "ip6tables-legacy-save", "ip6tables-nft-save")


def netfilter(netns=None):
    """Every variant's tables, without comments and counters (never `-t`: that would load a table)."""
    state = {}
    for save in NETFILTER_SAVES:
        if shutil.which(save) is None:
            continue
        argv = (["ip", "netns", "exec", netns] if netns else []) + [save]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        state[save] = [re.sub(r" \[\d+:\d+\]$", "", line) for line in out.splitlines()
                       if line and not line.startswith("#")]
    return state


# The sysctls tests manage; each namespace has its own.
SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/rp_filter")


def routes(netns=None):
    prefix = ["-n", netns] if netns else []
    entries = ip_json(*prefix, "route", "show", "table", "all") + ip_json(*prefix, "-6", "route", "show", "table", "all")
    # Routes the kernel derives from addresses and links (protocol kernel) come and go
    # asynchronously (IPv6 autoconfiguration); configured routes are what tests compare.
    return sorted(json.dumps(e, sort_keys=True) for e in entries if e.get("protocol") != "kernel")


def sysctls(netns=None):
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["cat"] + ["/proc/sys/" + key for key in SYSCTLS]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
    return dict(zip(SYSCTLS, out))


def state():
    """The sandbox's state, as main() prints it (inprocess.py calls this between module runs)."""
    listed = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    # A stale entry (nothing mounted on it) is part of the state too, by name only.
    stale = [ns for ns in listed
             if subprocess.run(["ip", "netns", "exec", ns, "true"], capture_output=True, check=False).returncode != 0]
    namespaces = [ns for ns in listed if ns not in stale]
    return {"host": links(), "netns": {ns: links(ns) for ns in namespaces}, "stale_netns": stale,
            "netfilter": {"host": netfilter(), "netns": {ns: netfilter(ns) for ns in namespaces}},
            "routes": {"host": routes(), "netns": {ns: routes(ns) for ns in namespaces}},
            "sysctls": {"host": sysctls(), "netns": {ns: sysctls(ns) for ns in namespaces}}}


def main():
    print(json.dumps(state(), sort_keys=True))


if __name__ == "__main__":
    main()
