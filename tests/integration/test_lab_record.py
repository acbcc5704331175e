"""The lab's record directory (/run/netvirt/labs, _labstate) when it cannot be used (issue 23 item 6).

Each case breaks the sandbox's own /run/netvirt (a tmpfs the sandbox mounts) and expects
`topology` to fail naming the path and the reason, in check mode and for real, with the
kernel unchanged and nothing written through a planted link.
"""

import json

import pytest

TOPOLOGY = "netvirt.linux.topology"
LAB = "L"
NAME = ("netvirt:lab=" + LAB).encode().hex()
DESCRIPTION = {"name": LAB, "namespaces": [{"name": "a"}],
               "veths": [{"name": "eth0", "netns": "a", "peer": "a-h", "addresses": ["10.9.0.1/24"]}]}


def world_dir(sandbox) -> str:
    """The record directory of the sandbox's network world (named after its namespace's inode)."""
    inode = sandbox.run(["stat", "-L", "-c", "%i", "/proc/self/ns/net"]).stdout.strip()
    return "/run/netvirt/labs/netns-%s" % inode


def refused_both_ways(sandbox, words):
    for check_mode in (True, False):
        result = sandbox.refused(TOPOLOGY, DESCRIPTION, words, check_mode=check_mode)
        assert "Traceback" not in json.dumps(result), result
        assert "nothing was changed" in result["msg"], result
    return result


def test_read_only_record_directory_is_refused_before_anything_changes(sandbox):
    sandbox.sh("mount -o remount,ro /run/netvirt")
    result = refused_both_ways(sandbox, "/run/netvirt is on a read-only file system")
    assert result["path"] == "/run/netvirt"
    # Made before it went read-only: the lab's directory exists, its files cannot be made.
    sandbox.sh("mount -o remount,rw /run/netvirt && mkdir -p -m 700 %s && mount -o remount,ro /run/netvirt"
               % world_dir(sandbox))
    refused_both_ways(sandbox, "%s is on a read-only file system" % world_dir(sandbox))


def test_a_file_where_the_record_directory_belongs_is_refused(sandbox):
    sandbox.sh("touch /run/netvirt/labs")
    refused_both_ways(sandbox, "the lab record directory /run/netvirt/labs is not a directory")


@pytest.mark.parametrize("target", ["labs", "world"])
def test_a_symlink_planted_for_the_record_directory_is_never_followed(sandbox, tmp_path, target):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    path = "/run/netvirt/labs" if target == "labs" else world_dir(sandbox)
    sandbox.sh("mkdir -p -m 700 %s && ln -s %s %s" % (path.rsplit("/", 1)[0], elsewhere, path))
    refused_both_ways(sandbox, "%s is a symbolic link (never followed" % path)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("suffix", [".json", ".lock", ".json.tmp"])
def test_a_symlink_planted_for_a_record_file_writes_nothing_through_it(sandbox, tmp_path, suffix):
    canary = tmp_path / "canary"
    canary.write_text("canary\n")
    directory = world_dir(sandbox)
    sandbox.sh("mkdir -p -m 700 %s && ln -s %s %s/%s%s" % (directory, canary, directory, NAME, suffix))
    if suffix == ".json.tmp":
        # Only ever unlinked and made anew (O_EXCL): the run goes on, the canary stays as it was.
        sandbox.module(TOPOLOGY, DESCRIPTION)
        assert json.loads(sandbox.run(["cat", "%s/%s.json" % (directory, NAME)]).stdout)["namespaces"] == ["a"]
    else:
        words = "%s/%s%s is a symbolic link (never followed" % (directory, NAME, suffix)
        if suffix == ".json":
            refused_both_ways(sandbox, words)
        else:  # check mode takes no lock
            sandbox.refused(TOPOLOGY, DESCRIPTION, words)
    assert canary.read_text() == "canary\n"


def test_a_record_directory_another_user_owns_is_refused(sandbox):
    sandbox.sh("mkdir -m 755 /run/netvirt/labs && chown 65534 /run/netvirt/labs")
    refused_both_ways(sandbox, "/run/netvirt/labs belongs to uid 65534, neither root nor this user")
    sandbox.sh("chown 0 /run/netvirt/labs && chmod 777 /run/netvirt/labs")
    refused_both_ways(sandbox, "/run/netvirt/labs is writable by other users (mode 0777)")


def test_a_record_that_is_not_valid_is_read_as_none_with_a_warning_and_written_anew(sandbox):
    directory = world_dir(sandbox)
    sandbox.sh("mkdir -p -m 700 %s && printf '{\"version\": 1, \"namesp' > %s/%s.json" % (directory, directory, NAME))
    result = sandbox.module(TOPOLOGY, DESCRIPTION)
    assert result["changed"] is True
    assert any("%s/%s.json is not valid" % (directory, NAME) in warning for warning in result["warnings"]), result
    assert json.loads(sandbox.run(["cat", "%s/%s.json" % (directory, NAME)]).stdout)["namespaces"] == ["a"]
    again = sandbox.module(TOPOLOGY, DESCRIPTION)
    assert again["changed"] is False and not again.get("warnings"), again


def test_a_full_file_system_fails_clearly_and_leaves_the_record_whole(sandbox):
    # A tiny tmpfs of the lab's own, filled up after a first run wrote the record.
    directory = world_dir(sandbox)
    sandbox.sh("mount -t tmpfs -o size=8k,mode=755 netvirt-full /run/netvirt && mkdir -p -m 700 %s" % directory)
    small = {"name": LAB, "namespaces": [{"name": "a"}]}
    sandbox.module(TOPOLOGY, small)
    record = sandbox.run(["cat", "%s/%s.json" % (directory, NAME)]).stdout
    sandbox.sh("dd if=/dev/zero of=/run/netvirt/filler bs=1k count=64 2>/dev/null || true")
    result = sandbox.refused(TOPOLOGY, DESCRIPTION, "cannot write lab record %s/%s.json: No space left on device"
                             % (directory, NAME))
    assert "Traceback" not in json.dumps(result)
    assert sandbox.run(["cat", "%s/%s.json" % (directory, NAME)]).stdout == record
    assert sandbox.run(["ls", directory]).stdout.split() == sorted([NAME + ".json", NAME + ".lock"])
    # Room again: the same run goes through.
    sandbox.sh("rm /run/netvirt/filler")
    assert sandbox.module(TOPOLOGY, DESCRIPTION)["changed"] is True
