"""The fast paths of push, fetch and pull on a local-directory remote, held to the same promises as
the general ones: the remote's index (what pipetool remembers a remote holds) is trusted by push
but found out by `push --verify`, `status --remote` and `gc --cloud`, and a damaged or foreign
index is ignored; pull links from the cache as cache.type says; a remote object that is not the
bytes it names, or not a plain file, is refused and leaves nothing behind.

Tracked data (`pipetool add`) keeps each test to a few in-process commands on tiny files."""

from __future__ import annotations

import os
import stat
import subprocess

import xxhash
from conftest import Project, run_pipetool

FILES = {"data/a.txt": b"a\n", "data/b.txt": b"b\n", "data/sub/c.txt": b"c\n", "model.bin": b"model 1\n"}


def digest(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def tracked(project: Project, remote: str = "store") -> os.PathLike:
    """data/ (three files) and model.bin added, a default local remote beside the project, committed."""
    project.cli_ok("init")
    for relpath, data in FILES.items():
        (project.path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project.path / relpath).write_bytes(data)
    project.cli_ok("add", "data", "model.bin")
    store = project.path.parent / remote
    project.cli_ok("remote", "add", "-d", remote, str(store))
    commit(project)
    return store


def commit(project: Project) -> None:
    project.git("add", "-A")
    project.git("commit", "-qm", "data")


def remote_objects(store) -> dict[str, os.PathLike]:
    """Hash -> path of every object on the remote (upload temp files left out)."""
    return {p.parent.name + p.name: p for p in store.glob("*/*") if p.is_file() and ".tmp-" not in p.name}


def index_files(project: Project) -> list:
    return sorted((project.path / ".pipetool").glob("remote-index-*"))


def clone(project: Project, remote: str, name: str = "clone") -> Project:
    dest = project.path.parent / name
    subprocess.run(["git", "clone", "-q", str(project.path), str(dest)], check=True)
    copy = Project(dest)
    copy.cli_ok("remote", "add", "-f", "-d", "store", str(remote))
    return copy


def test_push_trusts_its_index_and_status_remote_or_push_verify_find_a_deleted_object(project):
    store = tracked(project)
    project.cli_ok("push")
    assert len(remote_objects(store)) == 5  # three files, the manifest, model.bin
    assert len(index_files(project)) == 1
    victim = digest(FILES["data/a.txt"])
    remote_objects(store)[victim].unlink()  # behind pipetool's back

    trusting = project.cli_ok("push")
    assert "Everything is already on remote 'store' (5 object(s))." in trusting.stdout
    assert victim not in remote_objects(store)  # the index said it was there: not asked again

    status = project.cli_ok("status", "--remote")  # asks the remote, and corrects the index
    assert "local only:" in status.stdout and "data (run 'pipetool push')" in status.stdout
    repaired = project.cli_ok("push")
    assert "Pushed 1 object(s)" in repaired.stdout and "4 already on the remote" in repaired.stdout
    assert remote_objects(store)[victim].read_bytes() == FILES["data/a.txt"]

    remote_objects(store)[victim].unlink()
    assert "Everything is already" in project.cli_ok("push").stdout
    verified = project.cli_ok("push", "--verify")
    assert "Pushed 1 object(s)" in verified.stdout
    assert remote_objects(store)[victim].read_bytes() == FILES["data/a.txt"]
    assert "Everything is already on remote 'store' (5 object(s))." in project.cli_ok("push", "--verify").stdout


def test_a_damaged_index_or_one_of_another_remote_is_ignored(project):
    store = tracked(project)
    project.cli_ok("push")
    (index,) = index_files(project)
    victim = digest(FILES["model.bin"])
    remote_objects(store)[victim].unlink()
    good = index.read_bytes()
    index.write_bytes(good[:-8] + bytes(8))  # damaged: its tag no longer matches
    assert "Pushed 1 object(s)" in project.cli_ok("push").stdout
    assert victim in remote_objects(store)

    # Another remote's index under this one's name (its tag is good) claims everything: ignored.
    other = project.path.parent / "other"
    project.cli_ok("remote", "add", "other", str(other))
    project.cli_ok("push", "-r", "other")
    (other_index,) = [path for path in index_files(project) if path != index]
    remote_objects(other)[victim].unlink()
    other_index.write_bytes(index.read_bytes())
    assert "Pushed 1 object(s)" in project.cli_ok("push", "-r", "other").stdout
    assert victim in remote_objects(other)


def test_objects_gc_cloud_deletes_are_forgotten_so_a_later_push_uploads_them_again(project):
    store = tracked(project)
    project.cli_ok("push")
    first = digest(FILES["model.bin"])
    (project.path / "model.bin").write_bytes(b"model 2\n")
    project.cli_ok("add", "model.bin")
    commit(project)
    project.cli_ok("push")
    project.cli_ok("gc", "--cloud")
    assert first not in remote_objects(store)
    (project.path / "model.bin").write_bytes(FILES["model.bin"])  # back to the first bytes
    project.cli_ok("add", "model.bin")
    assert "Pushed 1 object(s)" in project.cli_ok("push").stdout
    assert remote_objects(store)[first].read_bytes() == FILES["model.bin"]


def test_pull_links_the_fetched_objects_when_cache_type_is_hardlink(project):
    store = tracked(project)
    project.cli_ok("push")
    copy = clone(project, store)
    copy.cli_ok("config", "cache.type", "hardlink")
    pulled = copy.cli_ok("pull")
    assert "Fetched 5 object(s)" in pulled.stdout
    cache = copy.path / ".pipetool" / "cache"
    for relpath, data in FILES.items():
        name = digest(data)
        assert (copy.path / relpath).read_bytes() == data
        assert os.stat(copy.path / relpath).st_ino == os.stat(cache / name[:2] / name[2:]).st_ino, relpath
    # the clone's push answers from what its pull saw on the remote
    assert "Everything is already on remote 'store' (5 object(s))." in copy.cli_ok("push").stdout


def test_a_remote_object_that_is_not_its_bytes_or_not_a_plain_file_is_refused_and_leaves_nothing(project):
    store = tracked(project)
    project.cli_ok("push")
    objects = remote_objects(store)
    tampered, piped = digest(FILES["model.bin"]), digest(FILES["data/a.txt"])
    os.chmod(objects[tampered], stat.S_IRUSR | stat.S_IWUSR)
    objects[tampered].write_bytes(b"model 1 with a change\n")
    objects[piped].unlink()
    os.mkfifo(objects[piped])  # read, it would wait for ever
    copy = clone(project, store)
    fetched = run_pipetool(copy.path, "fetch", timeout=60)  # a process: a hang fails the test, not the run
    assert fetched.returncode == 1, fetched.stderr
    assert "corrupt, refused (its bytes do not match its hash): model.bin" in fetched.stderr
    assert "corrupt, refused (its bytes do not match its hash): data/a.txt" in fetched.stderr
    cache = copy.path / ".pipetool" / "cache"
    assert not (cache / tampered[:2] / tampered[2:]).exists()
    assert not (cache / piped[:2] / piped[2:]).exists()
    assert not [path for path in cache.rglob("*") if ".tmp-" in path.name]
    for relpath in ("data/b.txt", "data/sub/c.txt"):
        name = digest(FILES[relpath])
        assert (cache / name[:2] / name[2:]).read_bytes() == FILES[relpath]


def test_a_big_folder_restored_by_threads_still_refuses_a_damaged_object_and_leaves_nothing_half_made(project):
    project.cli_ok("init")
    files = {f"data/part{index:03d}.txt": f"row {index}\n".encode() for index in range(300)}
    for relpath, data in files.items():
        (project.path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project.path / relpath).write_bytes(data)
    project.cli_ok("add", "data")
    damaged = digest(files["data/part150.txt"])
    cache = project.path / ".pipetool" / "cache"
    os.chmod(cache / damaged[:2] / damaged[2:], stat.S_IRUSR | stat.S_IWUSR)
    (cache / damaged[:2] / damaged[2:]).write_bytes(b"row 999\n")
    subprocess.run(["rm", "-rf", str(project.path / "data")], check=True)
    result = project.cli_fails("checkout")
    assert "corrupt data: its cache object did not match its hash and was removed" in result.stdout
    assert not (project.path / "data").exists()
    assert not [path.name for path in project.path.iterdir() if ".pipetool-tmp" in path.name]
    assert not (cache / damaged[:2] / damaged[2:]).exists()
    for relpath, data in files.items():  # the good bytes again: the next checkout restores the whole folder
        (project.path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project.path / relpath).write_bytes(data)
    project.cli_ok("add", "data")
    subprocess.run(["rm", "-rf", str(project.path / "data")], check=True)
    project.cli_ok("checkout")
    assert {
        str(path.relative_to(project.path)): path.read_bytes() for path in (project.path / "data").iterdir()
    } == files
