"""What repro shows while it runs: plain lines when stdout is not a terminal (CI logs, pipes),
a live view on a terminal (forced here with PIPETOOL_PROGRESS=live), -q and -v."""

from __future__ import annotations

import re

import pytest

PIPELINE = """
    stages:
      first:
        cmd: echo hello from first && echo 1 > first.txt
        outs: [first.txt]
      second:
        cmd: echo hello from second && cat first.txt > second.txt
        deps: [first.txt]
        outs: [second.txt]
"""

PLAIN_LINE = re.compile(
    r"^(Running stage '\w+': new stage|hello from \w+|Stage '\w+' done in \d+\.\d\ds"
    r"|Summary: 2 ran, 0 failed, 0 skipped, 0 up to date)$"
)


@pytest.fixture
def two(project):
    project.write("pipeline.yaml", PIPELINE)
    return project


def test_output_that_is_not_a_terminal_is_plain_lines_only(two):
    result = two.cli_ok("repro")
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "Running stage 'first': new stage" and lines[-1].startswith("Summary: 2 ran")
    assert all(PLAIN_LINE.match(line) for line in lines), lines


def test_plain_can_be_asked_for_and_a_bad_mode_is_a_clear_error(two):
    assert "\x1b" not in two.cli_ok("repro", env={"PIPETOOL_PROGRESS": "plain"}).stdout
    result = two.cli_fails("repro", "-f", env={"PIPETOOL_PROGRESS": "fancy"})
    assert "PIPETOOL_PROGRESS is 'fancy' (set it to auto, plain or live)" in result.stderr


def test_live_view_draws_a_status_area_around_the_same_lines(two):
    result = two.cli_ok("repro", env={"PIPETOOL_PROGRESS": "live", "COLUMNS": "100"})
    assert "\x1b[" in result.stdout  # drawn and erased with terminal escapes
    assert re.search(r"\d/2 stages", result.stdout)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", result.stdout)
    for line in (
        "Running stage 'first': new stage",
        "hello from first",
        "Running stage 'second': new stage",
        "Summary: 2 ran, 0 failed, 0 skipped, 0 up to date",
    ):
        assert line in text


def test_quiet_prints_nothing_on_success_but_keeps_logs_and_reports_failures(two):
    result = two.cli_ok("repro", "-q")
    assert result.stdout == ""
    assert two.read(".pipetool/logs/first.log") == "hello from first\n"
    two.write("pipeline.yaml", PIPELINE.replace("cat first.txt", "cat missing.txt"))
    result = two.cli_fails("repro", "-q")
    assert result.stdout.startswith("Stage 'second' failed: 'echo hello from second && cat missing.txt > second.txt'")
    assert "Running stage" not in result.stdout and "Summary" not in result.stdout


def test_verbose_prints_commands_and_log_files(two):
    out = two.cli_ok("repro", "-v").stdout
    assert "Running stage 'first': new stage\n  $ echo hello from first && echo 1 > first.txt\n" in out
    assert "  output also goes to .pipetool/logs/first.log\n" in out


def test_hashing_thousands_of_files_is_announced(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          many:
            cmd: mkdir -p many && cd many && for i in $(seq 1 2000); do echo $i > f$i.txt; done
            outs: [many]
    """,
    )
    out = project.cli_ok("repro").stdout
    assert "Hashing many: 8.9 KB in 2,000 file(s)\n" in out


def test_live_view_counts_a_stage_once_when_its_outs_cannot_be_stored_after_it_ran(project):
    """A stage is reported done once its outs are hashed; when storing them in the cache then
    fails (a file stands where the object's folder goes), it is reported failed as well, and the
    live view still counts it as one stage of one."""
    import xxhash

    project.write("pipeline.yaml", "stages:\n  first:\n    cmd: echo one > one.txt\n    outs: [one.txt]\n")
    blocker = project.path / ".pipetool" / "cache" / xxhash.xxh3_128_hexdigest(b"one\n")[:2]
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way\n")
    result = project.cli_fails("repro", env={"PIPETOOL_PROGRESS": "live", "COLUMNS": "100"})
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", result.stdout)
    assert "Stage 'first' failed: could not store its outs in the cache" in text
    assert re.findall(r"(\d+)/1 stages", text)[-1] == "1"
    assert "2/1 stages" not in text
