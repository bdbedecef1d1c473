"""docs/screenshots.py, which retakes README's UI screenshots, starts Chromium exactly as the UI's
browser tests do: both take the options from tests/headless_chromium.py, which needs neither
pipetool nor pytest. (Taking the screenshots runs the root example: too slow for the suite.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import headless_chromium
import ui_browser

ROOT = Path(__file__).resolve().parent.parent


def test_the_script_runs_and_shares_the_tests_browser_options():
    found = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "screenshots.py"), "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert found.returncode == 0, found.stderr
    assert "project" in found.stdout and "output" in found.stdout
    source = (ROOT / "docs" / "screenshots.py").read_text(encoding="utf-8")
    assert "from headless_chromium import" in source
    assert [flag for flag in headless_chromium.FLAGS if flag in source] == []  # not repeated there
    assert ui_browser.start_chromium is headless_chromium.start_chromium
    assert "--headless=new" in headless_chromium.FLAGS
    assert f"--window-size={headless_chromium.WINDOW[0]},{headless_chromium.WINDOW[1]}" in headless_chromium.FLAGS


def test_the_options_module_needs_neither_pipetool_nor_pytest():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import headless_chromium; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pipetool', 'pytest', 'conftest')))"
    )
    found = subprocess.run([sys.executable, "-c", code, str(ROOT / "tests")], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout == "[]\n"
