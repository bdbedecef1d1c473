"""The short cuts of a push or pull with nothing to do, held to what the long way notices: a
directory the remote's index saw whole is not read again by push, yet an object found missing
drops that knowledge; a pull leaves alone an out whose stat matches what pipetool recorded, yet a
changed workspace file (same size, new mtime) is still noticed and restored.

Tracked data (`pipetool add`) keeps each test to a few in-process commands on tiny files."""

from __future__ import annotations

import os
import subprocess

import xxhash
from conftest import Project

FILES = {"data/a.txt": b"a\n", "data/b.txt": b"b\n", "data/sub/c.txt": b"c\n", "model.bin": b"model 1\n"}


def digest(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def tracked(project: Project) -> os.PathLike:
    """data/ (three files) and model.bin added, a default local remote beside the project, committed."""
    project.cli_ok("init")
    for relpath, data in FILES.items():
        (project.path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project.path / relpath).write_bytes(data)
    project.cli_ok("add", "data", "model.bin")
    store = project.path.parent / "store"
    project.cli_ok("remote", "add", "-d", "store", str(store))
    project.git("add", "-A")
    project.git("commit", "-qm", "data")
    return store


def object_path(root, name: str):
    return root / name[:2] / name[2:]


def test_push_of_a_directory_seen_whole_names_every_object_and_a_fetch_finding_one_missing_undoes_it(project):
    store = tracked(project)
    assert "Pushed 5 object(s)" in project.cli_ok("push").stdout
    # The index now knows data/ whole: the next push does not read its manifest from the cache,
    # and still counts all five objects as the long way did.
    assert "Everything is already on remote 'store' (5 object(s))." in project.cli_ok("push").stdout

    # A fetch finds one of data/'s files missing on the remote: that directory is no longer
    # known whole, so the next push asks about its files and uploads the missing one.
    victim = digest(FILES["data/a.txt"])
    cache = project.path / ".pipetool" / "cache"
    kept = object_path(cache, victim).read_bytes()
    object_path(store, victim).unlink()  # behind pipetool's back
    os.chmod(object_path(cache, victim), 0o644)
    object_path(cache, victim).unlink()
    fetched = project.cli_fails("fetch")
    assert "not on remote 'store': data/a.txt" in fetched.stderr
    object_path(cache, victim).write_bytes(kept)  # the local cache has the bytes again
    repaired = project.cli_ok("push")
    assert "Pushed 1 object(s)" in repaired.stdout and "4 already on the remote" in repaired.stdout
    assert object_path(store, victim).read_bytes() == FILES["data/a.txt"]
    assert "Everything is already on remote 'store' (5 object(s))." in project.cli_ok("push").stdout


def test_push_after_a_directory_changed_uploads_its_new_objects(project):
    store = tracked(project)
    project.cli_ok("push")
    project.cli_ok("push")  # data/ is known whole now
    (project.path / "data" / "d.txt").write_bytes(b"d\n")
    project.cli_ok("add", "data")
    pushed = project.cli_ok("push")
    # d.txt and the new manifest; the old manifest is not wanted any more
    assert "Pushed 2 object(s)" in pushed.stdout and "4 already on the remote" in pushed.stdout
    assert object_path(store, digest(b"d\n")).read_bytes() == b"d\n"
    clone = project.path.parent / "clone"
    project.git("add", "-A")
    project.git("commit", "-qm", "d")
    subprocess.run(["git", "clone", "-q", str(project.path), str(clone)], check=True)
    other = Project(clone)
    other.cli_ok("remote", "add", "-f", "-d", "store", str(store))
    other.cli_ok("pull")
    assert (clone / "data" / "d.txt").read_bytes() == b"d\n"


def pulled_clone(project: Project, store, cache_type: str | None = None) -> Project:
    """A clone of the project with the same remote, pulled (cache.type as given)."""
    clone = project.path.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(project.path), str(clone)], check=True)
    other = Project(clone)
    other.cli_ok("remote", "add", "-f", "-d", "store", str(store))
    if cache_type:
        other.cli_ok("config", "cache.type", cache_type)
    assert "restored data" in other.cli_ok("pull").stdout
    assert "Workspace outs already match pipeline.lock." in other.cli_ok("pull").stdout
    return other


def same_size_new_mtime(path, data: bytes) -> None:
    """Other bytes of the same size, written with a later mtime (as an edit would leave them)."""
    before = os.stat(path)
    if before.st_nlink > 1 or os.path.islink(path):
        os.unlink(path)  # a linked out: edit a private copy, never the cache's object
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


def test_no_op_pull_still_notices_a_workspace_file_changed_with_its_size_kept(project):
    store = tracked(project)
    project.cli_ok("push")
    other = pulled_clone(project, store)
    same_size_new_mtime(other.path / "data" / "b.txt", b"B\n")
    same_size_new_mtime(other.path / "model.bin", b"model 2\n")
    # The changed bytes are not in the cache: checkout keeps them unless forced (as before).
    kept = other.cli_fails("pull")
    assert "kept data: it differs from pipeline.lock" in kept.stdout
    assert "kept model.bin: it differs from pipeline.lock" in kept.stdout
    forced = other.cli_ok("pull", "--force")
    assert "restored data" in forced.stdout and "restored model.bin" in forced.stdout
    assert (other.path / "data" / "b.txt").read_bytes() == b"b\n"
    assert (other.path / "model.bin").read_bytes() == b"model 1\n"
    assert "Workspace outs already match pipeline.lock." in other.cli_ok("pull").stdout


def test_no_op_pull_with_links_still_relinks_an_out_left_as_a_copy(project):
    store = tracked(project)
    project.cli_ok("push")
    other = pulled_clone(project, store, "hardlink")
    cache = other.path / ".pipetool" / "cache"
    path = other.path / "data" / "a.txt"
    path.unlink()
    path.write_bytes(FILES["data/a.txt"])  # the right bytes, as a copy of its own
    relinked = other.cli_ok("pull")
    assert "Relinked 1 out(s)" in relinked.stdout
    assert os.stat(path).st_ino == os.stat(object_path(cache, digest(FILES["data/a.txt"]))).st_ino


def test_no_op_pull_fetches_an_object_the_cache_lost_and_names_one_the_remote_lost(project):
    store = tracked(project)
    project.cli_ok("push")
    other = pulled_clone(project, store)  # its manifest of data/ is kept checked now
    cache = other.path / ".pipetool" / "cache"
    lost = digest(FILES["data/a.txt"])
    os.chmod(object_path(cache, lost), 0o644)
    object_path(cache, lost).unlink()
    fetched = other.cli_ok("pull")
    assert "Fetched 1 object(s)" in fetched.stdout and "4 already in the local cache" in fetched.stdout
    assert object_path(cache, lost).read_bytes() == FILES["data/a.txt"]

    gone = digest(FILES["data/sub/c.txt"])
    os.chmod(object_path(cache, gone), 0o644)
    object_path(cache, gone).unlink()
    object_path(store, gone).unlink()  # behind pipetool's back
    failed = other.cli_fails("pull")
    assert "not on remote 'store': data/sub/c.txt" in failed.stderr


def test_outs_restored_side_by_side_each_report_their_own_missing_or_damaged_object(project):
    project.cli_ok("init")
    files = {f"data/part{index:03d}.txt": f"row {index}\n".encode() for index in range(600)}  # listed, not stat'ed
    files["model.bin"] = b"model 1\n"
    for relpath, data in files.items():
        (project.path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project.path / relpath).write_bytes(data)
    project.cli_ok("add", "data", "model.bin")
    cache = project.path / ".pipetool" / "cache"

    def remove_outs() -> None:
        subprocess.run(["rm", "-rf", str(project.path / "data"), str(project.path / "model.bin")], check=True)

    remove_outs()
    lost = object_path(cache, digest(files["data/part300.txt"]))
    os.chmod(lost, 0o644)
    kept = lost.read_bytes()
    lost.unlink()
    result = project.cli_fails("checkout")
    assert "missing data: it is not in the workspace" in result.stdout
    assert "restored model.bin" in result.stdout
    assert (project.path / "model.bin").read_bytes() == files["model.bin"]
    assert not (project.path / "data").exists()

    lost.write_bytes(kept)
    remove_outs()
    damaged = object_path(cache, digest(files["model.bin"]))
    os.chmod(damaged, 0o644)
    damaged.write_bytes(b"model 2\n")
    result = project.cli_fails("checkout")
    assert "corrupt model.bin: its cache object did not match its hash" in result.stdout
    assert "restored data" in result.stdout
    assert not (project.path / "model.bin").exists() and not damaged.exists()
    assert {f"data/{path.name}": path.read_bytes() for path in (project.path / "data").iterdir()} == {
        k: v for k, v in files.items() if k.startswith("data/")
    }
