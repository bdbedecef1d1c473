"""What runs on a Dask worker: one stage's commands as a task, and the check that the worker sees
the repository.

The client and the workers share a folder of the repository (`.pipetool/tmp/dask/RUN/`) for
this run: a token that proves a worker sees the same repository, a `cancel` file that stops the
commands of every task, and per stage an attempt log. The log is what makes a worker's death
visible to the task that Dask starts again elsewhere: an attempt that started and never ended
died with its worker.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from .command import GRACE_SECONDS, Ended, StageCommands

TOKEN_FILE = "token"
CANCEL_FILE = "cancel"
OUTPUT_LINES = 1000  # of a stage's output sent back to the client; earlier lines are counted
POLL_SECONDS = 0.2
WORKER_ENV = "PIPETOOL_WORKER"  # the address of the worker, for the stage's commands


@dataclass(frozen=True)
class StageTask:
    """Everything a worker needs to run one stage."""

    stage: str
    cmds: tuple[str, ...]
    cwd: str
    root: str
    run_dir: str
    token: str
    retries: int = 0


@dataclass
class TaskResult:
    ended: Ended
    worker: str
    output: list[str] = field(default_factory=list)
    dropped: int = 0  # output lines before those kept
    problem: str | None = None  # the stage did not run: why


def repository_problem(root: str, run_dir: str, token: str) -> str | None:
    """Why this machine does not see the client's repository at root, or None when it does."""
    if not os.path.isdir(root):
        return f"there is no folder {root}"
    try:
        with open(os.path.join(run_dir, TOKEN_FILE), encoding="utf-8") as handle:
            seen = handle.read()
    except OSError:
        return f"its folder {root} is not the client's repository (this run's token file is not there)"
    if seen != token:
        return f"its folder {root} is a different copy of the repository"
    return None


def run_stage(task: StageTask) -> TaskResult:
    """The Dask task of one stage: its commands in the stage's wdir, unless an earlier attempt
    ended (then its result) or died too often (then why)."""
    worker = get_worker().address
    problem = repository_problem(task.root, task.run_dir, task.token)
    if problem:
        return TaskResult(Ended(), worker, problem=f"worker {worker} cannot see the repository: {problem}")
    log = os.path.join(task.run_dir, f"{task.stage}.attempts")
    earlier = _read_log(log)
    ended = _ended(earlier)
    if ended is not None:  # it ran; its result was lost with its worker: no second run
        return ended
    died = [record["worker"] for record in earlier]
    if len(died) > task.retries:
        return TaskResult(Ended(), worker, problem=died_message(died, task.retries))
    if os.path.exists(os.path.join(task.run_dir, CANCEL_FILE)):  # the client stopped the run
        return TaskResult(Ended(interrupted=True), worker)
    _append_log(log, {"event": "start", "worker": worker})
    result = _run_commands(task, worker)
    _append_log(
        log,
        {
            "event": "end",
            "worker": worker,
            "ended": asdict(result.ended),
            "output": result.output,
            "dropped": result.dropped,
        },
    )
    return result


def died_message(workers: list[str], retries: int) -> str:
    if not retries:
        return f"the Dask worker running it died ({workers[-1]}); use --retries N to run it again on another worker"
    return f"the Dask worker running it died on each of {len(workers)} tries ({', '.join(workers)})"


def started(run_dir: str, stage: str) -> bool:
    """Whether a worker began the stage's commands (a task not started yet can simply be cancelled)."""
    return bool(_read_log(os.path.join(run_dir, f"{stage}.attempts")))


def ended_attempt(run_dir: str, stage: str) -> TaskResult | None:
    """The result an attempt wrote down before the client could fetch it (the scheduler went away)."""
    return _ended(_read_log(os.path.join(run_dir, f"{stage}.attempts")))


def _ended(records: list[dict]) -> TaskResult | None:
    for record in records:
        if record["event"] == "end":
            return TaskResult(Ended(**record["ended"]), record["worker"], record["output"], record["dropped"])
    return None


def _run_commands(task: StageTask, worker: str) -> TaskResult:
    output = _Output()
    commands = StageCommands(task.cmds, task.cwd, output.append, env={**os.environ, WORKER_ENV: worker})
    done = threading.Event()
    watcher = threading.Thread(target=_stop_when_cancelled, args=(task.run_dir, commands, done), daemon=True)
    watcher.start()
    with _running_lock:
        _running.add(commands)
    try:
        ended = commands.run()
    finally:
        done.set()
        with _running_lock:
            _running.discard(commands)
    return TaskResult(ended, worker, list(output.lines), output.total - len(output.lines))


class _Output:
    """The last lines of a stage's output, and how many there were."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=OUTPUT_LINES)
        self.total = 0

    def append(self, line: str) -> None:
        self.lines.append(line)
        self.total += 1


def _stop_when_cancelled(run_dir: str, commands: StageCommands, done: threading.Event) -> None:
    """The client asks every task to stop by creating the cancel file: SIGTERM, then SIGKILL."""
    cancel = os.path.join(run_dir, CANCEL_FILE)
    while not done.wait(POLL_SECONDS):
        if os.path.exists(cancel):
            commands.stop(signal.SIGTERM)
            if not done.wait(GRACE_SECONDS):
                commands.stop(signal.SIGKILL)
            return


# The stages' commands running in this worker process, for StopStagesOnClose.
_running: set[StageCommands] = set()
_running_lock = threading.Lock()


class StopStagesOnClose(WorkerPlugin):
    """A worker that closes (it lost the scheduler, or was told to stop) stops the commands it
    started, rather than leave them running with no one to report to."""

    idempotent = True
    name = "pipetool-stop-stages-on-close"

    def teardown(self, worker) -> None:
        with _running_lock:
            running = list(_running)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for commands in running:
                commands.stop(sig)
            deadline = time.monotonic() + GRACE_SECONDS
            while any(c.busy for c in running) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS / 4)


def _read_log(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:  # a line torn when its worker died mid-write
            continue
    return records


def _append_log(path: str, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
