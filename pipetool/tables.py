"""Tables of metrics and params for people (aligned text, Markdown) and programs (CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from .params import ABSENT, scalar_text


def fmt(value: Any, precision: int) -> str:
    """A value as a table shows it: floats rounded, absent as '-', YAML-style booleans."""
    if value is ABSENT:
        return "-"
    if isinstance(value, float):
        return str(round(value, precision))
    return scalar_text(value)


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], style: str = "plain") -> str:
    """Rows of already formatted cells; style is plain, md or csv."""
    if style == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    from tabulate import tabulate

    return tabulate(rows, headers=list(headers), tablefmt="github" if style == "md" else "simple",
                    disable_numparse=True)
