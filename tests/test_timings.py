"""Stage durations in pipeline.lock, `status --timings` / `dag --timings` and the critical path.

Durations are set by hand in the lock where a test needs known numbers: no timed assertions.
"""

from __future__ import annotations

import json

import yaml

# a -> b -> d and a -> c -> d
DIAMOND = """
    stages:
      a:
        cmd: cat src.txt > a.txt
        deps: [src.txt]
        outs: [a.txt]
      b:
        cmd: cat a.txt > b.txt
        deps: [a.txt]
        outs: [b.txt]
      c:
        cmd: cat a.txt a.txt > c.txt
        deps: [a.txt]
        outs: [c.txt]
      d:
        cmd: cat b.txt c.txt > d.txt
        deps: [c.txt, b.txt]  # not in the lock's (sorted) order
        outs: [d.txt]
"""


def diamond(project):
    project.write("src.txt", "src\n")
    project.write("pipeline.yaml", DIAMOND)
    project.cli_ok("repro")
    return project


def set_durations(project, **seconds) -> None:
    data = project.lock()
    for name, value in seconds.items():
        data["stages"][name]["duration"] = value
    (project.path / "pipeline.lock").write_text(yaml.safe_dump(data, sort_keys=False))


def test_lock_records_each_stage_duration_in_seconds(project):
    diamond(project)
    stages = project.lock()["stages"]
    for name in "abcd":
        assert isinstance(stages[name]["duration"], float) and stages[name]["duration"] >= 0


def test_a_rerun_with_the_same_results_keeps_the_recorded_entry_and_the_lock_bytes(project):
    diamond(project)
    set_durations(project, a=123.0, d=123.0)
    before = project.read("pipeline.lock")
    project.cli_ok("repro", "-f")  # every stage runs again and writes the same bytes
    assert project.read("pipeline.lock") == before


def test_a_rerun_with_new_results_records_the_new_duration(project):
    diamond(project)
    set_durations(project, a=123.0, b=123.0)
    project.write("src.txt", "changed\n")
    project.cli_ok("repro")
    stages = project.lock()["stages"]
    assert stages["a"]["duration"] != 123.0 and stages["b"]["duration"] != 123.0


def test_status_timings_lists_durations_and_marks_the_critical_path(project):
    diamond(project)
    set_durations(project, a=1.0, b=5.0, c=2.0, d=0.5)
    out = project.cli_ok("status", "--timings").stdout
    assert out.startswith("Data and pipelines are up to date.\n\n")
    assert "* a         1.00s" in out
    assert "* b         5.00s" in out
    assert "  c         2.00s" in out
    assert "* d         0.50s" in out
    assert "Critical path (*): 6.50s of 8.50s in all: a -> b -> d" in out


def test_status_timings_json_and_targets(project):
    diamond(project)
    set_durations(project, a=1.0, b=5.0, c=2.0, d=0.5)
    data = json.loads(project.cli_ok("status", "--timings", "--json", "c").stdout)
    assert data["durations"] == {"a": 1.0, "c": 2.0}
    assert data["critical_path"] == ["a", "c"] and data["critical_path_seconds"] == 3.0
    assert data["stale"] == {}


def test_dag_timings_labels_stages_and_names_the_critical_path(project):
    diamond(project)
    set_durations(project, a=1.0, b=1.0, c=3.0, d=60.0)
    out = project.cli_ok("dag", "--timings").stdout
    assert "a (1.00s) *" in out and "b (1.00s)\n" in out and "c (3.00s) *" in out and "d (1m00s) *" in out
    assert "Critical path (*): 1m04s of 1m05s in all: a -> c -> d" in out
    dot = project.cli_ok("dag", "--timings", "--dot").stdout
    assert '"c" [label="c (3.00s) *"];' in dot


def test_stages_without_a_recorded_duration_are_named_as_such(project):
    diamond(project)
    data = project.lock()
    for entry in data["stages"].values():
        del entry["duration"]
    (project.path / "pipeline.lock").write_text(yaml.safe_dump(data, sort_keys=False))
    out = project.cli_ok("status", "--timings").stdout
    assert "  b             -" in out
    assert "No duration recorded for 4 stage(s)" in out


def test_a_duration_that_is_not_a_number_is_a_clear_error_with_its_line(project):
    diamond(project)
    text = project.read("pipeline.lock")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("duration:"))
    lines[at] = "    duration: soon"
    (project.path / "pipeline.lock").write_text("\n".join(lines) + "\n")
    result = project.cli_fails("status")
    assert f"pipeline.lock:{at + 1}: stage 'a': 'duration' must be a number of seconds, not 'soon'" in result.stderr


def test_merging_locks_ignores_durations(project, tmp_path):
    diamond(project)
    base = project.lock()
    ours = json.loads(json.dumps(base))
    ours["stages"]["a"]["duration"] = 99.0  # the same results, only slower: not a change
    theirs = json.loads(json.dumps(base))
    theirs["stages"]["a"]["cmd"] = "cat src.txt src.txt > a.txt"  # a real change
    paths = []
    for name, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        paths.append(tmp_path / f"{name}.lock")
        paths[-1].write_text(yaml.safe_dump(data, sort_keys=False))
    project.cli_ok("merge-lock", *map(str, paths))
    merged = yaml.safe_load(paths[1].read_text())["stages"]["a"]
    assert merged["cmd"] == "cat src.txt src.txt > a.txt"  # theirs taken, not dropped as a conflict


def test_tracked_data_takes_no_time_and_is_not_counted_as_unrecorded(project):
    """A pointer file's data stage runs no command: 0s, not one of the stages without a duration."""
    diamond(project)
    set_durations(project, a=1.0, b=5.0, c=2.0, d=0.5)
    project.write("data/images/1.png", "png\n")
    project.cli_ok("add", "data/images")
    out = project.cli_ok("status", "--timings").stdout
    assert "  data/images.pipetool     0.00s" in out
    assert "No duration recorded" not in out
    assert "Critical path (*): 6.50s of 8.50s in all: a -> b -> d" in out
