"""pipeline.env.json, beside each pipeline.lock and committed with it: the environment each
stage's locked results were produced in (system/environment.py), so that `verify` can say what
differs between that environment and its own.

    {"stages": {"train": "<digest>", ...},
     "environments": {"<digest>": {"python": ..., "cpu": ..., "kernel": ..., "packages": {...}}}}

A stage's fingerprint is written when a run gives it new results, like the lock entry's duration:
a rerun that reproduces the lock leaves the file byte for byte as it was, and an up-to-date repro
computes no fingerprint at all. It never makes a stage stale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import SpecError
from ..files import fsutil, yamlfile
from ..pipeline.pipelines import LOCK_FILE, is_pointer, split

ENV_FILE = "pipeline.env.json"
MAX_ENV_BYTES = 16 * 2**20  # one fingerprint per environment a stage ran in: a few KiB each


def env_file_of(pipeline_file: str) -> str:
    """The fingerprint file beside a pipeline file's lock."""
    folder = pipeline_file.rpartition("/")[0]
    return f"{folder}/{ENV_FILE}" if folder else ENV_FILE


def parse(text: str | None) -> dict[str, Any]:
    """The file's data; an empty one for a missing, unreadable, oversized or too deeply nested
    file (it is informative only, and comes with a clone like the lock)."""
    try:
        data = yamlfile.load_json(text, ENV_FILE, MAX_ENV_BYTES) if text else {}
    except SpecError:
        return {"stages": {}, "environments": {}}
    stages = data.get("stages") if isinstance(data, dict) else None
    environments = data.get("environments") if isinstance(data, dict) else None
    return {
        "stages": stages if isinstance(stages, dict) else {},
        "environments": environments if isinstance(environments, dict) else {},
    }


def of_stage(read_text: Callable[[str], str | None], stage_name: str) -> dict[str, Any] | None:
    """The environment recorded for a stage, reading files with read_text (a revision's or the
    working tree's), or None."""
    file, name = split(stage_name)
    data = parse(read_text(env_file_of(file)))
    key = data["stages"].get(name)
    found = data["environments"].get(key) if isinstance(key, str) else None
    return _well_formed(found) if isinstance(found, dict) else None


def _well_formed(found: dict[str, Any]) -> dict[str, Any]:
    """A recorded environment in the form fingerprint() writes it: text values, and `packages`
    a mapping of names to versions; anything else a clone wrote is left out."""
    kept: dict[str, Any] = {k: v for k, v in found.items() if isinstance(v, str) and k != "packages"}
    packages = found.get("packages")
    if isinstance(packages, dict):
        kept["packages"] = {k: v for k, v in packages.items() if isinstance(k, str) and isinstance(v, str)}
    return kept


def record(root: str, stage_names: Iterable[str], fingerprint: Callable[[], dict[str, Any]] | None = None) -> None:
    """Record the current environment for these stages (those whose results are new); the
    fingerprint is computed only when there is one, and a file is rewritten only when it changes."""
    by_file = _by_file(stage_names)
    if not by_file:
        return
    from ..files.trusted_cache import key_path
    from ..system import environment

    folder = key_path()
    current = fingerprint() if fingerprint else environment.fingerprint(cache_dir=folder and os.path.dirname(folder))
    key = environment.digest(current)
    entries = {(relpath, name): (key, current) for relpath, names in by_file.items() for name in names}
    _write(root, by_file, entries)


def restore(root: str, stage_names: Iterable[str], read_committed: Callable[[str], str | None]) -> None:
    """Give these stages the environment recorded for them in the committed file (read with
    read_committed), or none when it has none: their lock entries went back to the committed ones,
    a param changed and changed back, so that `git diff` shows neither file changed."""
    by_file = _by_file(stage_names)
    entries: dict[tuple[str, str], tuple[str, dict[str, Any]] | None] = {}
    for relpath, names in by_file.items():
        committed = parse(read_committed(relpath))
        for name in names:
            key = committed["stages"].get(name)
            found = committed["environments"].get(key) if isinstance(key, str) else None
            entries[relpath, name] = (key, found) if isinstance(found, dict) else None
    _write(root, by_file, entries)


def _by_file(stage_names: Iterable[str]) -> dict[str, list[str]]:
    by_file: dict[str, list[str]] = {}
    for stage_name in stage_names:
        if is_pointer(stage_name):
            continue  # tracked data: no command ran, so no environment made it
        file, name = split(stage_name)
        by_file.setdefault(env_file_of(file), []).append(name)
    return by_file


def _write(
    root: str, by_file: dict[str, list[str]], entries: dict[tuple[str, str], tuple[str, dict[str, Any]] | None]
) -> None:
    """Set each (file, stage)'s (digest, environment), or take the stage out for None; a file is rewritten
    only when it changes, and an environment no stage names any more goes."""
    for relpath, names in by_file.items():
        if not os.path.exists(os.path.join(root, os.path.dirname(relpath) or ".", LOCK_FILE)):
            continue  # no lock was written there (every stage failed)
        path = os.path.join(root, relpath)
        try:  # a regular file only: a clone's link to /dev/zero or a pipe is never read
            found = fsutil.read_regular(path, MAX_ENV_BYTES + 1)
        except OSError:
            found = None
        old_text = found.decode("utf-8", errors="replace") if found is not None else None
        data = parse(old_text)
        for name in names:
            entry = entries[relpath, name]
            if entry is None:
                data["stages"].pop(name, None)
            else:
                data["stages"][name], data["environments"][entry[0]] = entry
        used = set(data["stages"].values())
        data = {
            "stages": dict(sorted(data["stages"].items())),
            "environments": {k: v for k, v in sorted(data["environments"].items()) if k in used},
        }
        text = json.dumps(data, indent=1, sort_keys=False) + "\n"
        if text != old_text:
            fsutil.atomic_write(path, text)
