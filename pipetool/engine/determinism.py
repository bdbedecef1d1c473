"""Run a stage twice from the same inputs: do its two runs agree? (`verify --runs 2`,
`repro --check-determinism`.) A stage whose runs differ, by the rule its outs declare, is
nondeterministic: a seed, a clock or a thread order in the stage, not a fault of the commit."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from typing import Any

from ..files.equivalence import EXACT, TOLERANCE, Comparison, Equivalence, compare
from ..pipeline.stage import Out
from ..storage.cache import remove_path
from ..storage.lock import LockEntry
from .reporter import Reporter
from .repro import ReproOptions, ReproResult, repro
from .workspace import Workspace


@dataclass
class OutDifference:
    path: str
    locked: str
    produced: str | None  # None when the rerun did not produce it
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (locked, produced)
    within_tolerance: bool = False
    rule: str = EXACT  # how it was compared: exact, skip, "rtol X, atol Y"
    comparison: Comparison | None = None  # the largest difference and where, or the first one

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "comparison"}
        if self.comparison is not None:
            data.update(self.comparison.as_dict())
        return data


def out_rules(outs: tuple[Out, ...], metrics_tolerance: float | None) -> dict[str, Out]:
    """Each out by path, a metrics file declared exact getting --metrics-tolerance as its atol."""
    found = {}
    for out in outs:
        if metrics_tolerance is not None and out.kind == "metric" and out.verify.mode == EXACT:
            out = replace(out, verify=Equivalence(TOLERANCE, 0.0, metrics_tolerance))
        found[out.path] = out
    return found


class Files:
    """Where the bytes of the rerun's outs are read: the worktree, or a copy of the first run."""

    def __init__(self, root: str) -> None:
        self.root = root

    def read(self, path: str) -> bytes | None:
        try:
            with open(os.path.join(self.root, path), "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(os.path.join(self.root, path))


def hold(root: str, outs: list[Out], into: str) -> None:
    """Copy these outs (files or folders, those that exist) from the worktree into a folder."""
    for out in outs:
        source, dest = os.path.join(root, out.path), os.path.join(into, out.path)
        if os.path.isdir(source):
            shutil.copytree(source, dest, symlinks=False, dirs_exist_ok=True)
        elif os.path.exists(source):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(source, dest)


def put_back(root: str, outs: list[Out], held: str) -> None:
    """A persist out as it was before the first run, so the second starts from the same state."""
    for out in outs:
        source, dest = os.path.join(held, out.path), os.path.join(root, out.path)
        remove_path(dest)
        if os.path.isdir(source):
            shutil.copytree(source, dest)
        elif os.path.exists(source):
            shutil.copyfile(source, dest)


def second_runs(
    ws: Workspace,
    root: str,
    ran: list[str],
    produced: dict[str, LockEntry],
    first: Files,
    before: str,
    metrics_tolerance: float | None,
    reporter: Reporter,
) -> dict[str, list[OutDifference]]:
    """Run each stage once more, alone, downstream ones first: each then reads exactly the
    inputs its first run read. Returns, by stage, the outs that came out different."""
    order = sorted((ws.graph.order.index(ws.graph.index[name]), name) for name in ran)
    unstable: dict[str, list[OutDifference]] = {}
    for _, name in reversed(order):
        stage = ws.graph.stage(name)
        put_back(root, [out for out in stage.outs if out.persist], before)
        result = repro(
            ws,
            ReproOptions(targets=(ws.graph.index[name],), single=True, force=True, run_cache=False),
            reporter,
        )
        if name not in result.ran:
            unstable[name] = [OutDifference("(the second run failed)", "-", None)]
            continue
        again = {record.path: record for record in ws.locks.read()[name].outs}
        by_path = out_rules(stage.outs, metrics_tolerance)
        differences = []
        for record in produced[name].outs:
            new = again.get(record.path)
            if new is not None and new.hash == record.hash:
                continue
            rule = by_path.get(record.path)
            equivalence = rule.verify if rule is not None else Equivalence()
            comparison = compare_files(record.path, first, Files(root), equivalence)
            if comparison.verdict not in ("identical", "equivalent", "skipped"):
                differences.append(
                    OutDifference(
                        record.path,
                        record.hash,
                        new.hash if new else None,
                        rule=equivalence.describe(),
                        comparison=comparison,
                    )
                )
        if differences:
            unstable[name] = differences
    return unstable


def compare_files(path: str, old: Files, new: Files, rule: Equivalence) -> Comparison:
    """Compare an out's two versions by its rule; a folder file by file."""
    if new.is_dir(path) or old.is_dir(path):
        return compare_folder(path, old, new, rule)
    return compare(path, old.read(path), new.read(path), rule)


def compare_folder(path: str, old: Files, new: Files, rule: Equivalence) -> Comparison:
    names = set(walk(os.path.join(old.root, path))) | set(walk(os.path.join(new.root, path)))
    largest: Comparison | None = None
    for name in sorted(names):
        inner = f"{path}/{name}"
        found = compare(inner, old.read(inner), new.read(inner), rule)
        if found.verdict == "differs":
            found.where = f"{name}: {found.where}" if found.where else name
            return found
        if found.verdict == "equivalent" and (largest is None or (found.largest or 0) > (largest.largest or 0)):
            found.where = f"{name}: {found.where}" if found.where else name
            largest = found
    return largest or Comparison("identical")


def walk(folder: str) -> list[str]:
    return [
        os.path.relpath(os.path.join(top, name), folder).replace(os.sep, "/")
        for top, _, names in os.walk(folder)
        for name in names
    ]


def repro_checking_determinism(
    ws: Workspace, options: ReproOptions, reporter: Reporter
) -> tuple[ReproResult, dict[str, list[OutDifference]]]:
    """repro, then every stage that ran once more from the same inputs (downstream first); a
    warning names each stage whose runs differ. The lock records the second run."""
    if options.dry:
        return repro(ws, options, reporter), {}
    held = tempfile.mkdtemp(prefix="pipetool-determinism-")
    try:
        before = os.path.join(held, "before")
        hold(ws.project.root, [o for s in ws.graph.stages for o in s.outs if o.persist], before)
        result = repro(ws, options, reporter)
        ran = [name for name in result.ran if name not in result.failed]
        if not ran:
            return result, {}
        first = Files(os.path.join(held, "first"))
        hold(ws.project.root, [o for name in ran for o in ws.graph.stage(name).outs], first.root)
        unstable = second_runs(ws, ws.project.root, ran, ws.locks.read(), first, before, None, reporter)
        for name, differences in unstable.items():
            reporter.warning(f"stage '{name}' is nondeterministic: " + "; ".join(describe(d) for d in differences))
        return result, unstable
    finally:
        shutil.rmtree(held, ignore_errors=True)


def describe(difference: OutDifference) -> str:
    """How an out's two versions differ, in a few words."""
    comparison = difference.comparison
    if comparison is None:
        return f"'{difference.path}'"
    parts = [f"'{difference.path}'"]
    if comparison.where:
        parts.append(f"{comparison.where}: {comparison.old!r} -> {comparison.new!r}")
    if comparison.note:
        parts.append(comparison.note)
    return " ".join(parts[:1]) + (f" ({', '.join(parts[1:])})" if parts[1:] else " differs")
