"""Content hashes: files are xxh3-128 of their bytes, a directory is the hash of its manifest;
the state db caches hashes by (path, inode, mtime, size) and is only ever a cache."""

from __future__ import annotations

import os
import sqlite3
import time

import xxhash
from conftest import ran_stages

from pipetool.storage.hashing import PROCESSES_FROM, Hasher, file_hash, hash_many
from pipetool.storage.state import VERSION as STATE_VERSION

UP_TO_DATE = "Data and pipelines are up to date.\n"

DIR_PIPELINE = """
    stages:
      count:
        cmd: find data -type f | sort > listing.txt
        deps: [data]
        outs: [listing.txt]
"""


def dep_record(project, stage: str, path: str) -> dict:
    return next(d for d in project.lock()["stages"][stage]["deps"] if d["path"] == path)


def run_dir_pipeline(project) -> dict:
    project.write("pipeline.yaml", DIR_PIPELINE)
    assert ran_stages(project.cli_ok("repro").stdout) == ["count"]
    return dep_record(project, "count", "data")


# --- what the lock records ----------------------------------------------------------------------


def test_file_hash_is_xxh3_128_of_its_bytes_with_its_size(project):
    project.write("raw.csv", "a,b\n1,2\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          copy:
            cmd: cp raw.csv copy.csv
            deps: [raw.csv]
            outs: [copy.csv]
    """,
    )
    project.cli_ok("repro")
    record = dep_record(project, "copy", "raw.csv")
    assert record == {"path": "raw.csv", "xxh3": xxhash.xxh3_128_hexdigest(b"a,b\n1,2\n"), "size": 8}
    assert project.lock()["stages"]["copy"]["outs"] == [record | {"path": "copy.csv"}]


def test_directory_records_nfiles_and_total_size(project):
    project.write("data/a.txt", "abc")
    project.write("data/b.txt", "hello")
    project.write("data/sub/c.txt", "x")
    record = run_dir_pipeline(project)
    assert record["nfiles"] == 3
    assert record["size"] == 3 + 5 + 1
    assert record["xxh3"].endswith(".dir")


def test_directory_out_records_nfiles_and_size(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: mkdir -p out/sub && printf 12 > out/one && printf 345 > out/sub/two
            outs: [out]
    """,
    )
    project.cli_ok("repro")
    (record,) = project.lock()["stages"]["make"]["outs"]
    assert (record["path"], record["nfiles"], record["size"]) == ("out", 2, 5)


def test_directory_hash_is_the_hash_of_its_sorted_manifest(project):
    files = {"b.txt": b"bee\n", "a.txt": b"ay\n", "sub/z.txt": b"zed\n"}
    for rel, data in files.items():
        project.write(f"data/{rel}", data.decode())
    record = run_dir_pipeline(project)
    manifest = xxhash.xxh3_128()
    for rel in sorted(files):
        data = files[rel]
        manifest.update(f"{rel}\0{xxhash.xxh3_128_hexdigest(data)}\0{len(data)}\n".encode())
    assert record["xxh3"] == manifest.hexdigest() + ".dir"


def test_thousands_of_small_files_hashed_by_several_processes_give_the_same_manifest(project):
    """Past PROCESSES_FROM files, the folder is split between processes; the parts must come
    back in order, so the recorded hash is still that of the sorted manifest."""
    assert PROCESSES_FROM <= 6000
    files = {f"d{i % 7}/f{i:05d}.txt": f"{i * 7919}\n".encode() for i in range(6000)}
    for rel, data in files.items():
        path = project.path / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    record = run_dir_pipeline(project)
    manifest = xxhash.xxh3_128()
    for rel in sorted(files):
        manifest.update(f"{rel}\0{xxhash.xxh3_128_hexdigest(files[rel])}\0{len(files[rel])}\n".encode())
    assert (record["xxh3"], record["nfiles"]) == (manifest.hexdigest() + ".dir", 6000)


def test_an_edit_anywhere_in_thousands_of_files_is_seen_after_their_stats_were_split(project):
    """Past PROCESSES_FROM files, a forked process stats half of them for the folder's
    fingerprint: an edit of a file in either half (same size, new mtime) must still be seen."""
    count = PROCESSES_FROM + 1000
    for i in range(count):
        path = project.path / "data" / f"d{i % 5}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{i:08d}\n")
    old = time.time() - 100
    for path in (project.path / "data").rglob("*.txt"):
        os.utime(path, (old, old))  # out of the racy window: their hashes are kept
    run_dir_pipeline(project)
    assert "up to date" in project.cli_ok("status").stdout
    for i in (0, count // 3, 2 * count // 3, count - 1):
        path = project.path / "data" / f"d{i % 5}" / f"f{i:05d}.txt"
        path.write_text("x" * 8 + "\n")  # same size
        os.utime(path, (old + 1, old + 1))
        assert "changed deps" in project.cli_ok("status").stdout, i
        path.write_text(f"{i:08d}\n")  # back: the content matches the lock again
        os.utime(path, (old + 2, old + 2))
        assert "up to date" in project.cli_ok("status").stdout, i


def test_hash_many_in_processes_keeps_order(tmp_path):
    paths = []
    for i in range(PROCESSES_FROM + 1):
        path = tmp_path / f"{i}.txt"
        path.write_text(f"file {i}\n")
        paths.append((str(path), path.stat().st_size))
    expected = [xxhash.xxh3_128_hexdigest(f"file {i}\n".encode()) for i in range(len(paths))]
    assert hash_many(paths, jobs=2) == expected
    assert hash_many(paths, jobs=1) == expected


def test_a_file_that_grew_since_its_stat_is_hashed_whole(tmp_path):
    path = tmp_path / "growing.txt"
    path.write_bytes(b"0123456789" * 1000)
    whole = xxhash.xxh3_128_hexdigest(path.read_bytes())
    assert file_hash(str(path), size=10) == whole  # stat saw it smaller
    assert file_hash(str(path), size=20000) == whole  # stat saw it bigger
    assert file_hash(str(path)) == whole


# --- a directory's hash changes with its tree, not just its bytes -------------------------------


def test_renaming_a_file_inside_a_directory_dep_changes_its_hash(project):
    project.write("data/a.txt", "same bytes\n")
    before = run_dir_pipeline(project)
    os.rename(project.path / "data/a.txt", project.path / "data/b.txt")
    assert project.cli_ok("status").stdout == "count:\n    changed deps: modified data\n"
    assert ran_stages(project.cli_ok("repro").stdout) == ["count"]
    after = dep_record(project, "count", "data")
    assert after["xxh3"] != before["xxh3"]
    assert (after["size"], after["nfiles"]) == (before["size"], before["nfiles"])
    assert project.read("listing.txt") == "data/b.txt\n"


def test_same_content_moved_deeper_in_the_tree_changes_the_hash(project):
    project.write("data/x.txt", "payload\n")
    before = run_dir_pipeline(project)
    (project.path / "data/sub").mkdir()
    os.rename(project.path / "data/x.txt", project.path / "data/sub/x.txt")
    assert project.cli_ok("status").stdout == "count:\n    changed deps: modified data\n"
    project.cli_ok("repro")
    after = dep_record(project, "count", "data")
    assert after["xxh3"] != before["xxh3"]
    assert (after["size"], after["nfiles"]) == (before["size"], before["nfiles"])


def test_swapping_contents_of_two_files_changes_the_hash(project):
    project.write("data/a.txt", "one\n")
    project.write("data/b.txt", "two\n")
    before = run_dir_pipeline(project)
    project.write("data/a.txt", "two\n")
    project.write("data/b.txt", "one\n")
    assert project.cli_ok("status").stdout == "count:\n    changed deps: modified data\n"
    project.cli_ok("repro")
    assert dep_record(project, "count", "data")["xxh3"] != before["xxh3"]


def test_empty_subdirectory_does_not_change_the_hash(project):
    project.write("data/a.txt", "one\n")
    run_dir_pipeline(project)
    (project.path / "data/empty").mkdir()
    assert project.cli_ok("status").stdout == UP_TO_DATE


def test_hasher_directory_hash_depends_on_paths_not_location(tmp_path):
    for top in ("left", "right"):
        (tmp_path / top / "sub").mkdir(parents=True)
        (tmp_path / top / "sub" / "f.txt").write_text("content\n")
        (tmp_path / top / "g.txt").write_text("other\n")
    (tmp_path / "moved" / "deeper" / "sub").mkdir(parents=True)
    (tmp_path / "moved" / "deeper" / "sub" / "f.txt").write_text("content\n")
    (tmp_path / "moved" / "g.txt").write_text("other\n")
    (tmp_path / "renamed" / "sub").mkdir(parents=True)
    (tmp_path / "renamed" / "sub" / "F.txt").write_text("content\n")
    (tmp_path / "renamed" / "g.txt").write_text("other\n")

    hasher = Hasher(str(tmp_path), None)
    left, right = hasher.info("left"), hasher.info("right")
    assert left == right  # same tree, same bytes: same hash wherever it lives
    assert (left.nfiles, left.size) == (2, 14)
    assert hasher.info("moved").hash != left.hash
    assert hasher.info("renamed").hash != left.hash
    assert hasher.info("nothing-here") is None


# --- the state db -------------------------------------------------------------------------------


def state_db(project) -> str:
    return str(project.path / ".pipetool" / "state.db")


def state_rows(project, name: str) -> list[tuple]:
    with sqlite3.connect(state_db(project)) as db:
        return db.execute(
            "SELECT path, inode, mtime_ns, size, hash FROM state WHERE path LIKE ?", (f"%/{name}",)
        ).fetchall()


def setup_single_file(project) -> os.stat_result:
    """One stage reading data.txt, whose mtime is well in the past so its hash is cached."""
    target = project.write("data.txt", "aaaa\n")
    past = time.time() - 100
    os.utime(target, (past, past))
    project.write(
        "pipeline.yaml",
        """
        stages:
          copy:
            cmd: cp data.txt copy.txt
            deps: [data.txt]
            outs: [copy.txt]
    """,
    )
    assert ran_stages(project.cli_ok("repro").stdout) == ["copy"]
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert len(state_rows(project, "data.txt")) == 1
    return os.stat(target)


def test_state_db_records_path_inode_mtime_size_and_hash(project):
    st = setup_single_file(project)
    ((path, inode, mtime_ns, size, digest),) = state_rows(project, "data.txt")
    assert os.path.samefile(path, project.path / "data.txt")
    assert (inode, mtime_ns, size) == (st.st_ino, st.st_mtime_ns, st.st_size)
    assert digest == xxhash.xxh3_128_hexdigest(b"aaaa\n")


def test_unchanged_file_is_not_reread_the_state_db_answer_is_used(project):
    setup_single_file(project)
    # Put a wrong hash in the cache for the unchanged file: if status re-read the file it
    # would see it is unchanged; it reports a change, so it believed the cache instead.
    with sqlite3.connect(state_db(project)) as db:
        updated = db.execute("UPDATE state SET hash = ? WHERE path LIKE ?", ("0" * 32, "%/data.txt")).rowcount
    assert updated == 1
    assert project.cli_ok("status").stdout == "copy:\n    changed deps: modified data.txt\n"


def test_same_size_rewrite_with_restored_mtime_and_inode_is_not_noticed(project):
    # The documented limit of the cache: (inode, mtime, size) unchanged means "same content".
    st = setup_single_file(project)
    target = project.path / "data.txt"
    with open(target, "r+b") as handle:  # rewrite in place: same inode
        handle.write(b"bbbb\n")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    now = os.stat(target)
    assert (now.st_ino, now.st_mtime_ns, now.st_size) == (st.st_ino, st.st_mtime_ns, st.st_size)
    assert target.read_bytes() == b"bbbb\n"
    assert project.cli_ok("status").stdout == UP_TO_DATE
    # any change of mtime makes pipetool hash the file again, and it sees the new bytes
    later = time.time() - 50
    os.utime(target, (later, later))
    assert project.cli_ok("status").stdout == "copy:\n    changed deps: modified data.txt\n"


def test_recently_modified_file_is_not_cached(project):
    # a file whose mtime is not safely in the past could change again within the same tick
    target = project.write("data.txt", "aaaa\n")
    future = time.time() + 100
    os.utime(target, (future, future))
    project.write(
        "pipeline.yaml",
        """
        stages:
          copy:
            cmd: cp data.txt copy.txt
            deps: [data.txt]
            outs: [copy.txt]
    """,
    )
    project.cli_ok("repro")
    project.cli_ok("status")
    assert state_rows(project, "data.txt") == []


def test_garbage_state_db_is_rebuilt_without_error(project):
    setup_single_file(project)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(state_db(project) + suffix):
            os.remove(state_db(project) + suffix)
    with open(state_db(project), "wb") as handle:
        handle.write(os.urandom(64) + b"this is not a database" * 200)
    result = project.cli("status")
    assert result.returncode == 0, result.stderr
    assert result.stdout == UP_TO_DATE
    assert result.stderr == ""
    # rebuilt: a real sqlite db again, holding the hash of the unchanged file
    ((_, _, _, _, digest),) = state_rows(project, "data.txt")
    assert digest == xxhash.xxh3_128_hexdigest(b"aaaa\n")


def test_garbage_state_db_does_not_hide_a_real_change(project):
    setup_single_file(project)
    with open(state_db(project), "wb") as handle:
        handle.write(b"\x00\xff" * 4096)
    project.write("data.txt", "cccc\n")
    result = project.cli("status")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "copy:\n    changed deps: modified data.txt\n"
    assert ran_stages(project.cli_ok("repro").stdout) == ["copy"]
    assert project.read("copy.txt") == "cccc\n"


def test_state_db_from_an_unknown_version_is_started_afresh(project):
    setup_single_file(project)
    with sqlite3.connect(state_db(project)) as db:
        db.execute("UPDATE state SET hash = ?", ("0" * 32,))
        db.execute("PRAGMA user_version=99")
    result = project.cli("status")
    assert result.returncode == 0, result.stderr
    assert result.stdout == UP_TO_DATE  # the bogus cached hash was thrown away with the db
    with sqlite3.connect(state_db(project)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == STATE_VERSION


def test_missing_state_db_is_recreated(project):
    setup_single_file(project)
    os.remove(state_db(project))
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert len(state_rows(project, "data.txt")) == 1


def test_pycache_inside_a_directory_dep_changes_nothing(project):
    project.write("pkg/mod.py", "X = 1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          use:
            cmd: cat pkg/mod.py > out.txt
            deps: [pkg]
            outs: [out.txt]
    """,
    )
    project.cli_ok("repro")
    project.write("pkg/__pycache__/mod.cpython-311.pyc", "bytecode\n")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    project.write("pkg/mod.py", "X = 2\n")
    assert "changed deps: modified pkg" in project.cli_ok("status").stdout
