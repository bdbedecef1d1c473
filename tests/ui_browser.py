"""The browser machinery of the UI tests: the real `pipetool ui` process on a free port, and a
headless Chromium (Debian's, with its chromedriver) driven by Selenium.

Tests wait on the server's "Serving ... at URL" line and on elements or a page's data-ready
attribute, never on the clock.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CLI_ENV
from headless_chromium import CHROMEDRIVER, CHROMIUM, start_chromium

MISSING_BROWSER = "Chromium and chromedriver from Debian are needed: apt-get install chromium chromium-driver"
WAIT = 20  # seconds a test waits for the server's line or an element before it fails
POLL = 0.02  # how often a wait looks again (Selenium's default, 0.5 s, would dominate the tests)


class UiServer:
    """A running `pipetool ui`: its URL, and stop() to end it as Ctrl-C does."""

    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process = process
        self.url = url
        self.stdout = ""
        self.stderr = ""

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            out, err = self.process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        self.stdout += out
        self.stderr += err
        return self.process.returncode


def start_ui(folder: Path, *args: str) -> UiServer:
    """`pipetool ui --port 0 --no-browser ARGS` started in folder; returns once it printed the URL
    it serves (it prints that line when it accepts requests)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "ui", "--port", "0", "--no-browser", *args],
        cwd=folder,
        env=CLI_ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + WAIT
    line = ""
    while time.monotonic() < deadline:  # a deadline for a server that never answers, not a sleep
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line or line.startswith("Serving "):
            break
    selector.close()
    if not line.startswith("Serving "):
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"pipetool ui did not start:\n{line}{out}\n{err}")
    url = line.split(" at ", 1)[1].split()[0]
    return UiServer(process, url)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return MISSING_BROWSER + " (and the selenium package: pip install -e '.[test]')"
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        return MISSING_BROWSER
    return None


# Each test module imports the fixtures below, which makes each module's copy a fixture of its
# own: the objects are kept here so that the session makes each once, and its maker ends it.
_SHARED: dict[str, object] = {}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless Chromium driven through Debian's chromedriver (Selenium downloads nothing),
    1280x800, shared by the session's UI tests."""
    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    if "browser" in _SHARED:
        yield _SHARED["browser"]
        return
    driver = _SHARED["browser"] = start_chromium(tmp_path_factory.mktemp("chromium-profile"), WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path_factory.getbasetemp() / "chromium-profile0", ignore_errors=True)


def wait_ready(driver, element_id: str = "main"):
    """The element (by id) once the page says data-ready="1" on it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=POLL).until(
        lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, f'#{element_id}[data-ready="1"]')), False)
    )


def wait_for(driver, condition):
    """WebDriverWait(driver).until(condition): a condition on the driver, true or an element."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=POLL).until(condition)


# -- a tiny project with experiments -------------------------------------------------------------

TRAIN = """\
import json, os, yaml
if os.environ.get("UI_RUN_LOG"):  # where a test sees whether the stage ran
    open(os.environ["UI_RUN_LOG"], "a").write("train ran\\n")
p = yaml.safe_load(open("params.yaml"))
json.dump({"acc": round(0.5 + p["lr"], 3), "loss": 1.0}, open("metrics.json", "w"))
"""

PIPELINE = """\
stages:
  train:
    cmd: {python} train.py
    deps: [train.py]
    params: [lr, model]
    metrics:
      - metrics.json: {{cache: false}}
"""

PARAMS = "lr: 0.1  # learning rate\nmodel: linear\n"


def experiments_project(path: Path, experiments: dict[str, float], history: tuple[float, ...] = ()):
    """A committed one-stage project (acc = 0.5 + lr), committed again for each lr of history,
    then an experiment per name: lr on the last commit."""
    import shlex

    from conftest import Project

    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    with open(path / ".git" / "config", "a", encoding="utf-8") as config:
        config.write("[user]\n\temail = test@example.com\n\tname = Test\n")
    project = Project(path)
    project.write("train.py", TRAIN)
    project.write("pipeline.yaml", PIPELINE.format(python=shlex.quote(sys.executable)))
    project.write("params.yaml", PARAMS)
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "a tiny pipeline")
    for lr in history:
        project.write("params.yaml", PARAMS.replace("0.1", str(lr)))
        project.cli_ok("repro")
        project.git("commit", "-q", "-am", f"lr {lr} <b>bold</b>")
    for name, lr in experiments.items():
        project.cli_ok("exp", "run", "-S", f"lr={lr}", "-n", name)
    project.git("checkout", "-q", "--", ".")  # the workspace as committed
    return project


HISTORY = (0.2, 0.3)  # commits after the first one's lr 0.1: acc 0.6, 0.7, 0.8 along main
EXPERIMENTS = {"small": 0.05, "mid": 0.2, "big": 0.4}  # on the last commit: acc 0.55, 0.7, 0.9


@pytest.fixture(scope="session")
def ui_project(tmp_path_factory):
    """The project every UI test reads: three commits on main, three experiments on the last."""
    if "project" not in _SHARED:
        _SHARED["project"] = experiments_project(tmp_path_factory.mktemp("ui") / "repo", EXPERIMENTS, HISTORY)
    return _SHARED["project"]


@pytest.fixture(scope="session")
def ui_server(ui_project):
    """`pipetool ui` serving ui_project for the session; it must stop cleanly at the end."""
    if "server" in _SHARED:
        yield _SHARED["server"]
        return
    running = _SHARED["server"] = start_ui(ui_project.path)
    yield running
    assert running.stop() == 0 and "Traceback" not in running.stderr, running.stderr
