"""`pipetool __complete stages|targets` (hidden): words for the shell completion scripts.

Run on every TAB, so it is quick and silent: outside a project, or with a broken
pipeline.yaml, it prints nothing and exits 0.
"""

from __future__ import annotations

import argparse

KINDS = ("stages", "targets")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS)


def run(args: argparse.Namespace) -> int:
    return complete([args.kind])


def complete(words: list[str]) -> int:
    if len(words) != 1 or words[0] not in KINDS:
        return 2
    try:
        names = candidates(words[0])
    except Exception:  # noqa: BLE001 - a completion must never print a traceback into the prompt
        return 0
    print("\n".join(names))
    return 0


def candidates(kind: str) -> list[str]:
    """Stage names and foreach/matrix group names; for targets also out paths (from the cwd)."""
    import os

    from ..pipeline.project import find
    from ..planning.spec_cache import load

    project = find()
    stages = load(project.root, project.ensure_state_dir()).stages
    names = list(dict.fromkeys([s.name.split("@", 1)[0] for s in stages if "@" in s.name] + [s.name for s in stages]))
    if kind == "stages":
        return names
    here = os.getcwd()
    paths = [os.path.relpath(os.path.join(project.root, path), here) for s in stages for path in s.out_paths]
    return names + [p for p in paths if not p.startswith("..")]
