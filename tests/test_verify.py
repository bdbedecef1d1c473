"""`pipetool verify` (rerun HEAD apart, compare with its lock) and the CI gates
`status --exit-code` and `repro --dry --exit-code`, through the real CLI in temp repos."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys

import yaml
from conftest import ran_stages

PY = shlex.quote(sys.executable)
BIN_PATH = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

# prepare -> train -> evaluate (a metrics file, in git), and other on its own
PIPELINE = f"""
    stages:
      prepare:
        cmd: tr a-z A-Z < src.txt > prepared.txt
        deps: [src.txt]
        outs: [prepared.txt]
      train:
        cmd: {PY} train.py
        deps: [train.py, prepared.txt]
        params: [train.lr]
        outs: [model.txt]
      evaluate:
        cmd: {PY} evaluate.py
        deps: [evaluate.py, model.txt]
        metrics: [metrics.json: {{cache: false}}]
      other:
        cmd: echo other > other.txt
        outs: [other.txt]
"""

TRAIN = """
    import yaml
    lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
    open("model.txt", "w").write(open("prepared.txt").read() + f"lr={lr}\\n")
"""

EVALUATE = """
    import json
    json.dump({"acc": 0.5, "loss": 0.25}, open("metrics.json", "w"))
"""

# acc gets a tiny random noise (~1e-9) on every run; loss stays put
NOISY_EVALUATE = """
    import json, random
    json.dump({"acc": 0.5 + random.random() * 1e-9, "loss": 0.25}, open("metrics.json", "w"))
"""


def committed(project, pipeline: str = PIPELINE, evaluate: str = EVALUATE):
    """The pipeline, run once and committed with its lock: HEAD is up to date."""
    project.write("src.txt", "hello\n")
    project.write("params.yaml", "train:\n  lr: 0.1\n")
    project.write("train.py", TRAIN)
    project.write("evaluate.py", evaluate)
    project.write("pipeline.yaml", pipeline)
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "pipeline")
    return project


def verdicts(result) -> dict[str, dict]:
    """`verify --json` output as {stage: verdict}."""
    return {v["stage"]: v for v in json.loads(result.stdout)}


def statuses(result) -> dict[str, str]:
    return {name: v["status"] for name, v in verdicts(result).items()}


def snapshot(root) -> dict[str, tuple[bytes, int]]:
    """Every file of the project outside .git: its bytes and mtime."""
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == str(root) and d == ".git")]
        for name in names:
            path = os.path.join(folder, name)
            files[os.path.relpath(path, root)] = (open(path, "rb").read(), os.stat(path).st_mtime_ns)
    return files


def worktrees(project) -> list[str]:
    return [
        line for line in project.git("worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")
    ]


@contextlib.contextmanager
def removing_leaked_worktrees(project):
    """Yields a list that, afterwards, names the worktrees left registered besides the main one;
    they are removed (with their temporary folders) so a failing run does not litter /tmp."""
    leaked: list[str] = []
    try:
        yield leaked
    finally:
        for line in worktrees(project)[1:]:  # git lists the main worktree first
            path = line[len("worktree ") :]
            leaked.append(path)
            project.git("worktree", "remove", "--force", path)
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


# --- the CI gates: status --exit-code, repro --dry --exit-code --------------------------------


def test_status_exit_code_is_0_for_an_up_to_date_repo(project):
    committed(project)
    result = project.cli_ok("status", "--exit-code")
    assert result.stdout == "Data and pipelines are up to date.\n"


def test_repro_dry_exit_code_is_0_when_nothing_would_run(project):
    committed(project)
    result = project.cli_ok("repro", "--dry", "--exit-code")
    assert ran_stages(result.stdout) == []


def test_status_exit_code_is_1_after_a_param_change_not_rerun(project):
    committed(project)
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    result = project.cli_fails("status", "--exit-code")
    assert "train:" in result.stdout
    assert "changed params: train.lr 0.1 -> 0.2" in result.stdout


def test_status_without_exit_code_is_0_even_when_stale(project):
    committed(project)
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    project.cli_ok("status")


def test_repro_dry_exit_code_is_1_when_a_stage_would_run(project):
    committed(project)
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    lock_before = project.read("pipeline.lock")
    result = project.cli_fails("repro", "--dry", "--exit-code")
    assert "train" in result.stdout
    assert project.read("pipeline.lock") == lock_before  # dry: nothing ran


def test_repro_dry_alone_exits_0_when_a_stage_would_run(project):
    committed(project)
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    result = project.cli_ok("repro", "--dry")
    assert "train" in result.stdout


# --- verify: the verdicts --------------------------------------------------------------------


def test_verify_up_to_date_repo_every_stage_reproducible(project):
    committed(project)
    result = project.cli_ok("verify")
    for stage in ("prepare", "train", "evaluate", "other"):
        assert f"  {stage}: identical\n" in result.stdout
    assert "4 of 4 stage(s) reproduce." in result.stdout


def test_verify_json_up_to_date_repo(project):
    committed(project)
    result = project.cli_ok("verify", "--json")
    assert statuses(result) == {
        "prepare": "identical",
        "train": "identical",
        "evaluate": "identical",
        "other": "identical",
    }
    assert all(v["differences"] == [] for v in verdicts(result).values())


def test_verify_non_deterministic_stage_fails_naming_stage_and_out(project):
    committed(project, PIPELINE.replace("echo other > other.txt", "date +%s%N > other.txt"))
    result = project.cli_fails("verify")
    assert "  other: differs\n" in result.stdout
    assert "out 'other.txt'" in result.stdout
    assert "Not reproducible: other" in result.stdout
    assert "  prepare: identical\n" in result.stdout


def test_verify_json_non_deterministic_stage_structured_verdict(project):
    committed(project, PIPELINE.replace("echo other > other.txt", "date +%s%N > other.txt"))
    locked = {o["path"]: o["xxh3"] for o in project.lock()["stages"]["other"]["outs"]}
    result = project.cli_fails("verify", "--json")
    assert statuses(result) == {
        "prepare": "identical",
        "train": "identical",
        "evaluate": "identical",
        "other": "differs",
    }
    [difference] = verdicts(result)["other"]["differences"]
    assert difference["path"] == "other.txt"
    assert difference["locked"] == locked["other.txt"]
    assert difference["produced"] not in (None, locked["other.txt"])


def test_verify_noisy_metrics_fail_without_tolerance(project):
    committed(project, evaluate=NOISY_EVALUATE)
    result = project.cli_fails("verify")
    assert "  evaluate: differs\n" in result.stdout
    assert "out 'metrics.json'" in result.stdout


def test_verify_noisy_metrics_report_shows_the_changed_value_only(project):
    committed(project, evaluate=NOISY_EVALUATE)
    locked_acc = json.loads(project.read("metrics.json"))["acc"]
    result = project.cli_fails("verify")
    [line] = [line for line in result.stdout.splitlines() if line.strip().startswith("acc:")]
    assert line.strip().startswith(f"acc: {locked_acc} -> ")
    assert "loss:" not in result.stdout  # unchanged values are not listed


def test_verify_json_noisy_metrics_lists_changed_values(project):
    committed(project, evaluate=NOISY_EVALUATE)
    locked_acc = json.loads(project.read("metrics.json"))["acc"]
    result = project.cli_fails("verify", "--json")
    [difference] = verdicts(result)["evaluate"]["differences"]
    assert difference["path"] == "metrics.json"
    assert set(difference["metrics"]) == {"acc"}
    old, new = difference["metrics"]["acc"]
    assert old == locked_acc
    assert new != old and abs(new - old) < 1e-8
    assert difference["within_tolerance"] is False


def test_verify_noisy_metrics_pass_within_tolerance(project):
    committed(project, evaluate=NOISY_EVALUATE)
    result = project.cli_ok("verify", "--metrics-tolerance", "1e-6")
    assert "  evaluate: equivalent\n" in result.stdout
    assert "acc: " in result.stdout  # still shows what moved
    assert "4 of 4 stage(s) reproduce." in result.stdout


def test_verify_json_noisy_metrics_within_tolerance(project):
    committed(project, evaluate=NOISY_EVALUATE)
    result = project.cli_ok("verify", "--metrics-tolerance", "1e-6", "--json")
    assert statuses(result)["evaluate"] == "equivalent"
    [difference] = verdicts(result)["evaluate"]["differences"]
    assert difference["within_tolerance"] is True
    assert set(difference["metrics"]) == {"acc"}


def test_verify_metrics_beyond_tolerance_still_differ(project):
    committed(project, evaluate=NOISY_EVALUATE)
    result = project.cli_fails("verify", "--metrics-tolerance", "1e-15", "--json")
    assert statuses(result)["evaluate"] == "differs"


def test_verify_tolerance_applies_only_to_declared_metrics_files(project):
    # score.txt is a plain out (kept in git) holding a noisy number, not a metrics file:
    # --metrics-tolerance must not excuse it
    project.write("noise.py", "import random\nopen('score.txt', 'w').write(str(0.5 + random.random() * 1e-9))\n")
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          score:
            cmd: {PY} noise.py
            deps: [noise.py]
            outs:
              - score.txt: {{cache: false}}
    """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "score")
    result = project.cli_fails("verify", "--metrics-tolerance", "1e-6", "--json")
    assert statuses(result) == {"score": "differs"}


def test_verify_failing_stage_reported_as_failed(project):
    # succeeds when committed; fails in verify's rerun (the variable reaches the stage's shell)
    committed(
        project, PIPELINE.replace("echo other > other.txt", 'test -z "$VERIFY_TEST_FAIL" && echo other > other.txt')
    )
    result = project.cli_fails("verify", env={"VERIFY_TEST_FAIL": "1"})
    assert "  other: failed\n" in result.stdout
    assert "Not reproducible: other" in result.stdout


def test_verify_json_failing_stage(project):
    committed(
        project, PIPELINE.replace("echo other > other.txt", 'test -z "$VERIFY_TEST_FAIL" && echo other > other.txt')
    )
    result = project.cli_fails("verify", "--json", env={"VERIFY_TEST_FAIL": "1"})
    assert statuses(result) == {
        "prepare": "identical",
        "train": "identical",
        "evaluate": "identical",
        "other": "failed",
    }


def test_verify_stage_downstream_of_a_failure_is_not_reported_reproducible(project):
    committed(project, PIPELINE.replace("tr a-z A-Z < src.txt", 'test -z "$VERIFY_TEST_FAIL" && tr a-z A-Z < src.txt'))
    result = project.cli_fails("verify", "--json", env={"VERIFY_TEST_FAIL": "1"})
    found = statuses(result)
    assert found["prepare"] == "failed"
    assert found["other"] == "identical"
    assert found["train"] not in ("identical", "equivalent")
    assert found["evaluate"] not in ("identical", "equivalent")


def test_verify_a_committed_lock_entry_dropped_in_merge_is_not_reproducible(project):
    # a merge commit whose lock still has a placeholder: it records no outs, so nothing reproduces it
    committed(project)
    lock = project.lock()
    lock["stages"]["train"] = {"dropped_in_merge": True}
    project.write("pipeline.lock", yaml.safe_dump(lock, sort_keys=False))
    project.git("commit", "-q", "-am", "merge left train dropped")
    result = project.cli_fails("verify", "--json")
    assert statuses(result)["train"] not in ("identical", "equivalent")


# --- verify: targets and jobs ----------------------------------------------------------------


def test_verify_target_verifies_only_it_and_its_upstream(project):
    committed(project)
    result = project.cli_ok("verify", "train", "--json")
    assert list(statuses(result)) == ["prepare", "train"]
    assert ran_stages(project.cli_ok("verify", "train").stdout) == ["prepare", "train"]


def test_verify_target_excludes_differences_elsewhere(project):
    # other is non-deterministic but not upstream of train: verifying train passes
    committed(project, PIPELINE.replace("echo other > other.txt", "date +%s%N > other.txt"))
    result = project.cli_ok("verify", "train", "--json")
    assert statuses(result) == {"prepare": "identical", "train": "identical"}


def test_verify_with_jobs(project):
    committed(project)
    result = project.cli_ok("verify", "-j", "2", "--json")
    assert set(statuses(result).values()) == {"identical"}
    assert len(statuses(result)) == 4


# --- verify leaves the user's project alone --------------------------------------------------


def test_verify_does_not_touch_workspace_lock_cache_or_git_status(project):
    # other is non-deterministic, so a rerun that leaked into the project would show
    committed(project, PIPELINE.replace("echo other > other.txt", "date +%s%N > other.txt"))
    files = snapshot(project.path)
    lock = (project.path / "pipeline.lock").read_bytes()
    cache = sorted(p.relative_to(project.path).as_posix() for p in (project.path / ".pipetool" / "cache").rglob("*"))
    porcelain = project.git("status", "--porcelain")
    project.cli_fails("verify")
    assert (project.path / "pipeline.lock").read_bytes() == lock
    assert (
        sorted(p.relative_to(project.path).as_posix() for p in (project.path / ".pipetool" / "cache").rglob("*"))
        == cache
    )
    assert project.git("status", "--porcelain") == porcelain
    assert snapshot(project.path) == files


def test_verify_leaves_no_worktree_behind(project):
    committed(project)
    project.cli_ok("verify")
    assert worktrees(project) == [f"worktree {os.path.realpath(project.path)}"]
    assert not (project.path / ".git" / "worktrees").exists() or not os.listdir(project.path / ".git" / "worktrees")


def test_verify_leaves_no_worktree_behind_when_a_stage_fails(project):
    committed(
        project, PIPELINE.replace("echo other > other.txt", 'test -z "$VERIFY_TEST_FAIL" && echo other > other.txt')
    )
    project.cli_fails("verify", env={"VERIFY_TEST_FAIL": "1"})
    assert worktrees(project) == [f"worktree {os.path.realpath(project.path)}"]


def test_verify_works_with_pipetool_git_hooks_installed(project):
    # `pipetool install`'s post-checkout hook must not break the temporary worktree
    env = {"PATH": BIN_PATH}
    committed(project)
    project.cli_ok("install", env=env)
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "hooks")
    with removing_leaked_worktrees(project):
        result = project.cli("verify", "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(statuses(result).values()) == {"identical"}


def test_verify_with_git_hooks_installed_leaves_no_worktree_behind(project):
    env = {"PATH": BIN_PATH}
    committed(project)
    project.cli_ok("install", env=env)
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "hooks")
    with removing_leaked_worktrees(project) as leaked:
        result = project.cli("verify", env=env)
    assert leaked == [], result.stderr
    assert "Traceback" not in result.stderr


def test_verify_without_any_commit_fails_cleanly(project):
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n")
    result = project.cli_fails("verify")
    assert "HEAD" in result.stderr
    assert not project.exists("a.txt")


def test_verify_uses_head_not_uncommitted_changes(project):
    committed(project)
    # an uncommitted, non-deterministic cmd in the workspace is not what verify reruns
    project.write("pipeline.yaml", PIPELINE.replace("echo other > other.txt", "date +%s%N > other.txt"))
    result = project.cli_ok("verify", "--json")
    assert set(statuses(result).values()) == {"identical"}
    # and the workspace's uncommitted edit survives
    assert "date +%s%N" in project.read("pipeline.yaml")
    assert subprocess.run(["git", "diff", "--quiet"], cwd=project.path).returncode == 1
