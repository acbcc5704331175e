"""`scripts/bench.py --quick --sizes 10 --repeat 1` runs end to end and writes the doc and its plot.

The script makes its own sandboxes (sandbox.Sandbox, one per size and one for the
fixed costs); this test checks that nothing of it reaches the machine's own network.
"""

import importlib.util
import json
import subprocess
import sys

from sandbox import REPO

PYTHON = sys.executable


def host_links() -> list:
    return sorted(link["ifname"] for link in json.loads(subprocess.run(
        ["ip", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout))


def ensure_matplotlib() -> None:
    """As `make bench` does: requirements-bench.txt into this venv (not a dev requirement)."""
    if importlib.util.find_spec("matplotlib") is None:
        subprocess.run([PYTHON, "-m", "pip", "install", "-qq", "--disable-pip-version-check", "-r",
                        str(REPO / "requirements-bench.txt")], check=True)


def test_bench_quick_writes_doc_and_plot(tmp_path):
    ensure_matplotlib()
    before = host_links()
    output = tmp_path / "docs" / "performance.md"
    proc = subprocess.run([PYTHON, str(REPO / "scripts" / "bench.py"), "--quick", "--sizes", "10", "--repeat", "1",
                           "--output", str(output)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert host_links() == before, "the benchmark changed the machine's own network"

    text = output.read_text()
    assert "![time against N, log-log](images/performance.png)" in text
    assert "### S(10)" in text
    for method, phase in (("ip -batch", "build"), ("pyroute2", "build"), ("topology", "build"),
                          ("topology", "rerun"), ("ip -batch", "teardown"), ("topology", "teardown")):
        assert "| %s | %s | " % (method, phase) in text, (method, phase)
    assert "| S(10) re-run reports changed=false | changed=[False] | yes |" in text
    assert "| `ansible.builtin.command: true` |" in text and "| `netvirt.linux.veth (create)` |" in text
    assert "| 10 | " in text.split("## Peak memory", 1)[1]
    raw = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
    sizes = raw["sizes"]["10"]
    for key in ("ip -batch build", "ip -batch teardown", "pyroute2 build", "topology build", "topology rerun",
                "topology teardown", "carry"):
        assert len(sizes[key]) == 1 and sizes[key][0] > 0, key
    assert sizes["topology memory_kb"][0] > 0

    image = output.parent / "images" / "performance.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size > 10000
