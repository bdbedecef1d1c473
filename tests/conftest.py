"""Shared fixtures: a temporary git repository and a way to run the real `pipetool` CLI in it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

# Tests stop pipetool with SIGINT, as Ctrl-C does. A shell that starts the suite in the background
# without job control makes it ignore SIGINT, and every child would inherit that: give the
# children the usual Ctrl-C back (a handler here is reset to the default in each child).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each pipetool call is a new interpreter; let it keep its bytecode (outside the repository, even
# where PYTHONDONTWRITEBYTECODE is set) so that a call costs ~0.1 s rather than ~0.13 s.
CLI_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CLI_ENV.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), "pipetool-tests-pycache"))


# Stage commands run `python`: make that the interpreter running the tests (with pandas, sklearn).
PYTHON_ENV = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


def copy_project(source: Path, dest: Path, names: list[str] | None = None) -> Project:
    """A git repository at dest holding a copy of a project folder (or of the named entries)."""
    import shutil

    dest.mkdir(parents=True)
    for name in names if names is not None else os.listdir(source):
        if (source / name).is_dir():
            shutil.copytree(source / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".pipetool"))
        else:
            shutil.copy2(source / name, dest / name)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    return Project(dest)


def first_repro(
    source: Path, dest: Path, names: list[str] | None = None, remove: tuple[str, ...] = ()
) -> tuple[Project, subprocess.CompletedProcess]:
    """A copied project (without the files in remove) after its first `pipetool repro`."""
    project = copy_project(source, dest, names)
    for relpath in remove:
        (project.path / relpath).unlink()
    return project, project.ok("repro", env=PYTHON_ENV, timeout=300)


def private_copy(source: Project, dest: Path) -> Project:
    """A copy of a (built) project that one test may change freely."""
    import shutil

    shutil.copytree(source.path, dest, symlinks=True)
    return Project(dest)


def set_param(project: Project, old: str, new: str) -> None:
    """Replace one exact line fragment of params.yaml (it must occur once)."""
    text = project.read("params.yaml")
    assert text.count(old) == 1, old
    (project.path / "params.yaml").write_text(text.replace(old, new))


def run_pipetool(cwd: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `pipetool ARGS` in cwd as a user would; returns the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "pipetool", *args],
        cwd=cwd,
        env={**CLI_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_process(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`pipetool ARGS` through its main() in this process, in cwd, with env added to os.environ;
    output captured. A traceback escaping main() is caught and shown as a real run would."""
    import contextlib
    import gc
    import io
    import locale
    import traceback

    from pipetool.cli import main

    # Streams like a real run's pipes: bytes underneath (.buffer), in the locale's encoding,
    # strict on stdout (text that cannot be encoded fails as it would there), backslashreplace on
    # stderr. The bytes are decoded as they are, '\r' included.
    encoding = locale.getpreferredencoding(False)
    out = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="backslashreplace", write_through=True)
    old_cwd, old_env = os.getcwd(), dict(os.environ)
    old_term = signal.getsignal(signal.SIGTERM)
    old_gc = gc.get_threshold()  # main() sets its own pace for the process it thinks it owns
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                if not isinstance(exit_.code, int) and exit_.code is not None:
                    print(exit_.code, file=sys.stderr)  # as the interpreter does on its way out
            except Exception:  # noqa: BLE001 - shown as the traceback a user would see
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
        signal.signal(signal.SIGTERM, old_term)
        gc.set_threshold(*old_gc)
    out.flush()
    err.flush()
    return subprocess.CompletedProcess(
        ["pipetool", *args],
        code,
        out.buffer.getvalue().decode(encoding),
        err.buffer.getvalue().decode(encoding, "backslashreplace"),
    )


def _succeeded(result: subprocess.CompletedProcess, args: tuple) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"pipetool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _failed(result: subprocess.CompletedProcess, code: int) -> subprocess.CompletedProcess:
    assert result.returncode == code, (
        f"expected exit {code}, got {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


class Project:
    """A temporary project folder (a git repository) with helpers to write files and run pipetool."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relpath: str, text: str) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
        return target

    def read(self, relpath: str) -> str:
        return (self.path / relpath).read_text()

    def exists(self, relpath: str) -> bool:
        return (self.path / relpath).exists()

    def run(
        self, *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """Run `pipetool ARGS` in the project (or cwd)."""
        return run_pipetool(cwd or self.path, *args, env=env, timeout=timeout)

    def cli(self, *args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run `pipetool ARGS` in this process (no interpreter start-up), for tests where the
        process boundary does not matter; the same result as run()."""
        return run_in_process(cwd or self.path, *args, env=env)

    def cli_ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """cli(), insisting it succeeded."""
        return _succeeded(self.cli(*args, **kwargs), args)

    def cli_fails(self, *args: str, code: int = 1, **kwargs) -> subprocess.CompletedProcess:
        """cli(), insisting it failed cleanly: the exit code, and no traceback."""
        return _failed(self.cli(*args, **kwargs), code)

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run pipetool and insist it succeeded; its output is shown when it did not."""
        return _succeeded(self.run(*args, **kwargs), args)

    def fails(self, *args: str, code: int = 1, **kwargs) -> subprocess.CompletedProcess:
        """Run pipetool and insist it failed cleanly: the exit code, and no traceback."""
        return _failed(self.run(*args, **kwargs), code)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True, text=True).stdout

    def lock(self) -> dict:
        import yaml

        return yaml.safe_load(self.read("pipeline.lock"))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty git repository to build a pipeline in."""
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    # what `git config user.email/user.name` would add, without two more git processes per test
    with open(path / ".git" / "config", "a", encoding="utf-8") as config:
        config.write("[user]\n\temail = test@example.com\n\tname = Test\n")
    return Project(path)


def ran_stages(output: str) -> list[str]:
    """Names of the stages a repro ran, in the order it started them."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]


def remade_stages(output: str) -> list[str]:
    """Stages a repro brought up to date, run or restored from the run-cache, in that order."""
    names = []
    for line in output.splitlines():
        if line.startswith("Running stage '") or (line.startswith("Stage '") and "restored from run-cache" in line):
            names.append(line.split("'")[1])
    return names


@pytest.fixture
def example(built, tmp_path) -> Project:
    """A private copy of a built example; each example's test module defines `built`
    (the example after its first `pipetool repro`, and that run's output)."""
    return private_copy(built[0], tmp_path / "example")


@contextlib.contextmanager
def s3_server(bucket: str):
    """moto's S3 server on a free loopback port, in a process of its own (a server sharing this
    process's interpreter would take turns with the command under test: a thousand objects
    took 20 s instead of 14), with one empty bucket: (endpoint URL, a boto3 client)."""
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a line per request: a pipe nobody reads would fill and stop it
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # ready once it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, f"moto's S3 server ended with {server.returncode}"
                assert time.monotonic() < deadline, "moto's S3 server did not listen within a minute"
                time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=bucket)
        yield endpoint, client
    finally:
        server.terminate()
        server.wait(timeout=30)
