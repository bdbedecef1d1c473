"""`exp diff`: the params and metrics of two experiments (or revisions, or the workspace), read as
(label, files) sides for compare.diff."""

from __future__ import annotations

from ..revisions.git import Revisions
from ..revisions.metrics import FileValues, read_metrics, read_params
from . import refs

Side = tuple[str, dict[str, FileValues]]  # a label and the values of each file read there


def sides(root: str, a: str | None, b: str | None) -> tuple[list[Side], list[Side]]:
    """The params sides and the metrics sides of a and b: experiment names, git revisions, or
    None / 'workspace' for the workspace. A side is labelled as named (the workspace by itself)."""
    revisions = Revisions(root)
    params: list[Side] = []
    metrics: list[Side] = []
    for text in (a, b):
        label, source, stages = revisions.load(refs.revision(revisions.git, text))
        label = text or label
        params.append((label, read_params(source, stages)))
        metrics.append((label, read_metrics(source, stages, revisions.cache)))
    return params, metrics
