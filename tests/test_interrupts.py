"""Ctrl-C and SIGTERM while the main thread coordinates threads: never a hang, never a lock left held.

A plain ThreadPoolExecutor fails the first test within a few dozen trials: a KeyboardInterrupt
raised inside its `with lock:` leaves the lock held (the workers wait for good) or released
twice ("release unlocked lock", exit 1). A push stopped with Ctrl-C did both.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import CLI_ENV

from pipetool.system import interrupts

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
