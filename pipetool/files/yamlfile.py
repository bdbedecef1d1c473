"""Strict, bounded reading of YAML, JSON and TOML, with line numbers for errors that point at the file.

Every parse of a params, vars, metrics or lock file (or a remote's JSON entry) comes through here,
so the bounds on input pipetool does not control are kept in one place: the size of the text, the
depth of nesting, and how much YAML aliases may repeat. A document over a bound is refused with a
one-line error before the structure it describes is built.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..errors import SpecError

# The bounds. Each is far above what a real project needs and low enough that refusing costs
# next to nothing (libyaml itself stops at 1000 levels).
MAX_DEPTH = 100  # levels of mappings and lists
MAX_ALIAS_VALUES = 100_000  # values that aliases may add by repeating anchored ones ("billion laughs")
MAX_DATA_BYTES = 64 * 2**20  # pipeline.yaml, params, vars and metrics files, a remote's JSON entry
MAX_DOCUMENT_BYTES = 256 * 2**20  # any YAML document: the lock of a very big pipeline
_FLATTER = f"pipetool reads at most {MAX_DEPTH} levels; flatten the data"
_FEWER_ALIASES = "write the values out, or repeat fewer of them through aliases"

# PyYAML costs ~20 ms to import; a no-op status served from the compiled pipeline never needs it.


class Mapping(dict):
    """A dict that knows the line of each key (1-based) and of itself."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


_MERGE = "tag:yaml.org,2002:merge"
# What an anchor starts with (libyaml, like PyYAML, takes only these characters in its name); a
# text without one has no aliases. Commands' '&&' is not one.
_ANCHOR = r"&[0-9A-Za-z_-]"  # compiled when YAML is parsed (a command served from kept copies parses none)


class _DuplicateKey(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


# Plain scalars as YAML 1.2 reads them, in the flavour DVC's reader (ruamel.yaml, safe) gives: the
# values of params, vars, pipeline and metrics files are DVC's. Unlike YAML 1.1 (PyYAML's own
# rules): only true/false are booleans (yes, no, on, off are text); 010 is ten, octal is 0o10;
# 3e4 is a float; 1:30 is text. As in DVC's reader, '_' may separate digits (1_000 is 1000) and
# 0b101 is binary; hex and octal prefixes are lower case (0X1F is text). Forms with no digit at
# all (0x_, ._) are text here; DVC's reader fails on them.
_BOOL_12 = "tag:yaml.org,2002:bool"
_INT_12 = "tag:yaml.org,2002:int"
_FLOAT_12 = "tag:yaml.org,2002:float"


@functools.cache
def _yaml_12() -> dict:
    """The resolvers' expressions, compiled when a loader is first made (with PyYAML's import)."""
    return {
        _BOOL_12: (re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
        _FLOAT_12: (
            re.compile(
                r"""^(?:
            [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?      # 1.5  1.  1.5e3
            |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+                   # 3e4
            |[-+]?\.[0-9_]*[0-9][0-9_]*(?:[eE][-+][0-9]+)?      # .5  .5e+3
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN)
            )$""",
                re.X,
            ),
            "-+0123456789.",
        ),
        _INT_12: (
            re.compile(
                r"""^(?:
            [-+]?0b[01_]*[01][01_]*
            |[-+]?0o[0-7_]*[0-7][0-7_]*
            |[-+]?0x[0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*
            |[-+]?[0-9_]*[0-9][0-9_]*                           # 010 is ten
            )$""",
                re.X,
            ),
            "-+0123456789",
        ),
    }


_INT_BASES = {"0b": 2, "0o": 8, "0x": 16}


def _yaml12_int(loader: Any, node: Any) -> int:
    """An int as YAML 1.2 reads it: a leading 0 is no octal prefix (0o is)."""
    text = loader.construct_scalar(node).replace("_", "")
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    base = _INT_BASES.get(digits[:2], 10)
    return sign * int(digits[2:] if base != 10 else digits, base)


def _yaml12_float(loader: Any, node: Any) -> float:
    """A float as YAML 1.2 reads it (.inf, .nan; '_' between digits)."""
    text = loader.construct_scalar(node).replace("_", "")
    special = text.lstrip("+-").lower()
    if special in (".inf", ".nan"):
        value = float(special[1:])
        return -value if text[0] == "-" else value
    return float(text)


def _resolvers_12(base: dict) -> dict:
    """The implicit resolvers of a YAML 1.1 loader with booleans, floats and ints as 1.2 reads
    them, tried first and in that order (null, merge keys and timestamps read the same in both)."""
    yaml_12 = _yaml_12()
    firsts = set(base) | {first for _, firsts in yaml_12.values() for first in firsts}
    resolvers = {}
    for first in firsts:
        ours = [(tag, regexp) for tag, (regexp, chars) in yaml_12.items() if first in chars]
        rest = [(tag, regexp) for tag, regexp in base.get(first, ()) if tag not in yaml_12]
        if ours or rest:
            resolvers[first] = ours + rest
    return resolvers


@functools.cache
def _loader(yaml12: bool = True) -> type:
    """A safe loader (libyaml's, for speed) that refuses duplicate keys (plain PyYAML keeps the
    last one), remembers lines, and reads plain scalars as YAML 1.2 does, as DVC does (without
    yaml12: YAML 1.1's numbers, with 1.2's booleans, the rules pipetool's own files were written
    for)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        pass

    def construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> Mapping:
        own = [key_node for key_node, _ in node.value if key_node.tag != _MERGE]
        loader.flatten_mapping(node)  # merged pairs first, each overriding the ones before
        merged = len(node.value) - len(own)
        result = Mapping()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        own_keys: set = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise _DuplicateKey(f"unhashable key {key!r}", key_node.start_mark) from None
            if index >= merged:  # a key written here: it may override a merged one, not repeat itself
                if key in own_keys:
                    first = result.key_lines[key]
                    raise _DuplicateKey(
                        f"duplicate key '{key}' (first defined on line {first}; "
                        "YAML would silently keep only the last)",
                        key_node.start_mark,
                    )
                own_keys.add(key)
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    if yaml12:
        StrictLoader.add_constructor(_INT_12, _yaml12_int)
        StrictLoader.add_constructor(_FLOAT_12, _yaml12_float)
        StrictLoader.yaml_implicit_resolvers = _resolvers_12(base.yaml_implicit_resolvers)
    else:
        boolean, (regexp, firsts) = _BOOL_12, _yaml_12()[_BOOL_12]
        StrictLoader.yaml_implicit_resolvers = {
            first: [(tag, pattern) for tag, pattern in pairs if tag != boolean]
            for first, pairs in base.yaml_implicit_resolvers.items()
        }
        StrictLoader.add_implicit_resolver(boolean, regexp, list(firsts))
    return StrictLoader


@functools.cache
def _dumper() -> type:
    """A safe dumper that writes our line-aware mappings as plain mappings, and quotes every
    text that YAML 1.1 or 1.2 would read as something else (3e4, 010, yes): what it writes reads
    back the same in pipetool, DVC and any YAML 1.1 reader."""
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc, valid-type]
        pass

    Dumper.add_representer(Mapping, yaml.representer.SafeRepresenter.represent_dict)
    Dumper.yaml_implicit_resolvers = {  # a text is written plain only when both read it as text
        first: _resolvers_12(base.yaml_implicit_resolvers).get(first, []) + base.yaml_implicit_resolvers.get(first, [])
        for first in set(base.yaml_implicit_resolvers) | set(_resolvers_12(base.yaml_implicit_resolvers))
    }
    return Dumper


def parse(text: str, path: str, max_bytes: int = MAX_DOCUMENT_BYTES, yaml12: bool = True) -> Any:
    """Parse YAML text strictly and within the bounds; every failure becomes a SpecError with
    file:line:col. Values are YAML 1.2's, as DVC reads the same files (see _yaml_12)."""
    import yaml

    check_size(text, path, max_bytes)
    loader = _loader(yaml12)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, text, path)
        return loader.construct_document(node)
    except _DuplicateKey as exc:
        raise SpecError(exc.message, file=path, line=exc.mark.line + 1, column=exc.mark.column + 1) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    except yaml.reader.ReaderError as exc:
        raise SpecError(f"not a YAML text file: unreadable character at position {exc.position}", file=path) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=path) from None
    finally:
        loader.dispose()


def parse_own(text: str, path: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse a file only pipetool writes (pipeline.lock, its config) by the rules its writer has
    always assumed: YAML 1.1's numbers, booleans only true/false. A lock written before pipetool
    read values as YAML 1.2 then reads back exactly as written (there a plain 3e4, or a hash of
    digits and one 'e', is text); dump() quotes whatever 1.1 and 1.2 read differently, so what
    it writes now reads the same either way."""
    return parse(text, path, max_bytes, yaml12=False)


def check_size(text: str | bytes, path: str, max_bytes: int = MAX_DATA_BYTES) -> None:
    """Refuse a text longer than max_bytes before anything parses it."""
    if len(text) <= max_bytes // 4:  # no UTF-8 character takes more than 4 bytes
        return
    size = len(text.encode("utf-8", errors="replace") if isinstance(text, str) else text)
    if size > max_bytes:
        raise SpecError(
            f"too big to read: {size / 2**20:.0f} MiB, over the {max_bytes // 2**20} MiB "
            "pipetool reads from such a file",
            file=path,
            hint="keep big data in files that stages read, not in params, metrics or the lock",
        )


def load(text: str, path: str, max_bytes: int = MAX_DATA_BYTES, other: str = ".yaml") -> Any:
    """A params or vars file's data by its extension: .json, .toml or YAML (`other` for any
    other name); SpecError when it does not parse or exceeds a bound."""
    kind = next((ext for ext in (".json", ".toml", ".yaml", ".yml") if path.endswith(ext)), other)
    if kind == ".json":
        return load_json(text, path, max_bytes)
    if kind == ".toml":
        return _load_toml(text, path, max_bytes)
    return parse(text, path, max_bytes)


def load_data(text: str, path: str) -> Any:
    """A metrics or plots file's data, within the bounds; ValueError, with the line where known,
    when it cannot be read.

    By extension: .json, .toml, else YAML, as DVC reads metrics. A file named otherwise that holds
    JSON (most tools' metrics) is read as JSON first, the faster reader; YAML 1.2 gives the same
    values for it."""
    try:
        if path.endswith((".json", ".toml", ".yaml", ".yml")):
            return load(text, path)
        try:
            return load_json(text, path)
        except SpecError:
            if text.lstrip().startswith(("{", "[")):  # meant as JSON: its error is the one to show
                raise
        return parse(text, path, MAX_DATA_BYTES)
    except SpecError as exc:
        raise ValueError(exc.message if exc.line is None else f"line {exc.line}: {exc.message}") from None


def load_json(text: str | bytes, path: str, max_bytes: int = MAX_DATA_BYTES) -> Any:
    """JSON within the bounds (from a file, or an entry a remote holds); SpecError when not."""
    check_size(text, path, max_bytes)
    try:
        data = json.loads(text)
    except RecursionError:
        raise SpecError(f"nested more than {MAX_DEPTH} levels deep", file=path, hint=_FLATTER) from None
    except ValueError as exc:
        raise SpecError(f"invalid JSON: {exc}", file=path) from None
    _check_depth(data, path)
    return data


def _load_toml(text: str, path: str, max_bytes: int) -> Any:
    import tomllib

    check_size(text, path, max_bytes)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise SpecError(f"nested more than {MAX_DEPTH} levels deep", file=path, hint=_FLATTER) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"invalid TOML: {exc}", file=path) from None
    _check_depth(data, path)
    return data


def _check_depth(data: Any, path: str) -> None:
    """Refuse parsed JSON or TOML nested deeper than MAX_DEPTH (a YAML node tree is checked
    before it is built: see _check_nodes)."""
    level = [data]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return
    raise SpecError(f"nested more than {MAX_DEPTH} levels deep", file=path, hint=_FLATTER)


def _check_nodes(root: Any, text: str, path: str) -> None:
    """Refuse a composed document nested deeper than MAX_DEPTH, or whose aliases would repeat
    more than MAX_ALIAS_VALUES values, before any Python object is built from it.

    Level by level, without recursion. Without an anchor the nodes form a tree, each met once;
    with one, a node may be met by many paths, each counted (an alias inside the value it names
    nests without end, and is refused by depth).
    """
    if not re.search(_ANCHOR, text):
        level = [root]
        for _ in range(MAX_DEPTH):
            level = _next_level(level)
            if not level:
                return
        raise _bound_error(f"nested more than {MAX_DEPTH} levels deep", level[0], path, _FLATTER)
    _check_shared(root, path)


def _check_shared(root: Any, path: str) -> None:
    paths: dict[int, tuple[Any, int]] = {id(root): (root, 1)}  # id -> (node, paths reaching it)
    seen: set[int] = set()
    total = 0
    for _ in range(MAX_DEPTH):
        below: dict[int, tuple[Any, int]] = {}
        for node, count in paths.values():
            total += count
            seen.add(id(node))
            for child in _children(node):
                below[id(child)] = (child, below.get(id(child), (child, 0))[1] + count)
        if total - len(seen) > MAX_ALIAS_VALUES:
            most = max(paths.values(), key=lambda item: item[1])[0]
            raise _bound_error(
                f"aliases would repeat values more than {MAX_ALIAS_VALUES:,} times (an alias bomb?)",
                most,
                path,
                _FEWER_ALIASES,
            )
        if not below:
            return
        paths = below
    raise _bound_error(
        f"nested more than {MAX_DEPTH} levels deep, counting what aliases repeat "
        "(or an alias inside the value it names)",
        next(iter(paths.values()))[0],
        path,
        _FLATTER,
    )


def _next_level(level: list) -> list:
    """The children of every node of a level (the lock is parsed on the hot path: kept tight)."""
    below: list = []
    for node in level:
        value = node.value
        if type(value) is list and value:
            if type(value[0]) is tuple:
                for pair in value:
                    below += pair
            else:
                below += value
    return below


def _children(node: Any) -> list:
    """A sequence's items, or a mapping's keys and values; a scalar has none."""
    value = node.value
    if type(value) is not list:
        return []
    if value and type(value[0]) is tuple:
        return [part for pair in value for part in pair]
    return value


def _bound_error(message: str, node: Any, path: str, hint: str) -> SpecError:
    return SpecError(message, file=path, line=node.start_mark.line + 1, hint=hint)


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

    return yaml.dump(data, Dumper=_dumper(), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
