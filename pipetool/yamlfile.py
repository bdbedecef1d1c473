"""Strict YAML reading that remembers line numbers, for errors that point at the file."""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import SpecError

# PyYAML costs ~20 ms to import; a no-op status served from the compiled pipeline never needs it.


class Mapping(dict):
    """A dict that knows the line of each key (1-based) and of itself."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class _DuplicateKey(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


@functools.cache
def _loader() -> type:
    """A safe loader that refuses duplicate keys (plain PyYAML keeps the last one), remembers
    lines, and reads booleans as YAML 1.2 does (as DVC does): only true/false."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        pass

    def construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> Mapping:
        loader.flatten_mapping(node)
        result = Mapping()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _DuplicateKey(f"unhashable key {key!r}", key_node.start_mark) from None
            if key in result:
                first = result.key_lines[key]
                raise _DuplicateKey(
                    f"duplicate key '{key}' (first defined on line {first}; "
                    "YAML would silently keep only the last)",
                    key_node.start_mark,
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    boolean = "tag:yaml.org,2002:bool"
    StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != boolean]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    StrictLoader.add_implicit_resolver(
        boolean, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return StrictLoader


@functools.cache
def _dumper() -> type:
    """A safe dumper that writes our line-aware mappings as plain mappings."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    Dumper.add_representer(Mapping, yaml.representer.SafeRepresenter.represent_dict)
    return Dumper


def parse(text: str, path: str) -> Any:
    """Parse YAML text strictly; every failure becomes a SpecError with file:line:col."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except _DuplicateKey as exc:
        raise SpecError(
            exc.message, file=path, line=exc.mark.line + 1, column=exc.mark.column + 1
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    except yaml.reader.ReaderError as exc:
        raise SpecError(f"not a YAML text file: unreadable character at position {exc.position}",
                        file=path) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=path) from None


def _syntax_error(exc: Any, text: str, path: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context_mark is not None and (mark is None or mark.line >= len(text.splitlines())):
        # The parser ran off the end of the file: point at what was left open instead.
        mark = exc.context_mark
        if exc.context:
            opened = re.sub(r"^while (scanning|parsing) ", "", exc.context)
            problem = f"{opened} starts here and is never closed"
    hint = None
    if mark is not None and "\t" in _line(text, mark.line):
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    return SpecError(f"invalid YAML: {problem}", file=path, line=line, column=column, hint=hint)


def _line(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def dump(data: Any) -> str:
    """Deterministic block-style YAML, keys in the order given."""
    import yaml

    return yaml.dump(
        data, Dumper=_dumper(), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000
    )
