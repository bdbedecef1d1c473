"""The cache and remotes as an attacker and a failing disk see them: a crafted manifest or run-cache
entry on a remote, a clone whose committed symlinks lead outside, symlinked outs under linking cache
types, objects whose bytes change under an unchanged mtime, and a checkout killed midway. Each test
checks that nothing outside the project changed and that the project converges."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import xxhash
from conftest import CLI_ENV, Project
from test_remote import GEN, PIPELINE, clone, commit, remote_dir

from pipetool.storage.hashing import manifest_hash

PY = shlex.quote(sys.executable)


def built(project: Project, n: int = 3, remote: bool = True) -> Project:
    """The pipeline run once and committed, with a local-directory remote beside it, pushed."""
    project.write("gen.py", GEN)
    project.write("params.yaml", f"n: {n}\n")
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    if remote:
        project.cli_ok("remote", "add", "-d", "storage", str(remote_dir(project)))
        project.cli_ok("push", "--run-cache")
    commit(project, "built")
    return project


def out_record(project: Project, path: str) -> dict:
    return next(o for o in project.lock()["stages"]["train"]["outs"] if o["path"] == path)


def object_path(root, digest: str):
    return root / digest[:2] / digest[2:]


def cache_path(project: Project, digest: str):
    return object_path(project.path / ".pipetool" / "cache", digest)


def put_object(root, data: bytes) -> str:
    """Write data into a cache-shaped folder (a remote) under its hash, as an attacker can."""
    digest = xxhash.xxh3_128_hexdigest(data)
    path = object_path(root, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def put_manifest(root, entries: list[tuple[str, str, int]]) -> str:
    digest = manifest_hash(entries)
    path = object_path(root, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([list(e) for e in entries]))
    return digest


def relock(project: Project, path: str, **fields) -> None:
    """Rewrite one out's record in pipeline.lock, as a commit from a fork can."""
    import yaml

    lock = project.lock()
    out_record_ = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == path)
    out_record_.update(fields)
    (project.path / "pipeline.lock").write_text(yaml.safe_dump(lock, sort_keys=False))


def age(path) -> None:
    """Date a file an hour back, as an object that has sat in the cache for a while is."""
    then = time.time() - 3600
    os.utime(path, (then, then))


def flip_a_byte_keeping_stat(path) -> None:
    """Change one byte in place and put the mtime back: same inode, size and mtime, other bytes."""
    before = os.stat(path)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    with open(path, "r+b") as handle:
        handle.write(data)
    os.chmod(path, before.st_mode)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


# --- 1. a directory manifest from a remote --------------------------------------------------------


@pytest.mark.parametrize("entry", ["../../victim.txt", "ABSOLUTE", "outdir/../../victim.txt", "./x"])
def test_a_crafted_remote_manifest_writes_nothing_outside_the_clone(project, tmp_path, entry):
    built(project)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    absolute = tmp_path / "absolute-victim.txt"
    entry = str(absolute) if entry == "ABSOLUTE" else entry
    remote = remote_dir(project)
    payload = b"owned\n"
    file_digest = put_object(remote, payload)
    dir_digest = put_manifest(remote, [(entry, file_digest, len(payload))])
    relock(project, "outdir", xxh3=dir_digest, size=len(payload), nfiles=1)
    commit(project, "a fork's commit")

    other = clone(project)
    result = other.cli_fails("pull")
    assert "outdir" in result.stdout + result.stderr
    assert victim.read_text() == "precious\n"
    assert not absolute.exists()
    assert not (tmp_path / "x").exists() and not (other.path / "x").exists()
    assert not cache_path(other, dir_digest).exists(), "a bad manifest never enters the cache"
    assert (other.path / "model.bin").read_bytes() == (project.path / "model.bin").read_bytes(), "the rest came"


def test_a_remote_manifest_naming_a_path_twice_is_refused(project):
    built(project)
    remote = remote_dir(project)
    first, second = put_object(remote, b"one\n"), put_object(remote, b"two\n")
    dir_digest = put_manifest(remote, [("a.txt", first, 4), ("a.txt", second, 4)])
    relock(project, "outdir", xxh3=dir_digest, size=8, nfiles=2)
    commit(project, "a fork's commit")
    other = clone(project)
    other.cli_fails("pull")
    assert not (other.path / "outdir").exists()


# --- 2. a run-cache entry from a remote ------------------------------------------------------------


def tamper_run_entries(project: Project, change) -> None:
    entries = sorted((remote_dir(project) / "runs").glob("*/*"))
    assert entries
    for path in entries:
        record = json.loads(path.read_text())
        change(record)
        path.write_text(json.dumps(record))


@pytest.mark.parametrize("outside", ["../PRECIOUS", "../PRECIOUS_DIR", "/ABSOLUTE"])
def test_a_remote_run_entry_naming_a_path_outside_is_refused_and_the_stage_runs(project, tmp_path, outside):
    built(project)
    precious = tmp_path / "PRECIOUS"
    precious.write_text("precious\n")
    (tmp_path / "PRECIOUS_DIR").mkdir()
    (tmp_path / "PRECIOUS_DIR" / "keep.txt").write_text("keep\n")
    target = str(tmp_path / "ABSOLUTE") if outside == "/ABSOLUTE" else outside
    replaced = "outdir" if outside.endswith("_DIR") else "model.bin"

    def point_outside(record):
        next(o for o in record["outs"] if o["path"] == replaced)["path"] = target

    tamper_run_entries(project, point_outside)
    other = clone(project)
    result = other.cli_fails("fetch", "--run-cache")
    assert "corrupt, refused" in result.stderr
    result = other.cli_ok("repro")
    assert "Running stage 'train'" in result.stdout
    assert precious.read_text() == "precious\n"
    assert (tmp_path / "PRECIOUS_DIR" / "keep.txt").read_text() == "keep\n"
    assert not (tmp_path / "ABSOLUTE").exists()
    assert {o["path"] for o in other.lock()["stages"]["train"]["outs"]} == {"model.bin", "outdir", "metrics.json"}
    other.cli_ok("status", "--exit-code")


def test_a_remote_run_entry_naming_other_outs_than_the_stage_declares_is_ignored(project):
    built(project)

    def rename(record):
        next(o for o in record["outs"] if o["path"] == "model.bin")["path"] = "PRECIOUS"

    tamper_run_entries(project, rename)
    other = clone(project)
    other.cli_ok("fetch", "--run-cache")  # well formed: it names a path inside the project
    (other.path / "pipeline.lock").unlink()  # the lock's own outs would come back first: only the entry may restore
    result = other.cli_ok("repro")
    assert "Running stage 'train'" in result.stdout and "restored from run-cache" not in result.stdout
    assert not (other.path / "PRECIOUS").exists()
    assert {o["path"] for o in other.lock()["stages"]["train"]["outs"]} == {"model.bin", "outdir", "metrics.json"}


def test_a_remote_run_entry_with_a_hash_that_is_a_path_is_refused(project):
    built(project)

    def path_as_hash(record):
        next(o for o in record["outs"] if o["path"] == "model.bin")["xxh3"] = "../../../../etc/passwd"

    tamper_run_entries(project, path_as_hash)
    other = clone(project)
    assert "corrupt, refused" in other.cli_fails("fetch", "--run-cache").stderr


def test_an_oversized_remote_run_entry_is_refused_unread(project):
    built(project)
    entry = sorted((remote_dir(project) / "runs").glob("*/*"))[0]
    entry.write_text(json.dumps({"outs": [], "duration": 1, "pad": "x" * (2 << 20)}))
    other = clone(project)
    assert "corrupt, refused" in other.cli_fails("fetch", "--run-cache").stderr


# --- 3. committed symlinks on the way to an out ------------------------------------------------------

SUB_PIPELINE = f"""
    stages:
      train:
        cmd: mkdir -p sub && {PY} -c "import os; open('sub/model.bin', 'wb').write(os.urandom(32))"
        outs: [sub/model.bin]
"""


@pytest.mark.parametrize("command", [("pull",), ("pull", "-f"), ("checkout",), ("checkout", "-f")])
def test_a_committed_symlinked_folder_leading_outside_is_never_written_through(project, tmp_path, command):
    project.write("pipeline.yaml", SUB_PIPELINE)
    project.cli_ok("repro")
    project.cli_ok("remote", "add", "-d", "storage", str(remote_dir(project)))
    project.cli_ok("push")
    commit(project, "built")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.bin").write_text("precious\n")
    subprocess.run(["rm", "-rf", str(project.path / "sub")], check=True)
    os.symlink(outside, project.path / "sub")
    commit(project, "a fork's commit: sub is a symlink")

    other = clone(project)
    assert os.path.islink(other.path / "sub")
    if command[0] == "checkout":
        other.cli_ok("fetch")
    result = other.cli_fails(*command)
    assert "sub/model.bin" in result.stdout and "outside the project" in result.stdout
    assert (outside / "model.bin").read_text() == "precious\n"
    assert os.listdir(outside) == ["model.bin"]


def test_an_out_that_is_a_committed_symlink_to_a_file_outside_is_not_read_or_written(project, tmp_path):
    built(project, remote=True)
    outside = tmp_path / "secret.bin"
    outside.write_text("secret\n")
    os.chmod(outside, 0o640)
    other = clone(project)
    os.symlink(outside, other.path / "model.bin")
    other.cli_ok("fetch")
    result = other.cli_fails("checkout", "-f")
    assert "model.bin" in result.stdout and "outside the project" in result.stdout
    assert outside.read_text() == "secret\n" and (os.stat(outside).st_mode & 0o777) == 0o640


# --- 4. linking cache types and symlinked outs ---------------------------------------------------------


@pytest.mark.parametrize("link_type", ["hardlink", "symlink"])
@pytest.mark.parametrize("shape", ["file", "in a folder"])
def test_a_stage_out_that_is_a_symlink_outside_is_copied_into_the_cache_untouched(project, tmp_path, link_type, shape):
    outside = tmp_path / "outside.txt"
    outside.write_text("outside bytes\n")
    os.chmod(outside, 0o640)
    link = "out.txt" if shape == "file" else "outdir/out.txt"
    out = "out.txt" if shape == "file" else "outdir"
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          link:
            cmd: mkdir -p outdir && ln -s {shlex.quote(str(outside))} {link}
            outs: [{out}]
    """,
    )
    project.cli_ok("config", "cache.type", link_type)
    project.cli_ok("repro")
    assert (os.stat(outside).st_mode & 0o777) == 0o640
    assert outside.read_text() == "outside bytes\n"
    objects = [p for p in (project.path / ".pipetool" / "cache").rglob("*") if p.parent.name != "cache"]
    assert objects and not any(p.is_symlink() for p in objects), "the cache holds bytes, never a symlink"
    digest = xxhash.xxh3_128_hexdigest(b"outside bytes\n")
    assert cache_path(project, digest).read_text() == "outside bytes\n"
    project.cli_ok("status", "--exit-code")


# --- 6. objects whose bytes changed under the same inode, size and mtime --------------------------------


@pytest.mark.parametrize("link_type", ["copy", "hardlink", "symlink"])
def test_checkout_never_restores_flipped_bytes_and_a_fetch_repairs_them(project, link_type):
    built(project)
    project.cli_ok("config", "cache.type", link_type)
    good = (project.path / "model.bin").read_bytes()
    digest = out_record(project, "model.bin")["xxh3"]
    age(cache_path(project, digest))
    os.remove(project.path / "model.bin")
    project.cli_ok("checkout")  # a restore that a check by the state db would remember
    os.remove(project.path / "model.bin")
    flip_a_byte_keeping_stat(cache_path(project, digest))

    result = project.cli_fails("checkout")
    assert "corrupt model.bin" in result.stdout
    assert not (project.path / "model.bin").exists()
    assert not cache_path(project, digest).exists(), "the damaged object is removed"
    project.cli_ok("fetch")
    project.cli_ok("checkout")
    assert (project.path / "model.bin").read_bytes() == good
    project.cli_ok("status", "--exit-code")


def test_repro_never_restores_flipped_bytes_from_the_run_cache_and_converges(project):
    built(project, remote=False)
    digest = out_record(project, "model.bin")["xxh3"]
    age(cache_path(project, digest))
    project.write("params.yaml", "n: 4\n")
    project.cli_ok("repro")
    project.write("params.yaml", "n: 3\n")
    assert "restored from run-cache" in project.cli_ok("repro").stdout  # the entry works
    project.write("params.yaml", "n: 4\n")
    project.cli_ok("repro")
    flip_a_byte_keeping_stat(cache_path(project, digest))
    project.write("params.yaml", "n: 3\n")

    result = project.cli_ok("repro")
    assert "Running stage 'train'" in result.stdout and "restored from run-cache" not in result.stdout
    new = out_record(project, "model.bin")["xxh3"]
    assert xxhash.xxh3_128_hexdigest((project.path / "model.bin").read_bytes()) == new
    assert xxhash.xxh3_128_hexdigest(cache_path(project, new).read_bytes()) == new
    assert "Running" not in project.cli_ok("repro").stdout
    project.cli_ok("status", "--exit-code")


def test_metrics_from_the_cache_are_checked_by_their_bytes(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          m:
            cmd: "echo '{\\"acc\\": 0.5}' > m.json"
            metrics: [m.json: {cache: false}]
    """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("rm", "-q", "--cached", "m.json")  # at that revision, only the cache has it
    project.git("commit", "-qm", "metrics")
    digest = project.lock()["stages"]["m"]["outs"][0]["xxh3"]
    flip_a_byte_keeping_stat(cache_path(project, digest))
    os.remove(project.path / "m.json")
    result = project.cli("metrics", "show", "-a")
    assert "0.5" not in result.stdout and "is corrupt" in result.stdout + result.stderr


# --- 7. a damaged manifest ---------------------------------------------------------------------------


def test_a_damaged_manifest_is_rewritten_by_repro_f_and_checkout_and_push_work_again(project):
    built(project)
    digest = out_record(project, "outdir")["xxh3"]
    manifest = cache_path(project, digest)
    os.chmod(manifest, 0o644)
    manifest.write_text('[["f0.txt", "garbage", 1]]')

    project.cli_ok("repro", "-f")
    entries = json.loads(manifest.read_text())
    assert manifest_hash([tuple(e) for e in entries]) == digest
    subprocess.run(["rm", "-rf", str(project.path / "outdir")], check=True)
    project.cli_ok("checkout")
    assert sorted(os.listdir(project.path / "outdir")) == ["f0.txt", "f1.txt", "f2.txt"]
    project.cli_ok("push")


def test_a_damaged_manifest_is_removed_when_seen_and_a_fetch_replaces_it(project):
    built(project)
    digest = out_record(project, "outdir")["xxh3"]
    manifest = cache_path(project, digest)
    os.chmod(manifest, 0o644)
    manifest.write_text("not json")
    subprocess.run(["rm", "-rf", str(project.path / "outdir")], check=True)
    assert "corrupt outdir" in project.cli_fails("checkout").stdout
    assert not manifest.exists()
    project.cli_ok("pull")
    assert sorted(os.listdir(project.path / "outdir")) == ["f0.txt", "f1.txt", "f2.txt"]


# --- 9. a checkout killed midway ------------------------------------------------------------------------


def test_a_checkout_resumes_after_what_a_kill_left(project):
    built(project, remote=False)
    before = {name: (project.path / "outdir" / name).read_bytes() for name in os.listdir(project.path / "outdir")}
    subprocess.run(["rm", "-rf", str(project.path / "outdir")], check=True)
    leftover = project.path / "outdir.pipetool-tmp"  # a restore is built here, then renamed into place
    leftover.mkdir()
    (leftover / "f0.txt").write_text("half")
    project.write("model.bin.pipetool-tmp", "half")
    os.remove(project.path / "model.bin")
    project.cli_ok("checkout")
    assert not leftover.exists() and not (project.path / "model.bin.pipetool-tmp").exists()
    outdir = project.path / "outdir"
    assert {name: (outdir / name).read_bytes() for name in os.listdir(outdir)} == before
    project.cli_ok("status", "--exit-code")


def test_a_checkout_killed_midway_resumes_with_a_plain_rerun(project):
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          many:
            cmd: >-
              {PY} -c "import os; os.makedirs('many');
              [open(f'many/{{i}}.txt', 'w').write(str(i)) for i in range(6000)]"
            outs: [many]
    """,
    )
    project.cli_ok("repro")
    first = project.lock()["stages"]["many"]["outs"][0]["xxh3"]
    subprocess.run(["rm", "-rf", str(project.path / "many")], check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "checkout"],
        cwd=project.path,
        env=CLI_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    building = project.path / "many.pipetool-tmp"
    deadline = time.monotonic() + 60
    while (
        not (building.exists() or (project.path / "many").exists())
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.002)  # until the restore has begun writing
    assert proc.poll() is None, "the checkout ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    project.cli_ok("checkout")
    assert len(os.listdir(project.path / "many")) == 6000
    assert not building.exists()
    project.cli_ok("status", "--exit-code")
    assert project.lock()["stages"]["many"]["outs"][0]["xxh3"] == first


# --- exp apply ---------------------------------------------------------------------------------------


def test_exp_apply_deletes_nothing_through_a_symlinked_folder(project, tmp_path):
    project.write("params.yaml", "lr: 1\n")
    project.write("notes/old.txt", "tracked\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          s:
            cmd: rm -f notes/old.txt && echo ${lr} > out.txt
            params: [lr]
            outs: [out.txt]
    """,
    )
    commit(project, "start")
    project.cli_ok("exp", "run", "-S", "lr=2", "-n", "two")
    project.git("checkout", "-q", "HEAD", "--", "notes", "params.yaml")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "old.txt").write_text("precious\n")
    subprocess.run(["rm", "-rf", str(project.path / "notes")], check=True)
    os.symlink(outside, project.path / "notes")
    result = project.cli("exp", "apply", "two")
    assert "Traceback" not in result.stderr
    assert (outside / "old.txt").read_text() == "precious\n"


# --- .gitignore ----------------------------------------------------------------------------------------


def test_a_gitignore_that_is_a_symlink_outside_is_neither_read_nor_written(project, tmp_path):
    outside = tmp_path / "bashrc"
    outside.write_text("secret\n")
    os.symlink(outside, project.path / ".gitignore")
    project.write(
        "pipeline.yaml",
        """
        stages:
          s:
            cmd: echo x > out.txt
            outs: [out.txt]
    """,
    )
    result = project.cli_fails("repro")
    assert ".gitignore" in result.stderr and "outside the project" in result.stderr
    assert outside.read_text() == "secret\n"
    assert os.path.islink(project.path / ".gitignore")


# --- pipes and devices where a file is expected ------------------------------------------------------


def test_a_cache_object_committed_as_a_link_to_a_pipe_is_refused_not_read(project, tmp_path):
    built(project, remote=False)
    digest = out_record(project, "model.bin")["xxh3"]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    obj = cache_path(project, digest)
    os.remove(obj)
    os.symlink(fifo, obj)
    os.remove(project.path / "model.bin")
    result = project.fails("checkout", timeout=30)  # a real process: reading the pipe would block
    assert "corrupt model.bin" in result.stdout
    assert not os.path.lexists(obj), "the link is removed, so a fetch or a repro can put the object back"


def test_a_dep_that_is_a_link_to_a_pipe_is_a_one_line_error_not_a_hang(project, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    os.symlink(fifo, project.path / "data.csv")
    project.write(
        "pipeline.yaml",
        """
        stages:
          s:
            cmd: cat data.csv > out.txt
            deps: [data.csv]
            outs: [out.txt]
    """,
    )
    result = project.fails("status", timeout=30)
    assert "data.csv" in result.stderr and "not a file or a folder" in result.stderr


def test_storing_an_out_that_is_already_a_link_to_its_object_keeps_the_object(tmp_path):
    from pipetool.storage.cache import Cache

    cache = Cache(str(tmp_path / "state"), "symlink")
    out = tmp_path / "out.txt"
    out.write_text("bytes\n")
    digest = xxhash.xxh3_128_hexdigest(b"bytes\n")
    cache.store(str(out), digest)
    assert os.path.islink(out)  # the workspace shares the object
    cache.store(str(out), digest)  # again, as a commit of the same bytes does
    assert cache.read_bytes(digest) == b"bytes\n"
    assert out.read_text() == "bytes\n"
