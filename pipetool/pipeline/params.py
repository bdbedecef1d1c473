"""Params files: reading them once, and looking up dotted keys such as `train.lr` or `layers[0]`."""

from __future__ import annotations

import re
from typing import Any

from ..errors import SpecError
from ..files import yamlfile
from .source import Source, as_source

DEFAULT_PARAMS_FILE = "params.yaml"

_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "absent"})()  # no such key on one side


def scalar_text(value: Any) -> str:
    """A value as YAML writes it, for tables and status: true/false, null, else its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def cmd_text(value: Any) -> str:
    """A value as `${}` writes it into a cmd. DVC writes Python's text of the value, except
    true/false for booleans: null becomes None, 1e-05 stays 1e-05, 3e4 (a float) is 30000.0;
    pipelines moved over from DVC run the same commands."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Missing(KeyError):
    """A dotted key names nothing in the data."""


def split_key(key: str) -> list[str | int]:
    """`a.b[0].c` -> ['a', 'b', 0, 'c']; `a.1.b` -> ['a', '1', 'b'].

    A dotted part stays text: whether it is a list index or a mapping key depends on the data it
    is looked up in (see lookup)."""
    parts: list[str | int] = []
    for name, index in _KEY_PART.findall(key):
        parts.append(int(index) if index else name)
    return parts


_INDEX = re.compile(r"\s*[-+]?[0-9]+\s*")


def _index(part: str | int) -> int | None:
    """A part as a list index: `[1]`, or a dotted part that is a whole number (`.1`, `.-1`,
    `.01` as DVC reads them)."""
    if isinstance(part, int):
        return part
    return int(part) if _INDEX.fullmatch(part) else None


def _child(value: Any, part: str | int) -> Any:
    """The item a key part names inside value, as DVC finds it: in a list, the item at that
    index (negative from the end); in a mapping, the key of that text ('1' for `.1` or `[1]`),
    else a whole-number key (YAML `1:`). Raises LookupError when there is none."""
    if isinstance(value, dict):
        text = str(part)
        if text in value:
            return value[text]
        number = _index(part)
        if number is not None:
            for key in value:  # not `number in value`: True == 1 would find a key `true:`
                if type(key) is int and key == number:
                    return value[key]
        raise KeyError(part)
    if isinstance(value, list):
        number = _index(part)
        if number is not None and -len(value) <= number < len(value):
            return value[number]
    raise LookupError(part)


def lookup(data: Any, key: str) -> Any:
    """The value at a dotted key (`a.b`, `layers[0]`, `layers.0`); raises Missing naming the
    first part not found."""
    value = data
    walked: list[str] = []
    for part in split_key(key):
        try:
            value = _child(value, part)
        except LookupError:
            raise Missing(".".join(walked + [str(part)]), value if isinstance(value, dict) else {}) from None
        walked.append(str(part))
    return value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as {'a.b': leaf}; lists are leaves (diffs show them whole)."""
    if not isinstance(value, dict) or not value:
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def read_file(source: Source, relpath: str) -> Any:
    """Parse a params file by its extension (YAML, JSON or TOML), within yamlfile's bounds."""
    text = source.read_text(relpath)
    if text is None:
        raise SpecError("params file not found", file=relpath)
    data = yamlfile.load(text, relpath)
    return {} if data is None else data


class ParamsFiles:
    """Each params file parsed at most once per command."""

    def __init__(self, source: str | Source, parsed: dict[str, Any] | None = None) -> None:
        self.source = as_source(source)
        self._data: dict[str, Any] = dict(parsed or {})
        self._values: dict[tuple[str, str], Any] = {}  # (relpath, key) -> value, as looked up

    def parsed(self) -> dict[str, Any]:
        """Every file parsed so far: relpath -> data."""
        return dict(self._data)

    def data(self, relpath: str) -> Any:
        if relpath not in self._data:
            self._data[relpath] = read_file(self.source, relpath)
        return self._data[relpath]

    def exists(self, relpath: str) -> bool:
        return relpath in self._data or self.source.exists(relpath)

    def value(self, relpath: str, key: str) -> Any:
        """The value at key; raises Missing when the file does not define it. Each is looked up
        once: a repro asks for every stage's params twice (checked first, then observed)."""
        if (relpath, key) not in self._values:
            self._values[relpath, key] = lookup(self.data(relpath), key)
        return self._values[relpath, key]


def dotted_names(values: Any, prefix: str = "", depth: int = 0) -> list[str]:
    """Every key path of nested mappings, for 'did you mean' suggestions."""
    names: list[str] = []
    if not isinstance(values, dict):
        return names
    for key, value in values.items():
        name = f"{prefix}{key}"
        names.append(name)
        if depth < 4:
            names.extend(dotted_names(value, name + ".", depth + 1))
    return names
