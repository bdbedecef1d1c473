"""`pipetool add` reads each file once: what it puts in the cache is hashed on the way in, and no
object under its final name ever holds bytes other than those its name says."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import xxhash
import yaml
from conftest import CLI_ENV

from pipetool.storage.ingest import SMALL

OLD = time.time() - 3600  # not "just written": the state db remembers what add hashed


def objects(project) -> dict[str, bytes]:
    """Every file in the cache's two-character folders: name -> bytes."""
    cache = project.path / ".pipetool" / "cache"
    found = {}
    for prefix in sorted(os.listdir(cache)):
        if len(prefix) == 2:
            for name in os.listdir(cache / prefix):
                found[prefix + name] = (cache / prefix / name).read_bytes()
    return found


def object_path(project, digest: str):
    return project.path / ".pipetool" / "cache" / digest[:2] / digest[2:]


def data(project, files: int = 5, big: bool = True) -> dict[str, bytes]:
    """A folder data/ of small files (two of them alike), a symlink to one and a file bigger than
    SMALL, with old mtimes; its files' bytes by relative path."""
    project.cli_ok("init")
    contents = {f"part/{i}.txt": f"row {i % (files - 1)}\n".encode() for i in range(files)}
    if big:
        contents["big.bin"] = os.urandom(SMALL + 4096)
    for relpath, content in contents.items():
        path = project.path / "data" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (OLD, OLD))
    os.symlink("part/0.txt", project.path / "data" / "alias.txt")
    contents["alias.txt"] = contents["part/0.txt"]
    return contents


def test_add_stores_every_file_once_under_the_hash_of_its_bytes(project):
    contents = data(project)
    project.cli_ok("add", "data")
    stored = objects(project)
    for name, content in stored.items():
        if not name.endswith(".dir"):
            assert xxhash.xxh3_128_hexdigest(content) == name
            assert stat.S_IMODE(os.stat(object_path(project, name)).st_mode) == 0o444
    assert {xxhash.xxh3_128_hexdigest(c) for c in contents.values()} == {n for n in stored if not n.endswith(".dir")}
    manifest = yaml.safe_load(project.read("data.pipetool"))["outs"][0]
    entries = [[rel, xxhash.xxh3_128_hexdigest(contents[rel]), len(contents[rel])] for rel in sorted(contents)]
    assert yaml.safe_load(stored[manifest["xxh3"]]) == entries
    assert manifest["size"] == sum(len(c) for c in contents.values()) and manifest["nfiles"] == len(contents)
    assert not [p for p in (project.path / ".pipetool" / "cache").rglob("*") if "tmp" in p.name]
    # The hashes add took from the copies are the status's: remembered, nothing hashed again.
    assert "Hashed nothing" in project.cli_ok("status", "-v").stderr
    (project.path / ".pipetool" / "state.db").unlink()
    assert "Hashed 7 file(s)" in project.cli_ok("status", "-v").stderr  # hashed afresh: the same
    project.cli_ok("status", "--exit-code")


def test_add_with_hardlinks_links_each_file_read_only_and_copies_a_symlinked_one(project):
    contents = data(project)
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("add", "data")
    for relpath, content in contents.items():
        workspace = project.path / "data" / relpath
        digest = xxhash.xxh3_128_hexdigest(content)
        if relpath == "alias.txt":
            assert workspace.is_symlink()  # its bytes are in the cache, but the link stays the user's
            continue
        assert os.path.samefile(workspace, object_path(project, digest))  # files alike share one object
        assert stat.S_IMODE(os.stat(workspace).st_mode) == 0o444
    project.cli_ok("status", "--exit-code")
    project.cli_ok("checkout")
    assert {rel: (project.path / "data" / rel).read_bytes() for rel in contents} == contents


def test_add_with_symlinks_moves_each_file_into_the_cache_and_links_it_back(project):
    contents = data(project)
    project.cli_ok("config", "cache.type", "symlink")
    project.cli_ok("add", "data")
    for relpath, content in contents.items():
        workspace = project.path / "data" / relpath
        assert workspace.is_symlink() and workspace.read_bytes() == content
        if relpath != "alias.txt":  # the user's own link stays as it was
            assert os.path.realpath(workspace) == str(object_path(project, xxhash.xxh3_128_hexdigest(content)))
    project.cli_ok("status", "--exit-code")


def added_beside_a_good_and_a_damaged_object(project, files: int) -> None:
    """`add data` of that many files into a cache that holds a good object of one of them and a
    damaged one of another: the good one is kept (not written again), the damaged one replaced."""
    contents = data(project, files=files, big=False)
    good = object_path(project, xxhash.xxh3_128_hexdigest(contents["part/1.txt"]))
    damaged = object_path(project, xxhash.xxh3_128_hexdigest(contents["part/2.txt"]))
    for path, content in ((good, contents["part/1.txt"]), (damaged, b"half")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o444)
    inode = good.stat().st_ino
    project.cli_ok("add", "data")
    assert good.stat().st_ino == inode  # kept: not written again
    assert damaged.read_bytes() == contents["part/2.txt"]
    project.cli_ok("status", "--exit-code")


def test_add_replaces_a_damaged_object_and_keeps_a_good_one(project):
    added_beside_a_good_and_a_damaged_object(project, files=5)


def test_an_add_killed_midway_leaves_no_object_whose_bytes_differ_from_its_name(project):
    project.cli_ok("init")
    folder = project.path / "data"
    folder.mkdir()
    (folder / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))
    for i in range(1000):
        (folder / f"{i}.txt").write_bytes(b"%d" % i * 100)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "add", "data"],
        cwd=project.path,
        env=CLI_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cache = project.path / ".pipetool" / "cache"
    deadline = time.monotonic() + 60
    while not _has_objects(cache) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # until the add has written its first objects
    assert proc.poll() is None, "the add ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not project.exists("data.pipetool")  # killed before it recorded anything
    left = objects(project)
    assert left, "the add was killed before it wrote any object"
    for name, content in left.items():
        if len(name) == 32:  # leftovers under temporary names are not objects
            assert xxhash.xxh3_128_hexdigest(content) == name, f"object {name} holds other bytes"
    project.cli_ok("add", "data")
    shutil.rmtree(folder)
    project.cli_ok("checkout")  # every object the add recorded is there, and right
    project.cli_ok("status", "--exit-code")


def _has_objects(cache) -> bool:
    try:
        return any(len(prefix) == 2 and os.listdir(cache / prefix) for prefix in os.listdir(cache))
    except FileNotFoundError:
        return False  # not made yet, or a folder listed as it was being made


class Recorder:
    """A progress listener that keeps what it is told."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int, int]] = []
        self.advanced = 0
        self.ended = 0

    def hash_start(self, label: str, total_bytes: int, files: int) -> None:
        self.started.append((label, total_bytes, files))

    def hash_advance(self, nbytes: int) -> None:
        self.advanced += nbytes

    def hash_end(self) -> None:
        self.ended += 1


def test_add_of_many_files_tells_the_progress_listener_every_byte_it_reads(project):
    from pipetool.engine.add import add
    from pipetool.engine.workspace import open_workspace
    from pipetool.pipeline.project import find
    from pipetool.storage.hashing import PROGRESS_FILES

    project.cli_ok("init")
    (project.path / "many").mkdir()
    for i in range(PROGRESS_FILES):
        (project.path / "many" / f"{i}.txt").write_bytes(b"x" * (i % 7))
    project.write("one.txt", "one\n")
    recorder = Recorder()
    ws = open_workspace(find(str(project.path)), allow_empty=True)
    try:
        added = add(ws, ["many", "one.txt"], recorder)
    finally:
        ws.close()
    total = sum(i % 7 for i in range(PROGRESS_FILES)) + 4
    assert recorder.started == [("many one.txt", total, PROGRESS_FILES + 1)]
    assert recorder.advanced == total and recorder.ended == 1
    assert [item.record.nfiles for item in added] == [PROGRESS_FILES, None]
    project.cli_ok("status", "--exit-code")


def test_a_clone_is_named_by_its_source_only_while_the_source_s_stamp_vouches_for_it(tmp_path, monkeypatch):
    """Where add clones a big file (a reflink), it hashes the source, whose pages are in memory,
    instead of the clone; only if the source's stamp is the same before the clone and after the
    hash. A plain copy stands in for the clone here, so that the two can be told apart."""
    from pipetool.files import stamps
    from pipetool.files.stamps import stamp
    from pipetool.storage.cache import Cache
    from pipetool.storage.ingest import Ingest

    source, clone = tmp_path / "big.bin", tmp_path / "clone.bin"
    source.write_bytes(b"source bytes")
    clone.write_bytes(b"clone bytes")
    os.utime(source, (OLD, OLD))
    ingest = Ingest(Cache(str(tmp_path / "state")), "copy")
    monkeypatch.setattr(stamps, "RACY_SECONDS", 0)  # its ctime is now: taken as written long ago
    before = stamp(str(source))
    assert ingest._clone_digest(str(source), str(clone), before) == xxhash.xxh3_128_hexdigest(b"source bytes")
    source.write_bytes(b"source edited")  # after the clone was made: the clone is hashed
    assert ingest._clone_digest(str(source), str(clone), before) == xxhash.xxh3_128_hexdigest(b"clone bytes")
    monkeypatch.undo()  # written within the last second: no stamp vouches for it
    assert stamp(str(source)) is None
    assert ingest._clone_digest(str(source), str(clone), None) == xxhash.xxh3_128_hexdigest(b"clone bytes")


def test_an_add_of_many_files_makes_the_cache_folders_first_yet_checks_objects_already_there(project):
    """Many files are stored by several processes, which make the cache's missing folders
    before they start: an object in a folder that held it before the add is still looked at (a
    good one kept, a damaged one replaced), whichever process stores it."""
    from pipetool.storage.ingest import FORK_FROM

    added_beside_a_good_and_a_damaged_object(project, files=FORK_FROM + 200)
    folders = [name for name in os.listdir(project.path / ".pipetool" / "cache") if len(name) == 2]
    assert len(folders) == 256
    for name, content in objects(project).items():
        if not name.endswith(".dir"):
            assert xxhash.xxh3_128_hexdigest(content) == name
