"""gc as an attacker and a crash would meet it: a damaged or missing directory manifest never costs the
directory's files, a revision whose lock cannot be read stops gc, and the temp files of killed
transfers go (locally and with --cloud on the remote) once they are an hour old, while files in
any other name form are never touched."""

from __future__ import annotations

import os
import shlex
import stat
import sys
import time
import uuid

import pytest
import xxhash
from conftest import Project, s3_server
from test_remote import commit, out_hash

PY = shlex.quote(sys.executable)

# outdir/ holds n+1 files with contents unique to n; model.bin likewise.
GEN = """
    import os
    n = int(open("params.yaml").read().split(":")[1])
    with open("model.bin", "w") as handle:
        handle.write(f"model {n}\\n")
    os.makedirs("outdir", exist_ok=True)
    for i in range(n + 1):
        with open(f"outdir/part{i}.txt", "w") as handle:
            handle.write(f"part {n}-{i}\\n")
"""

PIPELINE = f"""
    stages:
      train:
        cmd: {PY} gen.py
        deps: [gen.py]
        params: [n]
        outs: [model.bin, outdir]
"""

DEAD_PID = 4194305  # above the largest pid Linux hands out: no process has it
OLD = 2 * 3600  # seconds: an mtime this far back is a leftover


# --- helpers -----------------------------------------------------------------------------------


def build(project: Project, n: int) -> Project:
    project.write("gen.py", GEN)
    project.write("params.yaml", f"n: {n}\n")
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    return project


def set_n(project: Project, n: int) -> None:
    project.write("params.yaml", f"n: {n}\n")
    project.cli_ok("repro")


def cache_dir(project: Project):
    return project.path / ".pipetool" / "cache"


def object_path(project: Project, digest: str):
    return cache_dir(project) / digest[:2] / digest[2:]


def cache_objects(project: Project) -> set[str]:
    return {p.parent.name + p.name for p in cache_dir(project).glob("*/*") if ".tmp-" not in p.name}


def file_hashes(project: Project, relpath: str) -> set[str]:
    """Hashes of the files of a workspace folder, as the cache names them."""
    return {xxhash.xxh3_128_hexdigest(p.read_bytes()) for p in (project.path / relpath).rglob("*") if p.is_file()}


def flip_a_byte(path) -> None:
    """Damage an object as a disk would: one hex digit inside it changed, the rest left as it was."""
    data = bytearray(path.read_bytes())
    at = data.index(b'"', data.index(b'",') + 1) + 1  # the first digit of the first file's hash
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWUSR)
    path.write_bytes(bytes(data))


def aged(path, seconds: float = OLD):
    """Make path (a file, written if need be) look last modified that long ago."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial bytes of an interrupted transfer")
    when = time.time() - seconds
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def with_remote(project: Project):
    store = project.path.parent / "remote-store"
    project.cli_ok("remote", "add", "-d", "store", str(store))
    return store


def remote_objects(store) -> set[str]:
    return {p.parent.name + p.name for p in store.glob("??/*") if ".tmp-" not in p.name}


def remote_runs(store) -> set[str]:
    return {p.parent.name + p.name for p in store.glob("runs/??/*") if ".tmp-" not in p.name}


@pytest.fixture
def two_runs(project):
    """n=1 made, then n=2: the lock names n=2's outs; n=1's objects are garbage."""
    build(project, 1)
    old = {out_hash(project, "model.bin"), out_hash(project, "outdir"), *file_hashes(project, "outdir")}
    set_n(project, 2)
    return project, old - {out_hash(project, "model.bin"), out_hash(project, "outdir"), *file_hashes(project, "outdir")}


# --- finding 7: a manifest gc cannot read -------------------------------------------------------


def test_gc_keeps_every_file_of_a_directory_whose_manifest_has_a_flipped_byte(two_runs):
    project, old = two_runs
    files = file_hashes(project, "outdir")
    flip_a_byte(object_path(project, out_hash(project, "outdir")))
    result = project.cli_ok("gc")
    assert files <= cache_objects(project), "gc deleted the files of a directory it could not read"
    assert "manifest of 'outdir' (stage 'train') is damaged" in result.stderr
    assert "pipetool repro -f train" in result.stderr and "pipetool fetch" in result.stderr
    again = project.cli_ok("gc")  # the damaged manifest may be gone by now: its files still stay
    assert files <= cache_objects(project)
    assert "manifest of 'outdir'" in again.stderr


def test_gc_keeps_every_file_of_a_directory_whose_manifest_is_missing(two_runs):
    project, old = two_runs
    files = file_hashes(project, "outdir")
    object_path(project, out_hash(project, "outdir")).unlink()
    result = project.cli_ok("gc", "--dry")
    assert "is missing from the cache" in result.stderr
    assert not any(f"would remove {digest}" in result.stdout for digest in files)
    project.cli_ok("gc")
    assert files <= cache_objects(project)


def test_gc_still_removes_old_objects_it_can_judge_when_every_manifest_reads(two_runs):
    project, old = two_runs
    result = project.cli_ok("gc")
    assert not old & cache_objects(project)
    assert "warning" not in result.stderr


def test_gc_frees_the_old_files_once_fetch_replaced_the_damaged_manifest(two_runs):
    project, old = two_runs
    with_remote(project)
    project.cli_ok("push")
    flip_a_byte(object_path(project, out_hash(project, "outdir")))
    project.cli_ok("gc")
    old_files = {d for d in old if not d.endswith(".dir") and d != out_hash(project, "model.bin")}
    assert old_files & cache_objects(project), "old files were removed while a manifest was unread"
    project.cli_ok("fetch")
    result = project.cli_ok("gc")
    assert "warning" not in result.stderr
    assert not old & cache_objects(project)
    assert file_hashes(project, "outdir") <= cache_objects(project)


def test_gc_all_commits_keeps_the_files_of_a_revision_whose_manifest_is_missing(project):
    build(project, 1)
    rev_a = commit(project, "A")
    files_a, manifest_a = file_hashes(project, "outdir"), out_hash(project, "outdir")
    set_n(project, 2)
    commit(project, "B")
    object_path(project, manifest_a).unlink()
    result = project.cli_ok("gc", "--all-commits")
    assert files_a <= cache_objects(project)
    assert f"(stage 'train' at {rev_a[:12]}) is missing from the cache" in result.stderr
    assert "pipetool fetch -A" in result.stderr


def test_gc_all_commits_removes_nothing_when_a_revision_lock_cannot_be_parsed(two_runs):
    project, old = two_runs
    project.write("pipeline.lock", "version: 1\nstages: [not, a, mapping\n")
    rev = commit(project, "a broken lock")
    project.write("pipeline.lock", "")
    project.cli_ok("repro")  # the workspace's own lock is fine again
    before = cache_objects(project)
    result = project.cli_fails("gc", "--all-commits")
    assert f"pipeline.lock at {rev[:12]}" in result.stderr
    assert "gc removed nothing" in result.stderr
    assert cache_objects(project) == before


def test_cache_status_counts_no_file_objects_while_a_manifest_is_damaged(two_runs):
    project, old = two_runs
    flip_a_byte(object_path(project, out_hash(project, "outdir")))
    result = project.cli_ok("cache", "status")
    freed = int(result.stdout.split("' would free ")[1].split(" in ")[1].split(" object")[0])
    assert freed <= 1  # at most n=1's manifest: every file object stays
    assert "damaged" in result.stderr


# --- finding 9: leftovers of killed transfers, locally ----------------------------------------------


def local_temp(project: Project, digest: str, pid: int = DEAD_PID, thread: int | None = 140001):
    """A download's temp name beside an object, as a killed fetch leaves it."""
    suffix = f".tmp-{pid}" + (f"-{thread}" if thread is not None else "")
    return object_path(project, digest).with_name(digest[2:] + suffix)


def test_gc_removes_temp_files_of_a_killed_fetch_older_than_an_hour(project):
    build(project, 1)
    digest = "ab" + "c" * 30
    stale = aged(local_temp(project, digest))
    stale_store = aged(local_temp(project, digest + ".dir", thread=None))
    stale_config = aged(project.path / ".pipetool" / f"config.tmp-{DEAD_PID}")
    fresh = aged(local_temp(project, "cd" + "e" * 30), seconds=0)
    result = project.cli_ok("gc")
    assert not stale.exists() and not stale_store.exists() and not stale_config.exists()
    assert fresh.exists()
    size = sum(len(b"partial bytes of an interrupted transfer") for _ in range(3))
    assert f"Freed {size} B in 3 temp file(s)" in result.stdout


def test_gc_keeps_an_old_temp_file_whose_writer_still_runs(project):
    build(project, 1)
    slow = aged(local_temp(project, "ab" + "c" * 30, pid=os.getpid()))
    project.cli_ok("gc")  # in this process: the pid in the name is alive
    assert slow.exists()


def test_gc_dry_lists_old_temp_files_and_removes_none(project):
    build(project, 1)
    stale = aged(local_temp(project, "ab" + "c" * 30))
    result = project.cli_ok("gc", "--dry")
    assert f"would remove temp file {stale.relative_to(project.path)}" in result.stdout
    assert stale.exists()


def test_gc_never_removes_other_names_nor_follows_links_out_of_the_cache(project, tmp_path):
    build(project, 1)
    outside = aged(tmp_path / "precious" / ("c" * 30 + f".tmp-{DEAD_PID}"))
    folder = cache_dir(project) / "ab"
    foreign = [aged(folder / name) for name in ("notes.txt", "c" * 30 + ".bak", f"model.tmp-{DEAD_PID}x")]
    link = folder / ("d" * 30 + f".tmp-{DEAD_PID}")
    link.symlink_to(outside)
    (cache_dir(project) / "zz").symlink_to(outside.parent)
    project.cli_ok("gc")
    assert outside.exists() and os.path.islink(link)
    assert all(path.exists() for path in foreign)


# --- finding 9: gc --cloud ---------------------------------------------------------------------------


def remote_temp(store, digest: str):
    return store / digest[:2] / f"{digest[2:]}.tmp-{uuid.uuid4().hex}"


def test_gc_cloud_removes_old_upload_temp_files_and_never_foreign_files(project):
    build(project, 1)
    store = with_remote(project)
    project.cli_ok("push")
    stale = aged(remote_temp(store, "ab" + "c" * 30))
    stale_run = aged(store / "runs" / "ef" / f"{'1' * 30}.tmp-{uuid.uuid4().hex}")
    fresh = aged(remote_temp(store, "cd" + "e" * 30), seconds=0)
    foreign = [
        aged(store / name)
        for name in (
            "README.md",
            "ab/notes.txt",
            f"zz/{'c' * 30}",
            f"ab/{'c' * 30}.tmp-{uuid.uuid4().hex}.part",
            f"ab/{'c' * 30}.bak",
            "backup/ab/" + "c" * 30,
        )
    ]
    project.cli_ok("gc")
    assert stale.exists(), "plain gc touched the remote"
    result = project.cli_ok("gc", "--cloud")
    assert not stale.exists() and not stale_run.exists()
    assert fresh.exists()
    assert all(path.exists() for path in foreign)
    assert "2 temp file(s)" in result.stdout and "on remote 'store'" in result.stdout


def test_gc_cloud_removes_remote_objects_and_run_entries_no_kept_lock_needs(two_runs):
    project, old = two_runs
    store = with_remote(project)
    project.cli_ok("push", "--run-cache")  # both runs' entries, and the objects they name
    assert old <= remote_objects(store) and len(remote_runs(store)) == 2
    kept = cache_objects(project) - old
    dry = project.cli_ok("gc", "--cloud", "--dry")
    assert old <= remote_objects(store), "--dry removed something"
    assert f"would remove {sorted(old)[0]} from remote 'store'" in dry.stdout
    project.cli_ok("gc", "--cloud")
    assert not old & remote_objects(store)
    assert kept <= remote_objects(store)
    assert len(remote_runs(store)) == 1
    clone_fetches_everything(project, store)


def clone_fetches_everything(project: Project, store) -> None:
    """What gc --cloud kept is consistent: a clone's fetch of the lock and the run-cache succeeds."""
    import subprocess

    commit(project, "kept")
    dest = project.path.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(project.path), str(dest)], check=True)
    copy = Project(dest)
    copy.cli_ok("remote", "add", "-f", "-d", "store", str(store))
    copy.cli_ok("pull", "--run-cache")
    assert copy.read("model.bin") == "model 2\n"


def test_gc_cloud_judges_files_by_the_remote_manifest_when_the_local_one_is_damaged(two_runs):
    project, old = two_runs
    store = with_remote(project)
    project.cli_ok("push")
    files = file_hashes(project, "outdir")
    flip_a_byte(object_path(project, out_hash(project, "outdir")))
    result = project.cli_ok("gc", "--cloud")
    assert "warning" not in result.stderr
    assert files <= cache_objects(project) and files <= remote_objects(store)
    assert not old & cache_objects(project)


def test_gc_cloud_keeps_every_file_when_no_side_can_read_a_kept_manifest(two_runs):
    project, old = two_runs
    store = with_remote(project)
    project.cli_ok("push", "--run-cache")  # n=1's objects too
    manifest = out_hash(project, "outdir")
    flip_a_byte(object_path(project, manifest))
    flip_a_byte(store / manifest[:2] / manifest[2:])
    old_files = {d for d in old if not d.endswith(".dir")}
    assert old_files <= remote_objects(store)
    result = project.cli_ok("gc", "--cloud")
    assert "and damaged on remote 'store'" in result.stderr
    assert old_files <= remote_objects(store) and old_files <= cache_objects(project)


def test_gc_remote_option_needs_cloud(project):
    build(project, 1)
    with_remote(project)
    result = project.cli_fails("gc", "-r", "store")
    assert "error:" in result.stderr and "--cloud" in result.stderr


def test_gc_cloud_refuses_a_read_only_remote(project):
    build(project, 1)
    project.cli_ok("remote", "add", "-d", "web", "https://example.com/store")
    result = project.cli_fails("gc", "--cloud")
    assert "read-only" in result.stderr


def test_gc_cloud_on_s3_reads_times_and_removes_only_its_own_unneeded_objects(two_runs):
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    project, old = two_runs
    env = {
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    with s3_server("pipetool-gc") as (endpoint, client):
        project.cli_ok("remote", "add", "-d", "s3", "s3://pipetool-gc/store")
        project.cli_ok("remote", "modify", "s3", "endpointurl", endpoint)
        project.cli_ok("push", "--run-cache", env=env)
        fresh = f"store/ab/{'c' * 30}.tmp-{uuid.uuid4().hex}"
        foreign = ["store/README.md", f"store/ab/{'c' * 30}.bak", f"other/ab/{'c' * 30}"]
        for key in [fresh, *foreign]:
            client.put_object(Bucket="pipetool-gc", Key=key, Body=b"x")
        assert old <= s3_objects(client)
        result = project.cli_ok("gc", "--cloud", env=env)
        keys = s3_keys(client)
        assert "no modification time" not in result.stderr  # S3 gives one: the fresh upload is judged
        assert fresh in keys and set(foreign) <= keys
        on_remote = s3_objects(client)
        assert not old & on_remote
        assert file_hashes(project, "outdir") <= on_remote


def s3_keys(client) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="pipetool-gc")
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def s3_objects(client) -> set[str]:
    return {
        key[len("store/") :].replace("/", "")
        for key in s3_keys(client)
        if key.startswith("store/") and key.count("/") == 2
    }
