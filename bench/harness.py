"""Timing primitives shared by the workloads: the tools under test, timed runs, scratch repos.

Every timing is wall-clock time from time.perf_counter() around one subprocess.run();
a measurement repeats it and keeps every run, and reports the median. Before each timed run the
file systems are synced (untimed): a run measures its own work, not the kernel still writing
back what the step before it wrote or removed (a pull of 266 MB, the last round's trees).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# A run slower than this is repeated at most SLOW_RUNS times in all; slower than
# VERY_SLOW_SECONDS, it is not repeated (the DVC first repro of wide_dag takes minutes).
SLOW_SECONDS = 2.0
SLOW_RUNS = 3
VERY_SLOW_SECONDS = 20.0

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
_RUNNING = re.compile(r"^Running stage '", re.MULTILINE)
# Run by a tool's interpreter: its version and path, and whether libpython is mapped as a library.
_INTERPRETER_PROBE = """
import os, platform, sys
try:
    shared = "libpython" in open("/proc/self/maps").read()
except OSError:
    shared = None
link = {True: "shared libpython", False: "libpython linked in", None: "libpython: unknown"}[shared]
print(f"{platform.python_version()} ({os.path.realpath(sys._base_executable)}, {link})")
"""


class BenchError(Exception):
    """A command under test failed, or a workload could not be set up."""


class NotImplementedByTool(BenchError):
    """The tool does not have this command or option (argparse: "invalid choice", "unrecognized
    arguments"); `what` is "command" or "option"."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what} not implemented: {detail}")
        self.what = what


# What argparse says when a tool lacks a command or an option.
_NOT_IMPLEMENTED = (("invalid choice", "command"), ("unrecognized arguments", "option"))


@dataclass
class Tool:
    """A pipeline tool under test: pipetool or DVC, with what differs between them."""

    name: str
    exe: str
    pipeline_file: str
    state_files: tuple[str, ...] = ()  # globs (relative to the repo) of the hash state to drop
    slow: bool = False  # first repros of big workloads are run once only
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        return [self.exe, *args]

    def version(self) -> str:
        done = subprocess.run(self.argv("--version"), check=False, capture_output=True, text=True, env=self.environ())
        lines = (done.stdout or done.stderr).strip().splitlines()
        return lines[-1] if done.returncode == 0 and lines else "unknown"

    def interpreter(self) -> str:
        """The Python the tool runs on (its script's #! line): version, path, and whether libpython
        is a shared library. A build with a shared libpython and without PGO/LTO (pyenv's default)
        starts up ~15% slower than a distribution's, for both tools: the start-up-bound figures
        are read against it."""
        try:
            with open(self.exe, "rb") as handle:
                line = handle.readline(4096).decode("utf-8", "replace")
        except OSError:
            return "unknown"
        python = line[2:].strip() if line.startswith("#!") else ""
        if not python or " " in python:
            return "unknown"
        done = subprocess.run([python, "-c", _INTERPRETER_PROBE], check=False, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else "unknown"

    def environ(self) -> dict[str, str]:
        # As on a user's machine, Python keeps bytecode: without it every call recompiles.
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return {**base, **GIT_ENV, **self.env}

    def init_repo(self, repo: Path) -> None:
        """Tool-specific setup of a fresh git repo (DVC needs `dvc init`)."""
        if self.name != "dvc":
            return
        for args in (
            ("init", "-q"),
            ("config", "--local", "core.analytics", "false"),
            ("config", "--local", "core.site_cache_dir", str(dvc_site_cache(repo))),
        ):
            run_checked(self.argv(*args), repo, self.environ())

    def drop_hash_state(self, repo: Path) -> int:
        """Delete the remembered file hashes, so the next command hashes everything; files removed."""
        removed = 0
        for pattern in self.state_files:
            for path in repo.glob(pattern):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                removed += 1
        if self.name == "dvc" and dvc_site_cache(repo).exists():
            shutil.rmtree(dvc_site_cache(repo))  # DVC keeps its hash state db here
            removed += 1
        return removed


def pipetool_tool(exe: str) -> Tool:
    return Tool("pipetool", exe, "pipeline.yaml", state_files=(".pipetool/state.db*",))


def dvc_tool(exe: str) -> Tool:
    return Tool("dvc", exe, "dvc.yaml", state_files=(".dvc/tmp",), slow=True, env={"DVC_NO_ANALYTICS": "1"})


def dvc_site_cache(repo: Path) -> Path:
    """Where a scratch DVC repo keeps its site cache: beside it, not in /var/tmp/dvc."""
    return repo.with_name(repo.name + ".dvc-site-cache")


@dataclass
class Timing:
    """The runs of one measurement: seconds and combined output of each."""

    seconds: list[float]
    outputs: list[str]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def stages_run(self) -> list[int]:
        """How many stages each run ran, from the "Running stage '...'" lines both tools print."""
        return [len(_RUNNING.findall(text)) for text in self.outputs]


def run_checked(
    argv: list[str] | str, cwd: Path, env: dict[str, str] | None = None, shell: bool = False
) -> subprocess.CompletedProcess:
    """Run a command, raising BenchError (or NotImplementedByTool) when it fails."""
    try:
        done = subprocess.run(argv, check=False, cwd=cwd, env=env, shell=shell, capture_output=True, text=True)
    except OSError as error:
        raise BenchError(f"cannot run {argv}: {error}") from error
    if done.returncode != 0:
        shown = argv if isinstance(argv, str) else " ".join(str(a) for a in argv)
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        for marker, what in _NOT_IMPLEMENTED:
            if marker in done.stderr:
                raise NotImplementedByTool(what, f"`{shown}`: {tail}")
        raise BenchError(f"`{shown}` exited with {done.returncode}: {tail}")
    return done


def timed_run(argv: list[str], cwd: Path, env: dict[str, str] | None) -> tuple[float, subprocess.CompletedProcess]:
    """Seconds one run_checked() takes, after a sync (see the module's docstring), and its result."""
    os.sync()
    start = time.perf_counter()
    done = run_checked(argv, cwd, env)
    return time.perf_counter() - start, done


def timed_into(timing: Timing, argv: list[str], cwd: Path, env: dict[str, str] | None) -> None:
    """One timed_run() of the command, its seconds and its output added to timing."""
    seconds, done = timed_run(argv, cwd, env)
    timing.seconds.append(seconds)
    timing.outputs.append(done.stdout + done.stderr)


def measure(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    runs: int,
    before: Callable[[int], None] | None = None,
    warmup: bool = False,
) -> Timing:
    """Time `runs` runs of a command (fewer when it is slow); before(i) runs untimed first."""
    if warmup:
        run_checked(argv, cwd, env)
    timing = Timing([], [])
    index = 0
    while index < _runs_allowed(runs, timing.seconds):
        if before:
            before(index)
        timed_into(timing, argv, cwd, env)
        index += 1
    return timing


def measure_call(func: Callable[[], object], runs: int) -> Timing:
    """Time an in-process function the same way (for the raw hashing baseline)."""
    timing = Timing([], [])
    for _ in range(runs):
        start = time.perf_counter()
        func()
        timing.seconds.append(time.perf_counter() - start)
        timing.outputs.append("")
    return timing


def _runs_allowed(runs: int, done: list[float]) -> int:
    if not done:
        return runs
    if done[0] > VERY_SLOW_SECONDS:
        return 1
    return min(runs, SLOW_RUNS) if done[0] > SLOW_SECONDS else runs


def time_shell_commands(commands: list[str], cwd: Path) -> float:
    """Seconds to run the commands one after another, one `sh -c` each, as a tool would."""
    os.sync()
    start = time.perf_counter()
    for command in commands:
        run_checked(command, cwd, shell=True)
    return time.perf_counter() - start


def write_yaml(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=10**9), encoding="utf-8")


def make_repo(
    repo: Path,
    tool: Tool,
    pipeline: dict | None,
    params: dict | None = None,
    populate: Callable[[Path], None] | None = None,
) -> Path:
    """A fresh git repo (any old one removed) with the tool's pipeline file (none at the root
    when pipeline is None), params.yaml, whatever populate(repo) writes, and a first commit."""
    remove_repo(repo)
    repo.mkdir(parents=True)
    env = tool.environ()
    run_checked(["git", "init", "-q"], repo, env)
    if pipeline is not None:
        write_yaml(repo / tool.pipeline_file, pipeline)
    if params is not None:
        write_yaml(repo / "params.yaml", params)
    if populate:
        populate(repo)
    tool.init_repo(repo)
    git_commit(repo, "pipeline", env)
    return repo


def remove_repo(repo: Path) -> None:
    """Move a scratch repo (and DVC's site cache beside it) out of the way, into the scratch
    folder's trash, which goes when the run ends.

    Deleting instead skews what is timed next: ext4 without a journal (this machine's root) does
    not reuse inodes freed in the last minutes, and after thousands of deletions each new file
    cost ~0.5 ms instead of ~0.05 ms, for whichever command ran next.
    """
    trash = repo.parent / ".trash"
    trash.mkdir(exist_ok=True)
    for path in (repo, dvc_site_cache(repo)):
        if path.exists():
            path.rename(trash / f"{len(list(trash.iterdir()))}-{path.name}")


def git_commit(repo: Path, message: str, env: dict[str, str]) -> None:
    run_checked(["git", "add", "-A"], repo, env)
    run_checked(["git", "commit", "-q", "--allow-empty", "-m", message], repo, env)


def wait_out_racy_window() -> None:
    """Files written in the last second are not remembered by hash caches; let them age."""
    time.sleep(1.1)
