"""A fetch from a local-directory remote writes each object once: read, hashed and written by
one open file made read-only (mode 0444) at its making, then renamed under its hash. The object
is what the long way made (the bytes, the mode whatever the umask, no temp file left), and a
remote object whose bytes do not match its name still never enters the cache.

Tracked data (`pipetool add`) keeps each test to a few in-process commands on tiny files."""

from __future__ import annotations

import os
import stat
import subprocess
import time

from conftest import Project
from test_noop_transfers import FILES, digest, tracked


def pushed_clone(project: Project) -> Project:
    """data/ and model.bin added and pushed to a local remote; a clone of the project using it."""
    store = tracked(project)
    assert "Pushed 5 object(s)" in project.cli_ok("push").stdout
    return clone_of(project, store)


def clone_of(project: Project, store) -> Project:
    """A git clone of the project beside it, using the local remote at store."""
    dest = project.path.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(project.path), str(dest)], check=True)
    clone = Project(dest)
    clone.cli_ok("remote", "add", "-f", "-d", "store", str(store))
    return clone


def cached(clone: Project, name: str):
    return clone.path / ".pipetool" / "cache" / name[:2] / name[2:]


def test_fetched_objects_are_their_bytes_read_only_whatever_the_umask_and_leave_no_temp_file(project):
    clone = pushed_clone(project)
    before = os.umask(0o077)  # would make a new file 0400: the object must still be 0444
    try:
        fetched = clone.cli_ok("fetch")
    finally:
        os.umask(before)
    assert "Fetched 5 object(s)" in fetched.stdout
    for data in FILES.values():
        path = cached(clone, digest(data))
        assert path.read_bytes() == data
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o444
    manifests = list((clone.path / ".pipetool" / "cache").glob("*/*.dir"))
    assert len(manifests) == 1 and stat.S_IMODE(os.lstat(manifests[0]).st_mode) == 0o444
    assert not [path for path in (clone.path / ".pipetool" / "cache").rglob("*") if ".tmp-" in path.name]
    # and the umask of the moment is left as it was
    assert os.umask(before) == before


def test_a_remote_object_with_other_bytes_is_refused_however_it_was_written(project):
    clone = pushed_clone(project)
    store = project.path.parent / "store"
    name = digest(FILES["data/b.txt"])
    on_remote = store / name[:2] / name[2:]
    os.chmod(on_remote, 0o644)
    on_remote.write_bytes(b"B\n")  # the same size, other bytes
    fetched = clone.cli_fails("fetch")
    assert "corrupt, refused (its bytes do not match its hash): data/b.txt" in fetched.stderr
    assert not cached(clone, name).exists()
    assert not [path for path in (clone.path / ".pipetool" / "cache").rglob("*") if ".tmp-" in path.name]
    for relpath in ("data/a.txt", "data/sub/c.txt", "model.bin"):
        assert cached(clone, digest(FILES[relpath])).read_bytes() == FILES[relpath]
    pulled = clone.cli_fails("pull")  # the workspace gets what was good; data/ is reported
    assert (clone.path / "model.bin").read_bytes() == FILES["model.bin"]
    assert "data" in pulled.stdout + pulled.stderr


def age_cache_folders(clone: Project, seconds: int = 60) -> None:
    """Date the cache's folders back, as if their objects had arrived a minute ago (past the racy
    second within which a folder's stamp is not trusted)."""
    for folder in (clone.path / ".pipetool" / "cache").iterdir():
        when = folder.stat().st_mtime_ns - seconds * 10**9
        os.utime(folder, ns=(when, when))


def test_a_no_op_fetch_answers_from_the_stamps_of_the_cache_folders_and_notices_a_removed_object(project):
    clone = pushed_clone(project)
    clone.cli_ok("fetch")
    age_cache_folders(clone)
    everything = "Everything is already in the local cache (5 object(s))."
    assert everything in clone.cli_ok("fetch").stdout  # lists the folders, keeps their stamps
    assert everything in clone.cli_ok("fetch").stdout  # answers from the stamps

    # An object removed behind pipetool's back moves its folder's mtime: the next fetch lists
    # that directory's folders again and brings the object back.
    name = digest(FILES["data/sub/c.txt"])
    os.chmod(cached(clone, name), 0o644)
    cached(clone, name).unlink()
    fetched = clone.cli_ok("fetch")
    assert "Fetched 1 object(s)" in fetched.stdout and "4 already in the local cache" in fetched.stdout
    assert cached(clone, name).read_bytes() == FILES["data/sub/c.txt"]


def test_a_no_op_fetch_of_a_directory_known_whole_reads_none_of_its_entries_yet_needs_its_manifest(
    project, monkeypatch
):
    """Known whole (its folders' stamps unchanged), a directory's entries are neither read from
    the kept copy nor from its manifest; the manifest itself must still be in the cache (its own
    folder may hold no file of the directory, and so have no stamp): once it is gone, it is
    fetched again."""
    from pipetool.storage.cache import Cache
    from pipetool.storage.manifest_shelf import ManifestShelf

    clone = pushed_clone(project)
    clone.cli_ok("fetch")
    age_cache_folders(clone)
    everything = "Everything is already in the local cache (5 object(s))."
    assert everything in clone.cli_ok("fetch").stdout  # lists the folders, keeps their stamps

    def unread(*args, **kwargs):
        raise AssertionError("a directory known whole had its entries read")

    with monkeypatch.context() as patched:
        patched.setattr(ManifestShelf, "entries", unread)
        patched.setattr(Cache, "manifest", unread)
        assert everything in clone.cli_ok("fetch").stdout

    (manifest,) = (clone.path / ".pipetool" / "cache").glob("*/*.dir")
    removed_keeping_the_stamp(clone, manifest.parent.name + manifest.name)
    fetched = clone.cli_ok("fetch")
    assert "Fetched 1 object(s)" in fetched.stdout and "4 already in the local cache" in fetched.stdout
    assert manifest.exists()
    assert everything in clone.cli_ok("fetch").stdout


def test_a_directory_known_whole_keeps_its_entries_kept_when_another_one_is_read(project):
    """The kept copy keeps what its command used: a directory answered from its stamps (its
    entries unread) still counts as used, so a fetch that reads another directory's manifest
    and saves the copy does not drop the first one's entries."""
    from pipetool.files import trusted_cache
    from pipetool.storage import manifest_shelf

    tracked(project)
    (project.path / "more").mkdir()
    (project.path / "more" / "d.txt").write_bytes(b"d\n")
    project.cli_ok("add", "more")
    project.git("add", "-A")
    project.git("commit", "-qm", "more")
    project.cli_ok("push")
    clone = clone_of(project, project.path.parent / "store")
    clone.cli_ok("fetch")
    age_cache_folders(clone)
    clone.cli_ok("fetch")  # both directories known whole
    shelf = clone.path / ".pipetool" / manifest_shelf.FILE
    kept = trusted_cache.load(str(shelf), manifest_shelf.PURPOSE)
    manifests = sorted(key for key in kept if not key.startswith(manifest_shelf.WHOLE))
    assert len(manifests) == 2

    more = digest(b"d\n")
    os.chmod(cached(clone, more), 0o644)
    cached(clone, more).unlink()  # more/'s folder moves: its manifest is read again, the copy saved
    assert "Fetched 1 object(s)" in clone.cli_ok("fetch").stdout
    kept = trusted_cache.load(str(shelf), manifest_shelf.PURPOSE)
    assert sorted(key for key in kept if not key.startswith(manifest_shelf.WHOLE)) == manifests


def test_objects_shared_by_outs_known_whole_are_counted_once_as_the_listing_counts_them(project):
    """A directory answered from its kept hashes counts its objects as a listing would: one it
    shares with another directory, or with a file tracked on its own, is one object, and the
    no-op fetch says the number the fetch that listed the folders said (and a target list that
    names one directory and such a file, too)."""
    tracked(project)
    (project.path / "copy").mkdir()
    (project.path / "copy" / "a.txt").write_bytes(FILES["data/a.txt"])  # as in data/
    (project.path / "copy" / "own.txt").write_bytes(b"own\n")
    (project.path / "same.txt").write_bytes(FILES["data/sub/c.txt"])  # as in data/
    project.cli_ok("add", "copy", "same.txt")
    project.git("add", "-A")
    project.git("commit", "-qm", "more")
    project.cli_ok("push")
    clone = clone_of(project, project.path.parent / "store")
    # data/ (a, b, c), model.bin, copy/ (a again, own), same.txt (c again), two manifests
    assert "Fetched 7 object(s)" in clone.cli_ok("fetch").stdout
    age_cache_folders(clone)
    everything = "Everything is already in the local cache (7 object(s))."
    assert everything in clone.cli_ok("fetch").stdout  # lists the folders, keeps the hashes
    assert everything in clone.cli_ok("fetch").stdout  # answers from the kept hashes
    # data/ (a, b, c) and its manifest, and same.txt: c again
    assert "Everything is already in the local cache (4 object(s))." in clone.cli_ok("fetch", "data", "same.txt").stdout


def removed_keeping_the_stamp(clone: Project, name: str) -> int:
    """Remove a cached object behind pipetool's back, its folder dated back to the mtime it had
    (as a removal within the same clock tick would leave it); that mtime."""
    folder = cached(clone, name).parent
    before = folder.stat()
    os.chmod(cached(clone, name), 0o644)
    cached(clone, name).unlink()
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    return before.st_mtime_ns


def test_the_stamps_are_what_a_no_op_fetch_trusts_so_a_folder_dated_back_to_them_hides_a_removal(project):
    """What the stamps stand for, shown by forging them: a removal whose folder keeps the mtime it
    had (as one within the same clock tick would) is not seen; the checkout that needs the object
    then says it is missing, and the fetch once the folder's mtime moved gets it."""
    clone = pushed_clone(project)
    clone.cli_ok("fetch")
    age_cache_folders(clone)
    clone.cli_ok("fetch")  # stamps kept
    name = digest(FILES["data/a.txt"])
    folder, mtime = cached(clone, name).parent, removed_keeping_the_stamp(clone, name)
    assert "Everything is already in the local cache (5 object(s))." in clone.cli_ok("fetch").stdout
    assert not cached(clone, name).exists()
    missing = clone.cli_fails("checkout")
    assert "missing data: it is not in the workspace" in missing.stdout
    assert (clone.path / "model.bin").read_bytes() == FILES["model.bin"]
    when = mtime - 10**9  # any other mtime: the stamp no longer matches
    os.utime(folder, ns=(when, when))
    assert "Fetched 1 object(s)" in clone.cli_ok("fetch").stdout
    assert cached(clone, name).read_bytes() == FILES["data/a.txt"]
    clone.cli_ok("checkout")
    assert (clone.path / "data" / "a.txt").read_bytes() == FILES["data/a.txt"]


def test_the_fetch_that_filled_the_folders_keeps_their_stamps(project):
    """Folders changed within the racy second are stamped once their mtime is earlier than the
    file system's own time now: the fetch that filled them waits out the clock's tick, lists
    them and keeps their stamps. Shown as above, by forging: the next fetch trusts them, without
    the folders being dated back."""
    clone = pushed_clone(project)
    assert "Fetched 5 object(s)" in clone.cli_ok("fetch").stdout
    everything = "Everything is already in the local cache (5 object(s))."
    name = digest(FILES["data/a.txt"])
    folder, mtime = cached(clone, name).parent, removed_keeping_the_stamp(clone, name)
    assert everything in clone.cli_ok("fetch").stdout  # answered from the stamps
    when = mtime + 1  # a later change: the stamp no longer matches
    os.utime(folder, ns=(when, when))
    assert "Fetched 1 object(s)" in clone.cli_ok("fetch").stdout


def test_a_folder_changed_after_the_file_system_s_time_now_is_not_stamped(project):
    """A folder whose mtime is not earlier than that time (a change in the same tick as the
    check, or a clock behind) gets no stamp: the next fetch lists it again."""
    clone = pushed_clone(project)
    clone.cli_ok("fetch")
    name = digest(FILES["data/a.txt"])
    folder = cached(clone, name).parent
    ahead = time.time_ns() + 60 * 10**9  # ahead of every clock, whatever this test's pace
    os.utime(folder, ns=(ahead, ahead))
    clone.cli_ok("fetch")  # lists; the folder ahead of the clock is left without a stamp
    os.chmod(cached(clone, name), 0o644)
    cached(clone, name).unlink()
    os.utime(folder, ns=(ahead, ahead))
    assert "Fetched 1 object(s)" in clone.cli_ok("fetch").stdout


MANY = 1200  # more small objects than a fetch takes in one process (ingest.FORK_FROM)


def many_added(project: Project) -> tuple[dict[str, bytes], os.PathLike]:
    """data/ of MANY small files and one over a MiB (moved beside the small ones), added, with a
    local remote as the default; the files, and the remote's folder."""
    project.cli_ok("init")
    files = {f"data/{i:04d}.txt": f"file {i}\n".encode() for i in range(MANY)}
    files["data/big.bin"] = bytes(range(256)) * 6000
    for relpath, data in files.items():
        (project.path / relpath).parent.mkdir(exist_ok=True)
        (project.path / relpath).write_bytes(data)
    project.cli_ok("add", "data")
    store = project.path.parent / "store"
    project.cli_ok("remote", "add", "-d", "store", str(store))
    return files, store


def many_pushed(project: Project) -> tuple[Project, dict[str, bytes]]:
    """many_added, committed and pushed; a clone using the remote."""
    files, store = many_added(project)
    project.git("add", "-A")
    project.git("commit", "-qm", "many")
    assert f"Pushed {MANY + 2} object(s)" in project.cli_ok("push").stdout
    return clone_of(project, store), files


def test_many_small_objects_are_fetched_by_processes_each_checked_against_its_name(project):
    clone, files = many_pushed(project)
    store = project.path.parent / "store"
    damaged, piped = digest(files["data/0007.txt"]), digest(files["data/1100.txt"])
    on_remote = store / damaged[:2] / damaged[2:]
    os.chmod(on_remote, 0o644)
    on_remote.write_bytes(b"file 9\n")  # the same size, other bytes
    fifo = store / piped[:2] / piped[2:]
    fifo.unlink()
    os.mkfifo(fifo)  # a pipe where an object should be: never waited on

    fetched = clone.cli_fails("fetch")
    assert f"Fetched {MANY} object(s)" in fetched.stdout  # the manifest, the good files, the big one
    assert "corrupt, refused (its bytes do not match its hash): data/0007.txt" in fetched.stderr
    assert "data/1100.txt" in fetched.stderr
    for relpath, data in files.items():
        path = cached(clone, digest(data))
        if relpath in ("data/0007.txt", "data/1100.txt"):
            assert not path.exists()
            continue
        assert path.read_bytes() == data and stat.S_IMODE(os.lstat(path).st_mode) == 0o444
    assert not [path for path in (clone.path / ".pipetool" / "cache").rglob("*") if ".tmp-" in path.name]


def test_a_damaged_object_among_many_restored_is_named_and_fetched_again(project):
    clone, files = many_pushed(project)
    assert f"Fetched {MANY + 2} object(s)" in clone.cli_ok("fetch").stdout
    victim = cached(clone, digest(files["data/0999.txt"]))
    os.chmod(victim, 0o644)
    victim.write_bytes(b"file 0\n")  # the same size, other bytes

    checkout = clone.cli_fails("checkout")
    assert "data" in checkout.stdout + checkout.stderr and "corrupt" in checkout.stdout + checkout.stderr
    assert not victim.exists()  # discarded, so that a fetch brings it back
    assert not (clone.path / "data").exists()
    assert not [p for p in clone.path.iterdir() if p.name.startswith("data") and p.name != "data.pipetool"]
    assert "Fetched 1 object(s)" in clone.cli_ok("fetch").stdout
    clone.cli_ok("checkout")
    for relpath, data in files.items():
        assert (clone.path / relpath).read_bytes() == data


def test_a_push_of_many_small_objects_by_processes_refuses_a_damaged_one_and_names_it(project):
    files, store = many_added(project)
    victim = cached(project, digest(files["data/1111.txt"]))  # in the forked process's part
    os.chmod(victim, 0o644)
    victim.write_bytes(b"file 9999\n")  # the same size, other bytes

    pushed = project.cli_fails("push")
    assert f"Pushed {MANY} object(s)" in pushed.stdout  # all files but one; the manifest waits for a whole folder
    assert "data/1111.txt" in pushed.stderr and "corrupt" in pushed.stderr
    assert not victim.exists()  # discarded: a repro or fetch puts the right bytes back
    for relpath, data in files.items():
        on_remote = store / digest(data)[:2] / digest(data)[2:]
        assert on_remote.exists() == (relpath != "data/1111.txt")
        if on_remote.exists():
            assert on_remote.read_bytes() == data
    assert not [path for path in store.rglob("*") if ".tmp" in path.name]
