"""One command's view of a project: its stages and graph, lock, params and hash state."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..pipeline import config
from ..pipeline.params import ParamsFiles
from ..pipeline.project import Project
from ..planning import spec_cache
from ..planning.graph import Graph
from ..storage.cache import Cache
from ..storage.hashing import Hasher
from ..storage.lock import LockStore
from ..storage.runcache import RunCache
from ..storage.state import StateDB


@dataclass
class Workspace:
    project: Project
    graph: Graph
    params: ParamsFiles
    hasher: Hasher
    locks: LockStore
    state: StateDB
    cache: Cache
    runs: RunCache
    warnings: tuple[str, ...] = ()  # pipeline.yaml's, for the CLI to print (see spec_cache.Compiled)

    @property
    def root(self) -> str:
        return self.project.root

    @property
    def files(self) -> list[str]:
        """The pipeline files, the root's first (pointer files: locks.pointers)."""
        return self.locks.files

    def prefetch(self, indexes: list[int]) -> None:
        """Read what the state db knows of these stages' deps and outs in a few queries."""
        stages = self.graph.stages
        self.hasher.prefetch([path for i in indexes for path in stages[i].deps + stages[i].out_paths])

    def close(self) -> None:
        self.state.close()
        self.runs.close()


def open_workspace(project: Project, allow_empty: bool = False) -> Workspace:
    """Load and check pipeline.yaml and the pointer files, build the graph, open the state db.
    allow_empty: a project with no pipeline or pointer file has no stages (else an error)."""
    state_dir = project.ensure_state_dir()
    compiled = spec_cache.load(project.root, state_dir, allow_empty=allow_empty)
    state = StateDB(os.path.join(state_dir, "state.db"))
    hasher = Hasher(project.root, state)
    hasher.url_opener = _url_opener(state_dir)
    return Workspace(
        project=project,
        graph=compiled.graph,
        params=compiled.params,
        hasher=hasher,
        locks=LockStore(project.root, state_dir, compiled.files),
        state=state,
        cache=Cache(state_dir, config.read(state_dir)["cache.type"]),
        runs=RunCache(state_dir),
        warnings=compiled.warnings,
    )


def _url_opener(state_dir: str):
    """URL deps are opened with the settings of the remote they lie under (remotes/external.py),
    imported only when a URL dep is read."""

    def open_url(url: str):
        from ..remotes.external import opener

        return opener(state_dir)(url)

    return open_url
