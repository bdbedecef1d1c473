"""`pipetool ui`: the server process, the shared layout, and the safety rules."""

from __future__ import annotations

import urllib.request

import pytest
from ui_browser import browser, start_ui, wait_for  # noqa: F401 - browser is a fixture

PIPELINE = """\
stages:
  score:
    cmd: python -c "import json; json.dump({'acc': 0.5}, open('metrics.json', 'w'))"
    params: [lr]
    metrics:
      - metrics.json: {cache: false}
"""


@pytest.fixture
def tiny(project):
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "lr: 0.1\n")
    return project


def test_the_real_server_shows_the_nav_and_stops_on_ctrl_c(tiny, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    server = start_ui(tiny.path)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        browser.get(server.url)
        nav = wait_for(browser, lambda d: d.find_element(By.ID, "nav"))
        assert "pipetool" in nav.text and tiny.path.name in nav.text
        css = browser.execute_script("return getComputedStyle(document.getElementById('nav')).borderBottomStyle")
        assert css == "solid"  # /static/ui.css loaded
        with urllib.request.urlopen(server.url + "static/plotly.min.js") as reply:  # from the plotly package
            assert reply.headers["content-type"].startswith("text/javascript")
            assert b"plotly.js" in reply.read(2000)
        assert browser.execute_script("return typeof window.pipetool.api") == "function"  # ui.js
    finally:
        code = server.stop()
    assert code == 0, server.stderr
    assert "Traceback" not in server.stderr and "Stopped." in server.stdout
