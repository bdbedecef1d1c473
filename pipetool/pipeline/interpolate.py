"""`${...}` interpolation, `vars`, and the expansion of `foreach` and `matrix` stages."""

from __future__ import annotations

import itertools
import math
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import SpecError, did_you_mean
from .params import Missing, cmd_text, dotted_names, lookup

_REF = re.compile(r"(\\)?\$\{\s*([^}]*?)\s*\}")
# Stages one pipeline may define, foreach and matrix ones included: a matrix of a few long axes
# multiplies fast, and `status` must stay safe on a stranger's repository.
MAX_STAGES = 100_000
# DVC's `parsing` settings: how a mapping in a cmd becomes arguments (see cmd_arguments).
DEFAULT_PARSING = {"bool": "store_true", "list": "nargs"}


class Lookups(dict):
    """What one top-level entry of `stages:` looked up through `${}` (expr -> value), which of
    those were params.yaml's, and whether the entry has vars of its own (then it is never
    reused: its vars files are not among these)."""

    def __init__(self) -> None:
        super().__init__()
        self.tracked: set[str] = set()
        self.own_vars = False


@dataclass
class Context:
    """Values visible to `${}`: params.yaml, then the top-level vars, then a stage's own vars and
    foreach's or matrix's item and key."""

    values: dict
    params: dict = field(default_factory=dict)  # params.yaml's data: a key found in it is a param
    parsing: dict = field(default_factory=lambda: dict(DEFAULT_PARSING))
    used_params: set = field(default_factory=set)
    # What one top-level entry looked up, foreach's item/key aside, shared with its generated
    # stages: built from the same values again, the entry would come out the same.
    looked_up: Lookups = field(default_factory=Lookups)
    local: frozenset = frozenset()  # the keys foreach or matrix added
    reserved: frozenset = frozenset()  # keys a stage's vars may not define (item, key)
    layers: tuple = ()  # (source, data) merged so far, in order: names both sides of a clash
    imports: dict = field(default_factory=dict)  # vars file -> None (whole) or the keys taken

    @property
    def params_keys(self) -> frozenset:
        return frozenset(self.params)

    def entry(self) -> Context:
        """A context for one top-level entry of `stages:`, with its own record of lookups."""
        return replace(self, used_params=set(), looked_up=Lookups())

    def child(self, extra: dict) -> Context:
        """A context for one generated stage: its own record of used params, plus foreach's or
        matrix's item/key, which the stage's vars may not redefine (as in DVC)."""
        return replace(
            self,
            values={**self.values, **extra},
            used_params=set(),
            local=self.local | set(extra),
            reserved=self.reserved | set(extra),
        )

    def fallback(self, extra: dict) -> Context:
        """These values where nothing else defines them (pipetool's `${key}` of a foreach list)."""
        missing = {key: value for key, value in extra.items() if key not in self.values}
        if not missing:
            return self
        return replace(self, values={**self.values, **missing}, local=self.local | set(missing))

    def get(self, expr: str) -> Any:
        try:
            value = lookup(self.values, expr)
        except Missing:
            hint = did_you_mean(expr, dotted_names(self.values))
            raise _Undefined(expr, hint) from None
        root = expr.split(".", 1)[0].split("[", 1)[0]
        if root not in self.local:
            if _found(self.params, expr):
                self.used_params.add(expr)
                self.looked_up.tracked.add(expr)
            self.looked_up[expr] = value
        return value

    def unchanged(self, looked_up: Lookups) -> bool:
        """Whether every one of these lookups gives the same value (of the same type) here, from
        params.yaml or not as before."""
        if looked_up.own_vars:
            return False
        for expr, value in looked_up.items():
            try:
                if not _same(lookup(self.values, expr), value) or _found(self.params, expr) != (
                    expr in looked_up.tracked
                ):
                    return False
            except Missing:
                return False
        return True

    def with_vars(self, items: list, wdir: str, read: Callable[[str], Any], label: str, where: dict) -> Context:
        """A copy with these `vars` merged in, as DVC merges them: a file path relative to wdir
        (`file.yaml`, or `file.yaml:key1,key2` for some of its top-level keys) or a mapping;
        nested mappings merge key by key, a key defined twice is an error. read(path) gives a
        file's mapping; label names the inline entries in errors (`vars` or `<stage>.vars`)."""
        check_no_interpolation(items, where)
        values, layers, imports = self.values, list(self.layers), dict(self.imports)
        for index, item in enumerate(items):
            if isinstance(item, dict):
                data, source = item, f"{label}[{index}]"
            elif isinstance(item, str):
                source, data = self._vars_file(item, wdir, read, imports, where)
                if data is None:
                    continue  # the same whole file again
            else:
                raise SpecError("each 'vars' entry must be a mapping or a params file name", **where)
            for key in sorted(self.reserved & set(data), key=str):
                raise SpecError(
                    f"attempted to modify reserved key '{key}' in '{source}': foreach and "
                    "matrix set it for each stage they generate",
                    **where,
                )
            try:
                values = _merged(values, data, ())
            except _Clash as clash:
                path = ".".join(str(part) for part in clash.path)
                raise SpecError(
                    f"var '{path}' is defined twice: cannot redefine '{path}' from '{source}' "
                    f"as it already exists in '{_source_of(layers, clash.path)}'",
                    **where,
                ) from None
            layers.append((source, data))
        return replace(self, values=values, layers=tuple(layers), imports=imports)

    def _vars_file(
        self, item: str, wdir: str, read: Callable[[str], Any], imports: dict, where: dict
    ) -> tuple[str, dict | None]:
        """(path, the mapping to merge) of a vars file item; None when loaded whole already."""
        name, _, keys_text = item.partition(":")
        path = posixpath.normpath(posixpath.join(wdir, name))
        keys = [key for key in keys_text.split(",") if key] or None
        if path in imports:
            loaded = imports[path]
            if keys is None and loaded is None:
                return path, None
            if keys is None or (loaded is not None and set(keys) & set(loaded)):
                raise SpecError(f"cannot load '{item}' as it's partially loaded already", **where)
            if loaded is None:
                raise SpecError(f"cannot partially load '{item}' as it's already loaded", **where)
        data = read(path)
        if keys is not None:
            for key in keys:
                if key not in data:
                    raise SpecError(
                        f"could not find '{key}' in vars file '{path}'",
                        **where,
                        hint=did_you_mean(key, [str(k) for k in data]),
                    )
            data = {key: data[key] for key in keys}
        imports[path] = None if keys is None else [*(imports.get(path) or []), *keys]
        return path, data


def root_context(params: dict | None, parsing: dict | None = None) -> Context:
    """The context of params.yaml's values (None: there is no params.yaml), before any vars."""
    layers = (("params.yaml", params),) if params is not None else ()
    imports = {"params.yaml": None} if params is not None else {}
    return Context(
        dict(params or {}), params or {}, {**DEFAULT_PARSING, **(parsing or {})}, layers=layers, imports=imports
    )


def _found(data: dict, expr: str) -> bool:
    if not data:
        return False
    try:
        lookup(data, expr)
    except Missing:
        return False
    return True


class _Clash(Exception):
    def __init__(self, path: tuple) -> None:
        super().__init__(path)
        self.path = path


def _merged(into: dict, update: dict, path: tuple) -> dict:
    """into with update merged in, as DVC merges vars: mappings key by key; any other value
    already there is a clash. Mappings on the way are copied, never changed."""
    result = dict(into)
    for key, value in update.items():
        if key not in result:
            result[key] = value
        elif isinstance(result[key], dict) and isinstance(value, dict):
            result[key] = _merged(result[key], value, (*path, key))
        else:
            raise _Clash((*path, key))
    return result


def _source_of(layers: list, path: tuple) -> str:
    """The first source that defined this key path."""
    for source, data in layers:
        value = data
        for part in path:
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            return source
    return "an earlier vars entry"


def check_no_interpolation(value: Any, where: dict) -> None:
    """`${}` anywhere in vars (a key, a value, a file name) is an error, as in DVC: vars are read
    before anything is interpolated."""
    if isinstance(value, str):
        for match in _REF.finditer(value):
            if not match.group(1):
                raise SpecError(
                    f"'{match.group(0)}' inside 'vars': interpolating is not allowed there",
                    **where,
                    hint="vars are read before ${} is resolved; write the value itself",
                )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_no_interpolation(key, where)
            check_no_interpolation(item, where)
    elif isinstance(value, list):
        for item in value:
            check_no_interpolation(item, where)


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down: 1, 1.0 and true read the same to ==, not
    to `${}`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))
    return a == b


class _Undefined(Exception):
    def __init__(self, expr: str, hint: str | None) -> None:
        super().__init__(expr)
        self.expr = expr
        self.hint = hint


def _to_text(value: Any, expr: str) -> str:
    if isinstance(value, dict):
        raise TypeError(
            f"'${{{expr}}}' is a mapping; only single values fit inside text "
            "(in 'cmd', a mapping becomes --key value arguments)"
        )
    if isinstance(value, list):
        raise TypeError(f"'${{{expr}}}' is a list; only single values fit inside text")
    return cmd_text(value)


def cmd_arguments(value: dict, parsing: dict) -> str:
    """A mapping as command-line arguments, as DVC writes `${dict}` into a cmd: nested keys
    dotted; true -> --key, false -> nothing (--no-key with parsing.bool boolean_optional); text
    shell-quoted; a list -> --key a b (--key a --key b with parsing.list append); else --key value."""
    import shlex

    words: list[str] = []
    for key, item in _flat(value, ""):
        if isinstance(item, bool):
            if item or parsing["bool"] == "boolean_optional":
                words.append(f"--{key}" if item else f"--no-{key}")
        elif isinstance(item, str):
            words += [f"--{key}", shlex.quote(item)]
        elif isinstance(item, list):
            for index, element in enumerate(item):
                if isinstance(element, (list, dict)):
                    raise TypeError(
                        f"cannot interpolate nested iterable in '{key}': the items of a "
                        "list in a cmd must be single values"
                    )
                text = shlex.quote(element) if isinstance(element, str) else str(element)
                words += [f"--{key}", text] if index == 0 or parsing["list"] == "append" else [text]
        else:
            words += [f"--{key}", str(item)]
    return " ".join(words)


def _flat(value: dict, prefix: str) -> Iterator[tuple[str, Any]]:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            yield from _flat(item, name + ".")
        else:
            yield name, item


def resolve(value: Any, context: Context, where: dict, field: str | None = None) -> Any:
    """Interpolate every string inside value; `where` gives file/line/stage for errors; in the
    field `cmd`, a mapping inside text becomes arguments (see cmd_arguments).

    A string that is exactly one `${x}` keeps x's type (so `foreach: ${models}` gets a list).
    """
    try:
        return _resolve(value, context, field == "cmd")
    except _Undefined as exc:
        raise SpecError(f"'${{{exc.expr}}}' is not defined in vars or params", hint=exc.hint, **where) from None
    except TypeError as exc:
        raise SpecError(str(exc), **where) from None


def _resolve(value: Any, context: Context, in_cmd: bool) -> Any:
    if isinstance(value, str):
        return _resolve_text(value, context, in_cmd)
    if isinstance(value, list):
        return [_resolve(item, context, in_cmd) for item in value]
    if isinstance(value, dict):
        resolved = type(value)()
        for key, item in value.items():
            resolved[_resolve(key, context, in_cmd) if isinstance(key, str) else key] = _resolve(item, context, in_cmd)
        if hasattr(value, "key_lines"):
            resolved.line, resolved.key_lines = value.line, value.key_lines
        return resolved
    return value


def _resolve_text(text: str, context: Context, in_cmd: bool) -> Any:
    if "${" not in text:
        return text
    whole = _REF.fullmatch(text)
    if whole and not whole.group(1):
        return context.get(whole.group(2))

    def substitute(match: re.Match) -> str:
        if match.group(1):
            return match.group(0)
        value = context.get(match.group(2))
        if in_cmd and isinstance(value, dict):
            return cmd_arguments(value, context.parsing)
        return _to_text(value, match.group(2))

    # As in DVC, `\${` becomes `${` once everything is in: in the text and in the values put in.
    return _REF.sub(substitute, text).replace("\\${", "${")


def expand_foreach(name: str, items: Any, where: dict) -> Iterator[tuple[str, dict, dict]]:
    """(generated name, item/key, values set only where undefined) for each item of a foreach
    list or dict. As in DVC, a list gives `item` and a dict `item` and `key`; pipetool adds a
    list's index as `key` where nothing else defines it."""
    if isinstance(items, (dict, list)) and len(items) > MAX_STAGES:
        raise _too_many(len(items), where)
    if isinstance(items, dict):
        for key, item in items.items():
            yield f"{name}@{_to_text(key, 'key')}", {"key": key, "item": item}, {}
    elif isinstance(items, list):
        if not items:
            raise SpecError("'foreach' is empty; it generates no stage", **where)
        composite = any(isinstance(item, (dict, list)) for item in items)
        for index, item in enumerate(items):
            key = index if composite else _to_text(item, "item")
            yield f"{name}@{key}", {"item": item}, {"key": index}
    else:
        raise SpecError(f"'foreach' needs a list or a dict, not {type(items).__name__} {items!r}", **where)


def expand_matrix(name: str, matrix: Any, where: dict) -> Iterator[tuple[str, dict, dict]]:
    """The cross product of matrix axes: `grid@lr-1`, with `${item.model}` and friends."""
    if not isinstance(matrix, dict) or not matrix:
        raise SpecError("'matrix' needs a mapping of names to lists", **where)
    axes = []
    for axis, values in matrix.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"matrix axis '{axis}' needs a non-empty list", **where)
        axes.append([(_key_part(axis, i, v), v) for i, v in enumerate(values)])
    count = math.prod(len(values) for values in axes)
    if count > MAX_STAGES:
        raise _too_many(count, where)
    for combination in itertools.product(*axes):
        item = {axis: value for axis, (_, value) in zip(matrix, combination, strict=False)}
        key = "-".join(part for part, _ in combination)
        yield f"{name}@{key}", {"item": item, "key": key}, {}


def _too_many(count: int, where: dict) -> SpecError:
    return SpecError(
        f"it would generate {count:,} stages, over the {MAX_STAGES:,} pipetool runs in one pipeline",
        **where,
        hint="split the work into fewer, bigger stages",
    )


def _key_part(axis: str, index: int, value: Any) -> str:
    """DVC's name part for one matrix value: the value, or `<axis><index>` for a mapping or list."""
    if isinstance(value, (dict, list)):
        return f"{axis}{index}"
    return _to_text(value, axis)
