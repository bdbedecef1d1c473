"""A no-op status decides most stages from their files' stats alone (staleness.unchanged):
it must give exactly the answer of decide() whenever it says "unchanged", and every change
must still be reported through the CLI."""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipetool.pipeline.stage import Out, ParamDep, Stage
from pipetool.planning.staleness import Observed, decide, unchanged
from pipetool.storage.hashing import HashInfo
from pipetool.storage.lock import LockEntry, PathRecord, compact, expand

UP_TO_DATE = "Data and pipelines are up to date.\n"
PATHS = ["a", "b", "c"]
HASHES = ["1" * 32, "2" * 32]
paths = st.lists(st.sampled_from(PATHS), max_size=3).map(tuple)
# A record of a path: (path, whether its hash is the one known now, key).
records = st.lists(
    st.tuples(st.sampled_from(PATHS), st.booleans() | st.just(True), st.sampled_from(["xxh3", "xxh3", "etag"])),
    max_size=3,
)


rarely = st.sampled_from([False, False, False, False, True])  # mostly a stage the fast path may judge


def recorded(drawn: list[tuple[str, bool, str]], known: dict[str, str]) -> tuple[PathRecord, ...]:
    return tuple(
        PathRecord(path, known.get(path, HASHES[0]) if same else "9" * 32, 1, None, key) for path, same, key in drawn
    )


@settings(max_examples=500, deadline=None)
@given(
    deps=paths,
    outs=paths,
    cmd=st.sampled_from([("run",), ("run",), ("other",), ("run", "more")]),
    recorded_cmd=st.sampled_from(["run", "run", "other", ("run", "more")]),
    params=rarely,
    recorded_params=rarely,
    always=rarely,
    dropped=rarely,
    deps_drawn=records,
    outs_drawn=records,
    known=st.dictionaries(st.sampled_from(PATHS), st.sampled_from(HASHES), min_size=2),
    lr_now=st.sampled_from([1, 1, 1, 1.0, True, 2, {"x": 1}]),
)
def test_unchanged_only_when_decide_finds_no_reason(
    deps, outs, cmd, recorded_cmd, params, recorded_params, always, dropped, deps_drawn, outs_drawn, known, lr_now
):
    locked_deps, locked_outs = recorded(deps_drawn, known), recorded(outs_drawn, known)
    stage = Stage(
        name="s",
        cmd=cmd,
        deps=deps,
        outs=tuple(Out(path) for path in outs),
        params=(ParamDep("params.yaml", ("lr",)),) if params else (),
        always_changed=always,
    )
    locked = LockEntry(
        cmd=recorded_cmd,
        deps=locked_deps,
        outs=locked_outs,
        params={"params.yaml": {"lr": 1}} if recorded_params else {},
        dropped_in_merge=dropped,
    )
    # What observe() sees: a known hash is what a path has now; an unknown one is anything else.
    for other in (None, HashInfo.of_file("3" * 32, 1)):
        observed = Observed(
            deps={path: HashInfo.of_file(known[path], 1) if path in known else other for path in deps},
            outs={path: HashInfo.of_file(known[path], 1) if path in known else other for path in outs},
            params={"params.yaml": {"lr": lr_now}} if params else {},
        )
        assert expand(compact(locked)) == locked
        if unchanged(stage, compact(locked), known, observed.params if params else None):
            assert decide(stage, locked, observed) == []


def test_unchanged_for_the_usual_up_to_date_stage():
    stage = Stage(name="s", cmd=("cp a b",), deps=("a", "c"), outs=(Out("b"),))
    locked = LockEntry(
        cmd="cp a b",
        deps=(PathRecord("c", HASHES[1], 1), PathRecord("a", HASHES[0], 1)),  # the lock sorts them
        outs=(PathRecord("b", HASHES[0], 1),),
    )
    assert unchanged(stage, compact(locked), {"a": HASHES[0], "b": HASHES[0], "c": HASHES[1]})
    assert not unchanged(stage, compact(locked), {"a": HASHES[0], "b": HASHES[1], "c": HASHES[1]})
    assert not unchanged(stage, compact(locked), {"a": HASHES[0], "c": HASHES[1]})  # b's hash not known
    assert not unchanged(stage, None, {"a": HASHES[0], "b": HASHES[0], "c": HASHES[1]})


@pytest.mark.parametrize(
    ("now", "judged"),
    [
        ({"params.yaml": {"lr": 0.1, "model": {"depth": 3}}}, True),
        ({"params.yaml": {"lr": 0.1, "model": {"depth": 3.0}}}, False),  # 3.0 is not the 3 recorded
        ({"params.yaml": {"lr": 0.2, "model": {"depth": 3}}}, False),
        ({"params.yaml": {"lr": 0.1}}, False),  # model.depth removed
        ({"params.yaml": {"lr": 0.1, "model": {"depth": 3}}, "other.yaml": {"k": 1}}, False),  # added
        (None, False),  # the values now not given: left to decide()
    ],
)
def test_unchanged_for_a_stage_with_params_only_when_they_have_their_recorded_values(now, judged):
    stage = Stage(
        name="s", cmd=("train",), deps=("a",), outs=(Out("b"),), params=(ParamDep("params.yaml", ("lr", "model")),)
    )
    locked = LockEntry(
        cmd="train",
        deps=(PathRecord("a", HASHES[0], 1),),
        params={"params.yaml": {"lr": 0.1, "model": {"depth": 3}}},
        outs=(PathRecord("b", HASHES[1], 1),),
    )
    known = {"a": HASHES[0], "b": HASHES[1]}
    assert unchanged(stage, compact(locked), known, now) is judged
    observed = Observed(
        deps={"a": HashInfo.of_file(HASHES[0], 1)}, outs={"b": HashInfo.of_file(HASHES[1], 1)}, params=now or {}
    )
    assert (decide(stage, locked, observed) == []) is (now is not None and judged)
    assert not unchanged(stage, compact(locked), {"a": HASHES[0]}, now)  # b's hash not known


@pytest.mark.parametrize(
    ("deps", "recorded_paths", "judged"),
    [
        (("a", "b"), ("b", "a"), True),  # the lock sorts its records
        (("a", "b"), ("a", "a"), False),  # b is not recorded
        (("a", "a"), ("a", "b"), False),  # b is recorded, not declared
        (("a", "a"), ("a", "a"), False),  # left to decide()
        (("b",), ("a",), False),
        (("a", "b", "c"), ("a", "b", "b"), False),
    ],
)
def test_unchanged_needs_the_recorded_paths_to_be_the_declared_ones(deps, recorded_paths, judged):
    known = dict.fromkeys(PATHS, HASHES[0])
    stage = Stage(name="s", cmd=("run",), deps=deps)
    locked = LockEntry(cmd="run", deps=tuple(PathRecord(path, HASHES[0], 1) for path in recorded_paths))
    observed = Observed(deps={path: HashInfo.of_file(HASHES[0], 1) for path in deps}, outs={})
    assert unchanged(stage, compact(locked), known) is judged
    if judged:
        assert decide(stage, locked, observed) == []
    out_stage = Stage(name="s", cmd=("run",), outs=tuple(Out(path) for path in deps))
    out_locked = LockEntry(cmd="run", outs=locked.deps)
    assert unchanged(out_stage, compact(out_locked), known) is judged


PIPELINE = """
    stages:
      copy:
        foreach: [0, 1, 2, 3, 4, 5]
        do:
          cmd: cp in/${item}.txt out/${item}.txt
          deps:
            - in/${item}.txt
          outs:
            - out/${item}.txt
      folder:
        cmd: ls in > listing.txt
        deps: [in]
        outs: [listing.txt]
      tuned:
        cmd: cat in/0.txt > tuned.txt
        deps: [in/0.txt]
        params: [lr]
        outs: [tuned.txt]
"""


def test_status_reports_each_change_among_unchanged_stages(project):
    past = time.time() - 60  # out of the state db's racy second: their hashes are remembered
    for index in range(6):
        os.utime(project.write(f"in/{index}.txt", f"{index}\n"), (past, past))
    future = time.time() + 3600  # always in the racy window: never remembered, always read
    os.utime(project.path / "in/1.txt", (future, future))
    project.write("params.yaml", "lr: 0.1\n")
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    for out in (project.path / "out").iterdir():
        os.utime(out, (past, past))
    assert project.cli_ok("status").stdout == UP_TO_DATE  # remembers the outs' hashes
    assert project.cli_ok("status").stdout == UP_TO_DATE  # each copy stage judged by its stats

    edited = project.path / "in/1.txt"
    edited.write_text("X\n")  # the same size and mtime, other bytes
    os.utime(edited, (future, future))
    project.write("in/2.txt", "two, longer\n")
    (project.path / "out/3.txt").unlink()
    project.write("out/4.txt", "4\n")  # rewritten with its own bytes: still up to date
    project.write("params.yaml", "lr: 0.2\n")

    result = project.cli_fails("status", "--json", "--exit-code")
    reported = json.loads(result.stdout)
    stale = {name: [reason["message"] for reason in body["reasons"]] for name, body in reported.items()}
    assert stale == {
        "copy@1": ["changed deps: modified in/1.txt"],
        "copy@2": ["changed deps: modified in/2.txt"],
        "copy@3": ["changed outs: deleted out/3.txt"],
        "folder": ["changed deps: modified in"],
        "tuned": ["changed params: lr 0.1 -> 0.2"],
    }


def test_status_reads_the_lock_as_it_is_now_not_as_kept(project):
    """lock.compact keeps each lock's entries for its exact bytes: a lock rewritten by a repro,
    or put back by git, is read again."""
    project.write("in/0.txt", "0\n")
    project.write(
        "pipeline.yaml", "stages:\n  copy:\n    cmd: cp in/0.txt out.txt\n    deps: [in/0.txt]\n    outs: [out.txt]\n"
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "first")
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert project.exists(".pipetool/lock.compact")

    project.write("pipeline.yaml", project.read("pipeline.yaml").replace("cp in/0.txt", "cat in/0.txt >"))
    assert "changed cmd" in project.cli_fails("status", "--exit-code").stdout
    project.cli_ok("repro")
    assert project.cli_ok("status").stdout == UP_TO_DATE  # the new lock, not the kept entries

    project.git("checkout", "--", "pipeline.lock")  # the first lock, with the new cmd
    assert "changed cmd" in project.cli_fails("status", "--exit-code").stdout
    project.git("checkout", "--", "pipeline.yaml")
    assert project.cli_ok("status").stdout == UP_TO_DATE


def test_known_hashes_are_info_hashes_with_or_without_a_forked_process(tmp_path, monkeypatch):
    from pipetool.storage import hashing, state
    from pipetool.storage.hashing import Hasher
    from pipetool.storage.state import StateDB

    past = time.time() - 60  # out of the racy second: remembered
    for index in range(12):
        (tmp_path / f"{index}.txt").write_text(f"{index}\n")
        os.utime(tmp_path / f"{index}.txt", (past, past))
    (tmp_path / "folder").mkdir()
    db = str(tmp_path / "state.db")
    first = Hasher(str(tmp_path), StateDB(db))
    expected = {f"{index}.txt": first.info(f"{index}.txt").hash for index in range(0, 12, 2)}  # half remembered
    first.state.close()
    paths = [f"{index}.txt" for index in range(12)] + [
        "folder",
        "missing.txt",
        "s3://bucket/x",
        str(tmp_path / "0.txt"),
    ]
    expected[str(tmp_path / "0.txt")] = expected["0.txt"]

    monkeypatch.setattr(state, "_SCAN_FROM", 1)  # the rows are read whole, as for thousands of paths
    monkeypatch.setattr(state, "_SMALLEST_ROW", 10**6)
    for processes_from in (10**9, 2):
        monkeypatch.setattr(hashing, "PROCESSES_FROM", processes_from)
        hasher = Hasher(str(tmp_path), StateDB(db))
        hasher.prefetch(paths)
        assert hasher.state.rows_read() is not None
        assert hasher.known_hashes(paths) == expected
        hasher.state.close()
