"""Merging pipeline.lock per stage, as a git merge driver: never conflict markers.

A stage changed on one side takes that side; changed on both sides to different results, it is
dropped (a placeholder that status reports and repro reruns), so the merged lock stays valid.
"""

from __future__ import annotations

from .lock import DROPPED_ENTRY, LockEntry, parse, render


def merge(base: dict[str, LockEntry], ours: dict[str, LockEntry], theirs: dict[str, LockEntry]) -> dict[str, LockEntry]:
    merged: dict[str, LockEntry] = {}
    for name in sorted(set(base) | set(ours) | set(theirs)):
        old, mine, other = base.get(name), ours.get(name), theirs.get(name)
        if mine == other or other == old:
            chosen = mine
        elif mine == old:
            chosen = other
        else:
            chosen = DROPPED_ENTRY
        if chosen is not None:
            merged[name] = chosen
    return merged


def merge_files(base_path: str, ours_path: str, theirs_path: str) -> list[str]:
    """Merge into ours_path (git's %A); returns the names of the dropped stages."""
    texts = []
    for path in (base_path, ours_path, theirs_path):
        with open(path, encoding="utf-8") as handle:
            texts.append(handle.read())
    base, ours, theirs = (parse(text) if text.strip() else {} for text in texts)
    merged = merge(base, ours, theirs)
    with open(ours_path, "w", encoding="utf-8") as handle:
        handle.write(render(merged))
    return [name for name, entry in merged.items() if entry.dropped_in_merge and ours.get(name) != entry]
