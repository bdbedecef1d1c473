"""Bounded input, start-up and environment errors, and control characters in paths: each test is
the attack, and each answer is one `error:` line, a non-zero exit and no traceback.

The bounded-input cases are data: tests/data/bounded_input/NAME/ holds the project files of one
attack (a default pipeline.yaml is added when it has none) and `expected`, whose first line is
the command and whose other lines are texts the one-line error must contain.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CLI_ENV

BOUNDED_DIR = Path(__file__).parent / "data" / "bounded_input"
BOUNDED_CASES = sorted(path.name for path in BOUNDED_DIR.iterdir() if path.is_dir())
PIPELINE = """\
stages:
  train:
    cmd: echo hi > model.txt
    outs:
    - model.txt
"""


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# 1. Bounded YAML, JSON and TOML: depth, aliases, size


def test_bounded_input_cases_are_present():
    assert len(BOUNDED_CASES) >= 10, BOUNDED_CASES


@pytest.mark.parametrize("case", BOUNDED_CASES)
def test_input_over_a_bound_is_refused_at_once_with_one_line(project, case):
    source = BOUNDED_DIR / case
    for path in source.iterdir():
        if path.name != "expected":
            shutil.copy(path, project.path / path.name)
    if not (source / "pipeline.yaml").exists():
        project.write("pipeline.yaml", PIPELINE)
    command, *expected = (source / "expected").read_text().splitlines()
    started = time.perf_counter()
    result = project.cli(*command.split())
    elapsed = time.perf_counter() - started
    line = _one_error_line(result)
    for text in expected:
        assert text in line, line
    assert elapsed < 1.0, f"took {elapsed:.2f} s to refuse"


def test_merge_keys_and_aliases_of_a_real_params_file_keep_working(project):
    project.write(
        "params.yaml",
        """\
        defaults: &defaults
          lr: 0.1
          epochs: 3
        train:
          <<: *defaults
          epochs: 5
        sizes: &sizes [1, 2, 3]
        eval:
          sizes: *sizes
        """,
    )
    project.write(
        "pipeline.yaml",
        """\
        stages:
          train:
            cmd: echo ${train.lr} ${train.epochs} ${eval.sizes[2]} > model.txt
            outs:
            - model.txt
        """,
    )
    project.cli_ok("repro")
    assert project.read("model.txt").split() == ["0.1", "5", "3"]


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate(project):
    project.write(
        "params.yaml",
        """\
        defaults: &defaults
          lr: 0.1
        train:
          <<: *defaults
          epochs: 5
          epochs: 6
        """,
    )
    project.write("pipeline.yaml", PIPELINE)
    line = _one_error_line(project.cli("status"))
    assert "params.yaml:6:3: duplicate key 'epochs' (first defined on line 5" in line


def test_a_params_file_over_64_mib_is_refused_before_it_is_parsed(project):
    from pipetool.files.yamlfile import MAX_DATA_BYTES

    project.write("pipeline.yaml", PIPELINE)
    with open(project.path / "params.yaml", "w") as handle:
        handle.write("lr: 0.1\n")
        handle.write(("# padding" + " " * 1014 + "\n") * (MAX_DATA_BYTES // 1024 + 1))
    started = time.perf_counter()
    line = _one_error_line(project.cli("status"))
    assert time.perf_counter() - started < 3.0  # reading 64 MiB, not parsing it
    assert "error: params.yaml: too big to read: 64 MiB, over the 64 MiB" in line


def test_metrics_show_reports_an_alias_bomb_as_unreadable_and_goes_on(project):
    laughs = (BOUNDED_DIR / "params_yaml_alias_bomb" / "params.yaml").read_text()
    project.write(
        "pipeline.yaml",
        """\
        stages:
          train:
            cmd: cp bomb.src bomb.yaml && cp scores.src scores.json
            deps:
            - bomb.src
            - scores.src
            metrics:
            - bomb.yaml
            - scores.json
        """,
    )
    (project.path / "bomb.src").write_text(laughs)
    (project.path / "scores.src").write_text('{"acc": 0.9}\n')
    project.cli_ok("repro")
    started = time.perf_counter()
    result = project.cli_ok("metrics", "show")
    assert time.perf_counter() - started < 1.0
    assert "aliases would repeat values" in result.stdout + result.stderr
    assert "0.9" in result.stdout


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("p.yaml", "a: 1\nb: " + "[" * 101 + "]" * 101 + "\n", "p.yaml:2: nested more than 100 levels deep"),
        ("p.yaml", "a: 1\nb: " + "[" * 99 + "]" * 99 + "\n", None),  # 100 levels, the root mapping included
        ("p.json", '{"a": ' + "[" * 101 + "]" * 101 + "}", "p.json: nested more than 100 levels deep"),
        ("p.toml", "a = " + "[" * 101 + "]" * 101 + "\n", "p.toml: nested more than 100 levels deep"),
        ("p.toml", ".".join(f"k{i}" for i in range(150)) + " = 1\n", "p.toml: nested more than 100 levels deep"),
    ],
)
def test_bounds_of_each_format_are_one_line_errors_from_the_library(name, text, expected):
    from pipetool.errors import SpecError
    from pipetool.files import yamlfile

    if expected is None:
        yamlfile.load(text, name)
        return
    with pytest.raises(SpecError) as caught:
        yamlfile.load(text, name)
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_document_over_its_size_bound_is_refused_before_parsing():
    from pipetool.errors import SpecError
    from pipetool.files import yamlfile

    with pytest.raises(SpecError, match=r"^pipeline.lock: too big to read: 2 MiB, over the 1 MiB"):
        yamlfile.parse("#" * 2**21, "pipeline.lock", max_bytes=2**20)


# 2. Start-up and environment errors


@pytest.mark.parametrize("module", ["argparse", "sqlite3"])  # imported by pipetool.cli; by the command's module
def test_ctrl_c_while_pipetool_imports_prints_one_line_and_exits_130(project, tmp_path, module):
    """A stand-in for a module pipetool imports, found first on the path, says it is being
    imported and waits for the Ctrl-C."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    handshake = tmp_path / "importing"
    (shadow / f"{module}.py").write_text(f"import os, time\nopen({str(handshake)!r}, 'w').close()\ntime.sleep(60)\n")
    project.write("pipeline.yaml", PIPELINE)
    env = {**CLI_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipetool", "status"],
        cwd=project.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not handshake.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "pipetool never started importing"
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in out + err
    assert err.strip() == "error: interrupted"


def _read_only_run(project, *args: str) -> subprocess.CompletedProcess:
    """pipetool ARGS in the project made read-only as a user would find it: a read-only mount
    (root ignores permission bits), or no write permission for anyone when not root."""
    command = [sys.executable, "-m", "pipetool", *args]
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(project.path)], check=True)
        try:
            return subprocess.run(command, cwd=project.path, env=CLI_ENV, capture_output=True, text=True, timeout=60)
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(project.path)], check=True)
    script = 'mount --bind -o ro "$0" "$0" && cd "$0" && exec "$@"'
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(project.path), "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount the project read-only here: {probe.stderr.strip()}")
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(project.path), *command],
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("args", [("repro", "-f"), ("checkout", "-f"), ("gc",), ("push",), ("exp", "run")])
def test_a_read_only_project_gives_one_line_naming_the_path(project, tmp_path, args):
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    project.cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    project.git("add", "-A")
    project.git("commit", "-qm", "built")
    line = _one_error_line(_read_only_run(project, *args))
    assert line.startswith("error: pipetool could not "), line
    assert str(project.path) in line, line


@pytest.mark.parametrize(
    "code, expected",
    [
        (errno.EROFS, "error: pipetool could not write /p/.pipetool/x: Read-only file system ("),
        (errno.EACCES, "error: pipetool could not use /p/.pipetool/x: Permission denied (make the project"),
        (errno.ENOSPC, "error: pipetool could not write /p/.pipetool/x: No space left on device (free some"),
    ],
)
def test_environment_errors_are_named_with_the_path_and_what_to_do(code, expected):
    from pipetool.cli import environment_error

    message = environment_error(OSError(code, os.strerror(code), "/p/.pipetool/x"))
    assert f"error: {message}".startswith(expected), message
    assert environment_error(OSError(errno.EIO, "Input/output error")) is None  # a bug keeps its traceback


# 3. Control characters in paths


@pytest.mark.parametrize(
    "field, entry, shown",
    [
        ("outs", '"model\\n.txt"', "'model\\n.txt'"),
        ("outs", '{"model\\t.txt": {cache: false}}', "'model\\t.txt'"),
        ("deps", '"data\\n.csv"', "'data\\n.csv'"),
        ("metrics", '"scores\\x7f.json"', "'scores\\x7f.json'"),
        ("plots", '"loss\\x1b[31m.csv"', "'loss\\x1b[31m.csv'"),
    ],
)
def test_a_path_with_control_characters_is_a_spec_error_with_stage_and_line(project, field, entry, shown):
    project.write(
        "pipeline.yaml",
        f"""\
        stages:
          ok:
            cmd: echo ok
          train:
            cmd: echo hi > model.txt
            {field}:
            - {entry}
        """,
    )
    line = _one_error_line(project.cli("repro"))
    assert line.startswith(
        f"error: pipeline.yaml:6: stage 'train': the path {shown} in '{field}' holds control characters"
    ), line
    assert not (project.path / ".gitignore").exists()
    assert not (project.path / "pipeline.lock").exists()


def test_a_params_file_name_and_a_generated_stage_name_with_control_characters_are_refused(project):
    project.write(
        "pipeline.yaml",
        """\
        stages:
          train:
            cmd: echo hi
            params:
            - "params\\n.yaml":
        """,
    )
    assert "pipeline.yaml:4: stage 'train': the path 'params\\n.yaml' in 'params'" in _one_error_line(
        project.cli("status")
    )
    project.write(
        "pipeline.yaml",
        """\
        stages:
          train:
            foreach: ["a\\nb", c]
            do:
              cmd: echo ${item}
        """,
    )
    assert "pipeline.yaml:3: stage 'train': it generates the stage name 'train@a\\nb'" in _one_error_line(
        project.cli("status")
    )


def test_gitignore_never_writes_a_line_for_an_out_with_a_newline(project):
    from pipetool.errors import SpecError
    from pipetool.storage import gitignore

    with pytest.raises(SpecError, match="control characters"):
        gitignore.ignore(str(project.path), ["models/ok.pkl", "models/evil\n!important"])
    assert not (project.path / "models" / ".gitignore").exists()


def test_gc_cloud_judges_a_remote_run_entry_nested_too_deep_as_damaged(project, tmp_path):
    remote = tmp_path / "remote"
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    project.cli_ok("remote", "add", "-d", "store", str(remote))
    project.cli_ok("push", "--run-cache")
    hostile = remote / "runs" / "ab" / ("c" * 30)
    hostile.parent.mkdir(parents=True, exist_ok=True)
    hostile.write_text("[" * 100_000 + "]" * 100_000)
    result = project.cli_ok("gc", "--cloud", "--dry")
    assert "would remove run-cache entry ab" + "c" * 30 in result.stdout
    assert "cannot read remote" not in result.stdout + result.stderr
