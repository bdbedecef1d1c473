"""Stage durations from the lock, and the pipeline's critical path: the slowest chain of stages.

With enough parallel jobs a repro can never finish faster than its critical path, so that is
the chain worth speeding up. Pure: the graph and the recorded durations in, the answer out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..storage.lock import LockEntry
from .graph import Graph


@dataclass(frozen=True)
class Timings:
    durations: dict[str, float | None]  # stage name -> seconds of its recorded run, None if unknown
    critical_path: tuple[str, ...]  # upstream first
    critical_seconds: float
    total_seconds: float  # every selected stage one after the other (what -j 1 takes)

    @property
    def unknown(self) -> list[str]:
        return [name for name, seconds in self.durations.items() if seconds is None]


def durations(graph: Graph, selected: list[int], entries: Mapping[str, LockEntry]) -> dict[str, float | None]:
    """Recorded seconds per selected stage, in the selection's (topological) order."""
    found = {}
    for index in selected:
        stage = graph.stages[index]
        entry = entries.get(stage.name)
        if not stage.cmd:  # tracked data's stage: no command runs, there is nothing to time
            found[stage.name] = 0.0
        else:
            found[stage.name] = entry.duration if entry is not None else None
    return found


def timings(graph: Graph, selected: list[int], entries: Mapping[str, LockEntry]) -> Timings:
    """Durations and the longest-duration path through the selected stages (unknown counts 0)."""
    seconds = durations(graph, selected, entries)
    chosen = set(selected)
    finish: dict[int, float] = {}  # longest chain ending with the stage, its own time included
    via: dict[int, int | None] = {}
    for index in selected:  # topological order: every upstream stage is done before
        ups = [u for u in graph.upstream[index] if u in chosen]
        best = max(ups, key=lambda u: (finish[u], -u), default=None)
        via[index] = best
        finish[index] = (finish[best] if best is not None else 0.0) + (seconds[graph.stages[index].name] or 0.0)
    path: list[str] = []
    end = max(reversed(selected), key=finish.__getitem__, default=None)  # ties: the most downstream
    if all(s is None for s in seconds.values()):
        end = None  # nothing recorded: no path to speak of
    node = end
    while node is not None:
        path.append(graph.stages[node].name)
        node = via[node]
    path.reverse()
    return Timings(
        durations=seconds,
        critical_path=tuple(path),
        critical_seconds=finish[end] if end is not None else 0.0,
        total_seconds=sum(s or 0.0 for s in seconds.values()),
    )


def seconds_text(seconds: float | None) -> str:
    """1.61s, 2m05s, 1h02m; '-' when not recorded."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def render(result: Timings) -> str:
    """A table of the stages' durations with the critical path marked, and a line naming it."""
    on_path = set(result.critical_path)
    width = max([len("Stage")] + [len(name) for name in result.durations])
    lines = [f"  {'Stage':<{width}}  Duration"]
    lines += [
        f"{'*' if name in on_path else ' '} {name:<{width}}  {seconds_text(seconds):>8}"
        for name, seconds in result.durations.items()
    ]
    return "\n".join(lines + summary(result))


def summary(result: Timings) -> list[str]:
    """The critical path in a line, and a note on stages without a recorded duration."""
    lines = []
    if result.critical_path:
        lines.append(
            f"Critical path (*): {seconds_text(result.critical_seconds)} of "
            f"{seconds_text(result.total_seconds)} in all: " + " -> ".join(result.critical_path)
        )
    if result.unknown:
        lines.append(
            f"No duration recorded for {len(result.unknown)} stage(s) (not run yet, or recorded "
            "without one); counted as 0s"
        )
    return lines
