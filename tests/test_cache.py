"""The content-addressed cache, the run-cache, checkout, gc, cache status, config, the git hook and
.gitignore of cached outs: through the real CLI in temporary git repositories."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing

import pytest
import xxhash
from conftest import CLI_ENV, ran_stages

PY = shlex.quote(sys.executable)

# Writes model.bin ("n=N" then random bytes) and outdir/ with n+1 random files. Random bytes mean a
# second run never reproduces the first run's bytes: equal bytes prove they came from the cache.
GEN = """
    import os
    n = int(open("params.yaml").read().split(":")[1])
    with open("model.bin", "wb") as handle:
        handle.write(f"n={n}\\n".encode() + os.urandom(64))
    os.makedirs("outdir", exist_ok=True)
    for i in range(n + 1):
        with open(f"outdir/part{i}.bin", "wb") as handle:
            handle.write(f"{n}-{i}\\n".encode() + os.urandom(32))
"""

# Every run appends a line to ../runs.log, outside the project and outside the outs.
PIPELINE = f"""
    stages:
      train:
        cmd: echo run >> ../runs.log && {PY} gen.py
        deps: [gen.py]
        params: [n]
        outs: [model.bin, outdir]
"""


# --- helpers -----------------------------------------------------------------------------------


def runs(project) -> int:
    """How many times a cmd ran (lines of ../runs.log)."""
    log = project.path.parent / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def train_project(project, n: int = 1):
    project.write("gen.py", GEN)
    project.write("params.yaml", f"n: {n}\n")
    project.write("pipeline.yaml", PIPELINE)
    return project


def set_n(project, n: int) -> None:
    project.write("params.yaml", f"n: {n}\n")


def commit(project, message: str) -> str:
    project.git("add", "-A")
    project.git("commit", "-qm", message)
    return project.git("rev-parse", "HEAD").strip()


def out_hash(project, stage: str, path: str) -> str:
    return next(o["xxh3"] for o in project.lock()["stages"][stage]["outs"] if o["path"] == path)


def object_path(project, digest: str):
    return project.path / ".pipetool" / "cache" / digest[:2] / digest[2:]


def cache_objects(project) -> set[str]:
    root = project.path / ".pipetool" / "cache"
    if not root.exists():
        return set()
    return {p.parent.name + p.name for p in root.glob("*/*") if p.is_file() and ".tmp-" not in p.name}


def run_entries(project) -> list[str]:
    """Keys of the run-cache entries."""
    path = project.path / ".pipetool" / "runs" / "runs.db"
    if not path.exists():
        return []
    with closing(sqlite3.connect(path)) as db:
        return [key for (key,) in db.execute("SELECT key FROM runs")]


def read_bytes(project, relpath: str) -> bytes:
    return (project.path / relpath).read_bytes()


def dir_bytes(project, relpath: str) -> dict[str, bytes]:
    base = project.path / relpath
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def overwrite(path, data: bytes) -> None:
    """Damage a read-only file as a careless user would: make it writable, write over it."""
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWUSR)
    with open(path, "wb") as handle:
        handle.write(data)


@pytest.fixture
def two_commits(project):
    """Commit A (n=1) and commit B (n=2), each with its outs made by repro; B checked out."""
    train_project(project, 1)
    project.cli_ok("repro")
    a = {
        "rev": commit(project, "A"),
        "model": read_bytes(project, "model.bin"),
        "outdir": dir_bytes(project, "outdir"),
        "lock": project.lock(),
    }
    set_n(project, 2)
    project.cli_ok("repro")
    b = {
        "rev": commit(project, "B"),
        "model": read_bytes(project, "model.bin"),
        "outdir": dir_bytes(project, "outdir"),
        "lock": project.lock(),
    }
    assert a["model"] != b["model"]
    return project, a, b


# --- checkout across git commits ------------------------------------------------------------------


def test_checkout_after_git_checkout_restores_older_commits_exact_bytes(two_commits):
    project, a, _ = two_commits
    project.git("checkout", "-q", a["rev"])
    project.cli_ok("checkout")
    assert read_bytes(project, "model.bin") == a["model"]
    assert xxhash.xxh3_128_hexdigest(read_bytes(project, "model.bin")) == out_hash(project, "train", "model.bin")
    assert out_hash(project, "train", "model.bin") == next(
        o["xxh3"] for o in a["lock"]["stages"]["train"]["outs"] if o["path"] == "model.bin"
    )


def test_checkout_after_git_checkout_runs_no_cmd(two_commits):
    project, a, _ = two_commits
    before = runs(project)
    project.git("checkout", "-q", a["rev"])
    result = project.cli_ok("checkout")
    assert runs(project) == before
    assert ran_stages(result.stdout) == []


def test_checkout_reports_each_restored_out(two_commits):
    project, a, _ = two_commits
    project.git("checkout", "-q", a["rev"])
    result = project.cli_ok("checkout")
    assert "restored model.bin" in result.stdout
    assert "restored outdir" in result.stdout


def test_checkout_after_git_checkout_leaves_nothing_for_repro_to_do(two_commits):
    project, a, _ = two_commits
    project.git("checkout", "-q", a["rev"])
    project.cli_ok("checkout")
    before = runs(project)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == []
    assert "restored from run-cache" not in result.stdout
    assert runs(project) == before
    assert project.lock() == a["lock"]


def test_checkout_back_to_newer_commit_restores_its_bytes(two_commits):
    project, a, b = two_commits
    project.git("checkout", "-q", a["rev"])
    project.cli_ok("checkout")
    before = runs(project)
    project.git("checkout", "-q", "main")
    project.cli_ok("checkout")
    assert read_bytes(project, "model.bin") == b["model"]
    assert dir_bytes(project, "outdir") == b["outdir"]
    assert xxhash.xxh3_128_hexdigest(b["model"]) == out_hash(project, "train", "model.bin")
    assert runs(project) == before


def test_checkout_restores_a_directory_out_exactly_without_extra_files(two_commits):
    project, a, b = two_commits
    assert "part2.bin" in b["outdir"] and "part2.bin" not in a["outdir"]
    project.git("checkout", "-q", a["rev"])
    project.cli_ok("checkout")
    assert dir_bytes(project, "outdir") == a["outdir"]
    assert not project.exists("outdir/part2.bin")


def test_out_the_cache_cannot_take_fails_its_stage_and_is_not_recorded(project):
    """When storing an out fails (here a file stands where the object's folder goes) the stage is
    reported failed, the lock does not name its result, no half-written object is left, and once
    the cache is repaired a repro runs it again."""
    digest = xxhash.xxh3_128_hexdigest(b"one\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          first:
            cmd: echo one > one.txt
            outs: [one.txt]
    """,
    )
    blocker = project.path / ".pipetool" / "cache" / digest[:2]
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way\n")
    result = project.cli_fails("repro")
    assert "Stage 'first' failed: could not store its outs in the cache" in result.stdout + result.stderr
    assert not project.exists("pipeline.lock")
    assert sorted(os.listdir(blocker.parent)) == [digest[:2]]  # nothing half-written beside it
    blocker.unlink()
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["first"]
    assert (blocker / digest[2:]).read_bytes() == b"one\n"
    assert "first" in project.lock()["stages"]


def test_checkout_with_everything_in_place_says_so_and_changes_nothing(project):
    train_project(project)
    project.cli_ok("repro")
    model = read_bytes(project, "model.bin")
    result = project.cli_ok("checkout")
    assert "already match" in result.stdout
    assert "restored" not in result.stdout
    assert read_bytes(project, "model.bin") == model


# --- the run-cache ---------------------------------------------------------------------------------


def test_reverted_param_restores_outs_from_run_cache_without_running(project):
    train_project(project, 1)
    project.cli_ok("repro")
    lock_1, model_1, outdir_1 = project.lock(), read_bytes(project, "model.bin"), dir_bytes(project, "outdir")
    set_n(project, 2)
    project.cli_ok("repro")
    before = runs(project)
    set_n(project, 1)
    result = project.cli_ok("repro")
    assert runs(project) == before
    assert ran_stages(result.stdout) == []
    assert "Stage 'train' restored from run-cache" in result.stdout
    assert project.lock() == lock_1
    assert read_bytes(project, "model.bin") == model_1
    assert dir_bytes(project, "outdir") == outdir_1


def runs_db(project):
    return project.path / ".pipetool" / "runs" / "runs.db"


def test_run_cache_entries_are_rows_of_one_db_whatever_the_number_of_runs(project):
    two_params(project)
    assert len(run_entries(project)) == 2
    assert "runs.db" in [p.name for p in (project.path / ".pipetool" / "runs").iterdir()]
    assert not [p for p in (project.path / ".pipetool" / "runs").iterdir() if p.is_dir()]


def test_a_damaged_run_cache_entry_means_the_stage_runs(project):
    train_project(project, 1)
    project.cli_ok("repro")
    set_n(project, 2)
    project.cli_ok("repro")
    with closing(sqlite3.connect(runs_db(project))) as db, db:
        for key, text in db.execute("SELECT key, record FROM runs").fetchall():
            record = json.loads(text)
            record["outs"][0]["size"] = "many"
            db.execute("UPDATE runs SET record = ? WHERE key = ?", (json.dumps(record), key))
    before = runs(project)
    set_n(project, 1)
    result = project.cli_ok("repro")
    assert "restored from run-cache" not in result.stdout
    assert runs(project) == before + 1


def test_a_run_cache_that_is_not_a_database_is_started_afresh(project):
    train_project(project, 1)
    project.cli_ok("repro")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{runs_db(project)}{suffix}"):
            os.remove(f"{runs_db(project)}{suffix}")
    runs_db(project).write_bytes(b"this is not an SQLite file, it is garbage" * 100)
    set_n(project, 2)
    result = project.cli_ok("repro")  # the damaged file is replaced by a new run-cache, with this run in it
    assert "Traceback" not in result.stderr
    set_n(project, 1)
    before = runs(project)
    project.cli_ok("repro")  # runs: the n=1 run went with the damaged file
    assert runs(project) == before + 1
    set_n(project, 2)
    result = project.cli_ok("repro")
    assert "Stage 'train' restored from run-cache" in result.stdout
    assert runs(project) == before + 1


def test_a_run_cache_that_cannot_be_made_costs_reruns_not_a_failure(project):
    train_project(project, 1)
    project.cli_ok("repro")
    runs_dir = project.path / ".pipetool" / "runs"
    for path in runs_dir.iterdir():
        path.unlink()
    runs_dir.rmdir()
    runs_dir.write_text("a file where the run-cache's folder goes\n")
    set_n(project, 2)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["train"]
    assert "Traceback" not in result.stderr
    set_n(project, 1)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["train"]  # nothing was remembered, nothing failed


def test_restored_stage_is_up_to_date_afterwards(project):
    train_project(project, 1)
    project.cli_ok("repro")
    set_n(project, 2)
    project.cli_ok("repro")
    set_n(project, 1)
    project.cli_ok("repro")
    before = runs(project)
    result = project.cli_ok("repro")
    assert "Stage 'train' is up to date" in result.stdout
    assert runs(project) == before


def test_a_deleted_out_comes_back_from_the_cache_by_its_lock_without_a_run_cache_entry(project):
    # a clone whose cache holds the objects but no run-cache: the lock says what the unchanged
    # cmd, deps and params made, so the out is checked out rather than made again
    train_project(project, 1)
    project.cli_ok("repro")
    lock, model = project.lock(), read_bytes(project, "model.bin")
    shutil.rmtree(project.path / ".pipetool" / "runs")
    (project.path / "model.bin").unlink()
    shutil.rmtree(project.path / "outdir")
    before = runs(project)

    result = project.cli_ok("repro")

    assert runs(project) == before
    assert ran_stages(result.stdout) == []
    assert "Stage 'train' restored from run-cache (changed outs: deleted model.bin, deleted outdir)" in result.stdout
    assert read_bytes(project, "model.bin") == model
    assert project.lock() == lock
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_a_deleted_out_with_a_changed_param_runs_when_the_run_cache_has_no_entry(project):
    train_project(project, 1)
    project.cli_ok("repro")
    shutil.rmtree(project.path / ".pipetool" / "runs")
    (project.path / "model.bin").unlink()
    set_n(project, 2)
    before = runs(project)

    result = project.cli_ok("repro")

    assert ran_stages(result.stdout) == ["train"]
    assert runs(project) == before + 1


def test_no_run_cache_flag_runs_the_cmd(project):
    train_project(project, 1)
    project.cli_ok("repro")
    set_n(project, 2)
    project.cli_ok("repro")
    before = runs(project)
    set_n(project, 1)
    result = project.cli_ok("repro", "--no-run-cache")
    assert ran_stages(result.stdout) == ["train"]
    assert "restored from run-cache" not in result.stdout
    assert runs(project) == before + 1


def test_force_runs_the_cmd_even_with_a_run_cache_entry(project):
    train_project(project, 1)
    project.cli_ok("repro")
    set_n(project, 2)
    project.cli_ok("repro")
    before = runs(project)
    set_n(project, 1)
    result = project.cli_ok("repro", "-f")
    assert ran_stages(result.stdout) == ["train"]
    assert "restored from run-cache" not in result.stdout
    assert runs(project) == before + 1


def test_stage_with_persist_out_never_uses_run_cache(project):
    project.write("params.yaml", "n: 1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          log:
            cmd: echo run >> ../runs.log && echo ${n} >> history.txt
            params: [n]
            outs:
              - history.txt: {persist: true}
    """,
    )
    project.cli_ok("repro")
    set_n(project, 2)
    project.cli_ok("repro")
    before = runs(project)
    set_n(project, 1)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["log"]
    assert "restored from run-cache" not in result.stdout
    assert runs(project) == before + 1
    assert project.read("history.txt") == "1\n2\n1\n"


def test_always_changed_stage_never_uses_run_cache(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          clock:
            cmd: echo run >> ../runs.log && echo same > stamp.txt
            always_changed: true
            outs: [stamp.txt]
    """,
    )
    project.cli_ok("repro")
    before = runs(project)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["clock"]
    assert "restored from run-cache" not in result.stdout
    assert runs(project) == before + 1


def test_run_cache_is_not_used_when_the_cmd_changed(project):
    train_project(project, 1)
    project.cli_ok("repro")
    set_n(project, 2)
    project.cli_ok("repro")
    set_n(project, 1)
    project.write("pipeline.yaml", PIPELINE.replace("echo run", "echo run-again"))
    before = runs(project)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["train"]
    assert runs(project) == before + 1


# --- link types ------------------------------------------------------------------------------------


def test_hardlink_out_shares_inode_with_its_cache_object(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    workspace = os.stat(project.path / "model.bin")
    cached = os.stat(object_path(project, out_hash(project, "train", "model.bin")))
    assert workspace.st_ino == cached.st_ino
    assert workspace.st_nlink == 2


def test_hardlink_out_is_read_only(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    mode = stat.S_IMODE(os.stat(project.path / "model.bin").st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0, oct(mode)


def test_hardlink_directory_out_files_share_inodes_with_cache(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    part = project.path / "outdir" / "part0.bin"
    digest = xxhash.xxh3_128_hexdigest(part.read_bytes())
    assert os.stat(part).st_ino == os.stat(object_path(project, digest)).st_ino


def test_symlink_out_is_a_link_into_the_cache(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "symlink")
    project.cli_ok("repro")
    out = project.path / "model.bin"
    assert out.is_symlink()
    target = os.path.realpath(out)
    cache_root = os.path.realpath(project.path / ".pipetool" / "cache")
    assert target.startswith(cache_root + os.sep)
    assert target == os.path.realpath(object_path(project, out_hash(project, "train", "model.bin")))


def test_copy_out_has_its_own_inode_and_stays_writable(project):
    train_project(project)
    project.cli_ok("repro")
    workspace = os.stat(project.path / "model.bin")
    cached = os.stat(object_path(project, out_hash(project, "train", "model.bin")))
    assert workspace.st_ino != cached.st_ino
    assert workspace.st_nlink == 1
    assert not (project.path / "model.bin").is_symlink()
    assert stat.S_IMODE(workspace.st_mode) & stat.S_IWUSR


def disk_usage(folder) -> int:
    """Bytes of disk the files below folder take, each inode counted once (like du)."""
    seen, total = set(), 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def test_big_hardlinked_out_is_not_stored_twice(project):
    size = 20 * 1024 * 1024
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          big:
            cmd: {PY} -c "import os; open('big.bin', 'wb').write(os.urandom({size}))"
            outs: [big.bin]
    """,
    )
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    workspace = os.stat(project.path / "big.bin")
    cached = os.stat(object_path(project, out_hash(project, "big", "big.bin")))
    assert workspace.st_ino == cached.st_ino
    assert workspace.st_nlink == 2
    used = disk_usage(project.path)
    assert used < 1.5 * size, f"the project takes {used} bytes of disk for a {size}-byte out"


def test_big_copied_out_is_stored_twice(project):
    """The control for the test above: the usage measure does see a second copy."""
    size = 20 * 1024 * 1024
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          big:
            cmd: {PY} -c "import os; open('big.bin', 'wb').write(os.urandom({size}))"
            outs: [big.bin]
    """,
    )
    project.cli_ok("repro")
    assert disk_usage(project.path) >= 2 * size


def test_hardlink_persist_out_appended_by_next_run_leaves_cache_object_intact(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          log:
            cmd: echo line >> log.txt
            outs:
              - log.txt: {persist: true}
    """,
    )
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    first = out_hash(project, "log", "log.txt")
    project.cli_ok("repro", "-f")
    assert project.read("log.txt") == "line\nline\n"
    assert object_path(project, first).read_bytes() == b"line\n"


def test_symlink_cache_type_leaves_uncached_metric_a_regular_file(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          score:
            cmd: echo '{"acc":1}' > metrics.json && echo data > data.txt
            outs: [data.txt]
            metrics: [metrics.json: {cache: false}]
    """,
    )
    project.cli_ok("config", "cache.type", "symlink")
    project.cli_ok("repro")
    metric = project.path / "metrics.json"
    assert not metric.is_symlink(), "a cache: false metric (committed to git) became a link into the cache"
    assert metric.read_text() == '{"acc":1}\n'


def test_hardlink_cache_type_leaves_uncached_metric_writable_and_unlinked(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          score:
            cmd: echo '{"acc":1}' > metrics.json
            metrics: [metrics.json: {cache: false}]
    """,
    )
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    st = os.stat(project.path / "metrics.json")
    assert st.st_nlink == 1
    assert stat.S_IMODE(st.st_mode) & stat.S_IWUSR


def test_checkout_with_hardlink_links_the_restored_out(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "hardlink")
    project.cli_ok("repro")
    os.remove(project.path / "model.bin")
    project.cli_ok("checkout")
    digest = out_hash(project, "train", "model.bin")
    assert os.stat(project.path / "model.bin").st_ino == os.stat(object_path(project, digest)).st_ino


# --- checkout: what it restores and what it refuses ---------------------------------------------------


def test_checkout_restores_a_deleted_out(project):
    train_project(project)
    project.cli_ok("repro")
    model = read_bytes(project, "model.bin")
    os.remove(project.path / "model.bin")
    result = project.cli_ok("checkout")
    assert "restored model.bin" in result.stdout
    assert "outdir" not in result.stdout
    assert read_bytes(project, "model.bin") == model


def test_checkout_restores_a_deleted_directory_out(project):
    train_project(project)
    project.cli_ok("repro")
    outdir = dir_bytes(project, "outdir")
    import shutil

    shutil.rmtree(project.path / "outdir")
    result = project.cli_ok("checkout")
    assert "restored outdir" in result.stdout
    assert dir_bytes(project, "outdir") == outdir


def test_checkout_with_missing_cache_object_says_missing_and_exits_1(project):
    train_project(project)
    project.cli_ok("repro")
    os.remove(object_path(project, out_hash(project, "train", "model.bin")))
    os.remove(project.path / "model.bin")
    result = project.cli_fails("checkout")
    assert "missing model.bin" in result.stdout
    assert not project.exists("model.bin")


def test_checkout_detects_corrupt_object_and_does_not_restore_its_bytes(project):
    train_project(project)
    project.cli_ok("repro")
    obj = object_path(project, out_hash(project, "train", "model.bin"))
    overwrite(obj, b"garbage bytes\n")
    os.remove(project.path / "model.bin")
    result = project.cli_fails("checkout")
    assert "corrupt model.bin" in result.stdout
    assert not project.exists("model.bin") or read_bytes(project, "model.bin") != b"garbage bytes\n"


def test_checkout_with_corrupt_object_keeps_the_workspace_file(two_commits):
    project, a, b = two_commits
    overwrite(object_path(project, xxhash.xxh3_128_hexdigest(a["model"])), b"garbage bytes\n")
    project.git("checkout", "-q", a["rev"])
    result = project.cli_fails("checkout")
    assert "corrupt model.bin" in result.stdout
    assert read_bytes(project, "model.bin") == b["model"]


def test_checkout_with_a_corrupt_file_inside_a_directory_out_keeps_the_directory(two_commits):
    project, a, b = two_commits
    overwrite(object_path(project, xxhash.xxh3_128_hexdigest(a["outdir"]["part0.bin"])), b"garbage\n")
    project.git("checkout", "-q", a["rev"])
    result = project.cli_fails("checkout")
    assert "corrupt outdir" in result.stdout
    assert dir_bytes(project, "outdir") == b["outdir"]


def test_checkout_keeps_a_modified_out_whose_bytes_are_not_cached(project):
    train_project(project)
    project.cli_ok("repro")
    project.write("model.bin", "hand edited\n")
    result = project.cli_fails("checkout")
    assert "kept model.bin" in result.stdout
    assert "--force" in result.stdout
    assert project.read("model.bin") == "hand edited\n"


def test_checkout_force_overwrites_a_modified_out(project):
    train_project(project)
    project.cli_ok("repro")
    model = read_bytes(project, "model.bin")
    project.write("model.bin", "hand edited\n")
    result = project.cli_ok("checkout", "--force")
    assert "restored model.bin" in result.stdout
    assert read_bytes(project, "model.bin") == model


def test_checkout_target_restores_only_that_stages_outs(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          first:
            cmd: echo one > one.txt
            outs: [one.txt]
          second:
            cmd: echo two > two.txt
            outs: [two.txt]
    """,
    )
    project.cli_ok("repro")
    os.remove(project.path / "one.txt")
    os.remove(project.path / "two.txt")
    result = project.cli_ok("checkout", "second")
    assert "restored two.txt" in result.stdout
    assert project.read("two.txt") == "two\n"
    assert not project.exists("one.txt")


def test_checkout_does_not_touch_an_uncached_metric(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          score:
            cmd: echo '{"acc":1}' > metrics.json && echo data > data.txt
            outs: [data.txt]
            metrics: [metrics.json: {cache: false}]
    """,
    )
    project.cli_ok("repro")
    project.write("metrics.json", '{"acc":2}\n')
    result = project.cli_ok("checkout")
    assert "metrics.json" not in result.stdout
    assert project.read("metrics.json") == '{"acc":2}\n'


# --- .gitignore of cached outs ---------------------------------------------------------------------


def test_repro_lists_cached_out_in_gitignore_beside_it(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: echo data > data/model.bin
            outs: [data/model.bin]
    """,
    )
    project.cli_ok("repro")
    assert "/model.bin" in project.read("data/.gitignore").splitlines()
    assert not project.exists(".gitignore")


def test_uncached_metric_is_not_gitignored(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          score:
            cmd: echo '{"acc":1}' > metrics.json && echo data > data.txt
            outs: [data.txt]
            metrics: [metrics.json: {cache: false}]
    """,
    )
    project.cli_ok("repro")
    lines = project.read(".gitignore").splitlines()
    assert "/data.txt" in lines
    assert "/metrics.json" not in lines


def test_removing_a_stage_removes_its_gitignore_entry(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          keep:
            cmd: echo keep > keep.txt
            outs: [keep.txt]
          drop:
            cmd: echo drop > drop.txt
            outs: [drop.txt]
    """,
    )
    project.cli_ok("repro")
    assert "/drop.txt" in project.read(".gitignore").splitlines()
    project.write(
        "pipeline.yaml",
        """
        stages:
          keep:
            cmd: echo keep > keep.txt
            outs: [keep.txt]
    """,
    )
    project.cli_ok("repro")
    lines = project.read(".gitignore").splitlines()
    assert "/drop.txt" not in lines
    assert "/keep.txt" in lines


def test_removing_the_only_stage_of_a_folder_deletes_its_emptied_gitignore(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          keep:
            cmd: echo keep > keep.txt
            outs: [keep.txt]
          deep:
            cmd: echo deep > sub/deep.txt
            outs: [sub/deep.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.exists("sub/.gitignore")
    project.write(
        "pipeline.yaml",
        """
        stages:
          keep:
            cmd: echo keep > keep.txt
            outs: [keep.txt]
    """,
    )
    project.cli_ok("repro")
    assert not project.exists("sub/.gitignore")


def test_gitignore_keeps_the_users_own_lines(project):
    project.write(".gitignore", "*.tmp\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: echo data > data.txt
            outs: [data.txt]
          other:
            cmd: echo o > other.txt
            outs: [other.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read(".gitignore").splitlines() == ["*.tmp", "/data.txt", "/other.txt"]
    project.write(
        "pipeline.yaml",
        """
        stages:
          other:
            cmd: echo o > other.txt
            outs: [other.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read(".gitignore").splitlines() == ["*.tmp", "/other.txt"]


def test_out_switched_to_cache_false_leaves_gitignore(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: echo data > data.txt && echo other > other.txt
            outs: [data.txt, other.txt]
    """,
    )
    project.cli_ok("repro")
    assert "/data.txt" in project.read(".gitignore").splitlines()
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: echo data > data.txt && echo other > other.txt
            outs:
              - data.txt: {cache: false}
              - other.txt
    """,
    )
    project.cli_ok("repro")
    assert project.read(".gitignore").splitlines() == ["/other.txt"]


def test_git_status_does_not_list_cached_outs(project):
    train_project(project)
    project.cli_ok("repro")
    status = project.git("status", "--porcelain", "--untracked-files=all")
    assert "model.bin" not in status
    assert "outdir" not in status
    assert ".pipetool/cache" not in status
    assert ".pipetool/runs" not in status


def test_git_status_does_not_list_cached_out_with_glob_characters_in_its_name(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: echo data > 'model[1].bin'
            outs: ['model[1].bin']
    """,
    )
    project.cli_ok("repro")
    assert project.exists("model[1].bin")
    status = project.git("status", "--porcelain", "--untracked-files=all")
    assert "model[1].bin" not in status, status


def test_git_status_lists_uncached_metric(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          score:
            cmd: echo '{"acc":1}' > metrics.json
            metrics: [metrics.json: {cache: false}]
    """,
    )
    project.cli_ok("repro")
    assert "metrics.json" in project.git("status", "--porcelain", "--untracked-files=all")


# --- gc --------------------------------------------------------------------------------------------


def two_params(project):
    """n=1 then n=2 made; the lock names n=2's outs. Returns n=1's model hash and n=2's."""
    train_project(project, 1)
    project.cli_ok("repro")
    old = out_hash(project, "train", "model.bin")
    set_n(project, 2)
    project.cli_ok("repro")
    return old, out_hash(project, "train", "model.bin")


def test_gc_removes_objects_only_an_old_run_needed(project):
    old, new = two_params(project)
    result = project.cli_ok("gc")
    objects = cache_objects(project)
    assert old not in objects
    assert new in objects
    assert out_hash(project, "train", "outdir") in objects
    assert f"removed {old}" in result.stdout


def test_gc_keeps_every_file_of_the_current_directory_out(project):
    two_params(project)
    project.cli_ok("gc")
    objects = cache_objects(project)
    for data in dir_bytes(project, "outdir").values():
        assert xxhash.xxh3_128_hexdigest(data) in objects


def test_checkout_after_gc_restores_deleted_outs(project):
    two_params(project)
    model, outdir = read_bytes(project, "model.bin"), dir_bytes(project, "outdir")
    project.cli_ok("gc")
    import shutil

    os.remove(project.path / "model.bin")
    shutil.rmtree(project.path / "outdir")
    project.cli_ok("checkout")
    assert read_bytes(project, "model.bin") == model
    assert dir_bytes(project, "outdir") == outdir


def test_gc_shrinks_cache_status(project):
    two_params(project)
    before = cache_status_numbers(project)
    project.cli_ok("gc")
    after = cache_status_numbers(project)
    assert after["objects"] < before["objects"]
    assert after["bytes"] < before["bytes"]
    assert after["free_objects"] == 0


def test_gc_dry_lists_what_would_go_and_removes_nothing(project):
    old, _ = two_params(project)
    objects, entries = cache_objects(project), sorted(run_entries(project))
    result = project.cli_ok("gc", "--dry")
    assert f"would remove {old}" in result.stdout
    assert "Would free" in result.stdout
    assert cache_objects(project) == objects
    assert sorted(run_entries(project)) == entries


def test_gc_without_all_commits_drops_older_commits_objects(two_commits):
    project, a, _ = two_commits
    project.cli_ok("gc")
    project.git("checkout", "-q", a["rev"])
    result = project.cli_fails("checkout")
    kept = "kept model.bin: it differs from pipeline.lock and the version pipeline.lock names is not in the cache"
    assert kept in result.stdout


def test_gc_all_commits_keeps_objects_older_commits_name(two_commits):
    project, a, _ = two_commits
    objects = cache_objects(project)
    project.cli_ok("gc", "--all-commits")
    assert cache_objects(project) == objects
    project.git("checkout", "-q", a["rev"])
    project.cli_ok("checkout")
    assert read_bytes(project, "model.bin") == a["model"]
    assert dir_bytes(project, "outdir") == a["outdir"]


def test_gc_all_commits_still_removes_objects_no_commit_names(two_commits):
    project, _, _ = two_commits
    set_n(project, 3)
    project.cli_ok("repro")  # uncommitted n=3 run
    n3 = out_hash(project, "train", "model.bin")
    set_n(project, 2)
    project.cli_ok("repro")  # back to B's (committed) lock, from the run-cache
    project.cli_ok("gc", "--all-commits")
    assert n3 not in cache_objects(project)


def test_gc_removes_run_cache_entries_naming_removed_objects(project):
    two_params(project)
    assert len(run_entries(project)) == 2
    result = project.cli_ok("gc")
    assert len(run_entries(project)) == 1
    assert "1 run-cache entry" in result.stdout


def test_reverted_param_runs_again_after_gc_removed_its_outs(project):
    two_params(project)
    project.cli_ok("gc")
    before = runs(project)
    set_n(project, 1)
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["train"]
    assert runs(project) == before + 1


# --- cache status ---------------------------------------------------------------------------------


def cache_status_numbers(project) -> dict:
    import re

    text = project.cli_ok("cache", "status").stdout
    objects = re.search(r"(\d+) object\(s\), ([\d.]+) (B|KB|MB|GB); link type (\w+)", text)
    free = re.search(r"would free ([\d.]+) (B|KB|MB|GB) in (\d+) object\(s\)", text)
    assert objects and free, text
    scale = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
    return {
        "objects": int(objects.group(1)),
        "bytes": float(objects.group(2)) * scale[objects.group(3)],
        "link": objects.group(4),
        "free_bytes": float(free.group(1)) * scale[free.group(2)],
        "free_objects": int(free.group(3)),
    }


def test_cache_status_counts_objects_and_bytes(project):
    train_project(project)
    project.cli_ok("repro")
    numbers = cache_status_numbers(project)
    objects = cache_objects(project)
    assert numbers["objects"] == len(objects)
    assert numbers["bytes"] == sum(os.path.getsize(object_path(project, h)) for h in objects)
    assert numbers["link"] == "copy"


def test_cache_status_reports_what_gc_would_free(project):
    old, _ = two_params(project)
    numbers = cache_status_numbers(project)
    assert numbers["free_objects"] >= 1
    assert numbers["free_bytes"] >= os.path.getsize(object_path(project, old))
    dry = project.cli_ok("gc", "--dry").stdout
    assert dry.count("would remove") == numbers["free_objects"]


def test_cache_status_shows_configured_link_type(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "hardlink")
    assert cache_status_numbers(project)["link"] == "hardlink"


def test_cache_status_of_empty_cache(project):
    train_project(project)
    numbers = cache_status_numbers(project)
    assert numbers["objects"] == 0
    assert numbers["free_objects"] == 0


# --- config ----------------------------------------------------------------------------------------


def test_config_sets_and_prints_cache_type(project):
    train_project(project)
    assert project.cli_ok("config", "cache.type").stdout.strip() == "copy"
    project.cli_ok("config", "cache.type", "hardlink")
    assert project.cli_ok("config", "cache.type").stdout.strip() == "hardlink"


def test_config_rejects_bogus_cache_type_listing_allowed_values(project):
    train_project(project)
    result = project.cli_fails("config", "cache.type", "bogus")
    for allowed in ("copy", "reflink", "hardlink", "symlink"):
        assert allowed in result.stderr
    assert project.cli_ok("config", "cache.type").stdout.strip() == "copy"


def test_config_unknown_setting_is_a_clear_error(project):
    train_project(project)
    result = project.cli_fails("config", "nope")
    assert "unknown setting 'nope'" in result.stderr
    assert "cache.type" in result.stderr


def test_config_setting_unknown_name_is_a_clear_error(project):
    train_project(project)
    result = project.cli_fails("config", "nope", "1")
    assert "unknown setting 'nope'" in result.stderr


def test_config_unset_goes_back_to_default(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "symlink")
    project.cli_ok("config", "cache.type", "--unset")
    assert project.cli_ok("config", "cache.type").stdout.strip() == "copy"


def test_bogus_cache_type_in_config_file_is_a_clear_error_for_repro(project):
    train_project(project)
    project.write(".pipetool/config", "cache:\n  type: bogus\n")
    result = project.cli_fails("repro")
    assert ".pipetool/config" in result.stderr
    assert "hardlink" in result.stderr
    assert runs(project) == 0


def test_config_file_is_not_gitignored(project):
    train_project(project)
    project.cli_ok("config", "cache.type", "hardlink")
    assert ".pipetool/config" in project.git("status", "--porcelain", "--untracked-files=all")


# --- install: the post-checkout hook --------------------------------------------------------------


def test_install_writes_an_executable_post_checkout_hook(project):
    train_project(project)
    project.cli_ok("install")
    hook = project.path / ".git" / "hooks" / "post-checkout"
    assert hook.exists()
    assert os.access(hook, os.X_OK)
    assert "pipetool checkout" in hook.read_text()


def test_install_refuses_to_replace_someone_elses_hook(project):
    train_project(project)
    hook = project.path / ".git" / "hooks" / "post-checkout"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    project.cli_fails("install")
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def git_with_hook_path(project, *args: str) -> subprocess.CompletedProcess:
    env = {**CLI_ENV, "PATH": os.path.dirname(sys.executable) + os.pathsep + CLI_ENV.get("PATH", "")}
    return subprocess.run(["git", *args], cwd=project.path, env=env, capture_output=True, text=True)


def test_git_checkout_after_install_restores_outs(two_commits):
    project, a, b = two_commits
    project.cli_ok("install")
    before = runs(project)
    result = git_with_hook_path(project, "checkout", "-q", a["rev"])
    assert result.returncode == 0, result.stderr
    assert read_bytes(project, "model.bin") == a["model"]
    assert dir_bytes(project, "outdir") == a["outdir"]
    result = git_with_hook_path(project, "checkout", "-q", "main")
    assert result.returncode == 0, result.stderr
    assert read_bytes(project, "model.bin") == b["model"]
    assert runs(project) == before


def test_git_checkout_after_install_restores_outs_of_a_project_in_a_subfolder(tmp_path):
    from conftest import Project

    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "t@example.com"], ["config", "user.name", "T"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    project = Project(repo / "proj")
    train_project(project, 1)
    project.cli_ok("repro")
    a_model = read_bytes(project, "model.bin")
    a = commit(project, "A")
    set_n(project, 2)
    project.cli_ok("repro")
    commit(project, "B")
    project.cli_ok("install")
    result = git_with_hook_path(project, "checkout", "-q", a)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr, result.stderr
    assert read_bytes(project, "model.bin") == a_model
