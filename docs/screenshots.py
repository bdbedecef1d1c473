"""Take README's four screenshots of `pipetool ui` (docs/ui-*.png), 1280x800, all from one project.

    git clone -q . /some/where/example
    python docs/screenshots.py /some/where/example docs

PROJECT is a fresh clone of this repository (the root example; run with a Python that has the
`example` and `ui` extras and selenium, e.g. the project's .venv, and Debian's chromium and
chromium-driver installed). The script, in PROJECT:

1. runs `pipetool repro`, then, unless PROJECT already has experiments, four `exp run -S ...`
   (logreg, boosting, and a two-run grid of forest sizes, trees-1 and trees-2), and puts the
   workspace back as committed after each;
2. starts `pipetool ui --port 0 --no-browser` and a headless Chromium with the options the UI's
   browser tests use (tests/headless_chromium.py);
3. shoots the Experiments, Metrics and Plots pages (the workspace, HEAD, logreg and boosting)
   once each says data-ready, then edits params.yaml (train.random_forest.n_estimators 100 -> 300),
   starts `pipetool repro --no-run-cache` and shoots the Pipeline page while the train stage's node says
   data-status="running" (it waits on the page, never on the clock); it then waits for the repro
   to end and leaves that edit in the workspace.

The PNGs are written to OUTPUT as ui-experiments.png, ui-metrics.png, ui-plots.png and
ui-pipeline.png. Commands run with this Python (`python -m pipetool`) and its folder first on PATH,
so the stages' `python` is the same one.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from headless_chromium import WINDOW, start_chromium  # noqa: E402 - tests/ is put on the path just above

WAIT = 60  # seconds to wait for a page or a stage before giving up (the example's stages take seconds)
EXPERIMENTS = (
    ["-S", "train.model=logreg", "-n", "logreg"],
    ["-S", "train.model=gradient_boosting", "-n", "boosting"],
    ["-S", "train.random_forest.n_estimators=20,50", "-n", "trees", "-j", "2"],
)
SHOWN_EXPERIMENTS = ("logreg", "boosting")  # chosen on the Plots page beside the workspace and HEAD


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("project", type=Path, help="a fresh clone of this repository")
    parser.add_argument("output", type=Path, help="the folder the PNGs are written to (docs/)")
    args = parser.parse_args()
    project, output = args.project.resolve(), args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    prepare(project, env)
    server, url = start_ui(project, env)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        driver = start_chromium(Path(profile), WAIT)
        try:  # the page 1280x800 (the window's size leaves less to the page in headless Chromium)
            width, height = WINDOW
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            shoot(driver, url + "experiments", output / "ui-experiments.png")
            shoot(driver, url + "metrics", output / "ui-metrics.png")
            driver.get(url + "plots")
            wait_ready(driver)
            choose_experiments(driver)
            driver.save_screenshot(str(output / "ui-plots.png"))
            shoot_pipeline_during_repro(driver, url, project, env, output / "ui-pipeline.png")
        finally:
            driver.quit()
            server.terminate()
            server.wait(timeout=WAIT)
    for name in ("experiments", "metrics", "plots", "pipeline"):
        print(output / f"ui-{name}.png")
    return 0


def pipetool(project: Path, env: dict, *args: str) -> str:
    found = subprocess.run(
        [sys.executable, "-m", "pipetool", *args], cwd=project, env=env, capture_output=True, text=True
    )
    if found.returncode != 0:
        raise SystemExit(f"pipetool {' '.join(args)} failed:\n{found.stdout}{found.stderr}")
    return found.stdout


def prepare(project: Path, env: dict) -> None:
    pipetool(project, env, "repro")
    refs = subprocess.run(
        ["git", "for-each-ref", "refs/exps"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    for experiment in EXPERIMENTS if not refs.strip() else ():
        pipetool(project, env, "exp", "run", *experiment)
        # the workspace as committed (an experiment run in it leaves its params there, and a grid
        # would carry them over) with its cached outs
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=project, check=True)
        pipetool(project, env, "checkout")


def start_ui(project: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """`pipetool ui` on a free port; returns once it printed the URL it serves."""
    server = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "ui", "--port", "0", "--no-browser"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()  # "Serving PROJECT at URL (Ctrl-C to stop)", or "" if it ended
    if not line.startswith("Serving "):
        server.kill()
        raise SystemExit(f"pipetool ui did not start: {line}")
    return server, line.split(" at ", 1)[1].split()[0]


def wait_for(driver, condition):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(condition)


def wait_ready(driver) -> None:
    """Until the page's root element (#experiments, #metrics or #main) says data-ready="1": it does
    once it shows its data."""
    from selenium.webdriver.common.by import By

    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-ready="1"]'))


def shoot(driver, url: str, path: Path) -> None:
    driver.get(url)
    wait_ready(driver)
    driver.save_screenshot(str(path))


def choose_experiments(driver) -> None:
    """Tick SHOWN_EXPERIMENTS in the Plots page's revision picker, one at a time: each tick reloads
    the charts, and the next waits until that load shows its series (two loads in flight could
    end in either order)."""
    for name in SHOWN_EXPERIMENTS:
        before = driver.execute_script(TRACES)
        driver.execute_script(  # the change event's handler removes data-ready before it returns
            "for (const box of document.querySelectorAll('#plots-revisions input'))"
            "  if (box.value.endsWith('/' + arguments[0])) box.click();",
            name,
        )
        wait_ready(driver)
        wait_for(driver, lambda d, before=before: d.execute_script(TRACES) == before + 1)


TRACES = """
const chart = document.querySelector('#plots-charts .chart[data-plot]');
return chart && chart.data ? chart.data.length : 0;
"""


def shoot_pipeline_during_repro(driver, url: str, project: Path, env: dict, path: Path) -> None:
    """The Pipeline page while `repro` runs the train stage again (a bigger forest). No stage panel
    is opened: beside it the graph would not fit 1280 pixels."""
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    changed = re.sub(r"(random_forest:\n\s+n_estimators:) 100\b", r"\1 300", text)
    if changed == text:
        raise SystemExit("params.yaml has no train.random_forest.n_estimators: 100 to change")
    driver.get(url + "pipeline")
    wait_ready(driver)
    params.write_text(changed, encoding="utf-8")
    repro = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "repro", "--no-run-cache"],  # runs train on a rerun of this script too
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        running = '#pl-graph-box g.node[data-stage="train"][data-status="running"]'
        wait_for(driver, lambda d: d.execute_script("return document.querySelector(arguments[0]) !== null", running))
        driver.save_screenshot(str(path))
    finally:
        repro.wait(timeout=WAIT)
    if repro.returncode != 0:
        raise SystemExit(f"pipetool repro exited with {repro.returncode}")


if __name__ == "__main__":
    sys.exit(main())
