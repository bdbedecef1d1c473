"""`pipetool metrics show`: the workspace's metrics as a table."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="metrics of the workspace")
    show.add_argument("--json", action="store_true", help="print as JSON")
    show.add_argument("--precision", type=int, default=5, help="digits after the point (default 5)")


def run(args: argparse.Namespace) -> int:
    import json

    from tabulate import tabulate

    from .. import graph as graph_mod
    from .. import spec
    from ..metrics import metric_paths, read_metrics
    from ..project import find

    project = find()
    graph = graph_mod.build(spec.load(project.root))
    table: dict[str, dict] = {}
    for path in metric_paths(graph):
        try:
            table[path] = read_metrics(project.root, path)
        except FileNotFoundError:
            table[path] = {"error": "missing (run 'pipetool repro')"}
        except (OSError, ValueError) as exc:
            table[path] = {"error": f"unreadable: {exc}"}
    if args.json:
        print(json.dumps(table, indent=2, default=str))
        return 0
    rows = [(path, key, _fmt(value, args.precision)) for path, values in table.items()
            for key, value in values.items()]
    print(tabulate(rows, headers=["Path", "Metric", "Value"]) if rows else "No metrics declared.")
    return 0


def _fmt(value, precision: int) -> str:
    if isinstance(value, float):
        return f"{value:.{precision}g}" if abs(value) >= 1e6 else str(round(value, precision))
    return str(value)
