"""Ctrl-C and SIGTERM that never leave a lock held.

Python raises KeyboardInterrupt in the main thread between any two bytecodes. Raised inside a
`with lock:` of a thread pool, a queue or a progress bar, it can leave that lock held, and every
thread that needs it waits for good: a push stopped with Ctrl-C hung instead of ending. So the
steps where the main thread coordinates threads run inside `HELD`: a signal that arrives there
is noted and takes effect (the program's own handler is called) when the step ends. Such steps
are short or wait with a timeout, so Ctrl-C still acts within a fraction of a second.

This only works while `guarded()` has put the deferring handler in place: the CLI runs every
command in it, and for callers of the library, pools of threads (`running`), work shared with
forked processes (system.forked) and a transfer's block enter it too; elsewhere, and outside the
main thread, HELD changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # concurrent.futures takes ~10 ms to import: only commands with pools pay it
    import queue
    from concurrent.futures import Executor, Future, ThreadPoolExecutor

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P", bound="Executor")

POLL_SECONDS = 0.1  # how long a held wait may keep a Ctrl-C waiting

_MAIN = threading.main_thread().ident
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    scopes = 0  # nesting of guarded()
    depth = 0  # nesting of HELD in the main thread
    pending: int | None = None  # the first signal that arrived inside HELD
    previous: dict[int, Callable] = {}  # the handlers guarded() stands in for


def _arrived(signum: int, frame) -> None:
    if _State.scopes and _State.depth:
        if _State.pending is None:
            _State.pending = signum
        return
    _State.previous[signum](signum, frame)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Stand in for the program's Ctrl-C and SIGTERM handlers for the block, so that HELD can
    defer them. A handler that is not Python code (the default action, ignored) stays."""
    if threading.get_ident() != _MAIN:
        yield
        return
    if _State.scopes:
        _State.scopes += 1
        try:
            yield
        finally:
            _State.scopes -= 1
        return
    replaced = [(signum, handler) for signum in _SIGNALS if callable(handler := signal.getsignal(signum))]
    _State.previous = dict(replaced)
    _State.scopes = 1
    try:
        for signum, _ in replaced:
            signal.signal(signum, _arrived)
        yield
    finally:
        _State.scopes = 0  # from here _arrived passes signals straight on
        pending, _State.pending = _State.pending, None
        _restore(replaced)
        if pending is not None:
            _State.previous[pending](pending, None)


def _restore(handlers: list[tuple[int, Callable]]) -> None:
    """Put every handler back, even when one of them raises as soon as it is back."""
    if handlers:
        try:
            signal.signal(*handlers[0])
        finally:
            _restore(handlers[1:])


def fork_held() -> tuple[int | None, set[signal.Signals]]:
    """os.fork(), with SIGINT and SIGTERM held back across it. The interpreter runs Python code
    after a fork (the at-fork hooks of logging and others), and a handler's KeyboardInterrupt
    raised there is printed and dropped: in this process, the Ctrl-C or SIGTERM would be lost
    (an experiment stopped by its grid ran on); in the child, this process's handler would
    run. So the signals wait: here until the fork has returned, in the child until it has its
    own handlers and restores the mask returned. The mask holds them back from this thread
    only: the caller forks inside HELD, and notes the child there, so that one another thread
    took (whose handler would run in a hook here) or one raised as the mask is restored takes
    effect once the child is known. The pid (None when no process is to be had) and that
    mask; in this process the mask is restored whatever happens."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # only read: nothing to undo if interrupted here
    pid = None
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        pid = os.fork()
    except OSError:
        pass
    finally:
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return pid, mask


class _Held:
    """Signals wait until the main thread leaves the block (re-entrant; free in other threads)."""

    def __enter__(self) -> None:
        if threading.get_ident() == _MAIN:
            _State.depth += 1

    def __exit__(self, *exc) -> None:
        if threading.get_ident() == _MAIN:
            _State.depth -= 1
            if not _State.depth and _State.pending is not None:
                signum, _State.pending = _State.pending, None
                _State.previous[signum](signum, None)


HELD = _Held()


class Lock:
    """A lock that a Ctrl-C in the main thread never leaves held."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        HELD.__enter__()
        self._lock.acquire()

    def __exit__(self, *exc) -> None:
        self._lock.release()
        HELD.__exit__()


@contextlib.contextmanager
def running(pool: P) -> Iterator[P]:
    """Use the pool in the block, for `completed`, `ordered` and `result`; on the way out (Ctrl-C
    included) what has not started is dropped and what runs ends."""
    with guarded():
        try:
            yield pool
        finally:
            with HELD:
                pool.shutdown(wait=True, cancel_futures=True)


def thread_pool(workers: int, name: str = "worker") -> contextlib.AbstractContextManager[ThreadPoolExecutor]:
    """`running` a pool of threads."""
    from concurrent.futures import ThreadPoolExecutor

    return running(ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name))


def result(future: Future[R]) -> R:
    """future.result(), waited for in short held steps."""
    from concurrent.futures import wait

    while True:
        with HELD:
            if wait([future], timeout=POLL_SECONDS).done:
                break
    return future.result()


def completed(pool: Executor, work: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, Future[R]]]:
    """(item, its ended future) for every item, as they end. Leaving early (Ctrl-C, an error,
    a break) cancels the ones not started.

    Each future puts itself on a queue when it ends: waiting on the set of pending futures
    instead (concurrent.futures.wait) costs a pass over all of them per ended one, which is
    quadratic in the items (10,000 objects of a transfer)."""
    import queue

    ended: queue.SimpleQueue[Future[R]] = queue.SimpleQueue()
    futures: dict[Future[R], T] = {}
    try:
        with HELD:
            for item in items:
                future = pool.submit(work, item)
                futures[future] = item
                future.add_done_callback(ended.put)
        for _ in range(len(futures)):
            yield _next(ended, futures)
    finally:
        with HELD:
            for future in futures:
                future.cancel()


def _next(ended: queue.SimpleQueue[Future[R]], futures: dict[Future[R], T]) -> tuple[T, Future[R]]:
    """The next ended future from the queue (a C queue: no lock a Ctrl-C could leave held), waited
    for in held steps when none has ended yet."""
    import queue

    try:
        future = ended.get_nowait()
    except queue.Empty:
        while True:
            with HELD:
                try:
                    future = ended.get(timeout=POLL_SECONDS)
                    break
                except queue.Empty:
                    continue
    return futures[future], future


def ordered(pool: Executor, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """work(item) for every item, in the items' order, like pool.map: the first error raises."""
    items = list(items)
    results: dict[int, R] = {}
    for index, future in completed(pool, lambda i: work(items[i]), range(len(items))):
        results[index] = future.result()
    return [results[i] for i in range(len(items))]
