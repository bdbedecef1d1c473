"""The staleness rule of DESIGN.md, one rule per test, through the real CLI.

Each test brings a project up to date, changes one thing, checks the exact reasons
`pipetool status` gives, then checks that `pipetool repro` runs exactly the stages expected.
"""

from __future__ import annotations

import os
import time

from conftest import ran_stages

UP_TO_DATE = "Data and pipelines are up to date.\n"

PIPELINE = """
    stages:
      prep:
        cmd: cut -d, -f1 data/x.csv > prep.csv
        deps: [data/x.csv]
        outs: [prep.csv]
      train:
        cmd: cat prep.csv > model.pkl
        deps: [prep.csv]
        params: [train.lr]
        outs: [model.pkl]
"""


def setup_two_stages(project, pipeline: str = PIPELINE) -> None:
    """prep -> train, run once so that everything is up to date."""
    project.write("data/x.csv", "1,a\n2,b\n")
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    project.write("pipeline.yaml", pipeline)
    assert ran_stages(project.cli_ok("repro").stdout) == ["prep", "train"]
    assert project.cli_ok("status").stdout == UP_TO_DATE


def status(project) -> str:
    return project.cli_ok("status").stdout


# Tests that remove or damage an out pass --no-run-cache: they are about which stages are stale
# and run; getting outs back from the run-cache instead is tested in test_cache.py.
def repro_ran(project, *args: str) -> list[str]:
    return ran_stages(project.cli_ok("repro", *args).stdout)


def bump_mtime(path) -> None:
    """Move a file's mtime clearly away from its previous value."""
    later = time.time() + 10
    os.utime(path, (later, later))


# --- no lock entry -----------------------------------------------------------------------------


def test_fresh_project_every_stage_is_new(project):
    project.write("data/x.csv", "1,a\n")
    project.write("params.yaml", "train:\n  lr: 0.1\n")
    project.write("pipeline.yaml", PIPELINE)
    assert status(project) == "prep:\n    new stage\ntrain:\n    new stage\n"
    assert repro_ran(project) == ["prep", "train"]
    assert status(project) == UP_TO_DATE


def test_stage_added_to_pipeline_is_new_and_only_it_runs(project):
    setup_two_stages(project)
    project.write(
        "pipeline.yaml",
        PIPELINE
        + (
            "      report:\n"
            "        cmd: wc -l model.pkl > report.txt\n"
            "        deps: [model.pkl]\n"
            "        outs: [report.txt]\n"
        ),
    )
    assert status(project) == "report:\n    new stage\n"
    assert repro_ran(project) == ["report"]
    assert status(project) == UP_TO_DATE


# --- cmd ----------------------------------------------------------------------------------------


def test_cmd_text_changed(project):
    setup_two_stages(project)
    project.write("pipeline.yaml", PIPELINE.replace("cat prep.csv > model.pkl", "cat prep.csv prep.csv > model.pkl"))
    assert status(project) == "train:\n    changed cmd\n"
    assert repro_ran(project) == ["train"]
    assert project.read("model.pkl") == "1\n2\n1\n2\n"
    assert status(project) == UP_TO_DATE


def test_cmd_changed_only_through_var_interpolation(project):
    template = """
        vars:
          - greeting: {value}
        stages:
          hello:
            cmd: echo ${{greeting}} > hello.txt
            outs: [hello.txt]
    """
    project.write("pipeline.yaml", template.format(value="hi"))
    assert repro_ran(project) == ["hello"]
    assert project.lock()["stages"]["hello"]["cmd"] == "echo hi > hello.txt"
    project.write("pipeline.yaml", template.format(value="bye"))
    assert status(project) == "hello:\n    changed cmd\n"
    assert repro_ran(project) == ["hello"]
    assert project.read("hello.txt") == "bye\n"
    assert project.lock()["stages"]["hello"]["cmd"] == "echo bye > hello.txt"


def test_var_change_that_leaves_cmd_text_equal_reruns_nothing(project):
    template = """
        vars:
          - greeting: hi
          - unused: {value}
        stages:
          hello:
            cmd: echo ${{greeting}} > hello.txt
            outs: [hello.txt]
    """
    project.write("pipeline.yaml", template.format(value=1))
    assert repro_ran(project) == ["hello"]
    project.write("pipeline.yaml", template.format(value=2))
    assert status(project) == UP_TO_DATE
    assert repro_ran(project) == []


# --- declared deps / outs / params --------------------------------------------------------------


def test_dep_added_to_declared_list(project):
    setup_two_stages(project)
    project.write("data/y.csv", "9\n")
    project.write("pipeline.yaml", PIPELINE.replace("deps: [data/x.csv]", "deps: [data/x.csv, data/y.csv]"))
    assert status(project) == "prep:\n    changed deps: added data/y.csv\n"
    # prep rewrites identical bytes, so train stays up to date (early cutoff)
    assert repro_ran(project) == ["prep"]
    assert status(project) == UP_TO_DATE


def test_dep_removed_from_declared_list(project):
    project.write("data/y.csv", "9\n")
    setup_two_stages(project, PIPELINE.replace("deps: [data/x.csv]", "deps: [data/x.csv, data/y.csv]"))
    project.write("pipeline.yaml", PIPELINE)
    assert status(project) == "prep:\n    changed deps: removed data/y.csv\n"
    assert repro_ran(project) == ["prep"]
    assert [d["path"] for d in project.lock()["stages"]["prep"]["deps"]] == ["data/x.csv"]
    assert status(project) == UP_TO_DATE


PIPELINE_EXTRA_OUT = PIPELINE.replace(
    "cut -d, -f1 data/x.csv > prep.csv", "cut -d, -f1 data/x.csv > prep.csv && echo log > prep.log"
)


def test_out_added_to_declared_list(project):
    setup_two_stages(project, PIPELINE_EXTRA_OUT)
    project.write("pipeline.yaml", PIPELINE_EXTRA_OUT.replace("outs: [prep.csv]", "outs: [prep.csv, prep.log]"))
    assert status(project) == "prep:\n    changed outs: added prep.log\n"
    assert repro_ran(project) == ["prep"]
    assert [o["path"] for o in project.lock()["stages"]["prep"]["outs"]] == ["prep.csv", "prep.log"]
    assert status(project) == UP_TO_DATE


def test_out_removed_from_declared_list(project):
    setup_two_stages(project, PIPELINE_EXTRA_OUT.replace("outs: [prep.csv]", "outs: [prep.csv, prep.log]"))
    project.write("pipeline.yaml", PIPELINE_EXTRA_OUT)
    assert status(project) == "prep:\n    changed outs: removed prep.log\n"
    assert repro_ran(project) == ["prep"]
    assert [o["path"] for o in project.lock()["stages"]["prep"]["outs"]] == ["prep.csv"]
    assert status(project) == UP_TO_DATE


def test_param_added_to_declared_list(project):
    setup_two_stages(project)
    project.write("pipeline.yaml", PIPELINE.replace("params: [train.lr]", "params: [train.lr, train.epochs]"))
    assert status(project) == "train:\n    changed params: added train.epochs\n"
    assert repro_ran(project) == ["train"]
    assert project.lock()["stages"]["train"]["params"] == {"params.yaml": {"train.epochs": 3, "train.lr": 0.1}}
    assert status(project) == UP_TO_DATE


def test_param_removed_from_declared_list(project):
    setup_two_stages(project, PIPELINE.replace("params: [train.lr]", "params: [train.lr, train.epochs]"))
    project.write("pipeline.yaml", PIPELINE)
    assert status(project) == "train:\n    changed params: removed train.epochs\n"
    assert repro_ran(project) == ["train"]
    assert project.lock()["stages"]["train"]["params"] == {"params.yaml": {"train.lr": 0.1}}
    assert status(project) == UP_TO_DATE


# --- deps on disk -------------------------------------------------------------------------------


def test_dep_content_changed(project):
    setup_two_stages(project)
    project.write("data/x.csv", "1,a\n3,b\n")
    assert status(project) == "prep:\n    changed deps: modified data/x.csv\n"
    assert repro_ran(project) == ["prep", "train"]
    assert project.read("model.pkl") == "1\n3\n"
    assert status(project) == UP_TO_DATE


def test_source_dep_deleted_is_stale_and_repro_refuses(project):
    setup_two_stages(project)
    os.remove(project.path / "data/x.csv")
    assert status(project) == "prep:\n    changed deps: deleted data/x.csv\n"
    result = project.cli_fails("repro")
    assert ran_stages(result.stdout) == []
    assert "dep 'data/x.csv' does not exist and no stage makes it" in result.stderr
    assert project.read("prep.csv") == "1\n2\n"


def test_dep_made_by_upstream_deleted_reruns_only_the_upstream(project):
    setup_two_stages(project)
    os.remove(project.path / "prep.csv")
    assert status(project) == (
        "prep:\n    changed outs: deleted prep.csv\ntrain:\n    changed deps: deleted prep.csv\n"
    )
    # prep recreates the very same prep.csv, so train's inputs are as locked again
    assert repro_ran(project, "--no-run-cache") == ["prep"]
    assert status(project) == UP_TO_DATE


def test_dep_rewritten_with_identical_bytes_reruns_nothing(project):
    setup_two_stages(project)
    lock_before = project.read("pipeline.lock")
    target = project.write("data/x.csv", "1,a\n2,b\n")
    bump_mtime(target)
    assert status(project) == UP_TO_DATE
    assert repro_ran(project) == []
    assert project.read("pipeline.lock") == lock_before


def test_file_added_inside_directory_dep(project):
    project.write("data/dir/a.txt", "a\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          count:
            cmd: ls data/dir > listing.txt
            deps: [data/dir]
            outs: [listing.txt]
    """,
    )
    assert repro_ran(project) == ["count"]
    project.write("data/dir/b.txt", "b\n")
    assert status(project) == "count:\n    changed deps: modified data/dir\n"
    assert repro_ran(project) == ["count"]
    assert project.read("listing.txt") == "a.txt\nb.txt\n"
    assert project.lock()["stages"]["count"]["deps"][0]["nfiles"] == 2
    assert status(project) == UP_TO_DATE


# --- params -------------------------------------------------------------------------------------


def test_used_param_value_changed(project):
    setup_two_stages(project)
    project.write("params.yaml", "train:\n  lr: 0.2\n  epochs: 3\n")
    assert status(project) == "train:\n    changed params: train.lr 0.1 -> 0.2\n"
    assert repro_ran(project) == ["train"]
    assert project.lock()["stages"]["train"]["params"] == {"params.yaml": {"train.lr": 0.2}}
    assert status(project) == UP_TO_DATE


def test_unused_param_changed_reruns_nothing(project):
    setup_two_stages(project)
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 30\n")
    assert status(project) == UP_TO_DATE
    assert repro_ran(project) == []


# --- outs on disk -------------------------------------------------------------------------------


def test_out_deleted(project):
    setup_two_stages(project)
    os.remove(project.path / "model.pkl")
    assert status(project) == "train:\n    changed outs: deleted model.pkl\n"
    assert repro_ran(project, "--no-run-cache") == ["train"]
    assert project.read("model.pkl") == "1\n2\n"
    assert status(project) == UP_TO_DATE


def test_out_modified(project):
    setup_two_stages(project)
    project.write("model.pkl", "tampered\n")
    assert status(project) == "train:\n    changed outs: modified model.pkl\n"
    assert repro_ran(project, "--no-run-cache") == ["train"]
    assert project.read("model.pkl") == "1\n2\n"
    assert status(project) == UP_TO_DATE


# --- always_changed and frozen ------------------------------------------------------------------


def test_always_changed_is_always_stale_and_always_runs(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          fetch:
            cmd: echo same > fetched.txt
            outs: [fetched.txt]
            always_changed: true
          use:
            cmd: cat fetched.txt > used.txt
            deps: [fetched.txt]
            outs: [used.txt]
    """,
    )
    assert repro_ran(project) == ["fetch", "use"]
    assert status(project) == "fetch:\n    always changed\n"
    # fetch runs again; it writes the same bytes, so its downstream does not
    assert repro_ran(project) == ["fetch"]
    assert repro_ran(project) == ["fetch"]
    assert status(project) == "fetch:\n    always changed\n"


def test_a_stage_with_no_deps_params_or_outs_always_runs_as_in_dvc(project):
    # DVC's callback stage: nothing could show it is up to date, so it runs every time
    project.write("params.yaml", "n: 1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          notify:
            cmd: echo ran >> notified.log
          with_param:
            cmd: echo ${n} > n.log
            params: [n]
    """,
    )
    assert repro_ran(project) == ["notify", "with_param"]
    assert status(project) == "notify:\n    always changed (no deps or outs)\n"
    assert repro_ran(project) == ["notify"]
    assert repro_ran(project, "notify") == ["notify"]
    assert project.read("notified.log") == "ran\nran\nran\n"
    assert project.cli_ok("status", "--json").stdout.count('"always_changed"') == 1


def test_frozen_stage_is_shown_stale_but_not_run(project):
    setup_two_stages(project)
    project.write("pipeline.yaml", PIPELINE.replace("outs: [prep.csv]", "outs: [prep.csv]\n        frozen: true"))
    assert status(project) == UP_TO_DATE
    project.write("data/x.csv", "7,a\n")
    assert status(project) == "prep (frozen):\n    changed deps: modified data/x.csv\n"
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == []
    assert "Stage 'prep' is frozen, not run" in result.stdout
    assert project.read("prep.csv") == "1\n2\n"
    assert status(project) == "prep (frozen):\n    changed deps: modified data/x.csv\n"


# --- early cutoff -------------------------------------------------------------------------------


def test_early_cutoff_upstream_rerun_with_identical_output_leaves_downstream(project):
    setup_two_stages(project)
    # only the second column changes; prep keeps the first, so prep.csv is byte-identical
    project.write("data/x.csv", "1,z\n2,y\n")
    assert status(project) == "prep:\n    changed deps: modified data/x.csv\n"
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["prep"]
    assert "Stage 'train' is up to date" in result.stdout
    assert project.read("prep.csv") == "1\n2\n"
    assert status(project) == UP_TO_DATE


def test_upstream_rerun_with_different_output_reruns_downstream(project):
    setup_two_stages(project)
    project.write("data/x.csv", "5,a\n2,b\n")
    assert repro_ran(project) == ["prep", "train"]
    assert project.read("model.pkl") == "5\n2\n"


def test_early_cutoff_also_holds_with_parallel_jobs(project):
    setup_two_stages(project)
    project.write("data/x.csv", "1,z\n2,y\n")
    assert ran_stages(project.cli_ok("repro", "-j", "2").stdout) == ["prep"]
    assert status(project) == UP_TO_DATE


def test_early_cutoff_for_a_directory_out(project):
    project.write("src.txt", "1a\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: mkdir -p d && cut -c1 src.txt > d/f
            deps: [src.txt]
            outs: [d]
          use:
            cmd: cat d/f > u.txt
            deps: [d]
            outs: [u.txt]
    """,
    )
    assert repro_ran(project) == ["make", "use"]
    project.write("src.txt", "1b\n")
    assert repro_ran(project) == ["make"]
    assert status(project) == UP_TO_DATE


# --- the declared set, not its spelling ---------------------------------------------------------


def test_reordering_or_respelling_declared_deps_is_not_a_change(project):
    project.write("data/y.csv", "9\n")
    setup_two_stages(project, PIPELINE.replace("deps: [data/x.csv]", "deps: [data/x.csv, data/y.csv]"))
    project.write("pipeline.yaml", PIPELINE.replace("deps: [data/x.csv]", "deps: [data/y.csv, ./data/x.csv]"))
    assert status(project) == UP_TO_DATE
    assert repro_ran(project) == []


def test_param_interpolated_into_cmd_is_tracked_as_used(project):
    project.write("params.yaml", "train:\n  lr: 0.1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          fit:
            cmd: echo ${train.lr} > fit.txt
            outs: [fit.txt]
    """,
    )
    assert repro_ran(project) == ["fit"]
    assert project.lock()["stages"]["fit"]["params"] == {"params.yaml": {"train.lr": 0.1}}
    project.write("params.yaml", "train:\n  lr: 0.3\n")
    assert status(project) == "fit:\n    changed cmd\n    changed params: train.lr 0.1 -> 0.3\n"
    assert repro_ran(project) == ["fit"]
    assert project.read("fit.txt") == "0.3\n"


def test_unchanged_nan_param_is_up_to_date(project):
    # .nan is a legal YAML float; an unchanged value must not make the stage stale forever
    project.write("params.yaml", "train:\n  lr: 0.1\n  clip: .nan\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          fit:
            cmd: echo fit > fit.txt
            params: [train.clip]
            outs: [fit.txt]
    """,
    )
    assert repro_ran(project) == ["fit"]
    assert status(project) == UP_TO_DATE
    assert repro_ran(project) == []


def test_metric_file_modified_is_stale(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          score:
            cmd: echo '{"acc":0.9}' > metrics.json
            metrics:
              - metrics.json: {cache: false}
    """,
    )
    assert repro_ran(project) == ["score"]
    project.write("metrics.json", '{"acc":1.0}\n')
    assert status(project) == "score:\n    changed outs: modified metrics.json\n"
    assert repro_ran(project, "--no-run-cache") == ["score"]
    assert project.read("metrics.json") == '{"acc":0.9}\n'
