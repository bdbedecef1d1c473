"""Remote storage with a local-directory remote: remote config commands, push, fetch, pull,
repro --pull and status --remote, through the real CLI in temporary git repositories and clones."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from contextlib import closing

import pytest
import xxhash
from conftest import CLI_ENV, REPO_ROOT, Project, ran_stages

from pipetool.storage.hashing import manifest_hash

PY = shlex.quote(sys.executable)

# outdir/ holds n small files with fixed contents; model.bin is random, so equal bytes in a clone
# prove they came from the remote. Every run appends a line to ../runs.log (outside the outs).
GEN = """
    import os, yaml
    n = yaml.safe_load(open("params.yaml"))["n"]
    os.makedirs("outdir", exist_ok=True)
    for i in range(n):
        with open(f"outdir/f{i}.txt", "w") as handle:
            handle.write(f"file {i}\\n")
    with open("model.bin", "wb") as handle:
        handle.write(f"n={n}\\n".encode() + os.urandom(64))
    with open("metrics.json", "w") as handle:
        handle.write(f'{{"n": {n}}}\\n')
"""

PIPELINE = f"""
    stages:
      train:
        cmd: echo train >> ../runs.log && {PY} gen.py
        deps: [gen.py]
        params: [n]
        outs: [model.bin, outdir]
        metrics:
          - metrics.json: {{cache: false}}
"""


# --- helpers -----------------------------------------------------------------------------------


def build(project: Project, n: int = 3) -> Project:
    project.write("gen.py", GEN)
    project.write("params.yaml", f"n: {n}\n")
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    return project


def commit(project: Project, message: str) -> str:
    project.git("add", "-A")
    project.git("commit", "-qm", message)
    return project.git("rev-parse", "HEAD").strip()


def runs(project: Project) -> int:
    log = project.path.parent / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def clone(project: Project, name: str = "clone") -> Project:
    dest = project.path.parent / name
    subprocess.run(["git", "clone", "-q", str(project.path), str(dest)], check=True)
    copy = Project(dest)
    copy.git("config", "user.email", "test@example.com")
    copy.git("config", "user.name", "Test")
    return copy


def with_remote(project: Project) -> Project:
    """The project built, a default local-directory remote beside it, all committed."""
    build(project)
    project.cli_ok("remote", "add", "-d", "storage", str(remote_dir(project)))
    commit(project, "pipeline with a remote")
    return project


def remote_dir(project: Project):
    return project.path.parent / "remote"


def remote_objects(project: Project) -> dict[str, object]:
    """Hash -> path of every object in the remote (upload temp files left out)."""
    root = remote_dir(project)
    return {
        p.parent.name + p.name: p
        for p in root.glob("*/*")
        if p.is_file() and len(p.parent.name) == 2 and ".tmp-" not in p.name
    }


def cache_objects(project: Project) -> dict[str, object]:
    root = project.path / ".pipetool" / "cache"
    return {p.parent.name + p.name: p for p in root.glob("*/*") if p.is_file() and ".tmp-" not in p.name}


def intact(digest: str, path) -> bool:
    """Whether an object's bytes hash to its name (a manifest: its entries do)."""
    data = path.read_bytes()
    if digest.endswith(".dir"):
        try:
            entries = [(rel, h, size) for rel, h, size in json.loads(data)]
        except ValueError:
            return False
        return manifest_hash(entries) == digest
    return xxhash.xxh3_128_hexdigest(data) == digest


def out_hash(project: Project, path: str, stage: str = "train") -> str:
    return next(o["xxh3"] for o in project.lock()["stages"][stage]["outs"] if o["path"] == path)


def dir_bytes(project: Project, relpath: str) -> dict[str, bytes]:
    base = project.path / relpath
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def overwrite(path, data: bytes) -> None:
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWUSR)
    path.write_bytes(data)


def config(project: Project, local: bool = False) -> dict:
    import yaml

    path = project.path / ".pipetool" / ("config.local" if local else "config")
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


# --- remote configuration ------------------------------------------------------------------------


def test_remote_add_default_writes_committed_config(project):
    build(project)
    project.cli_ok("remote", "add", "-d", "storage", "s3://bucket/path")
    assert config(project) == {"remote": {"storage": {"url": "s3://bucket/path"}}, "core": {"remote": "storage"}}
    assert "storage\ts3://bucket/path  (default)" in project.cli_ok("remote", "list").stdout
    assert project.cli_ok("remote", "default").stdout.strip() == "storage"
    project.git("add", "-A")
    assert ".pipetool/config" in project.git("ls-files")


def test_remote_add_existing_name_needs_force(project):
    build(project)
    project.cli_ok("remote", "add", "storage", "/srv/a")
    result = project.cli_fails("remote", "add", "storage", "/srv/b")
    assert "remote 'storage' already exists" in result.stderr
    project.cli_ok("remote", "add", "-f", "storage", "/srv/b")
    assert config(project)["remote"]["storage"]["url"] == "/srv/b"


def test_remote_add_relative_path_is_stored_relative_to_the_project_root(project):
    build(project)
    (project.path / "sub").mkdir()
    project.cli_ok("remote", "add", "storage", "../../store", cwd=project.path / "sub")
    assert config(project)["remote"]["storage"]["url"] == "../store"


def test_remote_add_rejects_an_unsupported_scheme(project):
    build(project)
    result = project.cli_fails("remote", "add", "storage", "ftp://host/path")
    assert "unsupported remote URL 'ftp://host/path'" in result.stderr
    assert not config(project)


def test_remote_modify_stores_setting_in_committed_config(project):
    build(project)
    project.cli_ok("remote", "add", "storage", "s3://bucket/path")
    project.cli_ok("remote", "modify", "storage", "endpointurl", "http://127.0.0.1:9000")
    assert config(project)["remote"]["storage"]["endpointurl"] == "http://127.0.0.1:9000"
    project.cli_ok("remote", "modify", "--unset", "storage", "endpointurl")
    assert "endpointurl" not in config(project)["remote"]["storage"]


def test_remote_modify_refuses_a_credential_in_the_committed_config(project):
    build(project)
    project.cli_ok("remote", "add", "storage", "s3://bucket/path")
    result = project.cli_fails("remote", "modify", "storage", "secret_access_key", "s3cr3t")
    assert "'secret_access_key' is a credential" in result.stderr
    assert "--local" in result.stderr
    assert "s3cr3t" not in (project.path / ".pipetool" / "config").read_text()


def test_remote_modify_local_keeps_credentials_out_of_git(project):
    build(project)
    project.cli_ok("remote", "add", "storage", "s3://bucket/path")
    project.cli_ok("remote", "modify", "--local", "storage", "secret_access_key", "s3cr3t")
    assert config(project, local=True) == {"remote": {"storage": {"secret_access_key": "s3cr3t"}}}
    assert "s3cr3t" not in (project.path / ".pipetool" / "config").read_text()
    project.git("add", "-A")
    assert ".pipetool/config.local" not in project.git("ls-files")
    listing = project.cli_ok("remote", "list").stdout
    assert "secret_access_key: ***" in listing and "s3cr3t" not in listing


def test_remote_modify_unknown_setting_names_the_known_ones(project):
    build(project)
    project.cli_ok("remote", "add", "storage", "s3://bucket/path")
    result = project.cli_fails("remote", "modify", "storage", "endpoint_url", "http://x")
    assert "unknown setting 'endpoint_url' for a s3 remote" in result.stderr
    assert "endpointurl" in result.stderr


def test_remote_remove_drops_it_from_both_files_and_the_default(project):
    build(project)
    project.cli_ok("remote", "add", "-d", "storage", "s3://bucket/path")
    project.cli_ok("remote", "modify", "--local", "storage", "access_key_id", "AKIA")
    project.cli_ok("remote", "remove", "storage")
    assert config(project) == {} and config(project, local=True) == {}
    assert "No remotes" in project.cli_ok("remote", "list").stdout


def test_remote_default_sets_prints_and_unsets_the_default(project):
    build(project)
    project.cli_ok("remote", "add", "a", "/srv/a")
    project.cli_ok("remote", "add", "b", "/srv/b")
    assert "no default remote" in project.cli_fails("remote", "default").stderr
    project.cli_ok("remote", "default", "b")
    assert project.cli_ok("remote", "default").stdout.strip() == "b"
    assert project.cli_ok("config", "core.remote").stdout.strip() == "b"
    assert "unknown remote 'c'" in project.cli_fails("remote", "default", "c").stderr
    project.cli_ok("remote", "default", "--unset")
    assert "'core.remote' is not set" in project.cli_fails("config", "core.remote").stderr


def test_settings_left_in_config_local_for_a_removed_remote_are_an_error_naming_the_file(project):
    build(project)
    project.write(".pipetool/config.local", "remote:\n  ghost:\n    password: x\n")
    result = project.cli_fails("push", "-r", "ghost")
    assert ".pipetool/config.local: remote 'ghost' has no 'url'" in result.stderr
    project.cli_ok("remote", "remove", "ghost")
    assert config(project, local=True) == {}


def test_a_credential_hand_written_into_the_committed_config_is_refused_at_use(project):
    build(project)
    project.write(".pipetool/config", "remote:\n  storage:\n    url: ../remote\n    password: hunter2\n")
    result = project.cli_fails("push", "-r", "storage")
    assert "credential 'password' is in the committed config" in result.stderr


def test_config_local_overrides_the_committed_url(project):
    build(project)
    project.cli_ok("remote", "add", "-d", "storage", "/nowhere/at/all")
    project.cli_ok("remote", "modify", "--local", "storage", "url", str(remote_dir(project)))
    project.cli_ok("push")
    assert remote_objects(project)


def test_the_config_is_parsed_once_per_text_and_a_hand_edit_is_read(project, tmp_path):
    """What the config's text parsed to is kept: a push that finds the same text imports no YAML
    parser; a hand edit is read (the text differs), and a broken one is an error each time."""
    build(project)
    project.cli_ok("remote", "add", "-d", "storage", "/nowhere/at/all")
    project.cli_ok("remote", "modify", "--local", "storage", "url", str(remote_dir(project)))
    project.cli_ok("push")
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipetool", "push"],
        cwd=project.path,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Everything is already on remote 'storage'" in run.stdout
    assert "yaml" not in {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}

    elsewhere = tmp_path / "elsewhere"
    local = project.path / ".pipetool" / "config.local"
    local.write_text(local.read_text().replace(str(remote_dir(project)), str(elsewhere)))
    project.cli_ok("push")
    assert len(list(elsewhere.glob("*/*"))) == len(remote_objects(project))

    local.write_text("remote:\n  storage: [a\n")
    for _ in range(2):
        assert ".pipetool/config.local" in project.cli_fails("push").stderr


# --- errors --------------------------------------------------------------------------------------


def test_push_without_any_remote_says_how_to_add_one(project):
    build(project)
    result = project.cli_fails("push")
    assert "no remote given and no default remote set" in result.stderr
    assert "pipetool remote add -d NAME URL" in result.stderr


def test_push_to_an_unknown_remote_suggests_the_close_name(project):
    build(project)
    project.cli_ok("remote", "add", "storage", str(remote_dir(project)))
    result = project.cli_fails("push", "-r", "storag")
    assert "unknown remote 'storag'" in result.stderr and "did you mean 'storage'" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed here")
def test_remote_without_its_backend_package_names_the_extra_to_install(project):
    build(project)
    project.cli_ok("remote", "add", "-d", "gcs", "gs://bucket/path")
    result = project.cli_fails("push")
    assert "needs the gcsfs package" in result.stderr
    assert "pip install 'pipetool[gs]'" in result.stderr


def test_push_to_an_http_remote_is_refused_as_read_only(project):
    build(project)
    project.cli_ok("remote", "add", "-d", "web", "https://example.invalid/cache")
    result = project.cli_fails("push")
    assert "is read-only" in result.stderr


def test_jobs_must_be_a_positive_number(project):
    build(project)
    result = project.cli_fails("push", "-j", "0", code=2)
    assert "expected a whole number of at least 1" in result.stderr


# --- push and pull -------------------------------------------------------------------------------


def test_pull_into_a_fresh_clone_brings_the_locked_bytes_and_runs_nothing(project):
    with_remote(project)
    project.cli_ok("push")
    other = clone(project)
    assert not other.exists("model.bin")
    before = runs(project)
    result = other.cli_ok("pull")
    assert "restored model.bin" in result.stdout and "restored outdir" in result.stdout
    assert (other.path / "model.bin").read_bytes() == (project.path / "model.bin").read_bytes()
    assert dir_bytes(other, "outdir") == dir_bytes(project, "outdir")
    assert other.cli_ok("status").stdout.strip() == "Data and pipelines are up to date."
    assert ran_stages(other.cli_ok("repro").stdout) == []
    assert runs(project) == before


def test_push_uploads_every_object_the_lock_names_and_each_verifies(project):
    with_remote(project)
    result = project.cli_ok("push")
    objects = remote_objects(project)
    # model.bin, outdir's manifest and its 3 files; metrics.json is cache: false (in git)
    assert len(objects) == 5
    assert "Pushed 5 object(s)" in result.stdout
    assert out_hash(project, "model.bin") in objects and out_hash(project, "outdir") in objects
    assert all(intact(digest, path) for digest, path in objects.items())


def test_second_push_transfers_nothing(project):
    with_remote(project)
    project.cli_ok("push")
    before = {d: p.stat().st_mtime_ns for d, p in remote_objects(project).items()}
    result = project.cli_ok("push")
    assert "Everything is already on remote 'storage' (5 object(s))." in result.stdout
    assert {d: p.stat().st_mtime_ns for d, p in remote_objects(project).items()} == before


def test_push_after_a_change_uploads_only_the_new_objects(project):
    with_remote(project)
    project.cli_ok("push")
    project.write("params.yaml", "n: 5\n")
    project.cli_ok("repro")
    result = project.cli_ok("push")
    # two new files in outdir, its new manifest, the new model.bin; the 3 old files stay
    assert "Pushed 4 object(s)" in result.stdout
    assert "5 already on the remote" not in result.stdout and "3 already on the remote" in result.stdout
    assert len(remote_objects(project)) == 9


def test_fetch_fills_the_cache_and_leaves_the_workspace_alone(project):
    with_remote(project)
    project.cli_ok("push")
    other = clone(project)
    result = other.cli_ok("fetch")
    assert "Fetched 5 object(s)" in result.stdout
    assert not other.exists("model.bin") and not other.exists("outdir")
    assert set(cache_objects(other)) == set(remote_objects(project))
    other.cli_ok("checkout")
    assert dir_bytes(other, "outdir") == dir_bytes(project, "outdir")


def test_pull_of_one_target_fetches_only_its_outs(project):
    with_remote(project)
    project.write("other.py", "open('other.txt', 'w').write('other\\n')\n")
    project.write(
        "pipeline.yaml",
        project.read("pipeline.yaml")
        + f"""
      other:
        cmd: {PY} other.py
        deps: [other.py]
        outs: [other.txt]
    """.replace("\n    ", "\n"),
    )
    project.cli_ok("repro")
    commit(project, "a second stage")
    project.cli_ok("push")
    other = clone(project)
    other.cli_ok("pull", "other")
    assert other.read("other.txt") == "other\n"
    assert not other.exists("model.bin")
    assert set(cache_objects(other)) == {out_hash(project, "other.txt", "other")}


def test_pull_when_the_remote_lacks_an_object_names_it_and_exits_1(project):
    with_remote(project)
    project.cli_ok("push")
    remote_objects(project)[out_hash(project, "model.bin")].unlink()
    other = clone(project)
    result = other.cli_fails("pull")
    assert "not on remote 'storage': model.bin" in result.stderr
    assert "missing model.bin" in result.stdout
    assert dir_bytes(other, "outdir") == dir_bytes(project, "outdir")  # the rest still came


def test_push_names_an_out_neither_side_has_as_a_warning(project):
    with_remote(project)
    os.remove(cache_objects(project)[out_hash(project, "model.bin")])
    result = project.cli_ok("push")
    assert "warning: not pushed: neither the local cache nor the remote has it: model.bin" in result.stderr


def test_a_corrupted_remote_object_is_rejected_on_pull(project):
    with_remote(project)
    project.cli_ok("push")
    digest = out_hash(project, "model.bin")
    overwrite(remote_objects(project)[digest], b"not the bytes you are looking for\n")
    other = clone(project)
    result = other.cli_fails("pull")
    assert "corrupt, refused (its bytes do not match its hash): model.bin" in result.stderr
    assert digest not in cache_objects(other)
    assert not other.exists("model.bin")
    assert not [p for p in (other.path / ".pipetool" / "cache").rglob("*") if ".tmp-" in p.name]


def test_a_corrupted_file_inside_a_remote_directory_is_rejected_on_pull(project):
    with_remote(project)
    project.cli_ok("push")
    digest = xxhash.xxh3_128_hexdigest(b"file 1\n")
    overwrite(remote_objects(project)[digest], b"file 1 with a twist\n")
    other = clone(project)
    result = other.cli_fails("pull")
    assert "corrupt, refused (its bytes do not match its hash): outdir/f1.txt" in result.stderr
    assert digest not in cache_objects(other)
    assert not other.exists("outdir")


def test_push_refuses_a_corrupt_local_object(project):
    with_remote(project)
    digest = out_hash(project, "model.bin")
    overwrite(cache_objects(project)[digest], b"damaged\n")
    result = project.cli_fails("push")
    assert "corrupt, refused (its bytes do not match its hash): model.bin" in result.stderr
    assert digest not in remote_objects(project)
    assert len(remote_objects(project)) == 4  # the rest went


# --- history and the run-cache --------------------------------------------------------------------


def test_push_all_commits_lets_a_clone_pull_an_older_commit(project):
    with_remote(project)
    old = project.git("rev-parse", "HEAD").strip()
    old_model = (project.path / "model.bin").read_bytes()
    project.write("params.yaml", "n: 4\n")
    project.cli_ok("repro")
    commit(project, "n=4")
    project.cli_ok("push")
    assert out_hash(project, "model.bin") in remote_objects(project)
    assert xxhash.xxh3_128_hexdigest(old_model) not in remote_objects(project)
    project.cli_ok("push", "--all-commits")
    assert xxhash.xxh3_128_hexdigest(old_model) in remote_objects(project)
    other = clone(project)
    other.git("checkout", "-q", old)
    other.cli_ok("pull")
    assert (other.path / "model.bin").read_bytes() == old_model


def test_push_all_branches_includes_another_branchs_outs(project):
    with_remote(project)
    project.git("checkout", "-q", "-b", "experiment")
    project.write("params.yaml", "n: 6\n")
    project.cli_ok("repro")
    commit(project, "n=6 on a branch")
    experiment_model = out_hash(project, "model.bin")
    project.git("checkout", "-q", "main")
    project.cli_ok("checkout")
    project.cli_ok("push")
    assert experiment_model not in remote_objects(project)
    project.cli_ok("push", "--all-branches")
    assert experiment_model in remote_objects(project)
    other = clone(project)
    other.git("checkout", "-q", "experiment")
    other.cli_ok("pull")
    assert other.cli_ok("status").stdout.strip() == "Data and pipelines are up to date."


def test_run_cache_travels_with_push_and_fetch(project):
    with_remote(project)
    project.write("params.yaml", "n: 4\n")
    project.cli_ok("repro")
    commit(project, "n=4")
    result = project.cli_ok("push", "--run-cache")
    assert "2 run-cache entries" in result.stdout
    other = clone(project)
    other.cli_ok("fetch", "--run-cache")
    other.write("params.yaml", "n: 3\n")  # back to the first run's value
    before = runs(project)
    result = other.cli_ok("repro")
    assert "Stage 'train' restored from run-cache" in result.stdout
    assert runs(project) == before


def test_a_damaged_run_cache_entry_on_the_remote_is_refused_and_the_rest_come(project):
    with_remote(project)
    project.write("params.yaml", "n: 4\n")
    project.cli_ok("repro")
    commit(project, "n=4")
    project.cli_ok("push", "--run-cache")
    entries = sorted((remote_dir(project) / "runs").glob("*/*"))
    assert len(entries) == 2
    entries[0].write_text('{"outs": "not a list"}')
    other = clone(project)
    result = other.cli_fails("fetch", "--run-cache")
    assert "corrupt, refused" in result.stderr and entries[0].parent.name + entries[0].name in result.stderr
    with closing(sqlite3.connect(other.path / ".pipetool" / "runs" / "runs.db")) as db:
        assert [key for (key,) in db.execute("SELECT key FROM runs")] == [entries[1].parent.name + entries[1].name]


# --- repro --pull and status --remote ---------------------------------------------------------------

TWO_STAGES = f"""
    stages:
      prepare:
        cmd: echo prepare >> ../runs.log && {PY} gen.py
        deps: [gen.py]
        params: [n]
        outs: [model.bin, outdir]
      report:
        cmd: echo report >> ../runs.log && {PY} report.py
        deps: [report.py, model.bin]
        params: [label]
        outs: [report.txt]
"""
REPORT = """
    import yaml
    label = yaml.safe_load(open("params.yaml"))["label"]
    with open("report.txt", "w") as handle:
        handle.write(label + open("model.bin", "rb").read()[:4].decode())
"""


def test_repro_pull_in_a_fresh_clone_reruns_only_what_changed(project):
    project.write("gen.py", GEN)
    project.write("report.py", REPORT)
    project.write("params.yaml", "n: 3\nlabel: a\n")
    project.write("pipeline.yaml", TWO_STAGES)
    project.cli_ok("repro")
    project.cli_ok("remote", "add", "-d", "storage", str(remote_dir(project)))
    commit(project, "two stages")
    project.cli_ok("push")
    other = clone(project)
    other.write("params.yaml", "n: 3\nlabel: b\n")
    result = other.cli_ok("repro", "--pull")
    assert "Pulled 6 object(s)" in result.stdout
    assert ran_stages(result.stdout) == ["report"]
    assert other.read("report.txt") == "bn=3\n"


def test_repro_pull_keeps_an_edited_out_stale(project):
    with_remote(project)
    project.cli_ok("push")
    other = clone(project)
    other.write("model.bin", "edited by hand\n")
    result = other.cli_ok("repro", "--pull")
    assert ran_stages(result.stdout) == ["train"]  # outdir came from the remote, model.bin was edited
    assert "restored 1 out(s)" in result.stdout


def test_repro_pull_without_the_data_on_the_remote_runs_the_stage(project):
    with_remote(project)
    other = clone(project)  # nothing was pushed
    result = other.cli_ok("repro", "--pull")
    assert "not on remote 'storage': model.bin" in result.stdout
    assert ran_stages(result.stdout) == ["train"]


def test_status_remote_says_where_each_out_is(project):
    with_remote(project)
    lines = project.cli_ok("status", "--remote").stdout
    assert "local only:" in lines and "model.bin (run 'pipetool push')" in lines
    assert project.cli("status", "--remote", "--exit-code").returncode == 1
    project.cli_ok("push")
    assert "local and remote:  model.bin" in project.cli_ok("status", "--remote", "--exit-code").stdout
    other = clone(project)
    data = json.loads(other.cli_ok("status", "--remote", "--json").stdout)
    assert data == {"remote": "storage", "stages": {"train": {"model.bin": "remote only", "outdir": "remote only"}}}
    remote_objects(project)[out_hash(project, "model.bin")].unlink()
    assert "missing:" in other.cli_ok("status", "--remote").stdout


# --- interruptions -------------------------------------------------------------------------------

MANY = 1500  # enough small objects that a transfer with -j 1 is still running when it is killed


def kill_when(process: subprocess.Popen, ready, signum: int = signal.SIGKILL) -> int:
    """Send the process signum (SIGKILL) as soon as ready() holds (polled); fail if it finished
    first. Its exit code."""
    deadline = time.monotonic() + 60
    while not ready():
        assert process.poll() is None, "the transfer finished before it could be interrupted"
        assert time.monotonic() < deadline, "the transfer never started"
        time.sleep(0.002)
    process.send_signal(signum)
    return process.wait(timeout=60)


def start(project: Project, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipetool", *args],
        cwd=project.path,
        env=CLI_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def many(project):
    build(project, MANY)
    project.cli_ok("remote", "add", "-d", "storage", str(remote_dir(project)))
    commit(project, "many files")
    return project


def test_killed_push_leaves_only_whole_objects_and_the_next_push_completes(many):
    push = start(many, "push", "-j", "1")
    assert kill_when(push, lambda: len(remote_objects(many)) >= 1) == -signal.SIGKILL
    objects = remote_objects(many)
    assert 1 <= len(objects) < MANY + 2
    assert out_hash(many, "outdir") not in objects  # the manifest goes last
    assert all(intact(digest, path) for digest, path in objects.items())
    result = many.cli_ok("push")
    assert f"{len(objects)} already on the remote" in result.stdout
    objects = remote_objects(many)
    assert len(objects) == MANY + 2
    assert all(intact(digest, path) for digest, path in objects.items())
    other = clone(many)
    other.cli_ok("pull")
    assert other.cli_ok("status").stdout.strip() == "Data and pipelines are up to date."


def test_killed_pull_leaves_only_verified_objects_and_the_next_pull_completes(many):
    many.cli_ok("push")
    other = clone(many)
    pull = start(other, "pull", "-j", "1")
    assert kill_when(pull, lambda: len(cache_objects(other)) >= 2) == -signal.SIGKILL
    objects = cache_objects(other)
    assert len(objects) < MANY + 2
    assert all(intact(digest, path) for digest, path in objects.items())
    other.cli_ok("pull")
    assert len(cache_objects(other)) == MANY + 2
    assert dir_bytes(other, "outdir") == dir_bytes(many, "outdir")
    assert other.cli_ok("status").stdout.strip() == "Data and pipelines are up to date."


def test_interrupted_push_stops_cleanly_and_leaves_no_temp_file(many):
    push = start(many, "push", "-j", "2")
    assert kill_when(push, lambda: len(remote_objects(many)) >= 1, signal.SIGINT) == 130
    objects = remote_objects(many)
    assert len(objects) < MANY + 2
    assert all(intact(digest, path) for digest, path in objects.items())
    assert not [p for p in remote_dir(many).rglob("*") if ".tmp-" in p.name]
    many.cli_ok("push")
    assert len(remote_objects(many)) == MANY + 2


def test_interrupted_fetch_stops_its_processes_cleanly_and_leaves_no_temp_file(many):
    many.cli_ok("push")
    other = clone(many)
    fetch = start(other, "fetch", "-j", "2")
    assert kill_when(fetch, lambda: len(cache_objects(other)) >= 2, signal.SIGINT) == 130
    objects = cache_objects(other)
    assert len(objects) < MANY + 2
    assert all(intact(digest, path) for digest, path in objects.items())
    cache = other.path / ".pipetool" / "cache"
    assert not [p for p in cache.rglob("*") if ".tmp-" in p.name]
    other.cli_ok("fetch")
    assert len(cache_objects(other)) == MANY + 2


# --- a read-only http remote ------------------------------------------------------------------------


@pytest.fixture
def web_server(tmp_path):
    """A plain HTTP server on loopback serving tmp_path/remote; stopped after the test."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    (tmp_path / "remote").mkdir(exist_ok=True)
    handler = functools.partial(Quiet, directory=str(tmp_path / "remote"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(importlib.util.find_spec("aiohttp") is None, reason="the http extra is not installed")
def test_pull_from_an_http_remote_serving_a_pushed_directory(project, web_server):
    with_remote(project)
    project.cli_ok("push")
    other = clone(project)
    other.cli_ok("remote", "add", "--local", "web", web_server)
    result = other.cli_ok("pull", "-r", "web")
    assert "Fetched 5 object(s)" in result.stdout
    assert dir_bytes(other, "outdir") == dir_bytes(project, "outdir")
    data = json.loads(other.cli_ok("status", "--remote", "-r", "web", "--json").stdout)
    assert data["stages"]["train"] == {"model.bin": "local and remote", "outdir": "local and remote"}
    assert "is read-only" in other.cli_fails("push", "-r", "web").stderr


# --- progress ------------------------------------------------------------------------------------


def test_progress_bar_only_on_a_terminal(project):
    with_remote(project)
    plain = project.cli_ok("push")
    assert plain.stderr == ""
    other = clone(project)
    leader, follower = os.openpty()
    drawn = bytearray()

    def read_terminal() -> None:  # read while it runs: Linux drops unread pty data at hangup
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "pipetool", "pull"],
            cwd=other.path,
            env=CLI_ENV,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=60,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    assert process.returncode == 0
    assert b"fetch" in drawn and b"objects" in drawn


# --- the CI recipe ---------------------------------------------------------------------------------


def test_ci_recipe_pulls_the_data_before_its_gates_with_credentials_from_secrets():
    import yaml

    workflow = yaml.safe_load((REPO_ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["reproduce"]["steps"]
    commands = [step.get("run", "") for step in steps]
    pull = next(i for i, run in enumerate(commands) if run.startswith("pipetool pull"))
    gate = next(i for i, run in enumerate(commands) if "pipetool status --exit-code" in run)
    assert pull < gate
    assert all("secrets." in value for value in steps[pull]["env"].values())
