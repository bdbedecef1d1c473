"""The per-stage policy of repro (policy.decide_stage): plain data in, a decision out, one test per
branch; and the dry run naming the same stages as the real run, which both go through it."""

from __future__ import annotations

import re

import pytest

from pipetool.engine.policy import STOPPED, Action, Decision, decide_stage
from pipetool.pipeline.stage import Out, Stage
from pipetool.planning.staleness import Reason

DEP = Reason("deps", "data.csv", "modified")
OUT_GONE = Reason("outs", "model.pkl", "deleted")


def make_stage(**overrides) -> Stage:
    fields = dict(name="train", cmd=("python train.py",), deps=("data.csv",), outs=(Out("model.pkl"),))
    fields.update(overrides)
    return Stage(**fields)


# --- each branch once ----------------------------------------------------------------------


def test_a_failed_upstream_skips_the_stage_before_anything_else_is_asked():
    decision = decide_stage(make_stage(frozen=True), [DEP], force=True, upstream_failed=["prep", "other"])
    assert decision == Decision(Action.SKIP, because="upstream stage 'prep' failed")


def test_a_run_stopped_after_a_failure_skips_the_stage():
    assert decide_stage(make_stage(), [DEP], stopped=True) == Decision(Action.SKIP, because=STOPPED)
    assert STOPPED == "stopped after a failure (use -k to run independent stages)"


def test_a_frozen_stage_is_passed_over_even_when_forced_and_keeps_its_staleness():
    assert decide_stage(make_stage(frozen=True), [DEP], force=True) == Decision(Action.FROZEN, (DEP,))
    assert decide_stage(make_stage(frozen=True), []) == Decision(Action.FROZEN, ())


def test_nothing_changed_and_nothing_upstream_pending_is_up_to_date():
    assert decide_stage(make_stage(), []) == Decision(Action.UP_TO_DATE)


def test_a_stale_stage_runs_for_its_reasons_and_may_come_from_the_run_cache():
    decision = decide_stage(make_stage(), [DEP])
    assert decision == Decision(Action.RUN, (DEP,), run_cache=True, restore_locked=False)


def test_force_runs_an_up_to_date_stage_first_for_being_forced_and_never_from_the_run_cache():
    assert decide_stage(make_stage(), [], force=True) == Decision(Action.RUN, (Reason("forced"),))
    assert decide_stage(make_stage(), [DEP], force=True).reasons == (Reason("forced"), DEP)


def test_an_up_to_date_stage_runs_after_a_pending_upstream_named_first():
    decision = decide_stage(make_stage(), [], upstream_pending=["prep", "other"])
    assert decision.action is Action.RUN
    assert decision.reasons == (Reason("upstream", "prep"),)
    assert str(decision.reasons[0]) == "upstream stage 'prep' runs first"
    # its own reasons come before a pending upstream
    assert decide_stage(make_stage(), [DEP], upstream_pending=["prep"]).reasons == (DEP,)


def test_only_deleted_or_modified_outs_let_the_locked_outs_be_put_back():
    assert decide_stage(make_stage(), [OUT_GONE]).restore_locked
    assert not decide_stage(make_stage(), [OUT_GONE, DEP]).restore_locked
    assert not decide_stage(make_stage(), [Reason("outs", "extra.pkl", "added")]).restore_locked


@pytest.mark.parametrize(
    "stage, run_cache",
    [
        (make_stage(), False),  # --no-run-cache
        (make_stage(outs=(Out("model.pkl", persist=True),)), True),  # a persist out
        (make_stage(always_changed=True), True),
    ],
)
def test_the_run_cache_is_not_used_when_off_or_when_the_result_is_not_a_function_of_the_inputs(stage, run_cache):
    decision = decide_stage(stage, [DEP], run_cache=run_cache)
    assert decision.action is Action.RUN
    assert not decision.run_cache


# --- the dry run and the real run name the same stages ---------------------------------------

MIXED = """
    stages:
      a:
        cmd: cp src.txt a.txt
        deps: [src.txt]
        outs: [a.txt]
      b:
        cmd: grep -q good a.txt && cp a.txt b.txt
        deps: [a.txt]
        outs: [b.txt]
      c:
        cmd: cat b.txt > c.txt
        deps: [b.txt]
        outs: [c.txt]
      cold:
        cmd: cp cold_src.txt cold.txt
        deps: [cold_src.txt]
        outs: [cold.txt]
        frozen: true
      d:
        cmd: cp d_src.txt d.txt
        deps: [d_src.txt]
        outs: [d.txt]
      e:
        cmd: cat d.txt > e.txt
        deps: [d.txt]
        outs: [e.txt]
      same:
        cmd: echo same > same.txt
        deps: [same_src.txt]
        outs: [same.txt]
"""


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']+)'", text)


def _named(stdout: str) -> dict[str, set[str]]:
    """Stage names by what a repro said of them."""
    said: dict[str, set[str]] = {"run": set(), "failed": set(), "skipped": set(), "frozen": set(), "up to date": set()}
    for line in stdout.splitlines():
        if line.startswith(("Would run stage '", "Running stage '")) or "restored from run-cache" in line:
            said["run"].add(_quoted(line)[0])
        elif line.startswith("Stage '") and "' failed: " in line:
            said["failed"].add(_quoted(line)[0])
        elif line.startswith("Skipped "):
            names, _, because = line[len("Skipped ") :].partition(": ")
            assert because.startswith("upstream stage '"), line
            said["skipped"].update(_quoted(names))
        elif line.startswith("Stage '") and "is frozen, not run" in line:
            said["frozen"].add(_quoted(line)[0])
        elif line.startswith("Stage '") and line.endswith("' is up to date"):
            said["up to date"].add(_quoted(line)[0])
    return said


@pytest.mark.parametrize("force", [False, True], ids=["stale", "forced"])
def test_the_dry_run_names_the_stages_the_real_run_runs_fails_skips_and_passes_over(project, force):
    for name, text in {
        "src.txt": "good\n",
        "cold_src.txt": "cold\n",
        "d_src.txt": "d\n",
        "same_src.txt": "s\n",
    }.items():
        project.write(name, text)
    project.write("pipeline.yaml", MIXED.replace("frozen: true", "frozen: false"))
    project.cli_ok("repro")
    project.write("pipeline.yaml", MIXED)
    project.write("src.txt", "bad\n")  # a reruns, then b fails and c is skipped
    project.write("cold_src.txt", "colder\n")  # a frozen stage gone stale
    project.write("d_src.txt", "d2\n")  # d and e are stale, on their own branch
    flags = ["-k", "-f"] if force else ["-k"]

    dry = project.cli_ok("repro", "--dry", *flags).stdout
    real = project.cli_fails("repro", *flags).stdout
    planned, done = _named(dry), _named(real)

    assert planned["run"] == done["run"] | done["skipped"]
    assert done["failed"] == {"b"} and done["skipped"] == {"c"}
    assert planned["frozen"] == done["frozen"] == {"cold"}
    everything = {"a", "b", "c", "cold", "d", "e", "same"}
    up_to_date = everything - planned["run"] - {"cold"}
    assert done["up to date"] == up_to_date == (set() if force else {"same"})
    assert f"{len(planned['run'])} stage(s) would run, {len(up_to_date)} up to date" in dry
