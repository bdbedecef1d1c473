"""The client's side of running stages on Dask workers that do not see the repository: what a
stage's task carries (its deps and params files by hash, pushed first to the remote when it lacks
them, with the code of `pipetool push`), and what comes back (the outs, fetched into the cache and
put in the workspace, or left on the remote with --no-download).
"""

from __future__ import annotations

import os
import posixpath
from concurrent.futures import ThreadPoolExecutor

from ..errors import RemoteError
from ..files.safepath import Tree, is_url
from ..pipeline.project import Project
from ..pipeline.stage import Stage
from ..remotes import transfer
from ..remotes.progress import NoProgress
from ..remotes.remote import open_remote, without_secrets
from ..storage.cache import CorruptObject
from ..storage.hashing import HashInfo
from . import ExecutorChoice, ProjectStore, StageRun
from .remote_worker import ATTEMPTS, UNDECLARED, Input, RemoteResult, RemoteTask

JOBS = 8  # parallel transfers of the client


class ViaRemote:
    """One run's traffic with the default remote."""

    def __init__(self, root: str, store: ProjectStore, run_id: str, choice: ExecutorChoice) -> None:
        project = Project(root)
        self.root = root
        self.store = store
        self.run_id = run_id
        self.choice = choice
        self.config = without_secrets(project, None)
        self.remote = open_remote(project, None)
        if self.remote.read_only:
            raise RemoteError(
                f"remote '{self.remote.name}' ({self.remote.url}) is read-only",
                hint="the workers upload the outs there: use an s3, gs, azure, ssh or local-directory remote",
            )
        self.on_remote: set[str] = set()  # objects known to be on the remote, whole
        self.left: dict[str, HashInfo] = {}  # outs of this run left on the remote (--no-download)
        self.left_stages: list[str] = []
        self._tree = Tree(root)
        # One pool for the run's transfers: a few objects per stage, and a new pool per stage
        # would cost more than they do (its threads start while Dask's thread holds the GIL).
        self._pool = ThreadPoolExecutor(JOBS, thread_name_prefix="transfer")

    @property
    def name(self) -> str:
        return self.remote.name

    def task(self, stage: Stage) -> RemoteTask:
        """The stage's task: its deps, params files and persist outs by hash, each on the remote."""
        paths = [*stage.deps, *(p.file for p in stage.params), *(o.path for o in stage.outs if o.persist)]
        inputs: list[Input] = []
        want: dict[str, transfer.Item] = {}
        for path in dict.fromkeys(paths):
            if is_url(path):
                continue  # the cmd reads it from where it is, as it does locally
            info = self.left.get(path) or self.store.hasher.info(path)
            if info is None:
                continue  # a persist out not made yet (a missing dep failed the stage already)
            if path not in self.left:
                self._cache(path, info)
            inputs.append(Input(path, info.hash, info.size or 0, info.nfiles))
            want.setdefault(info.hash, transfer.Item(path, info.size or 0))
        self._push({digest: item for digest, item in want.items() if digest not in self.on_remote})
        return RemoteTask(
            stage.name,
            stage.cmd,
            stage.wdir,
            tuple(inputs),
            stage.out_paths,
            self.config,
            self.run_id,
            self.choice.retries,
        )

    def _cache(self, path: str, info: HashInfo) -> None:
        """A dep in the project's cache (code and data that no stage makes are not there yet)."""
        cache = self.store.cache
        try:
            if cache.has_all(info.hash):
                return
        except CorruptObject:
            pass
        entries = self.store.hasher.dir_entries(path) if info.is_dir else None
        cache.store(os.path.join(self.root, path), info.hash, entries, link=False)

    def _push(self, want: dict[str, transfer.Item]) -> None:
        if not want:
            return
        result = transfer.push(self.store.cache, self.remote, want, JOBS, NoProgress(), pool=self._pool)
        if not result.ok:
            raise RemoteError(
                f"could not push its deps to remote '{self.name}': "
                + ", ".join(result.missing + result.corrupt + result.failed)
            )
        self.on_remote |= set(want)

    def finished(self, run: StageRun, result: RemoteResult) -> StageRun:
        """The stage's run once its outs are where they belong: in the workspace (through the
        cache, checked), or named by hash on the remote."""
        if result.problem:
            run.problem = result.problem
            return run
        if not run.ok:
            if not run.interrupted:
                run.problem = f"{run.cmd_failure()}; {UNDECLARED}"
            return run
        if result.missing:
            run.problem = "its cmd succeeded but did not create the declared out(s) " + ", ".join(
                f"'{path}'" for path in result.missing
            )
            return run
        self.on_remote |= {info.hash for info in result.outs.values()}
        if not self.choice.download:
            run.outs = dict(result.outs)
            self.left.update(result.outs)
            self.left_stages.append(run.name)
            return run
        for path in result.outs:
            self.left.pop(path, None)
        problem = self._download(result.outs)
        if problem:
            run.problem = problem
        return run

    def _download(self, outs: dict[str, HashInfo]) -> str | None:
        want = {info.hash: transfer.Item(path, info.size or 0) for path, info in outs.items()}
        cache = self.store.cache
        try:
            result = transfer.fetch(cache, self.remote, want, JOBS, NoProgress(), pool=self._pool)
        except RemoteError as exc:
            return f"could not fetch its outs from remote '{self.name}': {exc.message}"
        if not result.ok:
            return f"could not fetch its outs from remote '{self.name}': " + ", ".join(
                result.missing + result.corrupt + result.failed
            )
        try:
            for path, info in outs.items():
                cache.checkout(info.hash, self._tree.target(path), link=False)
        except (CorruptObject, OSError) as exc:
            return f"could not put its outs in the workspace: {exc}"
        return None

    def close(self) -> str | None:
        """Remove this run's attempt markers; what to tell about outs left on the remote."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self.remote.fs.rm(posixpath.join(self.remote.root, ATTEMPTS, f"dask-{self.run_id}"), recursive=True)
        except Exception:  # noqa: BLE001 - nothing was written, or the remote went away: markers are tiny
            pass
        if not self.left_stages:
            return None
        return (
            f"the outs of {len(self.left_stages)} stage(s) stay on remote '{self.name}' (--no-download): "
            "they are in pipeline.lock, not in the workspace; 'pipetool pull' brings them"
        )
