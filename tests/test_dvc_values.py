"""Values read from YAML are DVC's: pipeline.yaml, params, vars and metrics files read as YAML 1.2,
`${}` text in commands, and list indices written as dotted parts.

Every expected value here was checked against DVC 3.67 (`dvc repro`, dvc.lock, `dvc params diff
--json`, `dvc metrics show --json`) on the same files.
"""

from __future__ import annotations

import json

import pytest
import yaml

from pipetool.files import yamlfile
from pipetool.pipeline import params

# YAML text in params.yaml -> what DVC's `${x}` writes into the command.
CMD_TEXT = {
    "010": "10",  # YAML 1.1 (PyYAML) reads octal 8
    "0o10": "8",
    "0O10": "0O10",  # the prefix is lower case only: text
    "0x1F": "31",
    "0X1F": "0X1F",
    "0b101": "5",
    "3e4": "30000.0",  # a float; YAML 1.1 reads the text '3e4'
    "1.5E+10": "15000000000.0",
    "1e-05": "1e-05",
    "1e400": "inf",
    "0.1": "0.1",
    "1.0": "1.0",
    "1.": "1.0",
    ".5": "0.5",
    "-0.0": "-0.0",
    "1_000": "1000",  # DVC's reader takes '_' between digits
    "12345678901234567890": "12345678901234567890",
    "1:30": "1:30",  # YAML 1.1 reads sexagesimal 90
    "yes": "yes",
    "no": "no",
    "on": "on",
    "off": "off",
    "true": "true",
    "False": "false",
    ".inf": "inf",
    "-.inf": "-inf",
    ".nan": "nan",
    "inf": "inf",  # text
    "nan": "nan",  # text
}


def _echo_pipeline(keys: list[str], declare: bool = True) -> str:
    echoes = " && ".join(f"echo {key}=${{{key}}}" for key in keys)
    declared = f"    params: [{', '.join(keys)}]\n" if declare else ""
    return f"stages:\n  s:\n    cmd: ({echoes}) > out.txt\n{declared}    outs: [out.txt]\n"


def _params_text(values: dict[str, str]) -> str:
    return "".join(f"{key}: {text}\n" for key, text in values.items())


def _keys(values: dict) -> dict[str, str]:
    return {f"v{index}": text for index, text in enumerate(values)}


def test_params_values_in_a_command_are_dvcs(project):
    keys = _keys(CMD_TEXT)
    project.write("params.yaml", _params_text(keys))
    project.write("pipeline.yaml", _echo_pipeline(list(keys)))
    project.cli_ok("repro")
    written = dict(line.split("=", 1) for line in project.read("out.txt").splitlines())
    assert written == {key: CMD_TEXT[text] for key, text in keys.items()}


def test_the_lock_records_dvcs_values(project):
    project.write(
        "params.yaml",
        "a: 010\nb: 0o10\nc: 3e4\nd: 1_000\ne: 1:30\nf: yes\ng: 0x1F\nh: 1e-05\ni: .inf\nj: off\nk: 0X1F\nl: null\n",
    )
    project.write("pipeline.yaml", _echo_pipeline(list("abcdefghijk")).replace("params: [", "params: [l, "))
    project.cli_ok("repro")
    text = project.read("pipeline.lock")
    recorded = yamlfile.parse_own(text, "pipeline.lock")["stages"]["s"]["params"]["params.yaml"]
    assert recorded == {
        "a": 10,
        "b": 8,
        "c": 30000.0,
        "d": 1000,
        "e": "1:30",
        "f": "yes",
        "g": 31,
        "h": 1e-05,
        "i": float("inf"),
        "j": "off",
        "k": "0X1F",
        "l": None,
    }
    assert type(recorded["c"]) is float and type(recorded["a"]) is int
    # Any reader of the lock gets the same values: text that YAML 1.1 or 1.2 reads otherwise is quoted.
    assert yaml.safe_load(text)["stages"]["s"]["params"]["params.yaml"] == recorded
    assert yamlfile.parse(text, "pipeline.lock")["stages"]["s"]["params"]["params.yaml"] == recorded
    assert project.cli_ok("status").stdout.strip().endswith("up to date.")


def test_params_diff_and_status_compare_dvcs_values(project):
    project.write("params.yaml", "a: 010\nc: 3e4\ng: yes\nn: null\n")
    project.write("pipeline.yaml", _echo_pipeline(["a", "c", "g"]).replace("params: [", "params: [n, "))
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "first")
    project.write("params.yaml", "a: 011\nc: 3e5\ng: on\nn: 1e3\n")
    diff = json.loads(project.cli_ok("params", "diff", "--json").stdout)["params.yaml"]
    assert {key: (change["old"], change["new"]) for key, change in diff.items()} == {
        "a": (10, 11),
        "c": (30000.0, 300000.0),
        "g": ("yes", "on"),
        "n": (None, 1000.0),
    }
    assert diff["a"]["diff"] == 1 and diff["c"]["diff"] == 270000.0
    reasons = json.loads(project.cli_ok("status", "--json").stdout)["s"]["reasons"]
    changed = {reason["subject"]: (reason["old"], reason["new"]) for reason in reasons if reason["kind"] == "params"}
    assert changed == {"a": (10, 11), "c": (30000.0, 300000.0), "g": ("yes", "on"), "n": (None, 1000.0)}


def test_a_param_written_in_another_form_of_the_same_value_changes_nothing(project):
    project.write("params.yaml", "a: 010\nc: 3e4\n")
    project.write("pipeline.yaml", _echo_pipeline(["a", "c"]))
    project.cli_ok("repro")
    project.write("params.yaml", "a: 10\nc: 30000.0\n")
    assert project.cli_ok("status").stdout.strip().endswith("up to date.")
    project.write("params.yaml", "a: 8\nc: 30000.0\n")  # what YAML 1.1 read 010 as
    assert "changed params: a 10 -> 8" in project.cli_ok("status").stdout


def test_vars_files_and_pipeline_yaml_read_as_dvc_does(project):
    project.write("vars.yaml", "octal: 010\nrate: 3e4\nword: on\n")
    project.write(
        "pipeline.yaml",
        """\
        vars:
          - vars.yaml
          - inline: 0o10
            big: 1_000
        stages:
          s:
            foreach: [010, 3e4, yes]
            do:
              cmd: echo ${item} ${octal} ${rate} ${word} ${inline} ${big} >> out.txt
        """,
    )
    project.cli_ok("repro", "-j", "1")
    assert sorted(project.read("out.txt").splitlines()) == sorted(
        f"{item} 10 30000.0 on 8 1000" for item in ("10", "30000.0", "yes")
    )


def test_metrics_files_read_as_dvc_does(project):
    project.write("src.txt", "acc: 3e-1\nn: 010\nb: 1_000\nflag: yes\n")
    project.write("src.json", '{"acc": 1e-1}\n')
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: cp src.txt m.yaml && cp src.txt m.txt && cp src.json m.log
            deps: [src.txt, src.json]
            metrics: [m.yaml: {cache: false}, m.txt: {cache: false}, m.log: {cache: false}]
        """,
    )
    project.cli_ok("repro")
    shown = json.loads(project.cli_ok("metrics", "show", "--json").stdout)["workspace"]
    dvc_values = {"acc": 0.3, "n": 10, "b": 1000, "flag": "yes"}
    # A name that is not .json or .toml is YAML to DVC; JSON in it reads the same.
    assert shown == {"m.yaml": dvc_values, "m.txt": dvc_values, "m.log": {"acc": 0.1}}


def test_null_in_a_command_is_written_as_dvc_writes_it():
    assert [
        params.cmd_text(value)
        for value in (None, True, False, 1e-05, 0.1, 1.0, 30000.0, 10**20, float("inf"), float("nan"), "1:30")
    ] == ["None", "true", "false", "1e-05", "0.1", "1.0", "30000.0", "100000000000000000000", "inf", "nan", "1:30"]
    # Tables and status keep showing YAML's null.
    assert params.scalar_text(None) == "null"


def test_null_param_in_a_command(project):
    project.write("params.yaml", "n: null\nt: ~\n")
    project.write("pipeline.yaml", _echo_pipeline(["n", "t"]))
    project.cli_ok("repro")
    assert project.read("out.txt").splitlines() == ["n=None", "t=None"]


LISTS = """\
layers: [10, 20, {b: 30}]
named: {"1": text-key, "0": zero}
numbered: {1: int-key}
"""


def test_list_indices_as_dotted_parts_in_a_command(project):
    project.write("params.yaml", LISTS)
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: echo ${layers.1} ${layers[1]} ${layers.2.b} ${layers[2].b} ${layers.-1.b} ${layers.01} """
        """${named.1} ${named[1]} > out.txt
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    assert project.read("out.txt") == "20 20 30 30 30 20 text-key text-key\n"


def test_list_indices_as_dotted_parts_in_params(project):
    project.write("params.yaml", LISTS)
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: echo hi > out.txt
            params: [layers.1, layers.2.b, layers.-1, named.1, numbered.1, "layers[0]"]
            outs: [out.txt]
        """,
    )
    project.cli_ok("repro")
    recorded = project.lock()["stages"]["s"]["params"]["params.yaml"]
    assert recorded == {
        "layers.1": 20,
        "layers.2.b": 30,
        "layers.-1": {"b": 30},
        "named.1": "text-key",
        "numbered.1": "int-key",
        "layers[0]": 10,
    }
    project.write("params.yaml", LISTS.replace("[10, 20,", "[10, 21,"))
    assert "changed params: layers.1 20 -> 21" in project.cli_ok("status").stdout


def test_an_index_past_the_end_is_a_one_line_error(project):
    project.write("params.yaml", LISTS)
    project.write(
        "pipeline.yaml",
        """\
        stages:
          s:
            cmd: echo ${layers.5} > out.txt
            outs: [out.txt]
        """,
    )
    result = project.cli_fails("repro")
    assert "pipeline.yaml" in result.stderr and "layers.5" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr


def test_lookup_follows_dvc():
    data = {"layers": [10, 20, {"b": 30}], "named": {"1": "text"}, "numbered": {1: "int"}, "flags": {True: "t"}}
    assert params.lookup(data, "layers.1") == params.lookup(data, "layers[1]") == 20
    assert params.lookup(data, "layers.-1.b") == params.lookup(data, "layers[-1].b") == 30
    assert params.lookup(data, "named.1") == params.lookup(data, "named[1]") == "text"
    assert params.lookup(data, "numbered.1") == "int"
    for missing in ("layers.3", "layers.-4", "layers.x", "flags.1", "named.2", "layers.1.b"):
        with pytest.raises(params.Missing):
            params.lookup(data, missing)
    assert params.split_key("a.1.b") == ["a", "1", "b"] and params.split_key("a[1].b") == ["a", 1, "b"]


def test_own_files_written_before_read_back_as_written():
    # A lock written by an earlier pipetool: plain 3e4 and a hash of digits and one 'e' were text.
    old = (
        "version: 1\nstages:\n  s:\n    cmd: x\n    params:\n      params.yaml:\n        lr: 3e4\n"
        "    outs:\n    - path: o\n      xxh3: 12345678901234567890123456789e01\n      size: 1\n"
    )
    entry = yamlfile.parse_own(old, "pipeline.lock")["stages"]["s"]
    assert entry["params"]["params.yaml"]["lr"] == "3e4"
    assert entry["outs"][0]["xxh3"] == "12345678901234567890123456789e01"
    for text in ("3e4", "010", "1_000", "1:30", "yes", "0o10", ".5e+3", "12345678901234567890123456789e01"):
        written = yamlfile.dump({"k": text})
        assert yamlfile.parse(written, "x") == yamlfile.parse_own(written, "x") == {"k": text}, written


def test_values_keep_their_line_numbers_in_errors(project):
    project.write("params.yaml", "a: 010\nb: 3e4\na: 1\n")
    project.write("pipeline.yaml", _echo_pipeline(["a"]))
    result = project.cli_fails("repro")
    assert "params.yaml:3" in result.stderr and "duplicate key 'a'" in result.stderr
