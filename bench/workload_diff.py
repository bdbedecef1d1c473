"""The `diff` workload: `pipetool diff` (and `dvc diff`) of a tracked folder of 20,000 small files.

A stage copies a source folder into its out `images/`; the repo is reproduced and committed. Then,
with the hash state warm (the files older than the racy second and hashed once): the diff of an
unchanged workspace; the diff after editing the out in place (10 files modified, 5 deleted, 5 added,
5 renamed); and, once that change is made through the stage and committed, `diff HEAD~1 HEAD`.
Each answer is checked against the change made.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import harness
from harness import Tool, make_repo, measure
from workloads import FAST_RUNS, Workload

# What each edit does to the folder: the files summary both tools print must say so.
EXPECTED = {"added": 5, "deleted": 5, "renamed": 5, "modified": 10}


class DataDiff(Workload):
    name = "diff"
    CMD = "rm -rf images && cp -r source images"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.files = 2000 if ctx.quick else 20000
        self.source = ctx.scratch / "diff-source"
        self.label = f"{self.files} files"

    def prepare(self) -> None:
        self.ctx.log(f"diff: writing {self.label}")
        self.source.mkdir(parents=True)
        for index in range(self.files):
            (self.source / f"{index:05d}.txt").write_text(f"file {index}\n" * 8, encoding="ascii")

    @staticmethod
    def edit(folder: Path) -> None:
        """10 modified, 5 deleted, 5 added, 5 renamed (same bytes, new name)."""
        for index in range(10):
            (folder / f"{index:05d}.txt").write_text(f"edited {index}\n", encoding="ascii")
        for index in range(10, 15):
            (folder / f"{index:05d}.txt").unlink()
        for index in range(5):
            (folder / f"new-{index}.txt").write_text(f"new {index}\n", encoding="ascii")
        for index in range(15, 20):
            os.rename(folder / f"{index:05d}.txt", folder / f"moved-{index:05d}.txt")

    def build(self, tool: Tool, repo: Path) -> Path:
        def populate(root: Path) -> None:
            shutil.copytree(self.source, root / "source")

        stage = {"cmd": self.CMD, "deps": ["source"], "outs": ["images"]}
        return make_repo(repo, tool, {"stages": {"copy": stage}}, populate=populate)

    def run(self, tool: Tool) -> None:
        repo = self.repo(tool)
        env = tool.environ()
        self.build(tool, repo)
        harness.run_checked(tool.argv("repro"), repo, env)
        harness.git_commit(repo, "images", env)
        self.age(repo / "images")
        unchanged = measure(tool.argv("diff"), repo, env, FAST_RUNS, warmup=True)
        self.record(f"diff of {self.label}, workspace unchanged", tool, unchanged)
        self.check(tool, "unchanged diff", unchanged.outputs, {})
        self.edit(repo / "images")
        self.age(repo / "images")
        edited = measure(tool.argv("diff"), repo, env, FAST_RUNS, warmup=True)
        self.record(f"diff of {self.label}, 25 files changed in the workspace", tool, edited)
        self.check(tool, "workspace diff", edited.outputs, EXPECTED)
        self.edit(repo / "source")
        harness.run_checked(tool.argv("repro"), repo, env)
        harness.git_commit(repo, "images edited", env)
        commits = measure(tool.argv("diff", "HEAD~1", "HEAD"), repo, env, FAST_RUNS, warmup=True)
        self.record(f"diff HEAD~1 HEAD of {self.label}, 25 files changed", tool, commits)
        self.check(tool, "diff HEAD~1 HEAD", commits.outputs, EXPECTED)
        harness.remove_repo(repo)

    @staticmethod
    def age(folder: Path) -> None:
        """Files older than the racy second, so that a hash state may keep their hashes."""
        old = time.time() - 3600
        for path in folder.iterdir():
            os.utime(path, (old, old))

    def check(self, tool: Tool, what: str, outputs: list[str], expected: dict[str, int]) -> None:
        for text in outputs:
            counts = {word: int(n) for n, word in re.findall(r"(\d+) (added|deleted|renamed|modified)", text)}
            found = {word: n for word, n in counts.items() if n}
            if found != expected:
                first = " | ".join(text.strip().splitlines()[-2:])
                self.ctx.results.note(f"{self.name} / {tool.name}: {what}: expected {expected or 'no change'}: {first}")
                return
