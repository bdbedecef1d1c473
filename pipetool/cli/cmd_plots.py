"""`pipetool plots show|diff`: the stages' and pipeline.yaml's plots across revisions, in one HTML
page a person opens: by default .pipetool/plots/index.html (git-ignored, as DVC writes
dvc_plots/index.html), or the -o FILE asked for."""

from __future__ import annotations

import argparse
import os

DEFAULT_OUT = ".pipetool/plots/index.html"  # inside the state folder, which git ignores


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool plots diff main -o plots.html"
    parser.description = f"The page goes to {DEFAULT_OUT} in the project (git-ignored) unless -o FILE."
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="plots of the workspace or of revisions",
        epilog="Example: pipetool plots show HEAD~1 workspace -o plots.html",
    )
    show.add_argument("revisions", nargs="*", metavar="REV", help="git revisions (default: the workspace)")
    diff = actions.add_parser(
        "diff",
        help="plots of two revisions in one chart (default HEAD vs workspace)",
        epilog="Example: pipetool plots diff main",
    )
    diff.add_argument("a", nargs="?", default="HEAD", metavar="A")
    diff.add_argument("b", nargs="?", default=None, metavar="B", help="default: the workspace")
    for sub in (show, diff):
        sub.add_argument(
            "-o",
            "--out",
            default=None,
            metavar="FILE",
            help=f"the HTML file to write (default {DEFAULT_OUT} in the project, git-ignored)",
        )


def run(args: argparse.Namespace) -> int:
    from ..files.fsutil import atomic_write
    from ..pipeline.project import find
    from ..revisions.git import Revisions
    from ..revisions.plots import collect, render_html, require_matplotlib, stage_plots
    from ..revisions.toplevel import load_revision

    require_matplotlib()
    project = find()
    revisions = Revisions(project.root)
    names = (args.revisions or [None]) if args.action == "show" else [args.a, args.b]
    sides = []
    for name in names:
        label, source, stages, top = load_revision(revisions, name)
        sides.append((label, source, stage_plots(stages) + list(top.plots)))
    plots = collect(sides)
    if not plots:
        declared = any(definitions for _, _, definitions in sides)
        print(
            "Nothing to draw: the plot folders pipeline.yaml names hold no files."
            if declared
            else "No plots declared in pipeline.yaml."
        )
        return 0
    drawing(sum(1 for plot in plots if plot.tables))
    out = args.out
    if out is None:
        project.ensure_state_dir()  # its .gitignore keeps the page out of git
        out = os.path.join(project.root, DEFAULT_OUT)
        os.makedirs(os.path.dirname(out), exist_ok=True)
    atomic_write(out, render_html(plots, "pipetool plots"), durable=False)
    for plot in plots:
        for note in plot.notes:
            print(_printable(f"{plot.definition.heading}: {note}"))
        for revision, error in plot.errors.items():
            print(_printable(f"{plot.definition.heading} at {revision}: {error}"))
    shown = out if args.out is not None else os.path.relpath(out)
    print(_printable(f"Wrote {shown}: {len(plots)} plot(s); open it in a browser"))
    return 0


def drawing(charts: int) -> None:
    """Say that charts are being drawn before the slow part (matplotlib's import and drawing take
    a second or more)."""
    from .reporters import note

    if charts:
        note(f"Drawing {charts} chart{'s' if charts != 1 else ''}…")


def _printable(text: str) -> str:
    """A line holding text from the plot files (column names, values), with any control
    character written as its escape: a terminal would obey it."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
