"""The pipeline as a page draws it, in plain data: each stage with what it declares, its status
(with the reasons `pipetool status` gives, from the same entry point), its last duration, where it
sits in a layered drawing, and its fate in the running (or last) repro; and a stage's log from an
offset, for a page that follows it."""

from __future__ import annotations

import os
import time
from typing import Any

from ..planning import timings
from ..planning.layout import layered
from ..storage.logs import log_path
from . import runstate
from .status import status
from .workspace import Workspace

UP_TO_DATE, STALE, FROZEN, RUNNING, FAILED = "up to date", "stale", "frozen", "running", "failed"
MAX_LOG_CHUNK = 256 * 1024  # bytes of a log one answer carries


def pipeline_view(ws: Workspace) -> dict[str, Any]:
    """Every stage, the graph's edges, the layout and the run: see the module's docstring. A stage's
    `status` is what the page colours it by: running or failed in the run (live, or the last one
    for a stage still stale), else frozen, stale or up to date."""
    graph = ws.graph
    order = list(graph.order)
    statuses = {s.name: s for s in status(ws)}
    durations = timings.durations(graph, order, ws.locks.read())
    layout = layered(graph, order)
    run = runstate.read(ws.project.state_dir)
    now = time.time()
    stages = []
    for index in order:
        stage = graph.stages[index]
        judged = statuses[stage.name]
        record = {
            "name": stage.name,
            "desc": stage.desc,
            "cmd": list(stage.cmd),
            "wdir": stage.wdir,
            "deps": list(stage.deps),
            "outs": list(stage.out_paths),
            "params": [_params_text(dep) for dep in stage.params],
            "frozen": stage.frozen,
            "reasons": [str(reason) for reason in judged.reasons],
            "duration": durations.get(stage.name),
            "x": layout.x[index],
            "y": layout.y[index],
            "run": run.stages.get(stage.name) if run else None,
        }
        record["status"] = _status(record, judged.stale, run)
        if record["status"] == RUNNING:
            record["elapsed"] = max(0.0, now - run.running.get(stage.name, now))
        if record["status"] == FAILED:
            record["message"] = run.failed.get(stage.name, "")
        stages.append(record)
    edges = [
        [graph.stages[up].name, graph.stages[index].name]
        for index in order
        for up in dict.fromkeys(graph.upstream[index])
    ]
    return {
        "stages": stages,
        "edges": edges,
        "layers": layout.layers,
        "rows": layout.rows,
        "run": run_view(ws.project.state_dir, run),
        "now": now,
    }


def _status(record: dict, stale: bool, run: runstate.RunState | None) -> str:
    if run is not None and run.live and record["run"] == runstate.RUNNING:
        return RUNNING
    if run is not None and record["run"] == runstate.FAILED and stale:
        return FAILED
    if record["frozen"]:
        return FROZEN
    return STALE if stale else UP_TO_DATE


def _params_text(dep) -> str:
    return f"{dep.file}: {', '.join(dep.keys)}" if dep.keys is not None else f"{dep.file} (every key)"


def run_view(state_dir: str, run: runstate.RunState | None = None, *, read: bool = False) -> dict[str, Any] | None:
    """The run-state file as plain data, with a `stamp` a poller sends back to learn cheaply that
    nothing changed; read=True reads the file (else run is the one already read)."""
    stamp = runstate.stamp(state_dir)
    if read:
        run = runstate.read(state_dir)
    if run is None:
        return None
    return {**run.to_dict(), "stamp": f"{stamp[0]}-{stamp[1]}" if stamp else "", "now": time.time()}


def run_changes(state_dir: str, since: str | None) -> dict[str, Any]:
    """What a poller asks every second or so: {"changed": False} when the file's stamp is still
    `since` (one stat, nothing read), else the run (None when there is no file)."""
    stamp = runstate.stamp(state_dir)
    current = f"{stamp[0]}-{stamp[1]}" if stamp else ""
    if since is not None and since == current:
        return {"changed": False, "stamp": current}
    return {"changed": True, "stamp": current, "run": run_view(state_dir, read=True)}


def stage_log(state_dir: str, name: str, offset: int = 0) -> dict[str, Any]:
    """The stage's log from byte offset on (at most MAX_LOG_CHUNK bytes; a first read of a long
    log starts at its last MAX_LOG_CHUNK): {"text", "offset" (where to ask from next), "size",
    "exists", "truncated" (bytes left out before the text)}. A log that shrank (its stage started
    again) is read from its start."""
    path = log_path(state_dir, name)
    try:
        if not name:
            raise FileNotFoundError(path)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {"text": "", "offset": 0, "size": 0, "exists": False, "truncated": 0}
    with open(fd, "rb") as handle:
        size = os.fstat(fd).st_size
        start = offset if 0 <= offset <= size else 0
        if start == 0 and size > MAX_LOG_CHUNK:
            start = size - MAX_LOG_CHUNK
        handle.seek(start)
        data = _whole_characters(handle.read(MAX_LOG_CHUNK))
    return {
        "text": data.decode("utf-8", "replace"),
        "offset": start + len(data),
        "size": size,
        "exists": True,
        "truncated": start if start != offset else 0,
    }


def _whole_characters(data: bytes) -> bytes:
    """data without a UTF-8 character cut at its end (the next read starts with it)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its character whole?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data
