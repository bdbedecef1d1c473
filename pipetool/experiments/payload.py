"""What an experiment's worker process is given: the experiment (project root, name, overrides)
and its repro options, as a versioned JSON file; read back strictly, since the file is input.

A grid runs each experiment in its own process (see cli/exp_worker.py); the options travel as data, field
by field of `ReproOptions`, so every option the grid was given reaches each experiment's repro.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass
from typing import Any

from ..engine.repro import ReproOptions
from ..errors import PipetoolError
from ..files.fsutil import atomic_write
from . import overrides as overrides_mod
from .overrides import Override

VERSION = 1
_FIELDS = ("version", "root", "name", "overrides", "options")
_OVERRIDE_FIELDS = ("file", "key", "text", "add")


class PayloadError(PipetoolError):
    """A worker's payload file cannot be read or does not describe an experiment."""

    exit_code = 2  # the worker's input is wrong, as a bad command line is


@dataclass(frozen=True)
class Job:
    """One experiment to run in a worker: in the project at root, named, with its params set."""

    root: str  # absolute: the project root in the experiment's worktree
    name: str
    overrides: tuple[Override, ...]
    options: ReproOptions


def to_data(job: Job) -> dict[str, Any]:
    return {
        "version": VERSION,
        "root": job.root,
        "name": job.name,
        "overrides": [{"file": o.file, "key": o.key, "text": o.text, "add": o.add} for o in job.overrides],
        "options": dataclasses.asdict(job.options),
    }


def write(path: str, job: Job) -> None:
    atomic_write(path, json.dumps(to_data(job), indent=2) + "\n", durable=False)


def read(path: str) -> Job:
    """The job a payload file describes; PayloadError naming the file and the first fault."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise PayloadError(f"experiment payload {path}: cannot be read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"experiment payload {path}: not JSON: {exc}") from None
    try:
        return from_data(data)
    except PayloadError as exc:
        raise PayloadError(f"experiment payload {path}: {exc.message}") from None


def from_data(data: Any) -> Job:
    """A Job from its plain data (what to_data made); PayloadError on the first fault."""
    record = _record(data, _FIELDS, "the payload")
    if record["version"] != VERSION:
        raise PayloadError(f"unknown version {record['version']!r} (this pipetool reads version {VERSION})")
    root = record["root"]
    if not isinstance(root, str) or not os.path.isabs(root) or not os.path.isdir(root):
        raise PayloadError(f"'root' must be the absolute path of a folder, not {root!r}")
    if not isinstance(record["name"], str):
        raise PayloadError(f"'name' must be text, not {record['name']!r}")
    if not isinstance(record["overrides"], list):
        raise PayloadError(f"'overrides' must be a list, not {record['overrides']!r}")
    found = tuple(_override(item, f"overrides[{n}]") for n, item in enumerate(record["overrides"]))
    options = _typed(ReproOptions, record["options"], "options")
    return Job(root, record["name"], found, options)


def _record(data: Any, names: tuple[str, ...], where: str) -> dict[str, Any]:
    """data as a mapping with exactly these keys."""
    if not isinstance(data, dict):
        raise PayloadError(f"{where} must be a mapping, not {_shown(data)}")
    missing = [n for n in names if n not in data]
    if missing:
        raise PayloadError(f"{where} has no '{missing[0]}'")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise PayloadError(f"{where} has an unknown field '{unknown[0]}'")
    return data


def _override(data: Any, where: str) -> Override:
    record = _record(data, _OVERRIDE_FIELDS, where)
    for name in ("file", "key", "text"):
        if not isinstance(record[name], str):
            raise PayloadError(f"{where}.{name} must be text, not {_shown(record[name])}")
    if not isinstance(record["add"], bool):
        raise PayloadError(f"{where}.add must be true or false, not {_shown(record['add'])}")
    try:
        return overrides_mod.rebuild(record["file"], record["key"], record["text"], record["add"])
    except PipetoolError as exc:  # its hint is about the command line: not said
        raise PayloadError(f"{where}: {exc.message}") from None


def _typed(kind: Any, data: Any, where: str) -> Any:
    """data checked against a type hint of the options (and rebuilt: dataclasses, tuples)."""
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = tuple(f.name for f in dataclasses.fields(kind))
        record = _record(data, names, where)
        return kind(**{name: _typed(hints[name], record[name], f"{where}.{name}") for name in names})
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(kind):
            try:
                return _typed(option, data, where)
            except PayloadError:
                continue
        raise PayloadError(f"{where} must be {_named(kind)}, not {_shown(data)}")
    if origin is tuple:
        item = typing.get_args(kind)[0]
        if not isinstance(data, list):
            raise PayloadError(f"{where} must be a list, not {_shown(data)}")
        return tuple(_typed(item, value, f"{where}[{n}]") for n, value in enumerate(data))
    if kind is type(None) and data is None:
        return None
    if kind in (str, bool) and type(data) is kind:
        return data
    if kind is int and type(data) is int:
        return data
    if kind is float and type(data) in (int, float):
        return float(data)
    raise PayloadError(f"{where} must be {_named(kind)}, not {_shown(data)}")


def _named(kind: Any) -> str:
    names = {str: "text", bool: "true or false", int: "a whole number", float: "a number", type(None): "null"}
    if kind in names:
        return names[kind]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_named(option) for option in typing.get_args(kind))
    return "a list" if typing.get_origin(kind) is tuple else "a mapping"


def _shown(data: Any) -> str:
    text = json.dumps(data)
    return text if len(text) <= 40 else text[:37] + "..."
