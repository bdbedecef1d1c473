"""Metrics along the first-parent history: a row per commit, and a plot of each metric."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..errors import PipetoolError
from ..pipeline.pipelines import files_of
from ..pipeline.spec import load_all
from .git import Revision, Revisions
from .metrics import metric_paths, read_metrics


@dataclass
class HistoryRow:
    revision: Revision
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class History:
    keys: list[str]
    rows: list[HistoryRow]


def metrics_history(root: str, rev_range: str | None, wanted: list[str]) -> History:
    """Metrics of every first-parent commit, oldest first; all metrics, or just the wanted keys."""
    revisions = Revisions(root)
    repo, cache = revisions.git, revisions.cache
    paths_by_spec: dict[tuple, list[str]] = {}
    read: list[tuple[Revision, dict[str, dict[str, Any]]]] = []
    for revision in repo.first_parent_history(rev_range):
        source = repo.source(revision)
        found = read_metrics(source, [], cache, _metric_paths(source, paths_by_spec))  # from git, else the cache
        # a broken or missing file at one commit leaves gaps in its row, not a failed command
        read.append((revision, {path: got.values if got.error is None else {} for path, got in found.items()}))
    several = len({path for _, files in read for path in files}) > 1  # one naming for the whole history
    rows = [
        HistoryRow(
            revision,
            {_column(path, key, several): value for path, flat in files.items() for key, value in flat.items()},
        )
        for revision, files in read
    ]
    keys = list(dict.fromkeys(k for row in rows for k in row.values))
    if wanted:
        missing = [w for w in wanted if w not in keys]
        if missing:
            raise PipetoolError(
                f"no metric named {', '.join(repr(m) for m in missing)} in this history",
                hint="known metrics: " + ", ".join(keys[:12]),
            )
        keys = wanted
    return History(keys, rows)


def _column(path: str, key: str, several: bool) -> str:
    return f"{path}:{key}" if several else key


def _metric_paths(source, cache: dict[tuple, list[str]]) -> list[str]:
    """Metric paths of a commit; parsed once per distinct set of pipeline and params files."""
    files = files_of(source)
    key = tuple(
        (path, source.blob_id(path), source.blob_id(posixpath.join(posixpath.dirname(path), "params.yaml")))
        for path in files
    )
    if key not in cache:
        try:
            cache[key] = metric_paths(load_all(source, files)) if files else []
        except PipetoolError:
            cache[key] = []  # an invalid pipeline.yaml at an old commit: no metrics there
    return cache[key]


MAX_TICK_LABELS = 30  # commits named on the x axis; with more, every k-th (each tick costs ~5 ms)


def plot_history(history: History, path: str) -> None:
    """One panel per metric over the commits, as a PNG (matplotlib's Figure, drawn by Agg,
    without pyplot's import)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PipetoolError("--plot needs matplotlib", hint="pip install 'pipetool[plots]'") from None

    numeric = numeric_keys(history)
    if not numeric:
        raise PipetoolError("no numeric metric to plot")
    labels = [r.revision.name for r in history.rows]
    fig = Figure(figsize=(max(6, min(len(labels), 60) * 0.35), 2.6 * len(numeric)))
    axes = fig.subplots(len(numeric), 1, squeeze=False, sharex=True)
    for ax, key in zip(axes[:, 0], numeric, strict=False):
        points = [(i, r.values[key]) for i, r in enumerate(history.rows) if _is_number(r.values.get(key))]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    step = -(-len(labels) // MAX_TICK_LABELS)  # ceiling division
    ticks = list(range(0, len(labels), step))
    axes[-1, 0].set_xticks(ticks, [labels[i] for i in ticks], rotation=60, ha="right", fontsize=8)
    fig.suptitle("metrics over commits (oldest left)")
    # fixed margins in inches (tight_layout measures every tick: half a second for this page)
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=0.9 / width, right=1 - 0.2 / width, top=1 - 0.55 / height, bottom=0.95 / height)
    fig.savefig(path, dpi=100)


def numeric_keys(history: History) -> list[str]:
    """The metrics plot_history draws: those with a number in some commit."""
    return [k for k in history.keys if any(_is_number(r.values.get(k)) for r in history.rows)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
