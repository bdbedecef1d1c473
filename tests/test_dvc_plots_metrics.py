"""Folders in plots, metrics and params; plot files no content can make trace back; params
shown as written. Through the real CLI, in process, in temporary git repositories.

What DVC does was checked against DVC 3.67.1 on the same files: a folder in `plots:` (top-level
or a stage's) is a chart per file inside it, recursively, each with the folder's options
(DVCLive's `plots: [dvclive/plots/metrics: {x: step}]`); every file of a folder in `metrics:`
or top-level `params:` is shown, at a revision too; `params diff` shows values as the files
write them (`1e-05 -> 1e-06`) while `metrics diff` rounds to 5 digits (`1e-05 -> 0.0`).
"""

from __future__ import annotations

import html
import json
import os
import re

import pytest
from conftest import Project

needs_matplotlib = pytest.mark.skipif(
    __import__("importlib").util.find_spec("matplotlib") is None, reason="plots need matplotlib"
)


def commit(project: Project, message: str) -> None:
    project.git("add", "-A")
    project.git("commit", "-q", "-m", message)


def headings(project: Project, page: str = ".pipetool/plots/index.html") -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", project.read(page))


def series(project: Project, page: str = ".pipetool/plots/index.html") -> list:
    """The data each chart was drawn from, as the page embeds it."""
    return [
        json.loads(html.unescape(block))
        for block in re.findall(r"<pre class='data'>(.*?)</pre>", project.read(page), re.S)
    ]


def dvclive(project: Project, acc: str = "0.5\n1\t0.6\n") -> None:
    """A DVCLive-shaped folder of .tsv files, one in a subfolder, and the top-level plot of it."""
    project.write("dvclive/plots/metrics/acc.tsv", "step\tacc\n0\t" + acc)
    project.write("dvclive/plots/metrics/eval/loss.tsv", "step\tloss\n0\t0.9\n1\t0.7\n")
    project.write(
        "pipeline.yaml",
        """
        plots:
          - dvclive/plots/metrics:
              x: step
        stages:
          s: {cmd: "true"}
    """,
    )


# ------------------------------------------------------------------------------ plots folders


@needs_matplotlib
def test_a_top_level_plots_folder_is_a_chart_per_file_inside_it(project):
    dvclive(project)

    result = project.cli_ok("plots", "show")

    assert "Wrote .pipetool/plots/index.html: 2 plot(s)" in result.stdout
    assert "directory" not in result.stdout
    assert headings(project) == [
        "pipeline.yaml::dvclive/plots/metrics/acc.tsv",
        "pipeline.yaml::dvclive/plots/metrics/eval/loss.tsv",
    ]
    acc, loss = series(project)
    assert acc["workspace"] == [{"step": 0, "acc": 0.5}, {"step": 1, "acc": 0.6}]
    assert loss["workspace"][1] == {"step": 1, "loss": 0.7}
    assert project.read(".pipetool/plots/index.html").count("src='data:image/png;base64,") == 2


@needs_matplotlib
def test_a_plots_folder_is_listed_at_a_revision_of_a_project_in_a_subfolder(project):
    sub = Project(project.path / "sub")
    dvclive(sub)
    commit(project, "one")
    sub.write("dvclive/plots/metrics/acc.tsv", "step\tacc\n0\t0.5\n1\t0.8\n")
    sub.write("dvclive/plots/metrics/eval/f1.tsv", "step\tf1\n0\t0.1\n")

    result = sub.cli_ok("plots", "diff", "HEAD")

    assert "not found at this revision" not in result.stdout
    assert headings(sub) == [
        f"pipeline.yaml::dvclive/plots/metrics/{name}" for name in ("acc.tsv", "eval/loss.tsv", "eval/f1.tsv")
    ]
    acc, loss, f1 = series(sub)
    assert acc["HEAD"][1]["acc"] == 0.6 and acc["workspace"][1]["acc"] == 0.8
    assert set(loss) == {"HEAD", "workspace"}
    assert set(f1) == {"workspace"}


@needs_matplotlib
def test_a_plots_folder_absent_at_a_revision_gives_no_chart_of_the_folder_itself(project):
    project.write("pipeline.yaml", "plots:\n  - curves: {x: step}\nstages:\n  s: {cmd: 'true'}\n")
    commit(project, "declared, not yet written")
    project.write("curves/a.csv", "step,y\n0,1\n")

    project.cli_ok("plots", "diff", "HEAD")

    assert headings(project) == ["pipeline.yaml::curves/a.csv"]


@needs_matplotlib
def test_a_file_a_nearer_definition_names_is_left_to_it(project):
    """DVC takes the definition whose path is nearest to the file; a sibling in the same
    subfolder stays with the folder (DVC's common-prefix test would drop it from both)."""
    dvclive(project)
    project.write("dvclive/plots/metrics/eval/f1.tsv", "step\tf1\n0\t0.1\n")
    project.write(
        "pipeline.yaml",
        """
        plots:
          - dvclive/plots/metrics:
              x: step
          - dvclive/plots/metrics/eval/loss.tsv:
              title: Loss
        stages:
          s: {cmd: "true"}
    """,
    )

    project.cli_ok("plots", "show")

    assert headings(project) == [
        "pipeline.yaml::dvclive/plots/metrics/acc.tsv",
        "pipeline.yaml::dvclive/plots/metrics/eval/f1.tsv",
        "Loss",
    ]


@needs_matplotlib
def test_a_stage_plots_folder_is_a_chart_per_file(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          s:
            cmd: mkdir -p pl/sub && printf 'step,loss\\n0,1\\n1,0.5\\n' > pl/loss.csv && cp pl/loss.csv pl/sub/val.csv
            plots:
              - pl: {x: step, cache: false}
    """,
    )
    project.cli_ok("repro", "-q")
    commit(project, "one")

    project.cli_ok("plots", "diff", "HEAD")

    assert headings(project) == ["pl/loss.csv", "pl/sub/val.csv"]
    assert set(series(project)[1]) == {"HEAD", "workspace"}


@needs_matplotlib
def test_a_folder_named_in_a_y_mapping_gets_a_clear_reason(project):
    project.write("runs/a.csv", "step,y\n0,1\n")
    project.write(
        "pipeline.yaml",
        """
        plots:
          - both:
              y: {runs: y}
        stages:
          s: {cmd: "true"}
    """,
    )
    commit(project, "one")

    result = project.cli_ok("plots", "diff", "HEAD")

    for revision in ("HEAD", "workspace"):
        assert (
            f"pipeline.yaml::both at {revision}: a folder: a plot draws each file of a folder that is its id"
            in result.stdout
        )


@needs_matplotlib
def test_an_empty_plots_folder_says_there_is_nothing_to_draw(project):
    (project.path / "empty").mkdir()
    project.write("pipeline.yaml", "plots: [empty]\nstages:\n  s: {cmd: 'true'}\n")

    result = project.cli_ok("plots", "show")

    assert "Nothing to draw: the plot folders pipeline.yaml names hold no files." in result.stdout
    assert not project.exists(".pipetool/plots/index.html")


# ---------------------------------------------------------------------------- metrics folders


def metrics_folder(project: Project) -> None:
    project.write("mets/m1.json", '{"a": 1, "b": {"c": 2}}')
    project.write("mets/sub.yaml", "x: 3\n")
    project.write("mets/deep/z.json", '{"z": 9}')
    project.write("pipeline.yaml", "metrics:\n  - mets\nstages:\n  s: {cmd: 'true'}\n")


def test_a_top_level_metrics_folder_shows_every_file_inside_it(project):
    metrics_folder(project)
    commit(project, "one")
    project.write("mets/m1.json", '{"a": 2, "b": {"c": 2}}')

    shown = json.loads(project.cli_ok("metrics", "show", "HEAD", "workspace", "--json").stdout)
    diff = json.loads(project.cli_ok("metrics", "diff", "--json").stdout)

    expected = {"mets/deep/z.json": {"z": 9}, "mets/m1.json": {"a": 1, "b.c": 2}, "mets/sub.yaml": {"x": 3}}
    assert shown["HEAD"] == expected
    assert shown["workspace"] == {**expected, "mets/m1.json": {"a": 2, "b.c": 2}}
    assert diff == {"mets/m1.json": {"a": {"old": 1, "new": 2, "diff": 1}}}


def test_a_metrics_folder_table_has_a_row_per_file(project):
    metrics_folder(project)

    result = project.cli_ok("metrics", "show")

    assert "directory" not in result.stdout
    assert re.search(r"mets/deep/z.json\s+9\s+-\s+-\s+-\n", result.stdout), result.stdout
    assert re.search(r"mets/m1.json\s+-\s+1\s+2\s+-\n", result.stdout), result.stdout


def test_a_stage_metrics_folder_kept_in_the_cache_is_read_at_a_revision(project):
    """git does not hold a cached out: its files are read from the cache by the folder's
    manifest, which stays in the cache (read as a file's bytes, it was taken for a corrupt
    object and removed)."""
    project.write(
        "make.py",
        "import json, os\nos.makedirs('ev', exist_ok=True)\n"
        "json.dump({'acc': 1}, open('ev/a.json', 'w'))\n"
        "json.dump({'f1': 2}, open('ev/b.json', 'w'))\n",
    )
    project.write(
        "pipeline.yaml",
        """
        stages:
          s:
            cmd: python3 make.py
            deps: [make.py]
            metrics: [ev]
    """,
    )
    project.cli_ok("repro", "-q")
    commit(project, "one")
    manifest = project.lock()["stages"]["s"]["outs"][0]["xxh3"]
    assert manifest.endswith(".dir")

    for _ in range(2):
        shown = json.loads(project.cli_ok("metrics", "show", "HEAD", "--json").stdout)
        assert shown == {"HEAD": {"ev/a.json": {"acc": 1}, "ev/b.json": {"f1": 2}}}
    assert os.path.isfile(project.path / ".pipetool" / "cache" / manifest[:2] / manifest[2:])


def test_a_metrics_folder_link_leading_outside_the_project_is_not_listed(project, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "token.json").write_text('{"TOPSECRET": 42}')
    os.symlink(secret, project.path / "mets")
    project.write("pipeline.yaml", "metrics:\n  - mets\nstages:\n  s: {cmd: 'true'}\n")
    commit(project, "a committed link")

    for args in (["metrics", "show"], ["metrics", "show", "HEAD"], ["metrics", "diff"]):
        result = project.cli_ok(*args)
        assert "TOPSECRET" not in result.stdout + result.stderr, args
    assert "mets: not read: it leads outside the project" in project.cli_ok("metrics", "show").stdout


def test_a_folder_of_more_files_than_the_bound_is_refused_whole(project):
    from pipetool.revisions.metrics import MAX_FOLDER_FILES

    folder = project.path / "many"
    folder.mkdir()
    for index in range(MAX_FOLDER_FILES + 1):
        (folder / f"{index}.json").write_text("{}")
    project.write("pipeline.yaml", "metrics:\n  - many\nstages:\n  s: {cmd: 'true'}\n")

    result = project.cli_ok("metrics", "show")

    assert f"many: a folder of more than {MAX_FOLDER_FILES} files: not read" in result.stdout


# ----------------------------------------------------------------------------- params folders


def test_a_top_level_params_folder_is_compared_file_by_file_as_dvc_does(project):
    project.write("pdir/p.yaml", "lr: 1\n")
    project.write("pdir/deep/q.yaml", "n: 5\n")
    project.write("pipeline.yaml", "params:\n  - pdir\nstages:\n  s: {cmd: 'true'}\n")
    commit(project, "one")
    project.write("pdir/p.yaml", "lr: 2\n")

    diff = json.loads(project.cli_ok("params", "diff", "--json").stdout)
    everything = project.cli_ok("params", "diff", "--all").stdout

    assert diff == {"pdir/p.yaml": {"lr": {"old": 1, "new": 2, "diff": 1}}}
    assert re.search(r"pdir/deep/q.yaml\s+n\s+5\s+5", everything)
    assert "directory" not in everything


# ------------------------------------------------------------- plot files that are not clean


def plot_of(project: Project, content: str, template: str, name: str = "data.csv", options: str = "") -> None:
    (project.path / name).write_bytes(content.encode() if isinstance(content, str) else content)
    project.write(
        "pipeline.yaml", f"plots:\n  - {name}: {{template: {template}{options}}}\nstages:\n  s: {{cmd: 'true'}}\n"
    )


@needs_matplotlib
def test_scatter_with_an_empty_cell_leaves_that_row_out_and_says_so(project):
    plot_of(project, "x,y\n1,2\n2,\n3,4\n", "scatter", options=", x: x, y: y")

    result = project.cli_ok("plots", "show")

    assert "pipeline.yaml::data.csv: workspace: 1 of 3 rows not drawn: 'y' is not a number there" in result.stdout
    assert "1 of 3 rows not drawn" in project.read(".pipetool/plots/index.html")
    assert project.read(".pipetool/plots/index.html").count("src='data:image/png;base64,") == 1


@needs_matplotlib
@pytest.mark.parametrize("template", ["bar_horizontal", "bar_horizontal_sorted"])
def test_bars_with_text_among_the_numbers_and_an_empty_cell_draw_the_numbers(project, template):
    plot_of(project, "name,value\na,3\nb,high\nc,\n7,1\n,2\n", template, options=", x: value, y: name")

    result = project.cli_ok("plots", "show")

    assert "workspace: 2 of 5 rows not drawn: 'value' is not a number there" in result.stdout
    assert project.read(".pipetool/plots/index.html").count("src='data:image/png;base64,") == 1


@needs_matplotlib
def test_linear_with_na_leaves_a_gap_and_keeps_the_axis_numbers(project):
    plot_of(project, "step,acc\n0,0.5\n1,NA\n2,0.9\n", "linear", options=", x: step, y: acc")

    result = project.cli_ok("plots", "show")

    assert "workspace: 1 of 3 rows not drawn: 'acc' is not a number there" in result.stdout
    assert series(project)[0]["workspace"] == [
        {"step": 0, "acc": 0.5},
        {"step": 1, "acc": "NA"},
        {"step": 2, "acc": 0.9},
    ]


@needs_matplotlib
def test_numbers_in_text_are_numbers_and_other_text_is_not(project):
    """Vega-Lite reads "0.5" in JSON as 0.5; '1_000', 'inf' and 'nan' are not numbers in a CSV."""
    plot_of(project, json.dumps([{"x": "0", "y": "0.5"}, {"x": 1, "y": 0.7}]), "linear", name="d.json")
    assert "not drawn" not in project.cli_ok("plots", "show").stdout

    plot_of(project, "x,y\n1,1_000\n2,inf\n3,nan\n4,1e3\n", "linear")
    assert "3 of 4 rows not drawn: 'y' is not a number there" in project.cli_ok("plots", "show").stdout
    assert [row["y"] for row in series(project)[0]["workspace"]] == ["1_000", "inf", "nan", 1000.0]


@needs_matplotlib
def test_charts_past_what_a_page_can_show_say_what_they_leave_out(project):
    from pipetool.revisions.plots import MAX_BARS, MAX_CLASSES

    rows = "".join(f"{i},{i}\n" for i in range(MAX_BARS + 1))
    plot_of(project, "name,value\n" + rows, "bar_horizontal_sorted", options=", x: value, y: name")
    assert f"workspace: {MAX_BARS + 1} bars: the largest {MAX_BARS} drawn" in project.cli_ok("plots", "show").stdout

    plot_of(project, "actual,predicted\n" + "".join(f"{i},{i}\n" for i in range(MAX_CLASSES + 1)), "confusion")
    assert (
        f"workspace: {MAX_CLASSES + 1} classes, more than the {MAX_CLASSES} a matrix shows: not drawn"
        in project.cli_ok("plots", "show").stdout
    )


HOSTILE = {
    "empty.csv": "",
    "header_only.csv": "x,y\n",
    "ragged.csv": "x,y\n1,2,3,4\n2\n3,4\n",
    "huge.csv": "x,y\n1,1e308\n2,-1e308\n3," + "9" * 5000 + "\n4,1e400\n",
    "inf_nan.csv": "x,y\ninf,nan\n-inf,inf\n1,2\n",
    "unicode.csv": "x,y\n1,２\nステップ,损失\n",
    "dollars.csv": "x,y\n$1$,$\\frac\n2,3\n",
    "mixed.csv": "x,y\na,1\n2,b\n,\n3,4\n",
    "nul.csv": "x,y\n1,\x002\n",
    "long_field.csv": "x,y\n1," + "a" * 200_000 + "\n",
    "missing_keys.json": json.dumps([{"x": 1, "y": 2}, {"x": 2}, {"y": 3}, {"x": [1], "y": {"a": 1}}]),
    "big_ints.json": json.dumps([{"x": 10**400, "y": 10**400}, {"x": 1, "y": 2}]),
    "scalar.json": "3",
    "records_empty.json": "[{}, {}]",
    "broken.json": "{",
    "rows.yaml": "- {x: 1, y: 2}\n- {x: 2020-01-01, y: true}\n- {1: 3, null: 4, y: .inf}\n",
    "binary.csv": bytes(range(256)),
    "latin1.csv": "x,y\n1,é\n".encode("latin-1"),
}


@needs_matplotlib
@pytest.mark.parametrize(
    "template",
    ["linear", "scatter", "smooth", "confusion", "confusion_normalized", "bar_horizontal", "bar_horizontal_sorted"],
)
def test_no_plot_file_makes_plots_show_trace_back(project, template):
    for name, content in HOSTILE.items():
        path = project.path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    entries = "".join(f"  - {name}: {{template: {template}, x: x, y: y}}\n" for name in HOSTILE)
    project.write("pipeline.yaml", f"plots:\n{entries}stages:\n  s: {{cmd: 'true'}}\n")
    commit(project, "hostile plot files")

    result = project.cli_ok("plots", "diff", "HEAD")

    assert "Traceback" not in result.stdout + result.stderr
    assert f"Wrote .pipetool/plots/index.html: {len(HOSTILE)} plot(s)" in result.stdout
    assert "binary.csv at HEAD: not a UTF-8 text file" in result.stdout
    assert "matplotlib could not draw" not in result.stdout  # values are checked before it sees them


@needs_matplotlib
def test_control_characters_from_a_plot_file_are_printed_escaped(project):
    plot_of(project, "x,\x1b[31mred\n1,2\n", "linear", options=", y: missing")

    result = project.cli_ok("plots", "show")

    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout


# ------------------------------------------------------------------- params shown as written


def small_params(project: Project) -> None:
    project.write("params.yaml", "lr: 1e-5\nm: 0.9\nbig: 123456.123456789\nn: 3\n")
    project.write("m.json", '{"m": 1e-05}')
    project.write(
        "pipeline.yaml",
        """
        metrics: [m.json]
        stages:
          s:
            cmd: "true"
            params: [lr, m, big, n]
    """,
    )
    commit(project, "one")
    project.write("params.yaml", "lr: 1e-6\nm: 0.8\nbig: 123456.123456788\nn: 4\n")
    project.write("m.json", '{"m": 1e-06}')


def test_params_diff_shows_values_as_written_and_their_exact_change(project):
    small_params(project)

    assert project.cli_ok("params", "diff").stdout == (
        "Path         Param    HEAD              workspace         Change\n"
        "-----------  -------  ----------------  ----------------  --------\n"
        "params.yaml  big      123456.123456789  123456.123456788  -1e-09\n"
        "params.yaml  lr       1e-05             1e-06             -9e-06\n"
        "params.yaml  m        0.9               0.8               -0.1\n"
        "params.yaml  n        3                 4                 1\n"
    )


def test_params_diff_precision_rounds_when_asked_and_json_keeps_the_values(project):
    small_params(project)

    rounded = project.cli_ok("params", "diff", "--precision", "3", "--md").stdout
    data = json.loads(project.cli_ok("params", "diff", "--json").stdout)["params.yaml"]

    assert "| params.yaml | big     | 123456.123 | 123456.123  | -0.0     |" in rounded
    assert "| params.yaml | m       | 0.9        | 0.8         | -0.1     |" in rounded
    assert data["lr"] == {"old": 1e-05, "new": 1e-06, "diff": 1e-06 - 1e-05}
    assert data["m"] == {"old": 0.9, "new": 0.8, "diff": 0.8 - 0.9}  # DVC's JSON: float arithmetic
    help_text = " ".join(project.cli_ok("params", "diff", "--help").stdout.split())
    assert "(default: as the params files write them)" in help_text


def test_metrics_diff_still_rounds_to_five_digits_as_dvc_does(project):
    small_params(project)

    assert re.search(r"m.json\s+m\s+1e-05\s+0.0\s+-1e-05", project.cli_ok("metrics", "diff").stdout)
    assert re.search(
        r"m.json\s+m\s+1e-05\s+1e-06\s+-9e-06", project.cli_ok("metrics", "diff", "--precision", "7").stdout
    )
