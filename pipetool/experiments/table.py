"""The experiments table (`exp show`): a row for each baseline and each experiment on it, with the
params and metrics read from their commits (metrics.py), the columns whose values differ
(compare.py decides what differs), sorted by one of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ExperimentError, did_you_mean
from ..pipeline.params import ABSENT
from ..revisions.compare import Row as Pair
from ..revisions.git import GitRepo, Revisions
from ..revisions.metrics import FileValues, read_metrics, read_params
from ..revisions.tables import fmt
from . import refs, snapshot


@dataclass
class Row:
    name: str
    sha: str
    baseline: str  # sha of the baseline (its own sha for a baseline row)
    is_baseline: bool
    created: int
    params: dict[str, FileValues]
    metrics: dict[str, FileValues]


@dataclass(frozen=True)
class Column:
    kind: str  # "metrics" | "params"
    path: str
    key: str
    label: str


def collect(root: str, all_baselines: bool = False) -> list[Row]:
    """HEAD's row and its experiments' rows; with all_baselines every baseline that has experiments."""
    repo = GitRepo(root)
    head = snapshot.head(repo)
    experiments = refs.local(repo, None if all_baselines else head)
    baselines = list(dict.fromkeys([head] + [e.baseline for e in experiments]))
    revisions = Revisions(root)
    rows = []
    for baseline in baselines:
        label = refs.baseline_label(repo, baseline, head)
        rows.append(_row(revisions, label, baseline, baseline, True))
        rows += [
            _row(revisions, e.name, e.sha, baseline, False, e.created) for e in experiments if e.baseline == baseline
        ]
    return rows


def _row(revisions: Revisions, name: str, sha: str, baseline: str, is_baseline: bool, created: int = 0) -> Row:
    _, source, stages = revisions.load(sha)
    if is_baseline:
        created = revisions.git.revision(sha).timestamp
    return Row(
        name,
        sha,
        baseline,
        is_baseline,
        created,
        read_params(source, stages),
        read_metrics(source, stages, revisions.cache),
    )


def value(row: Row, column: Column) -> Any:
    files = row.metrics if column.kind == "metrics" else row.params
    return files.get(column.path, FileValues()).values.get(column.key, ABSENT)


def columns(rows: list[Row], all_columns: bool = False) -> list[Column]:
    """Metrics then params; only those whose values differ between rows unless all_columns
    (a single row shows everything: there is nothing to compare it with)."""
    found: list[Column] = []
    for kind in ("metrics", "params"):
        keys = list(
            dict.fromkeys(
                (path, key) for row in rows for path, files in getattr(row, kind).items() for key in files.values
            )
        )
        repeated = {key for _, key in keys if sum(1 for _, k in keys if k == key) > 1}
        found += [Column(kind, path, key, f"{path}:{key}" if key in repeated else key) for path, key in keys]
    if all_columns or len(rows) < 2:
        return found
    return [c for c in found if _differs([value(row, c) for row in rows])]


def _differs(values: list[Any]) -> bool:
    return any(Pair("", "", values[0], other).changed for other in values[1:])


def find_column(found: list[Column], text: str) -> Column:
    """The column a --sort-by names: its label, its key, or path:key."""
    for column in found:
        if text in (column.label, column.key, f"{column.path}:{column.key}"):
            return column
    hint = did_you_mean(text, [c.label for c in found])
    raise ExperimentError(
        f"--sort-by {text}: no such metric or param in the table",
        hint=hint or "name a column of 'pipetool exp show --all-columns'",
    )


def sort_rows(rows: list[Row], column: Column, descending: bool = False) -> list[Row]:
    """Each baseline stays first among its experiments, which are ordered by the column; rows
    without a value (or with text where others have numbers) go last either way."""
    result: list[Row] = []
    for baseline in dict.fromkeys(r.baseline for r in rows):
        group = [r for r in rows if r.baseline == baseline]
        result += [r for r in group if r.is_baseline]
        experiments = [r for r in group if not r.is_baseline]
        numbers = [r for r in experiments if _is_number(value(r, column))]
        texts = [r for r in experiments if not _is_number(value(r, column)) and value(r, column) is not ABSENT]
        absent = [r for r in experiments if value(r, column) is ABSENT]
        numbers.sort(key=lambda r: value(r, column), reverse=descending)
        texts.sort(key=lambda r: str(value(r, column)), reverse=descending)
        result += numbers + texts + absent
    return result


def records(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as plain data (`exp show --json`): an unreadable file as {"error": why}."""

    def files(found: dict[str, FileValues]) -> dict[str, Any]:
        return {path: (v.values if v.error is None else {"error": v.error}) for path, v in found.items()}

    return [
        {
            "name": r.name,
            "rev": r.sha,
            "baseline": r.baseline,
            "experiment": not r.is_baseline,
            "created": r.created,
            "params": files(r.params),
            "metrics": files(r.metrics),
        }
        for r in rows
    ]


def cells(rows: list[Row], found: list[Column], style: str, precision: int | None) -> tuple[list[str], list[list]]:
    """Headers and cells of the table in a tables.render style ("plain", "md", "csv"): experiments
    drawn as branches under their baseline, except in CSV, which has a Baseline column instead."""
    csv = style == "csv"
    headers = ["Experiment", "Rev"] + (["Baseline"] if csv else []) + [c.label for c in found]
    table = []
    for number, row in enumerate(rows):
        name = row.name if row.is_baseline or csv else _branch_glyph(rows, number) + row.name
        extra = [row.baseline[:7]] if csv else []
        table.append([name, row.sha[:7], *extra, *(fmt(value(row, c), precision) for c in found)])
    return headers, table


def _branch_glyph(rows: list[Row], number: int) -> str:
    last = number + 1 == len(rows) or rows[number + 1].is_baseline
    return "└── " if last else "├── "


def errors(rows: list[Row]) -> list[str]:
    """Why a params or metrics file could not be read, for each row where that happened."""
    return [
        f"{path} at {row.name}: {values.error}"
        for row in rows
        for path, values in {**row.params, **row.metrics}.items()
        if values.error
    ]


def _is_number(item: Any) -> bool:
    return isinstance(item, (int, float)) and not isinstance(item, bool)
