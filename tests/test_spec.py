"""pipeline.yaml: every user mistake gets one clear error; every documented feature works.

The error cases are data: tests/data/invalid/NAME.yaml, whose first line is
`# error: <expected substring of the one-line message>` (more `# error:` lines may follow,
each also expected), then optionally `# params: {json}`, the content of params.yaml for the
cases that need one (a JSON string is written verbatim, for a params.yaml that is not valid YAML).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ran_stages

from pipetool.errors import GraphError, SpecError

INVALID_DIR = Path(__file__).parent / "data" / "invalid"
INVALID_CASES = sorted(INVALID_DIR.glob("*.yaml"))
_NO_PARAMS = object()


def _case(path: Path) -> tuple[list[str], object]:
    """(expected error texts, params.yaml content or _NO_PARAMS) from the case file's header."""
    lines = path.read_text().splitlines()
    assert lines and lines[0].startswith("# error: "), f"{path.name}: first line must be '# error: ...'"
    expected = []
    params = _NO_PARAMS
    for line in lines:
        if line.startswith("# error: "):
            expected.append(line[len("# error: ") :])
        elif line.startswith("# params: "):
            params = json.loads(line[len("# params: ") :])
        else:
            break
    return expected, params


def _install_case(project, path: Path) -> str:
    expected, params = _case(path)
    (project.path / "pipeline.yaml").write_bytes(path.read_bytes())
    if isinstance(params, str):
        (project.path / "params.yaml").write_text(params)
    elif params is not _NO_PARAMS:
        (project.path / "params.yaml").write_text(json.dumps(params))
    return expected


def _single_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# ---------------------------------------------------------------------------------------------
# 1. invalid pipelines: one data file per mistake
# ---------------------------------------------------------------------------------------------


def test_invalid_cases_are_present():
    assert len(INVALID_CASES) >= 40
    for path in INVALID_CASES:
        _case(path)  # every file has a well-formed header


def _load(project) -> None:
    """What a command does before it looks at any file a stage reads: compile the pipeline files
    (spec_cache.load, as every command's workspace does) and read the params each stage uses
    (observe.param_values, as status and repro do before deciding what is stale)."""
    from pipetool.pipeline.project import Project as Root
    from pipetool.planning import spec_cache
    from pipetool.planning.observe import param_values

    root = str(project.path)
    compiled = spec_cache.load(root, Root(root).ensure_state_dir())
    for stage in compiled.stages:
        param_values(stage, compiled.params)


@pytest.mark.parametrize("case", INVALID_CASES, ids=[p.stem for p in INVALID_CASES])
def test_loading_an_invalid_pipeline_raises_one_clear_error(project, case):
    """The library call under every command: the error the CLI prints as its one line."""
    expected = _install_case(project, case)
    with pytest.raises((SpecError, GraphError)) as raised:
        _load(project)
    error = raised.value
    line = f"error: {error}"  # as the CLI prints it (tested below through the CLI itself)
    assert "\n" not in line
    for text in expected:
        assert text in line
    assert error.file in ("pipeline.yaml", "params.yaml"), error.file  # it says which file to fix
    assert line.startswith(f"error: {error.file}" + ("" if error.line is None else f":{error.line}"))
    assert error.exit_code == 1
    assert not project.exists("pipeline.lock")


# A few cases, one per place a mistake is caught (YAML syntax, a stage's fields, the graph, the
# params a stage uses), through a real `pipetool status`: one line on stderr, exit code 1.
CLI_CASES = ["yaml_syntax_error", "unknown_stage_field", "cycle", "param_key_missing"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_status_rejects_invalid_pipeline_with_one_clear_line(project, name):
    expected = _install_case(project, INVALID_DIR / f"{name}.yaml")
    result = project.fails("status")
    line = _single_error_line(result)
    for text in expected:
        assert text in line
    assert not project.exists("pipeline.lock")


@pytest.mark.parametrize("case", INVALID_CASES, ids=[p.stem for p in INVALID_CASES])
def test_repro_rejects_invalid_pipeline_and_writes_nothing(project, case):
    """The message itself is checked through the loader above; here: a clean failure of the
    command, its one error line, and nothing written."""
    _install_case(project, case)
    before = {p.name for p in project.path.iterdir()}
    result = project.cli_fails("repro")
    _single_error_line(result)
    assert "Running stage" not in result.stdout
    assert not project.exists("pipeline.lock"), (
        f"a repro that failed with {result.stderr.strip()!r} wrote pipeline.lock:\n" + project.read("pipeline.lock")
    )
    after = {p.name for p in project.path.iterdir()} - {".pipetool"}
    assert after == before, f"repro of an invalid pipeline created {sorted(after - before)}"


# ---------------------------------------------------------------------------------------------
# 2. no pipeline at all
# ---------------------------------------------------------------------------------------------


def test_status_without_pipeline_yaml_says_so(project):
    result = project.cli_fails("status")
    line = _single_error_line(result)
    assert "no pipeline.yaml" in line
    assert not project.exists("pipeline.lock")
    assert not project.exists(".pipetool")


def test_repro_without_pipeline_yaml_says_so(project):
    result = project.cli_fails("repro")
    assert "no pipeline.yaml" in _single_error_line(result)
    assert not project.exists("pipeline.lock")


# ---------------------------------------------------------------------------------------------
# 3. valid features, checked by what they do
# ---------------------------------------------------------------------------------------------


def test_cmd_list_runs_each_command_in_order(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd:
              - echo one > log.txt
              - echo two >> log.txt
              - echo three >> log.txt
            outs: [log.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("log.txt") == "one\ntwo\nthree\n"
    assert project.lock()["stages"]["a"]["cmd"] == [
        "echo one > log.txt",
        "echo two >> log.txt",
        "echo three >> log.txt",
    ]


def test_cmd_list_stops_at_first_failing_command(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd:
              - echo one > log.txt
              - "false"
              - echo three >> log.txt
            outs: [log.txt]
    """,
    )
    project.cli_fails("repro")
    assert project.read("log.txt") == "one\n"


def test_wdir_runs_cmd_there_with_paths_relative_to_it(project):
    project.write("sub/input.txt", "data\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            wdir: sub
            cmd: pwd > where.txt && cat input.txt > out.txt
            deps: [input.txt]
            outs: [out.txt, where.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("sub/out.txt") == "data\n"
    assert Path(project.read("sub/where.txt").strip()).resolve() == (project.path / "sub").resolve()
    assert not project.exists("out.txt")
    entry = project.lock()["stages"]["a"]
    assert [d["path"] for d in entry["deps"]] == ["sub/input.txt"]
    assert [o["path"] for o in entry["outs"]] == ["sub/out.txt", "sub/where.txt"]


def test_wdir_dep_change_makes_stage_stale(project):
    project.write("sub/input.txt", "data\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            wdir: sub
            cmd: cat input.txt > out.txt
            deps: [input.txt]
            outs: [out.txt]
    """,
    )
    project.cli_ok("repro")
    project.write("sub/input.txt", "other\n")
    assert "changed deps: modified sub/input.txt" in project.cli_ok("status").stdout


def test_wdir_out_is_a_target_by_project_path(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            wdir: sub
            cmd: echo a > a.txt
            outs: [a.txt]
          b:
            cmd: echo b > b.txt
            outs: [b.txt]
    """,
    )
    project.cli_ok("repro", "sub/a.txt")
    assert project.exists("sub/a.txt")
    assert not project.exists("b.txt")


def test_wdir_params_default_to_params_yaml_in_wdir(project):
    project.write("sub/params.yaml", "lr: 0.5\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            wdir: sub
            cmd: echo hi > a.txt
            params: [lr]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["a"]["params"] == {"sub/params.yaml": {"lr": 0.5}}


def test_params_key_list_is_recorded_in_lock(project):
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\nseed: 7\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params: [train.lr, seed]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["a"]["params"] == {"params.yaml": {"seed": 7, "train.lr": 0.1}}


def test_params_key_change_shows_old_and_new_value(project):
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params: [train.lr]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    project.write("params.yaml", "train:\n  lr: 0.2\n  epochs: 3\n")
    assert "changed params: train.lr 0.1 -> 0.2" in project.cli_ok("status").stdout


def test_params_untracked_key_change_keeps_stage_up_to_date(project):
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params: [train.lr]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 30\n")
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout


def test_params_from_other_file_with_key_list(project):
    project.write("other.yaml", "k1: 1\nk2: two\nk3: 3\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params:
              - other.yaml: [k1, k2]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["a"]["params"] == {"other.yaml": {"k1": 1, "k2": "two"}}
    project.write("other.yaml", "k1: 1\nk2: two\nk3: 333\n")
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout
    project.write("other.yaml", "k1: 1\nk2: three\nk3: 333\n")
    assert "changed params: k2 two -> three" in project.cli_ok("status").stdout


def test_params_whole_other_file_tracks_every_key(project):
    project.write("other.yaml", "k1: 1\nk2: 2\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params:
              - other.yaml:
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["a"]["params"] == {"other.yaml": {"k1": 1, "k2": 2}}
    project.write("other.yaml", "k1: 1\nk2: 5\n")
    assert "changed params: k2 2 -> 5" in project.cli_ok("status").stdout


def test_params_whole_other_file_added_key_makes_stage_stale(project):
    project.write("other.yaml", "k1: 1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params:
              - other.yaml:
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    project.write("other.yaml", "k1: 1\nnew_key: 9\n")
    out = project.cli_ok("status").stdout
    assert "a:" in out and "new_key" in out


def test_params_json_file_with_keys(project):
    project.write("conf.json", json.dumps({"opt": {"lr": 0.3}, "x": 1}))
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params:
              - conf.json: [opt.lr]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["a"]["params"] == {"conf.json": {"opt.lr": 0.3}}


def test_interpolation_of_nested_key_and_list_item(project):
    project.write("params.yaml", "train:\n  layers: [16, 32, 64]\n  opt:\n    name: adam\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo ${train.layers[1]} ${train.opt.name} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "32 adam\n"
    assert project.lock()["stages"]["a"]["cmd"] == "echo 32 adam > a.txt"


def test_interpolation_with_spaces_inside_braces(project):
    project.write("params.yaml", "seed: 7\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo ${ seed } > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "7\n"


def test_interpolated_param_is_tracked_automatically(project):
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo ${train.lr} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["a"]["params"] == {"params.yaml": {"train.lr": 0.1}}
    project.write("params.yaml", "train:\n  lr: 0.2\n  epochs: 3\n")
    assert "changed params: train.lr 0.1 -> 0.2" in project.cli_ok("status").stdout


def test_interpolated_param_is_tracked_only_by_the_stage_that_uses_it(project):
    project.write("params.yaml", "x: 1\ny: 2\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo ${x} > a.txt
            outs: [a.txt]
          b:
            cmd: echo ${y} > b.txt
            outs: [b.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["b"]["params"] == {"params.yaml": {"y": 2}}
    project.write("params.yaml", "x: 5\ny: 2\n")
    out = project.cli_ok("status").stdout
    assert "a:" in out
    assert "b:" not in out, f"b does not use x, yet status says it is stale:\n{out}"


def test_foreach_source_param_does_not_leak_into_later_stages(project):
    project.write("params.yaml", "models: [lr, svm]\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            foreach: ${models}
            do:
              cmd: echo ${item} > ${item}.txt
              outs: ["${item}.txt"]
          other:
            cmd: echo hi > other.txt
            outs: [other.txt]
    """,
    )
    project.cli_ok("repro")
    assert "params" not in project.lock()["stages"]["other"]


def test_vars_inline_mapping(project):
    project.write(
        "pipeline.yaml",
        """
        vars:
          - seed: 7
            name: run1
        stages:
          a:
            cmd: echo ${name} ${seed} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "run1 7\n"
    assert "params" not in project.lock()["stages"]["a"]


def test_vars_from_a_file(project):
    project.write("config.yaml", "model:\n  name: svm\n")
    project.write(
        "pipeline.yaml",
        """
        vars:
          - config.yaml
        stages:
          a:
            cmd: echo ${model.name} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "svm\n"


def test_vars_and_params_yaml_both_available(project):
    project.write("params.yaml", "lr: 0.1\n")
    project.write(
        "pipeline.yaml",
        """
        vars:
          - seed: 7
        stages:
          a:
            cmd: echo ${seed} ${lr} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "7 0.1\n"
    # the var is not a param; the params.yaml key is
    assert project.lock()["stages"]["a"]["params"] == {"params.yaml": {"lr": 0.1}}


def test_interpolation_in_deps_and_outs(project):
    project.write(
        "pipeline.yaml",
        """
        vars:
          - name: result
        stages:
          a:
            cmd: echo hi > ${name}.txt
            outs:
              - ${name}.txt
    """,
    )
    project.cli_ok("repro")
    assert project.exists("result.txt")
    assert [o["path"] for o in project.lock()["stages"]["a"]["outs"]] == ["result.txt"]


def test_foreach_list_names_stages_with_value(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            foreach: [lr, svm]
            do:
              cmd: echo ${item} > model-${item}.txt
              outs: ["model-${item}.txt"]
    """,
    )
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["train@lr", "train@svm"]
    assert project.read("model-lr.txt") == "lr\n"
    assert project.read("model-svm.txt") == "svm\n"
    assert sorted(project.lock()["stages"]) == ["train@lr", "train@svm"]


def test_foreach_dict_gives_key_and_item_fields(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          build:
            foreach:
              us: {x: 1}
              eu: {x: 2}
            do:
              cmd: echo ${key} ${item.x} > ${key}.txt
              outs: ["${key}.txt"]
    """,
    )
    result = project.cli_ok("repro")
    assert sorted(ran_stages(result.stdout)) == ["build@eu", "build@us"]
    assert project.read("us.txt") == "us 1\n"
    assert project.read("eu.txt") == "eu 2\n"


def test_foreach_over_params_list_reference(project):
    project.write("params.yaml", "models: [lr, svm]\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            foreach: ${models}
            do:
              cmd: echo ${item} > ${item}.txt
              outs: ["${item}.txt"]
    """,
    )
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["train@lr", "train@svm"]
    project.write("params.yaml", "models: [lr, svm, rf]\n")
    out = project.cli_ok("status").stdout
    assert "train@rf:" in out and "new stage" in out
    assert "train@lr:" not in out


def test_matrix_names_and_item_fields(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          grid:
            matrix:
              model: [lr, svm]
              seed: [1, 2]
            cmd: echo ${item.model} ${item.seed} > g-${item.model}-${item.seed}.txt
            outs: ["g-${item.model}-${item.seed}.txt"]
    """,
    )
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["grid@lr-1", "grid@lr-2", "grid@svm-1", "grid@svm-2"]
    assert project.read("g-svm-2.txt") == "svm 2\n"
    assert project.lock()["stages"]["grid@lr-2"]["cmd"] == "echo lr 2 > g-lr-2.txt"


def test_repro_single_foreach_stage_by_full_name(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            foreach: [lr, svm]
            do:
              cmd: echo ${item} > ${item}.txt
              outs: ["${item}.txt"]
    """,
    )
    result = project.cli_ok("repro", "train@lr")
    assert ran_stages(result.stdout) == ["train@lr"]
    assert project.exists("lr.txt")
    assert not project.exists("svm.txt")


def test_repro_foreach_group_name_runs_every_generated_stage(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            foreach: [lr, svm]
            do:
              cmd: echo ${item} > ${item}.txt
              outs: ["${item}.txt"]
          other:
            cmd: echo o > other.txt
            outs: [other.txt]
    """,
    )
    result = project.cli_ok("repro", "train")
    assert ran_stages(result.stdout) == ["train@lr", "train@svm"]
    assert not project.exists("other.txt")


def test_status_of_a_matrix_group(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          grid:
            matrix: {model: [lr, svm]}
            cmd: echo ${item.model} > ${item.model}.txt
            outs: ["${item.model}.txt"]
          other:
            cmd: echo o > other.txt
            outs: [other.txt]
    """,
    )
    out = project.cli_ok("status", "grid").stdout
    assert "grid@lr:" in out and "grid@svm:" in out
    assert "other" not in out


def test_escaped_interpolation_is_left_literally(project):
    project.write(
        "pipeline.yaml",
        r"""
        stages:
          a:
            cmd: echo '\${x}' > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "${x}\n"
    assert project.lock()["stages"]["a"]["cmd"] == "echo '${x}' > a.txt"


def test_yaml_booleans_interpolate_as_true_false(project):
    project.write("params.yaml", "flags:\n  gpu: true\n  debug: false\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo ${flags.gpu} ${flags.debug} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "true false\n"


def test_whole_value_reference_keeps_its_type_for_flags(project):
    project.write("params.yaml", "freeze: true\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            outs: [a.txt]
            frozen: ${freeze}
    """,
    )
    # a bool from params is accepted for a bool field, and takes effect
    assert "a (frozen):" in project.cli_ok("status").stdout


def test_always_changed_stage_is_always_stale(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            outs: [a.txt]
            always_changed: true
    """,
    )
    project.cli_ok("repro")
    assert "always changed" in project.cli_ok("status").stdout
    assert ran_stages(project.cli_ok("repro").stdout) == ["a"]


def test_frozen_stage_is_not_rerun_but_status_reports_it(project):
    project.write("in.txt", "1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: cat in.txt > a.txt
            deps: [in.txt]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: cat in.txt > a.txt
            deps: [in.txt]
            outs: [a.txt]
            frozen: true
    """,
    )
    project.write("in.txt", "2\n")
    assert "a (frozen):" in project.cli_ok("status").stdout
    assert ran_stages(project.cli_ok("repro").stdout) == []
    assert project.read("a.txt") == "1\n"


def test_desc_and_out_options_are_accepted(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            desc: makes the files
            cmd: >-
              echo '{"acc": 1}' > m.json && echo x,y > p.csv && echo l > log.txt
            outs:
              - log.txt: {cache: false, persist: true}
            metrics:
              - m.json: {cache: false}
            plots:
              - p.csv: {x: x, y: y}
    """,
    )
    project.cli_ok("repro")
    paths = [o["path"] for o in project.lock()["stages"]["a"]["outs"]]
    assert paths == ["log.txt", "m.json", "p.csv"]


def test_foreach_list_of_mappings_names_stages_by_index(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          fit:
            foreach:
              - {model: lr, c: 1}
              - {model: svm, c: 2}
            do:
              cmd: echo ${item.model} ${item.c} > ${item.model}.txt
              outs: ["${item.model}.txt"]
    """,
    )
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["fit@0", "fit@1"]
    assert project.read("svm.txt") == "svm 2\n"


def test_foreach_over_params_dict_reference(project):
    project.write("params.yaml", "envs:\n  us: {region: east}\n  eu: {region: west}\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          deploy:
            foreach: ${envs}
            do:
              cmd: echo ${key} ${item.region} > ${key}.txt
              outs: ["${key}.txt"]
    """,
    )
    result = project.cli_ok("repro")
    assert sorted(ran_stages(result.stdout)) == ["deploy@eu", "deploy@us"]
    assert project.read("eu.txt") == "eu west\n"


def test_param_interpolated_in_foreach_body_is_tracked_by_each_stage(project):
    project.write("params.yaml", "lr: 0.1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            foreach: [a, b]
            do:
              cmd: echo ${item} ${lr} > ${item}.txt
              outs: ["${item}.txt"]
    """,
    )
    project.cli_ok("repro")
    for name in ("train@a", "train@b"):
        assert project.lock()["stages"][name]["params"] == {"params.yaml": {"lr": 0.1}}
    project.write("params.yaml", "lr: 0.2\n")
    out = project.cli_ok("status").stdout
    assert out.count("changed params: lr 0.1 -> 0.2") == 2


def test_matrix_item_used_in_deps_links_stages(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          prep:
            foreach: [lr, svm]
            do:
              cmd: echo ${item} > data-${item}.txt
              outs: ["data-${item}.txt"]
          fit:
            matrix: {model: [lr, svm]}
            cmd: cat data-${item.model}.txt > fit-${item.model}.txt
            deps: ["data-${item.model}.txt"]
            outs: ["fit-${item.model}.txt"]
    """,
    )
    result = project.cli_ok("repro", "fit@svm")
    assert ran_stages(result.stdout) == ["prep@svm", "fit@svm"]
    assert project.read("fit-svm.txt") == "svm\n"


def test_escaped_and_real_interpolation_in_one_string(project):
    project.write("params.yaml", "y: 5\n")
    project.write(
        "pipeline.yaml",
        r"""
        stages:
          a:
            cmd: echo '\${x}' ${y} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "${x} 5\n"


def test_directory_out_with_trailing_slash(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: mkdir -p data/prepared && echo 1 > data/prepared/x && echo 2 > data/prepared/y
            outs: [data/prepared/]
          b:
            cmd: ls data/prepared > listing.txt
            deps: [data/prepared]
            outs: [listing.txt]
    """,
    )
    result = project.cli_ok("repro")
    assert ran_stages(result.stdout) == ["a", "b"]
    (out,) = project.lock()["stages"]["a"]["outs"]
    assert out["path"] == "data/prepared"
    assert out["nfiles"] == 2


def test_failed_repro_on_a_bad_param_keeps_existing_lock_byte_for_byte(project):
    project.write("params.yaml", "lr: 0.1\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo hi > a.txt
            params: [lr]
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    before = project.read("pipeline.lock")
    project.write("params.yaml", "learning_rate: 0.1\n")
    project.cli_fails("repro")
    assert project.read("pipeline.lock") == before


def test_a_changed_vars_file_is_seen_by_the_next_command(project):
    """pipeline.yaml is compiled once and kept; a vars file it read must invalidate that."""
    project.write("config.yaml", "greeting: hello\n")
    project.write(
        "pipeline.yaml",
        """
        vars:
          - config.yaml
        stages:
          a:
            cmd: echo ${greeting} > a.txt
            outs: [a.txt]
    """,
    )
    project.cli_ok("repro")
    project.write("config.yaml", "greeting: bonjour\n")
    assert "a:\n    changed cmd\n" in project.cli_ok("status").stdout
    project.cli_ok("repro")
    assert project.read("a.txt") == "bonjour\n"
