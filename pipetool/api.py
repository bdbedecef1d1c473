"""pipetool's Python API, for notebooks and stage scripts: params, metrics, tracked files and
experiments of the workspace or of any git revision, as plain data. Follows DVC's `dvc.api`.

Errors are exceptions (PipetoolError and its subclasses; a path that is not there is a
PathMissingError, which is also a FileNotFoundError); nothing is printed and nothing exits.
Importing this module imports nothing else of pipetool: each function loads what it uses.

    import pipetool.api

    params = pipetool.api.params_show(stages="train")           # {'train': {'lr': 0.1}}
    metrics = pipetool.api.metrics_show(rev="HEAD~1")           # {'acc': 0.91, ...}
    with pipetool.api.open("data/images/0001.png", rev="v1", mode="rb") as f:
        first = f.read(16)                                      # from the cache or the remote
"""

from __future__ import annotations

import contextlib

TYPE_CHECKING = False  # typing itself costs more to import than the rest of this module
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import IO, Any

    from .revisions.dataread import PathMissingError

__all__ = ["PathMissingError", "exp_show", "metrics_show", "open", "params_show", "read"]


def __getattr__(name: str) -> Any:
    """PathMissingError, imported when asked for (it brings the reading code with it)."""
    if name == "PathMissingError":
        from .revisions.dataread import PathMissingError

        return PathMissingError
    raise AttributeError(f"module 'pipetool.api' has no attribute '{name}'")


def params_show(
    *targets: str,
    stages: str | Iterable[str] | None = None,
    repo: str | None = None,
    rev: str | None = None,
    deps: bool = False,
) -> dict[str, Any]:
    """The params of the project (repo: a folder inside it; default the current one) at rev
    (default: the workspace), merged into one dict as DVC merges them: a top-level key that two
    files define is written `file:key`.

    Without arguments, every key of every params file a stage uses (and of the files
    pipeline.yaml's top-level `params:` lists); targets: these params files instead (they need
    not be used by a stage); stages: only the keys those stages use (a foreach/matrix group's
    name stands for its stages); deps: only the keys some stage uses.
    """
    from .pipeline.params import ParamsFiles
    from .revisions.dataread import project_path
    from .revisions.git import Revisions
    from .revisions.toplevel import load_revision

    project = _project(repo)
    _, source, all_stages, top = load_revision(Revisions(project.root), rev)
    chosen = _chosen_stages(all_stages, stages)
    used: dict[str, set[str] | None] = {}
    for stage in chosen:
        for dep in stage.params:
            if dep.keys is None or used.get(dep.file, set()) is None:
                used[dep.file] = None
            else:
                used.setdefault(dep.file, set()).update(dep.keys)
    only_used = deps or stages is not None
    if targets:
        files = [project_path(project.root, target) for target in targets]
    else:
        files = list(used) + ([] if only_used else [f for f in top.params if f not in used])
    params = ParamsFiles(source)
    per_file: dict[str, Any] = {}
    for file in files:
        keys = used.get(file, set()) if only_used else None
        per_file[file] = params.data(file) if keys is None else _subset(params, file, keys)
    return _merged(per_file)


def metrics_show(*targets: str, repo: str | None = None, rev: str | None = None) -> dict[str, Any]:
    """The metrics of the project at rev (default: the workspace), nested as the files write
    them and merged into one dict as params_show merges params. Without targets, every metrics
    file the stages and pipeline.yaml's top-level `metrics:` declare (a cached one read from the
    cache; a file that cannot be read is left out); targets: these files or folders, where any
    that cannot be read raises PipetoolError."""
    from .errors import PipetoolError
    from .revisions.dataread import project_path
    from .revisions.git import Revisions
    from .revisions.metrics import read_metrics
    from .revisions.toplevel import load_revision

    project = _project(repo)
    revisions = Revisions(project.root)
    _, source, stages, top = load_revision(revisions, rev)
    if targets:
        found = read_metrics(source, [], revisions.cache, [project_path(project.root, t) for t in targets])
        for path, values in found.items():
            if values.error is not None:
                raise PipetoolError(values.error, file=path)
    else:
        found = read_metrics(source, stages, revisions.cache, top.metrics)
    return _merged({path: _nested(values.values) for path, values in found.items() if values.error is None})


@contextlib.contextmanager
def open(  # noqa: A001 - dvc.api's name
    path: str,
    repo: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    mode: str = "r",
    encoding: str | None = None,
) -> Iterator[IO[Any]]:
    """A context manager streaming a file of the project at rev (default: the workspace, where a
    file on disk is read as it is), without checking anything out: a tracked file (a cached
    out, or a file inside a tracked folder, through its manifest) from the cache, else from
    remote (default: the project's default remote); a file git keeps, from git. Bytes from the
    cache or a remote are checked against their hash before any is handed out. mode "r" (text,
    encoding default UTF-8) or "rb". PathMissingError (a FileNotFoundError) when rev has no such
    file."""
    if mode not in ("r", "rb"):
        raise ValueError(f"mode must be 'r' or 'rb', not {mode!r}: tracked files are read only")
    handle = _open_binary(path, repo, rev, remote)
    stream: IO[Any] = handle
    if mode == "r":
        import io

        stream = io.TextIOWrapper(handle, encoding=encoding or "utf-8")
    try:
        yield stream
    finally:
        stream.close()


def read(
    path: str,
    repo: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    mode: str = "r",
    encoding: str | None = None,
) -> str | bytes:
    """The whole contents of a file, as open() reads it: text for mode "r", bytes for "rb"."""
    with open(path, repo=repo, rev=rev, remote=remote, mode=mode, encoding=encoding) as handle:
        return handle.read()


def exp_show(repo: str | None = None, all_baselines: bool = False) -> list[dict[str, Any]]:
    """A row per baseline (HEAD; with all_baselines every commit that has experiments) and per
    experiment on it, as `pipetool exp show --json` finds them, each a flat dict: `Experiment`
    (the experiment's name, None for a baseline), `rev` (a baseline's name, an experiment's
    short SHA), `typ` ("baseline" or "branch_commit"), `Created` (ISO 8601, UTC), `parent` (the
    baseline's short SHA for an experiment), then every metric and param by name (`file:key`
    where two files share a key), None where a row has no value."""
    from datetime import UTC, datetime

    from .experiments import table
    from .pipeline.params import ABSENT

    rows = table.collect(_project(repo).root, all_baselines)
    columns = table.columns(rows, all_columns=True)
    result = []
    for row in rows:
        record: dict[str, Any] = {
            "Experiment": None if row.is_baseline else row.name,
            "rev": row.name if row.is_baseline else row.sha[:7],
            "typ": "baseline" if row.is_baseline else "branch_commit",
            "Created": datetime.fromtimestamp(row.created, UTC).isoformat() if row.created else None,
            "parent": None if row.is_baseline else row.baseline[:7],
        }
        for column in columns:
            found = table.value(row, column)
            record[column.label] = None if found is ABSENT else found
        result.append(record)
    return result


# -- helpers -------------------------------------------------------------------------------------


def _project(repo: str | None):
    """The project around repo (a folder path; default the current folder)."""
    from .errors import ProjectError
    from .pipeline.project import find

    if repo is not None and "://" in repo:
        raise ProjectError(f"repo={repo!r}: only a local project folder is supported", hint="clone it first")
    return find(repo)


def _chosen_stages(stages: list, names: str | Iterable[str] | None) -> list:
    """The stages named (a foreach/matrix group's name: its stages); all when names is None."""
    if names is None:
        return stages
    from .errors import TargetError, did_you_mean

    wanted = [names] if isinstance(names, str) else list(names)
    chosen = []
    for name in wanted:
        found = [s for s in stages if s.name == name or s.name.startswith(name + "@")]
        if not found:
            hint = did_you_mean(name, [s.name for s in stages])
            raise TargetError(f"no stage '{name}'", hint=hint)
        chosen += [s for s in found if s not in chosen]
    return chosen


def _subset(params, file: str, keys: set[str]) -> dict[str, Any]:
    """The values of these dotted keys of a params file, nested as the file nests them."""
    from .pipeline.params import Missing, split_key

    result: dict[str, Any] = {}
    for key in sorted(keys):
        try:
            value = params.value(file, key)
        except Missing:
            continue
        parts = split_key(key)
        if not all(isinstance(part, str) for part in parts):
            result[key] = value  # a list item (`layers[0]`): by its key as written
            continue
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


def _nested(flat: dict[str, Any]) -> Any:
    """A metrics file's flattened values (`a.b`) nested again; a lone value ('' key) as it is."""
    if list(flat) == [""]:
        return flat[""]
    result: dict[str, Any] = {}
    for key, value in flat.items():
        node = result
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return result


def _merged(per_file: dict[str, Any]) -> dict[str, Any]:
    """Files' top-level keys in one dict; a key two files share is written `file:key` (DVC's
    rule); a file that is not a mapping goes under its path."""
    counts: dict[str, int] = {}
    for data in per_file.values():
        for key in data if isinstance(data, dict) else ():
            counts[str(key)] = counts.get(str(key), 0) + 1
    merged: dict[str, Any] = {}
    for file, data in per_file.items():
        if not isinstance(data, dict):
            merged[file] = data
            continue
        for key, value in data.items():
            merged[str(key) if counts[str(key)] == 1 else f"{file}:{key}"] = value
    return merged


def _open_binary(path: str, repo: str | None, rev: str | None, remote: str | None) -> IO[bytes]:
    import builtins
    import io

    from .revisions.dataread import locate, open_object, remote_manifest
    from .revisions.git import Revisions

    project = _project(repo)
    opened: list = []

    def the_remote():
        """The remote asked for (or the default one, if any), opened once, when first needed."""
        if not opened:
            from .remotes.remote import default_name, open_remote

            name = remote or default_name(project.state_dir)
            opened.append(open_remote(project, name) if name else None)
        return opened[0]

    def manifest(digest: str):
        found = the_remote()
        return remote_manifest(found, digest) if found is not None else None

    located = locate(project, path, rev, manifest)
    if located.workspace is not None:
        return builtins.open(located.workspace, "rb")
    if located.git is not None:
        return io.BytesIO(located.git)
    assert located.digest is not None
    return open_object(Revisions(project.root).cache, located.digest, the_remote)
