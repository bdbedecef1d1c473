"""A command on some stages of a big project reads what those stages need: the locks of their
pipeline files, not every folder's; the journal of such a run covers the locks it read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import CLI_ENV, Project, ran_stages

from pipetool.errors import LockError

COPY = """
    stages:
      copy:
        cmd: cp in.txt out.txt
        deps: [in.txt]
        outs: [out.txt]
"""
# The second stage writes its shell's pid (the handshake that it runs), then waits to be killed.
SLOW_SECOND = """
    stages:
      first:
        cmd: cp in.txt one.txt
        deps: [in.txt]
        outs: [one.txt]
      second:
        cmd: echo $$ > {pidfile} && sleep 60 && cp one.txt two.txt
        deps: [one.txt]
        outs: [two.txt]
"""


def two_folders(project: Project, a: str = COPY) -> Project:
    project.cli_ok("init")
    for name in ("pipeline.yaml", "params.yaml"):  # the root has no pipeline of its own
        (project.path / name).unlink()
    for folder, text in (("a", a), ("b", COPY)):
        project.write(f"{folder}/pipeline.yaml", text)
        project.write(f"{folder}/in.txt", f"{folder}\n")
    return project


def test_repro_and_status_of_one_folder_read_its_lock_alone(project):
    two_folders(project)
    project.cli_ok("repro", "--all-pipelines")
    project.write("b/pipeline.lock", "stages: [not, a, lock\n")  # broken: only a command on b reads it
    project.write("a/in.txt", "changed\n")
    assert ran_stages(project.cli_ok("repro", "a/pipeline.yaml").stdout) == ["a/pipeline.yaml:copy"]
    assert project.read("a/out.txt") == "changed\n"
    assert project.read("b/pipeline.lock") == "stages: [not, a, lock\n"  # left as it was
    assert json.loads(project.cli_ok("status", "a/pipeline.yaml", "--json").stdout) == {}
    failed = project.cli_fails("status", "--json")
    assert "b/pipeline.lock" in failed.stderr


def test_killed_repro_of_one_folder_keeps_its_finished_stage_whatever_other_locks_do(project, tmp_path):
    pidfile = tmp_path / "second.pid"
    two_folders(project, SLOW_SECOND.format(pidfile=pidfile))
    project.cli_ok("repro", "b/pipeline.yaml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "repro", "a/pipeline.yaml"],
        cwd=project.path,
        env=CLI_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stage_pid = None
    try:
        deadline = time.monotonic() + 60
        while stage_pid is None and time.monotonic() < deadline and proc.poll() is None:
            text = pidfile.read_text() if pidfile.exists() else ""
            stage_pid = int(text) if text.endswith("\n") else None
            time.sleep(0.02)
        assert stage_pid is not None, "the second stage never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if stage_pid is not None:
            try:
                os.killpg(stage_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert project.exists(".pipetool/lock.journal")  # 'first' finished: recorded there alone
    assert not project.exists("a/pipeline.lock")
    # Another folder's lock changes (as a git checkout of it would): the journal covers a's alone.
    project.write("b/pipeline.lock", project.read("b/pipeline.lock").replace("cmd: cp", "cmd:  cp"))
    stale = json.loads(project.cli_ok("status", "--json").stdout)
    assert set(stale) == {"a/pipeline.yaml:second"}, stale
    # a repro of b writes the replayed stage into a's lock before its own journal replaces that one
    project.write("b/in.txt", "changed\n")
    assert ran_stages(project.cli_ok("repro", "b/pipeline.yaml").stdout) == ["b/pipeline.yaml:copy"]
    assert "first:" in project.read("a/pipeline.lock")
    stale = json.loads(project.cli_ok("status", "--json").stdout)
    assert set(stale) == {"a/pipeline.yaml:second"}, stale


def test_state_db_read_ahead_of_many_paths_finds_what_one_by_one_lookups_find(tmp_path):
    """Above a thousand paths that are most of the db, prefetch reads both tables whole: it must
    find the very rows a lookup per path finds, for paths asked later too, and nothing for the
    paths the db lacks."""
    from pipetool.storage.state import FileStat, StateDB

    old = 1_000_000_000 * 10**9  # 2001: far from racy
    path = str(tmp_path / "state.db")
    db = StateDB(path)
    known = [f"/p/in/{i}.txt" for i in range(1500)]
    for i, name in enumerate(known):
        db.put(name, FileStat(i, old + i, i % 7), f"{i:032x}")
    db.put_dir("/p/data", "fingerprint", old, ("d" * 32 + ".dir", 10, 2))
    db.close()

    unknown = [f"/p/out/{i}.txt" for i in range(500)]
    ahead, lookups = StateDB(path), StateDB(path)
    ahead.prefetch(known[:1200] + unknown + ["/p/data"])  # the rest of known: asked later
    for i, name in enumerate(known):
        stat = FileStat(i, old + i, i % 7)
        assert ahead.get(name, stat) == lookups.get(name, stat) == f"{i:032x}"
        assert ahead.get(name, FileStat(i, old + i + 1, i % 7)) is None  # touched since: no hash
    assert all(ahead.get(name, FileStat(1, old, 1)) is None for name in unknown)
    assert ahead.get_dir("/p/data", "fingerprint") == lookups.get_dir("/p/data", "fingerprint")
    assert ahead.get_dir("/p/data", "fingerprint") == ("d" * 32 + ".dir", 10, 2)
    assert ahead.get_dir(known[0], "fingerprint") is None
    ahead._db.execute("DROP TABLE state")  # what prefetch read is kept: no query is made for it
    assert ahead.get(known[3], FileStat(3, old + 3, 3)) == f"{3:032x}"
    ahead.close()
    lookups.close()


FOLDER_STAGE = """
    stages:
      many:
        cmd: >-
          sleep $(cat delay.txt) && mkdir -p parts
          && echo ${n} > parts/a.txt && echo 1 > parts/b.txt && echo ${n} > one.txt
        params: [n]
        outs: [parts, one.txt]
"""


def test_a_rerun_back_to_the_committed_results_finds_the_committed_entry_of_a_folder_out(project):
    """The committed lock is searched through the set of the hashes it holds (once, not a search
    of its text per stage): a folder's hash ('.dir') is found there as a file's is."""
    project.write("params.yaml", "n: 1\n")
    project.write("pipeline.yaml", FOLDER_STAGE)
    project.write("delay.txt", "0\n")  # not a dep: how long the cmd takes, nothing else
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline")
    committed = project.read("pipeline.lock")
    assert ".dir" in committed
    project.write("params.yaml", "n: 2\n")
    project.cli_ok("repro")
    assert project.read("pipeline.lock") != committed
    project.write("delay.txt", "0.3\n")  # the run back takes a duration other than the committed one
    project.write("params.yaml", "n: 1\n")
    project.cli_ok("repro", "--no-run-cache")
    assert project.read("parts/a.txt") == "1\n"
    assert project.read("pipeline.lock") == committed  # duration too: the committed entry came back


def _same_reading(fast, slow) -> None:
    """Equal data, and each mapping knows the same lines for itself and its keys."""
    assert fast == slow
    if isinstance(slow, dict):
        assert (fast.line, fast.key_lines) == (slow.line, slow.key_lines)
        for key in slow:
            _same_reading(fast[key], slow[key])
    elif isinstance(slow, list):
        for a, b in zip(fast, slow, strict=True):
            _same_reading(a, b)


def test_a_lock_as_pipetool_writes_it_reads_as_the_yaml_parser_reads_it():
    from pipetool.files import yamlfile
    from pipetool.storage import lock, lock_yaml
    from pipetool.storage.lock import LockEntry, PathRecord

    digest = "0123456789abcdef0123456789abcdef"
    entries = {
        "copy@0": LockEntry("cp in/0.txt out/0.txt", (PathRecord("in/0.txt", digest, 2),), {}, (), duration=0.0),
        "train": LockEntry(
            ("python train.py --lr 0.1", "echo done > log.txt"),
            deps=(PathRecord("data/my set", digest + ".dir", 120, 3), PathRecord("train.py", digest, 10)),
            params={"params.yaml": {"lr": 0.1, "layers": 3, "name": "big_model", "flag": True, "unset": None}},
            outs=(PathRecord("model.pkl", digest, 5),),
            duration=12,
        ),
        "grid@lr-1": LockEntry("echo $X > out", params={"other/p.yaml": {"seed": -7, "rate": -2.5}}, duration=1.25),
    }
    text = lock.render(entries)
    assert "'" not in text  # every scalar written plain: the case read() reads
    fast = lock_yaml.read(text)
    assert fast is not None
    _same_reading(fast, yamlfile.parse(text, "pipeline.lock"))
    assert lock.parse(text) == entries

    # Anything else goes to the YAML parser, which reads it the same way as before.
    quoted = lock.render({"t": LockEntry("cp a b", params={"params.yaml": {"v": "10", "w": "yes", "x": 1e-05}})})
    variants = [
        quoted,  # '10', 'yes' and 1.0e-05 are written by PyYAML
        text.replace("stages:\n", "stages:  # the stages\n"),
        text.replace("  train:\n", "\n  train:\n"),
        text.replace("\n", "\r\n"),
        text + text[text.index("  copy@0:") :],  # a stage twice: the parser's error
        text.replace("    cmd: cp in/0.txt out/0.txt", "    cmd: {a: b}"),
        text.replace("size: 2\n", "size: 0x10\n", 1),
        text.replace("xxh3: " + digest, "xxh3: 12345678901234567890123456789e12", 1),
        "version: 1\nstages: {}\n",
    ]
    for variant in variants:
        assert lock_yaml.read(variant) is None, variant
    assert lock.parse(quoted)["t"].params == {"params.yaml": {"v": "10", "w": "yes", "x": 1e-05}}


@pytest.mark.parametrize("tricky", [False, True], ids=["plain", "tricky"])
def test_any_lock_pipetool_writes_reads_without_yaml_as_with_it_or_goes_to_yaml(tricky):
    """Entries of plain or tricky names, paths and values (test_properties' strategies; plain
    ones make about half of the locks read() reads): whatever read() reads equals the YAML
    parser's reading, lines included, and parses to the same entries."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from test_properties import SAFE, TRICKY, entries

    from pipetool.files import yamlfile
    from pipetool.storage import lock, lock_yaml

    text_of = st.one_of(SAFE, SAFE, TRICKY) if tricky else SAFE

    @settings(max_examples=150 if tricky else 300, deadline=None)
    @given(st.dictionaries(SAFE, entries(text_of), min_size=1, max_size=3))
    def check(stages):
        text = lock.render(stages)
        fast = lock_yaml.read(text)
        if fast is None:
            return
        slow = yamlfile.parse(text, "pipeline.lock")
        _same_reading(fast, slow)
        try:
            expected = lock._checked(slow, "pipeline.lock", ".")
        except LockError:
            expected = None  # a record the lock check refuses: parse() says so as before
        if expected is not None:
            assert lock.parse(text) == expected

    check()
