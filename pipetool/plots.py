"""Plots of plot files across revisions, as one self-contained HTML page (images inlined)."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import PipetoolError
from .stage import Stage
from .yamlfile import load_data

CONFUSION = "confusion"


@dataclass
class PlotSpec:
    path: str
    x: str | None = None
    y: str | None = None
    template: str | None = None
    title: str | None = None


@dataclass
class Plot:
    spec: PlotSpec
    series: dict[str, list[dict]] = field(default_factory=dict)  # revision -> rows
    errors: dict[str, str] = field(default_factory=dict)  # revision -> why it has no rows


def plot_specs(stages: list[Stage]) -> list[PlotSpec]:
    specs = []
    for stage in stages:
        for out in stage.outs:
            if out.kind == "plot":
                options = dict(out.options)
                specs.append(PlotSpec(out.path, options.get("x"), options.get("y"),
                                      options.get("template"), options.get("title")))
    return specs


def collect(sides: list[tuple[str, Any, list[Stage]]]) -> list[Plot]:
    """Every plot file declared at any of the (label, source, stages) revisions, a series per revision."""
    plots: dict[str, Plot] = {}
    for label, source, stages in sides:
        for spec in plot_specs(stages):
            plot = plots.setdefault(spec.path, Plot(spec))
            try:
                text = source.read_text(spec.path)
            except PipetoolError as exc:
                plot.errors[label] = exc.message
                continue
            if text is None:
                plot.errors[label] = "not found at this revision"
                continue
            try:
                plot.series[label] = parse_table(text, spec.path)
            except ValueError as exc:
                plot.errors[label] = f"unreadable: {exc}"
    return list(plots.values())


def parse_table(text: str, path: str) -> list[dict]:
    """Rows of a CSV/TSV, JSON or YAML plot file; raises ValueError when it is not a table."""
    if path.endswith((".csv", ".tsv")):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if path.endswith(".tsv") else ",")
        return [{k: _number(v) for k, v in row.items()} for row in reader]
    data = load_data(text, path)
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))  # {"roc": [{...}, ...]}
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ValueError("expected a list of records, e.g. [{\"x\": 1, \"y\": 2}, ...]")
    return data


def _number(text: Any) -> Any:
    try:
        return int(text)
    except (TypeError, ValueError):
        pass
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def render_html(plots: list[Plot], title: str) -> str:
    """The page: per plot file a heading, an inlined PNG, and its series as data."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}img{max-width:100%}"
             "td,th{padding:2px 8px;text-align:right}.err{color:#a00}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for plot in plots:
        parts.append(f"<h2>{html.escape(plot.spec.title or plot.spec.path)}</h2>")
        for revision, error in plot.errors.items():
            parts.append(f"<p class='err'>{html.escape(revision)}: {html.escape(error)}</p>")
        if plot.series:
            parts.append(f"<img alt='{html.escape(plot.spec.path)}' src='data:image/png;base64,{_png(plot)}'>")
            parts.append(_series_table(plot))
    parts.append("</body></html>")
    return "\n".join(parts)


def _series_table(plot: Plot) -> str:
    rows = "".join(f"<tr><td>{html.escape(rev)}</td><td>{len(data)}</td></tr>" for rev, data in plot.series.items())
    payload = html.escape(json.dumps(plot.series, default=str))
    return (f"<details><summary>series</summary><table><tr><th>revision</th><th>rows</th></tr>{rows}"
            f"</table><pre class='data'>{payload}</pre></details>")


def _png(plot: Plot) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = _confusion(plt, plot) if plot.spec.template == CONFUSION else _lines(plt, plot)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _columns(plot: Plot, rows: list[dict]) -> tuple[str | None, str]:
    names = list(rows[0]) if rows else []
    y = plot.spec.y or (names[-1] if names else "y")
    x = plot.spec.x or (names[0] if len(names) > 1 else None)
    return x, y


def _lines(plt, plot: Plot):
    figure, ax = plt.subplots(figsize=(7, 4.5))
    x_name, y_name = "step", "y"
    for revision, rows in plot.series.items():
        x_name, y_name = _columns(plot, rows)
        xs = [row.get(x_name) for row in rows] if x_name else list(range(len(rows)))
        ax.plot(xs, [row.get(y_name) for row in rows], label=revision)
    ax.set_xlabel(x_name or "step")
    ax.set_ylabel(y_name)
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure


def _confusion(plt, plot: Plot):
    """A count matrix of (actual, predicted) per revision, side by side."""
    figure, axes = plt.subplots(1, len(plot.series), figsize=(4.2 * len(plot.series), 4), squeeze=False)
    for ax, (revision, rows) in zip(axes[0], plot.series.items()):
        actual_name, predicted_name = plot.spec.x or "actual", plot.spec.y or "predicted"
        labels = sorted({str(r.get(actual_name)) for r in rows} | {str(r.get(predicted_name)) for r in rows})
        index = {label: i for i, label in enumerate(labels)}
        counts = [[0] * len(labels) for _ in labels]
        for row in rows:
            counts[index[str(row.get(actual_name))]][index[str(row.get(predicted_name))]] += 1
        ax.imshow(counts, cmap="Blues")
        for i, line in enumerate(counts):
            for j, count in enumerate(line):
                ax.text(j, i, str(count), ha="center", va="center")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(predicted_name)
        ax.set_ylabel(actual_name)
        ax.set_title(revision)
    figure.tight_layout()
    return figure


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PipetoolError("plots need matplotlib", hint="pip install 'pipetool[plots]'") from None
