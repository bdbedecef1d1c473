"""`-S [+][FILE:]KEY=VALUE[,VALUE...]`: params overrides, read as YAML, expanded into a grid, and
written into the params files with their comments and key order kept."""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from typing import Any

from ..errors import ExperimentError, SpecError, did_you_mean
from ..files.fsutil import atomic_write
from ..pipeline import yamledit
from ..pipeline.params import DEFAULT_PARAMS_FILE, Missing, dotted_names, split_key

_EDITABLE = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Override:
    file: str  # params file, relative to the project root
    key: str  # dotted, e.g. train.lr or layers[0]
    text: str  # the value as the user wrote it: passed on verbatim, so it parses the same everywhere
    value: Any
    add: bool = False  # written `+KEY=...`: the key may be new

    def __str__(self) -> str:
        where = "" if self.file == DEFAULT_PARAMS_FILE else f"{self.file}:"
        return f"{'+' if self.add else ''}{where}{self.key}={self.text}"


def parse(sets: list[str]) -> list[tuple[Override, ...]]:
    """Every combination of the -S values (one -S with commas is one axis of the grid)."""
    axes: list[list[Override]] = []
    seen: dict[tuple[str, str], str] = {}
    for text in sets:
        axis = _parse_one(text)
        place = (axis[0].file, axis[0].key)
        if place in seen:
            raise ExperimentError(
                f"-S {text}: '{axis[0].key}' is already set by -S {seen[place]}",
                hint="give each key once; list its values with commas: -S key=1,2,3",
            )
        seen[place] = text
        axes.append(axis)
    return [tuple(point) for point in itertools.product(*axes)] if axes else [()]


def _parse_one(text: str) -> list[Override]:
    target, equals, values = text.partition("=")
    if not equals or not target.strip("+ "):
        raise ExperimentError(
            f"-S {text}: expected KEY=VALUE",
            hint="e.g. -S train.lr=0.01, -S train.lr=0.001,0.01 for a grid, "
            "-S other.yaml:key=1 for another params file",
        )
    add = target.startswith("+")
    target = target[1:] if add else target
    file, colon, key = target.rpartition(":")
    file = os.path.normpath(file).replace(os.sep, "/") if colon else DEFAULT_PARAMS_FILE
    if not key or not split_key(key) or file.startswith("../") or os.path.isabs(file):
        raise ExperimentError(
            f"-S {text}: '{target}' is not a params key",
            hint="a dotted key such as train.lr, optionally FILE:key inside the project",
        )
    if not file.endswith(_EDITABLE):
        raise ExperimentError(
            f"-S {text}: '{file}' cannot be edited", hint="-S writes YAML (.yaml, .yml) and JSON params files"
        )
    return [Override(file, key, part, _value(text, part), add) for part in split_values(text, values)]


def rebuild(file: str, key: str, text: str, add: bool = False) -> Override:
    """One override from its parts (as a worker's payload holds them), checked as -S checks it."""
    written = str(Override(file, key, text, None, add))
    found = _parse_one(written)
    if len(found) != 1 or (found[0].file, found[0].key) != (file, key):
        raise ExperimentError(f"'{written}' is not one params override")
    return found[0]


def check(root: str, points: list[tuple[Override, ...]]) -> None:
    """Every override of every point is valid for the project's params files; nothing is written."""
    for point in points:
        apply(root, point, write=False)


def split_values(text: str, values: str) -> list[str]:
    """Split on commas outside brackets and quotes: `1,[2, 3],'a,b'` is three values."""
    parts, depth, quote, current = [], 0, "", ""
    for char in values:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    if len(parts) > 1 and any(not p.strip() for p in parts):
        raise ExperimentError(
            f"-S {text}: an empty value in the list",
            hint="separate values with single commas; quote a value that holds one",
        )
    return [p.strip() for p in parts]


def _value(text: str, part: str) -> Any:
    from ..files import yamlfile

    try:
        return yamlfile.parse(part, "-S")
    except SpecError as exc:
        raise ExperimentError(
            f"-S {text}: the value {part!r} is not valid YAML: {exc.message}",
            hint="quote text that YAML would read otherwise, e.g. -S key='a: b'",
        ) from None


def apply(root: str, overrides: tuple[Override, ...], write: bool = True) -> None:
    """Set each override in its params file (all checked before any is written)."""
    documents: dict[str, Any] = {}
    for override in overrides:
        if override.file not in documents:
            documents[override.file] = _load(root, override.file)
        _set(documents[override.file], override)
    for file, document in documents.items() if write else ():
        path = os.path.join(root, file)
        if isinstance(document, yamledit.Document):
            document.write(path)
        else:
            atomic_write(path, json.dumps(document, indent=2) + "\n", durable=False)


def _load(root: str, file: str) -> Any:
    path = os.path.join(root, file)
    if file.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise SpecError(f"invalid JSON: {exc}", file=file) from None
    return yamledit.load(path, file)


def _set(document: Any, override: Override) -> None:
    data = document.data if isinstance(document, yamledit.Document) else document
    try:
        yamledit.set_key(data, override.key, override.value, create=override.add)
    except Missing as missing:
        hint = did_you_mean(override.key, dotted_names(data)) if isinstance(data, dict) else None
        raise ExperimentError(
            f"-S {override}: {override.file} has no '{missing.args[0]}'",
            hint=(hint + " " if hint else "") + f"to add a new key, write -S +{override.key}=...",
        ) from None


def overlaps(param_key: str, override_key: str) -> bool:
    """Whether a stage's param key and an override touch the same value (one contains the other)."""
    a, b = split_key(param_key), split_key(override_key)
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]
