"""Tables: plot files read as rows of cells (numbers where they are numbers), and metrics and
params shown to people (aligned text, Markdown) and programs (CSV)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any

from ..files.yamlfile import load_data
from ..pipeline.params import ABSENT, scalar_text

LARGEST = 1e300  # beyond it matplotlib cannot place ticks: not drawn


def fmt(value: Any, precision: int | None) -> str:
    """A value as a table shows it: floats rounded to precision digits after the point (None:
    as they are), absent as '-', YAML-style booleans."""
    if value is ABSENT:
        return "-"
    if isinstance(value, float) and precision is not None:
        return str(round(value, precision))
    return scalar_text(value)


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], style: str = "plain") -> str:
    """Rows of already formatted cells; style is plain, md or csv."""
    if style == "csv":
        import csv

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    from tabulate import tabulate

    return tabulate(
        rows, headers=list(headers), tablefmt="github" if style == "md" else "simple", disable_numparse=True
    )


def parse_table(text: str, path: str) -> list[dict]:
    """Rows of a CSV/TSV, JSON or YAML plot file; raises ValueError when it is not a table.

    In JSON or YAML, the rows are a list of records, or lists of records under keys (as DVCLive
    writes `{"roc": [...]}`), records of several lists joined by position, as DVC joins them.
    Column names are text; in CSV and TSV, cells that are numbers become numbers, and cells
    beyond the header's columns are left out.
    """
    if path.endswith((".csv", ".tsv")):
        import csv

        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if path.endswith(".tsv") else ",")
        try:
            return [{k: cell_value(v) for k, v in row.items() if k is not None} for row in reader]
        except csv.Error as exc:
            raise ValueError(f"not CSV: {exc}") from None
    data = load_data(text, path)
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        if lists and all(isinstance(row, dict) for value in lists for row in value):
            data = [
                dict(item for rows in lists if i < len(rows) for item in rows[i].items())
                for i in range(max(map(len, lists)))
            ]
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ValueError('expected a list of records, e.g. [{"x": 1, "y": 2}, ...]')
    return [{key if isinstance(key, str) else scalar_text(key): value for key, value in row.items()} for row in data]


# Compiled on first use (by re's own cache): only plot files' cells need them.
_INTEGER = r"\s*[-+]?[0-9]+\s*"
_DECIMAL = r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*"


def cell_value(text: Any) -> Any:
    """A cell's text as the number it writes (plain decimal notation, as Vega-Lite reads CSV),
    else the text itself: 'NA', '' or '1_000' stay text."""
    if not isinstance(text, str):
        return text
    if re.fullmatch(_INTEGER, text):
        try:
            return int(text)
        except ValueError:
            pass  # more digits than Python converts: as a float
    return float(text) if re.fullmatch(_DECIMAL, text) else text


def as_number(value: Any) -> float:
    """A value to draw as a number, else NaN, a gap in the line: numbers, and text holding one
    (Vega-Lite reads "0.5" as 0.5). Empty, missing, other text, booleans, lists and mappings
    are not numbers; nor is what matplotlib cannot place (±inf, beyond ±1e300)."""
    if isinstance(value, str):
        value = cell_value(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        found = float(value)
    except OverflowError:
        return math.nan
    return found if abs(found) <= LARGEST else math.nan


def category(value: Any) -> str:
    """A value as a label: a bar's name, a class of a confusion matrix, a text x."""
    return "" if value is None else scalar_text(value)
