"""`verify`'s per-out equivalence (`verify: exact | skip | {rtol, atol}`), `--runs 2` and
`--md`: through the real CLI in temp repos, and the pure comparison on real file formats."""

from __future__ import annotations

import io
import json
import shlex
import sys

from pipetool.files.equivalence import Equivalence, compare

PY = shlex.quote(sys.executable)

# writes metrics.json and table.csv with a noise of about 1e-12 on every run; loss stays put
NOISY = """
import json, random
noise = 1e-12 * (1 + random.random())
json.dump({"acc": 0.5 + noise, "loss": 0.25, "name": "rf"}, open("metrics.json", "w"))
open("table.csv", "w").write(f"model,score\\nrf,{0.75 + noise!r}\\n")
"""


def noisy(project, rule: str, table_rule: str | None = None):
    table = f"table.csv: {{cache: false, verify: {table_rule}}}" if table_rule else "table.csv: {cache: false}"
    project.write("noisy.py", NOISY)
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          noisy:
            cmd: {PY} noisy.py
            deps: [noisy.py]
            outs:
              - {table}
            metrics:
              - metrics.json: {{cache: false, verify: {rule}}}
          steady:
            cmd: echo steady > steady.txt
            outs: [steady.txt]
        """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "noisy pipeline")
    return project


def verdicts(result) -> dict[str, dict]:
    return {v["stage"]: v for v in json.loads(result.stdout)}


# --- the verdicts -------------------------------------------------------------------------------


def test_noise_of_1e12_is_equivalent_under_rtol_and_the_largest_difference_is_named(project):
    noisy(project, "{rtol: 1e-9}", "{rtol: 1e-9}")
    result = verdicts(project.cli_ok("verify", "--json"))
    assert result["steady"]["status"] == "identical"
    assert result["noisy"]["status"] == "equivalent"
    found = {d["path"]: d for d in result["noisy"]["differences"]}
    assert found["metrics.json"]["verdict"] == "equivalent"
    assert found["metrics.json"]["where"] == "acc"
    assert found["metrics.json"]["rule"] == "rtol 1e-09, atol 0"
    assert 0 < found["metrics.json"]["largest"] < 1e-11
    assert found["table.csv"]["where"] == "row 1, column 'score'"
    assert 0 < found["table.csv"]["largest"] < 1e-11


def test_the_same_noise_differs_under_exact_with_the_first_difference(project):
    noisy(project, "exact")
    locked = json.loads(project.read("metrics.json"))["acc"]
    result = project.cli_fails("verify", "--json")
    found = {d["path"]: d for d in verdicts(result)["noisy"]["differences"]}
    assert verdicts(result)["noisy"]["status"] == "differs"
    assert found["metrics.json"]["where"] == "acc"
    assert found["metrics.json"]["old"] == locked and found["metrics.json"]["new"] != locked
    assert found["table.csv"]["where"] == "row 1, column 'score'"  # a plain out, exact by default
    text = project.cli_fails("verify").stdout
    assert "  noisy: differs\n" in text
    assert f"differs (exact): acc: {locked!r} -> " in text


def test_a_tolerance_is_not_larger_than_declared(project):
    noisy(project, "{atol: 1e-15}", "{rtol: 1e-9}")
    result = verdicts(project.cli_fails("verify", "--json"))
    assert result["noisy"]["status"] == "differs"
    found = {d["path"]: d["verdict"] for d in result["noisy"]["differences"]}
    assert found == {"metrics.json": "differs", "table.csv": "equivalent"}


def test_skip_is_not_compared(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          logged:
            cmd: echo model > model.txt && date +%s%N > run.log
            outs:
              - model.txt
              - run.log: {verify: skip}
        """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "logged")
    result = verdicts(project.cli_ok("verify", "--json"))
    assert result["logged"]["status"] == "equivalent"
    [difference] = result["logged"]["differences"]
    assert (difference["path"], difference["verdict"], difference["rule"]) == ("run.log", "skipped", "skip")


def test_md_report_is_a_table_for_a_pull_request(project):
    noisy(project, "exact", "{rtol: 1e-9}")
    result = project.cli_fails("verify", "--md")
    lines = result.stdout.splitlines()
    assert "**1 of 2 stage(s) reproduce.** Not reproducible: `noisy`" in lines
    assert "| stage | verdict | out | rule | details |" in lines
    assert "| `steady` | ✅ identical | | | |" in lines
    [row] = [line for line in lines if "`metrics.json`" in line]
    assert row.startswith("| `noisy` | ❌ differs | `metrics.json` | exact | differs: acc: 0.5")
    [row] = [line for line in lines if "`table.csv`" in line]
    assert "| rtol 1e-09, atol 0 | equivalent: row 1, column 'score': 0.75" in row
    assert "Running stage" not in result.stdout  # stdout holds the table alone


# --- --runs 2: nondeterminism found, not guessed -------------------------------------------------

CLOCKED = """
    stages:
      clock:
        cmd: date +%s%N > time.txt
        outs: [time.txt]
      steady:
        cmd: echo steady > steady.txt
        outs: [steady.txt]
      counted:
        cmd: echo run >> counted.txt
        outs:
          - counted.txt: {persist: true}
      after:
        cmd: cat steady.txt steady.txt > after.txt
        deps: [steady.txt]
        outs: [after.txt]
"""


def test_runs_2_finds_a_stage_writing_the_time_nondeterministic(project):
    project.write("pipeline.yaml", CLOCKED)
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "clocked")
    result = project.cli_fails("verify", "--runs", "2", "--json")
    found = verdicts(result)
    assert {name: v["status"] for name, v in found.items()} == {
        "clock": "nondeterministic",
        "steady": "identical",
        "counted": "identical",  # a persist out: each run starts from the state before the first
        "after": "identical",
    }
    [unstable] = found["clock"]["unstable"]
    assert unstable["path"] == "time.txt" and unstable["verdict"] == "differs"
    text = project.cli_fails("verify", "--runs", "2").stdout
    assert "  clock: nondeterministic\n" in text
    assert "out 'time.txt': its two runs here differ" in text
    assert "Not reproducible: clock" in text


def test_runs_1_reports_the_same_stage_as_differing_only(project):
    project.write("pipeline.yaml", CLOCKED)
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "clocked")
    found = verdicts(project.cli_fails("verify", "clock", "--json"))
    assert found["clock"]["status"] == "differs" and "unstable" not in found["clock"]


# --- declaring it in pipeline.yaml ---------------------------------------------------------------


def test_a_verify_option_never_makes_a_stage_stale(project):
    noisy(project, "exact")
    text = project.read("pipeline.yaml").replace("verify: exact", "verify: {rtol: 1e-6, atol: 0}")
    project.write("pipeline.yaml", text)
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    assert "verify" not in project.read("pipeline.lock")


def test_a_bad_verify_value_is_one_error_with_file_stage_and_line(project):
    for value, message in (
        ("approx", "option 'verify' of 'out.txt' must be exact, skip or a tolerance"),
        ("{rtol: -1}", "'rtol' in option 'verify' of 'out.txt' must be a number >= 0, not -1"),
        ("{rtl: 1e-6}", "unknown tolerance 'rtl' in option 'verify' of 'out.txt'"),
        ("{}", "option 'verify' of 'out.txt' must be exact, skip or a tolerance"),
    ):
        project.write(
            "pipeline.yaml",
            f"stages:\n  make:\n    cmd: echo > out.txt\n    outs:\n      - out.txt: {{verify: {value}}}\n",
        )
        result = project.cli("status")
        assert result.returncode != 0
        assert f"pipeline.yaml:5: stage 'make': {message}" in result.stderr, result.stderr


# --- the comparison itself, on real file formats ------------------------------------------------

RTOL = Equivalence("tolerance", rtol=1e-6)


def test_compare_yaml_and_toml_numbers_within_tolerance():
    found = compare("m.yaml", b"a:\n  b: [1.0, 2.0]\n", b"a:\n  b: [1.0, 2.000001]\n", RTOL)
    assert (found.verdict, found.where) == ("equivalent", "a.b[1]")
    found = compare("m.toml", b"x = 1.0\n", b"x = 1.5\n", RTOL)
    assert (found.verdict, found.where, found.old, found.new) == ("differs", "x", 1.0, 1.5)


def test_compare_needs_the_same_shape_and_equal_text():
    assert compare("m.json", b'{"a": 1}', b'{"a": 1, "b": 2}', RTOL).where == "b"
    assert compare("m.json", b"[1, 2]", b"[1, 2, 3]", RTOL).verdict == "differs"
    found = compare("t.tsv", b"k\tv\nx\t1.0\n", b"k\tv\ny\t1.0\n", RTOL)
    assert (found.verdict, found.where, found.old, found.new) == ("differs", "row 1, column 'k'", "x", "y")
    assert compare("t.csv", b"a,b\n1,2\n", b"a,c\n1,2\n", RTOL).where == "columns"
    assert compare("t.csv", b"a\n1\n", b"a\n1\n2\n", RTOL).where == "rows"


def test_compare_parquet_tables_by_their_numeric_columns():
    import pandas  # with pyarrow: both are test extras

    def parquet(frame) -> bytes:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()

    old = parquet(pandas.DataFrame({"id": ["a", "b"], "score": [0.5, 0.25]}))
    noisy = parquet(pandas.DataFrame({"id": ["a", "b"], "score": [0.5, 0.25 + 1e-9]}))
    found = compare("scores.parquet", old, noisy, RTOL)
    assert (found.verdict, found.where) == ("equivalent", "row 2, column 'score'")
    drifted = parquet(pandas.DataFrame({"id": ["a", "b"], "score": [0.5, 0.3]}))
    found = compare("scores.parquet", old, drifted, RTOL)
    assert (found.verdict, found.where, found.old, found.new) == ("differs", "row 2, column 'score'", 0.25, 0.3)
    renamed = parquet(pandas.DataFrame({"id": ["a", "c"], "score": [0.5, 0.25]}))
    assert compare("scores.parquet", old, renamed, RTOL).where == "row 2, column 'id'"  # text stays exact


def test_compare_a_binary_file_by_bytes_and_the_same_values_written_differently():
    found = compare("model.pkl", b"\x00\x01", b"\x00\x02", RTOL)
    assert found.verdict == "differs" and "bytes differ" in found.note
    assert compare("m.json", b'{"a": 1.0}', b'{"a":1.0}', RTOL).verdict == "equivalent"
    assert compare("m.json", b'{"a": 1.0}', b'{"a":1.0}', Equivalence()).verdict == "differs"
    assert compare("m.json", b'{"a": NaN}', b'{"a": NaN }', RTOL).verdict == "equivalent"


def test_repro_check_determinism_warns_about_the_stage_whose_two_runs_differ(project):
    project.write("pipeline.yaml", CLOCKED)
    result = project.cli_ok("repro", "--check-determinism")
    warnings = [line for line in result.stdout.splitlines() if "nondeterministic" in line]
    assert len(warnings) == 1 and "stage 'clock' is nondeterministic: 'time.txt'" in warnings[0], result.stdout
    assert project.read("counted.txt") == "run\n"  # the persist out was put back before the second run
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    assert "nondeterministic" not in project.cli_ok("repro", "-f").stdout  # off by default


def test_a_folder_out_is_compared_file_by_file_from_the_cache(project):
    project.write(
        "folder.py",
        "import json, os, random\nos.makedirs('scores', exist_ok=True)\n"
        "json.dump({'n': 3}, open('scores/a.json', 'w'))\n"
        "json.dump({'acc': 0.5 + 1e-12 * (1 + random.random())}, open('scores/b.json', 'w'))\n",
    )
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          scores:
            cmd: {PY} folder.py
            deps: [folder.py]
            outs:
              - scores: {{verify: {{rtol: 1e-9}}}}
          logs:
            cmd: mkdir -p logs && date +%s%N > logs/run.log
            outs:
              - logs: {{verify: skip}}
        """,
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "folders")
    found = verdicts(project.cli_ok("verify", "--json"))
    assert found["logs"]["status"] == "equivalent"
    assert found["scores"]["status"] == "equivalent"
    [difference] = found["scores"]["differences"]
    assert (difference["path"], difference["where"]) == ("scores", "b.json: acc")
