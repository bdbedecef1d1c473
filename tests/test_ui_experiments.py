"""The Experiments page of `pipetool ui`, in a browser against the real server, and its JSON
endpoints through Starlette's TestClient."""

from __future__ import annotations

import json

import pytest
from ui_browser import EXPERIMENTS, browser, ui_project, ui_server, wait_for, wait_ready  # noqa: F401


@pytest.fixture
def built(ui_project):  # noqa: F811
    return ui_project


@pytest.fixture
def server(ui_server):  # noqa: F811
    return ui_server


def _key(column: str) -> str:
    """The key of a column id (name, rev, created, or [kind, path, key] as JSON)."""
    return json.loads(column)[-1] if column.startswith("[") else column


def column(key: str) -> str:
    """A CSS attribute selector of the column of a param or metric key."""
    return f"[data-column$='\"{key}\"]']"


def open_page(driver, server):
    driver.get(server.url + "experiments")
    return wait_ready(driver, "experiments")


def names(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [row.get_attribute("data-name") for row in driver.find_elements(By.CSS_SELECTOR, "#exp-table tbody tr")]


def headers(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [
        _key(th.get_attribute("data-column"))
        for th in driver.find_elements(By.CSS_SELECTOR, "#exp-table th[data-column]")
    ]


def test_the_table_shows_the_baseline_and_each_experiment_with_the_columns_that_differ(built, server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    shown = names(browser)
    assert shown[0] == "main" and sorted(shown[1:]) == sorted(EXPERIMENTS)  # as exp show orders them
    revs = {
        r.get_attribute("data-name"): r.get_attribute("data-rev")
        for r in browser.find_elements(By.CSS_SELECTOR, "#exp-table tbody tr")
    }
    refs = dict(
        line.split()
        for line in built.git("for-each-ref", "--format=%(refname:lstrip=-1) %(objectname)", "refs/exps/").splitlines()
    )
    assert {name: revs[name] for name in EXPERIMENTS} == refs
    assert revs["main"] == built.git("rev-parse", "HEAD").strip()
    # acc and lr differ; loss and model are the same in every row, so hidden as exp show hides them
    assert headers(browser) == ["name", "rev", "acc", "lr", "created"]
    row = browser.find_element(By.CSS_SELECTOR, '#exp-table tr[data-name="mid"]')
    assert "0.7" in row.text and "0.2" in row.text
    assert browser.find_element(By.ID, "exp-count").text == "3 of 3 experiments"


def test_clicking_a_header_sorts_and_again_reverses(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    acc = browser.find_element(By.CSS_SELECTOR, "#exp-table th" + column("acc"))
    acc.click()
    assert names(browser) == ["main", "small", "mid", "big"]
    browser.find_element(By.CSS_SELECTOR, "#exp-table th" + column("acc")).click()
    assert names(browser) == ["main", "big", "mid", "small"]  # the baseline stays first
    assert "sorted-desc" in browser.find_element(By.CSS_SELECTOR, "#exp-table th" + column("acc")).get_attribute(
        "class"
    )
    browser.find_element(By.CSS_SELECTOR, '#exp-table th[data-column="name"]').click()
    assert names(browser) == ["main", "big", "mid", "small"]  # by name, ascending


def retype(box, text: str) -> None:
    """Replace what the box holds, key by key, as a user does (each key fires an input event)."""
    from selenium.webdriver.common.keys import Keys

    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)


def test_the_filter_hides_rows_and_the_column_chooser_shows_a_column(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    box = browser.find_element(By.ID, "exp-filter")
    retype(box, "mi")
    assert names(browser) == ["main", "mid"]  # a baseline stays over its matching experiments
    retype(box, "mix")
    assert names(browser) == []
    retype(box, "0.55")  # a value: small's lr 0.05 gives acc 0.55
    assert names(browser) == ["main", "small"]
    retype(box, "")
    assert len(names(browser)) == 4
    browser.find_element(By.CSS_SELECTOR, "#exp-columns summary").click()
    browser.find_element(By.CSS_SELECTOR, "#exp-columns input" + column("loss")).click()
    assert headers(browser) == ["name", "rev", "acc", "loss", "lr", "created"]
    browser.find_element(By.CSS_SELECTOR, "#exp-columns input" + column("lr")).click()
    assert headers(browser) == ["name", "rev", "acc", "loss", "created"]


def test_two_selected_rows_are_compared_side_by_side_with_differences_marked(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    assert not browser.find_element(By.ID, "exp-compare").is_displayed()
    for name in ("small", "big"):
        browser.find_element(By.CSS_SELECTOR, f'#exp-table tr[data-name="{name}"] input.select').click()
    panel = wait_for(browser, lambda d: d.find_element(By.ID, "exp-compare"))
    assert panel.is_displayed()
    heads = [th.get_attribute("data-name") for th in panel.find_elements(By.CSS_SELECTOR, "thead th[data-name]")]
    assert heads == ["small", "big"]  # in the order they were selected
    lines = {
        _key(tr.get_attribute("data-column")): (
            tr.get_attribute("class"),
            [td.text for td in tr.find_elements(By.TAG_NAME, "td")],
        )
        for tr in panel.find_elements(By.CSS_SELECTOR, "tbody tr")
    }
    assert lines == {
        "acc": ("differs", ["0.55", "0.9"]),
        "loss": ("same", ["1", "1"]),
        "lr": ("differs", ["0.05", "0.4"]),
        "model": ("same", ["linear", "linear"]),
    }
    assert len(panel.find_elements(By.CSS_SELECTOR, "td.changed")) == 4
    panel.find_element(By.ID, "exp-compare-only").click()
    shown = browser.find_elements(By.CSS_SELECTOR, "#exp-compare-table tbody tr")
    assert [_key(tr.get_attribute("data-column")) for tr in shown] == ["acc", "lr"]
    # two rows: neither Apply nor Branch, which act on one experiment
    assert not browser.find_element(By.ID, "exp-apply").is_enabled()
    # their plots side by side: the Plots page with these two experiments chosen, and only them
    panel.find_element(By.ID, "exp-compare-plots").click()
    wait_for(browser, lambda d: d.current_url.startswith(server.url + "plots?"))
    wait_ready(browser)
    chosen = browser.find_element(By.ID, "plots-chosen").text
    assert chosen.startswith("showing ") and sorted(chosen[len("showing ") :].split(", ")) == ["big", "small"]
    ticked = browser.execute_script(
        "return Array.from(document.querySelectorAll('#plots-revisions input')).filter((b) => b.checked)"
        ".map((b) => b.parentElement.textContent.trim())"
    )
    assert sorted(ticked) == ["big experiment", "small experiment"]


def select_one(driver, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'#exp-table tr[data-name="{name}"] input.select').click()
    wait_for(driver, lambda d: d.find_element(By.ID, "exp-apply").is_enabled())


def confirm(driver, done: str, cancel: bool = False) -> str:
    """Answer the open dialog; the page's message once the action finished."""
    from selenium.webdriver.common.by import By

    dialog = wait_for(driver, lambda d: d.find_element(By.ID, "exp-dialog"))
    assert dialog.is_displayed()
    dialog.find_element(By.ID, "exp-cancel" if cancel else "exp-confirm").click()
    if cancel:
        wait_for(driver, lambda d: not d.find_element(By.ID, "exp-dialog").is_displayed())
        return driver.find_element(By.ID, "exp-message").text
    wait_for(driver, lambda d: d.find_element(By.ID, "experiments").get_attribute("data-done") == done)
    return driver.find_element(By.ID, "exp-message").text


def test_apply_asks_first_then_puts_the_experiment_in_the_workspace(built, server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    params = built.read("params.yaml")
    assert "lr: 0.3 " in params
    open_page(browser, server)
    select_one(browser, "big")
    browser.find_element(By.ID, "exp-apply").click()
    assert "Apply experiment 'big'" in browser.find_element(By.ID, "exp-dialog-text").text
    confirm(browser, "apply", cancel=True)
    assert built.read("params.yaml") == params  # cancelled: nothing changed
    browser.find_element(By.ID, "exp-apply").click()
    message = confirm(browser, "apply")
    assert message.startswith("Applied experiment 'big': ")
    assert built.read("params.yaml") == params.replace("lr: 0.3 ", "lr: 0.4 ")
    assert json.loads(built.read("metrics.json"))["acc"] == 0.9
    built.git("checkout", "-q", "--", ".")


def test_branch_asks_for_a_name_and_an_error_is_one_line_on_the_page(built, server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    open_page(browser, server)
    select_one(browser, "mid")
    browser.find_element(By.ID, "exp-branch").click()
    name = browser.find_element(By.ID, "exp-branch-name")
    name.clear()
    name.send_keys("try-mid")
    assert confirm(browser, "branch").startswith("Branch 'try-mid' made from experiment 'mid'")
    assert built.git("rev-parse", "try-mid") == built.git(
        "rev-parse", "refs/exps/" + built.git("rev-parse", "HEAD").strip() + "/mid"
    )
    browser.find_element(By.ID, "exp-branch").click()
    name = browser.find_element(By.ID, "exp-branch-name")
    name.clear()
    name.send_keys("try-mid")
    message = confirm(browser, "branch")
    assert message == "a branch named 'try-mid' already exists (choose another name)"
    assert "error" in browser.find_element(By.ID, "exp-message").get_attribute("class")


# -- the JSON endpoints, without a browser ---------------------------------------------------------


@pytest.fixture
def client(built):
    from starlette.testclient import TestClient

    from pipetool.ui.app import create_app

    return TestClient(create_app(str(built.path)))


def test_the_table_endpoint_gives_exp_show_json_rows_and_which_columns_differ(built, client):
    reply = client.get("/api/experiments")
    assert reply.status_code == 200
    data = reply.json()
    assert data["rows"] == json.loads(built.cli_ok("exp", "show", "--json").stdout)
    differs = {c["label"]: c["differs"] for c in data["columns"]}
    assert differs == {"acc": True, "loss": False, "lr": True, "model": False}
    assert data["errors"] == []


def test_apply_and_branch_take_only_json_from_the_page_itself(built, client):
    params = built.read("params.yaml")
    form = client.post("/api/experiments/apply", data={"name": "big"})  # what a form of any site can send
    assert form.status_code == 403 and "application/json" in form.json()["error"]
    foreign = client.post("/api/experiments/apply", json={"name": "big"}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert client.get("/api/experiments/apply").status_code == 405
    assert built.read("params.yaml") == params
    unknown = client.post("/api/experiments/apply", json={"name": "nope"})
    assert unknown.status_code == 400
    assert unknown.json()["error"].startswith("no experiment named 'nope'")
    bad = client.post("/api/experiments/branch", json={"name": "mid", "branch": "-x"})
    assert bad.status_code == 400 and bad.json() == {
        "error": "'-x' cannot name a git branch (see 'git check-ref-format --help')"
    }
    assert built.read("params.yaml") == params


def test_a_revision_lists_the_same_files_as_git_ls_tree(project):
    """The table reads each row's files through git's cat-file process (revisions/git.py
    tree_files), with no ls-tree process per row: the same files, in the same order."""
    import os
    import subprocess

    from pipetool.revisions.git import GitRepo

    for relpath in ("a.txt", "sub/b.txt", "sub/deep/c.txt", "sub/deep/ü é.txt", "z/pipeline.yaml", "z/x/y.txt"):
        project.write(relpath, "x\n")
    os.symlink("a.txt", project.path / "link")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "one")
    project.write("sub/deep/new.txt", "y\n")
    (project.path / "a.txt").unlink()
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "two")
    for folder, prefix in ((project.path, ""), (project.path / "z", "z")):
        repo = GitRepo(str(folder))
        for rev in ("HEAD", "HEAD~1"):
            listed = subprocess.run(
                ["git", "ls-tree", "-r", "-z", "--name-only", "--full-tree", rev, "--", prefix or "."],
                cwd=project.path,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            expected = [path[len(prefix) + 1 if prefix else 0 :] for path in listed.split("\0") if path]
            assert repo.source(repo.revision(rev)).paths() == expected
            assert len(expected) == (2 if prefix else 7)  # one file gone, one new at HEAD
