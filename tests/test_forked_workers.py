"""Processes forked to hash or store files work for the command that forked them and no longer:
killed with it, they neither keep the project locked nor go on working."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import CLI_ENV

from pipetool.system.repolock import LOCK_FILE, Held, exclusive

# The command: it takes the project's lock, forks a worker that waits for a file that never
# comes, names the worker, and is killed while the worker waits.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from pipetool.system.forked import in_processes
    from pipetool.system.repolock import hold

    state, named = sys.argv[1], sys.argv[2]

    def work(part, on_read):
        if on_read is None:  # the forked worker
            with open(named + ".tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.rename(named + ".tmp", named)
            while not os.path.exists(named + ".never"):
                time.sleep(0.01)
            return b""
        while not os.path.exists(named):
            time.sleep(0.01)
        fds = f"/proc/{open(named).read()}/fd"
        with open(named + ".fds", "w") as handle:  # what the worker has open
            handle.write("\\n".join(os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)))
        os.kill(os.getpid(), signal.SIGKILL)

    with hold(state):
        in_processes([[1], [2]], work, on_read=lambda n: None)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a worker ends with its command on Linux")
def test_a_killed_command_leaves_the_lock_free_and_no_worker_behind(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    named = tmp_path / "worker.pid"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(state), str(named)], env=CLI_ENV, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    worker = int(named.read_text())
    held = (tmp_path / "worker.pid.fds").read_text().splitlines()
    assert str((state / LOCK_FILE).resolve()) not in held, "the worker holds a copy of the lock's descriptor"
    try:
        with exclusive(str(state / LOCK_FILE)):
            pass  # free at once: the worker does not hold a copy of it
    except Held:
        pytest.fail("the killed command's worker still holds the project's lock")
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)  # the kernel ends it as its parent dies; a moment later under load
    assert not _alive(worker), "the worker went on after its command was killed"


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie, ended and waiting for init to reap it, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
