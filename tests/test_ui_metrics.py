"""The Metrics page of `pipetool ui`: metrics history as a Plotly chart per metric."""

from __future__ import annotations

import json

import pytest
from ui_browser import browser, ui_project, ui_server, wait_ready  # noqa: F401 - fixtures


@pytest.fixture
def built(ui_project):  # noqa: F811
    return ui_project  # main: acc 0.6, 0.7, 0.8, and experiments that its history leaves out


@pytest.fixture
def server(ui_server):  # noqa: F811
    return ui_server


def charts(driver) -> dict[str, list[dict]]:
    """{metric: its chart's traces (x, y, hover data)} as Plotly holds them in each graph div."""
    return driver.execute_script(
        "const found = {};"
        "for (const div of document.querySelectorAll('#metrics-charts .chart')) {"
        "  found[div.dataset.metric] = div.data.map((t) => ({x: t.x, y: t.y, customdata: t.customdata}));"
        "}"
        "return found;"
    )


def show(driver, rev: str, limit: str) -> None:
    from selenium.webdriver.common.by import By

    for element_id, value in (("metrics-rev", rev), ("metrics-limit", limit)):
        box = driver.find_element(By.ID, element_id)
        box.clear()
        box.send_keys(value)
    driver.execute_script("document.getElementById('metrics').removeAttribute('data-ready')")
    driver.find_element(By.ID, "metrics-show").click()
    wait_ready(driver, "metrics")


def test_a_chart_per_metric_with_a_point_per_commit_and_controls_that_choose_them(built, server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(server.url + "metrics")
    wait_ready(browser, "metrics")
    drawn = charts(browser)
    assert sorted(drawn) == ["acc", "loss"]  # N metrics, N charts
    assert all(len(traces) == 1 for traces in drawn.values())  # one series each
    shas = [
        line[:7] + line[40:] for line in built.git("log", "--first-parent", "--reverse", "--format=%H %s").splitlines()
    ]
    assert drawn["acc"][0]["y"] == [0.6, 0.7, 0.8]
    assert drawn["loss"][0]["y"] == [1.0, 1.0, 1.0]
    assert [f"{c} {m}" for c, m in drawn["acc"][0]["customdata"]] == [
        line.replace("<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;") for line in shas
    ]
    assert len(drawn["acc"][0]["x"]) == 3
    # the controls: metrics to show, and which commits
    browser.find_element(By.CSS_SELECTOR, '#metrics-choices input[data-metric="loss"]').click()
    wait_ready(browser, "metrics")
    assert sorted(charts(browser)) == ["acc"]
    show(browser, "HEAD", "2")
    assert charts(browser)["acc"][0]["y"] == [0.7, 0.8]
    show(browser, "HEAD~1", "10")
    assert charts(browser)["acc"][0]["y"] == [0.6, 0.7]
    show(browser, "no-such-branch", "10")
    message = browser.find_element(By.ID, "metrics-message")
    assert message.text.startswith("unknown revision 'no-such-branch'") and "error" in message.get_attribute("class")
    assert charts(browser) == {}


def test_the_history_endpoint_gives_metrics_history_rows(built):
    from starlette.testclient import TestClient

    from pipetool.ui.app import create_app

    client = TestClient(create_app(str(built.path)))
    data = client.get("/api/metrics/history").json()
    expected = json.loads(built.cli_ok("metrics", "history", "--json").stdout)
    assert [{k: r[k] for k in ("commit", "message", "metrics")} for r in data["rows"]] == expected
    assert data["keys"] == data["numeric"] == ["acc", "loss"]
    assert [r["metrics"]["acc"] for r in client.get("/api/metrics/history?limit=1").json()["rows"]] == [0.8]
    bad = client.get("/api/metrics/history?limit=x")
    assert bad.status_code == 400 and bad.json() == {"error": "limit 'x' is not a whole number"}
    assert client.get("/api/metrics/history?limit=0").status_code == 400
