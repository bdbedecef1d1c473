"""The plots page's data (revisions/plot_data.py): every plot definition, stage and top-level, with
a series per chosen revision, and confusion matrices counted per (actual, predicted) pair."""

from __future__ import annotations

from pipetool.revisions.git import Revisions
from pipetool.revisions.plot_data import plots_data

PIPELINE = """
    stages:
      curve:
        cmd: printf 'step,loss\\n0,${k}\\n1,0.5\\n2,oops\\n' > loss.csv
        plots:
          - loss.csv: {x: step, y: loss}
      confusion:
        cmd: printf 'actual,predicted\\ncat,cat\\ncat,dog\\ndog,dog\\ndog,dog\\n' > confusion.csv
        plots:
          - confusion.csv: {template: confusion, x: actual, y: predicted}
    plots:
      - Loss by step:
          x: step
          y: {loss.csv: loss}
          title: The loss
      - normalized:
          template: confusion_normalized
          x: actual
          y: {confusion.csv: predicted}
"""


def test_every_definition_with_a_series_per_revision(project):
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "k: 1\n")
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "k=1")
    project.write("params.yaml", "k: 3\n")
    project.cli_ok("repro")

    plots = plots_data(Revisions(str(project.path)), [("HEAD", "HEAD"), ("my-exp", None)])
    by_id = {plot["id"]: plot for plot in plots}
    assert list(by_id) == ["loss.csv", "confusion.csv", "Loss by step", "normalized"]
    loss = by_id["loss.csv"]
    assert loss["kind"] == "lines" and loss["x_label"] == "step" and loss["y_label"] == "loss"
    assert [(s["revision"], s["x"], s["y"]) for s in loss["series"]] == [
        ("HEAD", [0.0, 1.0, 2.0], [1.0, 0.5, None]),  # 'oops' is no number: a gap
        ("my-exp", [0.0, 1.0, 2.0], [3.0, 0.5, None]),
    ]
    assert loss["notes"]  # and the page says so, as plots show does
    top = by_id["Loss by step"]
    assert top["heading"] == "The loss" and top["origin"] == "pipeline.yaml"
    assert [s["y"][0] for s in top["series"]] == [1.0, 3.0]
    confusion = by_id["confusion.csv"]
    assert confusion["kind"] == "confusion" and confusion["series"] == []
    assert [m["revision"] for m in confusion["matrices"]] == ["HEAD", "my-exp"]
    matrix = confusion["matrices"][0]
    assert matrix["classes"] == ["cat", "dog"]
    assert matrix["counts"] == [[1, 0], [1, 2]]  # [predicted][actual]: one cat taken for a dog
    normalized = by_id["normalized"]["matrices"][0]
    assert normalized["normalized"] and normalized["counts"] == [[0.5, 0.0], [0.5, 1.0]]


def test_a_revision_without_the_files_says_why(project):
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "k: 1\n")
    project.git("add", "-A")
    project.git("commit", "-qm", "not run")
    project.cli_ok("repro", "curve")
    plots = {p["id"]: p for p in plots_data(Revisions(str(project.path)), [("HEAD", "HEAD"), ("workspace", None)])}
    loss = plots["loss.csv"]
    assert [s["revision"] for s in loss["series"]] == ["workspace"]
    assert "HEAD" in loss["errors"]
    assert set(plots["confusion.csv"]["errors"]) == {"HEAD", "workspace"}
