"""`pipetool status`: its text, --json, --exit-code and targets, through the real CLI."""

from __future__ import annotations

import json
import os

from conftest import ran_stages

UP_TO_DATE = "Data and pipelines are up to date.\n"

# a -> b -> c, and d on its own
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
        cmd: cat b.txt > c.txt
        deps: [b.txt]
        outs: [c.txt]
      d:
        cmd: cat other.txt > d.txt
        deps: [other.txt]
        outs: [d.txt]
"""


def setup_chain(project, run: bool = True) -> None:
    project.write("src.txt", "src\n")
    project.write("other.txt", "other\n")
    project.write("params.yaml", "train:\n  lr: 0.1\n")
    project.write("pipeline.yaml", CHAIN)
    if run:
        assert ran_stages(project.cli_ok("repro").stdout) == ["a", "b", "c", "d"]


def test_up_to_date_message(project):
    setup_chain(project)
    result = project.cli_ok("status")
    assert result.stdout == UP_TO_DATE
    assert result.stderr == ""


def backdate(project, *names: str) -> None:
    """Files older than the state db's racy window (a second), so their hashes are kept."""
    past = os.stat(project.path / names[0]).st_mtime - 10
    for name in names:
        os.utime(project.path / name, (past, past))


def test_verbose_says_what_was_hashed_and_how_fast(project):
    setup_chain(project)
    files = ["src.txt", "other.txt", "a.txt", "b.txt", "c.txt", "d.txt"]
    backdate(project, *files)
    first = project.cli_ok("status", "-v")  # new mtimes: each file read once more
    assert first.stderr.startswith("Hashed 6 file(s), 28 bytes, in ")
    assert first.stderr.endswith(" GB/s.\n")
    again = project.cli_ok("status", "-v")
    assert again.stdout == UP_TO_DATE
    assert again.stderr == "Hashed nothing: every hash was known from the state db.\n"
    project.write("src.txt", "a longer source\n")  # 16 bytes, the only file to read again
    backdate(project, "src.txt")
    changed = project.cli_ok("status", "--verbose")
    assert changed.stdout.startswith("a:\n")
    assert changed.stderr.startswith("Hashed 1 file(s), 16 bytes, in ")


def test_stale_stages_listed_in_topological_order_with_all_their_reasons(project):
    setup_chain(project)
    project.write("other.txt", "changed\n")
    project.write("src.txt", "changed\n")
    project.write("params.yaml", "train:\n  lr: 0.5\n")
    os.remove(project.path / "c.txt")
    assert project.cli_ok("status").stdout == (
        "a:\n"
        "    changed deps: modified src.txt\n"
        "b:\n"
        "    changed params: train.lr 0.1 -> 0.5\n"
        "c:\n"
        "    changed outs: deleted c.txt\n"
        "d:\n"
        "    changed deps: modified other.txt\n"
    )


def test_status_lists_several_reasons_of_one_stage(project):
    setup_chain(project)
    project.write("pipeline.yaml", CHAIN.replace("cat a.txt > b.txt", "cat a.txt a.txt > b.txt"))
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    project.write("b.txt", "edited\n")
    assert project.cli_ok("status").stdout == (
        "b:\n"
        "    changed cmd\n"
        "    changed params: train.lr 0.1 -> 0.2\n"
        "    changed outs: modified b.txt\n"
        "c:\n"
        "    changed deps: modified b.txt\n"
    )


def test_stale_upstream_does_not_list_its_downstream(project):
    # each stage is judged on its own inputs; b may well stay up to date after a reruns
    setup_chain(project)
    project.write("src.txt", "changed\n")
    assert project.cli_ok("status").stdout == "a:\n    changed deps: modified src.txt\n"


def test_status_changes_nothing_on_disk(project):
    setup_chain(project)
    project.write("src.txt", "changed\n")
    lock_before = project.read("pipeline.lock")
    project.cli_ok("status")
    project.cli_ok("status", "--json")
    assert project.read("pipeline.lock") == lock_before
    assert project.read("a.txt") == "src\n"
    assert "changed deps: modified src.txt" in project.cli_ok("status").stdout


# --- targets ------------------------------------------------------------------------------------


def test_status_target_covers_the_stage_and_its_upstream_only(project):
    setup_chain(project, run=False)
    assert project.cli_ok("status", "b").stdout == "a:\n    new stage\nb:\n    new stage\n"


def test_status_target_as_out_path(project):
    setup_chain(project, run=False)
    assert project.cli_ok("status", "b.txt").stdout == "a:\n    new stage\nb:\n    new stage\n"


def test_status_target_ignores_downstream_and_unrelated_changes(project):
    setup_chain(project)
    project.write("other.txt", "changed\n")
    os.remove(project.path / "c.txt")
    assert project.cli_ok("status", "b").stdout == UP_TO_DATE
    assert project.cli_ok("status", "d").stdout == "d:\n    changed deps: modified other.txt\n"


def test_status_several_targets(project):
    setup_chain(project, run=False)
    assert project.cli_ok("status", "d", "a").stdout == "a:\n    new stage\nd:\n    new stage\n"


def test_status_unknown_target_is_a_clean_error(project):
    setup_chain(project)
    result = project.cli_fails("status", "nosuchstage")
    assert "unknown target 'nosuchstage'" in result.stderr
    assert result.stdout == ""


# --- --json -------------------------------------------------------------------------------------


def test_json_is_an_empty_object_when_up_to_date(project):
    setup_chain(project)
    assert json.loads(project.cli_ok("status", "--json").stdout) == {}


def test_json_structure_for_each_reason_kind(project):
    setup_chain(project)
    project.write("src.txt", "changed\n")
    project.write("params.yaml", "train:\n  lr: 0.2\n")
    os.remove(project.path / "c.txt")
    project.write("pipeline.yaml", CHAIN.replace("cat other.txt > d.txt", "cat other.txt other.txt > d.txt"))
    assert json.loads(project.cli_ok("status", "--json").stdout) == {
        "a": {
            "frozen": False,
            "reasons": [
                {
                    "kind": "deps",
                    "message": "changed deps: modified src.txt",
                    "subject": "src.txt",
                    "change": "modified",
                },
            ],
        },
        "b": {
            "frozen": False,
            "reasons": [
                {
                    "kind": "params",
                    "message": "changed params: train.lr 0.1 -> 0.2",
                    "subject": "train.lr",
                    "change": "modified",
                    "old": 0.1,
                    "new": 0.2,
                },
            ],
        },
        "c": {
            "frozen": False,
            "reasons": [
                {"kind": "outs", "message": "changed outs: deleted c.txt", "subject": "c.txt", "change": "deleted"},
            ],
        },
        "d": {"frozen": False, "reasons": [{"kind": "cmd", "message": "changed cmd"}]},
    }


def test_json_new_stage(project):
    setup_chain(project, run=False)
    assert json.loads(project.cli_ok("status", "--json", "a").stdout) == {
        "a": {"frozen": False, "reasons": [{"kind": "new", "message": "new stage"}]},
    }


def test_json_param_added_has_null_old_value(project):
    setup_chain(project)
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    project.write("pipeline.yaml", CHAIN.replace("params: [train.lr]", "params: [train.lr, train.epochs]"))
    assert json.loads(project.cli_ok("status", "--json").stdout) == {
        "b": {
            "frozen": False,
            "reasons": [
                {
                    "kind": "params",
                    "message": "changed params: added train.epochs",
                    "subject": "train.epochs",
                    "change": "added",
                    "old": None,
                    "new": 3,
                },
            ],
        },
    }


def test_json_marks_frozen_stages(project):
    setup_chain(project)
    project.write("pipeline.yaml", CHAIN.replace("outs: [a.txt]", "outs: [a.txt]\n        frozen: true"))
    project.write("src.txt", "changed\n")
    data = json.loads(project.cli_ok("status", "--json").stdout)
    assert data == {
        "a": {
            "frozen": True,
            "reasons": [
                {
                    "kind": "deps",
                    "message": "changed deps: modified src.txt",
                    "subject": "src.txt",
                    "change": "modified",
                },
            ],
        }
    }


def test_json_with_target(project):
    setup_chain(project, run=False)
    assert list(json.loads(project.cli_ok("status", "--json", "c").stdout)) == ["a", "b", "c"]


# --- --exit-code --------------------------------------------------------------------------------


def test_exit_code_is_1_when_anything_is_stale(project):
    setup_chain(project)
    project.write("src.txt", "changed\n")
    result = project.cli("status", "--exit-code")
    assert result.returncode == 1
    assert result.stdout == "a:\n    changed deps: modified src.txt\n"
    assert "Traceback" not in result.stderr


def test_exit_code_is_0_when_up_to_date(project):
    setup_chain(project)
    result = project.cli("status", "--exit-code")
    assert result.returncode == 0
    assert result.stdout == UP_TO_DATE


def test_exit_code_on_fresh_project_is_1(project):
    setup_chain(project, run=False)
    assert project.cli("status", "--exit-code").returncode == 1


def test_without_exit_code_flag_stale_still_exits_0(project):
    setup_chain(project)
    project.write("src.txt", "changed\n")
    assert project.cli("status").returncode == 0


def test_exit_code_follows_the_targets(project):
    setup_chain(project)
    project.write("other.txt", "changed\n")
    assert project.cli("status", "--exit-code", "c").returncode == 0
    assert project.cli("status", "--exit-code", "d").returncode == 1


def test_exit_code_with_json(project):
    setup_chain(project)
    project.write("src.txt", "changed\n")
    result = project.cli("status", "--exit-code", "--json")
    assert result.returncode == 1
    assert list(json.loads(result.stdout)) == ["a"]


def test_status_target_path_is_relative_to_the_current_folder(project):
    setup_chain(project, run=False)
    (project.path / "sub").mkdir()
    assert project.cli_ok("status", "../b.txt", cwd=project.path / "sub").stdout == (
        "a:\n    new stage\nb:\n    new stage\n"
    )
