"""Print the sandbox's network state as normalized JSON (run inside the sandbox).

Volatile fields (counters, operstate, timers) are dropped so that two
snapshots are equal exactly when the configuration is equal.
"""

import json
import os
import subprocess


def ip_json(*args):
    out = subprocess.run(["ip", "-j"] + list(args), check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


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
    return state


def main():
    namespaces = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    print(json.dumps({"host": links(), "netns": {ns: links(ns) for ns in namespaces}}, sort_keys=True))


if __name__ == "__main__":
    main()
