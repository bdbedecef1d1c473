"""plots show/diff: one self-contained HTML file with a series per revision."""

import json
import re

import pytest

pytest.importorskip("matplotlib", reason="plots need the 'plots' extra (matplotlib)")

PIPELINE = """
    stages:
      curve:
        cmd: python -c "import sys; k=float(sys.argv[1]); print('step,loss'); \
[print(f'{i},{k/(i+1):.4f}') for i in range(5)]" ${k} > loss.csv
        plots:
          - loss.csv: {x: step, y: loss}
      confusion:
        cmd: printf 'actual,predicted\\n0,0\\n0,1\\n1,1\\n1,1\\n' > confusion.csv
        plots:
          - confusion.csv: {template: confusion, x: actual, y: predicted}
"""


def _series(page: str) -> list[dict]:
    """The data each chart was drawn from, as embedded in the page."""
    import html

    return [json.loads(html.unescape(block)) for block in re.findall(r"<pre class='data'>(.*?)</pre>", page, re.S)]


def _commit_run(project, k: int, message: str) -> None:
    project.write("params.yaml", f"k: {k}\n")
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", message)


def test_diff_writes_a_self_contained_page_with_a_series_per_revision(project):
    project.write("pipeline.yaml", PIPELINE)
    _commit_run(project, 1, "k=1")
    project.write("params.yaml", "k: 3\n")
    project.cli_ok("repro")

    result = project.cli_ok("plots", "diff", "-o", "report.html")

    assert "Wrote report.html: 2 plot(s)" in result.stdout
    page = project.read("report.html")
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page), (
        "the page must not load anything from the network"
    )
    assert page.count("src='data:image/png;base64,") == 2
    loss, confusion = _series(page)
    assert set(loss) == {"HEAD", "workspace"}
    assert loss["HEAD"][0] == {"step": 0, "loss": 1.0}
    assert loss["workspace"][0] == {"step": 0, "loss": 3.0}
    assert len(confusion["workspace"]) == 4


def test_show_of_several_revisions_keeps_each_as_a_series(project):
    project.write("pipeline.yaml", PIPELINE)
    for k in (1, 2, 4):
        _commit_run(project, k, f"k={k}")

    project.cli_ok("plots", "show", "HEAD~2", "HEAD~1", "HEAD", "-o", "all.html")

    loss = _series(project.read("all.html"))[0]
    assert [rows[1]["loss"] for rows in loss.values()] == [0.5, 1.0, 2.0]


def test_a_plot_file_missing_at_a_revision_is_reported_not_fatal(project):
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "k: 1\n")
    project.git("add", "-A")
    project.git("commit", "-qm", "declared, never run")
    project.cli_ok("repro")

    result = project.cli_ok("plots", "diff")

    assert "loss.csv at HEAD: not found at this revision" in result.stdout
    assert set(_series(project.read(".pipetool/plots/index.html"))[0]) == {"workspace"}


def test_unknown_revision_is_a_clear_error(project):
    project.write("pipeline.yaml", PIPELINE)
    result = project.cli_fails("plots", "diff", "nosuch")
    assert "unknown revision 'nosuch'" in result.stderr
    assert not project.exists(".pipetool/plots/index.html")
