"""The Plots page in a real browser against the real `pipetool ui`: a chart per plot definition, a
series per chosen revision or experiment, confusion matrices as heat maps."""

from __future__ import annotations

from ui_browser import browser, start_ui, wait_for, wait_ready  # noqa: F401 - browser is a fixture

PIPELINE = """\
stages:
  curve:
    cmd: printf 'step,loss\\n0,${k}\\n1,0.5\\n' > loss.csv
    plots:
      - loss.csv: {x: step, y: loss}
  confusion:
    cmd: printf 'actual,predicted\\ncat,cat\\ncat,dog\\ndog,dog\\n' > confusion.csv
    plots:
      - confusion.csv: {template: confusion, x: actual, y: predicted}
plots:
  - Loss:
      x: step
      y: {loss.csv: loss}
"""

CHARTS = """
return Array.from(document.querySelectorAll('#plots-charts .chart[data-plot]')).map((div) => ({
  id: div.dataset.plot,
  traces: div.data.map((t) => ({name: t.name, type: t.type, y: t.y, z: t.z || null})),
}));
"""


def charts(driver) -> dict[str, list[dict]]:
    return {chart["id"]: chart["traces"] for chart in driver.execute_script(CHARTS)}


def test_a_chart_per_definition_and_a_series_per_chosen_revision(project, browser):  # noqa: F811
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "k: 1\n")
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "k=1")
    project.git("branch", "odd<b>name")  # git allows < and > in a branch name; Plotly reads them as HTML
    project.cli_ok("exp", "run", "-S", "k=2", "-n", "exp-two")
    project.write("params.yaml", "k: 3\n")
    project.cli_ok("repro")
    server = start_ui(project.path)
    try:
        browser.get(server.url + "plots")
        wait_ready(browser)
        shown = charts(browser)
        assert list(shown) == ["loss.csv", "confusion.csv", "Loss"]
        assert [(t["name"], t["y"][0]) for t in shown["loss.csv"]] == [("workspace", 3), ("HEAD", 1)]
        assert [t["name"] for t in shown["Loss"]] == ["workspace", "HEAD"]
        matrices = shown["confusion.csv"]
        assert [(t["type"], t["name"]) for t in matrices] == [("heatmap", "workspace"), ("heatmap", "HEAD")]
        assert matrices[0]["z"] == [[1, 0], [1, 1]]  # [predicted][actual]
        # Choose the experiment and the branch too: a series each, named after them, as written.
        browser.execute_script(
            "for (const box of document.querySelectorAll('#plots-revisions input'))"
            "  if (box.value.endsWith('/exp-two') || box.value === 'odd<b>name') box.click();"
        )
        wait_for(browser, lambda d: len(charts(d).get("loss.csv", [])) == 4)
        wait_ready(browser)
        shown = charts(browser)
        assert [t["y"][0] for t in shown["loss.csv"]] == [3, 1, 1, 2]
        assert len(shown["confusion.csv"]) == 4 and len(shown["Loss"]) == 4
        legend = browser.execute_script(
            "return Array.from(document.querySelectorAll('#plots-charts .chart[data-plot=\"loss.csv\"] .legendtext'))"
            ".map((t) => t.textContent)"
        )
        assert legend == ["workspace", "HEAD", "odd<b>name", "exp-two"]
    finally:
        code = server.stop()
    assert code == 0, server.stderr
