"""The Pipeline page in a real browser against the real `pipetool ui`: a node per stage coloured by
its status, the stage panel with its cmd and log, and a repro in another process followed live."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import CLI_ENV
from ui_browser import browser, start_ui, wait_for, wait_ready  # noqa: F401 - browser is a fixture

PIPELINE = """\
stages:
  prepare:
    cmd: echo prepared > prep.txt; echo preparing the data
    outs: [prep.txt]
  train:
    cmd: sh train.sh
    deps: [prep.txt, train.sh]
    params: [lr]
    outs: [model.txt]
  report:
    cmd: cat model.txt > report.txt
    deps: [model.txt]
    outs: [report.txt]
  archive:
    cmd: cp report.txt archive.txt
    deps: [report.txt]
    outs: [archive.txt]
    frozen: true
"""
# train waits until the test creates `release` (at most 30 s), saying so in its log
TRAIN = (
    "echo waiting for the data; i=0\n"
    "while [ ! -e release ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\n"
    "echo trained > model.txt; echo done training\n"
)


@pytest.fixture
def pipeline_project(project):
    project.write("pipeline.yaml", PIPELINE)
    project.write("params.yaml", "lr: 0.1\n")
    project.write("train.sh", TRAIN)
    return project


def nodes(driver) -> dict[str, str]:
    return driver.execute_script(
        "const found = {};"
        "for (const g of document.querySelectorAll('#pl-graph-box g.node')) found[g.dataset.stage] = g.dataset.status;"
        "return found;"
    )


def status_of(driver, name: str) -> str | None:
    return nodes(driver).get(name)


def click(driver, name: str) -> None:
    driver.execute_script(
        "document.querySelector(`#pl-graph-box g.node[data-stage='${arguments[0]}'] rect`)"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        name,
    )


def test_statuses_a_repro_in_another_process_followed_live_and_the_stage_panel(pipeline_project, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    project = pipeline_project
    server = start_ui(project.path)
    repro = None
    try:
        browser.get(server.url + "pipeline")
        wait_ready(browser)
        assert nodes(browser) == {"prepare": "stale", "train": "stale", "report": "stale", "archive": "frozen"}
        assert len(browser.find_elements(By.CSS_SELECTOR, "#pl-graph-box path.edge")) == 3
        legend = browser.find_element(By.ID, "pl-legend").text
        assert all(word in legend for word in ("up to date", "stale", "running", "failed", "frozen"))

        # A repro in another process: train turns running (its log tailed), then up to date.
        repro = subprocess.Popen(
            [sys.executable, "-m", "pipetool", "repro"],
            cwd=project.path,
            env=CLI_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for(browser, lambda d: status_of(d, "train") == "running")
        assert status_of(browser, "prepare") == "up to date"
        assert status_of(browser, "report") == "stale"  # queued behind train
        assert "repro running: 1/4 done" in browser.find_element(By.ID, "pl-run").text
        click(browser, "train")
        wait_for(browser, lambda d: "waiting for the data" in d.find_element(By.ID, "pl-log").text)
        assert "running" in browser.find_element(By.ID, "pl-stage-status").text
        assert "sh train.sh" in browser.find_element(By.ID, "pl-stage-cmd").text
        (project.path / "release").write_text("")  # the stage may finish now
        wait_for(browser, lambda d: status_of(d, "train") == "up to date")
        wait_for(browser, lambda d: "done training" in d.find_element(By.ID, "pl-log").text)  # tailed to the end
        output, _ = repro.communicate(timeout=30)
        assert repro.returncode == 0, output
        wait_for(browser, lambda d: "last repro succeeded" in d.find_element(By.ID, "pl-run").text)
        assert nodes(browser) == {
            "prepare": "up to date",
            "train": "up to date",
            "report": "up to date",
            "archive": "frozen",
        }

        # A changed param: train is stale, and its node's title says why; a panel shows cmd and log.
        project.write("params.yaml", "lr: 0.2\n")
        browser.get(server.url + "pipeline")
        wait_ready(browser)
        assert status_of(browser, "train") == "stale" and status_of(browser, "prepare") == "up to date"
        title = browser.execute_script(
            "return document.querySelector(\"g.node[data-stage='train'] title\").textContent"
        )
        assert "changed params: lr 0.1 -> 0.2" in title
        click(browser, "prepare")
        wait_for(browser, lambda d: "preparing the data" in d.find_element(By.ID, "pl-log").text)
        assert "echo prepared > prep.txt; echo preparing the data" in browser.find_element(By.ID, "pl-stage-cmd").text
        assert "prep.txt" in browser.find_element(By.ID, "pl-panel").text
    finally:
        (project.path / "release").write_text("")
        if repro is not None and repro.poll() is None:
            repro.kill()
            repro.wait()
        code = server.stop()
    assert code == 0, server.stderr
