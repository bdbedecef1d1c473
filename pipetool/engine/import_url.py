"""`import-url` and `update`: a stage that downloads a URL into the project, and checking it again.

`pipetool import-url URL [PATH]` appends to pipeline.yaml (through `stage add`, comments kept)

    import-data.csv:
      cmd: pipetool get-url s3://bucket/data.csv data.csv
      deps: [s3://bucket/data.csv]
      outs: [data.csv]

whose dep is the URL: the source's version (etag, checksum, or pipetool's xxh3 of the bytes)
decides when it reruns, as a file's hash does for any stage. `update` names such stages.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from dataclasses import dataclass

from ..errors import PipetoolError, SpecError
from ..files.safepath import UnsafePath, is_url, project_relative
from ..pipeline import spec
from ..pipeline.pipelines import PIPELINE_FILE
from ..pipeline.stage import Stage
from ..revisions import git
from .stage_add import NewStage, add
from .workspace import Workspace

GET_URL = "pipetool get-url"  # how an import stage's cmd starts
PREFIX = "import-"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Imported:
    name: str  # the stage's name
    path: str  # its out, relative to the project's root
    replaced: bool  # --force replaced an earlier import of the same path


def as_url(source: str) -> str:
    """A URL as given; an absolute local path as its file:// URL (DVC takes both)."""
    if is_url(source):
        return source
    if os.path.isabs(source):
        return "file://" + os.path.normpath(source)
    raise PipetoolError(
        f"'{source}' is not a URL",
        hint="give a URL such as s3://bucket/key, https://host/file or file:///absolute/path",
    )


def default_path(url: str) -> str:
    """The URL's last name, as `dvc import-url` names the out when none is given."""
    name = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    name = name.rsplit("/", 1)[-1] if "/" in name else ""
    if not name or name in (".", ".."):
        raise PipetoolError(f"'{url}' has no file name to use", hint="give the PATH to download it to")
    return name


def project_path(root: str, path: str, cwd: str | None = None) -> str:
    """path (relative to cwd) as a clean path relative to the project's root, inside it."""
    try:
        return project_relative(root, path, cwd or os.getcwd())
    except UnsafePath:
        raise PipetoolError(f"'{path}' lies outside the project", hint="download into the project") from None


def is_import(stage: Stage) -> bool:
    """A stage that reads a URL (an import-url stage, or any stage of the user's with a URL dep)."""
    return any(is_url(dep) for dep in stage.deps)


def import_url(
    root: str,
    source: str,
    path: str | None = None,
    force: bool = False,
    cwd: str | None = None,
    state_dir: str | None = None,
    check: bool = True,
) -> Imported:
    """Append the stage that downloads source to path (default: its last name) to pipeline.yaml;
    with check, only when the source exists (asked with the settings of the remote it lies under)."""
    url = as_url(source)
    if check and not _exists(url, state_dir):
        raise PipetoolError(f"'{url}' does not exist", hint="check the URL; pipeline.yaml was not changed")
    out = project_path(root, path if path is not None else default_path(url), cwd)
    stages = _stages(root)
    producer = next((s for s in stages if out in s.out_paths), None)
    replaced = False
    if producer is not None:
        if not (force and producer.cmd and producer.cmd[0].startswith(GET_URL) and producer.file == PIPELINE_FILE):
            raise PipetoolError(
                f"'{out}' is an out of stage '{producer.name}' already",
                hint="use --force to replace an earlier import of it"
                if producer.cmd and producer.cmd[0].startswith(GET_URL)
                else "choose another PATH",
            )
        name, replaced = producer.name, True
    else:
        if os.path.lexists(os.path.join(root, out)):
            if not force:
                raise PipetoolError(f"'{out}' exists already", hint="use --force to overwrite it")
            if git.tracks(root, out):
                raise PipetoolError(
                    f"'{out}' is tracked by git",
                    hint=f"git rm --cached {shlex.quote(out)} first, or choose another PATH",
                )
        name = _unique_name(out, {s.name for s in stages})
    add(
        root,
        NewStage(
            name=name,
            cmd=f"{GET_URL} {shlex.quote(url)} {shlex.quote(out)}",
            deps=(url,),
            outs=(out,),
            force=replaced,
        ),
    )
    return Imported(name, out, replaced)


def import_stages(ws: Workspace, indexes: list[int]) -> list[str]:
    """The names of these stages, each of which must read a URL (what `update` checks again)."""
    names = []
    for index in indexes:
        stage = ws.graph.stages[index]
        if not is_import(stage):
            raise PipetoolError(
                f"stage '{stage.name}' has no URL dep: there is no source to check again",
                hint=f"run it with 'pipetool repro {stage.name}'",
            )
        if not downloads_only(stage):
            # update runs no command a repository wrote: only the download import-url writes
            raise PipetoolError(
                f"stage '{stage.name}' is not an import (its cmd is not '{GET_URL} URL PATH' of its "
                "one URL dep and out): 'update' does not run it",
                hint=f"run it with 'pipetool repro {stage.name}' if you trust its command",
            )
        names.append(stage.name)
    return names


def downloads_only(stage: Stage) -> bool:
    """Whether the stage's whole cmd is the download `import_url` writes: `pipetool get-url URL
    PATH`, its one dep the URL and its one out PATH. Any other stage with a URL dep runs a
    command its pipeline file wrote, which only `repro` runs."""
    if len(stage.cmd) != 1 or len(stage.deps) != 1 or len(stage.out_paths) != 1 or stage.params:
        return False
    try:
        words = shlex.split(stage.cmd[0])
    except ValueError:
        return False
    if len(words) != 4 or " ".join(words[:2]) != GET_URL or words[2] != stage.deps[0]:
        return False
    folder = posixpath.dirname(stage.file) or "."
    written = posixpath.normpath(posixpath.join(folder, stage.wdir, words[3]))
    return written == stage.out_paths[0]


def _exists(url: str, state_dir: str | None) -> bool:
    if url.lower().startswith("file://"):
        return os.path.exists(url[len("file://") :])
    from ..remotes.external import opener
    from ..storage.external import UrlVersions

    return UrlVersions(opener(state_dir)).info(url) is not None


def _stages(root: str) -> list[Stage]:
    if not os.path.exists(os.path.join(root, PIPELINE_FILE)):
        return []
    try:
        return spec.load_all(root)
    except SpecError as error:
        if error.message == "the file is empty":
            return []
        raise


def _unique_name(out: str, taken: set[str]) -> str:
    """import-<the out's name>, with -2, -3... when that is taken."""
    base = PREFIX + (_UNSAFE_NAME.sub("_", posixpath.basename(out)).strip("_") or "data")
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name
