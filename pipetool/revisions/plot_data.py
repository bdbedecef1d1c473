"""Plots across revisions as plain data for a page that draws them itself (the browser UI): the
same definitions, files and series as `plots show` and `plots diff` (plots.py: stage_plots, the
top-level plots, collect, series), with numbers ready for a chart and confusion matrices counted
per (actual, predicted) pair."""

from __future__ import annotations

import base64
import math
from typing import Any

from .plots import (
    BARS,
    CONFUSION,
    CONFUSION_NORMALIZED,
    MAX_CLASSES,
    SCATTER,
    Plot,
    Series,
    axis_labels,
    bars_of,
    class_labels,
    collect,
    confusion_counts,
    image_mime,
    line_label,
    series,
    stage_plots,
    x_is_numeric,
)
from .tables import as_number, category
from .toplevel import load_revision


def plots_data(revisions: Any, chosen: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """Every plot defined at any chosen revision, each with one series (or matrix, or image) per
    revision that has its files, and the reason for each that has not. chosen: (label, revision
    name) pairs, the label being what the chart calls it (an experiment's name for its commit);
    a revision None or 'workspace' is the working tree."""
    sides = []
    for label, name in chosen:
        _, source, stages, top = load_revision(revisions, name)
        sides.append((label, source, stage_plots(stages) + list(top.plots)))
    return [plot_dict(plot) for plot in collect(sides)]


def plot_dict(plot: Plot) -> dict[str, Any]:
    definition = plot.definition
    template = definition.template or "linear"
    drawn = series(plot)
    x_label, y_label = axis_labels(definition, drawn)
    found: dict[str, Any] = {
        "id": definition.id,
        "origin": definition.origin,
        "heading": definition.heading,
        "template": template,
        "kind": _kind(plot),
        "x_label": x_label,
        "y_label": y_label,
        "notes": list(plot.notes),
        "errors": dict(plot.errors),
        "series": [],
        "matrices": [],
        "images": {},
    }
    if found["kind"] == "image":
        mime = image_mime(definition.files[0])
        found["images"] = {
            revision: f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            for revision, data in plot.images.items()
        }
    elif found["kind"] == "confusion":
        found["matrices"] = [confusion_matrix(line, drawn, template == CONFUSION_NORMALIZED) for line in drawn]
    else:
        numeric = x_is_numeric(drawn)
        found["series"] = [_series(line, drawn, numeric, template) for line in drawn]
    return found


def _kind(plot: Plot) -> str:
    template = plot.definition.template
    if plot.definition.is_image:
        return "image"
    if template in (CONFUSION, CONFUSION_NORMALIZED):
        return "confusion"
    if template in BARS:
        return "bars"  # horizontal: a bar per row, its name the y column and its length the x
    return "scatter" if template == SCATTER else "lines"


def _series(line: Series, drawn: list[Series], numeric_x: bool, template: str) -> dict[str, Any]:
    """A line's points: numbers (None where a value is not one: a gap), or text x on a category
    axis; for bars, a name (y) and a length (x) per bar, as DVC's horizontal bar templates."""
    if template in BARS:
        pairs, _ = bars_of(line, ordered=template == BARS[1])  # at most MAX_BARS; plot notes say so
        xs, ys = [length for _, length in pairs], [name for name, _ in pairs]
    else:
        xs = [_number(x) for x in line.xs] if numeric_x else [category(x) for x in line.xs]
        ys = [_number(y) for y in line.ys]
    return {
        "revision": line.revision,
        "label": line.label,
        "name": line_label(line, drawn) or line.revision,
        "x_name": line.x_name,
        "y_name": line.y_name,
        "x": xs,
        "y": ys,
    }


def confusion_matrix(line: Series, drawn: list[Series], normalized: bool = False) -> dict[str, Any]:
    """Counts per (actual = x, predicted = y) pair: counts[p][a] is how many rows of actual class
    a were predicted as p; normalized, each actual class's column sums to 1 (as plots show draws
    it). More classes than MAX_CLASSES: no counts, and `classes` says how many."""
    classes = class_labels(line)
    found: dict[str, Any] = {
        "revision": line.revision,
        "label": line.label,
        "name": line_label(line, drawn) or line.revision,
        "classes": classes,
        "counts": [],
        "normalized": normalized,
        "drawn": 0 < len(classes) <= MAX_CLASSES,
    }
    if not found["drawn"]:
        return found
    found["counts"] = confusion_counts(line, classes, normalized)
    return found


def _number(value: Any) -> float | None:
    found = as_number(value)
    return None if math.isnan(found) else found
