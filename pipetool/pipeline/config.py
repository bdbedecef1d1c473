"""Project settings: `.pipetool/config` (committed) with `.pipetool/config.local` (git-ignored,
for credentials and per-machine choices) merged over it. Small YAML, read once per command.

`parsing.bool` and `parsing.list` are DVC's: how `${mapping}` in a cmd becomes arguments.

Both files map sections to settings (`cache: {type: copy}`); the `remote` section maps each
remote's name to its own settings (`remote: {storage: {url: s3://bucket/path}}`).

The committed file comes with a clone, so nothing it can set makes a command that runs no stages
execute anything or write outside the project: `cache.type` only chooses how outs are placed
inside it; `executor.*` is read only by the commands that run stages (repro, exp run); remote
URLs and options are used only by the commands the user points at a remote (push, pull, fetch,
status --remote, gc --cloud), and a credential there is refused (remote.py). Unknown
settings are kept but never acted on.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ProjectError
from ..files import trusted_cache, yamlfile
from ..files.fsutil import atomic_write, read_text

CONFIG_FILE = "config"
LOCAL_FILE = "config.local"
PARSED_FILE = "config.parsed"  # what each file's text parsed to (see load)
REMOTE_SECTION = "remote"
LINK_TYPES = ("copy", "reflink", "hardlink", "symlink")
EXECUTORS = ("local", "dask")
# Known settings: name -> (default, allowed values; None allows any text)
SETTINGS: dict[str, tuple[Any, tuple | None]] = {
    "cache.type": ("copy", LINK_TYPES),
    "core.remote": (None, None),
    "executor.type": ("local", EXECUTORS),
    "executor.scheduler": (None, None),  # a Dask scheduler address, e.g. tcp://host:8786
    "executor.shared_fs": (None, None),  # true or false: whether Dask workers see the repository
    "parsing.bool": ("store_true", ("store_true", "boolean_optional")),  # false -> nothing, or --no-key
    "parsing.list": ("nargs", ("nargs", "append")),  # --key a b, or --key a --key b
}
# Settings whose values are read in any case, as DVC reads them (Append is append).
_ANY_CASE = ("parsing.bool", "parsing.list")


def display(local: bool) -> str:
    return f".pipetool/{LOCAL_FILE if local else CONFIG_FILE}"


def load(state_dir: str, local: bool = False) -> dict[str, Any]:
    """One file's sections as written ({} when it does not exist); errors name the file and line.

    What a text parsed to is kept in PARSED_FILE beside it: a remote command (push, pull) reads
    the config, and the YAML parser's import alone cost a no-op pull a tenth of its time."""
    name = LOCAL_FILE if local else CONFIG_FILE
    text = read_text(os.path.join(state_dir, name))
    if text is None:
        return {}
    kept_path = os.path.join(state_dir, PARSED_FILE)
    kept = trusted_cache.load(kept_path, PARSED_FILE)
    kept = kept if isinstance(kept, dict) else {}
    if name in kept and kept[name][0] == text:
        return kept[name][1]
    data = _parsed(text, local)
    trusted_cache.save(kept_path, PARSED_FILE, {**kept, name: (text, data)})
    return data


def _parsed(text: str, local: bool) -> dict[str, Any]:
    data = yamlfile.parse(text, display(local)) or {}
    if not isinstance(data, dict):
        raise ProjectError("must be a mapping of sections to settings", file=display(local))
    for section, entries in data.items():
        if entries is not None and not isinstance(entries, dict):
            raise ProjectError(
                f"section '{section}' must be a mapping of settings", file=display(local), line=data.line_of(section)
            )
    return _plain(data)


def save(state_dir: str, data: dict[str, Any], local: bool = False) -> None:
    """Write one file whole (temp file + rename), dropping empty sections."""
    path = os.path.join(state_dir, LOCAL_FILE if local else CONFIG_FILE)
    data = _pruned(data)
    atomic_write(path, yamlfile.dump(data) if data else "")


def sections(state_dir: str) -> dict[str, Any]:
    """The committed config with config.local merged over it, key by key."""
    return _merged(load(state_dir), load(state_dir, local=True))


def read(state_dir: str) -> dict[str, Any]:
    """All flat settings (`section.key`), defaults filled in; a bad value is an error."""
    values = {name: default for name, (default, _) in SETTINGS.items()}
    for section, entries in sections(state_dir).items():
        if section == REMOTE_SECTION:
            continue  # named remotes: see remote.py
        for key, value in (entries or {}).items():
            values[f"{section}.{key}"] = value
    for name in _ANY_CASE:
        if isinstance(values[name], str):
            values[name] = values[name].lower()
    for name, (_, allowed) in SETTINGS.items():
        if allowed is None:
            values[name] = None if values[name] is None else str(values[name])
        elif values[name] not in allowed:
            raise ProjectError(
                f"'{name}' is {values[name]!r}", file=".pipetool/config", hint="one of: " + ", ".join(allowed)
            )
    return values


def parsing(state_dir: str) -> dict[str, str]:
    """The `parsing` settings as spec.load takes them: {'bool': ..., 'list': ...}."""
    values = read(state_dir)
    return {name.split(".", 1)[1]: values[name] for name in _ANY_CASE}


def files(state_dir: str) -> tuple[str, str]:
    """The paths of the committed config and of config.local."""
    return os.path.join(state_dir, CONFIG_FILE), os.path.join(state_dir, LOCAL_FILE)


def write(state_dir: str, name: str, value: str | None, local: bool = False) -> None:
    """Set (or with None, unset) one setting, keeping the others."""
    if name not in SETTINGS:
        raise ProjectError(f"unknown setting '{name}'", hint="known: " + ", ".join(SETTINGS))
    allowed = SETTINGS[name][1]
    if value is not None and name in _ANY_CASE:
        value = value.lower()
    if value is not None and allowed is not None and value not in allowed:
        raise ProjectError(f"'{name}' cannot be {value!r}", hint="one of: " + ", ".join(allowed))
    data = load(state_dir, local)
    section, key = name.split(".", 1)
    entries = dict(data.get(section) or {})
    if value is None:
        entries.pop(key, None)
    else:
        entries[key] = value
    save(state_dir, {**data, section: entries}, local)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _merged(base: dict, over: dict) -> dict:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def _pruned(data: dict) -> dict:
    """Without empty mappings (an emptied remote, an emptied section)."""
    result = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _pruned(value)
            if not value:
                continue
        result[key] = value
    return result
