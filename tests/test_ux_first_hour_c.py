"""What a new user met in their first hour: push -A's warnings per out with the revisions named,
checkout after gc telling a changed file from a missing one, checkout --force relinking outs to
the configured link type, short SHAs in metrics output, where `plots show` writes its page and
the confusion matrix's readable numbers, and the charts' progress line."""

from __future__ import annotations

import shlex
import shutil
import sys

from conftest import Project

PY = shlex.quote(sys.executable)

GEN = """
    import os, yaml
    n = yaml.safe_load(open("params.yaml"))["n"]
    os.makedirs("data/clean", exist_ok=True)
    with open("data/clean/part.txt", "w") as handle:
        handle.write(f"n={n}\\n")
    with open("metrics.json", "w") as handle:
        handle.write(f'{{"n": {n}}}\\n')
"""

PIPELINE = f"""
    stages:
      clean:
        cmd: {PY} gen.py
        deps: [gen.py, data/raw.txt]
        params: [n]
        outs: [data/clean]
        metrics:
          - metrics.json: {{cache: false}}
"""


def commit(project: Project, message: str) -> str:
    project.git("add", "-A")
    project.git("commit", "-qm", message)
    return project.git("rev-parse", "HEAD").strip()


def history(project: Project, count: int = 3) -> list[str]:
    """count commits, each with its own data/clean and data/raw.txt; their SHAs, oldest first."""
    project.write("gen.py", GEN)
    project.write("pipeline.yaml", PIPELINE)
    shas = []
    for n in range(1, count + 1):
        project.write("params.yaml", f"n: {n}\n")
        project.write("data/raw.txt", f"raw {n}\n")
        project.cli_ok("repro")
        shas.append(commit(project, f"n={n}"))
    return shas


# --- 6: push -A names the revisions; checkout after gc says what is true ----------------------


def test_push_all_commits_warns_once_per_out_naming_the_revisions(project):
    shas = history(project)
    project.cli_ok("remote", "add", "-d", "storage", str(project.path.parent / "remote"))
    project.cli_ok("gc")  # only the workspace's objects stay in the cache
    result = project.cli_ok("push", "-A")
    lines = [line for line in result.stderr.splitlines() if "not pushed" in line]
    assert len(lines) == 1, result.stderr
    assert "data/clean" in lines[0]
    for sha in shas[:-1]:
        assert sha[:7] in lines[0], lines[0]
        assert sha not in lines[0]  # short SHAs, not 40 characters
    assert shas[-1][:7] not in lines[0]  # its objects are in the cache: pushed
    assert "Pushed" in result.stdout


def test_checkout_after_gc_tells_a_changed_out_from_a_missing_one(project):
    shas = history(project)
    project.cli_ok("gc")  # the older commits' objects are gone
    project.git("checkout", "-q", shas[0])
    result = project.cli_fails("checkout")
    # data/clean exists (the newest commit's bytes): it is kept and said to differ, not missing
    assert "kept data/clean: it differs from pipeline.lock" in result.stdout
    assert "'pipetool pull'" in result.stdout
    assert "missing data/clean" not in result.stdout
    assert (project.path / "data/clean/part.txt").read_text() == "n=3\n"
    # once it is gone, it is missing
    shutil.rmtree(project.path / "data/clean")
    result = project.cli_fails("checkout")
    assert "missing data/clean: it is not in the workspace" in result.stdout
