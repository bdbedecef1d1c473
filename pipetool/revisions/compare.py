"""Comparing metrics or params between two revisions: pure, plain rows out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..pipeline.params import ABSENT
from .metrics import FileValues


@dataclass(frozen=True)
class Row:
    path: str
    key: str
    old: Any
    new: Any

    @property
    def change(self) -> float | None:
        """new - old when both are numbers, else None."""
        if _is_number(self.old) and _is_number(self.new):
            return self.new - self.old
        return None

    @property
    def written_change(self) -> float | None:
        """new - old as the decimal numbers the files write: 1e-06 - 1e-05 is -9e-06 and
        0.8 - 0.9 is -0.1, where float arithmetic gives -0.09999999999999998. For tables that
        show values as written (params), so the change needs no rounding either."""
        change = self.change
        if not isinstance(change, float):
            return change
        from decimal import Decimal, InvalidOperation  # ~1.5 ms to import: params tables only

        try:
            return float(Decimal(repr(self.new)) - Decimal(repr(self.old)))
        except InvalidOperation:  # inf - inf
            return change

    @property
    def changed(self) -> bool:
        if _is_number(self.old) and _is_number(self.new):
            both_nan = math.isnan(self.old) and math.isnan(self.new)
            return not both_nan and self.old != self.new
        return self.old is not self.new and (self.old is ABSENT or self.new is ABSENT or self.old != self.new)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def diff(old: dict[str, FileValues], new: dict[str, FileValues], show_all: bool = False) -> list[Row]:
    """One row per (file, key) in either side; unchanged rows only with show_all."""
    rows = []
    for path in sorted(set(old) | set(new)):
        before = old.get(path, FileValues()).values
        after = new.get(path, FileValues()).values
        for key in _union(before, after):
            row = Row(path, key, before.get(key, ABSENT), after.get(key, ABSENT))
            if show_all or row.changed:
                rows.append(row)
    return rows


def _union(first: dict, second: dict) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
