"""Work taken in turn by this process and forked ones (system/forked.py): each chunk is done once,
by whichever process is free, so one slow chunk does not hold up a share of the others."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import CLI_ENV

from pipetool.system.forked import MAX_CHUNKS, chunked, taken_in_turn

two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2 or not hasattr(os, "fork"), reason="needs two cores")


def test_chunks_cover_the_items_in_order_and_stay_within_the_limit():
    items = list(range(10_000))
    assert [i for chunk in chunked(items, 7) for i in chunk] == items
    assert len(chunked(items, 7)) <= MAX_CHUNKS
    assert chunked(items, 256)[0] == list(range(256))
    assert chunked([], 5) == []


@two_cores
def test_a_slow_chunk_leaves_the_others_to_the_process_that_is_free(tmp_path):
    """Chunk 0 waits until every other chunk is done; in equal shares fixed in advance, half of
    them would wait behind it in its own process, and it would wait for ever (here: give up
    after a minute and say so)."""
    chunks = [[i] for i in range(40)]

    def work(chunk: list[int], _) -> bytes:
        (i,) = chunk
        if i == 0:
            deadline = time.monotonic() + 60
            while not all((tmp_path / str(k)).exists() for k in range(1, 40)):
                if time.monotonic() > deadline:
                    return b"gave up"
                time.sleep(0.01)
        (tmp_path / str(i)).write_text(str(os.getpid()))
        return b"done %d" % i

    outputs = taken_in_turn(chunks, work, processes=2)
    assert [output for output, _ in outputs] == [b"done %d" % i for i in range(40)]
    here = str(os.getpid())
    assert [by_here for _, by_here in outputs] == [(tmp_path / str(i)).read_text() == here for i in range(40)]
    assert len({(tmp_path / str(i)).read_text() for i in range(40)}) == 2  # both processes worked


@two_cores
def test_the_chunks_of_a_failed_process_come_back_as_none_and_the_rest_as_done(tmp_path):
    """A forked process that fails loses every chunk it took (the caller does them again, where
    the error shows); the chunks this process did are kept. Which process takes which is not
    fixed: the test reads it from files the chunks leave, and this process waits, in its first
    chunk, for the forked one to have taken one (the handshake: its file)."""
    here = os.getpid()

    def work(chunk: list[int], _) -> bytes:
        (i,) = chunk
        (tmp_path / str(i)).write_text(str(os.getpid()))
        if os.getpid() != here:
            raise OSError("a disk full, say")
        deadline = time.monotonic() + 60
        while not any(path.read_text() not in ("", str(here)) for path in tmp_path.iterdir()):  # "": being written
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return b"%d" % i

    outputs = taken_in_turn([[i] for i in range(30)], work, processes=2)
    assert None in [output for output, _ in outputs]  # the forked process took at least one
    for i, (output, by_here) in enumerate(outputs):
        assert by_here == ((tmp_path / str(i)).read_text() == str(here))
        assert output == (b"%d" % i if by_here else None)


def test_one_process_or_one_chunk_is_done_here_in_order():
    calls = []

    def work(chunk: list[int], on_read) -> bytes:
        calls.append((chunk, on_read))
        return bytes(chunk)

    assert taken_in_turn([[1], [2, 3]], work, print, processes=1) == [(b"\x01", True), (b"\x02\x03", True)]
    assert calls == [([1], print), ([2, 3], print)]
    with pytest.raises(ValueError):
        taken_in_turn([[i] for i in range(MAX_CHUNKS + 1)], work)


@two_cores
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a process's state in /proc")
def test_a_forked_part_s_output_is_taken_once_it_has_come_not_once_its_process_has_ended(tmp_path):
    """Its process's exit (the unmapping of its copy of a big command's memory) is not waited
    for: here the forked process stays, after sending its output, until a file appears (a
    minute at most), and in_processes returns before it is made. The next call reaps it."""
    from pipetool.system.forked import in_processes

    here, release = os.getpid(), tmp_path / "release"

    def lingering(part: str, _) -> bytes:
        if os.getpid() != here:
            (tmp_path / "child").write_text(str(os.getpid()))
            leave = os._exit

            def after_sending(code: int) -> None:  # the forked process's last step, delayed
                deadline = time.monotonic() + 60
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                leave(code)

            os._exit = after_sending
        return part.encode()

    assert in_processes(["mine", "theirs"], lingering, brief=True) == [b"mine", b"theirs"]
    child = int((tmp_path / "child").read_text())
    assert not release.exists() and _state(child) not in ("Z", None), "in_processes waited for the exit"
    release.touch()
    deadline = time.monotonic() + 30
    while _state(child) not in ("Z", None) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert in_processes(["a"], lingering) == [b"a"]  # no part forked: only the reaping
    assert _state(child) is None, "the ended process was not reaped"


@two_cores
def test_a_forked_part_cut_short_comes_back_as_none(tmp_path):
    """Its output is taken only whole: a process killed while it sends (here once ten bytes are
    out) gives None, which the caller does again, not the bytes that came."""
    from pipetool.system.forked import in_processes

    here = os.getpid()

    def cut(part: str, _) -> bytes:
        if os.getpid() != here:
            write, sent = os.write, [0]

            def dying(fd: int, data) -> int:
                written = write(fd, bytes(data[: 10 - sent[0]]))
                sent[0] += written
                if sent[0] >= 10:
                    os.kill(os.getpid(), signal.SIGKILL)
                return written

            os.write = dying
        return part.encode() * 1000

    assert in_processes(["a", "b"], cut, brief=True) == [b"a" * 1000, None]


def _state(pid: int) -> str | None:
    """A process's state letter (Z: ended, not yet reaped); None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


# Threads forking parts at once beside a thread running commands that fail, in a process of its
# own: a fork costs more the more memory its process holds, and the test process holds much.
THREADS_FORKING = textwrap.dedent(
    """
    import json, subprocess, threading
    from pipetool.system.forked import in_processes

    failures = []

    def forking():
        try:
            for _ in range(60):
                assert in_processes([b"a", b"b", b"c"], lambda part, _: part * 2, brief=True) == [b"aa", b"bb", b"cc"]
        except BaseException as error:
            failures.append(repr(error))

    def commands():
        for _ in range(30):
            code = subprocess.run(["sh", "-c", "exit 3"], check=False).returncode
            if code != 3:
                failures.append(f"a command's exit status read as {code}")

    threads = [threading.Thread(target=forking) for _ in range(4)] + [threading.Thread(target=commands)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(failures))
    """
)


@two_cores
def test_threads_forking_at_once_reap_only_their_own_ended_processes():
    """Threads that fork parts at once (stages finishing together, each hashing its outs) reap
    the ended forked processes between them, each once: none fails on a process another thread
    reaped, and none reaps a process that is not a forked part, such as a command that failed
    (its exit status read by subprocess as 0 if it were)."""
    done = subprocess.run(
        [sys.executable, "-c", THREADS_FORKING], env=CLI_ENV, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
