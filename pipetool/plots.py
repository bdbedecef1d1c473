"""Plots across revisions as DVC defines them (a stage's `plots`, pipeline.yaml's top-level
`plots`), drawn into one self-contained HTML page (images inlined)."""

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
CONFUSION_NORMALIZED = "confusion_normalized"
SCATTER = "scatter"
BARS = ("bar_horizontal", "bar_horizontal_sorted")
# DVC's built-in templates; linear, simple and smooth are drawn as lines.
TEMPLATES = ("linear", "simple", "smooth", SCATTER, CONFUSION, CONFUSION_NORMALIZED, *BARS)
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
          ".svg": "image/svg+xml"}
MAX_IMAGE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class PlotDefinition:
    """One chart, as DVC defines it in a stage's `plots` or in pipeline.yaml's top-level `plots`.

    y: a (file, column) per line drawn, column None for the file's last one; x: none (the row
    number), one (file, column) that every y shares, or one per y, in order. A file of None in
    x means each y's own file: `x: step` with several y files reads step from each.
    """

    id: str  # the file drawn, or (top-level plots whose y maps files) a name
    y: tuple[tuple[str, str | None], ...]
    x: tuple[tuple[str | None, str], ...] = ()
    template: str | None = None
    title: str | None = None
    x_label: str | None = None
    y_label: str | None = None
    origin: str = ""  # "" for a stage's plot, else the file defining it (DVC's 'dvc.yaml::id')

    @property
    def files(self) -> list[str]:
        """Every file the chart reads, y files first."""
        named = [file for file, _ in self.y] + [file for file, _ in self.x if file is not None]
        return list(dict.fromkeys(named))

    @property
    def heading(self) -> str:
        return self.title or (f"{self.origin}::{self.id}" if self.origin else self.id)

    @property
    def is_image(self) -> bool:
        return len(self.files) == 1 and _mime(self.files[0]) is not None


@dataclass
class Series:
    """One line of a chart at one revision: the y values, and the x values beside them."""

    revision: str
    label: str  # the file and column, when the chart draws several
    x_name: str | None  # None: the row number
    y_name: str
    xs: list
    ys: list


@dataclass
class Plot:
    definition: PlotDefinition
    tables: dict[str, dict[str, list[dict]]] = field(default_factory=dict)  # revision -> file -> rows
    images: dict[str, bytes] = field(default_factory=dict)  # revision -> an image file's bytes
    errors: dict[str, str] = field(default_factory=dict)  # revision -> why it has nothing to draw
    notes: list[str] = field(default_factory=list)  # what is drawn other than asked

    @property
    def series(self) -> dict[str, Any]:
        """The data per revision: the rows of the one file, or file -> rows of several."""
        single = len(self.definition.files) == 1
        return {rev: next(iter(files.values())) if single else files for rev, files in self.tables.items()}


def stage_plots(stages: list[Stage]) -> list[PlotDefinition]:
    """The plots the stages declare: each a file, with its options (x, y, template...)."""
    definitions = []
    for stage in stages:
        for out in stage.outs:
            if out.kind != "plot":
                continue
            options = dict(out.options)
            y = options.get("y")
            columns = y if isinstance(y, list) and y else [y if isinstance(y, str) else None]
            x = options.get("x")
            definitions.append(PlotDefinition(
                out.path, tuple((out.path, column) for column in columns),
                ((None, x),) if isinstance(x, str) else (), options.get("template"), options.get("title"),
                options.get("x_label"), options.get("y_label")))
    return definitions


def collect(sides: list[tuple[str, Any, list[PlotDefinition]]]) -> list[Plot]:
    """Every plot defined at any of the (label, source, definitions) revisions, with what each
    revision has to draw; a revision whose files are missing or unreadable gets the reason.
    A plot defined differently at two revisions keeps the definition first seen."""
    plots: dict[tuple[str, str], Plot] = {}
    for label, source, definitions in sides:
        read: dict[str, Any] = {}  # file -> rows, bytes, or why not: a file two plots draw is read once
        for definition in definitions:
            plot = plots.setdefault((definition.origin, definition.id), Plot(definition))
            _gather(plot, label, source, read)
    result = list(plots.values())
    for plot in result:
        template = plot.definition.template
        if template is not None and template not in TEMPLATES:
            plot.notes.append(f"template '{template}' is not one pipetool draws: drawn as lines "
                              f"(built in: {', '.join(TEMPLATES)})")
        series(plot)  # records the revisions whose columns are missing
    return result


def _gather(plot: Plot, label: str, source: Any, read: dict[str, Any]) -> None:
    definition = plot.definition
    if definition.is_image:
        found = _read(source, definition.files[0], read, image=True)
        if isinstance(found, bytes):
            plot.images[label] = found
        else:
            plot.errors[label] = found
        return
    tables, problems = {}, []
    for file in definition.files:
        found = _read(source, file, read, image=False)
        if isinstance(found, list):
            tables[file] = found
        else:
            problems.append(found if len(definition.files) == 1 else f"{file}: {found}")
    if problems:
        plot.errors[label] = "; ".join(problems)
    else:
        plot.tables[label] = tables


def _read(source: Any, path: str, read: dict[str, Any], image: bool) -> Any:
    """A plot file's rows (or an image's bytes) at one revision, or why there are none."""
    if path not in read:
        try:
            if image:
                data = _read_bytes(source, path)
                read[path] = data if data is not None else "not found at this revision"
            else:
                text = source.read_text(path)
                read[path] = parse_table(text, path) if text is not None else "not found at this revision"
        except PipetoolError as exc:
            read[path] = exc.message
        except ValueError as exc:
            read[path] = f"unreadable: {exc}"
    return read[path]


def _read_bytes(source: Any, path: str) -> bytes | None:
    """An image file's bytes: a revision's from git; the workspace's where its source allows."""
    if hasattr(source, "read_bytes"):
        return source.read_bytes(path)
    import os

    check = getattr(source, "check", None)
    if check is not None:
        check(path)  # inside the project, a regular file (see ProjectFiles)
    try:
        with open(os.path.join(source.root, path), "rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PipetoolError(f"cannot read: {exc.strerror}", file=path) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise PipetoolError(f"over {MAX_IMAGE_BYTES // 2**20} MiB: not drawn", file=path)
    return data


def _mime(path: str) -> str | None:
    dot = path.rfind(".")
    return IMAGES.get(path[dot:].lower()) if dot >= 0 else None


def series(plot: Plot) -> list[Series]:
    """The lines to draw, per revision and y (pure). A revision whose files lack a column, or
    whose x and y files differ in length, is moved from tables to errors."""
    definition = plot.definition
    confusion = (definition.template or "").startswith(CONFUSION)
    drawn: list[Series] = []
    for revision, tables in list(plot.tables.items()):
        try:
            drawn.extend(_revision_series(definition, revision, tables, confusion))
        except ValueError as exc:
            del plot.tables[revision]
            plot.errors[revision] = str(exc)
    return drawn


def _revision_series(definition: PlotDefinition, revision: str, tables: dict[str, list[dict]],
                     confusion: bool) -> list[Series]:
    several = len(definition.y) > 1
    prefix = _common_prefix([file for file, _ in definition.y]) if several else 0
    found = []
    for index, (y_file, y_column) in enumerate(definition.y):
        rows = tables[y_file]
        y_name = y_column or ("predicted" if confusion else _last_column(rows))
        x_file, x_name = definition.x[index if len(definition.x) > 1 else 0] if definition.x else (
            (None, "actual") if confusion else (None, None))
        x_rows = tables[x_file] if x_file is not None else rows
        if len(x_rows) != len(rows):
            raise ValueError(f"cannot pair '{x_name}' of {x_file} with '{y_name}' of {y_file}: "
                             f"{len(x_rows)} rows against {len(rows)}")
        _require(rows, y_name, y_file)
        if x_name is not None:
            _require(x_rows, x_name, x_file or y_file)
        xs = [row.get(x_name) for row in x_rows] if x_name is not None else list(range(len(rows)))
        label = f"{y_file[prefix:].lstrip('/')}: {y_name}" if several else y_name
        found.append(Series(revision, label, x_name, y_name, xs, [row.get(y_name) for row in rows]))
    return found


def _require(rows: list[dict], column: str, file: str) -> None:
    if rows and column not in rows[0]:
        raise ValueError(f"{file} has no column '{column}' (it has {', '.join(map(str, rows[0]))})")


def _last_column(rows: list[dict]) -> str:
    return str(list(rows[0])[-1]) if rows and rows[0] else "y"


def _common_prefix(files: list[str]) -> int:
    """The length of the folder all files share, left out of their labels (as DVC does)."""
    import posixpath

    unique = set(files)
    if len(unique) < 2:
        return 0
    return len(posixpath.commonpath(list(unique)))


def parse_table(text: str, path: str) -> list[dict]:
    """Rows of a CSV/TSV, JSON or YAML plot file; raises ValueError when it is not a table.

    In JSON or YAML, the rows are a list of records, or lists of records under keys (as DVCLive
    writes `{"roc": [...]}`), records of several lists joined by position, as DVC joins them.
    """
    if path.endswith((".csv", ".tsv")):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if path.endswith(".tsv") else ",")
        return [{k: _number(v) for k, v in row.items()} for row in reader]
    data = load_data(text, path)
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        if lists and all(isinstance(row, dict) for value in lists for row in value):
            data = [dict(item for rows in lists if i < len(rows) for item in rows[i].items())
                    for i in range(max(map(len, lists)))]
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
    """The page: per plot a heading, an inlined PNG (or the image files, per revision), and
    the data it was drawn from."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}img{max-width:100%}"
             "td,th{padding:2px 8px;text-align:right}.err{color:#a00}.note{color:#555}"
             "figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for plot in plots:
        parts.append(f"<h2>{html.escape(plot.definition.heading)}</h2>")
        parts.extend(f"<p class='note'>{html.escape(note)}</p>" for note in plot.notes)
        for revision, error in plot.errors.items():
            parts.append(f"<p class='err'>{html.escape(revision)}: {html.escape(error)}</p>")
        alt = html.escape(plot.definition.id, quote=True)
        if plot.images:
            mime = _mime(plot.definition.files[0])
            parts.extend(f"<figure><img alt='{alt}' src='data:{mime};base64,{base64.b64encode(data).decode()}'>"
                         f"<figcaption>{html.escape(rev)}</figcaption></figure>" for rev, data in plot.images.items())
        if plot.tables:
            parts.append(f"<img alt='{alt}' src='data:image/png;base64,{_png(plot)}'>")
            parts.append(_series_table(plot))
    parts.append("</body></html>")
    return "\n".join(parts)


def _series_table(plot: Plot) -> str:
    rows = "".join(f"<tr><td>{html.escape(rev)}</td><td>{sum(map(len, files.values()))}</td></tr>"
                   for rev, files in plot.tables.items())
    payload = html.escape(json.dumps(plot.series, default=str))
    return (f"<details><summary>series</summary><table><tr><th>revision</th><th>rows</th></tr>{rows}"
            f"</table><pre class='data'>{payload}</pre></details>")


def _png(plot: Plot) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    template = plot.definition.template
    drawn = series(plot)
    if template in (CONFUSION, CONFUSION_NORMALIZED):
        figure = _confusion(plt, plot.definition, drawn, normalized=template == CONFUSION_NORMALIZED)
    elif template in BARS:
        figure = _bars(plt, plot.definition, drawn, ordered=template == BARS[1])
    else:
        figure = _lines(plt, plot.definition, drawn, points=template == SCATTER)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _axis_labels(definition: PlotDefinition, drawn: list[Series]) -> tuple[str, str]:
    """x_label and y_label, else the one column drawn on that axis (DVC's defaults)."""
    x_names = {line.x_name for line in drawn}
    y_names = {line.y_name for line in drawn}
    x_default = "step" if x_names <= {None} else (next(iter(x_names)) if len(x_names) == 1 else "x")
    y_default = next(iter(y_names)) if len(y_names) == 1 else "y"
    return definition.x_label or x_default, definition.y_label or y_default


def _line_label(line: Series, drawn: list[Series]) -> str:
    revisions = {other.revision for other in drawn}
    labels = {other.label for other in drawn}
    parts = ([line.revision] if len(revisions) > 1 or len(labels) == 1 else []) + \
            ([line.label] if len(labels) > 1 else [])
    return " ".join(parts)


def _lines(plt, definition: PlotDefinition, drawn: list[Series], points: bool):
    figure, ax = plt.subplots(figsize=(7, 4.5))
    for line in drawn:
        draw = ax.scatter if points else ax.plot
        draw(line.xs, line.ys, label=_line_label(line, drawn))
    x_label, y_label = _axis_labels(definition, drawn)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure


def _panels(plt, count: int):
    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 4), squeeze=False)
    return figure, axes[0]


def _confusion(plt, definition: PlotDefinition, drawn: list[Series], normalized: bool):
    """A matrix of (actual = x, predicted = y) counts per revision and y, side by side; rows
    normalized to sum to 1 for confusion_normalized."""
    figure, axes = _panels(plt, len(drawn))
    x_label, y_label = _axis_labels(definition, drawn)
    for ax, line in zip(axes, drawn):
        labels = sorted({str(v) for v in line.xs} | {str(v) for v in line.ys})
        index = {label: i for i, label in enumerate(labels)}
        counts = [[0.0] * len(labels) for _ in labels]  # [predicted][actual]
        for actual, predicted in zip(line.xs, line.ys):
            counts[index[str(predicted)]][index[str(actual)]] += 1
        if normalized:
            totals = [sum(counts[p][a] for p in range(len(labels))) or 1 for a in range(len(labels))]
            counts = [[cell / totals[a] for a, cell in enumerate(row)] for row in counts]
        ax.imshow(counts, cmap="Blues")
        for i, row in enumerate(counts):
            for j, cell in enumerate(row):
                ax.text(j, i, f"{cell:.2f}" if normalized else str(int(cell)), ha="center", va="center")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(_line_label(line, drawn) or line.revision)
    figure.tight_layout()
    return figure


def _bars(plt, definition: PlotDefinition, drawn: list[Series], ordered: bool):
    """Horizontal bars: the x values, one bar per y value (its name), per revision and y."""
    figure, axes = _panels(plt, len(drawn))
    x_label, y_label = _axis_labels(definition, drawn)
    for ax, line in zip(axes, drawn):
        pairs = list(zip([str(v) for v in line.ys], line.xs))
        if ordered:
            pairs.sort(key=lambda pair: pair[1] if isinstance(pair[1], (int, float)) else 0)
        ax.barh([name for name, _ in pairs], [value for _, value in pairs])
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(_line_label(line, drawn) or line.revision)
    figure.tight_layout()
    return figure


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PipetoolError("plots need matplotlib", hint="pip install 'pipetool[plots]'") from None
