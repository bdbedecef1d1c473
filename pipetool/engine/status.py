"""Status: every stage's staleness reasons, decided on what is on disk now."""

from __future__ import annotations

from dataclasses import dataclass

from ..pipeline.pipelines import file_of
from ..planning.observe import observe, param_values
from ..planning.plan import select
from ..planning.staleness import Reason, decide, unchanged
from ..storage.lock import expand
from .workspace import Workspace


@dataclass(frozen=True)
class StageStatus:
    name: str
    reasons: tuple[Reason, ...]
    frozen: bool = False

    @property
    def stale(self) -> bool:
        return bool(self.reasons)


def status(ws: Workspace, targets: list[int] | None = None, stale_only: bool = False) -> list[StageStatus]:
    """Statuses of the targets with their upstream (all stages by default), in topological order;
    with stale_only, those of the stale stages alone (a no-op status of 10,000 stages then makes
    no record for each up-to-date one).

    Each stage is judged on its own inputs as they are now: a stale upstream does not make
    its downstream stale here, because after it reruns its outs may well be the same (early cutoff).
    """
    selected = select(ws.graph, targets)
    files = None if targets is None else {file_of(ws.graph.stages[i].name) for i in selected}
    entries = ws.locks.read_compact(files=files)  # of a folder's stages: its locks, not every folder's
    result = []
    stages, hasher, params = ws.graph.stages, ws.hasher, ws.params
    paths: list[str] = []
    for index in selected:  # extended tuple by tuple: no tuple made per stage
        paths += stages[index].deps
        paths += stages[index].out_paths
    hasher.prefetch(paths)
    hashes = hasher.known_hashes(paths)  # one stat each; an unchanged stage needs nothing more
    for index in selected:
        stage = stages[index]
        locked = entries.get(stage.name)
        values = param_values(stage, params) if stage.params and locked is not None else None
        if unchanged(stage, locked, hashes, values):
            reasons = []
        else:
            reasons = decide(stage, None if locked is None else expand(locked), observe(stage, hasher, params))
        if reasons or not stale_only:
            result.append(StageStatus(stage.name, tuple(reasons), stage.frozen))
    return result
