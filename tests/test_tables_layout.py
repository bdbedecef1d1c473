"""Metrics and params tables laid out without tabulate where every cell is plain text
(revisions/tables.py): the very text tabulate writes, in both styles, else tabulate itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from pipetool.revisions.tables import render

# Plain ASCII cells, spaces inside and at either end, '|' and '-' included; and some others:
# a tab, a newline, a wide character, an escape sequence (these go to tabulate).
PLAIN = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
ANY = st.one_of(PLAIN, st.sampled_from(["a\tb", "two\nlines", "宽", "\x1b[1mbold\x1b[0m", "", " ", "-"]))


@st.composite
def tables(draw, cells=PLAIN):
    width = draw(st.integers(1, 5))
    headers = draw(st.lists(cells, min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=4))
    return headers, rows


@settings(max_examples=300, deadline=None)
@given(tables(), st.sampled_from(["plain", "md"]))
def test_plain_tables_are_laid_out_as_tabulate_lays_them_out(table, style):
    headers, rows = table
    expected = tabulate(rows, headers=headers, tablefmt="github" if style == "md" else "simple", disable_numparse=True)
    assert render(headers, rows, style) == expected


@settings(max_examples=100, deadline=None)
@given(tables(ANY), st.sampled_from(["plain", "md"]))
def test_other_tables_too(table, style):
    headers, rows = table
    expected = tabulate(rows, headers=headers, tablefmt="github" if style == "md" else "simple", disable_numparse=True)
    assert render(headers, rows, style) == expected


def test_a_metrics_table():
    rows = [["metrics.json", "acc", "0.7475", "0.75", "0.0025"], ["metrics.json", "lr", "-", "0.1", "0.001"]]
    headers = ["Path", "Metric", "HEAD~1", "workspace", "Change"]
    assert render(headers, rows).splitlines() == [
        "Path          Metric    HEAD~1    workspace    Change",
        "------------  --------  --------  -----------  --------",
        "metrics.json  acc       0.7475    0.75         0.0025",
        "metrics.json  lr        -         0.1          0.001",
    ]
    assert render(headers, rows, "md").splitlines()[:2] == [
        "| Path         | Metric   | HEAD~1   | workspace   | Change   |",
        "|--------------|----------|----------|-------------|----------|",
    ]
