"""One count of a confusion matrix's (actual, predicted) pairs, shared by `plots show` and the UI."""

from __future__ import annotations

import ast
from pathlib import Path

import pipetool.revisions.plot_data as plot_data
from pipetool.revisions.plot_data import confusion_matrix
from pipetool.revisions.plots import Series, class_labels, confusion_counts

# actual (x) and predicted (y) as a CSV file gives them: text, and a number read as one
ACTUAL = ["cat", "cat", "dog", "dog", "dog", "dog", 1]
PREDICTED = ["cat", "dog", "dog", "dog", "cat", "cat", "1"]


def line(revision: str = "HEAD") -> Series:
    return Series(revision, "predicted", "actual", "predicted", ACTUAL, PREDICTED)


def test_counts_per_predicted_and_actual_class():
    labels = class_labels(line())
    assert labels == ["1", "cat", "dog"]  # 1 and "1" are one class
    # counts[predicted][actual]
    assert confusion_counts(line(), labels) == [[1, 0, 0], [0, 1, 2], [0, 1, 2]]  # not symmetric: a swap would show
    assert all(isinstance(cell, int) for row in confusion_counts(line(), labels) for cell in row)


def test_normalized_columns_sum_to_one_and_an_empty_column_stays_zero():
    labels = [*class_labels(line()), "zebra"]  # a class no row has as actual
    counts = confusion_counts(line(), labels, normalized=True)
    assert [row[1] for row in counts] == [0, 0.5, 0.5, 0]  # actual cat: predicted cat once, dog once
    assert [row[2] for row in counts] == [0, 0.5, 0.5, 0]  # actual dog: 2 of 4 predicted cat
    assert [row[3] for row in counts] == [0, 0, 0, 0]


def test_the_ui_matrix_is_that_count_and_plot_data_uses_only_public_names_of_plots():
    drawn = [line("HEAD"), line("workspace")]
    for normalized in (False, True):
        matrix = confusion_matrix(drawn[0], drawn, normalized)
        assert matrix["classes"] == ["1", "cat", "dog"] and matrix["name"] == "HEAD"
        assert matrix["counts"] == confusion_counts(drawn[0], matrix["classes"], normalized)
    tree = ast.parse(Path(plot_data.__file__).read_text(encoding="utf-8"))
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "plots"
        for alias in node.names
    ]
    assert "confusion_counts" in imported
    assert [name for name in imported if name.startswith("_")] == []
