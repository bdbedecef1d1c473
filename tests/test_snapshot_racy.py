"""An experiment's commit holds the workspace as it is, even a file changed in the same tick as
git's index without a change of size: git re-reads such a file only while the index it is given
is not newer than the file, so the snapshot's copy of the index keeps the index's time."""

from __future__ import annotations

import os
import subprocess

from pipetool.experiments import snapshot
from pipetool.revisions.git import GitRepo


def git(root, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def test_a_same_size_edit_in_the_index_s_tick_goes_into_the_experiment_s_commit(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "a@example.com")
    git(root, "config", "user.name", "A")
    # Only whole seconds of mtime and the size tell git a file changed (as on file systems
    # whose times are coarse): the case the index's own time has to guard.
    git(root, "config", "core.checkStat", "minimal")
    git(root, "config", "core.trustctime", "false")
    params = root / "params.yaml"
    params.write_text("lr: 0.3\n")
    tick = (int(os.stat(params).st_mtime) - 60) * 10**9  # a second a minute ago
    os.utime(params, ns=(tick, tick))
    git(root, "add", "params.yaml")
    git(root, "commit", "-qm", "baseline")  # the index records the file's time: that second
    params.write_text("lr: 0.4\n")  # the experiment's edit: same size, and (set) the same second
    os.utime(params, ns=(tick, tick))
    os.utime(root / ".git" / "index", ns=(tick, tick))  # the index written in that second too
    repo = GitRepo(str(root))
    sha = snapshot.commit(repo, [], snapshot.head(repo), "experiment")
    assert git(root, "show", f"{sha}:params.yaml") == "lr: 0.4\n"
