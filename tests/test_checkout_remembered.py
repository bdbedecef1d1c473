"""What a checkout or pull restores from the cache is remembered in the state db by the stats it
has once written, so the next command does not read it all again; a later write to a restored
file still shows, and where the file system keeps whole-second times nothing is remembered."""

from __future__ import annotations

import os
import time

from test_tracked_data_remote import track

from pipetool.storage.hashing import Hasher, file_hash
from pipetool.storage.state import StateDB

NOTHING_HASHED = "Hashed nothing: every hash was known from the state db.\n"


def restored(project) -> None:
    """Tracked data committed, removed from the workspace, and checked out again just now."""
    track(project)
    for path in ("data/raw.csv", "data/images/a.txt", "data/images/b.txt"):
        os.remove(project.path / path)
    os.rmdir(project.path / "data/images")
    out = project.cli_ok("checkout").stdout
    assert "restored data/raw.csv" in out and "restored data/images" in out


def test_the_command_after_a_checkout_reads_nothing_it_restored(project):
    restored(project)
    # Within a second of the restore: a file read then would not be remembered (its racy second).
    status = project.cli_ok("status", "-v")
    assert status.stdout == "Data and pipelines are up to date.\n"
    assert status.stderr == NOTHING_HASHED


def test_a_write_after_the_restore_still_shows(project):
    restored(project)
    for path, text in (("data/raw.csv", "id,v2\n1,2\n"), ("data/images/a.txt", "a v2\n")):
        full = project.path / path
        later = os.stat(full).st_mtime_ns + 5_000_000  # another program's write, a few ticks later
        full.write_text(text)  # the same size as before
        os.utime(full, ns=(later, later))
    status = project.cli_ok("status").stdout
    assert "data/raw.csv" in status and "data/images" in status
    assert "up to date" not in status


def _hashes(tmp_path, path, entries, *, mtime_ns: int | None = None):
    """A fresh state db told that path was just restored; what a new one then knows of it."""
    if mtime_ns is not None:
        for folder, _, names in os.walk(path) if os.path.isdir(path) else [("", [], [path])]:
            for name in names:
                os.utime(os.path.join(folder, name), ns=(mtime_ns, mtime_ns))
    db = str(tmp_path / "state.db")
    for name in os.listdir(tmp_path):
        if name.startswith("state.db"):
            os.remove(tmp_path / name)
    state = StateDB(db)
    hasher = Hasher(str(tmp_path), state)
    rel = os.path.relpath(path, tmp_path)
    digest = file_hash(path) if entries is None else Hasher(str(tmp_path), None).info(rel).hash
    hasher.restored(rel, digest, entries)
    state.close()
    again = Hasher(str(tmp_path), StateDB(db))
    again.info(rel)
    return again.tally.files


def test_whole_second_times_are_not_trusted_for_a_restore(tmp_path):
    data = tmp_path / "model.bin"
    data.write_bytes(b"weights")
    now = time.time_ns()
    assert _hashes(tmp_path, str(data), None, mtime_ns=now - 12_345) == 0  # remembered
    assert _hashes(tmp_path, str(data), None, mtime_ns=now // 10**9 * 10**9) == 1  # read again


def test_a_folder_whose_files_are_not_its_manifests_is_not_remembered(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(name)
    entries = [(name, file_hash(str(folder / name)), 5) for name in ("a.txt", "b.txt")]
    assert _hashes(tmp_path, str(folder), entries) == 0
    (folder / "c.txt").write_text("c")  # written by someone else after the restore
    assert _hashes(tmp_path, str(folder), entries) == 3
    os.remove(folder / "c.txt")
    assert _hashes(tmp_path, str(folder), [(n, d, 9) for n, d, _ in entries]) == 2  # other sizes


def test_a_restored_folder_gone_before_its_stats_were_taken_is_not_remembered(tmp_path):
    """Another program removed the folder right after the restore: nothing to remember, and no
    error from what is only a shortcut for the next command."""
    state = StateDB(str(tmp_path / "state.db"))
    hasher = Hasher(str(tmp_path), state)
    hasher.restored("images", "0" * 32 + ".dir", [("a.txt", "1" * 32, 1)])
    state.close()
    assert hasher.tally.files == 0
