"""`pipetool ui`: the server process, the shared layout, and the safety rules."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

import pytest
from conftest import private_copy
from ui_browser import browser, start_ui, ui_project, ui_server, wait_for  # noqa: F401 - fixtures

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


def test_the_real_server_shows_the_nav_and_its_static_files(ui_project, ui_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    assert ui_server.url.startswith("http://127.0.0.1:")
    browser.get(ui_server.url)
    nav = wait_for(browser, lambda d: d.find_element(By.ID, "nav"))
    assert browser.current_url == ui_server.url + "experiments"  # / leads to the first page
    assert nav.text.split() == ["pipetool", ui_project.path.name, "Experiments", "Metrics", "Plots", "Pipeline"]
    assert [a.get_attribute("href") for a in nav.find_elements(By.TAG_NAME, "a")] == [
        ui_server.url + "experiments",
        ui_server.url + "metrics",
        ui_server.url + "plots",
        ui_server.url + "pipeline",
    ]
    assert nav.find_element(By.CSS_SELECTOR, "a.active").text == "Experiments"
    css = browser.execute_script("return getComputedStyle(document.getElementById('nav')).borderBottomStyle")
    assert css == "solid"  # /static/ui.css loaded
    assert browser.execute_script("return typeof window.pipetool.api") == "function"  # /static/ui.js
    with urllib.request.urlopen(ui_server.url + "static/plotly.min.js") as reply:  # from the plotly package
        assert reply.headers["content-type"].startswith("text/javascript")
        assert b"plotly.js" in reply.read(2000)


def test_the_real_server_answers_only_to_its_own_host_names(ui_server):  # noqa: F811
    with urllib.request.urlopen(ui_server.url + "static/ui.css") as reply:
        assert reply.status == 200
    rebound = urllib.request.Request(ui_server.url + "api/experiments", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(rebound)
    assert refused.value.code == 400  # a page of another site reached through a DNS name


def test_a_host_other_machines_reach_needs_expose_and_is_warned_about(tiny):
    result = tiny.cli_fails("ui", "--host", "0.0.0.0", "--no-browser")
    assert result.stderr == (
        "error: --host 0.0.0.0 lets other machines reach the UI, which has no login "
        "(add --expose if that is what you want, or leave --host out for 127.0.0.1)\n"
    )
    assert result.stdout == ""
    server = start_ui(tiny.path, "--host", "0.0.0.0", "--expose")
    try:
        assert server.url.startswith("http://0.0.0.0:")
        port = server.url.rsplit(":", 1)[1].rstrip("/")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/ui.css") as reply:
            assert reply.status == 200
    finally:
        assert server.stop() == 0  # Ctrl-C: a clean stop
    assert server.stderr.startswith("warning: serving on 0.0.0.0: anyone who can reach it can read this project")
    assert "Traceback" not in server.stderr and server.stdout.endswith("Stopped.\n")


def test_without_the_ui_extra_one_line_says_what_to_install(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    result = tiny.cli_fails("ui", "--no-browser")
    assert result.stderr == "error: pipetool ui needs the ui extra: pip install 'pipetool[ui]'\n"


def test_a_path_outside_the_project_or_in_git_is_refused(tiny, tmp_path):
    from starlette.exceptions import HTTPException
    from starlette.testclient import TestClient

    from pipetool.ui.app import create_app, project_file

    (tmp_path / "secret.txt").write_text("secret\n")
    (tiny.path / "out-link").symlink_to(tmp_path / "secret.txt")
    (tiny.path / "git-link").symlink_to(tiny.path / ".git")
    root = str(tiny.path)
    assert project_file(root, "params.yaml") == str(tiny.path / "params.yaml")
    for path, status in [
        ("../secret.txt", 403),
        (str(tmp_path / "secret.txt"), 403),
        (".git/config", 403),
        (".GIT/config", 403),
        ("git-link/config", 403),
        ("out-link", 403),
        ("sub/../params.yaml", 403),
        ("no-such-file.txt", 404),
    ]:
        with pytest.raises(HTTPException) as refused:
            project_file(root, path)
        assert refused.value.status_code == status, path
    client = TestClient(create_app(root))
    for url in ("/static/%2e%2e/app.py", "/static/..%2f..%2fparams.yaml", "/static/%2e%2e/%2e%2e/%2e%2e/params.yaml"):
        reply = client.get(url)
        assert reply.status_code == 404 and b"lr" not in reply.content, url


def test_no_endpoint_runs_a_command(ui_project, tmp_path, monkeypatch):  # noqa: F811
    """Every GET route, and the two POSTs with a real experiment, while the stage is stale: the
    stage never runs (its command would write the log), and git sees the same workspace."""
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from pipetool.ui.app import create_app

    built = private_copy(ui_project, tmp_path / "repo")
    log = tmp_path / "ran.log"
    monkeypatch.setenv("UI_RUN_LOG", str(log))
    built.write("params.yaml", "lr: 0.9\nmodel: linear\n")  # stale: repro would run train
    app = create_app(str(built.path))
    client = TestClient(app)
    gets = [r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or ())]
    assert {"/", "/experiments", "/metrics", "/api/experiments", "/api/metrics/history"} <= set(gets)
    for path in gets:
        assert client.get(path).status_code in (200, 307), path
    status = built.git("status", "--porcelain")
    assert client.post("/api/experiments/branch", json={"name": "big", "branch": "kept"}).status_code == 200
    assert built.git("status", "--porcelain") == status
    applied = client.post("/api/experiments/apply", json={"name": "big"})
    assert applied.status_code == 200, applied.text
    assert "params.yaml" in applied.json()["written"], applied.json()
    # applied: files and outs, no command (on a failure, what the endpoint said it did)
    assert "lr: 0.4" in built.read("params.yaml"), applied.json()
    assert not log.exists()
    built.write("params.yaml", "lr: 0.9\nmodel: linear\n")
    built.cli_ok("repro")
    assert log.read_text() == "train ran\n"  # the log does see a run
