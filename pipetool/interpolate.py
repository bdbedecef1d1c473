"""`${...}` interpolation, `vars`, and the expansion of `foreach` and `matrix` stages."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError, did_you_mean
from .params import Missing, dotted_names, lookup, scalar_text

_REF = re.compile(r"(\\)?\$\{\s*([^}]*?)\s*\}")
# Stages one pipeline may define, foreach and matrix ones included: a matrix of a few long axes
# multiplies fast, and `status` must stay safe on a stranger's repository.
MAX_STAGES = 100_000


@dataclass
class Context:
    """Values visible to `${}`: params.yaml, then vars, then item/key of foreach."""

    values: dict
    params_keys: frozenset = frozenset()  # top-level keys that come from params.yaml
    used_params: set = field(default_factory=set)
    # What one top-level entry looked up, foreach's item/key aside, shared with its generated
    # stages: built from the same values again, the entry would come out the same.
    looked_up: dict = field(default_factory=dict)
    local: frozenset = frozenset()  # the keys foreach added

    def entry(self) -> Context:
        """A context for one top-level entry of `stages:`, with its own record of lookups."""
        return Context(self.values, self.params_keys)

    def child(self, extra: dict) -> Context:
        """A context for one generated stage: its own record of used params, plus foreach's or
        matrix's item/key."""
        return Context({**self.values, **extra}, self.params_keys - set(extra), set(), self.looked_up,
                       self.local | set(extra))

    def get(self, expr: str) -> Any:
        try:
            value = lookup(self.values, expr)
        except Missing:
            hint = did_you_mean(expr, dotted_names(self.values))
            raise _Undefined(expr, hint) from None
        root = expr.split(".", 1)[0].split("[", 1)[0]
        if root in self.params_keys:
            self.used_params.add(expr)
        if root not in self.local:
            self.looked_up[expr] = value
        return value

    def unchanged(self, looked_up: dict) -> bool:
        """Whether every one of these lookups gives the same value (of the same type) here."""
        for expr, value in looked_up.items():
            try:
                if not _same(lookup(self.values, expr), value):
                    return False
            except Missing:
                return False
        return True


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down: 1, 1.0 and true read the same to ==, not
    to `${}`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


class _Undefined(Exception):
    def __init__(self, expr: str, hint: str | None) -> None:
        super().__init__(expr)
        self.expr = expr
        self.hint = hint


def _to_text(value: Any, expr: str) -> str:
    if isinstance(value, (dict, list)):
        kind = "mapping" if isinstance(value, dict) else "list"
        raise TypeError(f"'${{{expr}}}' is a {kind}; only single values fit inside text")
    return scalar_text(value)


def resolve(value: Any, context: Context, where: dict) -> Any:
    """Interpolate every string inside value; `where` gives file/line/stage for errors.

    A string that is exactly one `${x}` keeps x's type (so `foreach: ${models}` gets a list).
    """
    try:
        return _resolve(value, context)
    except _Undefined as exc:
        raise SpecError(f"'${{{exc.expr}}}' is not defined in vars or params", hint=exc.hint, **where) from None
    except TypeError as exc:
        raise SpecError(str(exc), **where) from None


def _resolve(value: Any, context: Context) -> Any:
    if isinstance(value, str):
        return _resolve_text(value, context)
    if isinstance(value, list):
        return [_resolve(item, context) for item in value]
    if isinstance(value, dict):
        resolved = type(value)()
        for key, item in value.items():
            resolved[_resolve(key, context) if isinstance(key, str) else key] = _resolve(item, context)
        if hasattr(value, "key_lines"):
            resolved.line, resolved.key_lines = value.line, value.key_lines
        return resolved
    return value


def _resolve_text(text: str, context: Context) -> Any:
    if "${" not in text:
        return text
    whole = _REF.fullmatch(text)
    if whole and not whole.group(1):
        return context.get(whole.group(2))

    def substitute(match: re.Match) -> str:
        if match.group(1):
            return match.group(0)[1:]
        return _to_text(context.get(match.group(2)), match.group(2))

    return _REF.sub(substitute, text)


def expand_foreach(name: str, items: Any, where: dict) -> Iterator[tuple[str, dict]]:
    """(generated name, extra context) for each item of a foreach list or dict."""
    if isinstance(items, (dict, list)) and len(items) > MAX_STAGES:
        raise _too_many(len(items), where)
    if isinstance(items, dict):
        for key, item in items.items():
            yield f"{name}@{key}", {"key": key, "item": item}
    elif isinstance(items, list):
        if not items:
            raise SpecError("'foreach' is empty; it generates no stage", **where)
        for index, item in enumerate(items):
            key = index if isinstance(item, (dict, list)) else _to_text(item, "item")
            yield f"{name}@{key}", {"key": index, "item": item}
    else:
        raise SpecError(
            f"'foreach' needs a list or a dict, not {type(items).__name__} {items!r}", **where
        )


def expand_matrix(name: str, matrix: Any, where: dict) -> Iterator[tuple[str, dict]]:
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
        item = {axis: value for axis, (_, value) in zip(matrix, combination)}
        key = "-".join(part for part, _ in combination)
        yield f"{name}@{key}", {"item": item, "key": key}


def _too_many(count: int, where: dict) -> SpecError:
    return SpecError(f"it would generate {count:,} stages, over the {MAX_STAGES:,} pipetool runs in one pipeline",
                     **where, hint="split the work into fewer, bigger stages")


def _key_part(axis: str, index: int, value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"{axis}{index}"
    return _to_text(value, axis)
