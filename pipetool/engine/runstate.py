"""The live state of a repro in `.pipetool/run-state.json`, for readers in other processes (the
browser UI): which stages of the run are queued, running, done or failed, and since when.

One writer, a Reporter that passes every event on to the terminal's reporter and notes the
stages' fates; a thread writes the file at most every INTERVAL seconds (and at once when the run
starts and ends), so a run of 10,000 quick stages writes it a few times a second, not 10,000
times. A stage's event costs a dict lookup and a byte set: the file keeps the run's stage names
as JSON text made once, and their states as one letter each.

A reader trusts the file only while the process that wrote it is alive (pid and start time, this
boot): a run killed with kill -9 leaves a file that says nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..files.fsutil import atomic_write, read_regular
from ..system.procgroups import boot_id, process_start

RUN_STATE_FILE = "run-state.json"
VERSION = 1
INTERVAL = 0.2  # seconds between two writes while the run goes on
MAX_BYTES = 64 * 2**20  # a reader's bound on the file

# One letter per state in the file; readers get the words.
QUEUED, RUNNING, DONE, RESTORED, UP_TO_DATE, FAILED, SKIPPED, FROZEN, INTERRUPTED = (
    "queued",
    "running",
    "done",
    "restored",
    "up to date",
    "failed",
    "skipped",
    "frozen",
    "interrupted",
)
_CODES = {
    QUEUED: "q",
    RUNNING: "r",
    DONE: "d",
    RESTORED: "c",
    UP_TO_DATE: "u",
    FAILED: "f",
    SKIPPED: "s",
    FROZEN: "z",
    INTERRUPTED: "i",
}
_STATES = {code: state for state, code in _CODES.items()}
_PENDING = frozenset("qr")  # states of stages the run has not finished with


def path_of(state_dir: str) -> str:
    return os.path.join(state_dir, RUN_STATE_FILE)


class RunStateReporter:
    """A Reporter that is another one (every event passes on unchanged) and keeps the run-state
    file current. stages: the run's stage names in order (None: learnt from the events, and the
    others counted as queued)."""

    def __init__(
        self, inner: Any, state_dir: str, stages: Sequence[str] | None = None, interval: float = INTERVAL
    ) -> None:
        self._inner = inner
        self._path = path_of(state_dir)
        self._interval = interval
        self._names: list[str] = list(stages or ())
        self._lock = threading.Lock()
        self._reset()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __getattr__(self, name: str) -> Any:  # the events this class does not note
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def _reset(self) -> None:
        self._index = {name: i for i, name in enumerate(self._names)}
        self._codes = bytearray(b"q" * len(self._names))
        self._names_json = json.dumps(self._names, ensure_ascii=False)
        self._running: dict[str, float] = {}
        self._failed: dict[str, str] = {}
        self._done = 0
        self._total = len(self._names)
        self._started = time.time()
        self._summarized = False
        self._failures = False

    # -- the events noted ---------------------------------------------------------------------

    def begin(self, total: int) -> None:
        with self._lock:
            self._reset()
            self._total = total
        self._write(finished=None)
        self._stop.clear()
        self._thread = threading.Thread(target=self._writer, name="pipetool-run-state", daemon=True)
        self._thread.start()
        self._inner.begin(total)

    def end(self) -> None:
        try:
            self._inner.end()
        finally:
            self._stop.set()
            self._wake.set()
            if self._thread is not None:
                self._thread.join()
                self._thread = None
            with self._lock:
                for name in list(self._running):
                    self._set(name, INTERRUPTED)
                outcome = ("failed" if self._failures else "succeeded") if self._summarized else "interrupted"
            self._write(finished=outcome)

    def running(self, name, reasons) -> None:
        with self._lock:
            self._running[name] = time.time()
            self._set(name, RUNNING)
        self._inner.running(name, reasons)

    def restored(self, name, reasons) -> None:
        self._note(name, RESTORED)
        self._inner.restored(name, reasons)

    def up_to_date(self, name) -> None:
        self._note(name, UP_TO_DATE)
        self._inner.up_to_date(name)

    def frozen(self, name, reasons) -> None:
        self._note(name, FROZEN)
        self._inner.frozen(name, reasons)

    def succeeded(self, name, run) -> None:
        self._note(name, DONE)
        self._inner.succeeded(name, run)

    def failed(self, name, message, tail=(), log=None) -> None:
        with self._lock:
            self._failed[name] = message
            self._failures = True
            self._set(name, FAILED)
        self._inner.failed(name, message, tail, log)

    def skipped(self, names, because) -> None:
        with self._lock:
            for name in names:
                self._set(name, SKIPPED)
        self._inner.skipped(names, because)

    def summary(self, ran, failed, skipped, up_to_date, dry=False, restored=()) -> None:
        self._summarized = True
        self._inner.summary(ran, failed, skipped, up_to_date, dry=dry, restored=restored)

    # -- the state and its file ---------------------------------------------------------------

    def _note(self, name: str, state: str) -> None:
        with self._lock:
            self._set(name, state)

    def _set(self, name: str, state: str) -> None:
        """Under the lock: the stage's new state, and the writer woken."""
        index = self._index.get(name)
        if index is None:  # a stage the run did not name beforehand
            index = self._index[name] = len(self._names)
            self._names.append(name)
            self._codes.append(ord("q"))
            self._names_json = None
        if chr(self._codes[index]) in _PENDING and state not in (QUEUED, RUNNING):
            self._done += 1
        if state != RUNNING:
            self._running.pop(name, None)
        self._codes[index] = ord(_CODES[state])
        self._wake.set()

    def _writer(self) -> None:
        """Write the file when something changed, at most every interval seconds, until end()."""
        last = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(max(0.0, last + self._interval - time.monotonic())):
                return  # end() writes the last state
            self._wake.clear()
            last = time.monotonic()
            self._write(finished=None)

    def _write(self, finished: str | None) -> None:
        with self._lock:
            if self._names_json is None:
                self._names_json = json.dumps(self._names, ensure_ascii=False)
            head = {
                "version": VERSION,
                "pid": os.getpid(),
                "pid_start": process_start(os.getpid()),
                "boot": boot_id(),
                "started": self._started,
                "updated": time.time(),
                "finished": finished,
                "total": max(self._total, len(self._names)),
                "done": self._done,
                "running": dict(self._running),
                "failed": dict(self._failed),
            }
            text = json.dumps(head, ensure_ascii=False)[:-1]
            text += f', "stages": {self._names_json}, "states": "{self._codes.decode("ascii")}"}}\n'
        try:
            atomic_write(self._path, text, durable=False)
        except OSError:
            pass  # the file is for watchers: a run never fails for it


@dataclass(frozen=True)
class RunState:
    """A run as its file tells it: live (its process is still there) or the last one finished."""

    live: bool
    started: float
    updated: float
    finished: str | None  # None while running, else succeeded, failed or interrupted
    total: int
    done: int
    stages: dict[str, str] = field(default_factory=dict)  # name -> state, in the run's order
    running: dict[str, float] = field(default_factory=dict)  # name -> when it started (epoch seconds)
    failed: dict[str, str] = field(default_factory=dict)  # name -> why

    def to_dict(self) -> dict:
        return {
            "live": self.live,
            "started": self.started,
            "updated": self.updated,
            "finished": self.finished,
            "total": self.total,
            "done": self.done,
            "stages": self.stages,
            "running": self.running,
            "failed": self.failed,
        }


def stamp(state_dir: str) -> tuple[int, int] | None:
    """(mtime in ns, size) of the file, None when there is none: what a poller compares to know
    whether to read it again."""
    try:
        info = os.stat(path_of(state_dir))
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def read(state_dir: str) -> RunState | None:
    """The last run's state, or None when there is no file or it cannot be read. A file whose
    run is not finished but whose process is gone is a run that was killed: it says `live` False
    and `finished` interrupted, and its running stages are interrupted too."""
    try:
        data = read_regular(path_of(state_dir), MAX_BYTES)
        raw = json.loads(data) if data else None
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        return None
    try:
        names, codes = raw["stages"], raw["states"]
        stages = {str(name): _STATES.get(code, QUEUED) for name, code in zip(names, codes, strict=True)}
        state = RunState(
            live=raw["finished"] is None and _alive(raw),
            started=float(raw["started"]),
            updated=float(raw["updated"]),
            finished=raw["finished"],
            total=int(raw["total"]),
            done=int(raw["done"]),
            stages=stages,
            running={str(k): float(v) for k, v in dict(raw["running"]).items()},
            failed={str(k): str(v) for k, v in dict(raw["failed"]).items()},
        )
    except (KeyError, TypeError, ValueError):
        return None
    if state.finished is None and not state.live:
        stages = {name: INTERRUPTED if s == RUNNING else s for name, s in state.stages.items()}
        return replace(state, finished=INTERRUPTED, stages=stages, running={})
    return state


def _alive(raw: dict) -> bool:
    """Whether the process that wrote the file is still the one running under its pid."""
    pid = raw.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if raw.get("boot") and raw.get("boot") != boot_id():
        return False
    start = process_start(pid)
    if raw.get("pid_start") is not None or start is not None:
        return start is not None and start == raw.get("pid_start")
    try:  # no /proc: whether the pid exists at all
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
