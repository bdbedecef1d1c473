"""Experiments queued to run later (`exp run --queue`, then `exp queue start -j N`).

One JSON file per experiment under `.pipetool/exps/queue/`; the files it will run (HEAD, or a
snapshot of the uncommitted changes made when it was queued) are kept from git's garbage collector
by a ref, `refs/pipetool-queue/<id>`.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..engine.repro import ReproOptions
from ..errors import ExperimentError, PipetoolError
from ..files.fsutil import atomic_write
from ..pipeline.project import Project
from ..revisions.git import GitRepo
from . import overrides
from .grid import GridResult, Planned, run_grid
from .report import GridReporter

QUEUE_DIR = os.path.join("exps", "queue")
REF_PREFIX = "refs/pipetool-queue/"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    id: str
    planned: Planned
    created: float


def _folder(state_dir: str) -> str:
    return os.path.join(state_dir, QUEUE_DIR)


def add(state_dir: str, repo: GitRepo, planned: list[Planned]) -> list[Entry]:
    os.makedirs(_folder(state_dir), exist_ok=True)
    added = []
    for item in planned:
        entry = Entry(f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}", item, time.time())
        repo.repo.git.update_ref(REF_PREFIX + entry.id, item.source)
        record = {
            "version": VERSION,
            "id": entry.id,
            "name": item.name,
            "set": [str(o) for o in item.overrides],
            "baseline": item.baseline,
            "source": item.source,
            "created": entry.created,
        }
        atomic_write(os.path.join(_folder(state_dir), f"{entry.id}.json"), json.dumps(record, indent=2) + "\n")
        added.append(entry)
    return added


def entries(state_dir: str) -> tuple[list[Entry], list[str]]:
    """The queued experiments, oldest first, and the files that could not be read (with why)."""
    folder = _folder(state_dir)
    found, problems = [], []
    for file in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not file.endswith(".json"):
            continue
        try:
            found.append(_read(os.path.join(folder, file)))
        except (OSError, ValueError, KeyError, TypeError, PipetoolError) as exc:
            problems.append(f"{os.path.join('.pipetool', QUEUE_DIR, file)}: {exc}")
    return sorted(found, key=lambda e: (e.created, e.id)), problems


def _read(path: str) -> Entry:
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    if record.get("version") != VERSION:
        raise ValueError(f"unknown queue entry version {record.get('version')!r}")
    sets = [overrides.parse([text])[0] for text in record["set"]]
    planned = Planned(record["name"], tuple(o for point in sets for o in point), record["baseline"], record["source"])
    return Entry(record["id"], planned, float(record["created"]))


def remove(state_dir: str, repo: GitRepo, gone: list[Entry]) -> None:
    for entry in gone:
        try:
            os.remove(os.path.join(_folder(state_dir), f"{entry.id}.json"))
        except FileNotFoundError:
            pass
        repo.repo.git.update_ref("-d", REF_PREFIX + entry.id)


def find(found: list[Entry], keys: list[str]) -> list[Entry]:
    """Entries named by id or experiment name; an unknown one is an error."""
    chosen = []
    for key in keys:
        matches = [e for e in found if key in (e.id, e.planned.name)]
        if not matches:
            raise ExperimentError(f"nothing queued as '{key}'", hint="'pipetool exp queue list' shows the queue")
        chosen += [e for e in matches if e not in chosen]
    return chosen


@contextmanager
def started(state_dir: str) -> Iterator[None]:
    """One `exp queue start` at a time, so no queued experiment runs twice."""
    from ..system.repolock import Held, exclusive

    os.makedirs(_folder(state_dir), exist_ok=True)
    try:
        with exclusive(os.path.join(state_dir, "exps", "queue.lock")):
            yield
    except Held:
        raise ExperimentError(
            "another 'pipetool exp queue start' is running the queue", hint="wait for it; it runs what is queued"
        ) from None


def queued(root: str) -> tuple[list[Entry], list[str]]:
    """The project's queued experiments and the queue files that could not be read (see entries)."""
    return entries(Project(root).ensure_state_dir())


def drop(root: str, found: list[Entry], keys: list[str], everything: bool = False) -> list[Entry]:
    """Take the entries named by id or name (or every one found) off the queue; returns them."""
    if everything == bool(keys):
        raise ExperimentError("name the queued experiments to remove, or give --all (not both)")
    gone = found if everything else find(found, keys)
    remove(Project(root).ensure_state_dir(), GitRepo(root), gone)
    return gone


def run_queued(root: str, jobs: int, options: ReproOptions, reporter: GridReporter) -> GridResult:
    """Run everything queued as a grid, up to jobs at once, one `exp queue start` at a time. An
    experiment leaves the queue when it finished (saved or failed); one an interrupt stopped
    stays. Unreadable entries are left alone, with a warning. Nothing queued: nothing planned."""
    state_dir = Project(root).ensure_state_dir()
    with started(state_dir):
        found, problems = entries(state_dir)
        for problem in problems:
            reporter.warning(f"skipped an unreadable queue entry: {problem}")
        if not found:
            return GridResult([], [])
        result = run_grid(root, [e.planned for e in found], jobs, options, reporter)
        by_name = {e.planned.name: e for e in found}
        remove(state_dir, GitRepo(root), [by_name[o.planned.name] for o in result.outcomes])
    return result
