"""The per-path work of a status (one stat from the root folder's descriptor, a lookup in the
state db's rows read ahead) answers as os.path.join(root, path) and os.stat did: through a linked
root, for absolute paths, for missing paths and for paths that are not files."""

from __future__ import annotations

import dataclasses
import errno
import os
import time

import pytest
import xxhash

from pipetool.errors import ProjectError
from pipetool.storage.hashing import Hasher, HashInfo
from pipetool.storage.state import StateDB

UP_TO_DATE = "Data and pipelines are up to date.\n"


def test_paths_answer_the_same_through_a_linked_root_and_when_absolute(tmp_path):
    real = tmp_path / "real"
    (real / "data").mkdir(parents=True)
    (real / "data" / "a.txt").write_text("alpha\n")
    (real / "linked.txt").symlink_to(real / "data" / "a.txt")
    (tmp_path / "root-link").symlink_to(real)
    expected = HashInfo(xxhash.xxh3_128_hexdigest(b"alpha\n"), 6)
    for root in (real, tmp_path / "root-link"):
        hasher = Hasher(str(root), None)
        assert hasher.info("data/a.txt") == expected
        assert hasher.info("linked.txt") == expected  # a link is followed, as os.stat does
        assert hasher.info(str(real / "data" / "a.txt")) == expected  # absolute: itself
        assert hasher.info("data").nfiles == 1
        assert hasher.info("data/missing.txt") is None
        assert hasher.info("data/a.txt/below") is None  # a file on the way: nothing there
        assert hasher.info("file://" + str(real / "data" / "a.txt")) == expected


def test_a_path_that_is_not_a_file_or_a_folder_or_cannot_be_resolved_fails_as_before(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    hasher = Hasher(str(tmp_path), None)
    with pytest.raises(ProjectError, match="'pipe' is not a file or a folder"):
        hasher.info("pipe")
    with pytest.raises(OSError) as raised:  # the error names the full path, as os.stat's did
        hasher.info("loop")
    assert (raised.value.errno, raised.value.filename) == (errno.ELOOP, str(tmp_path / "loop"))


def test_a_hash_made_for_a_file_equals_one_made_by_the_constructor():
    made = HashInfo.of_file("0" * 32, 7)
    assert made == HashInfo("0" * 32, 7) and hash(made) == hash(HashInfo("0" * 32, 7))
    assert (made.nfiles, made.key, made.is_dir, repr(made)) == (None, "xxh3", False, repr(HashInfo("0" * 32, 7)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.size = 8  # type: ignore[misc]


def test_prefetched_rows_answer_and_a_changed_file_is_still_read(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"{name}\n")
        old = time.time() - 100
        os.utime(tmp_path / name, (old, old))
    state = StateDB(str(tmp_path / "state.db"))
    first = Hasher(str(tmp_path), state)
    assert first.info("a.txt").hash == xxhash.xxh3_128_hexdigest(b"a.txt\n")
    first.info("b.txt")
    assert first.tally.files == 2
    state.close()
    state = StateDB(str(tmp_path / "state.db"))
    second = Hasher(str(tmp_path), state)
    second.prefetch(["a.txt", "b.txt", "https://example.com/x.csv"])
    (tmp_path / "b.txt").write_text("B.txt\n")  # same size, new mtime: read again
    assert second.info("a.txt").hash == xxhash.xxh3_128_hexdigest(b"a.txt\n")
    assert second.info("b.txt").hash == xxhash.xxh3_128_hexdigest(b"B.txt\n")
    assert second.tally.files == 1  # a.txt came from the state db
    state.close()


def test_many_stages_status_is_up_to_date_and_sees_one_changed_dep(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          copy:
            foreach: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
            do:
              cmd: cp in/${item}.txt out/${item}.txt
              deps: ["in/${item}.txt"]
              outs: ["out/${item}.txt"]
    """,
    )
    for i in range(10):
        project.write(f"in/{i}.txt", f"{i}\n")
    (project.path / "out").mkdir()
    project.cli_ok("repro")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    project.write("in/7.txt", "seven\n")
    assert project.cli_ok("status").stdout == "copy@7:\n    changed deps: modified in/7.txt\n"
