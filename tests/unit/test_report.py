"""Unit tests of what runs say to people: named diffs, a lab's counts per kind."""

from types import SimpleNamespace

from ansible_collections.netvirt.linux.plugins.module_utils._report import counts_text, diffs, header, lab_counts


def test_headers_name_kind_object_and_namespace():
    assert header(("veth", "h1", "eth0")) == "veth eth0 in h1"
    assert header(("bridge", None, "br0")) == "bridge br0 (host)"
    assert header(("netns", "h1")) == "netns h1"
    assert header(("route", "h1", 254, "10.9.0.0/16", 0)) == "route 10.9.0.0/16 in h1"
    assert header(("route", None, 100, "::/0", 5)) == "route ::/0 metric 5 table 100 (host)"
    # Only the default metric of the route's own family goes unsaid.
    assert header(("route", "h1", 254, "::/0", 1024)) == "route ::/0 in h1"
    assert header(("route", "h1", 254, "::/0", 0)) == "route ::/0 metric 0 in h1"
    assert header(("route", "h1", 254, "10.0.0.0/8", 1024)) == "route 10.0.0.0/8 metric 1024 in h1"
    assert header(("iptables_chain", "b", "filter", "INPUT", "ipv4")) == "iptables chain INPUT of table filter (ipv4) in b"
    # A link the lab removed by ownership is named by its kind.
    assert header(("link", None, "h2-br"), {"kind": "veth"}) == "veth h2-br (host)"
    assert header(("link", "x", "t0"), {"kind": "tun"}) == "tap t0 in x"


def test_one_named_diff_per_object():
    objects = [SimpleNamespace(key=("veth", ns, "eth0"), before={"state": "absent"}, after={"state": "present"})
               for ns in ("h1", "h2")]
    outcome = SimpleNamespace(plan=SimpleNamespace(objects=objects))
    named = diffs(outcome)
    assert [(d["before_header"], d["after_header"]) for d in named] == [
        ("veth eth0 in h1", "veth eth0 in h1"), ("veth eth0 in h2", "veth eth0 in h2")]
    assert named[0]["before"] == {"state": "absent"} and named[0]["after"] == {"state": "present"}


def entry(key, before, after, changed=True):
    return {"key": list(key), "changed": changed, "diff": {"before": {"state": before}, "after": {"state": after}}}


def test_counts_are_disjoint_per_kind_in_registry_order():
    described = [
        entry(("veth", "a", "eth0"), "absent", "present"),
        entry(("netns", "a"), "absent", "present"),
        entry(("netns", "b"), "present", "present", changed=True),
        entry(("bridge", None, "br0"), "present", "present", changed=False),
    ]
    removed = [{"key": ["link", None, "p9"], "changed": True,
                "diff": {"before": {"kind": "veth", "state": "present"}, "after": {"state": "absent"}}},
               {"key": ["iptables_chain", "a", "filter", "X", "ipv4"], "changed": True,
                "diff": {"before": "# text", "after": "# text"}}]
    counts = lab_counts(described, removed)
    assert list(counts) == ["netns", "veth", "bridge", "iptables_chain"]
    assert counts["netns"] == {"created": 1, "changed": 1, "removed": 0}
    assert counts["veth"] == {"created": 1, "changed": 0, "removed": 1}
    assert counts["bridge"] == {"created": 0, "changed": 0, "removed": 0}
    assert counts_text(counts) == "created: 1 netns, 1 veth; changed: 1 netns; removed: 1 veth, 1 iptables_chain"
    assert counts_text({}) == "created: none; changed: none; removed: none"
