"""A lock entry's YAML written directly, for the common entry, and such a lock read directly.

PyYAML takes ~0.1 ms per entry, which made rendering the biggest part of writing the lock after a
big repro. An entry whose every scalar PyYAML writes plain (commands, paths and names of a safe
alphabet; hashes; numbers; booleans) is written here as PyYAML would write it, byte for byte;
for any other entry block() returns None and the caller asks PyYAML.

Reading is the mirror: a lock whose every line is one block() writes (after `version: 1` and
`stages:`) is read line by line into what the YAML parser would make of it, with each key's line;
any other line, and the whole lock goes to the YAML parser. Parsing a 100,000-stage lock with
YAML took about a minute and 1.8 GB.
"""

from __future__ import annotations

import re
from typing import Any

from ..files.yamlfile import Mapping

# Text PyYAML leaves plain: starts with a letter, '_' or '/', single spaces between words, and no
# ':' or '#' (": " starts a mapping, " #" a comment). Quotes, '|', '&', '*' or '!' only mean
# something at the very start.
_WORD = r"[A-Za-z0-9_./=<>+@%|&$*;()!,'\"-]"
_PLAIN = re.compile(rf"[A-Za-z_/]{_WORD}*(?: {_WORD}+)*")
_WORDS = {"yes", "no", "true", "false", "on", "off", "null"}  # YAML 1.1 reads these as non-text
_HASH = re.compile(r"[0-9a-f]{32}(?:\.dir)?")
_LONGEST = 500  # PyYAML folds lines at 1000 columns; stay well below


class _NotPlain(Exception):
    pass


def block(name: str, data: dict) -> str | None:
    """The entry's lines under `stages:` (indented by two), or None when PyYAML must write it."""
    try:
        return "".join(_lines(name, data))
    except _NotPlain:
        return None


def _lines(name: str, data: dict):
    yield f"  {_text(name)}:\n"
    for field, value in data.items():
        if field == "cmd":
            if isinstance(value, str):
                yield f"    cmd: {_text(value)}\n"
            else:
                yield "    cmd:\n"
                yield from (f"    - {_text(cmd)}\n" for cmd in value)
        elif field in ("deps", "outs"):
            yield f"    {field}:\n"
            for record in value:
                lead = "    - "
                for key, item in record.items():
                    yield f"{lead}{key}: {_scalar(item)}\n"
                    lead = "      "
        elif field == "params":
            yield "    params:\n"
            for file, values in value.items():
                if not values:
                    raise _NotPlain  # PyYAML writes {}
                yield f"      {_text(file)}:\n"
                yield from (f"        {_text(key)}: {_scalar(item)}\n" for key, item in values.items())
        elif field == "duration":
            yield f"    duration: {_scalar(value)}\n"
        else:
            raise _NotPlain


def _text(value: Any) -> str:
    if type(value) is str and len(value) <= _LONGEST:
        if _PLAIN.fullmatch(value) and value.lower() not in _WORDS:
            return value
        if _HASH.fullmatch(value) and not value[:32].isdigit():
            return value
    raise _NotPlain


def _scalar(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        text = repr(value)
        if "." in text and "e" not in text and "n" not in text:  # not 1e-05, inf or nan
            return text
        raise _NotPlain
    return _text(value)


# What a scalar block() writes reads back as (YAML 1.2, as the lock is parsed): these forms only.
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")
_FIELD = re.compile(r"[a-z][a-z0-9_]*")  # a record's keys: path, xxh3, size, nfiles, md5, etag...
_DIGITS_AND_E = re.compile(r"[0-9]*e[0-9]*")  # a hash YAML 1.2 could read as a number (3e4)


def read(text: str) -> Mapping | None:
    """The lock's data as the YAML parser gives it (mappings that know their keys' lines), when
    every line is one that block() writes; None for any other text (then parse it as YAML)."""
    try:
        return _Reader(text).read()
    except _NotPlain:
        return None


class _Reader:
    def __init__(self, text: str) -> None:
        if not text.endswith("\n"):
            raise _NotPlain
        self.lines = text.split("\n")[:-1]
        self.at = 0  # the index of the next line; its number is at + 1

    def read(self) -> Mapping:
        lines = self.lines
        if lines[:2] != ["version: 1", "stages:"] or len(lines) < 3:
            raise _NotPlain
        top = _mapping(1)
        _put(top, "version", 1, 1)
        stages = _mapping(3)  # as the parser: a mapping's line is its first key's
        _put(top, "stages", stages, 2)
        self.at = 2
        while self.at < len(lines):
            line = lines[self.at]
            if not (_indented(line, 2) and line.endswith(":")):
                raise _NotPlain
            number = self.at + 1
            self.at += 1
            _put(stages, _text_of(line[2:-1]), self._entry(number), number)
        return top

    def _entry(self, number: int) -> Mapping:
        body = _mapping(number + 1)
        lines = self.lines
        while self.at < len(lines) and _indented(lines[self.at], 4):
            line = lines[self.at][4:]
            number = self.at + 1
            self.at += 1
            if line.startswith("cmd: "):
                value = _text_of(line[5:])
            elif line.startswith("duration: "):
                value = _scalar_of(line[10:])
                if type(value) not in (int, float):
                    raise _NotPlain
            elif line == "cmd:":
                value = [_text_of(item) for item in self._items("    - ")]
            elif line in ("deps:", "outs:"):
                value = self._records()
                line = line[:-1]
            elif line == "params:":
                value = self._params(number)
            else:
                raise _NotPlain
            _put(body, line.split(":", 1)[0], value, number)
        if not body:
            raise _NotPlain
        return body

    def _items(self, lead: str) -> list[str]:
        items = []
        while self.at < len(self.lines) and self.lines[self.at].startswith(lead):
            items.append(self.lines[self.at][len(lead) :])
            self.at += 1
        if not items:
            raise _NotPlain
        return items

    def _records(self) -> list[Mapping]:
        records = []
        lines = self.lines
        while self.at < len(lines) and lines[self.at].startswith("    - "):
            record = _mapping(self.at + 1)
            lead = "    - "
            while self.at < len(lines) and lines[self.at].startswith(lead):
                key, colon, value = lines[self.at][6:].partition(": ")
                if not colon or not _FIELD.fullmatch(key):
                    raise _NotPlain
                _put(record, key, _scalar_of(value), self.at + 1)
                self.at += 1
                lead = "      "
            records.append(record)
        if not records:
            raise _NotPlain
        return records

    def _params(self, number: int) -> Mapping:
        params = _mapping(number + 1)
        lines = self.lines
        while self.at < len(lines) and _indented(lines[self.at], 6):
            line = lines[self.at]
            if not line.endswith(":"):
                raise _NotPlain
            file_number = self.at + 1
            self.at += 1
            values = _mapping(file_number + 1)
            for offset, item in enumerate(self._items("        ")):
                key, colon, value = item.partition(": ")
                if not colon:
                    raise _NotPlain
                _put(values, _text_of(key), _scalar_of(value), file_number + 1 + offset)
            _put(params, _text_of(line[6:-1]), values, file_number)
        if not params:
            raise _NotPlain
        return params


def _indented(line: str, spaces: int) -> bool:
    """Whether the line starts with exactly this many spaces, then something else."""
    return line[:spaces] == " " * spaces and line[spaces : spaces + 1] not in ("", " ")


def _mapping(line: int) -> Mapping:
    mapping = Mapping()
    mapping.line = line
    mapping.key_lines = {}
    return mapping


def _put(mapping: Mapping, key: Any, value: Any, line: int) -> None:
    if key in mapping:  # the YAML parser refuses a key twice: let it say so
        raise _NotPlain
    mapping[key] = value
    mapping.key_lines[key] = line


def _text_of(text: str) -> str:
    """A scalar that must read as text; what _text() writes plain."""
    value = _scalar_of(text)
    if type(value) is not str:
        raise _NotPlain
    return value


def _scalar_of(text: str) -> Any:
    """The value of a plain scalar as _scalar() writes it; _NotPlain for any other text."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "null":
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if len(text) <= _LONGEST:
        if _PLAIN.fullmatch(text) and text.lower() not in _WORDS:
            return text
        if _HASH.fullmatch(text) and not text[:32].isdigit() and not _DIGITS_AND_E.fullmatch(text[:32]):
            return text
    raise _NotPlain
