"""`pipetool metrics show|diff|history`: metrics of the workspace and of git revisions."""

from __future__ import annotations

import argparse

from .common import add_diff_parser, add_format_options, add_revision_listing, print_diff


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool metrics diff main --md"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="metrics of the workspace or of revisions",
        epilog="Example: pipetool metrics show HEAD~1 workspace",
    )
    show.add_argument("revisions", nargs="*", metavar="REV", help="git revisions (default: the workspace)")
    add_revision_listing(show)
    add_format_options(show, csv=True)
    add_diff_parser(actions, "metrics", "pipetool metrics diff main --md")
    history = actions.add_parser(
        "history",
        help="metrics along the first-parent history, a row per commit",
        epilog="Example: pipetool metrics history model.accuracy --plot acc.png",
    )
    history.add_argument("metrics", nargs="*", metavar="METRIC", help="metric keys to show (default: all)")
    history.add_argument("--rev-range", metavar="R", help="commits as in 'git log R' (default: HEAD)")
    history.add_argument("--plot", metavar="FILE.png", help="also draw each metric over the commits")
    add_format_options(history, csv=True)


def run(args: argparse.Namespace) -> int:
    from ..pipeline.project import find

    project = find()
    if args.action == "show":
        return _show(project.root, args)
    if args.action == "diff":
        return _diff(project.root, args)
    return _history(project.root, args)


def _show(root: str, args: argparse.Namespace) -> int:
    import json
    import sys

    from ..revisions.git import Revisions
    from ..revisions.tables import fmt, render

    revisions = Revisions(root)
    names = list(args.revisions) + revisions_listed(revisions, args)
    table: dict[str, dict] = {}
    for name in names or [None]:
        label, files = _metrics_of(revisions, name)
        table[label] = files
    if args.json:
        print(
            json.dumps(
                {
                    rev: {p: (f.values if f.error is None else {"error": f.error}) for p, f in files.items()}
                    for rev, files in table.items()
                },
                indent=2,
                default=str,
            )
        )
        return 0
    keys = list(dict.fromkeys(k for files in table.values() for f in files.values() for k in f.values))
    by_revision = bool(names)  # the workspace alone needs no Revision column
    headers = (["Revision"] if by_revision else []) + ["Path"] + keys
    rows, problems = [], []
    for rev, files in table.items():
        for path, values in files.items():
            if values.error:  # said apart, so the columns stay metrics only
                problems.append(f"{path}{f' at {rev}' if by_revision else ''}: {values.error}")
                if _style(args) != "csv":  # CSV keeps a full grid, gaps as '-'
                    continue
            cells = [fmt(values.values.get(k, _absent()), args.precision) for k in keys]
            rows.append(([rev] if by_revision else []) + [path] + cells)
    if rows:
        print(render(headers, rows, _style(args)))
    elif not problems:
        print("No metrics declared in pipeline.yaml.")
    for problem in problems:
        print(problem, file=sys.stderr if _style(args) == "csv" else sys.stdout)
    return 0


def revisions_listed(revisions, args: argparse.Namespace) -> list[str]:
    if not (args.all_commits or args.all_branches or args.all_tags):
        return []
    return revisions.git.names(args.all_branches, args.all_tags, args.all_commits)


def _absent():
    from ..pipeline.params import ABSENT

    return ABSENT


def _style(args: argparse.Namespace) -> str:
    return "md" if args.md else "csv" if getattr(args, "csv", False) else "plain"


def _diff(root: str, args: argparse.Namespace) -> int:
    from ..revisions.git import Revisions

    revisions = Revisions(root)
    print_diff([_metrics_of(revisions, rev) for rev in (args.a, args.b)], args, "Metric")
    return 0


def _metrics_of(revisions, rev: str | None) -> tuple[str, dict]:
    """(label, metrics files read) of a revision; the cache is opened only when a file is not in git."""
    from ..revisions.declared import declared_metrics
    from ..revisions.metrics import read_metric_files

    label, source, declared = declared_metrics(revisions, rev)
    return label, read_metric_files(source, declared, lambda: revisions.cache)


def _history(root: str, args: argparse.Namespace) -> int:
    from ..revisions.history import metrics_history, plot_history
    from ..revisions.tables import fmt, render

    history = metrics_history(root, args.rev_range, args.metrics)
    if args.plot:
        from ..revisions.history import numeric_keys
        from .cmd_plots import drawing

        drawing(len(numeric_keys(history)))
        plot_history(history, args.plot)
    if args.json:
        import json

        print(
            json.dumps(
                [
                    {
                        "commit": r.revision.sha,
                        "message": r.revision.summary,
                        "metrics": {k: r.values[k] for k in history.keys if k in r.values},
                    }
                    for r in history.rows
                ],
                indent=2,
                default=str,
            )
        )
        return 0
    rows = [
        [r.revision.name, _short(r.revision.summary)]
        + [fmt(r.values.get(k, _absent()), args.precision) for k in history.keys]
        for r in history.rows
    ]
    print(render(["Commit", "Message"] + history.keys, rows, _style(args)))
    if args.plot:
        print(f"Plot written to {args.plot}")
    return 0


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
