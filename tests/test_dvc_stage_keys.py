"""DVC 3's stage keys as pipetool reads them: `vars` (top level, in a stage, in `do:`, in a matrix
stage) merged as DVC merges them, mappings in a cmd as arguments, matrix items that are mappings
or lists, and every stage and out key DVC's schema accepts.

The pipelines are written from DVC's docs and its parsing tests; each expected command, name and
message was checked against DVC 3.67.1 (`dvc repro`) on the same files. Errors are one line with
file:line and stage, as every pipetool error is; DVC's wording is kept where it has one.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import ran_stages

PARAMS = """\
train:
  lr: 0.1
  opt: {name: sgd}
seed: 1
"""


def _error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def _cmd(project, stage: str):
    return project.lock()["stages"][stage]["cmd"]


# ---------------------------------------------------------------------------------------------
# vars: merged into params.yaml's values as DVC merges them
# ---------------------------------------------------------------------------------------------


def test_vars_files_merge_nested_mappings_with_params(project):
    project.write("params.yaml", PARAMS)
    project.write("a.yaml", "train:\n  epochs: 3\n  opt: {mom: 0.9}\nother: x\n")
    project.write(
        "pipeline.yaml",
        """\
        vars: [a.yaml]
        stages:
          s:
            cmd: echo ${train.lr} ${train.epochs} ${train.opt.name} ${train.opt.mom} ${other} > out.txt
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.read("out.txt") == "0.1 3 sgd 0.9 x\n"
    # Only what comes from params.yaml is a param of the stage; a.yaml's values are in its cmd.
    assert project.lock()["stages"]["s"]["params"] == {"params.yaml": {"train.lr": 0.1, "train.opt.name": "sgd"}}
    project.write("a.yaml", "train:\n  epochs: 4\n  opt: {mom: 0.9}\nother: x\n")
    assert "changed cmd" in project.cli_ok("status").stdout
    project.cli_ok("repro")
    project.write("params.yaml", PARAMS.replace("lr: 0.1", "lr: 0.2"))
    assert "changed params: train.lr 0.1 -> 0.2" in project.cli_ok("status").stdout


@pytest.mark.parametrize(
    "vars_, message",
    [
        (
            "[b.yaml]",
            "var 'train.lr' is defined twice: cannot redefine 'train.lr' from 'b.yaml' "
            "as it already exists in 'params.yaml'",
        ),
        (
            "[a.yaml, {train: {opt: 3}}]",
            "cannot redefine 'train.opt' from 'vars[1]' as it already exists in 'params.yaml'",
        ),
        (
            "[{train: {opt: {name: x}}}]",
            "cannot redefine 'train.opt.name' from 'vars[0]' as it already exists in 'params.yaml'",
        ),
        ("[{x: 1}, {x: 2}]", "cannot redefine 'x' from 'vars[1]' as it already exists in 'vars[0]'"),
        ("[a.yaml, {other: y}]", "cannot redefine 'other' from 'vars[1]' as it already exists in 'a.yaml'"),
    ],
)
def test_a_value_defined_twice_names_both_sources(project, vars_, message):
    project.write("params.yaml", PARAMS)
    project.write("a.yaml", "train:\n  epochs: 3\nother: x\n")
    project.write("b.yaml", "train:\n  lr: 0.5\n")
    project.write("pipeline.yaml", f"vars: {vars_}\nstages:\n  s:\n    cmd: echo hi\n")
    line = _error(project.cli_fails("status"))
    assert line.startswith("error: pipeline.yaml:1: ") and message in line


def test_stage_vars_are_read_relative_to_its_wdir(project):
    project.write("params.yaml", PARAMS)
    project.write("sub/v.yaml", "local: here\ntrain: {batch: 8}\n")
    project.write(
        "pipeline.yaml",
        """\
        vars:
          - folder: sub
        stages:
          s:
            wdir: ${folder}
            vars:
              - v.yaml
              - y: 2
            cmd: echo ${local} ${train.batch} ${train.lr} ${y} > out.txt
            outs: [out.txt]
          t:
            cmd: echo ${train.batch} > t.txt
        """,
    )
    line = _error(project.cli_fails("status"))
    # Stage s's vars are its own: stage t does not see them.
    assert line.startswith("error: pipeline.yaml:12: stage 't': '${train.batch}' is not defined")
    project.write("pipeline.yaml", project.read("pipeline.yaml").split("  t:")[0])
    project.cli_ok("repro")
    assert project.read("sub/out.txt") == "here 8 0.1 2\n"
    assert project.lock()["stages"]["s"]["params"] == {"params.yaml": {"train.lr": 0.1}}


def test_a_stage_vars_clash_is_the_stages_error(project):
    project.write("params.yaml", PARAMS)
    project.write("b.yaml", "train:\n  lr: 0.5\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          ok:
            cmd: echo ok
          s:
            cmd: echo ${x}
            vars:
              - x: 1
              - x: 2
        """,
    )
    assert _error(project.cli_fails("status")) == (
        "error: pipeline.yaml:6: stage 's': var 'x' is defined twice: cannot redefine 'x' from "
        "'s.vars[1]' as it already exists in 's.vars[0]'"
    )
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo ${x}\n    vars: [b.yaml]\n")
    assert (
        "stage 's': var 'train.lr' is defined twice: cannot redefine 'train.lr' from 'b.yaml' as "
        "it already exists in 'params.yaml'" in _error(project.cli_fails("status"))
    )


def test_vars_in_do_and_in_a_matrix_stage(project):
    project.write("w.yaml", "a: 2\n")
    project.write("sub/w.yaml", "a: 1\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          each:
            foreach: [sub, .]
            do:
              wdir: ${item}
              vars: [w.yaml, {y: 5}]
              cmd: echo ${a} ${y} > each.txt
              outs: [each.txt]
          grid:
            matrix: {m: [a, b]}
            vars: [{z: 5}, w.yaml]
            cmd: echo ${item.m} ${z} ${a} > grid-${item.m}.txt
            outs:
              - grid-${item.m}.txt
        """,
    )
    project.cli_ok("repro")
    assert project.read("sub/each.txt") == "1 5\n" and project.read("each.txt") == "2 5\n"
    assert project.read("grid-a.txt") == "a 5 2\n" and project.read("grid-b.txt") == "b 5 2\n"


def test_vars_file_keys_can_be_selected(project):
    project.write("a.yaml", "train: {epochs: 3}\nother: x\nunused: {big: 1}\n")
    project.write(
        "pipeline.yaml",
        """\
        vars: ["a.yaml:other,train"]
        stages:
          s:
            cmd: echo ${other} ${train.epochs} > out.txt
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.read("out.txt") == "x 3\n"
    project.write("pipeline.yaml", "vars: ['a.yaml:other']\nstages:\n  s:\n    cmd: echo ${unused.big}\n")
    assert "'${unused.big}' is not defined" in _error(project.cli_fails("status"))
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo ${other}\n    vars: ['a.yaml:nope']\n")
    assert _error(project.cli_fails("status")) == (
        "error: pipeline.yaml:4: stage 's': could not find 'nope' in vars file 'a.yaml'"
    )


@pytest.mark.parametrize(
    "vars_, error",
    [
        ('["a.yaml", "a.yaml"]', None),  # the same whole file twice: loaded once
        ('["a.yaml:other", "a.yaml:train"]', None),
        ('["params.yaml"]', None),  # already loaded, as the default
        ('["./a.yaml", "a.yaml"]', None),
        ('["a.yaml:other", "a.yaml"]', "cannot load 'a.yaml' as it's partially loaded already"),
        ('["a.yaml", "a.yaml:other"]', "cannot partially load 'a.yaml:other' as it's already loaded"),
        ('["a.yaml:other", "a.yaml:other"]', "cannot load 'a.yaml:other' as it's partially loaded already"),
        ('["params.yaml:seed"]', "cannot partially load 'params.yaml:seed' as it's already loaded"),
    ],
)
def test_a_vars_file_loaded_twice(project, vars_, error):
    project.write("params.yaml", PARAMS)
    project.write("a.yaml", "train: {epochs: 3}\nother: x\n")
    for where in ("top", "stage"):
        top = f"vars: {vars_}\n" if where == "top" else ""
        stage = f"    vars: {vars_}\n" if where == "stage" else ""
        project.write("pipeline.yaml", f"{top}stages:\n  s:\n{stage}    cmd: echo ${{seed}} > out.txt\n")
        if error is None:
            project.cli_ok("status")
        else:
            line = _error(project.cli_fails("status"))
            assert line.endswith(error), line
            assert line.startswith(
                "error: pipeline.yaml:1: " if where == "top" else "error: pipeline.yaml:3: stage 's': "
            )


def test_a_vars_file_named_from_its_wdir_is_the_same_file(project):
    project.write("params.yaml", "bar: b\n")
    project.write("data/.keep", "")
    project.write(
        "pipeline.yaml",
        """\
        vars: [params.yaml]
        stages:
          build:
            wdir: data
            vars: [../params.yaml]
            cmd: echo ${bar} > out.txt
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.read("data/out.txt") == "b\n"


def test_a_stage_params_yaml_in_its_wdir_merges_with_the_roots(project):
    project.write("params.yaml", "dict: {bar: bar}\n")
    project.write("data/params.yaml", "dict: {foo: foo}\nvalue1: 1\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          stage1:
            cmd: echo ${dict.foo} ${dict.bar} > out.txt
            params: [value1]
            wdir: data
            vars: [params.yaml]
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.read("data/out.txt") == "foo bar\n"
    # value1 is data/params.yaml's (the stage's wdir); dict.bar, used through ${}, the root's.
    assert project.lock()["stages"]["stage1"]["params"] == {
        "data/params.yaml": {"value1": 1},
        "params.yaml": {"dict.bar": "bar"},
    }


@pytest.mark.parametrize(
    "body, line, stage, error",
    [
        (
            "    foreach: [1, 2]\n    do:\n      vars: [{item: 5}]\n      cmd: echo ${item}\n",
            5,
            "s@1",
            "attempted to modify reserved key 'item' in 's@1.vars[0]'",
        ),
        (
            "    foreach: {a: 1, b: 2}\n    do:\n      vars: [{key: 5}]\n      cmd: echo ${item} ${key}\n",
            5,
            "s@a",
            "attempted to modify reserved key 'key' in 's@a.vars[0]'",
        ),
        (
            "    matrix: {m: [a, b]}\n    vars: [{key: 5}]\n    cmd: echo ${item.m} ${key}\n",
            4,
            "s@a",
            "attempted to modify reserved key 'key' in 's@a.vars[0]'",
        ),
        (
            "    foreach: [1, 2]\n    do:\n      vars: [item.yaml]\n      cmd: echo ${item}\n",
            5,
            "s@1",
            "attempted to modify reserved key 'item' in 'item.yaml'",
        ),
    ],
)
def test_item_and_key_are_reserved_in_generated_stages(project, body, line, stage, error):
    project.write("item.yaml", "item: 3\n")
    project.write("pipeline.yaml", "stages:\n  s:\n" + body)
    assert _error(project.cli_fails("status")).startswith(f"error: pipeline.yaml:{line}: stage '{stage}': {error}")


def test_a_foreach_list_reserves_only_item(project):
    # DVC sets no `key` for a list: the stage's vars may define it. (pipetool gives the index
    # as `key` only where nothing defines one.)
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            foreach: [a, b]
            do:
              vars: [{key: 5}]
              cmd: echo ${item} ${key} > ${item}.txt
          t:
            foreach: [a, b]
            do:
              cmd: echo ${item} ${key} > t-${item}.txt
        """,
    )
    project.cli_ok("repro")
    assert project.read("a.txt") == "a 5\n" and project.read("b.txt") == "b 5\n"
    assert project.read("t-a.txt") == "a 0\n" and project.read("t-b.txt") == "b 1\n"


def test_an_item_from_vars_is_hidden_with_one_warning(project):
    project.write(
        "pipeline.yaml",
        """\
        vars: [{item: 3}]
        stages:
          s:
            foreach: [1, 2]
            do:
              cmd: echo ${item} > ${item}.txt
        """,
    )
    result = project.cli_ok("repro")
    assert _warnings(result) == [
        "warning: pipeline.yaml:4: stage 's': 'item' is defined in params or vars; "
        "foreach sets its own 'item' in each stage it generates, which hides it there"
    ]
    assert project.read("1.txt") == "1\n"


def test_wdir_is_resolved_before_the_stages_own_vars(project):
    project.write("pipeline.yaml", "stages:\n  s:\n    wdir: ${d}\n    vars: [{d: sub}]\n    cmd: echo hi\n")
    line = _error(project.cli_fails("status"))
    assert line.startswith("error: pipeline.yaml:3: stage 's': '${d}' is not defined in vars or params")
    assert "wdir is resolved before its own vars" in line


@pytest.mark.parametrize(
    "pipeline, where",
    [
        ("vars: [{x: '${seed}'}]\nstages:\n  s:\n    cmd: echo ${x}\n", "pipeline.yaml:1: "),
        ("vars: [{'${seed}': 1}]\nstages:\n  s:\n    cmd: echo hi\n", "pipeline.yaml:1: "),
        ("vars: ['${seed}.yaml']\nstages:\n  s:\n    cmd: echo hi\n", "pipeline.yaml:1: "),
        ("stages:\n  s:\n    vars: [{x: {y: ['${seed}']}}]\n    cmd: echo ${x.y}\n", "pipeline.yaml:3: stage 's': "),
        (
            "stages:\n  s:\n    foreach: [1, 2]\n    do:\n      vars: [{x: '${item}'}]\n      cmd: echo ${x}\n",
            "pipeline.yaml:5: stage 's@1': ",
        ),
        (
            "stages:\n  s:\n    matrix: {m: [a]}\n    vars: [{x: '${item.m}'}]\n    cmd: echo ${x}\n",
            "pipeline.yaml:4: stage 's@a': ",
        ),
    ],
)
def test_interpolation_inside_vars_is_an_error(project, pipeline, where):
    project.write("params.yaml", PARAMS)
    project.write("pipeline.yaml", pipeline)
    line = _error(project.cli_fails("repro"))
    assert line.startswith(f"error: {where}'${{") and "inside 'vars': interpolating is not allowed there" in line
    assert not project.exists("pipeline.lock")


def test_escaped_interpolation_in_vars_is_text(project):
    project.write("pipeline.yaml", "vars: [{x: 'a\\${b}'}]\nstages:\n  s:\n    cmd: echo '${x}' \\${x} > out.txt\n")
    project.cli_ok("repro")
    assert _cmd(project, "s") == "echo 'a${b}' ${x} > out.txt"  # as DVC writes it


@pytest.mark.parametrize(
    "vars_, error",
    [
        ("[nope.yaml]", "pipeline.yaml:1: vars file 'nope.yaml' not found"),
        ("[list.yaml]", "pipeline.yaml:1: vars file 'list.yaml' must hold a mapping"),
        ("[sub]", "pipeline.yaml:1: vars file 'sub': cannot read"),
        ("[3]", "pipeline.yaml:1: each 'vars' entry must be a mapping or a params file name"),
    ],
)
def test_bad_vars_entries(project, vars_, error):
    project.write("list.yaml", "[1, 2]\n")
    project.write("sub/x.yaml", "a: 1\n")
    project.write("pipeline.yaml", f"vars: {vars_}\nstages:\n  s:\n    cmd: echo hi\n")
    assert _error(project.cli_fails("status")).startswith(f"error: {error}")


def test_an_edited_stage_vars_file_rebuilds_the_stage_from_the_compiled_cache(project):
    project.write("params.yaml", "seed: 1\nother: 1\n")
    project.write("v.yaml", "x: 1\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            vars: [v.yaml]
            cmd: echo ${x} ${seed} > out.txt
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.cli_ok("status").stdout.strip().endswith("up to date.")
    project.write("v.yaml", "x: 2\n")
    assert "changed cmd" in project.cli_ok("status").stdout
    project.cli_ok("repro")
    assert project.read("out.txt") == "2 1\n"
    # A params edit rebuilds only what it touches; a stage with its own vars is always rebuilt.
    project.write("params.yaml", "seed: 1\nother: 2\n")
    project.write("v.yaml", "x: 3\n")
    assert "changed cmd" in project.cli_ok("status").stdout


def test_a_key_moved_from_params_to_vars_stops_being_a_param(project):
    project.write("params.yaml", "train: {lr: 0.1}\n")
    project.write("a.yaml", "train: {epochs: 3}\n")
    project.write(
        "pipeline.yaml",
        """\
        vars: [a.yaml]
        stages:
          s:
            cmd: echo ${train.lr} > out.txt
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.lock()["stages"]["s"]["params"] == {"params.yaml": {"train.lr": 0.1}}
    project.write("params.yaml", "train: {other: 1}\n")
    project.write("a.yaml", "train: {epochs: 3, lr: 0.1}\n")
    project.cli_ok("repro")
    assert "params" not in project.lock()["stages"]["s"]


# ---------------------------------------------------------------------------------------------
# a mapping in a cmd: arguments, as DVC writes them
# ---------------------------------------------------------------------------------------------

ARGS = """\
args:
  lr: 0.1
  name: "a b"
  flag: true
  off: false
  layers: [1, 2, "x y"]
  nested: {depth: 3, none: null, empty: {}}
  f: 1.0e-5
more:
  flag: true
  off: false
  layers: [1, true, null, "x y", 2.5]
  empty: []
  quoted: "quote\\"'d"
"""


def test_a_mapping_in_a_cmd_becomes_arguments(project):
    project.write("params.yaml", ARGS)
    project.write(
        "pipeline.yaml",
        """\
        stages:
          part:
            cmd: echo python train.py ${args} > part.txt
          listed:
            cmd:
              - echo ${args} > listed.txt
              - echo ${args.nested} >> listed.txt
        """,
    )
    project.cli_ok("repro")
    expected = "--lr 0.1 --name 'a b' --flag --layers 1 2 'x y' --nested.depth 3 --nested.none None --f 1e-05"
    assert _cmd(project, "part") == f"echo python train.py {expected} > part.txt"
    assert _cmd(project, "listed") == [f"echo {expected} > listed.txt", "echo --depth 3 --none None >> listed.txt"]
    assert project.read("part.txt") == "python train.py " + expected.replace("'", "") + "\n"
    # The mapping came from params.yaml: it is the stage's param.
    assert list(project.lock()["stages"]["part"]["params"]["params.yaml"]) == ["args"]


@pytest.mark.parametrize(
    "config, expected",
    [
        ("", "--flag --layers 1 True None 'x y' 2.5 --quoted 'quote\"'\"'\"'d'"),
        (
            "parsing: {bool: store_true, list: nargs}\n",
            "--flag --layers 1 True None 'x y' 2.5 --quoted 'quote\"'\"'\"'d'",
        ),
        (
            "parsing: {bool: boolean_optional, list: Append}\n",
            "--flag --no-off --layers 1 --layers True --layers None --layers 'x y' --layers 2.5 "
            "--quoted 'quote\"'\"'\"'d'",
        ),
    ],
)
def test_parsing_settings_shape_the_arguments(project, config, expected):
    project.write("params.yaml", ARGS)
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo ${more} > out.txt\n")
    project.write(".pipetool/config", config)
    project.cli_ok("repro")
    assert _cmd(project, "s") == f"echo {expected} > out.txt"


def test_a_changed_parsing_setting_changes_the_cmd(project):
    project.write("params.yaml", ARGS)
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo ${more} > out.txt\n    outs: [out.txt]\n")
    project.cli_ok("repro")
    assert project.cli_ok("status").stdout.strip().endswith("up to date.")
    project.cli_ok("config", "parsing.bool", "boolean_optional")
    assert "changed cmd" in project.cli_ok("status").stdout
    project.cli_ok("repro")
    assert project.read("out.txt").startswith("--flag --no-off ")


def test_an_invalid_parsing_setting_is_a_one_line_error(project):
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo hi\n")
    project.write(".pipetool/config", "parsing:\n  list: bogus\n")
    assert _error(project.cli_fails("status")) == (
        "error: .pipetool/config: 'parsing.list' is 'bogus' (one of: nargs, append)"
    )
    project.write(".pipetool/config", "parsing:\n  bool: yes\n")
    assert "'parsing.bool' is 'yes' (one of: store_true, boolean_optional)" in _error(project.cli_fails("status"))


@pytest.mark.parametrize(
    "params, cmd, error",
    [
        ("bad: {deep: [[1, 2]]}\n", "echo ${bad}", "cannot interpolate nested iterable in 'deep'"),
        ("bad: {deep: [{a: 1}]}\n", "echo ${bad}", "cannot interpolate nested iterable in 'deep'"),
        ("bad: [1, 2]\n", "echo ${bad}", "'${bad}' is a list; only single values fit inside text"),
        ("bad: {a: 1}\n", "${bad}", "a mapping alone is no command"),
        ("bad: {a: 1}\n", "[echo hi, '${bad}']", "a mapping alone is no command"),
    ],
)
def test_what_a_cmd_cannot_hold(project, params, cmd, error):
    project.write("params.yaml", params)
    project.write("pipeline.yaml", f"stages:\n  s:\n    cmd: {cmd}\n")
    line = _error(project.cli_fails("repro"))
    assert line.startswith("error: pipeline.yaml:3: stage 's': ") and error in line


def test_a_mapping_outside_a_cmd_stays_an_error(project):
    project.write("params.yaml", "args: {a: 1}\n")
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo hi\n    outs:\n      - out-${args}.txt\n")
    line = _error(project.cli_fails("status"))
    assert line.startswith(
        "error: pipeline.yaml:4: stage 's': '${args}' is a mapping; only single values fit inside text"
    )


# ---------------------------------------------------------------------------------------------
# matrix and foreach items that are mappings or lists; dotted list indices
# ---------------------------------------------------------------------------------------------


def test_matrix_items_that_are_mappings_or_lists(project):
    project.write("params.yaml", "configs:\n  - {lr: 0.1, name: small}\n  - {lr: 0.5, name: big}\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          grid:
            matrix:
              cfg: ${configs}
              layers: [[8, 16], [32]]
              seed: [1]
            cmd: echo ${item.cfg.name} ${item.cfg.lr} ${item.layers.0} ${item.layers[0]} ${item.seed} """
        """${key} > ${key}.txt
            outs:
              - ${key}.txt
        """,
    )
    result = project.cli_ok("repro", "-j", "1")
    assert sorted(ran_stages(result.stdout)) == [
        "grid@cfg0-layers0-1",
        "grid@cfg0-layers1-1",
        "grid@cfg1-layers0-1",
        "grid@cfg1-layers1-1",
    ]
    assert project.read("cfg1-layers0-1.txt") == "big 0.5 8 8 1 cfg1-layers0-1\n"
    assert project.read("cfg0-layers1-1.txt") == "small 0.1 32 32 1 cfg0-layers1-1\n"


def test_foreach_list_with_any_mapping_names_every_stage_by_index(project):
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            foreach:
              - plain
              - {name: dict, layers: [1, 2]}
            do:
              cmd: echo ${key} > ${key}.txt
        """,
    )
    result = project.cli_ok("repro", "-j", "1")
    assert ran_stages(result.stdout) == ["s@0", "s@1"]


def test_dotted_list_indices_in_foreach_items(project):
    project.write("params.yaml", "runs:\n  - [a, {b: 1}]\n  - [c, {b: 2}]\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            foreach: ${runs}
            do:
              cmd: echo ${item.0} ${item.1.b} ${item[1].b} ${runs.1.1.b} > ${item.0}.txt
        """,
    )
    project.cli_ok("repro", "-j", "1")
    assert project.read("a.txt") == "a 1 1 2\n" and project.read("c.txt") == "c 2 2 2\n"


# ---------------------------------------------------------------------------------------------
# every key DVC 3's schema accepts loads; those pipetool does not act on warn once
# ---------------------------------------------------------------------------------------------

EVERY_KEY = """\
stages:
  train:
    desc: trains
    meta: {owner: me}
    cmd: python3 -c "open('model.pkl','w').write('1'); open('m.json','w').write('{}'); \
open('p.csv','w').write('x,y\\\\n1,2\\\\n')"
    always_changed: false
    frozen: false
    vars: [{unused: 1}]
    outs:
      - model.pkl:
          cache: true
          persist: false
          checkpoint: true
          remote: myremote
          push: false
          desc: the model
          type: model
          labels: [a, b]
          meta: {x: 1}
    metrics:
      - m.json: {cache: false, remote: r, push: true, checkpoint: false, desc: m}
    plots:
      - p.csv: {x: x, y: y, template: linear, x_label: X, y_label: Y, title: T, header: false, cache: false}
  gen:
    foreach: [a, b]
    do:
      cmd: echo ${item} > ${item}.txt
      outs:
        - ${item}.txt: {remote: r, header: true}
"""

EXPECTED_WARNINGS = [
    "pipeline.yaml:10: stage 'train': out option 'checkpoint' is not used by pipetool: DVC 3 no longer "
    "has checkpoints; pipetool ignores it too",
    "pipeline.yaml:10: stage 'train': out option 'remote' is not used by pipetool: pipetool pushes and "
    "pulls every cached out with one remote (--remote, else core.remote)",
    "pipeline.yaml:10: stage 'train': out option 'push' is not used by pipetool: pipetool pushes every "
    "cached out; 'cache: false' keeps a file out of the cache and the remote",
    "pipeline.yaml:10: stage 'train': out option 'type' is not used by pipetool: pipetool keeps no "
    "annotations on outs; describe the file under the top-level 'artifacts' instead",
    "pipeline.yaml:10: stage 'train': out option 'labels' is not used by pipetool: pipetool keeps no "
    "annotations on outs; describe the file under the top-level 'artifacts' instead",
    "pipeline.yaml:10: stage 'train': out option 'meta' is not used by pipetool: pipetool keeps no "
    "annotations on outs; describe the file under the top-level 'artifacts' instead",
    "pipeline.yaml:21: stage 'train': metric option 'remote' is not used by pipetool: pipetool pushes "
    "and pulls every cached out with one remote (--remote, else core.remote)",
    "pipeline.yaml:23: stage 'train': plot option 'header' is not used by pipetool: pipetool reads the "
    "first row of a CSV or TSV plot as its column names",
    "pipeline.yaml:29: stage 'gen': out option 'remote' is not used by pipetool: pipetool pushes and "
    "pulls every cached out with one remote (--remote, else core.remote)",
]


def test_every_key_dvc_accepts_loads_with_one_warning_each(project):
    project.write("pipeline.yaml", EVERY_KEY.replace("{remote: r, header: true}", "{remote: r}"))
    first = project.cli_ok("status")
    assert _warnings(first) == [f"warning: {w}" for w in EXPECTED_WARNINGS]
    # From the compiled cache, the same warnings (the foreach's two stages share theirs).
    assert _warnings(project.cli_ok("status")) == _warnings(first)
    result = project.cli_ok("repro", "-j", "1")
    assert ran_stages(result.stdout) == ["train", "gen@a", "gen@b"]
    assert project.exists(".pipetool/cache") and "model.pkl" in project.read(".gitignore")
    plots = json.loads(project.cli_ok("metrics", "show", "--json").stdout)["workspace"]
    assert plots == {"m.json": {}}


def test_a_plot_option_on_an_out_is_still_an_error(project):
    project.write("pipeline.yaml", EVERY_KEY)
    assert _error(project.cli_fails("status")) == (
        "error: pipeline.yaml:29: stage 'gen@a': unknown option 'header' for 'a.txt' (allowed: cache, persist, "
        "desc, checkpoint, remote, push, type, labels, meta, verify)"
    )


def test_options_that_ask_for_what_pipetool_does_anyway_do_not_warn(project):
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: echo x,y > p.csv && echo 1 > o.txt
            outs:
              - o.txt: {push: true, checkpoint: false, desc: kept}
            plots:
              - p.csv: {header: true}
        """,
    )
    assert _warnings(project.cli_ok("status")) == []


def test_a_typo_in_an_out_option_is_still_an_error(project):
    project.write("pipeline.yaml", "stages:\n  s:\n    cmd: echo hi > x.txt\n    outs:\n      - x.txt: {remot: r}\n")
    assert _error(project.cli_fails("status")) == (
        "error: pipeline.yaml:5: stage 's': unknown option 'remot' for 'x.txt' (did you mean 'remote'?)"
    )


# ---------------------------------------------------------------------------------------------
# metrics are cached unless `cache: false`, as in DVC
# ---------------------------------------------------------------------------------------------

WRITE_METRIC = "import json, sys\njson.dump({'acc': float(sys.argv[2])}, open(sys.argv[1], 'w'))\n"


def test_a_metric_is_cached_gitignored_and_compared_across_commits(project):
    project.write("write.py", WRITE_METRIC)
    project.write("params.yaml", "acc: 0.5\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: python3 write.py cached.json ${acc} && python3 write.py in-git.json ${acc}
            deps: [write.py]
            metrics:
              - cached.json
              - in-git.json: {cache: false}
        """,
    )
    project.cli_ok("repro")
    ignored = project.git("status", "--porcelain", "--ignored")
    assert "!! cached.json" in ignored and "in-git.json" in ignored.replace("!! in-git.json", "")
    project.git("add", "-A")
    project.git("commit", "-qm", "acc 0.5")
    committed = project.git("ls-files").split()
    assert "in-git.json" in committed and "cached.json" not in committed
    assert "/cached.json" in project.read(".gitignore").splitlines()
    (project.path / "cached.json").unlink()
    project.cli_ok("checkout")  # it comes back from the cache
    assert json.loads(project.read("cached.json")) == {"acc": 0.5}

    project.write("params.yaml", "acc: 0.75\n")
    project.cli_ok("repro")
    shown = json.loads(project.cli_ok("metrics", "show", "HEAD", "--json").stdout)
    assert shown == {"HEAD": {"cached.json": {"acc": 0.5}, "in-git.json": {"acc": 0.5}}}
    diff = json.loads(project.cli_ok("metrics", "diff", "--json").stdout)
    assert diff == {
        "cached.json": {"acc": {"old": 0.5, "new": 0.75, "diff": 0.25}},
        "in-git.json": {"acc": {"old": 0.5, "new": 0.75, "diff": 0.25}},
    }
    project.git("add", "-A")
    project.git("commit", "-qm", "acc 0.75")
    diff = json.loads(project.cli_ok("metrics", "diff", "HEAD~1", "HEAD", "--json").stdout)
    assert diff["cached.json"] == {"acc": {"old": 0.5, "new": 0.75, "diff": 0.25}}
    table = project.cli_ok("metrics", "show").stdout
    assert "cached.json" in table and "0.75" in table


def _cached_metric_pipeline(project, script: str) -> None:
    project.write("write.py", script)
    project.write("params.yaml", "acc: 0.5\n")
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: python3 write.py m.json ${acc}
            deps: [write.py]
            metrics: [m.json]
        """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "acc 0.5")


def test_metrics_history_reads_a_cached_metric(project):
    _cached_metric_pipeline(project, WRITE_METRIC)
    project.write("params.yaml", "acc: 0.75\n")
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "acc 0.75")
    rows = json.loads(project.cli_ok("metrics", "history", "--json").stdout)
    assert [row["metrics"].get("acc") for row in rows] == [0.5, 0.75]


def test_verify_compares_a_cached_metrics_values_within_tolerance(project):
    noisy = WRITE_METRIC.replace("float(sys.argv[2])", "float(sys.argv[2]) + random.random() * 1e-9")
    _cached_metric_pipeline(project, "import random\n" + noisy)
    result = project.cli("verify", "--metrics-tolerance", "1e-6", env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stdout + result.stderr
