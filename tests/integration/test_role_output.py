"""What a new user sees when a role's checks pass (issue 23): labels that say what holds."""

from sandbox import REPO


def test_bridge_labs_passing_checks_read_as_what_holds(sandbox):
    proc, records = sandbox.playbook(REPO / "playbooks" / "seed002_bridge_netns.yml", extra_args=["--check"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(item=at least one member namespace)" in proc.stdout, proc.stdout
    assert "(item=interface names of at most 15 characters)" in proc.stdout
    for alarming in ("is empty", "cannot also be", "names a namespace twice", "need distinct names"):
        assert alarming not in proc.stdout, "a passing check printed %r:\n%s" % (alarming, proc.stdout)
    assert sandbox.namespaces() == set(), "check mode built something"
