"""Metrics and params tables are drawn without tabulate when every cell is printable ASCII text:
the same bytes as tabulate's, for any such table; anything else is still tabulate's."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from pipetool.revisions import tables

ASCII = st.text(alphabet=string.printable[:-5] + " ", max_size=12)  # printable, no tab or newline


def tabulated(headers, rows, style: str) -> str:
    layout = "github" if style == "md" else "simple"
    return tabulate(rows, headers=list(headers), tablefmt=layout, disable_numparse=True)


@st.composite
def grids(draw):
    width = draw(st.integers(1, 5))
    headers = draw(st.lists(ASCII, min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(ASCII, min_size=width, max_size=width), min_size=1, max_size=5))
    return headers, rows


@settings(max_examples=300, deadline=None)
@given(grids(), st.sampled_from(["plain", "md"]))
def test_a_printable_ascii_table_is_drawn_as_tabulate_draws_it(grid, style):
    headers, rows = grid
    assert tables._usual_table(headers, rows, style == "md") is not None
    assert tables.render(headers, rows, style) == tabulated(headers, rows, style)


def test_the_usual_metrics_table(capsys):
    headers = ["Path", "Metric", "HEAD~1", "workspace", "Change"]
    rows = [["metrics.json", "acc", "0.7475", "0.75", "0.0025"], ["metrics.json", "lr", " 0.099 ", "0.1", "-"]]
    for style in ("plain", "md"):
        assert tables.render(headers, rows, style) == tabulated(headers, rows, style)
    assert tables.render(headers, rows).splitlines()[1] == "------------  --------  --------  -----------  --------"


def test_other_tables_are_tabulates():
    """Wide characters, tabs, newlines, escape codes, ragged or empty rows: tabulate's rules."""
    headers = ["Path", "Value"]
    for rows in (
        [["données.json", "1"]],
        [["a\tb", "1"]],
        [["two\nlines", "1"]],
        [["\x1b[31mred\x1b[0m", "1"]],
        [["a", "1", "extra"]],
        [],
    ):
        assert tables._usual_table(headers, rows, False) is None
        for style in ("plain", "md"):
            assert tables.render(headers, rows, style) == tabulated(headers, rows, style)
