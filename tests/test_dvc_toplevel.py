"""pipeline.yaml's top-level params, metrics, plots and artifacts (DVC 3's dvc.yaml keys), through
the real CLI in temporary git repositories.

The pipeline is shaped like DVC's documentation of dvc.yaml: one stage writes an eval folder,
and the top-level keys say which of its files are metrics and plots, which params files to
compare, and which files are artifacts.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import Project

EVAL = """
    import json
    import sys

    import yaml

    lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
    json.dump({"acc": round(0.5 + lr, 6), "loss": round(1 - lr, 6)}, open("eval/metrics.json", "w"))
    with open("eval/train.csv", "w") as out:
        out.write("step,acc,loss\\n" + "".join(f"{i},{lr * i:.3f},{1 - lr * i:.3f}\\n" for i in range(3)))
    with open("eval/test.csv", "w") as out:
        out.write("step,acc\\n" + "".join(f"{i},{lr * i / 2:.3f}\\n" for i in range(3)))
    with open("eval/actual.csv", "w") as out:
        out.write("actual\\n0\\n1\\n1\\n")
    with open("eval/preds.csv", "w") as out:
        out.write("predicted\\n0\\n1\\n0\\n")
    open("model.pkl", "w").write(str(lr))
"""

PIPELINE = """
    vars:
      - eval_dir: eval
    params:
      - config/features.yaml      # no stage lists it
    metrics:
      - ${eval_dir}/metrics.json
    plots:
      - ${eval_dir}/train.csv:
          x: step
          y: [acc, loss]
      - train_vs_test:
          y:
            eval/train.csv: acc
            eval/test.csv: [acc]
          x: step
          title: Accuracy
          y_label: accuracy
      - confusion:
          x: {eval/actual.csv: actual}
          y: {eval/preds.csv: predicted}
          template: confusion
    artifacts:
      text-classification:
        path: model.pkl
        type: model
        desc: Detects the R language tag
        labels: [nlp, classification]
        meta: {framework: none}
    stages:
      train:
        cmd: mkdir -p eval && python eval.py
        deps: [eval.py]
        params: [train.lr]
        outs:
          - model.pkl
          - eval:
              cache: false
"""


def commit(project: Project, message: str) -> None:
    project.git("add", "-A")
    project.git("commit", "-q", "-m", message)


def build(project: Project, lr: float, features: int, message: str | None = None) -> None:
    project.write("params.yaml", f"train:\n  lr: {lr}\n")
    project.write("config/features.yaml", f"max_features: {features}\nngrams: 2\n")
    project.cli_ok("repro", "-q")
    if message:
        commit(project, message)


@pytest.fixture
def dvc_like(project: Project) -> Project:
    """The pipeline at lr=0.1 committed, then at lr=0.2 (and other features) in the workspace."""
    project.write("eval.py", EVAL)
    project.write("pipeline.yaml", PIPELINE)
    project.write(".gitignore", "/model.pkl\n")
    build(project, 0.1, 100, "lr=0.1")
    build(project, 0.2, 200)
    return project


def _series(page: str) -> list:
    return [json.loads(html.unescape(block)) for block in re.findall(r"<pre class='data'>(.*?)</pre>", page, re.S)]


# metrics


def test_metrics_show_includes_the_top_level_metrics_file(dvc_like):
    result = dvc_like.cli_ok("metrics", "show", "--json")

    assert json.loads(result.stdout) == {"workspace": {"eval/metrics.json": {"acc": 0.7, "loss": 0.8}}}


def test_metrics_diff_against_the_previous_commit_reads_its_top_level_metrics(dvc_like):
    commit(dvc_like, "lr=0.2")

    result = dvc_like.cli_ok("metrics", "diff", "HEAD~1", "--json")

    assert json.loads(result.stdout) == {
        "eval/metrics.json": {
            "acc": {"old": 0.6, "new": 0.7, "diff": pytest.approx(0.1)},
            "loss": {"old": 0.9, "new": 0.8, "diff": pytest.approx(-0.1)},
        }
    }


def test_a_metrics_file_both_a_stage_and_the_top_level_declare_is_shown_once(project):
    project.write(
        "pipeline.yaml",
        """
        metrics: [m.json]
        stages:
          s:
            cmd: "echo '{\\"a\\": 1}' > m.json"
            metrics: [m.json]
    """,
    )
    project.cli_ok("repro", "-q")

    result = project.cli_ok("metrics", "show")

    assert result.stdout.count("m.json") == 1


def test_a_top_level_metrics_file_missing_at_a_revision_is_reported_not_fatal(dvc_like):
    dvc_like.write(
        "pipeline.yaml",
        PIPELINE.replace("- ${eval_dir}/metrics.json", "- ${eval_dir}/metrics.json\n      - extra.json"),
    )
    commit(dvc_like, "extra.json listed, not yet written")
    dvc_like.write("extra.json", '{"speed": 3}')

    result = dvc_like.cli_ok("metrics", "diff")

    assert "extra.json at HEAD: not in git at this revision" in result.stdout
    assert re.search(r"extra.json\s+speed\s+-\s+3", result.stdout)


# params


def test_params_diff_shows_a_top_level_params_file_no_stage_lists(dvc_like):
    result = dvc_like.cli_ok("params", "diff", "--json")

    assert json.loads(result.stdout) == {
        "config/features.yaml": {"max_features": {"old": 100, "new": 200, "diff": 100}},
        "params.yaml": {"train.lr": {"old": 0.1, "new": 0.2, "diff": pytest.approx(0.1)}},
    }


def test_a_top_level_params_file_is_shown_whole_even_where_a_stage_uses_one_key(project):
    project.write("params.yaml", "a: 1\nb: 2\n")
    project.write(
        "pipeline.yaml",
        """
        params: [params.yaml]
        stages:
          s:
            cmd: echo ${a}
            params: [a]
    """,
    )
    commit(project, "one")
    project.write("params.yaml", "a: 1\nb: 3\n")

    result = project.cli_ok("params", "diff")

    assert re.search(r"params.yaml\s+b\s+2\s+3\s+1", result.stdout)


def test_a_top_level_params_file_does_not_feed_interpolation(project):
    """As in DVC: `${}` sees params.yaml and vars only; top-level params files are for comparing."""
    project.write("other.yaml", "seed: 3\n")
    project.write(
        "pipeline.yaml",
        """
        params: [other.yaml]
        stages:
          s:
            cmd: echo ${seed}
    """,
    )

    result = project.cli_fails("status")

    assert "pipeline.yaml:5: stage 's': '${seed}' is not defined in vars or params" in result.stderr


# plots


def test_plots_show_draws_each_top_level_definition(dvc_like):
    pytest.importorskip("matplotlib")

    result = dvc_like.cli_ok("plots", "show", "-o", "report.html")

    assert "Wrote report.html: 3 plot(s)" in result.stdout
    page = dvc_like.read("report.html")
    assert page.count("src='data:image/png;base64,") == 3
    assert re.findall(r"<h2>(.*?)</h2>", page) == [
        "pipeline.yaml::eval/train.csv",
        "Accuracy",
        "pipeline.yaml::confusion",
    ]
    by_path, train_vs_test, confusion = _series(page)
    assert by_path["workspace"][1] == {"step": 1, "acc": 0.2, "loss": 0.8}
    assert set(train_vs_test["workspace"]) == {"eval/train.csv", "eval/test.csv"}
    assert train_vs_test["workspace"]["eval/test.csv"][2] == {"step": 2, "acc": 0.2}
    assert set(confusion["workspace"]) == {"eval/actual.csv", "eval/preds.csv"}


def test_plots_diff_has_a_series_per_revision_for_top_level_plots(dvc_like):
    pytest.importorskip("matplotlib")

    dvc_like.cli_ok("plots", "diff", "HEAD")

    train_vs_test = _series(dvc_like.read(".pipetool/plots/index.html"))[1]
    assert train_vs_test["HEAD"]["eval/train.csv"][2]["acc"] == 0.2
    assert train_vs_test["workspace"]["eval/train.csv"][2]["acc"] == 0.4


def test_plots_name_a_column_a_file_lacks_at_that_revision_only(dvc_like):
    pytest.importorskip("matplotlib")
    dvc_like.write("pipeline.yaml", PIPELINE.replace("y: [acc, loss]", "y: [acc, f1]"))

    result = dvc_like.cli_ok("plots", "show")

    assert (
        "pipeline.yaml::eval/train.csv at workspace: eval/train.csv has no column 'f1' "
        "(it has step, acc, loss)" in result.stdout
    )


def test_plots_of_stages_and_of_the_top_level_are_drawn_together(project):
    pytest.importorskip("matplotlib")
    project.write(
        "pipeline.yaml",
        """
        plots:
          - top.csv
        stages:
          s:
            cmd: printf 'x,y\\n1,2\\n2,3\\n' > stage.csv && cp stage.csv top.csv
            plots: [stage.csv]
    """,
    )
    project.cli_ok("repro", "-q")

    result = project.cli_ok("plots", "show")

    assert "2 plot(s)" in result.stdout
    page = project.read(".pipetool/plots/index.html")
    assert re.findall(r"<h2>(.*?)</h2>", page) == ["stage.csv", "pipeline.yaml::top.csv"]


def test_an_image_plot_is_embedded_per_revision(project):
    pytest.importorskip("matplotlib")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    (project.path / "importance.png").write_bytes(png)
    project.write(
        "pipeline.yaml",
        """
        plots: [importance.png]
        stages:
          s: {cmd: "true"}
    """,
    )
    commit(project, "one")

    project.cli_ok("plots", "diff")

    page = project.read(".pipetool/plots/index.html")
    assert page.count("src='data:image/png;base64,iVBORw0KGgo") == 2
    assert "<figcaption>HEAD</figcaption>" in page


# artifacts


def test_artifacts_list_shows_each_artifact(dvc_like):
    result = dvc_like.cli_ok("artifacts", "list")

    assert re.search(r"text-classification\s+model\s+model.pkl\s+nlp, classification\s+Detects", result.stdout)


def test_artifacts_list_json_and_of_a_revision(dvc_like):
    result = dvc_like.cli_ok("artifacts", "list", "HEAD", "--json")

    assert json.loads(result.stdout) == {
        "text-classification": {
            "path": "model.pkl",
            "type": "model",
            "desc": "Detects the R language tag",
            "labels": ["nlp", "classification"],
            "meta": {"framework": "none"},
        }
    }


def test_artifacts_resolve_interpolation_and_warn_about_names_dvc_warns_about(project):
    project.write("params.yaml", "model: {name: clf, file: model.pkl}\n")
    project.write(
        "pipeline.yaml",
        """
        artifacts:
          ${model.name}:
            path: ${model.file}
          _bad_name_:
            path: bad.pkl
        stages:
          s: {cmd: "true"}
    """,
    )

    result = project.cli_ok("artifacts", "list", "--json")

    assert json.loads(result.stdout) == {"clf": {"path": "model.pkl"}, "_bad_name_": {"path": "bad.pkl"}}
    assert "warning: pipeline.yaml:5: artifact '_bad_name_'" in result.stderr


def test_no_artifacts_says_so(project):
    project.write("pipeline.yaml", "stages:\n  s: {cmd: 'true'}\n")

    assert "No artifacts declared in pipeline.yaml." in project.cli_ok("artifacts", "list").stdout


# the stage commands


def test_status_and_repro_accept_the_top_level_keys(dvc_like):
    assert "up to date" in dvc_like.cli_ok("status").stdout


def test_a_bad_top_level_entry_does_not_stop_status(project):
    """status never reads the top-level keys: a mistake there is reported by the commands that do."""
    project.write(
        "pipeline.yaml",
        """
        artifacts:
          model: {type: model}
        stages:
          s: {cmd: "true"}
    """,
    )

    project.cli_ok("status")
    assert project.cli_fails("artifacts", "list").stderr.startswith("error: pipeline.yaml:3:")


# errors: one line each, with file and line

BAD = [
    ("metrics: eval/metrics.json\n", "metrics", "show", "pipeline.yaml:1: top-level 'metrics' must be a list"),
    (
        "metrics:\n  - {a: 1}\n",
        "metrics",
        "show",
        "pipeline.yaml:2: each entry of top-level 'metrics' (a metrics file) must be a path, not {'a': 1}",
    ),
    (
        "metrics:\n  - ${nosuch}\n",
        "metrics",
        "show",
        "pipeline.yaml:1: '${nosuch}' is not defined in vars or params",
    ),  # a text entry: the key's line
    (
        "params:\n  - 3\n",
        "params",
        "diff workspace",
        "pipeline.yaml:1: each entry of top-level 'params' (a params file) must be a path, not 3",
    ),
    (
        "plots:\n  - a.csv:\n      ylabel: loss\n",
        "plots",
        "show",
        "pipeline.yaml:2: plot 'a.csv': unknown field 'ylabel' (did you mean 'y_label'",
    ),
    (
        "plots:\n  - a.csv:\n      y: 3\n",
        "plots",
        "show",
        "pipeline.yaml:2: plot 'a.csv': 'y' must be a column, a list of columns, or {file: columns}, not 3",
    ),
    (
        "plots:\n  - both:\n      y: {a.csv: [p, q]}\n      x: {a.csv: s, b.csv: t, c.csv: u}\n",
        "plots",
        "show",
        "pipeline.yaml:2: plot 'both': 'x' names 3 columns and 'y' 2",
    ),
    (
        "plots:\n  - a.csv: [x, y]\n",
        "plots",
        "show",
        "pipeline.yaml:2: plot 'a.csv': its definition must be a mapping such as {x: step, y: loss}",
    ),
    (
        "artifacts:\n  model:\n    type: model\n",
        "artifacts",
        "list",
        "pipeline.yaml:2: artifact 'model': missing 'path'",
    ),
    (
        "artifacts:\n  model:\n    path: m.pkl\n    kind: model\n",
        "artifacts",
        "list",
        "pipeline.yaml:2: artifact 'model': unknown field 'kind'",
    ),
    (
        "artifacts:\n  model:\n    path: m.pkl\n    labels: nlp\n",
        "artifacts",
        "list",
        "pipeline.yaml:2: artifact 'model': 'labels' must be a list of text",
    ),
    (
        "artifacts:\n  - model\n",
        "artifacts",
        "list",
        "pipeline.yaml:1: top-level 'artifacts' must be a mapping of names to {path: ...}",
    ),
]


@pytest.mark.parametrize("top, command, action, message", BAD, ids=[case[3].split(": ", 1)[1][:40] for case in BAD])
def test_a_bad_top_level_entry_is_one_line_with_file_and_line(project, top, command, action, message):
    if command == "plots":
        pytest.importorskip("matplotlib")
    project.write("pipeline.yaml", top + "stages:\n  s: {cmd: 'true'}\n")

    result = project.cli_fails(command, *action.split())

    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1


def test_a_bad_entry_at_a_revision_names_the_revision(dvc_like):
    dvc_like.write("pipeline.yaml", "artifacts:\n  m: {}\nstages:\n  s: {cmd: 'true'}\n")
    commit(dvc_like, "bad")

    result = dvc_like.cli_fails("artifacts", "list", "HEAD")

    assert "pipeline.yaml:2: artifact 'm': missing 'path' (in the revision HEAD)" in result.stderr
