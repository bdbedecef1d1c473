"""`pipetool repro`: targets, flags and how stages are run, through the real CLI in temp repos."""

from __future__ import annotations

import os
import time

from conftest import ran_stages

CHAIN = """
    stages:
      a:
        cmd: cp src.txt a.txt
        deps: [src.txt]
        outs: [a.txt]
      b:
        cmd: cat a.txt b_src.txt > b.txt
        deps: [a.txt, b_src.txt]
        outs: [b.txt]
      c:
        cmd: cat b.txt > c.txt
        deps: [b.txt]
        outs: [c.txt]
      d:
        cmd: echo independent > d.txt
        outs: [d.txt]
"""


def chain(project):
    """a -> b -> c, and d on its own; sources src.txt and b_src.txt."""
    project.write("src.txt", "one\n")
    project.write("b_src.txt", "bee\n")
    project.write("pipeline.yaml", CHAIN)
    return project


def timestamps(project, relpath):
    start, end = (float(x) for x in project.read(relpath).split())
    return start, end


# --- targets -------------------------------------------------------------------------------


def test_stage_name_target_runs_it_with_its_upstream_only(project):
    chain(project)
    result = project.cli_ok("repro", "b")
    assert ran_stages(result.stdout) == ["a", "b"]
    assert not project.exists("c.txt")
    assert not project.exists("d.txt")


def test_out_path_target_runs_the_stage_that_makes_it(project):
    chain(project)
    result = project.cli_ok("repro", "b.txt")
    assert ran_stages(result.stdout) == ["a", "b"]
    assert project.read("b.txt") == "one\nbee\n"


def test_path_inside_a_directory_out_targets_the_stage_that_makes_the_directory(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make_dir:
            cmd: mkdir -p outdir && echo x > outdir/x.txt && echo y > outdir/y.txt
            outs: [outdir]
          other:
            cmd: echo other > other.txt
            outs: [other.txt]
    """,
    )
    result = project.cli_ok("repro", "outdir/x.txt")
    assert ran_stages(result.stdout) == ["make_dir"]
    assert project.read("outdir/y.txt") == "y\n"
    assert not project.exists("other.txt")


def test_out_path_target_is_resolved_relative_to_a_subdirectory_cwd(project):
    project.write("sub/readme.txt", "a folder\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          top:
            cmd: echo top > top.txt
            outs: [top.txt]
          inner:
            cmd: echo inner > sub/inner.txt
            outs: [sub/inner.txt]
    """,
    )
    result = project.cli_ok("repro", "inner.txt", cwd=project.path / "sub")
    assert ran_stages(result.stdout) == ["inner"]
    assert project.read("sub/inner.txt") == "inner\n"
    assert not project.exists("top.txt")


def test_unknown_target_fails_with_a_suggestion_and_runs_nothing(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            cmd: echo model > model.txt
            outs: [model.txt]
    """,
    )
    result = project.cli_fails("repro", "trian")
    assert "unknown target 'trian'" in result.stderr
    assert "did you mean 'train'" in result.stderr
    assert ran_stages(result.stdout) == []
    assert not project.exists("model.txt")


# --- flags ---------------------------------------------------------------------------------


def test_force_reruns_up_to_date_stages(project):
    chain(project)
    project.cli_ok("repro")
    assert ran_stages(project.cli_ok("repro").stdout) == []
    result = project.cli_ok("repro", "-f")
    assert ran_stages(result.stdout) == ["a", "b", "c", "d"]
    assert "forced" in result.stdout


def test_single_item_runs_only_the_target_not_its_stale_upstream(project):
    chain(project)
    project.cli_ok("repro")
    project.write("src.txt", "two\n")  # a is stale
    project.write("b_src.txt", "bee2\n")  # b is stale on its own
    result = project.cli_ok("repro", "-s", "b")
    assert ran_stages(result.stdout) == ["b"]
    assert project.read("a.txt") == "one\n"  # upstream left alone
    assert project.read("b.txt") == "one\nbee2\n"


def test_downstream_runs_target_and_downstream_but_not_upstream(project):
    chain(project)
    project.cli_ok("repro")
    project.write("src.txt", "two\n")  # a is stale
    project.write("b_src.txt", "bee2\n")  # b is stale, and its new out makes c stale
    result = project.cli_ok("repro", "--downstream", "b")
    assert ran_stages(result.stdout) == ["b", "c"]
    assert project.read("a.txt") == "one\n"
    assert project.read("c.txt") == "one\nbee2\n"


def test_dry_run_on_a_fresh_project_runs_and_writes_nothing(project):
    chain(project)
    result = project.cli_ok("repro", "--dry")
    assert ran_stages(result.stdout) == []
    assert "Would run stage 'a': new stage" in result.stdout
    for out in ("a.txt", "b.txt", "c.txt", "d.txt", "pipeline.lock"):
        assert not project.exists(out), out


def test_dry_run_leaves_lock_and_outs_untouched_and_says_why(project):
    chain(project)
    project.cli_ok("repro")
    lock_before = project.read("pipeline.lock")
    a_stat = os.stat(project.path / "a.txt")
    project.write("src.txt", "two\n")
    result = project.cli_ok("repro", "-n")
    assert ran_stages(result.stdout) == []
    assert "Would run stage 'a': changed deps: modified src.txt" in result.stdout
    assert "Would run stage 'b': " in result.stdout
    assert "Would run stage 'd'" not in result.stdout
    assert project.read("pipeline.lock") == lock_before
    assert project.read("a.txt") == "one\n"
    assert os.stat(project.path / "a.txt").st_mtime_ns == a_stat.st_mtime_ns
    # and the change is still there to be run for real
    assert ran_stages(project.cli_ok("repro").stdout) == ["a", "b", "c"]


FAILING_BRANCH = """
    stages:
      bad:
        cmd: grep -q good mode.txt && cp mode.txt bad.txt
        deps: [mode.txt]
        outs: [bad.txt]
      after_bad:
        cmd: cat bad.txt > after_bad.txt
        deps: [bad.txt]
        outs: [after_bad.txt]
      good:
        cmd: cp good_src.txt good.txt
        deps: [good_src.txt]
        outs: [good.txt]
"""


def failing_branch(project, mode="bad\n"):
    project.write("mode.txt", mode)
    project.write("good_src.txt", "fine\n")
    project.write("pipeline.yaml", FAILING_BRANCH)
    return project


def test_keep_going_runs_independent_branch_and_skips_failed_stages_downstream(project):
    failing_branch(project)
    result = project.cli_fails("repro", "-k")
    assert ran_stages(result.stdout) == ["bad", "good"]
    assert project.read("good.txt") == "fine\n"
    assert not project.exists("after_bad.txt")
    assert "Summary: 1 ran, 1 failed, 1 skipped, 0 up to date" in result.stdout


def test_without_keep_going_repro_stops_after_the_first_failure(project):
    failing_branch(project)
    result = project.cli_fails("repro")
    assert ran_stages(result.stdout) == ["bad"]
    assert not project.exists("good.txt")
    assert not project.exists("after_bad.txt")
    assert "Summary: 0 ran, 1 failed, 2 skipped, 0 up to date" in result.stdout


def test_summary_counts_up_to_date_stages(project):
    failing_branch(project)
    project.cli_ok("repro", "good")
    result = project.cli_fails("repro", "-k")
    assert ran_stages(result.stdout) == ["bad"]
    assert "Summary: 0 ran, 1 failed, 1 skipped, 1 up to date" in result.stdout


def test_lock_keeps_successful_stages_and_failed_stage_keeps_its_previous_entry(project):
    failing_branch(project, mode="good\n")
    project.cli_ok("repro")
    before = project.lock()["stages"]
    project.write("mode.txt", "now bad\n")  # bad will fail
    project.write("good_src.txt", "changed\n")  # good will rerun and succeed
    project.cli_fails("repro", "-k")
    after = project.lock()["stages"]
    assert after["bad"] == before["bad"]
    assert after["after_bad"] == before["after_bad"]
    assert after["good"] != before["good"]
    assert after["good"]["outs"][0]["size"] == len("changed\n")
    # bad is still stale: the failure was not recorded as a success
    assert "bad:" in project.cli_ok("status").stdout


# --- parallel ------------------------------------------------------------------------------


def test_two_jobs_run_independent_stages_at_the_same_time(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          left:
            cmd: date +%s.%N > left.times && sleep 1 && date +%s.%N >> left.times
            outs: [left.times]
          right:
            cmd: date +%s.%N > right.times && sleep 1 && date +%s.%N >> right.times
            outs: [right.times]
    """,
    )
    project.cli_ok("repro", "-j", "2")
    left, right = timestamps(project, "left.times"), timestamps(project, "right.times")
    assert left[0] < right[1] and right[0] < left[1], (left, right)


def test_one_job_runs_independent_stages_one_after_the_other(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          left:
            cmd: date +%s.%N > left.times && sleep 0.3 && date +%s.%N >> left.times
            outs: [left.times]
          right:
            cmd: date +%s.%N > right.times && sleep 0.3 && date +%s.%N >> right.times
            outs: [right.times]
    """,
    )
    project.cli_ok("repro", "-j", "1")
    left, right = timestamps(project, "left.times"), timestamps(project, "right.times")
    assert left[1] <= right[0], (left, right)


def test_parallel_output_lines_are_prefixed_with_the_stage_name(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          left:
            cmd: echo hello-from-left > left.txt && echo hello-from-left
            outs: [left.txt]
          right:
            cmd: echo hello-from-right > right.txt && echo hello-from-right
            outs: [right.txt]
    """,
    )
    lines = project.cli_ok("repro", "-j", "2").stdout.splitlines()
    assert "[left] hello-from-left" in lines
    assert "[right] hello-from-right" in lines


# --- how a stage is run --------------------------------------------------------------------


def test_outs_are_removed_before_a_stage_runs(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          log:
            cmd: echo line >> log.txt
            outs: [log.txt]
    """,
    )
    project.cli_ok("repro")
    project.cli_ok("repro", "-f")
    assert project.read("log.txt") == "line\n"


def test_persist_out_is_kept_between_runs(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          log:
            cmd: echo line >> log.txt
            outs:
              - log.txt: {persist: true}
    """,
    )
    project.cli_ok("repro")
    project.cli_ok("repro", "-f")
    assert project.read("log.txt") == "line\nline\n"


def test_parent_folders_of_outs_are_created(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          deep:
            cmd: echo deep > results/nested/deep.txt
            outs: [results/nested/deep.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("results/nested/deep.txt") == "deep\n"


def test_cmd_runs_through_the_shell_in_wdir(project):
    project.write("sub/input.txt", "hello\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          inside:
            wdir: sub
            cmd: pwd > here.txt && echo $((40 + 2)) | cat - input.txt >> here.txt
            deps: [input.txt]
            outs: [here.txt]
    """,
    )
    project.cli_ok("repro")
    lines = project.read("sub/here.txt").splitlines()
    assert os.path.realpath(lines[0]) == os.path.realpath(project.path / "sub")
    assert lines[1:] == ["42", "hello"]
    assert not project.exists("here.txt")


def test_missing_declared_out_fails_naming_it_and_is_not_locked(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          fine:
            cmd: echo ok > fine.txt
            outs: [fine.txt]
          forgetful:
            cmd: echo did nothing
            outs: [never-written.txt]
    """,
    )
    result = project.cli_fails("repro", "-k")
    output = result.stdout + result.stderr
    failure = [line for line in output.splitlines() if "failed" in line and "forgetful" in line]
    assert any("never-written.txt" in line for line in failure), output
    stages = project.lock()["stages"]
    assert "fine" in stages
    assert "forgetful" not in stages


def test_failing_cmd_reports_its_exit_code_and_output_tail(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          broken:
            cmd: echo first-words; echo last-words; exit 3
            outs: [broken.txt]
    """,
    )
    result = project.cli_fails("repro")
    output = result.stdout + result.stderr
    report = output[output.index("Stage 'broken' failed") :]
    assert "code 3" in report.splitlines()[0]
    assert "last-words" in report
    assert not project.exists("pipeline.lock") or "broken" not in (project.lock()["stages"] or {})


def test_command_not_found_is_reported_as_exit_code_127(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          typo:
            cmd: no-such-command-pipetool-test --go
            outs: [typo.txt]
    """,
    )
    result = project.cli_fails("repro")
    output = result.stdout + result.stderr
    failure = output[output.index("Stage 'typo' failed") :].splitlines()[0]
    assert "command not found" in failure
    assert "127" in failure


def test_with_one_job_the_next_stage_runs_while_the_last_ones_outs_go_to_the_cache(project, monkeypatch):
    """-j 1: once a stage's outs are hashed, the next stage that would come next anyway starts,
    and the outs are stored in the cache meanwhile (a good part of what a tool adds to a quick
    stage); the order, the output and what is recorded are as before."""
    from pipetool.engine import outs

    project.write(
        "pipeline.yaml",
        """
        stages:
          first:
            cmd: echo 1 > first.txt
            outs: [first.txt]
          second:
            cmd: touch second-started && cat first.txt > second.txt
            deps: [first.txt]
            outs: [second.txt]
          third:
            cmd: touch third-started && echo 3 > third.txt
            outs: [third.txt]
    """,
    )
    store = outs.save
    started_while_stored = {}

    def save(stage, *args, **kwargs):
        if stage.name == "second":  # the handshake: third's cmd has begun
            deadline = time.monotonic() + 10
            while not project.exists("third-started") and time.monotonic() < deadline:
                time.sleep(0.005)
        started_while_stored[stage.name] = [name for name in ("second", "third") if project.exists(f"{name}-started")]
        return store(stage, *args, **kwargs)

    monkeypatch.setattr(outs, "save", save)
    result = project.cli_ok("repro", "-j", "1")
    # second waits for first (its dep), then third, which would come after second anyway, starts
    # while second's out is stored
    assert started_while_stored == {"first": [], "second": ["second", "third"], "third": ["second", "third"]}
    assert ran_stages(result.stdout) == ["first", "second", "third"]
    lines = [line for line in result.stdout.splitlines() if line.startswith(("Running", "Stage"))]
    assert [line.split(" done in")[0] for line in lines] == [
        "Running stage 'first': new stage",
        "Stage 'first'",
        "Running stage 'second': new stage",
        "Stage 'second'",
        "Running stage 'third': new stage",
        "Stage 'third'",
    ]
    assert sorted(project.lock()["stages"]) == ["first", "second", "third"]
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_diamond_runs_in_topological_order_with_definition_order_breaking_ties(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          bottom:
            cmd: cat right.txt left.txt > bottom.txt
            deps: [right.txt, left.txt]
            outs: [bottom.txt]
          right:
            cmd: cat top.txt > right.txt
            deps: [top.txt]
            outs: [right.txt]
          left:
            cmd: cat top.txt > left.txt
            deps: [top.txt]
            outs: [left.txt]
          top:
            cmd: echo top > top.txt
            outs: [top.txt]
    """,
    )
    result = project.cli_ok("repro", "-j", "1")
    assert ran_stages(result.stdout) == ["top", "right", "left", "bottom"]
    assert project.read("bottom.txt") == "top\ntop\n"


def test_missing_source_dep_is_an_error_before_anything_runs(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          first:
            cmd: echo first > first.txt
            outs: [first.txt]
          needs_input:
            cmd: cat input.csv > copy.csv
            deps: [input.csv]
            outs: [copy.csv]
    """,
    )
    result = project.cli_fails("repro")
    assert "input.csv" in result.stderr
    assert "needs_input" in result.stderr
    assert "does not exist" in result.stderr
    assert ran_stages(result.stdout) == []
    assert not project.exists("first.txt")
    assert not project.exists("pipeline.lock")
