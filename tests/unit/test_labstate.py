"""_labstate.LabState's files: never through a planted link, never half written, problems named (issue 23)."""

import os

import pytest

from ansible_collections.netvirt.linux.plugins.module_utils._labstate import LabRecord, LabState, RecordError

NAME = b"lab".hex()


def test_a_record_that_is_not_valid_reads_as_none_with_a_warning(tmp_path):
    (tmp_path / (NAME + ".json")).write_text('{"version": 1, "names')
    state = LabState("lab", root=str(tmp_path))
    assert not state.load().known
    assert len(state.warnings) == 1 and "%s.json is not valid" % (tmp_path / NAME) in state.warnings[0]
    state.load()
    assert len(state.warnings) == 1, "one warning per record"
    state.save(LabRecord({"a"}, known=True))
    assert state.load().namespaces == {"a"}
    state.close()


def test_record_and_lock_files_are_never_reached_through_a_link(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    directory = tmp_path / "labs"
    directory.mkdir(mode=0o700)
    (directory / (NAME + ".json")).symlink_to(target)
    (directory / (NAME + ".lock")).symlink_to(target)
    state = LabState("lab", root=str(directory))
    with pytest.raises(RecordError, match=r"%s\.json is a symbolic link \(never followed" % NAME):
        state.load()
    with pytest.raises(RecordError, match=r"%s\.lock is a symbolic link \(never followed" % NAME):
        with state:
            pass
    # A temporary file planted as a link is only ever unlinked; the record replaces the planted link itself.
    (directory / (NAME + ".json.tmp")).symlink_to(target)
    state.save(LabRecord({"a"}, known=True))
    assert target.read_text() == "untouched"
    assert not os.path.islink(directory / (NAME + ".json")) and state.load().namespaces == {"a"}
    state.close()


def test_the_directory_itself_must_be_a_private_directory(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(RecordError, match=r"the lab record directory %s is not a directory" % (tmp_path / "file")):
        LabState("lab", root=str(tmp_path / "file")).check()
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o777)
    with pytest.raises(RecordError, match=r"is writable by other users \(mode 0777\)"):
        LabState("lab", root=str(tmp_path / "open")).load()
    (tmp_path / "link").symlink_to(tmp_path / "open")
    with pytest.raises(RecordError, match=r"%s is a symbolic link" % (tmp_path / "link")):
        LabState("lab", root=str(tmp_path / "link")).check()
    # Missing: check() creates nothing, load() reads no record, save() makes it (mode 0700).
    state = LabState("lab", root=str(tmp_path / "new"))
    state.check()
    assert not state.load().known and not (tmp_path / "new").exists()
    state.save(LabRecord({"a"}, known=True))
    assert oct((tmp_path / "new").stat().st_mode & 0o777) == "0o700"
    state.close()


def test_a_failed_write_leaves_the_previous_record_whole(tmp_path):
    state = LabState("lab", root=str(tmp_path))
    state.save(LabRecord({"a"}, known=True))
    before = (tmp_path / (NAME + ".json")).read_text()
    # Something the temporary file cannot replace (a directory): the write fails, named, and the record stays.
    (tmp_path / (NAME + ".json.tmp")).mkdir()
    with pytest.raises(RecordError, match=r"cannot write lab record %s\.json: " % (tmp_path / NAME)):
        state.save(LabRecord({"a", "b"}, known=True))
    assert (tmp_path / (NAME + ".json")).read_text() == before
    state.close()
