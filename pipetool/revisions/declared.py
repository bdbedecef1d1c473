"""The metrics files a revision declares (its stages' metrics and pipeline.yaml's top-level
`metrics`), remembered from one command to the next by what they were worked out from.

Working them out parses every pipeline file and the params files `${}` reads (YAML,
interpolation, foreach and matrix): most of what `metrics diff HEAD~1` spent. The answer
depends only on the pipeline files found and on what the load read through its source, so each
answer is kept in `.pipetool/declared.cache` (a files/trusted_cache copy: one that this user's
pipetool did not write is never unpickled) with the digest of every read the load made. A
later command makes the same reads again (one `git cat-file` process for a revision, a few
small files for the workspace) and takes the answer only when every one of them returns what
it returned then; anything else (a changed params.yaml, a vars file, an entry of another form)
parses afresh. A load that fails is never kept: its error is raised again each time.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import PipetoolError
from ..pipeline.pipelines import files_of, pipeline_files

CACHE_FILE = "declared.cache"
_VERSION = 1  # of the entries' form and of what a load means; another value: parsed afresh
MAX_ENTRIES = 64  # answers kept: the newest first

try:  # as trusted_cache: the keyed hash without hashlib's OpenSSL start-up
    from _blake2 import blake2b
except ImportError:  # another Python than CPython
    from hashlib import blake2b


def declared_metrics(revisions: Any, rev: str | None) -> tuple[str, Any, list[str]]:
    """(label, source, metrics files) of a revision name as `toplevel.load_revision` reads it:
    the stages' metrics, then the top-level ones, folders not yet expanded; a load error says
    which revision it is about."""
    from .git import WORKSPACE

    label, source = revisions.source(rev)
    try:
        return label, source, _declared(revisions.root, source)
    except PipetoolError as error:
        if label != WORKSPACE:
            error.message = f"{error.message} (in the revision {label})"
            error.args = (error.render(),)
        raise


def _declared(root: str, source: Any) -> list[str]:
    from ..pipeline.project import STATE_DIR, check_state_links

    check_state_links(root)  # a .pipetool that a clone made a link is never read or written through
    files = pipeline_files(files_of(source))
    path = os.path.join(root, STATE_DIR, CACHE_FILE)
    kept = _entries(path)
    header = (_VERSION, os.path.abspath(root), tuple(files))
    for reads, answer in kept:
        if reads[0] == header and all(_digest(_call(source, method, relpath)) == d for method, relpath, d in reads[1:]):
            return list(answer)
    recording = _Recording(source)
    answer = _load(recording, files)
    if not recording.unknown:
        entry = ((header, *((m, p, d) for (m, p), d in recording.reads.items())), tuple(answer))
        _save(path, [entry, *kept][:MAX_ENTRIES])
    return answer


def _load(source: Any, files: list[str]) -> list[str]:
    from .metrics import metric_paths
    from .toplevel import load

    stages, top = load(source, files)
    return list(dict.fromkeys([*metric_paths(stages), *top.metrics]))


def _entries(path: str) -> list:
    """The kept answers, when the copy is this user's and of this form; else none."""
    from ..files import trusted_cache

    kept = trusted_cache.load(path, CACHE_FILE)
    if not isinstance(kept, list) or not all(_well_formed(entry) for entry in kept):
        return []
    return kept


def _well_formed(entry: Any) -> bool:
    if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], tuple) and entry[0]):
        return False
    reads, answer = entry
    header = reads[0]
    return (
        isinstance(header, tuple)
        and len(header) == 3
        and isinstance(header[2], tuple)
        and all(
            isinstance(read, tuple)
            and len(read) == 3
            and read[0] in _Recording.READS
            and all(isinstance(part, str) for part in read)
            for read in reads[1:]
        )
        and isinstance(answer, tuple)
        and all(isinstance(item, str) for item in answer)
    )


def _save(path: str, entries: list) -> None:
    from ..files import trusted_cache

    if os.path.isdir(os.path.dirname(path)):  # a project without .pipetool yet: nothing kept
        trusted_cache.save(path, CACHE_FILE, entries)


def _call(source: Any, method: str, relpath: str) -> Any:
    """What one read returns now; an error stands for itself."""
    try:
        return getattr(source, method)(relpath)
    except PipetoolError as error:
        return _failed(error)


class _Failed(str):
    """A read that raised: its digest differs from every text's."""


def _failed(error: PipetoolError) -> _Failed:
    return _Failed(f"{type(error).__name__}: {error}")


def _digest(value: Any) -> str:
    """What a read returned, as a short digest: text, bytes, a truth value, None or an error."""
    if isinstance(value, _Failed):
        kind, data = b"e", str(value).encode("utf-8", "surrogatepass")
    elif isinstance(value, str):
        kind, data = b"s", value.encode("utf-8", "surrogatepass")
    elif isinstance(value, bytes):
        kind, data = b"b", value
    elif value is None or isinstance(value, bool):
        kind, data = b"v", repr(value).encode()
    else:
        kind, data = b"r", repr(value).encode()
    return blake2b(kind + b"\0" + data, digest_size=16).hexdigest()


class _Recording:
    """A source that notes what each read returned, for the key of the answer worked out
    through it; a call the key would not cover (any other method) leaves the answer unkept."""

    READS = ("read_text", "read_bytes", "exists", "blob_id")

    def __init__(self, source: Any) -> None:
        self._source = source
        self.root = source.root
        self.reads: dict[tuple[str, str], str] = {}
        self.unknown = False

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._source, name)
        if callable(value):
            self.unknown = True
        return value

    def _read(self, method: str, relpath: str) -> Any:
        try:
            value = getattr(self._source, method)(relpath)
        except PipetoolError as error:
            self.reads.setdefault((method, relpath), _digest(_failed(error)))
            raise
        self.reads.setdefault((method, relpath), _digest(value))
        return value

    def read_text(self, relpath: str) -> str | None:
        return self._read("read_text", relpath)

    def read_bytes(self, relpath: str) -> bytes | None:
        return self._read("read_bytes", relpath)

    def exists(self, relpath: str) -> bool:
        return self._read("exists", relpath)

    def blob_id(self, relpath: str) -> str | None:
        return self._read("blob_id", relpath)
