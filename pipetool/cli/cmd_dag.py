"""`pipetool dag`: the stage graph as a tree, dot or Mermaid."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool dag --dot | dot -Tpng -o dag.png"
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="show only these stages with their upstream")
    style = parser.add_mutually_exclusive_group()
    style.add_argument("--dot", action="store_true", help="Graphviz dot")
    style.add_argument("--mermaid", action="store_true", help="Mermaid flowchart (renders in GitHub markdown)")
    parser.add_argument(
        "--timings", action="store_true", help="each stage's recorded duration, and the critical path (marked *)"
    )


def run(args: argparse.Namespace) -> int:
    from ..pipeline.project import find
    from ..planning import spec_cache
    from ..planning.dagview import ascii_tree, dot, mermaid
    from ..planning.plan import select
    from ..planning.targets import resolve

    project = find()
    compiled = spec_cache.load(project.root, project.ensure_state_dir())
    graph = compiled.graph
    targets = resolve(graph, args.targets, project.root) if args.targets else None
    selected = select(graph, targets)
    draw = dot if args.dot else mermaid if args.mermaid else ascii_tree
    if not args.timings:
        print(draw(graph, selected))
        return 0
    from ..planning.timings import seconds_text, summary, timings
    from ..storage.lock import LockStore

    result = timings(graph, selected, LockStore(project.root, project.state_dir, compiled.files).read())
    on_path = set(result.critical_path)

    def label(index: int) -> str:
        name = graph.stages[index].name
        mark = " *" if name in on_path else ""
        return f"{name} ({seconds_text(result.durations[name])}){mark}"

    print(draw(graph, selected, label))
    if not (args.dot or args.mermaid):
        print("\n" + "\n".join(summary(result)))
    return 0
