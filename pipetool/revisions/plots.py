"""Plots across revisions as DVC defines them (a stage's `plots`, pipeline.yaml's top-level
`plots`), drawn into one self-contained HTML page (images inlined)."""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import PipetoolError
from ..pipeline.stage import Stage
from .tables import as_number, category, cell_value, parse_table

CONFUSION = "confusion"
CONFUSION_NORMALIZED = "confusion_normalized"
SCATTER = "scatter"
BARS = ("bar_horizontal", "bar_horizontal_sorted")
# DVC's built-in templates; linear, simple and smooth are drawn as lines.
TEMPLATES = ("linear", "simple", "smooth", SCATTER, CONFUSION, CONFUSION_NORMALIZED, *BARS)
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}
MAX_IMAGE_BYTES = 64 * 2**20
MAX_BARS = 500  # per chart: matplotlib takes seconds per thousand bars
MAX_CLASSES = 50  # per confusion matrix; cells are numbered up to NUMBERED_CLASSES
NUMBERED_CLASSES = 20


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
        return len(self.files) == 1 and image_mime(self.files[0]) is not None

    @property
    def key(self) -> tuple[str, str]:
        return self.origin, self.id

    @property
    def draws_its_id(self) -> bool:
        """Whether the id is the one file drawn (a folder then stands for the files inside it)."""
        return all(file == self.id for file, _ in self.y) and all(file in (None, self.id) for file, _ in self.x)

    def for_file(self, file: str) -> PlotDefinition:
        """This definition drawing file in place of its id (a file of the folder it names)."""
        return dataclasses.replace(
            self,
            id=file,
            y=tuple((file, column) for _, column in self.y),
            x=tuple((None if f is None else file, column) for f, column in self.x),
        )


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
            definitions.append(
                PlotDefinition(
                    out.path,
                    tuple((out.path, column) for column in columns),
                    ((None, x),) if isinstance(x, str) else (),
                    options.get("template"),
                    options.get("title"),
                    options.get("x_label"),
                    options.get("y_label"),
                )
            )
    return definitions


def collect(sides: list[tuple[str, Any, list[PlotDefinition]]]) -> list[Plot]:
    """Every plot defined at any of the (label, source, definitions) revisions, with what each
    revision has to draw; a revision whose files are missing or unreadable gets the reason.
    A plot defined differently at two revisions keeps the definition first seen. A definition
    naming a folder is a plot per file inside it (see expand)."""
    expanded = [(label, source, *expand(definitions, source)) for label, source, definitions in sides]
    folders = {key for *_, found, _ in expanded for key in found}
    plots: dict[tuple[str, str], Plot] = {}
    for label, source, definitions, _, unlisted in expanded:
        read: dict[str, Any] = dict(unlisted)  # file -> rows, bytes, or why not: each file is read once
        for definition in definitions:
            if definition.key in folders and not source.exists(definition.id):
                continue  # a folder at another revision, absent here: its files' plots say so
            plot = plots.setdefault(definition.key, Plot(definition))
            _gather(plot, label, source, read)
    result = list(plots.values())
    for plot in result:
        template = plot.definition.template
        if template is not None and template not in TEMPLATES:
            plot.notes.append(
                f"template '{template}' is not one pipetool draws: drawn as lines (built in: {', '.join(TEMPLATES)})"
            )
        plot.notes.extend(_drawing_notes(plot, series(plot)))  # series records revisions missing columns
    return result


def expand(
    definitions: list[PlotDefinition], source: Any
) -> tuple[list[PlotDefinition], set[tuple[str, str]], dict[str, str]]:
    """The definitions as one revision draws them, the keys of those that named a folder, and
    why a folder could not be listed, by path (its definition is kept, to show the reason).

    As in DVC (`plots: [dvclive/plots/metrics: {x: step}]`), a definition whose id is a folder
    is one per file inside it, recursively, each with the folder's options; a file that a
    definition of a file or folder nearer to it names (in the same pipeline file) is left to
    that one."""
    from .metrics import folder_files

    ids = {definition.key for definition in definitions if definition.draws_its_id}
    result: list[PlotDefinition] = []
    folders: set[tuple[str, str]] = set()
    unlisted: dict[str, str] = {}
    for definition in definitions:
        try:
            files = folder_files(source, definition.id) if definition.draws_its_id else None
        except PipetoolError as exc:
            unlisted[definition.id] = exc.message
            files = None
        if files is None:
            result.append(definition)
            continue
        folders.add(definition.key)
        result.extend(definition.for_file(file) for file in files if not _nearer(definition, file, ids))
    return result, folders, unlisted


def _nearer(definition: PlotDefinition, file: str, ids: set[tuple[str, str]]) -> bool:
    """Whether another definition of the same pipeline file names file, or a folder holding it
    inside this definition's folder."""
    return any(
        origin == definition.origin
        and len(other) > len(definition.id)
        and (file == other or file.startswith(other + "/"))
        for origin, other in ids
    )


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
            if _is_folder(source, path):
                read[path] = (
                    "a folder: a plot draws each file of a folder that is its id "
                    "(e.g. '- dvclive/plots/metrics: {x: step}'), not one named in its x or y"
                )
            elif image:
                data = _read_bytes(source, path)
                read[path] = data if data is not None else "not found at this revision"
            else:
                text = _read_text(source, path)
                read[path] = parse_table(text, path) if text is not None else "not found at this revision"
        except PipetoolError as exc:
            read[path] = exc.message
        except ValueError as exc:
            read[path] = f"unreadable: {exc}"
    return read[path]


def _is_folder(source: Any, path: str) -> bool:
    import os

    if getattr(source, "is_revision", False):
        return source.exists(path) and source.read_bytes(path) is None
    return os.path.isdir(os.path.join(source.root, path))


def _read_text(source: Any, path: str) -> str | None:
    """A plot file's text; one in the working tree over the bound is refused before it is read."""
    import os

    from ..files.yamlfile import MAX_DATA_BYTES

    if not getattr(source, "is_revision", False):
        check = getattr(source, "check", None)
        if check is not None:
            check(path)  # inside the project, a regular file (see ProjectFiles), before its size is asked
        try:
            size = os.stat(os.path.join(source.root, path)).st_size
        except OSError:
            size = 0  # the reader says why
        if size > MAX_DATA_BYTES:
            raise PipetoolError(f"over {MAX_DATA_BYTES // 2**20} MiB: not drawn", file=path)
    return source.read_text(path)


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


def image_mime(path: str) -> str | None:
    """The MIME type of an image plot file, by its extension; None for a data file."""
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


def _revision_series(
    definition: PlotDefinition, revision: str, tables: dict[str, list[dict]], confusion: bool
) -> list[Series]:
    several = len(definition.y) > 1
    prefix = _common_prefix([file for file, _ in definition.y]) if several else 0
    found = []
    for index, (y_file, y_column) in enumerate(definition.y):
        rows = tables[y_file]
        y_name = y_column or ("predicted" if confusion else _last_column(rows))
        x_file, x_name = (
            definition.x[index if len(definition.x) > 1 else 0]
            if definition.x
            else ((None, "actual") if confusion else (None, None))
        )
        x_rows = tables[x_file] if x_file is not None else rows
        if len(x_rows) != len(rows):
            raise ValueError(
                f"cannot pair '{x_name}' of {x_file} with '{y_name}' of {y_file}: "
                f"{len(x_rows)} rows against {len(rows)}"
            )
        _require(rows, y_name, y_file)
        if x_name is not None:
            _require(x_rows, x_name, x_file or y_file)
        xs = [row.get(x_name) for row in x_rows] if x_name is not None else list(range(len(rows)))
        label = f"{y_file[prefix:].lstrip('/')}: {y_name}" if several else y_name
        found.append(Series(revision, label, x_name, y_name, xs, [row.get(y_name) for row in rows]))
    return found


def _require(rows: list[dict], column: str, file: str) -> None:
    """A column some row has (JSON records may leave keys out); ValueError naming those there are."""
    if rows and not any(column in row for row in rows):
        names = list(dict.fromkeys(str(key) for row in rows[:100] for key in row))
        raise ValueError(f"{file} has no column '{column}' (it has {', '.join(names) or 'none'})")


def _last_column(rows: list[dict]) -> str:
    return list(rows[0])[-1] if rows and rows[0] else "y"


def _common_prefix(files: list[str]) -> int:
    """The length of the folder all files share, left out of their labels (as DVC does)."""
    import posixpath

    unique = set(files)
    if len(unique) < 2:
        return 0
    return len(posixpath.commonpath(list(unique)))


def x_is_numeric(drawn: list[Series]) -> bool:
    """Whether the x axis is numbers (the row number, or any x value a number), else text."""
    return any(line.x_name is None or any(not math.isnan(as_number(x)) for x in line.xs) for line in drawn)


def _points(line: Series, numeric_x: bool) -> tuple[list, list[float], list[tuple[str, Any]]]:
    """(xs, ys, the column and value found not a number, one per row not drawn) of a line: a
    row whose y (or, on a number axis, x) is not a number leaves a gap, as Vega-Lite leaves one."""
    ys = [as_number(y) for y in line.ys]
    xs = [as_number(x) for x in line.xs] if numeric_x else [category(x) for x in line.xs]
    bad = [
        (line.y_name, raw_y) if math.isnan(y) else (str(line.x_name), raw_x)
        for x, y, raw_x, raw_y in zip(xs, ys, line.xs, line.ys, strict=False)
        if math.isnan(y) or (numeric_x and math.isnan(x))
    ]
    return xs, ys, bad


def bars_of(line: Series, ordered: bool) -> tuple[list[tuple[str, float]], int]:
    """(name, length) of each bar drawn, and how many rows have a length that is not a number."""
    pairs = [(category(name), as_number(value)) for name, value in zip(line.ys, line.xs, strict=False)]
    drawn = [pair for pair in pairs if not math.isnan(pair[1])]
    if ordered:
        drawn.sort(key=lambda pair: pair[1])
    return (drawn[-MAX_BARS:] if ordered else drawn[:MAX_BARS]), len(pairs) - len(drawn)


def class_labels(line: Series) -> list[str]:
    """The classes of a confusion matrix: every actual (x) and predicted (y) value, as text, sorted."""
    return sorted({category(v) for v in line.xs} | {category(v) for v in line.ys})


def confusion_counts(line: Series, labels: list[str], normalized: bool = False) -> list[list[float]]:
    """counts[p][a]: how many rows of actual class labels[a] (x) were predicted as labels[p] (y),
    as ints; normalized, each actual class's column divided by its total (sums to 1). labels:
    class_labels(line). The one count behind `plots show`'s matrices and the UI's heat maps."""
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for actual, predicted in zip(line.xs, line.ys, strict=False):
        counts[index[category(predicted)]][index[category(actual)]] += 1
    if not normalized:
        return counts
    totals = [sum(counts[p][a] for p in range(len(labels))) or 1 for a in range(len(labels))]
    return [[cell / totals[a] for a, cell in enumerate(row)] for row in counts]


def _drawing_notes(plot: Plot, drawn: list[Series]) -> list[str]:
    """What the chart leaves out, per revision and line: rows whose values are not numbers,
    bars past MAX_BARS, confusion matrices of more than MAX_CLASSES classes."""
    template = plot.definition.template
    notes = []
    numeric_x = x_is_numeric(drawn)
    for line in drawn:
        where = f"{line.revision}: {line.label}" if line.label != line.y_name else line.revision
        if template in (CONFUSION, CONFUSION_NORMALIZED):
            count = len(class_labels(line))
            if count > MAX_CLASSES:
                notes.append(f"{where}: {count} classes, more than the {MAX_CLASSES} a matrix shows: not drawn")
            continue
        if template in BARS:
            _, skipped = bars_of(line, template == BARS[1])
            bad = [(line.x_name or "x", value) for value in line.xs if math.isnan(as_number(value))]
            if len(line.ys) - skipped > MAX_BARS:
                which = "the largest" if template == BARS[1] else "the first"
                notes.append(f"{where}: {len(line.ys) - skipped} bars: {which} {MAX_BARS} drawn")
        else:
            bad = _points(line, numeric_x)[2]
        if bad:
            notes.append(_not_drawn(where, bad, len(line.ys)))
    return notes


def _not_drawn(where: str, bad: list[tuple[str, Any]], total: int) -> str:
    """The note for rows not drawn, given (column, value) of each."""
    columns = " or ".join(f"'{name}'" for name in dict.fromkeys(name for name, _ in bad))
    large = any(isinstance(cell_value(value), (int, float)) and not isinstance(value, bool) for _, value in bad)
    return (
        f"{where}: {len(bad)} of {total} rows not drawn: {columns} is not a number "
        f"{'(or not within ±1e300) ' if large else ''}there"
    )


def render_html(plots: list[Plot], title: str) -> str:
    """The page: per plot a heading, an inlined PNG (or the image files, per revision), and
    the data it was drawn from."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}img{max-width:100%}"
        "td,th{padding:2px 8px;text-align:right}.err{color:#a00}.note{color:#555}"
        "figure{display:inline-block;margin:0 1em 1em 0}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for plot in plots:
        chart = _chart(plot) if plot.tables else None  # first: a chart that fails adds a note
        parts.append(f"<h2>{html.escape(plot.definition.heading)}</h2>")
        parts.extend(f"<p class='note'>{html.escape(note)}</p>" for note in plot.notes)
        for revision, error in plot.errors.items():
            parts.append(f"<p class='err'>{html.escape(revision)}: {html.escape(error)}</p>")
        alt = html.escape(plot.definition.id, quote=True)
        if plot.images:
            mime = image_mime(plot.definition.files[0])
            parts.extend(
                f"<figure><img alt='{alt}' src='data:{mime};base64,{base64.b64encode(data).decode()}'>"
                f"<figcaption>{html.escape(rev)}</figcaption></figure>"
                for rev, data in plot.images.items()
            )
        if chart is not None:
            parts.append(f"<img alt='{alt}' src='data:image/png;base64,{chart}'>")
        if plot.tables:
            parts.append(_series_table(plot))
    parts.append("</body></html>")
    return "\n".join(parts)


def _series_table(plot: Plot) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(rev)}</td><td>{sum(map(len, files.values()))}</td></tr>"
        for rev, files in plot.tables.items()
    )
    payload = html.escape(json.dumps(plot.series, default=str))
    return (
        f"<details><summary>series</summary><table><tr><th>revision</th><th>rows</th></tr>{rows}"
        f"</table><pre class='data'>{payload}</pre></details>"
    )


def _chart(plot: Plot) -> str | None:
    """The PNG of a plot, base64; None, with a note saying why, where matplotlib cannot draw it.
    Values are checked before they reach matplotlib (see tables.as_number); this is the last guard,
    so that no file's content makes `plots show` stop with a traceback."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing glyphs, an empty legend: the page says what matters
            return _png(plot)
    except (ValueError, TypeError, ArithmeticError, RuntimeError, MemoryError) as exc:
        plot.notes.append(f"not drawn: matplotlib could not draw these values ({type(exc).__name__}: {exc})")
        return None


class _Figures:
    """What the drawing functions ask of pyplot (subplots), from matplotlib's Figure alone: pyplot's
    import (its backends, its figure manager) costs about as much as drawing a page of charts."""

    @staticmethod
    def subplots(*args, **kwargs):
        from matplotlib.figure import Figure

        figure = Figure(figsize=kwargs.pop("figsize", None))
        return figure, figure.subplots(*args, **kwargs)


def _png(plot: Plot) -> str:
    import matplotlib

    plt = _Figures

    template = plot.definition.template
    drawn = series(plot)
    with matplotlib.rc_context({"text.parse_math": False}):  # a '$' in a column name is text, not TeX
        if template in (CONFUSION, CONFUSION_NORMALIZED):
            figure = _confusion(plt, plot.definition, drawn, normalized=template == CONFUSION_NORMALIZED)
        elif template in BARS:
            figure = _bars(plt, plot.definition, drawn, ordered=template == BARS[1])
        else:
            figure = _lines(plt, plot.definition, drawn, points=template == SCATTER)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)  # Agg: a Figure of its own draws with it
    return base64.b64encode(buffer.getvalue()).decode()


def axis_labels(definition: PlotDefinition, drawn: list[Series]) -> tuple[str, str]:
    """x_label and y_label, else the one column drawn on that axis (DVC's defaults)."""
    x_names = {line.x_name for line in drawn}
    y_names = {line.y_name for line in drawn}
    x_default = "step" if x_names <= {None} else (next(iter(x_names)) if len(x_names) == 1 else "x")
    y_default = next(iter(y_names)) if len(y_names) == 1 else "y"
    return definition.x_label or x_default, definition.y_label or y_default


def line_label(line: Series, drawn: list[Series]) -> str:
    """A line's legend entry among drawn: its revision and/or its file and column, whichever differ."""
    revisions = {other.revision for other in drawn}
    labels = {other.label for other in drawn}
    parts = ([line.revision] if len(revisions) > 1 or len(labels) == 1 else []) + (
        [line.label] if len(labels) > 1 else []
    )
    return " ".join(parts)


def _lines(plt, definition: PlotDefinition, drawn: list[Series], points: bool):
    figure, ax = plt.subplots(figsize=(7, 4.5))
    numeric_x = x_is_numeric(drawn)
    for line in drawn:
        xs, ys, bad = _points(line, numeric_x)
        if points:
            ax.scatter(xs, ys, label=line_label(line, drawn))
        else:  # with gaps, a marker per point: one alone between two gaps would not show
            ax.plot(xs, ys, label=line_label(line, drawn), marker="." if bad else None)
    x_label, y_label = axis_labels(definition, drawn)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure


def _panels(plt, count: int):
    figure, axes = plt.subplots(1, max(count, 1), figsize=(4.2 * max(count, 1), 4), squeeze=False)
    return figure, axes[0]


def _confusion(plt, definition: PlotDefinition, drawn: list[Series], normalized: bool):
    """A matrix of (actual = x, predicted = y) counts per revision and y, side by side; rows
    normalized to sum to 1 for confusion_normalized."""
    figure, axes = _panels(plt, len(drawn))
    x_label, y_label = axis_labels(definition, drawn)
    for ax, line in zip(axes, drawn, strict=False):
        ax.set_title(line_label(line, drawn) or line.revision)
        labels = class_labels(line)
        if not labels or len(labels) > MAX_CLASSES:
            ax.text(0.5, 0.5, f"{len(labels)} classes: not drawn" if labels else "no rows", ha="center")
            ax.set_axis_off()
            continue
        counts = confusion_counts(line, labels, normalized)  # [predicted][actual]
        image = ax.imshow(counts, cmap="Blues")
        if len(labels) <= NUMBERED_CLASSES:
            for i, row in enumerate(counts):
                for j, cell in enumerate(row):
                    ax.text(
                        j,
                        i,
                        f"{cell:.2f}" if normalized else str(int(cell)),
                        ha="center",
                        va="center",
                        color=text_colour(image.cmap(image.norm(cell))),
                    )
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
    figure.tight_layout()
    return figure


def text_colour(background: tuple) -> str:
    """Black on a light cell, white on a dark one: by the cell's relative luminance (sRGB)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in background[:3])
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "white" if luminance < 0.179 else "black"


def _bars(plt, definition: PlotDefinition, drawn: list[Series], ordered: bool):
    """Horizontal bars: the x values, one bar per y value (its name), per revision and y; a row
    whose x is not a number has no bar (see _drawing_notes)."""
    figure, axes = _panels(plt, len(drawn))
    x_label, y_label = axis_labels(definition, drawn)
    for ax, line in zip(axes, drawn, strict=False):
        bars, _ = bars_of(line, ordered)
        ax.barh([name for name, _ in bars], [value for _, value in bars])
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title(line_label(line, drawn) or line.revision)
    figure.tight_layout()
    return figure


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PipetoolError("plots need matplotlib", hint="pip install 'pipetool[plots]'") from None
