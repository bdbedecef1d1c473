"""Are two versions of an out the same, equivalent within a tolerance, or different?

Pure: the locked bytes and the rerun's bytes in, a Comparison out (the largest difference seen
and where, or the first difference: key or row/column, old -> new). `verify` calls it per out.

A tolerance applies to every number of a JSON, YAML or TOML file and to every numeric cell of a
CSV, TSV or Parquet table; both versions must have the same shape (keys, list lengths, columns,
rows) and every other value must be equal. A number is equivalent when
|new - old| <= atol + rtol * |old| (NaN equals NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

EXACT, TOLERANCE, SKIP = "exact", "tolerance", "skip"
DATA_SUFFIXES = (".json", ".yaml", ".yml", ".toml")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
# Above this, a file is compared by its bytes only (a model, not a metrics file or table).
MAX_PARSED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Equivalence:
    """How verify compares an out: its bytes (exact), its numbers within rtol/atol, or not at all."""

    mode: str = EXACT
    rtol: float = 0.0
    atol: float = 0.0

    def describe(self) -> str:
        if self.mode == TOLERANCE:
            return f"rtol {self.rtol:g}, atol {self.atol:g}"
        return self.mode


class Comparison:
    """The verdict on one out: identical | equivalent | differs | skipped, with the largest
    difference (equivalent) or the first one (differs): where, old, new and |new - old|.
    (A plain class: pipetool imports this module on every command, through Out.)"""

    def __init__(
        self,
        verdict: str,
        where: str = "",
        old: Any = None,
        new: Any = None,
        largest: float | None = None,
        note: str = "",  # why the values could not be compared, when they could not
    ) -> None:
        self.verdict, self.where, self.old, self.new, self.largest, self.note = verdict, where, old, new, largest, note

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "where": self.where,
            "old": self.old,
            "new": self.new,
            "largest": self.largest,
            "note": self.note,
        }


class _Differs(Exception):
    def __init__(self, where: str, old: Any, new: Any, note: str = "") -> None:
        super().__init__(where)
        self.where, self.old, self.new, self.note = where, old, new, note


class _Walk:
    """Walks two parsed values side by side, keeping the largest numeric difference."""

    def __init__(self, rule: Equivalence) -> None:
        self.rule = rule
        self.largest: tuple[float, str, Any, Any] | None = None

    def values(self, old: Any, new: Any, where: str) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in old:
                if key not in new:
                    raise _Differs(_key(where, key), old[key], None, "only in the locked version")
            for key in new:
                if key not in old:
                    raise _Differs(_key(where, key), None, new[key], "only in the rerun")
            for key in old:
                self.values(old[key], new[key], _key(where, key))
        elif isinstance(old, list) and isinstance(new, list):
            if len(old) != len(new):
                raise _Differs(where or "(top level)", f"{len(old)} items", f"{len(new)} items")
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                self.values(a, b, f"{where}[{index}]")
        elif _number(old) and _number(new):
            self.number(old, new, where)
        elif old != new or type(old) is not type(new):
            raise _Differs(where or "(top level)", old, new)

    def number(self, old: float, new: float, where: str) -> None:
        if old == new or (math.isnan(old) and math.isnan(new)):
            return
        gap = abs(new - old)
        if math.isnan(gap) or gap > self.rule.atol + self.rule.rtol * abs(old):
            raise _Differs(where, old, new)
        if self.largest is None or gap > self.largest[0]:
            self.largest = (gap, where, old, new)


def compare(path: str, old: bytes | None, new: bytes | None, rule: Equivalence) -> Comparison:
    """Compare the locked bytes of an out (None: not available) with the rerun's (None: not
    produced) by the out's rule."""
    if rule.mode == SKIP:
        return Comparison("skipped")
    if new is None:
        return Comparison("differs", note="the rerun did not produce it")
    if old is None:
        return Comparison("differs", note="its locked bytes are not here to compare with (a cached out: pull it first)")
    if old == new:
        return Comparison("identical")
    walk = _Walk(rule if rule.mode == TOLERANCE else Equivalence(TOLERANCE))
    try:
        parsed = _parse_pair(path, old, new)
        if parsed is None:
            return Comparison("differs", note=f"bytes differ ({len(old):,} -> {len(new):,} bytes)")
        if isinstance(parsed, str):
            return Comparison("differs", note=parsed)
        if parsed[0] == "table":
            _tables(walk, parsed[1], parsed[2])
        else:
            walk.values(parsed[1], parsed[2], "")
    except _Differs as found:
        return Comparison("differs", found.where, found.old, found.new, _gap(found.old, found.new), found.note)
    if rule.mode != TOLERANCE:  # the same values written differently: still not the same bytes
        return Comparison("differs", note="the same values, written differently")
    if walk.largest is None:
        return Comparison("equivalent", note="the same values, written differently")
    gap, where, a, b = walk.largest
    return Comparison("equivalent", where, a, b, gap)


def _parse_pair(path: str, old: bytes, new: bytes) -> tuple | str | None:
    """('data'|'table', old, new); a note when they cannot be read; None for a file compared
    by its bytes only."""
    lower = path.lower()
    if not lower.endswith(DATA_SUFFIXES + TABLE_SUFFIXES) or max(len(old), len(new)) > MAX_PARSED_BYTES:
        return None
    if lower.endswith((".parquet", ".pq")):
        return _parquet_pair(old, new)
    try:
        texts = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text: compared by its bytes"
    if lower.endswith((".csv", ".tsv")):
        import csv

        delimiter = "\t" if lower.endswith(".tsv") else ","
        try:
            return ("table", *(_csv(text, delimiter) for text in texts))
        except csv.Error as error:  # a field over csv's limit (128 KiB): compared by its bytes
            return f"cannot be read as a table: {error}"
    from .yamlfile import load_data

    try:
        return ("data", *(load_data(text, path) for text in texts))
    except ValueError as error:
        return f"cannot be parsed: {error}"


def _csv(text: str, delimiter: str) -> tuple[list[str], list[list[Any]]]:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = rows[0] if rows else []
    return header, [[_cell(cell) for cell in row] for row in rows[1:]]


def _cell(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _parquet_pair(old: bytes, new: bytes) -> tuple | str:
    import io

    try:
        import pandas
    except ImportError:
        return "comparing Parquet files needs pandas with pyarrow installed: compared by bytes"
    try:
        frames = [pandas.read_parquet(io.BytesIO(data)) for data in (old, new)]
    except ImportError:
        return "comparing Parquet files needs pyarrow (or fastparquet) installed: compared by bytes"
    except Exception as error:  # noqa: BLE001 - any reader error: say so, compare by bytes
        return f"cannot be read as Parquet: {error}"
    return ("table", *((list(map(str, f.columns)), f.astype(object).values.tolist()) for f in frames))


def _tables(walk: _Walk, old: tuple[list[str], list[list[Any]]], new: tuple[list[str], list[list[Any]]]) -> None:
    (old_columns, old_rows), (new_columns, new_rows) = old, new
    if old_columns != new_columns:
        raise _Differs("columns", ", ".join(old_columns), ", ".join(new_columns))
    if len(old_rows) != len(new_rows):
        raise _Differs("rows", f"{len(old_rows)} rows", f"{len(new_rows)} rows")
    for number, (a, b) in enumerate(zip(old_rows, new_rows, strict=True), start=1):
        if len(a) != len(b):
            raise _Differs(f"row {number}", f"{len(a)} cells", f"{len(b)} cells")
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            column = old_columns[index] if index < len(old_columns) else str(index + 1)
            where = f"row {number}, column '{column}'"
            if _number(x) and _number(y):
                walk.number(x, y, where)
            elif x != y:
                raise _Differs(where, x, y)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _gap(old: Any, new: Any) -> float | None:
    return abs(new - old) if _number(old) and _number(new) else None


def _key(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)
