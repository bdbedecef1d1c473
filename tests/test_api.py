"""`pipetool.api`: params, metrics, tracked files of any revision and experiments from Python,
in temporary git repositories built with the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pipetool import api
from pipetool.errors import PipetoolError, RemoteError, TargetError

PIPELINE = """
    stages:
      make:
        cmd: rm -rf data && cp -r src data && cp model.src model.bin && cp scores.src metrics.json
        deps: [src, model.src, scores.src]
        params: [train.lr, prep]
        outs: [data, model.bin]
        metrics: [metrics.json]
"""
PARAMS = "train:\n  lr: 0.1\n  epochs: 3\nprep:\n  split: 0.2\nseed: 7\n"


def commit(project, message: str) -> None:
    project.git("add", "-A")
    project.git("commit", "-q", "-m", message)


def two_commits(project):
    """HEAD~1: data/a.txt 'one', model.bin 'model one', acc 0.5; HEAD: 'two', 'model two', acc 0.7."""
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", PARAMS)
    project.write("extra.yaml", "seed: 8\nbatch: 32\n")
    for number, word in ((1, "one"), (2, "two")):
        project.write("src/a.txt", f"{word}\n")
        project.write("src/sub/b.txt", "same\n")
        project.write("model.src", f"model {word}\n")
        project.write("scores.src", f'{{"acc": {0.3 + 0.2 * number:.1f}, "loss": {{"train": 0.{number}}}}}\n')
        project.cli_ok("repro")
        commit(project, f"data {word}")
    return str(project.path)


def test_params_show_every_key_the_stages_files_hold_or_only_those_used(project):
    repo = two_commits(project)
    assert api.params_show(repo=repo) == {"train": {"lr": 0.1, "epochs": 3}, "prep": {"split": 0.2}, "seed": 7}
    used = {"train": {"lr": 0.1}, "prep": {"split": 0.2}}
    assert api.params_show(repo=repo, deps=True) == used
    assert api.params_show(repo=repo, stages="make") == used
    assert api.params_show(repo=repo, stages=["make"]) == used
    # a target file need not be used by a stage; a key two files share is named by its file
    both = api.params_show("params.yaml", "extra.yaml", repo=repo)
    assert both["params.yaml:seed"] == 7 and both["extra.yaml:seed"] == 8 and both["batch"] == 32
    assert "seed" not in both
    with pytest.raises(TargetError, match="no stage 'mak'.*did you mean 'make'"):
        api.params_show(repo=repo, stages="mak")


def test_params_show_of_a_revision_reads_git_not_the_workspace(project):
    repo = two_commits(project)
    project.write("params.yaml", PARAMS.replace("lr: 0.1", "lr: 0.5"))
    assert api.params_show(repo=repo, deps=True)["train"] == {"lr": 0.5}
    assert api.params_show(repo=repo, rev="HEAD", deps=True)["train"] == {"lr": 0.1}


def test_metrics_show_nested_from_the_workspace_and_a_revision_from_the_cache(project):
    repo = two_commits(project)
    assert api.metrics_show(repo=repo) == {"acc": 0.7, "loss": {"train": 0.2}}
    assert api.metrics_show(repo=repo, rev="HEAD~1") == {"acc": 0.5, "loss": {"train": 0.1}}
    assert api.metrics_show("metrics.json", repo=repo, rev="HEAD~1") == {"acc": 0.5, "loss": {"train": 0.1}}
    with pytest.raises(PipetoolError, match="missing.json"):
        api.metrics_show("missing.json", repo=repo)


def test_open_reads_a_tracked_file_of_an_older_revision_from_the_cache(project):
    repo = two_commits(project)
    with api.open("data/a.txt", repo=repo, rev="HEAD~1") as handle:  # inside a tracked folder
        assert handle.read() == "one\n"
    assert api.read("data/a.txt", repo=repo) == "two\n"  # the workspace
    assert api.read("model.bin", repo=repo, rev="HEAD~1", mode="rb") == b"model one\n"
    assert api.read("data/sub/b.txt", repo=repo, rev="HEAD~1") == "same\n"
    assert api.read("params.yaml", repo=repo, rev="HEAD~1") == PARAMS  # a file git keeps
    # the workspace is never touched
    assert project.read("data/a.txt") == "two\n" and project.read("model.bin") == "model two\n"
    assert project.git("status", "--porcelain") == ""


def test_open_of_a_path_no_revision_records_raises_a_file_not_found_error(project):
    repo = two_commits(project)
    for path, rev in (("nope.txt", "HEAD~1"), ("data/nope.txt", "HEAD"), ("nope.txt", None)):
        with pytest.raises(api.PathMissingError) as raised:
            api.read(path, repo=repo, rev=rev)
        assert isinstance(raised.value, FileNotFoundError) and isinstance(raised.value, PipetoolError)
        assert repr(path) in str(raised.value)
    with pytest.raises(FileNotFoundError, match="a tracked folder, not a file"):
        api.read("data", repo=repo, rev="HEAD")
    with pytest.raises(ValueError, match="read only"):
        api.read("data/a.txt", repo=repo, mode="w")


def test_a_damaged_cache_object_is_refused_not_handed_out(project):
    repo = two_commits(project)
    old = next(o for o in project.lock()["stages"]["make"]["outs"] if o["path"] == "model.bin")["xxh3"]
    assert api.read("model.bin", repo=repo, rev="HEAD", mode="rb") == b"model two\n"
    obj = project.path / ".pipetool" / "cache" / old[:2] / old[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"model tw0\n")  # same size, other bytes
    os.remove(project.path / "model.bin")
    with pytest.raises(PipetoolError, match=f"the cache has no \\(undamaged\\) object {old}"):
        api.read("model.bin", repo=repo, rev="HEAD")
    assert not obj.exists()  # removed, so that a fetch puts the right bytes back


def test_remote_reads_from_a_local_folder_remote_with_the_cache_emptied(project):
    repo = two_commits(project)
    storage = project.path.parent / "storage"
    project.cli_ok("remote", "add", "storage", str(storage))
    project.cli_ok("push", "-r", "storage", "--all-commits")
    shutil.rmtree(project.path / ".pipetool" / "cache")
    shutil.rmtree(project.path / "data")
    with pytest.raises(PipetoolError, match="no remote is set"):
        api.read("model.bin", repo=repo, rev="HEAD~1")
    with api.open("data/a.txt", repo=repo, rev="HEAD~1", remote="storage") as handle:
        assert handle.read() == "one\n"  # the manifest and the file, both from the remote
    assert api.read("data/a.txt", repo=repo, remote="storage") == "two\n"  # the workspace lacks it
    assert api.read("model.bin", repo=repo, rev="HEAD~1", remote="storage", mode="rb") == b"model one\n"
    assert not (project.path / ".pipetool" / "cache").exists()  # nothing fetched into the cache
    # the default remote is used when none is named
    project.cli_ok("remote", "default", "storage")
    assert api.read("model.bin", repo=repo, rev="HEAD~1") == "model one\n"
    # a remote object whose bytes do not match its hash is refused
    old = next(o for o in _lock_at(project, "HEAD~1") if o["path"] == "model.bin")["xxh3"]
    obj = storage / old[:2] / old[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"model 0ne\n")
    with pytest.raises(RemoteError, match=f"the object {old} on remote 'storage' is corrupt"):
        api.read("model.bin", repo=repo, rev="HEAD~1")


def _lock_at(project, rev: str) -> list[dict]:
    import yaml

    return yaml.safe_load(project.git("show", f"{rev}:pipeline.lock"))["stages"]["make"]["outs"]


def test_exp_show_rows_as_data(project):
    repo = two_commits(project)
    project.cli_ok("exp", "run", "-S", "train.lr=0.3", "-n", "faster")
    rows = api.exp_show(repo=repo)
    assert [(row["Experiment"], row["typ"]) for row in rows] == [(None, "baseline"), ("faster", "branch_commit")]
    baseline, experiment = rows
    assert baseline["rev"] == "main" and baseline["parent"] is None
    assert experiment["parent"] == project.git("rev-parse", "--short=7", "HEAD").strip()
    assert baseline["train.lr"] == 0.1 and experiment["train.lr"] == 0.3
    assert baseline["acc"] == experiment["acc"] == 0.7
    assert experiment["Created"].endswith("+00:00")


def test_importing_the_api_imports_no_other_pipetool_module():
    code = "import sys, pipetool.api; print(sorted(m for m in sys.modules if m.startswith('pipetool')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['pipetool', 'pipetool.api']"
