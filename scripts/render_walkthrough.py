#!/usr/bin/env python
"""Render the pictures of docs/walkthrough.md from labs really built.

For each seed lab playbook (LABS below) a fresh network sandbox is made
(`unshare --net --mount --uts`, tmpfs on /run/netns: tests/integration/sandbox.py),
the playbook builds the lab in it, `netvirt.linux.lab_info` reads it back with
`format: dot`, and Graphviz's `dot -Tsvg` draws docs/images/<lab>.svg. Nothing
leaves the sandboxes: the machine's own network is never read or changed.

Usage: .venv/bin/python scripts/render_walkthrough.py [--output docs/images] [--format svg|png] [LAB ...]
       (make pictures). Run as root; needs `dot` (Debian package graphviz).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from sandbox import Sandbox

# Every seed lab playbook, in the walkthrough's order; each is drawn as docs/images/<name>.svg.
LABS = [
    "seed000_host_netns",
    "seed002_bridge_netns",
    "seed003_blue_netns",
    "seed003_netns_pair",
    "seed003_bridge_host",
    "seed004_veth_pair",
    "seed004_bridge_address",
    "seed004_tun",
    "seed004_netfilter_router",
]


def lab_dot(box: Sandbox, lab: str) -> str:
    """Build the lab's playbook inside the sandbox; return lab_info's DOT diagram of it."""
    box.playbook(REPO / "playbooks" / ("%s.yml" % lab))
    info = box.module("netvirt.linux.lab_info", {"format": "dot"})
    return info["diagram"]


def render(dot_source: str, dot: str, fmt: str) -> bytes:
    proc = subprocess.run([dot, "-T" + fmt], input=dot_source.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("dot -T%s refused the diagram (%d): %s" % (fmt, proc.returncode, proc.stderr.decode().strip()))
    return proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", metavar="LAB", help="seed lab playbooks to draw (default: all of them)")
    parser.add_argument("--output", default=str(REPO / "docs" / "images"), help="directory for <lab>.svg")
    parser.add_argument("--format", choices=["svg", "png"], default="svg", help="picture format (default: svg)")
    args = parser.parse_args()
    unknown = [lab for lab in args.labs if lab not in LABS]
    if unknown:
        parser.error("unknown lab(s) %s; choose from %s" % (", ".join(unknown), ", ".join(LABS)))
    if os.geteuid() != 0:
        parser.error("run as root: each lab is built in an unshare sandbox")
    dot = shutil.which("dot")
    if dot is None:
        parser.error("Graphviz's dot is missing: apt-get install graphviz")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    for lab in args.labs or LABS:
        with tempfile.TemporaryDirectory(prefix="netvirt-render-") as workdir:
            box = Sandbox(Path(workdir), hostname="walkthrough")
            try:
                source = lab_dot(box, lab)
            finally:
                box.close()
        target = output / ("%s.%s" % (lab, args.format))
        target.write_bytes(render(source, dot, args.format))
        print("%s: %s" % (lab, target.relative_to(REPO) if target.is_relative_to(REPO) else target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
