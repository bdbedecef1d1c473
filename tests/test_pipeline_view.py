"""The pipeline page's data (engine/pipeline_view.py) and its layout (planning/layout.py): statuses
and reasons as `status` gives them, durations, edges, layers, the run merged in, and a stage's log
read from an offset."""

from __future__ import annotations

import json
import os

from pipetool.engine import runstate
from pipetool.engine.pipeline_view import pipeline_view, run_changes, stage_log
from pipetool.engine.workspace import open_workspace
from pipetool.pipeline.project import Project
from pipetool.planning.graph import build as build_graph
from pipetool.planning.layout import crossings, layered

# a -> b -> c, d on its own, e frozen after d
CHAIN = """
    stages:
      a:
        cmd: cat src.txt > a.txt
        deps: [src.txt]
        outs: [a.txt]
      b:
        cmd: cat a.txt > b.txt
        deps: [a.txt]
        params: [train.lr]
        outs: [b.txt]
      c:
        cmd: cat b.txt > c.txt; echo line one; echo line two
        deps: [b.txt]
        outs: [c.txt]
      d:
        cmd: cat other.txt > d.txt
        deps: [other.txt]
        outs: [d.txt]
      e:
        cmd: cat d.txt > e.txt
        deps: [d.txt]
        outs: [e.txt]
        frozen: true
"""


def view(project) -> dict:
    ws = open_workspace(Project(str(project.path)))
    try:
        return pipeline_view(ws)
    finally:
        ws.close()


def by_name(data: dict) -> dict:
    return {stage["name"]: stage for stage in data["stages"]}


def setup(project) -> None:
    project.write("src.txt", "src\n")
    project.write("other.txt", "other\n")
    project.write("params.yaml", "train:\n  lr: 0.1\n")
    project.write("pipeline.yaml", CHAIN)


def test_statuses_reasons_durations_edges_and_layers(project):
    setup(project)
    fresh = by_name(view(project))
    assert {name: s["status"] for name, s in fresh.items()} == {
        "a": "stale",
        "b": "stale",
        "c": "stale",
        "d": "stale",
        "e": "frozen",
    }
    assert fresh["a"]["duration"] is None and fresh["a"]["run"] is None
    project.cli_ok("repro")
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    data = view(project)
    stages = by_name(data)
    assert {name: s["status"] for name, s in stages.items()} == {
        "a": "up to date",
        "b": "stale",
        "c": "up to date",
        "d": "up to date",
        "e": "frozen",
    }
    # the reasons are status's, word for word, for the same stages
    assert stages["b"]["reasons"] == ["changed params: train.lr 0.1 -> 0.2"]
    printed = project.cli_ok("status").stdout
    for name in ("b", "e"):
        assert all(f"    {reason}\n" in printed for reason in stages[name]["reasons"])
    assert json.loads(project.cli_ok("status", "--json").stdout).keys() == {"b", "e"}
    assert stages["e"]["reasons"]  # frozen and never run: stale, and says why
    assert stages["b"] == {
        **stages["b"],
        "cmd": ["cat a.txt > b.txt"],
        "wdir": ".",
        "deps": ["a.txt"],
        "outs": ["b.txt"],
        "params": ["params.yaml: train.lr"],
        "frozen": False,
        "run": "done",
    }
    assert isinstance(stages["a"]["duration"], float)
    assert sorted(map(tuple, data["edges"])) == [("a", "b"), ("b", "c"), ("d", "e")]
    assert [stages[n]["x"] for n in "abcde"] == [0, 1, 2, 0, 1]
    assert data["layers"] == 3 and data["rows"] == 2
    assert data["run"]["finished"] == "succeeded" and data["run"]["done"] == data["run"]["total"] == 5
    assert stages["e"]["run"] == "frozen"


def test_a_failed_stage_of_the_last_run_and_a_running_one(project):
    setup(project)
    project.write("src.txt", "src\n")
    project.cli_ok("repro")
    project.write("pipeline.yaml", CHAIN.replace("cat b.txt > c.txt;", "exit 4;"))
    project.cli_fails("repro")
    stages = by_name(view(project))
    assert stages["c"]["status"] == "failed" and "exited with code 4" in stages["c"]["message"]
    assert stages["b"]["status"] == "up to date"
    # A run in progress (this process writes the file): its running stage, with the time so far.
    reporter = runstate.RunStateReporter(NullReporter(), str(project.path / ".pipetool"), ["a", "b"])
    reporter.begin(2)
    reporter.running("b", [])
    reporter._write(finished=None)  # as the writer thread would within INTERVAL
    try:
        data = view(project)
        stages = by_name(data)
        assert stages["b"]["status"] == "running" and stages["b"]["elapsed"] >= 0
        assert stages["a"]["run"] == "queued" and stages["a"]["status"] == "up to date"
        assert data["run"]["live"] and data["run"]["total"] == 2
        state_dir = str(project.path / ".pipetool")
        first = run_changes(state_dir, None)
        assert first["changed"] and first["run"]["running"].keys() == {"b"}
        assert run_changes(state_dir, first["stamp"]) == {"changed": False, "stamp": first["stamp"]}
    finally:
        reporter.end()
    assert run_changes(state_dir, first["stamp"])["run"]["finished"] == "interrupted"


class NullReporter:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def test_a_stage_log_read_from_offsets(project, monkeypatch):
    setup(project)
    project.cli_ok("repro")
    state_dir = str(project.path / ".pipetool")
    first = stage_log(state_dir, "c")
    assert first["exists"] and first["text"] == "line one\nline two\n" and first["truncated"] == 0
    assert stage_log(state_dir, "c", first["offset"])["text"] == ""
    with open(os.path.join(state_dir, "logs", "c.log"), "a", encoding="utf-8") as log:
        log.write("more é\n")
    more = stage_log(state_dir, "c", first["offset"])
    assert more["text"] == "more é\n" and more["offset"] == first["offset"] + 8
    assert stage_log(state_dir, "c", 10_000)["text"].startswith("line one")  # it shrank: from the start
    assert stage_log(state_dir, "nope") == {"text": "", "offset": 0, "size": 0, "exists": False, "truncated": 0}
    monkeypatch.setattr("pipetool.engine.pipeline_view.MAX_LOG_CHUNK", 10)
    tail = stage_log(state_dir, "c")  # a long log: its last bytes, with how many were left out
    assert tail["truncated"] == more["offset"] - 10 and tail["offset"] == more["offset"]
    cut = stage_log(state_dir, "c", more["offset"] - 3)  # "é\n" split: "é" is whole or not at all
    assert cut["text"] == "é\n"
    assert stage_log(state_dir, "c", more["offset"] - 2)["text"] == "\ufffd\n"  # starts inside it


def test_the_layout_of_a_thousand_stage_foreach_and_a_crossing_undone():
    from pipetool.pipeline.stage import Stage

    stages = [Stage("prepare", ("x",), deps=(), outs=_outs("data"))]
    stages += [Stage(f"train@{i}", ("x",), deps=("data",), outs=_outs(f"m{i}")) for i in range(1000)]
    stages += [Stage("report", ("x",), deps=tuple(f"m{i}" for i in range(1000)), outs=_outs("r"))]
    graph = build_graph(stages)
    layout = layered(graph)
    assert layout.layers == 3 and layout.rows == 1000
    assert layout.y[graph.index["prepare"]] == 499.5 and layout.x[graph.index["report"]] == 2
    # Two chains defined crosswise: a1 -> b2, a2 -> b1 (b1 defined first) are drawn uncrossed.
    crossed = [
        Stage("a1", ("x",), outs=_outs("a1")),
        Stage("a2", ("x",), outs=_outs("a2")),
        Stage("b1", ("x",), deps=("a2",), outs=_outs("b1")),
        Stage("b2", ("x",), deps=("a1",), outs=_outs("b2")),
    ]
    graph = build_graph(crossed)
    assert crossings(graph, layered(graph)) == 0


def _outs(path: str):
    from pipetool.pipeline.stage import Out

    return (Out(path),)


def test_no_stage_named_is_no_log(tmp_path):
    assert stage_log(str(tmp_path), "")["exists"] is False
