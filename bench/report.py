"""Collected results and their presentation: the console table, results.json and RESULTS.md."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MACHINE = "machine"  # the "tool" of a baseline row: the same commands without any tool
RATIO_UNITS = ("s", "ms/stage", "GB/s")


@dataclass
class Row:
    workload: str
    measurement: str
    unit: str  # s, ms/stage, GB/s, stages
    values: dict[str, float | str] = field(default_factory=dict)  # tool -> median, or a text
    runs: dict[str, list[float]] = field(default_factory=dict)  # tool -> each run's value


@dataclass
class Results:
    tools: list[str]
    meta: dict = field(default_factory=dict)
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    baselines: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, workload: str, measurement: str, tool: str, value: float | str, unit: str, runs: list[float] | None = None
    ) -> None:
        row = self.rows.setdefault((workload, measurement), Row(workload, measurement, unit))
        row.values[tool] = value
        if runs is not None:
            row.runs[tool] = runs

    def add_baseline(
        self, workload: str, measurement: str, value: float | str, unit: str, runs: list[float] | None = None
    ) -> None:
        self.baselines.append(
            Row(workload, measurement, unit, {MACHINE: value}, {MACHINE: runs} if runs is not None else {})
        )

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def to_json(self) -> dict:
        return {
            "meta": self.meta,
            "tools": self.tools,
            "rows": [asdict(row) for row in self.rows.values()],
            "baselines": [asdict(row) for row in self.baselines],
            "notes": self.notes,
        }


def add_earlier_tool(results: Results, path: Path, tool: str) -> None:
    """Put one tool's figures from an earlier run's JSON beside this run's rows of the same
    measurement; the meta and a note say which run they come from."""
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        rows = {(row["workload"], row["measurement"]): row for row in earlier["rows"]}
        version, date = earlier["meta"][tool], earlier["meta"]["date"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"error: {path} has no {tool} figures to reuse: {error}") from None
    if tool not in results.tools:
        results.tools.append(tool)
    results.meta[tool] = f"{version} (its figures from the run of {date})"
    missing = []
    for key, row in results.rows.items():
        old = rows.get(key)
        if old is None or tool not in old["values"]:
            missing.append(key[1])
            continue
        row.values[tool] = old["values"][tool]
        if tool in old.get("runs", {}):
            row.runs[tool] = old["runs"][tool]
    results.note(f"{tool}'s figures are from the run of {date}, not this one; timed now: pipetool and the baselines")
    if missing:
        results.note(f"no earlier {tool} figure for: {'; '.join(missing)}")


def fmt(value: float | str | None, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "stages":
        return f"{value:g} stages"
    return f"{value:.3g} {unit}" if abs(value) < 1000 else f"{value:.0f} {unit}"


def ratio(row: Row, tools: list[str]) -> str:
    """The last tool's value over the first's (DVC / pipetool), for comparable numbers."""
    first, last = (row.values.get(tool) for tool in (tools[0], tools[-1]))
    numeric = all(isinstance(v, (int, float)) and v > 0 for v in (first, last))
    if not numeric or row.unit not in RATIO_UNITS:
        return "—"
    value = last / first
    return f"{value:.0f}×" if value >= 100 else f"{value:.3g}×"


def runs_cell(row: Row, tools: list[str]) -> str:
    counts = [str(len(row.runs[tool])) if tool in row.runs else "—" for tool in tools]
    return " / ".join(counts)


def main_table(results: Results) -> str:
    tools = results.tools
    headers = ["workload", "measurement", *(f"{tool} (median)" for tool in tools)]
    if len(tools) > 1:
        headers.append(f"{tools[-1]}/{tools[0]}")
    headers.append("runs")
    lines = []
    for row in results.rows.values():
        cells = [row.workload, row.measurement, *(fmt(row.values.get(t), row.unit) for t in tools)]
        if len(tools) > 1:
            cells.append(ratio(row, tools))
        lines.append([*cells, runs_cell(row, tools)])
    return markdown_table(headers, lines)


def baseline_table(results: Results) -> str:
    lines = [
        [row.workload, row.measurement, fmt(row.values[MACHINE], row.unit), str(len(row.runs.get(MACHINE, [])) or "—")]
        for row in results.baselines
    ]
    return markdown_table(["workload", "baseline (no tool)", "median", "runs"], lines)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    numeric = [index >= 2 for index in range(len(headers))]

    def line(cells: list[str]) -> str:
        padded = [
            str(c).rjust(w) if right else str(c).ljust(w) for c, w, right in zip(cells, widths, numeric, strict=False)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if right else ("-" * (w + 2)) for w, right in zip(widths, numeric, strict=False)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def console_report(results: Results) -> str:
    parts = [main_table(results), "", "Machine baselines (the same work without any tool):", baseline_table(results)]
    if results.notes:
        parts += ["", "Notes:", *(f"- {note}" for note in results.notes)]
    return "\n".join(parts)


def write_json(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results.to_json(), indent=2) + "\n", encoding="utf-8")


def write_markdown(results: Results, path: Path) -> None:
    meta = results.meta
    machine = [
        [key, str(meta[key])]
        for key in (
            "date",
            "duration",
            "command",
            "cpu",
            "nproc",
            "memory",
            "os",
            "python",
            "scratch file system",
            "load average at start",
            "load average at end",
            "pipetool",
            "pipetool's python",
            "dvc",
            "dvc's python",
        )
        if key in meta
    ]
    text = "\n".join(
        [
            "# pipetool benchmark results",
            "",
            "Written by `bench/run.py --write-results` (see bench/README.md). pipetool is being",
            "optimized while this harness exists, so refresh these numbers with `make bench-compare`",
            "before quoting them.",
            "",
            "## Machine",
            "",
            markdown_table(["what", "value"], machine),
            "",
            "## Results",
            "",
            "Wall-clock medians; `runs` is the number of runs per tool (every run is in results.json).",
            "Ratios are the second tool's value over the first's: above 1× the second is slower (for",
            "GB/s: faster). Stages run one at a time (no `-j`). The big_data files sit in the page",
            "cache, so its speeds are CPU and memory speeds, not disk speeds.",
            "",
            main_table(results),
            "",
            "## Machine baselines",
            "",
            "The same work without any tool, to tell a tool's overhead from the work itself.",
            "",
            baseline_table(results),
            "",
            "## Notes",
            "",
            *(f"- {note}" for note in results.notes or ["none"]),
            "",
        ]
    )
    path.write_text(text, encoding="utf-8")
