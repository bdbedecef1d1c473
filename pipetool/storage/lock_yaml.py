"""A lock entry's YAML written directly, for the common entry.

PyYAML takes ~0.1 ms per entry, which made rendering the biggest part of writing the lock after a
big repro. An entry whose every scalar PyYAML writes plain (commands, paths and names of a safe
alphabet; hashes; numbers; booleans) is written here as PyYAML would write it, byte for byte;
for any other entry block() returns None and the caller asks PyYAML.
"""

from __future__ import annotations

import re
from typing import Any

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
