"""scripts/bench.py's pure part: the ip -batch scripts, the lab description, statistics, targets, Markdown."""

import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
_spec = importlib.util.spec_from_file_location("netvirt_bench", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def samples(n, scale=1.0, changed=False):
    """Samples of one size, every method and phase, as Bench.size() returns them."""
    return {
        "ip -batch build": [0.5 * scale, 0.4 * scale, 0.6 * scale],
        "ip -batch teardown": [0.1 * scale] * 3,
        "pyroute2 build": [0.3 * scale] * 3,
        "pyroute2 build module": [0.2 * scale] * 3,
        "pyroute2 memory_kb": [30000, 31000, 30500],
        "topology build": [2.0 * scale] * 3,
        "topology build module": [1.0 * scale] * 3,
        "topology rerun": [1.5 * scale] * 3,
        "topology rerun module": [0.4 * scale] * 3,
        "topology rerun changed": [changed] * 3,
        "topology teardown": [1.0 * scale] * 3,
        "topology teardown module": [0.5 * scale] * 3,
        "topology memory_kb": [40000 + n * 10] * 9,
        "single veth": [2.5] * 3,
        "carry": [1.1 + 0.2 * scale] * 3,
    }


def results(sizes=(10, 100, 1000), changed=False):
    return {
        "empty": [1.0, 1.2, 1.1],
        "single": {name: [2.0, 2.1, 2.2] if name == bench.COMMAND else [2.5, 2.6, 2.7] for name in bench.SINGLE_TASKS},
        "sizes": {str(n): samples(n, scale=n / 100, changed=changed) for n in sizes},
    }


META = {"date": "2026-12-03 18:00 UTC", "repeat": 3, "machine": "test machine", "versions": "Python 3"}


# -- the lab -------------------------------------------------------------------


def test_host_batch_shape():
    lines = bench.host_batch(3).splitlines()
    assert lines[:2] == ["link add br-bench type bridge", "link set br-bench up"]
    assert lines[2:5] == ["netns add n0", "netns add n1", "netns add n2"]
    # The host end is the veth's first end, enslaved and up; its peer is created in the namespace.
    assert lines[5:] == ["link add n%d-br master br-bench up type veth peer name eth0 netns n%d" % (i, i) for i in range(3)]


def test_netns_batch_shape():
    assert bench.netns_batch(0) == "link set lo up\naddr add 10.0.0.1/8 dev eth0\nlink set eth0 up\n"


def test_teardown_batch_shape():
    assert bench.teardown_batch(2).splitlines() == ["netns del n0", "netns del n1", "link del br-bench"]


def test_build_script_one_batch_for_the_host_and_one_per_namespace(tmp_path):
    script = bench.build_script(3, tmp_path).splitlines()
    assert script[0] == "set -e"
    assert script[1] == "ip -batch %s" % (tmp_path / "host.batch")
    assert script[2:] == ["ip -n n%d -batch %s" % (i, tmp_path / ("n%d.batch" % i)) for i in range(3)]
    assert (tmp_path / "host.batch").read_text() == bench.host_batch(3)
    assert (tmp_path / "n2.batch").read_text() == bench.netns_batch(2)


def test_teardown_script_waits_for_the_devices(tmp_path):
    script = bench.teardown_script(2, tmp_path)
    assert script.splitlines()[1] == "ip -batch %s" % (tmp_path / "down.batch")
    assert script.rstrip().endswith(bench.WAIT_DEVICES_GONE)
    assert (tmp_path / "down.batch").read_text() == bench.teardown_batch(2)


def test_addresses_distinct_at_scale():
    addresses = [bench.address(i) for i in range(70000)]
    assert len(set(addresses)) == len(addresses)
    assert all(0 < int(a.split("/")[0].split(".")[3]) < 255 for a in addresses)


def test_topology_args_same_shape_as_the_script():
    args = bench.topology_args(2)
    assert args["namespaces"] == [{"name": "n0"}, {"name": "n1"}]
    assert args["veths"][1] == {"name": "n1-br", "peer": "eth0", "peer_netns": "n1", "peer_addresses": ["10.0.0.2/8"]}
    assert "netns" not in args["veths"][0]  # first end in the host
    assert args["bridges"] == [{"name": "br-bench", "ports": ["n0-br", "n1-br"]}]
    assert bench.topology_play(2, "absent")[0]["tasks"][0]["netvirt.linux.topology"] == {"name": "bench",
                                                                                         "state": "absent"}


# -- statistics ----------------------------------------------------------------


def test_median():
    assert bench.median([3.0, 1.0, 2.0]) == 2.0
    assert bench.median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert bench.median([None, 1.0]) == 1.0
    assert bench.median([]) is None


def test_ratio_and_own():
    assert bench.ratio(1.5, 2.0) == 0.75
    assert bench.ratio(None, 2.0) is None
    assert bench.ratio(1.0, 0) is None
    assert bench.ratio(1.0, None) is None
    assert bench.own(3.0, 1.0) == 2.0
    assert bench.own(3.0, None) is None


def test_growth_exponents():
    assert bench.growth_exponents({10: 100.0, 100: 1000.0}) == [pytest.approx(1.0)]
    slopes = bench.growth_exponents({1000: 50.0, 10: 40.0, 100: 40.0})
    assert slopes[0] == pytest.approx(0.0)
    assert slopes[1] == pytest.approx(math.log(50 / 40) / math.log(10))


def test_summarise_medians():
    summary = bench.summarise(results())
    row = summary[100]
    assert row["wall"]["ip -batch build"] == 0.5
    assert row["wall"]["topology rerun"] == 1.5
    assert row["module"]["topology build"] == 1.0
    assert row["own"]["topology rerun"] == pytest.approx(1.5 - 1.1)
    assert "ip -batch build" not in row["own"]
    assert row["memory_kb"] == 41000
    assert row["pyroute2_memory_kb"] == 31000
    assert row["carry"] == pytest.approx(1.1 + 0.2 - 1.1)


def test_targets_met_and_missed():
    rows = {r["target"]: r for r in bench.targets(bench.summarise(results()))}
    build = rows["S(1000) build (whole playbook) ≤ 0.75× ip -batch"]
    assert build["met"] is False and build["measured"] == "20.00 s / 5.00 s = 4.00×"
    teardown = rows["S(1000) teardown ≤ 2× ip -batch (both to devices gone)"]
    assert teardown["met"] is False and "10.00×" in teardown["measured"]
    rerun = rows["S(1000) re-run own time ≤ 0.15× build own time (both wall − empty playbook)"]
    # carry at S(1000): 1.1 + 0.2 * 10 = 3.1 s wall, 2.0 s above the empty playbook.
    assert rerun["met"] is False and rerun["measured"] == (
        "13.90 s / 18.90 s = 0.74× (of the re-run's own time, 2.000 s is Ansible's for a task carrying the same "
        "arguments and running no module; the module's own time is 4.000 s)")
    hundred = rows["S(100) re-run own time ≤ 0.3 s (wall − empty playbook)"]
    assert hundred["met"] is False
    assert hundred["measured"] == ("0.40 s (-0.600 s above a one-task `ansible.builtin.command: true` playbook; "
                                   "module's own time 0.400 s)")
    assert rows["peak memory of the module growing no faster than linearly"]["met"] is True
    assert rows["S(10) re-run reports changed=false"]["met"] is True


def test_targets_not_measured_without_s1000():
    rows = {r["target"]: r for r in bench.targets(bench.summarise(results(sizes=(10,))))}
    assert rows["S(1000) build (whole playbook) ≤ 0.75× ip -batch"]["met"] is None
    assert rows["S(1000) build (whole playbook) ≤ 0.75× ip -batch"]["measured"] == "not measured"
    assert rows["S(100) re-run own time ≤ 0.3 s (wall − empty playbook)"]["met"] is None
    assert rows["peak memory of the module growing no faster than linearly"]["met"] is None


def test_targets_changed_rerun_is_a_miss():
    rows = {r["target"]: r for r in bench.targets(bench.summarise(results(sizes=(10,), changed=True)))}
    assert rows["S(10) re-run reports changed=false"]["met"] is False


def test_render_markdown():
    text = bench.render(results(), META, "images/performance.png")
    assert text.startswith("# Performance\n")
    assert "![time against N, log-log](images/performance.png)" in text
    assert "Machine: test machine" in text and "2026-12-03 18:00 UTC" in text
    for n in (10, 100, 1000):
        assert "### S(%d)" % n in text
    assert "| topology | rerun | 1.500 s | 0.400 s | 0.400 s | -0.600 s | — |" in text
    assert "| topology | build | 20.000 s | 10.000 s | 18.900 s | 17.900 s | 4.00× |" in text
    assert "| S(1000) build (whole playbook) ≤ 0.75× ip -batch | 20.00 s / 5.00 s = 4.00× | **no** |" in text
    assert "| `netvirt.linux.veth (create)` | 2.600 s | 1.500 s | 0.500 s |" in text
    assert "| 1000 | 48.8 MiB | 30.3 MiB |" in text
    assert "| 100 | 2.500 s | 0.400 s |" in text
    assert '"empty": [' in text  # raw samples
    assert "(`ansible.builtin.set_fact`), wall − empty playbook: 2.000 s" in text


def test_render_without_image():
    assert "![" not in bench.render(results(sizes=(10,)), META, None)


def test_parse_args_quick_and_defaults():
    args = bench.parse_args([])
    assert args.sizes == [10, 100, 1000] and args.repeat == 3 and args.settle == 60.0
    args = bench.parse_args(["--quick"])
    assert args.sizes == [10, 100] and args.repeat == 1 and args.settle == 2.0
    args = bench.parse_args(["--quick", "--sizes", "10", "--repeat", "2"])
    assert args.sizes == [10] and args.repeat == 2


@pytest.mark.parametrize("argv", [["--repeat", "0"], ["--sizes", "10,0"]])
def test_parse_args_refuses_nonsense(argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert "at least 1" in capsys.readouterr().err


def test_settle_waits_for_softirq_to_quiet(monkeypatch):
    # Two busy half-seconds (softirq half the time), then a quiet one.
    counters = iter([[0] * 7, [0, 0, 0, 50, 0, 0, 50], [0, 0, 0, 50, 0, 0, 50], [0, 0, 0, 100, 0, 0, 100],
                     [0, 0, 0, 100, 0, 0, 100], [0, 0, 0, 200, 0, 0, 101]])
    monkeypatch.setattr(bench, "cpu_times", lambda: next(counters))
    sleeps = []
    monkeypatch.setattr(bench.time, "sleep", sleeps.append)
    bench.settle()
    assert sleeps == [0.5, 0.5, 0.5]


def test_settle_gives_up_at_its_limit(monkeypatch):
    busy = [0]

    def counters():
        busy[0] += 10
        return [0, 0, 0, 0, 0, 0, busy[0]]

    clock = [0.0]
    monkeypatch.setattr(bench, "cpu_times", counters)
    monkeypatch.setattr(bench.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    monkeypatch.setattr(bench.time, "monotonic", lambda: clock[0])
    assert bench.settle(limit=2.0) == 2.0
