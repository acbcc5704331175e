"""netvirt.linux.iptables_chain on the real kernel, inside the sandbox.

State is asserted from `iptables-save` of the variant the module wrote, and
the other variant is checked to be untouched.
"""

import pytest

MODULE = "netvirt.linux.iptables_chain"
SNAPSHOT_TASK = "snapshot"


def host_variant(sandbox):
    return "nft" if "nf_tables" in sandbox.run(["iptables", "-V"]).stdout else "legacy"


def saved(sandbox, variant, netns=None, family="ipv4"):
    """`iptables-save` lines of one variant, without comments and counters."""
    save = "%s-%s-save" % ("iptables" if family == "ipv4" else "ip6tables", variant)
    argv = (["ip", "netns", "exec", netns] if netns else []) + [save]
    return [line.split(" [")[0] if line.startswith(":") else line
            for line in sandbox.run(argv).stdout.split("\n") if line and not line.startswith("#")]


def chain_rules(lines, chain):
    return [line for line in lines if line.startswith("-A %s " % chain) or line == "-A %s" % chain]


def apply(sandbox, **args):
    return sandbox.module(MODULE, args)


def refused(sandbox, setup, args):
    """Run setup calls, then the module expecting failure; return (result, snapshot before, snapshot after).

    One in-process run (the module's main() as Ansible calls it; test_inprocess_parity.py holds its
    records equal to ansible-playbook's)."""
    import json

    steps = [{"name": "setup %d" % i, "module": MODULE, "args": step} for i, step in enumerate(setup)]
    steps += [
        {"name": "snapshot before", "snapshot": True},
        {"name": "refused", "module": MODULE, "args": args, "ignore_errors": True},
        {"name": "snapshot after", "snapshot": True},
    ]
    records = {r["task"]: r for r in sandbox.steps(steps, via="inprocess")}
    assert records["refused"]["status"] == "failed", records["refused"]
    return (records["refused"]["result"], json.loads(records["snapshot before"]["result"]["stdout"]),
            json.loads(records["snapshot after"]["result"]["stdout"]))


@pytest.fixture
def ns_c(sandbox):
    sandbox.sh("ip netns add c")
    return sandbox


# ------------------------------------------------------------ four steps ---


def test_user_chain_with_rules(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    out = sandbox.four_steps(MODULE, dict(
        netns="c", chain="SSH_IN",
        rules=["-s 10.0.1.0/24 -p tcp --dport 22 -m comment --comment 'lab admins' -j ACCEPT",
               "-p tcp --dport 22 -j DROP"]))
    assert out["apply"]["backend"] == variant
    assert out["apply"]["engine"] in ("iptables-nft-restore", "python-iptables", "iptables-legacy-restore")
    assert out["check"]["actions"] == [
        "create chain SSH_IN in table filter (ipv4) in namespace 'c'",
        "replace the rules of chain SSH_IN in table filter (ipv4) in namespace 'c' (0 -> 2)",
    ]
    expected = ['-A SSH_IN -s 10.0.1.0/24 -p tcp -m tcp --dport 22 -m comment --comment "lab admins" -j ACCEPT',
                "-A SSH_IN -p tcp -m tcp --dport 22 -j DROP"]
    lines = saved(sandbox, variant, "c")
    assert ":SSH_IN -" in lines
    assert chain_rules(lines, "SSH_IN") == expected
    assert out["check"]["diff"]["after"] == "# iptables -t filter\n-N SSH_IN\n%s\n" % "\n".join(expected)
    assert out["apply"]["chain"]["ipv4"] == {"state": "present", "policy": None,
                                             "rules": [line[len("-A SSH_IN "):] for line in expected]}
    # The host namespace is untouched.
    assert chain_rules(saved(sandbox, variant), "SSH_IN") == []
    # Written the other way round (explicit -m tcp, /32-less source), the same rules are no change.
    again = apply(sandbox, netns="c", chain="SSH_IN", rules=[
        '-s 10.0.1.0/24 -p tcp -m tcp --dport 22 -m comment --comment "lab admins" -j ACCEPT',
        "-p tcp -m tcp --dport 22 -j DROP"])
    assert again["changed"] is False


def test_policy(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    out = sandbox.four_steps(MODULE, dict(netns="c", chain="FORWARD", policy="DROP"))
    assert out["apply"]["actions"] == ["set policy DROP on chain FORWARD in table filter (ipv4) in namespace 'c'"]
    assert ":FORWARD DROP" in saved(sandbox, variant, "c")
    assert out["check"]["diff"]["before"] == "# iptables -t filter\n-P FORWARD ACCEPT\n"
    assert out["check"]["diff"]["after"] == "# iptables -t filter\n-P FORWARD DROP\n"


def test_rule_order_change(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    rules = ["-i lo -j ACCEPT", "-p icmp -j ACCEPT", "-p tcp --dport 80 -j ACCEPT"]
    apply(sandbox, netns="c", chain="INPUT", rules=rules)
    out = sandbox.four_steps(MODULE, dict(netns="c", chain="INPUT", rules=list(reversed(rules))))
    assert out["apply"]["actions"] == [
        "replace the rules of chain INPUT in table filter (ipv4) in namespace 'c' (3 -> 3)"]
    assert chain_rules(saved(sandbox, variant, "c"), "INPUT") == [
        "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT", "-A INPUT -p icmp -j ACCEPT", "-A INPUT -i lo -j ACCEPT"]


def test_comment_change_replaces_the_rule(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    apply(sandbox, netns="c", chain="INPUT", rules=["-p tcp --dport 22 -m comment --comment old -j ACCEPT"])
    out = sandbox.four_steps(MODULE, dict(netns="c", chain="INPUT", rules=[
        "-p tcp --dport 22 -m comment --comment 'new words' -j ACCEPT"]))
    assert chain_rules(saved(sandbox, variant, "c"), "INPUT") == [
        '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "new words" -j ACCEPT']
    assert "--comment old" in out["check"]["diff"]["before"]


def test_ipv6_only(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    out = sandbox.four_steps(MODULE, dict(netns="c", chain="INPUT", ip_version="ipv6", policy="DROP",
                                          rules=["-p ipv6-icmp -j ACCEPT", "-s fd00::/64 -p tcp --dport 22 -j ACCEPT"]))
    assert set(out["apply"]["chain"]) == {"table", "chain", "netns", "ipv6"}
    six = saved(sandbox, variant, "c", "ipv6")
    assert ":INPUT DROP" in six
    assert chain_rules(six, "INPUT") == ["-A INPUT -p ipv6-icmp -j ACCEPT",
                                         "-A INPUT -s fd00::/64 -p tcp -m tcp --dport 22 -j ACCEPT"]
    assert chain_rules(saved(sandbox, variant, "c"), "INPUT") == []


@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_both_backends_both_families(ns_c, backend):
    sandbox = ns_c
    other = "nft" if backend == "legacy" else "legacy"
    out = sandbox.four_steps(MODULE, dict(netns="c", chain="WEB", ip_version="both", backend=backend,
                                          rules=["-p tcp -m multiport --dports 80,443 -j ACCEPT",
                                                 "-m conntrack --ctstate INVALID -j DROP",
                                                 "-j RETURN"]))
    assert out["apply"]["backend"] == backend
    if backend == "nft":
        assert out["apply"]["engine"] == "iptables-nft-restore"
    else:
        # python-iptables when it proves itself on this host's libxtables; otherwise a warned fallback.
        assert out["apply"]["engine"] in ("python-iptables", "iptables-legacy-restore")
        if out["apply"]["engine"] == "iptables-legacy-restore":
            assert any("python-iptables not used" in w for w in out["apply"].get("warnings", []))
    expected = ["-A WEB -p tcp -m multiport --dports 80,443 -j ACCEPT",
                "-A WEB -m conntrack --ctstate INVALID -j DROP", "-A WEB -j RETURN"]
    for family in ("ipv4", "ipv6"):
        assert chain_rules(saved(sandbox, backend, "c", family), "WEB") == expected
        assert saved(sandbox, other, "c", family) == [], "the %s tables were touched" % other
    # Only the filter table was written (python-iptables must not create the others).
    tables = [line for line in saved(sandbox, backend, "c") if line.startswith("*")]
    assert tables == ["*filter"]


def test_user_chain_absent(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    apply(sandbox, netns="c", chain="OLD", rules=["-j ACCEPT"])
    out = sandbox.four_steps(MODULE, dict(netns="c", chain="OLD", state="absent"))
    assert out["apply"]["chain"]["ipv4"] == {"state": "absent"}
    lines = saved(sandbox, variant, "c")
    assert ":OLD -" not in lines and chain_rules(lines, "OLD") == []


def test_nat_table(ns_c):
    sandbox = ns_c
    variant = host_variant(sandbox)
    sandbox.four_steps(MODULE, dict(netns="c", table="nat", chain="POSTROUTING",
                                    rules=["-s 10.0.1.0/24 -o up0 -j MASQUERADE"]))
    lines = saved(sandbox, variant, "c")
    assert "-A POSTROUTING -s 10.0.1.0/24 -o up0 -j MASQUERADE" in lines


# ------------------------------------------------------------- refusals ---


@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_unparsable_rule_changes_nothing(ns_c, backend):
    result, before, after = refused(
        ns_c,
        [dict(netns="c", chain="INPUT", backend=backend, rules=["-i lo -j ACCEPT"])],
        dict(netns="c", chain="INPUT", backend=backend, policy="DROP",
             rules=["-p icmp -j ACCEPT", "-p tcp --dprot 22 -j ACCEPT"]))
    assert result["msg"].startswith("rule 2 of chain INPUT in table filter (ipv4) in namespace 'c' is not a valid")
    assert "--dprot" in result["msg"] and "nothing was changed" in result["msg"]
    assert after == before


def test_unknown_table(ns_c):
    result, before, after = refused(ns_c, [], dict(netns="c", table="filtre", chain="INPUT", rules=["-j ACCEPT"]))
    assert "value of table must be one of: filter, nat, mangle, raw, security, got: filtre" in result["msg"]
    assert after == before


def test_policy_on_a_user_chain(ns_c):
    result, before, after = refused(ns_c, [dict(netns="c", chain="MINE", rules=[])],
                                    dict(netns="c", chain="MINE", policy="DROP"))
    assert "policy applies only to built-in chains" in result["msg"]
    assert "'MINE' is a user-defined chain" in result["msg"]
    assert after == before


def test_deleting_a_referenced_chain(ns_c):
    result, before, after = refused(
        ns_c,
        [dict(netns="c", chain="SSH_IN", rules=["-j ACCEPT"]),
         dict(netns="c", chain="INPUT", rules=["-p tcp --dport 22 -j SSH_IN"])],
        dict(netns="c", chain="SSH_IN", state="absent"))
    assert result["msg"] == (
        "cannot delete chain SSH_IN in table filter (ipv4) in namespace 'c': other rules jump to it "
        "(-A INPUT -p tcp -m tcp --dport 22 -j SSH_IN); remove or change those rules first (nothing was changed)")
    assert after == before


@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_jump_to_a_missing_chain(ns_c, backend):
    result, before, after = refused(
        ns_c, [dict(netns="c", chain="INPUT", backend=backend, rules=["-i lo -j ACCEPT"])],
        dict(netns="c", chain="INPUT", backend=backend, rules=["-i lo -j ACCEPT", "-p tcp -j NO_SUCH"]))
    assert result["msg"].startswith("rule 2 of chain INPUT in table filter (ipv4) in namespace 'c' jumps to "
                                    "'NO_SUCH', which is neither a user-defined chain")
    assert after == before


def test_missing_namespace(sandbox):
    result = sandbox.module(MODULE, dict(netns="nowhere", chain="INPUT", rules=[]), expect_failure=True)
    assert "network namespace 'nowhere' does not exist" in result["msg"]


# --------------------------------------------------------------- traffic ---


def test_filter_chain_drops_ping_from_a_and_accepts_from_b(sandbox):
    sandbox.sh("""
        for ns in a b c; do ip netns add $ns; ip -n $ns link set lo up; done
        ip link add ca netns c type veth peer name ac netns a
        ip link add cb netns c type veth peer name bc netns b
        ip -n c addr add 10.0.1.1/24 dev ca; ip -n a addr add 10.0.1.2/24 dev ac
        ip -n c addr add 10.0.2.1/24 dev cb; ip -n b addr add 10.0.2.2/24 dev bc
        for pair in c:ca a:ac c:cb b:bc; do ip -n ${pair%%:*} link set ${pair#*:} up; done
    """)
    assert sandbox.ping("a", "10.0.1.1") and sandbox.ping("b", "10.0.2.1"), "lab not reachable before the rules"
    sandbox.four_steps(MODULE, dict(netns="c", chain="INPUT", rules=[
        "-s 10.0.1.0/24 -p icmp -m comment --comment 'drop a' -j DROP",
        "-s 10.0.2.0/24 -p icmp -j ACCEPT"]))
    assert not sandbox.ping("a", "10.0.1.1", tries=2), "ping from a should be dropped"
    assert sandbox.ping("b", "10.0.2.1"), "ping from b should be accepted"
    # Emptying the chain lets a through again.
    apply(sandbox, netns="c", chain="INPUT", rules=[])
    assert sandbox.ping("a", "10.0.1.1")


def test_legacy_without_python_iptables_uses_legacy_restore(ns_c):
    """Where python-iptables is missing (or fails its proof), legacy tables are still written, atomically."""
    import json

    from sandbox import COLLECTIONS, PYTHON, ensure_collection_path

    ensure_collection_path()
    # -S: no site-packages, so python-iptables cannot be imported.
    script = """
import json, sys
sys.path.insert(0, %r)
from ansible_collections.netvirt.linux.plugins.module_utils import _iptables as I
from ansible_collections.netvirt.linux.plugins.module_utils._iptables_rules import IptablesChain
desired = [IptablesChain("filter", "INPUT", netns="c", policy="DROP", rules=["-p tcp --dport 22 -j ACCEPT"])]
runs = [I.reconcile(desired, "legacy", check_mode=False) for _ in range(2)]
print(json.dumps([dict(changed=o.changed, engine=o.engine, warnings=o.warnings, actions=o.actions()) for o in runs]))
""" % str(COLLECTIONS)
    first, second = json.loads(ns_c.run([PYTHON, "-S", "-c", script]).stdout)
    assert first["changed"] and first["engine"] == "iptables-legacy-restore"
    assert "python-iptables is not installed" in first["warnings"][0]
    assert second == {"changed": False, "engine": None, "warnings": [], "actions": []}
    lines = saved(ns_c, "legacy", "c")
    assert ":INPUT DROP" in lines and chain_rules(lines, "INPUT") == ["-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"]
    assert saved(ns_c, "nft", "c") == []


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_check_mode_previews_a_chain_in_a_namespace_an_earlier_task_makes(sandbox, backend):
    """A whole playbook in --check: the namespace does not exist yet, so the chain is previewed against a new one."""
    before = sandbox.snapshot()
    args = {"chain": "MINE", "netns": "later", "backend": backend, "rules": ["-s 192.0.2.1 -j DROP"]}
    records = sandbox.tasks([{"name": "chain", MODULE: args, "check_mode": True, "diff": True}])
    result = records[-1]["result"]
    assert records[-1]["status"] == "ok" and result["changed"] is True, result
    assert any("namespace 'later': it does not exist; check mode assumes" in w for w in result["warnings"]), result
    assert sandbox.snapshot() == before
    # Outside check mode it stays the clear error it was.
    failed = sandbox.module(MODULE, args, expect_failure=True)
    assert "network namespace 'later' does not exist" in failed["msg"]
