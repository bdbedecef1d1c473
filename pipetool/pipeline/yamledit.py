"""Editing a user's YAML file in place: change values, keep their comments, key order and quoting.

ruamel.yaml's round-trip mode does this; it is imported only here and only when a file is edited.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from ..files.fsutil import atomic_write, read_text
from .params import Missing, split_key


def round_trip(indent: tuple[int, int] = (2, 0)):
    """A ruamel.yaml round-trip reader/writer as every edit of a user's file uses it."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long value the user wrote on one line
    mapping, offset = indent
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, offset of a list's dash below its key), as the file's first blocks use them."""
    mapping = offset = None
    opener: int | None = None  # column of the last `key:` line that opens a block
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        column = len(line) - len(stripped)
        if opener is not None and stripped.startswith("- ") and column >= opener and offset is None:
            offset = column - opener
        elif opener is not None and column > opener and mapping is None:
            mapping = column - opener
        if mapping is not None and offset is not None:
            break
        opener = column if line.split(" #")[0].rstrip().endswith(":") and not stripped.startswith("- ") else None
    return mapping or 2, offset or 0


@dataclass
class Document:
    """A YAML file's round-trip data and the indentation it was written with."""

    data: Any
    indent: tuple[int, int] = (2, 0)  # (mapping indent, offset of a list's dash)

    def set(self, key: str, value: Any, create: bool = False) -> None:
        set_key(self.data, key, value, create)

    def dumps(self) -> str:
        import io

        out = io.StringIO()
        round_trip(self.indent).dump(self.data, out)
        return out.getvalue()

    def write(self, path: str) -> None:
        """Write the file back atomically (temp file + rename), creating its folder when needed."""
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        atomic_write(path, self.dumps(), durable=False)


def loads(text: str, display: str) -> Document:
    """Round-trip data from YAML text; a syntax error names display:line:column."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    indent = guess_indent(text)
    try:
        data = round_trip(indent).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            f"invalid YAML: {problem}",
            file=display,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except YAMLError as exc:
        raise SpecError(f"invalid YAML: {' '.join(str(exc).split())}", file=display) from None
    return Document(CommentedMap() if data is None else data, indent)


def load(path: str, display: str | None = None) -> Document:
    """A YAML file for editing; a missing file is an empty mapping."""
    try:
        text = read_text(path) or ""
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", file=display or path) from None
    return loads(text, display or path)


def set_key(data: Any, key: str, value: Any, create: bool = False) -> None:
    """Set the value at a dotted key (`a.b`, `layers[0]`); Missing when a part does not exist.

    With create, missing mapping keys are added on the way (new keys go at the end).
    """
    from ruamel.yaml.comments import CommentedMap

    parts = split_key(key)
    if not parts:
        raise Missing(key, {})
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        walked = ".".join(str(p) for p in parts[: depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise Missing(walked, {})
        elif not isinstance(node, dict):
            raise Missing(walked, {})
        elif part not in node:
            if not create:
                raise Missing(walked, node)
            node[part] = value if last else CommentedMap()
        if last:
            node[part] = value
        else:
            node = node[part]


def remove_entries(text: str, display: str, key: str, names: list[str]) -> str:
    """The text without the entries `names` of its top-level mapping `key` (a pipeline file's
    stages), each with the comment lines right above it; every other line stays as written.

    Line by line rather than through a YAML dump, so the rest of the file keeps its comments,
    quoting and layout exactly. The result is read back and must be the file's data without those
    entries: SpecError when it is not (an anchor defined in a removed entry and used elsewhere) or
    when the mapping is written in flow style, with the file left to the user.
    """
    from ruamel.yaml.comments import CommentedMap

    from ..files import yamlfile

    data = loads(text, display).data
    parent = data.get(key) if isinstance(data, CommentedMap) else None
    refused = SpecError(
        f"cannot remove {', '.join(repr(n) for n in names)} from '{key}' line by line without changing the rest",
        file=display,
        hint="edit the file by hand: a YAML anchor there may be used elsewhere, or the mapping is in flow style",
    )
    if not isinstance(parent, CommentedMap) or parent.fa.flow_style():
        raise refused
    lines = text.splitlines(keepends=True)
    entries = list(parent)
    top = list(data)
    after = top.index(key) + 1
    end_of_parent = _owned_from(lines, *data.lc.key(top[after])) if after < len(top) else len(lines)
    drop: set[int] = set()
    for name in names:
        line, column = parent.lc.key(name)
        start = _owned_from(lines, line, column)
        following = entries.index(name) + 1
        if following < len(entries):
            end = _owned_from(lines, *parent.lc.key(entries[following]))
        else:  # the last entry: comments after it, no deeper than its key, are not its own
            end = end_of_parent
            while end > line + 1 and (not lines[end - 1].strip() or _comment_within(lines[end - 1], column)):
                end -= 1
        drop.update(range(start, end))
        if start > 0 and not lines[start - 1].strip():  # one blank line where the entry was, not two
            while end < len(lines) and not lines[end].strip():
                drop.add(end)
                end += 1
    kept = [line for number, line in enumerate(lines) if number not in drop]
    body = _without_trailing_blanks(lines)
    kept = _without_trailing_blanks(kept) + lines[len(body) :]  # the file's own blank lines at its end, no more
    if set(names) >= set(entries):  # nothing left: an empty mapping, not a null
        number = data.lc.key(key)[0] - sum(1 for n in drop if n < data.lc.key(key)[0])
        head, _, comment = kept[number].partition(":")
        kept[number] = f"{head}: {{}}" + (f"  {comment.strip()}" if comment.strip() else "") + "\n"
    edited = "".join(kept)
    expected = yamlfile.parse(text, display)
    for name in names:
        del expected[key][name]
    try:
        same = yamlfile.parse(edited, display) == expected
    except SpecError:
        same = False
    if not same:
        raise refused
    return edited


def _owned_from(lines: list[str], line: int, column: int) -> int:
    """The first line of a mapping entry whose key is at (line, column), 0-based: the comment
    lines right above it (no blank line between) that are not indented deeper than the key."""
    start = line
    while start > 0 and _comment_within(lines[start - 1], column):
        start -= 1
    return start


def _without_trailing_blanks(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def _comment_within(line: str, column: int) -> bool:
    """A comment line not indented deeper than column."""
    stripped = line.lstrip(" ")
    return stripped.startswith("#") and len(line) - len(stripped) <= column
