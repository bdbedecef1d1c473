"""Ctrl-C and SIGTERM while the main thread coordinates threads: never a hang, never a lock left held.

A plain ThreadPoolExecutor fails the first test within a few dozen trials: a KeyboardInterrupt
raised inside its `with lock:` leaves the lock held (the workers wait for good) or released
twice ("release unlocked lock", exit 1). A push stopped with Ctrl-C did both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import CLI_ENV

from pipetool.cli import reporters
from pipetool.engine.workspace import open_workspace
from pipetool.pipeline.project import find
from pipetool.remotes.remote import open_remote
from pipetool.remotes.transfer import push, wanted
from pipetool.storage.hashing import PROGRESS_FILES
from pipetool.storage.ingest import FORK_FROM
from pipetool.system import interrupts
from pipetool.system.forked import in_processes, taken_in_turn

TRIALS = """
import os, random, signal, sys, threading, time
from pipetool.system import interrupts

random.seed(int(sys.argv[1]))

def interrupt_later(delay):
    time.sleep(delay)
    os.kill(os.getpid(), signal.SIGINT)

for trial in range(60):
    try:
        threading.Thread(target=interrupt_later, args=(random.uniform(0, 0.05),), daemon=True).start()
        with interrupts.thread_pool(2) as pool:
            for _ in interrupts.completed(pool, lambda item: item, range(2000)):
                pass
        while True:  # the work ended first: the signal comes here
            time.sleep(0.001)
    except KeyboardInterrupt:
        pass
print("all trials ended", flush=True)
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_ctrl_c_at_any_moment_of_a_pool_ends_it(tmp_path, seed):
    script = tmp_path / "trials.py"
    script.write_text(textwrap.dedent(TRIALS))
    result = subprocess.run(
        [sys.executable, str(script), str(seed)], env=CLI_ENV, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout.strip()) == (0, "all trials ended"), result.stderr[-2000:]


def test_a_signal_inside_held_waits_for_its_end_and_the_handlers_come_back():
    heard = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    try:
        int_handler = signal.getsignal(signal.SIGINT)
        with interrupts.guarded():
            with interrupts.HELD:
                with interrupts.HELD:
                    signal.raise_signal(signal.SIGTERM)
                    signal.raise_signal(signal.SIGTERM)  # one was already noted: one is heard
                assert heard == []
            assert heard == [signal.SIGTERM]
            signal.raise_signal(signal.SIGTERM)  # outside HELD: at once
            assert heard == [signal.SIGTERM] * 2
            with pytest.raises(KeyboardInterrupt):
                with interrupts.HELD:
                    signal.raise_signal(signal.SIGINT)
                    assert signal.getsignal(signal.SIGINT) is not int_handler
        assert signal.getsignal(signal.SIGINT) is int_handler
        assert signal.getsignal(signal.SIGTERM) is not previous
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_held_outside_a_guarded_block_defers_nothing():
    with pytest.raises(KeyboardInterrupt):
        with interrupts.HELD:
            signal.raise_signal(signal.SIGINT)
            pytest.fail("Ctrl-C was held back outside a guarded block")


def test_an_error_in_the_pool_cancels_what_has_not_started():
    started = []

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            raise ValueError("first item fails")
        time.sleep(0.01)
        return item

    with interrupts.thread_pool(1) as pool:
        with pytest.raises(ValueError, match="first item fails"):
            interrupts.ordered(pool, work, range(1000))
    assert len(started) < 1000
    with interrupts.thread_pool(2) as pool:
        assert interrupts.ordered(pool, lambda item: item * 2, range(100)) == [i * 2 for i in range(100)]


# --- this process's share of work forked processes share, and a transfer's main thread ----------


class HeldProgress:
    """A progress bar whose first step in the main thread gets a Ctrl-C while it holds the bar's
    lock: were it raised there, a step interrupted between taking the lock and entering its block
    would leave the lock held, and the bar's end would wait for it for good (a push hung so)."""

    def __init__(self) -> None:
        self.lock = interrupts.Lock()
        self.steps: list[str] = []

    def transfer_expect(self, objects: int, nbytes: int) -> None:
        self.step()

    def transfer_advance(self, nbytes: int) -> None:
        self.step()

    def transfer_end(self) -> None:
        pass

    # ... and as a command's reporter, which shows a big job's hashing
    def begin(self, total: int) -> None:
        pass

    def end(self) -> None:
        pass

    def hash_start(self, label: str, total_bytes: int, files: int) -> None:
        self.step()

    def hash_advance(self, nbytes: int) -> None:
        self.step()

    def hash_end(self) -> None:
        pass

    def step(self, _: object = None) -> None:
        with self.lock:
            if not self.steps and threading.get_ident() == threading.main_thread().ident:
                signal.raise_signal(signal.SIGINT)
                self.steps.append("the step went on to its end")

    def assert_ended_then_interrupted(self) -> None:
        assert self.steps == ["the step went on to its end"]
        assert self.lock._lock.acquire(timeout=5), "the Ctrl-C left the bar's lock held"


@pytest.mark.parametrize("processes", [1, 2])
def test_a_ctrl_c_in_a_held_step_of_this_process_s_share_waits_for_the_step(processes, tmp_path):
    progress = HeldProgress()
    taken_here = tmp_path / "this process took a chunk"

    def work(chunk: list[int], told) -> bytes:
        if told is None:  # a forked process waits until this one took a chunk, else it may take them all
            deadline = time.monotonic() + 10
            while not taken_here.exists() and time.monotonic() < deadline:
                time.sleep(0.001)
        else:
            taken_here.touch()
        for _ in chunk:
            if told is not None:
                told(1)
        return b"done"

    with pytest.raises(KeyboardInterrupt):
        taken_in_turn([[1, 2], [3, 4], [5, 6]], work, progress.step, processes)
    progress.assert_ended_then_interrupted()


def test_a_ctrl_c_in_a_held_step_of_a_transfer_s_main_thread_waits_for_the_step(project, tmp_path):
    """The main thread of a push to a local remote tells the bar what it expects before any
    thread starts, and with as many objects as forked processes take, no thread starts at all."""
    project.cli_ok("init")
    (project.path / "data").mkdir()
    for i in range(FORK_FROM):
        (project.path / "data" / f"{i}.txt").write_text(f"{i}\n")
    project.cli_ok("add", "data")
    project.cli_ok("remote", "add", "-d", "storage", str(tmp_path / "remote"))
    ws = open_workspace(find(str(project.path)))
    try:
        progress = HeldProgress()
        with pytest.raises(KeyboardInterrupt):
            push(ws.cache, open_remote(ws.project, None), wanted(ws.graph.stages, ws.locks.read()), 2, progress)
    finally:
        ws.close()
    progress.assert_ended_then_interrupted()


def test_a_ctrl_c_in_a_held_step_of_a_command_s_main_thread_waits_for_the_step(project, monkeypatch):
    """`add` of many files tells its reporter about the job from the main thread before any
    thread or forked process starts: the command itself runs guarded."""
    project.cli_ok("init")
    (project.path / "data").mkdir()
    for i in range(PROGRESS_FILES):
        (project.path / "data" / f"{i}.txt").write_text(f"{i}\n")
    progress = HeldProgress()
    monkeypatch.setattr(reporters, "console_reporter", lambda *args, **kwargs: progress)
    result = project.cli("add", "data")
    assert (result.returncode, result.stderr) == (130, "error: interrupted\n")
    progress.assert_ended_then_interrupted()


# --- a forked process before it has its own handlers ------------------------------------------

_fork_watch: dict[str, str] = {}  # while set: the folder where each forked child notes its signal mask


def _note_mask_in_child() -> None:
    folder = _fork_watch.get("folder")
    if folder:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        with open(os.path.join(folder, str(os.getpid())), "w") as note:
            note.write(" ".join(str(int(signum)) for signum in blocked))


def test_a_forked_process_takes_no_signal_before_it_has_its_own_handlers(tmp_path):
    """Right after a fork the interpreter runs its after-fork code in the child, where this
    process's handlers still stand: a SIGTERM from _stop landing there was lost (the child
    worked on for the second until SIGKILL, and said "Exception ignored"). Until the child has
    set its own, SIGINT and SIGTERM wait blocked."""
    if not _fork_watch.get("registered"):
        os.register_at_fork(after_in_child=_note_mask_in_child)  # stays registered; idle while unset
        _fork_watch["registered"] = "yes"
    _fork_watch["folder"] = str(tmp_path)
    try:
        assert in_processes([0, 1, 2], lambda part, told: b"done") == [b"done"] * 3
    finally:
        del _fork_watch["folder"]
    masks = [set(note.read_text().split()) for note in tmp_path.iterdir()]
    assert len(masks) == 2
    assert all({str(int(signal.SIGINT)), str(int(signal.SIGTERM))} <= mask for mask in masks), masks


# --- a signal at a command's edges (a program named pipetool, as the console script is) ----------

EDGE = """
import os, signal, sys, types
from pipetool.cli import main
what = sys.argv[1]
if what == "starting":  # the CLI loaded, the command not begun
    os.kill(os.getpid(), signal.SIGTERM)
elif what == "import":  # a command's import interrupted while it makes a class (3.11 wraps that)
    class Interrupted:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt
    def run(args):
        type("Stage", (), {"out_paths": Interrupted()})
    sys.modules["pipetool.cli.cmd_status"] = types.SimpleNamespace(add_arguments=lambda parser: None, run=run)
sys.argv = ["pipetool", "remote", "list"] if what == "ending" else ["pipetool", "status"]
code = main()
if what == "ending":  # the command done, the interpreter about to shut down
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(code)
"""


@pytest.mark.parametrize("what", ["starting", "import", "ending"])
def test_a_signal_at_a_command_s_edges_ends_it_as_ctrl_c_does(project, tmp_path, what):
    project.cli_ok("init")
    program = tmp_path / "bin" / "pipetool"
    program.parent.mkdir()
    program.write_text(EDGE)
    result = subprocess.run(
        [sys.executable, str(program), what], cwd=project.path, env=CLI_ENV, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (130, "error: interrupted\n")


# The command's module stands in for one whose import a Ctrl-C interrupted inside a method that
# dataclasses compiles from a string: main() handles it, and `python -m pipetool` must end with
# main()'s 130 (Python 3.11 marks such a KeyboardInterrupt and ends a -m run by SIGINT).
SITE = """
import sys, types
def run(args):
    exec("raise KeyboardInterrupt")
sys.modules["pipetool.cli.cmd_status"] = types.SimpleNamespace(add_arguments=lambda parser: None, run=run)
"""


def test_python_m_pipetool_ends_with_130_after_a_ctrl_c_it_handled(project, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITE)  # run at the interpreter's start, before pipetool
    result = subprocess.run(
        [sys.executable, "-m", "pipetool", "status"],
        cwd=project.path,
        env={**CLI_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), CLI_ENV.get("PYTHONPATH")]))},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (130, "error: interrupted\n")


# --- a signal during a fork, in the process that forks ------------------------------------------

# The interpreter runs Python code after a fork (the at-fork hooks of logging and others); a
# KeyboardInterrupt raised there is printed ("Exception ignored") and dropped. Here a hook sends
# the signal at that moment, once, to the process or to another thread of it (which takes it
# while the forking thread has it blocked; the forking thread then runs the handler in a hook).
DURING_FORK = """
import os, signal, sys, threading, time
from pipetool.system import forked, interrupts, procgroups
what, signum, to = sys.argv[1], getattr(signal, sys.argv[2]), sys.argv[3]
if to == "another thread":
    other = threading.Thread(target=threading.Event().wait, daemon=True)
    other.start()
armed = []
def send():
    if armed:
        armed.pop()
        if to == "process":
            os.kill(os.getpid(), signum)
        else:
            signal.pthread_kill(other.ident, signum)
            # a pause, not a deadline: the other thread takes it meanwhile, so the handler runs here, in
            # the hook (were it taken later, the handler would run after the hook, which passes too)
            time.sleep(0.2)
os.register_at_fork(after_in_parent=send)
def stop(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, stop)  # as pipetool's commands and an experiment's worker have it
parent = os.getpid()
def part(number, told):
    if os.getpid() != parent:
        time.sleep(10)  # a forked part still at work when the signal comes
    return b"done"
try:
    armed.append(signum)
    with interrupts.guarded():  # as pipetool's commands run
        if what == "watchdog":
            procgroups.start_watchdog()
        else:
            forked.in_processes([0, 1], part)
except KeyboardInterrupt:
    print("interrupted")
else:
    print("lost")
if what == "watchdog":
    print("watchdog noted" if procgroups._watchdog._fd is not None else "watchdog unknown")
else:
    try:
        os.waitpid(-1, os.WNOHANG)
        print("a forked part left")
    except ChildProcessError:
        print("no forked part left")
"""


@pytest.mark.parametrize(
    ("what", "to"), [("watchdog", "process"), ("forked part", "process"), ("forked part", "another thread")]
)
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_during_a_fork_takes_effect_once_the_child_is_noted(tmp_path, what, to, signum):
    """The watchdog's fork let it run in the hooks: an experiment stopped by its grid (SIGTERM)
    went on running its stage until the grid killed it 10 s later. Signals blocked across the
    fork are not enough: with another thread, that thread takes the signal and the hooks still
    run the handler; and raised as soon as the fork returns, a Ctrl-C left the forked part
    running, unknown to the code that would stop it (found in review). The watchdog forks only
    while its process has one thread."""
    script = tmp_path / "fork.py"
    script.write_text(DURING_FORK)
    result = subprocess.run(
        [sys.executable, str(script), what, signum, to], env=CLI_ENV, capture_output=True, text=True, timeout=60
    )
    noted = "watchdog noted" if what == "watchdog" else "no forked part left"
    assert (result.stdout, result.stderr) == (f"interrupted\n{noted}\n", ""), result.stderr


# --- a Ctrl-C while the local executor hands over a stage, or takes one that ended -----------------

EXECUTOR = """
import os, queue, signal, sys, threading
from pipetool.executor.local import LocalExecutor
from pipetool.pipeline.stage import Stage
from pipetool.system.interrupts import guarded
when, root = sys.argv[1], sys.argv[2]
executor = LocalExecutor(root, 1, lambda name, line: None)
if when == "handing over":  # while the stage's thread starts
    start = threading.Thread.start
    def start_interrupted(thread):
        os.kill(os.getpid(), signal.SIGINT)
        start(thread)
    threading.Thread.start = start_interrupted
else:  # right after the ended stage's run was taken from the queue of ended ones
    class Interrupting(queue.SimpleQueue):
        def get(self, *args, **kwargs):
            run = super().get(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGINT)
            return run
    executor._done = Interrupting()
with guarded():  # as repro runs
    try:
        executor.submit(Stage("s", ("sleep 30" if when == "handing over" else "true",)))
        executor.wait()
    except KeyboardInterrupt:
        pass
    print("running:", executor.running)
    print("stopped:", [(run.name, run.interrupted) for run in executor.cancel()])
executor.close()
"""


# what the executor holds after the Ctrl-C, and what cancel() stops
AFTERWARDS = {
    "handing over": "running: 1\nstopped: [('s', True)]\n",  # the stage was queued: its thread stops it
    "taking an ended one": "running: 0\nstopped: []\n",
}


@pytest.mark.parametrize("when", sorted(AFTERWARDS))
def test_a_ctrl_c_while_a_stage_is_handed_over_or_taken_leaves_no_stage_to_wait_for(tmp_path, when):
    """A Ctrl-C between noting a stage as running and queueing it for its thread (or between
    taking its end and noting it) left cancel() waiting out both grace periods (6 s) for a stage
    that would never report, and returning nothing; an experiment stopped then took 7 s."""
    script = tmp_path / "executor.py"
    script.write_text(EXECUTOR)
    (tmp_path / "root" / ".pipetool").mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, str(script), when, str(tmp_path / "root")],
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.stdout, result.stderr) == (AFTERWARDS[when], "")
