"""Project settings in `.pipetool/config` (committed): small YAML, read once per command."""

from __future__ import annotations

import os
from typing import Any

from . import yamlfile
from .errors import ProjectError
from .executor import EXECUTORS
from .lock import atomic_write

CONFIG_FILE = "config"
LINK_TYPES = ("copy", "reflink", "hardlink", "symlink")
# Known settings: name -> (default, allowed values, or None for any text)
SETTINGS: dict[str, tuple[Any, tuple | None]] = {
    "cache.type": ("copy", LINK_TYPES),
    "executor.type": ("local", EXECUTORS),
    "executor.scheduler": ("", None),  # a Dask scheduler address, e.g. tcp://host:8786
}


def read(state_dir: str) -> dict[str, Any]:
    """All settings, defaults filled in; a broken file is an error naming its line."""
    path = os.path.join(state_dir, CONFIG_FILE)
    values = {name: default for name, (default, _) in SETTINGS.items()}
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return values
    data = yamlfile.parse(text, ".pipetool/config") or {}
    if not isinstance(data, dict):
        raise ProjectError("must be a mapping of sections to settings", file=".pipetool/config")
    for section, entries in data.items():
        for key, value in (entries or {}).items() if isinstance(entries, dict) else []:
            values[f"{section}.{key}"] = value
    for name, (_, allowed) in SETTINGS.items():
        if allowed is None:
            values[name] = "" if values[name] is None else str(values[name])
        elif values[name] not in allowed:
            raise ProjectError(f"'{name}' is {values[name]!r}", file=".pipetool/config",
                               hint="one of: " + ", ".join(allowed))
    return values


def write(state_dir: str, name: str, value: str | None) -> None:
    """Set (or with None, unset) one setting, keeping the others."""
    if name not in SETTINGS:
        raise ProjectError(f"unknown setting '{name}'", hint="known: " + ", ".join(SETTINGS))
    allowed = SETTINGS[name][1]
    if value is not None and allowed is not None and value not in allowed:
        raise ProjectError(f"'{name}' cannot be {value!r}", hint="one of: " + ", ".join(allowed))
    path = os.path.join(state_dir, CONFIG_FILE)
    data: dict = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            data = yamlfile.parse(handle.read(), ".pipetool/config") or {}
    section, key = name.split(".", 1)
    entries = dict(data.get(section) or {})
    if value is None:
        entries.pop(key, None)
    else:
        entries[key] = value
    data = {**data, section: entries}
    atomic_write(path, yamlfile.dump({k: dict(v) for k, v in data.items() if v}))
