"""What a new user met in their first hour: push -A's warnings per out with the revisions named,
checkout after gc telling a changed file from a missing one, checkout --force relinking outs to
the configured link type, short SHAs in metrics output, where `plots show` writes its page and
the confusion matrix's readable numbers, and the charts' progress line."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys

import pytest
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


def test_pull_counts_the_bytes_push_counted_for_the_same_objects(project):
    history(project, count=1)
    project.cli_ok("remote", "add", "-d", "storage", str(project.path.parent / "remote"))
    project.git("add", "-A")
    project.git("commit", "-qm", "remote")
    pushed = re.search(r"Pushed (\d+) object\(s\), ([^,]+),", project.cli_ok("push").stdout).groups()
    (project.path / ".pipetool" / "cache").rename(project.path.parent / "old-cache")
    fetched = re.search(r"Fetched (\d+) object\(s\), ([^,]+),", project.cli_ok("fetch").stdout).groups()
    assert fetched == pushed  # a folder's manifest counts on both sides


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


# --- 10: checkout relinks to the configured link type; short SHAs in metrics output -----------


def test_checkout_force_relinks_copies_as_hardlinks_after_cache_type_changes(project):
    history(project, count=1)
    part = project.path / "data/clean/part.txt"
    assert os.stat(part).st_nlink == 1  # a copy: the default link type
    project.cli_ok("config", "cache.type", "hardlink")
    result = project.cli_ok("checkout", "--force")
    assert "Relinked 1 out(s)" in result.stdout
    assert "already match" not in result.stdout
    assert os.stat(part).st_nlink == 2
    linked = [
        obj
        for folder in (project.path / ".pipetool" / "cache").iterdir()
        for obj in folder.iterdir()
        if os.path.samestat(os.stat(obj), os.stat(part))
    ]
    assert len(linked) == 1  # the same inode as its cache object
    assert part.read_text() == "n=1\n"
    # linked now: the next checkout has nothing to do
    again = project.cli_ok("checkout")
    assert "already match" in again.stdout
    assert "Relinked" not in again.stdout


def test_metrics_and_params_show_all_commits_print_short_shas_as_history_does(project):
    shas = history(project)
    shown = project.cli_ok("metrics", "show", "-A").stdout
    listed = project.cli_ok("metrics", "history").stdout
    params = project.cli_ok("params", "diff", shas[0], shas[2]).stdout  # revisions named by full SHAs
    for sha in shas:
        assert sha[:7] in shown and sha[:7] in listed
        assert sha not in shown and sha not in params  # never 40 characters
    assert shas[0][:7] in params and shas[2][:7] in params, params
    for line in shown.splitlines()[2:]:
        assert len(line.split()[0]) <= 9, line


# --- 7: where plots show writes its page; readable numbers on the confusion matrix ------------

PLOTS = """
    stages:
      curve:
        cmd: python -c "print('step,loss'); [print(f'{i},{1/(i+1):.4f}') for i in range(5)]" > loss.csv
        plots:
          - loss.csv: {x: step, y: loss}
      confusion:
        cmd: printf 'actual,predicted\\n0,0\\n0,0\\n0,0\\n0,1\\n1,1\\n' > confusion.csv
        plots:
          - confusion.csv: {template: confusion, x: actual, y: predicted}
"""


def test_plots_show_writes_a_git_ignored_page_in_the_state_folder_and_says_where(project):
    pytest.importorskip("matplotlib")
    project.write("pipeline.yaml", PLOTS)
    project.cli_ok("repro", env={"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]})
    result = project.cli_ok("plots", "show")
    assert "Wrote .pipetool/plots/index.html: 2 plot(s)" in result.stdout
    assert not project.exists("plots.html")
    page = project.read(".pipetool/plots/index.html")
    assert page.count("src='data:image/png;base64,") == 2
    assert "index.html" not in project.git("status", "--porcelain", "--untracked-files=all")  # git-ignored
    # from a subfolder: the same page, its path said relative to where the user is
    (project.path / "sub").mkdir()
    result = project.cli_ok("plots", "show", cwd=project.path / "sub")
    assert f"Wrote ..{os.sep}.pipetool{os.sep}plots{os.sep}index.html" in result.stdout
    # -o is honoured
    project.cli_ok("plots", "show", "-o", "report.html")
    assert project.exists("report.html")


def test_confusion_numbers_are_white_on_dark_cells_and_black_on_light_ones():
    matplotlib = pytest.importorskip("matplotlib")
    from pipetool.revisions.plots import text_colour

    blues = matplotlib.colormaps["Blues"]
    assert text_colour(blues(1.0)) == "white"  # the darkest cell: black would not read
    assert text_colour(blues(0.0)) == "black"
    assert text_colour((1.0, 1.0, 1.0, 1.0)) == "black"
    assert text_colour((0.0, 0.0, 0.0, 1.0)) == "white"


# --- 8: charts say they are being drawn; matplotlib's Figure without pyplot -------------------


def run_with_terminal_stderr(project: Project, *args: str) -> tuple[str, str]:
    """pipetool ARGS with stderr on a pseudo-terminal (as a user's shell gives it); (stdout, stderr)."""
    import pty
    import subprocess

    from conftest import CLI_ENV

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipetool", *args],
            cwd=project.path,
            env=CLI_ENV,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
            check=True,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    return done.stdout, b"".join(chunks).decode()


def test_metrics_history_plot_says_it_is_drawing_on_a_terminal_only(project):
    pytest.importorskip("matplotlib")
    history(project)
    out, err = run_with_terminal_stderr(project, "metrics", "history", "--plot", "history.png")
    assert "Drawing 1 chart…" in err  # one numeric metric: n
    assert "Drawing" not in out
    assert project.exists("history.png")
    piped = project.ok("metrics", "history", "--plot", "again.png")
    assert "Drawing" not in piped.stderr + piped.stdout  # not a terminal: no progress line


def test_plots_show_says_how_many_charts_it_draws_and_never_imports_pyplot(project):
    pytest.importorskip("matplotlib")
    project.write("pipeline.yaml", PLOTS)
    project.cli_ok("repro", env={"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]})
    _, err = run_with_terminal_stderr(project, "plots", "show")
    assert "Drawing 2 charts…" in err
    import subprocess

    from conftest import CLI_ENV

    code = (
        "import sys; from pipetool.cli import main; main(['plots', 'show']); print('matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project.path, env=CLI_ENV, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "False", done.stdout + done.stderr


# --- the long operations say what they do, where a person watches ---------------------------


def test_gc_says_what_it_reads_and_removes_where_a_person_watches(project):
    history(project)
    project.write("params.yaml", "n: 9\n")
    project.cli_ok("repro")  # the workspace's data/clean differs from every commit's
    watched = project.cli_ok("gc", env={"PIPETOOL_PROGRESS": "live"})
    removed = re.search(r"Freed .* in (\d+) object\(s\)", watched.stdout).group(1)
    assert int(removed) > 0 and f"Removing {removed} object(s)…" in watched.stderr
    assert "…" not in watched.stdout
    project.cli_ok("repro")
    listed = project.cli_ok("gc", "-A", "--dry", env={"PIPETOOL_PROGRESS": "live"})
    assert "Reading the locks of 3 revisions…" in listed.stderr
    assert "Removing" not in listed.stderr  # a dry run removes nothing
    plain = project.cli_ok("gc", "-A", env={"PIPETOOL_PROGRESS": "plain"})
    assert "…" not in plain.stderr + plain.stdout


def test_verify_shows_its_stages_as_repro_does_and_says_what_it_is_doing(project):
    history(project, count=1)
    watched = project.cli_ok("verify", env={"PIPETOOL_PROGRESS": "live", "COLUMNS": "100"})
    assert "Verifying HEAD: its stages run again in a temporary worktree…" in watched.stderr
    assert "\x1b[" in watched.stdout  # the live view
    assert "1 of 1 stage(s) reproduce." in watched.stdout
    plain = project.cli_ok("verify", env={"PIPETOOL_PROGRESS": "plain"})
    assert "\x1b" not in plain.stdout and "Verifying HEAD" not in plain.stderr
    assert "Running stage 'clean'" in plain.stdout and "1 of 1 stage(s) reproduce." in plain.stdout


def test_settings_commands_say_which_file_they_wrote_and_never_print_a_secret(project):
    project.write("pipeline.yaml", "stages: {}\n")
    assert project.cli_ok("config", "cache.type", "copy").stdout == "cache.type = copy in .pipetool/config.\n"
    assert project.cli_ok("config", "--unset", "cache.type").stdout == "cache.type unset in .pipetool/config.\n"
    added = project.cli_ok("remote", "add", "-d", "s3", "s3://bucket/project")
    assert added.stdout == "Added remote 's3' to .pipetool/config; it is the default remote.\n"
    secret = project.cli_ok("remote", "modify", "--local", "s3", "secret_access_key", "hunter2")
    assert secret.stdout == "Set secret_access_key of remote 's3' in .pipetool/config.local.\n"
    assert project.cli_ok("remote", "default", "--unset").stdout == "No default remote (in .pipetool/config).\n"
    removed = project.cli_ok("remote", "remove", "s3")
    assert removed.stdout == "Removed remote 's3' from .pipetool/config and .pipetool/config.local.\n"
