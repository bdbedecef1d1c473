"""What every command does first: find the project, load its workspace, resolve targets."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager


@contextmanager
def workspace():
    from ..engine.workspace import open_workspace
    from ..pipeline.project import find

    ws = open_workspace(find())
    for warning in ws.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        yield ws
    finally:
        ws.close()


def target_indexes(ws, targets: list[str], here: bool = False) -> list[int] | None:
    """The stages the targets name; with none, every stage (None), or with `here` the stages of
    the pipeline file of the current folder (as `dvc repro` takes ./dvc.yaml)."""
    from ..planning.targets import default_file, of_file, resolve

    if targets:
        return resolve(ws.graph, targets, ws.root)
    file = default_file(ws.files, ws.root) if here and len(ws.files) > 1 else None
    return of_file(ws.graph, file) if file is not None else None


def add_format_options(parser, csv: bool = False) -> None:
    """--json, --md (and --csv), --precision: shared by metrics and params tables."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON")
    group.add_argument("--md", action="store_true", help="print a Markdown table (for a pull-request comment)")
    if csv:
        group.add_argument("--csv", action="store_true", help="print CSV")
    parser.add_argument(
        "--precision", type=int, default=5, metavar="N", help="round numbers to N digits after the point (default 5)"
    )


def add_revision_listing(parser) -> None:
    parser.add_argument("-A", "--all-commits", action="store_true", help="every commit")
    parser.add_argument("-a", "--all-branches", action="store_true", help="every branch")
    parser.add_argument("-T", "--all-tags", action="store_true", help="every tag")


def print_diff(sides, args, what: str) -> None:
    """The table of a metrics or params diff between two (label, files) sides. With --precision
    unset (params diff), values and changes are shown as the files write them (1e-05 -> 1e-06)."""
    import json

    from ..revisions.compare import diff
    from ..revisions.tables import fmt, render

    (old_label, old), (new_label, new) = sides
    rows = diff(old, new, show_all=args.all)
    print_side_errors(sides, args.json)
    if args.json:
        print(json.dumps(diff_json(rows), indent=2, default=str))
        return
    if not rows:
        print(f"No {what.lower()} changed between {old_label} and {new_label}.")
        return
    table = []
    for row in rows:
        change = row.change if args.precision is not None else row.written_change
        table.append(
            [
                row.path,
                row.key,
                fmt(row.old, args.precision),
                fmt(row.new, args.precision),
                "-" if change is None else fmt(change, args.precision),
            ]
        )
    print(render(["Path", what, old_label, new_label, "Change"], table, "md" if args.md else "plain"))


def print_side_errors(sides, to_stderr: bool) -> None:
    """Files that could not be read on either side, said apart from the table (stderr under JSON)."""
    import sys

    for label, files in sides:
        for path, values in files.items():
            if values.error:
                print(f"{path} at {label}: {values.error}", file=sys.stderr if to_stderr else sys.stdout)


def diff_json(rows) -> dict:
    """{path: {key: {old, new, diff}}}: absent values as null, diff only between numbers."""
    from ..pipeline.params import ABSENT

    plain = lambda v: None if v is ABSENT else v  # noqa: E731
    out: dict = {}
    for row in rows:
        entry = {"old": plain(row.old), "new": plain(row.new)}
        if row.change is not None:
            entry["diff"] = row.change
        out.setdefault(row.path, {})[row.key] = entry
    return out


def add_diff_parser(actions, what: str, example: str) -> None:
    """`diff [A] [B]` for metrics and params: HEAD against the workspace by default."""
    diff = actions.add_parser(
        "diff", help=f"compare {what} of two revisions (default HEAD vs workspace)", epilog=f"Example: {example}"
    )
    diff.add_argument("a", nargs="?", default="HEAD", metavar="A")
    diff.add_argument("b", nargs="?", default=None, metavar="B", help="default: the workspace")
    diff.add_argument("--all", action="store_true", help=f"also show unchanged {what}")
    add_format_options(diff)


def add_diff_revisions(parser) -> None:
    """A and B of a diff: HEAD against the workspace by default (`pipetool diff`)."""
    parser.add_argument("a", nargs="?", default="HEAD", metavar="A", help="the old revision (default: HEAD)")
    parser.add_argument("b", nargs="?", default=None, metavar="B", help="the new revision (default: the workspace)")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table of formatted cells, as `metrics diff --md` prints one."""
    from ..revisions.tables import render

    return render(headers, rows, "md")


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """--executor, --scheduler and --retries: where stages run (repro, exp run)."""
    cluster = parser.add_argument_group("running on a Dask cluster")
    from ..pipeline.config import EXECUTORS

    cluster.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="where stages run (default: the executor.type setting, else local); "
        "dask without a scheduler starts a local cluster of -j workers",
    )
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="the Dask scheduler, e.g. tcp://host:8786 (implies --executor dask; "
        "default: the executor.scheduler setting)",
    )
    cluster.add_argument(
        "--retries",
        type=whole_number(0),
        default=0,
        metavar="N",
        help="with dask: run a stage again up to N times when its worker dies under it",
    )


def whole_number(least: int):
    """An argparse type: a whole number of at least `least` (-j N, --retries N)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {least}, got '{text}'")
        return value

    return parse


positive = whole_number(1)


def executor_choice(args: argparse.Namespace, state_dir: str):
    """The command line first, then the project's settings."""
    from ..errors import PipetoolError
    from ..executor import ExecutorChoice
    from ..pipeline import config

    settings = config.read(state_dir)
    kind = args.executor or ("dask" if args.scheduler else settings["executor.type"])
    if kind == "local" and (args.scheduler or args.retries):
        error = PipetoolError(f"{'--scheduler' if args.scheduler else '--retries'} needs --executor dask")
        error.exit_code = 2
        raise error
    scheduler = args.scheduler or settings["executor.scheduler"] or None
    return ExecutorChoice(kind, scheduler if kind == "dask" else None, args.retries)
