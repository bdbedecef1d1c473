"""`pipetool exp ...`: experiments with changed params, saved in git without moving the branch.

Parses the arguments, makes one call into pipetool.experiments per action, and prints its result.
"""

from __future__ import annotations

import argparse

from .common import add_executor_options, add_format_options, executor_choice, positive


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool exp run -S train.lr=0.001,0.01 -j 2 && pipetool exp show"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_run(actions)
    _add_show(actions)
    _add_diff(actions)
    _add_keeping(actions)
    _add_queue(actions)


def _add_run(actions) -> None:
    run = actions.add_parser(
        "run",
        help="run the pipeline with changed params and save the result as an experiment",
        epilog="Example: pipetool exp run -S train.lr=0.001,0.01 -S train.model=lr,svm -j 2   (a 2x2 grid)",
    )
    run.add_argument(
        "-S",
        "--set-param",
        dest="sets",
        action="append",
        default=[],
        metavar="[+][FILE:]KEY=VALUE",
        help="set a param (VALUE read as YAML); commas give several values, and several -S a "
        "grid of every combination; +KEY adds a key params.yaml does not have",
    )
    run.add_argument("-n", "--name", help="the experiment's name (NAME-1, NAME-2... for a grid; default exp-xxxxx)")
    run.add_argument(
        "-j",
        "--jobs",
        type=positive,
        metavar="N",
        help="run N experiments at once, each in its own temporary worktree (a grid always does)",
    )
    run.add_argument("--queue", action="store_true", help="queue the experiments; 'exp queue start' runs them")
    run.add_argument(
        "-k", "--keep-going", action="store_true", help="after a stage fails, still run stages that do not depend on it"
    )
    run.add_argument(
        "--no-run-cache",
        dest="run_cache",
        action="store_false",
        help="always run stale stages; never restore outs of an identical earlier run",
    )
    add_executor_options(run)  # with dask, every experiment's stages run on the cluster


def _add_show(actions) -> None:
    show = actions.add_parser(
        "show",
        help="a table of the experiments of HEAD with their params and metrics",
        epilog="Example: pipetool exp show --sort-by model.accuracy --desc --md",
    )
    show.add_argument("-a", "--all", action="store_true", help="experiments of every baseline, not only HEAD's")
    show.add_argument("--all-columns", action="store_true", help="also params and metrics equal in every row")
    show.add_argument("--sort-by", metavar="COLUMN", help="order experiments by a metric or param")
    show.add_argument("--desc", action="store_true", help="with --sort-by: largest first")
    add_format_options(show, csv=True)


def _add_diff(actions) -> None:
    diff = actions.add_parser(
        "diff",
        help="params and metrics of two experiments (or revisions) side by side",
        epilog="Example: pipetool exp diff exp-1a2b3 exp-4c5d6",
    )
    diff.add_argument("a", nargs="?", default="HEAD", metavar="A", help="experiment or revision (default HEAD)")
    diff.add_argument("b", nargs="?", default=None, metavar="B", help="default: the workspace")
    diff.add_argument("--all", action="store_true", help="also show unchanged params and metrics")
    add_format_options(diff)


def _add_keeping(actions) -> None:
    apply = actions.add_parser(
        "apply",
        help="put an experiment's params, lock and outs in the workspace",
        epilog="Example: pipetool exp apply exp-1a2b3 && git commit -am 'lr 0.01'",
    )
    apply.add_argument("name", metavar="NAME")
    branch = actions.add_parser(
        "branch", help="make a git branch of an experiment", epilog="Example: pipetool exp branch exp-1a2b3 try-lr-0.01"
    )
    branch.add_argument("name", metavar="NAME")
    branch.add_argument("branch", metavar="BRANCH")
    remove = actions.add_parser(
        "remove", help="remove experiments (their refs)", epilog="Example: pipetool exp remove exp-1a2b3 exp-4c5d6"
    )
    remove.add_argument("names", nargs="*", metavar="NAME")
    remove.add_argument("--all", action="store_true", help="every experiment, of every baseline")
    listing = actions.add_parser(
        "list", help="names of the experiments, by baseline", epilog="Example: pipetool exp list --remote origin"
    )
    listing.add_argument("-a", "--all", action="store_true", help="of every baseline, not only HEAD")
    listing.add_argument("--remote", metavar="REMOTE", help="the experiments a git remote has (pushed refs)")
    listing.add_argument("--names-only", action="store_true", help="one name a line")


def _add_queue(actions) -> None:
    queue = actions.add_parser(
        "queue",
        help="run queued experiments, list or remove them",
        epilog="Example: pipetool exp run --queue -S train.lr=0.1,0.01 && pipetool exp queue start -j 2",
    )
    queue_actions = queue.add_subparsers(dest="queue_action", metavar="ACTION", required=True)
    start = queue_actions.add_parser(
        "start", help="run everything queued", epilog="Example: pipetool exp queue start -j 4"
    )
    start.add_argument("-j", "--jobs", type=positive, default=1, metavar="N", help="N experiments at once")
    queue_actions.add_parser("list", help="what is queued", epilog="Example: pipetool exp queue list")
    drop = queue_actions.add_parser(
        "remove", help="take experiments off the queue", epilog="Example: pipetool exp queue remove --all"
    )
    drop.add_argument("names", nargs="*", metavar="NAME", help="names or ids")
    drop.add_argument("--all", action="store_true", help="empty the queue")


def run(args: argparse.Namespace) -> int:
    from ..pipeline.project import find

    root = find().root
    handler = {
        "run": _run,
        "show": _show,
        "diff": _diff,
        "apply": _apply,
        "branch": _branch,
        "remove": _remove,
        "list": _list,
        "queue": _queue,
    }[args.action]
    return handler(root, args)


# -- exp run ----------------------------------------------------------------------------------------
def _run(root: str, args: argparse.Namespace) -> int:
    from ..engine.repro import ReproOptions
    from ..experiments import overrides
    from ..pipeline.project import Project

    points = overrides.parse(args.sets)
    overrides.check(root, points)  # every bad key or value said before anything runs
    options = ReproOptions(
        keep_going=args.keep_going,
        run_cache=args.run_cache,
        executor=executor_choice(args, Project(root).ensure_state_dir()),
    )
    if args.queue:
        from ..experiments.launch import enqueue

        for entry in enqueue(root, points, args.name):
            print(f"Queued experiment '{entry.planned.name}': {entry.planned.describe()}")
        print("Run them with 'pipetool exp queue start -j N'.")
        return 0
    if len(points) > 1 or args.jobs:
        from ..experiments.launch import run_apart
        from ..experiments.report import GridReporter

        reporter = GridReporter()
        return _summarize(run_apart(root, points, args.name, args.jobs or 1, options, reporter), reporter)
    from ..engine.runstate import RunStateReporter
    from ..experiments.report import saved_here
    from ..experiments.run import run_experiment
    from ..terminal.report import ConsoleReporter

    reporter = RunStateReporter(ConsoleReporter(), Project(root).ensure_state_dir())  # the run's live state
    print(saved_here(run_experiment(root, points[0], args.name, options, reporter)))
    return 0


def _summarize(result, reporter) -> int:
    """How a grid went; its failures are the command's error."""
    from ..experiments.grid import raise_for

    reporter.summary(result)
    raise_for(result)
    return 0


# -- exp show / diff --------------------------------------------------------------------------------
def _show(root: str, args: argparse.Namespace) -> int:
    import sys

    from ..experiments import table
    from ..revisions.tables import render

    rows = table.collect(root, args.all)
    columns = table.columns(rows, args.all_columns or args.json)
    if args.sort_by:
        rows = table.sort_rows(rows, table.find_column(columns, args.sort_by), args.desc)
    if args.json:
        import json

        print(json.dumps(table.records(rows), indent=2, default=str))
        return 0
    style = "md" if args.md else "csv" if args.csv else "plain"
    print(render(*table.cells(rows, columns, style, args.precision), style))
    for error in table.errors(rows):
        print(error, file=sys.stderr if style == "csv" else sys.stdout)
    return 0


def _diff(root: str, args: argparse.Namespace) -> int:
    from ..experiments.diff import sides
    from .common import diff_json, print_diff, print_side_errors

    params, metrics = sides(root, args.a, args.b)
    if args.json:
        import json

        from ..revisions.compare import diff

        print_side_errors(params + metrics, True)
        print(
            json.dumps(
                {
                    "params": diff_json(diff(params[0][1], params[1][1], show_all=args.all)),
                    "metrics": diff_json(diff(metrics[0][1], metrics[1][1], show_all=args.all)),
                },
                indent=2,
                default=str,
            )
        )
        return 0
    print_diff(params, args, "Param")
    print()
    print_diff(metrics, args, "Metric")
    return 0


# -- keeping and removing -------------------------------------------------------------------------
def _apply(root: str, args: argparse.Namespace) -> int:
    from ..errors import PipetoolError
    from ..experiments.keep import apply

    applied = apply(root, args.name)
    if applied.stash:
        print(
            "Your uncommitted changes to those files are in the git stash ('git stash list'; "
            "'git stash apply' brings them back)."
        )
    outs = applied.outs
    print(
        f"Applied experiment '{applied.experiment.name}': {len(applied.written) + len(applied.deleted)} "
        f"file(s) from git, {len(outs.restored)} out(s) from the cache."
    )
    for path in outs.refused + outs.missing + outs.corrupt + outs.unsafe:
        print(f"not checked out: {path}")
    if not outs.ok:
        raise PipetoolError(
            f"{outs.failed} out(s) not checked out", hint="'pipetool checkout' says why; 'pipetool repro' makes them"
        )
    return 0


def _branch(root: str, args: argparse.Namespace) -> int:
    from ..experiments.keep import branch

    experiment = branch(root, args.name, args.branch)
    print(
        f"Branch '{args.branch}' made from experiment '{experiment.name}' (commit {experiment.sha[:7]}). "
        f"'git checkout {args.branch} && pipetool checkout' brings its results."
    )
    return 0


def _remove(root: str, args: argparse.Namespace) -> int:
    from ..experiments import refs

    gone = refs.remove(root, args.names, args.all)
    print(f"Removed {len(gone)} experiment(s)" + (": " + ", ".join(e.name for e in gone) if gone else "."))
    return 0


def _list(root: str, args: argparse.Namespace) -> int:
    from ..experiments import refs

    found = refs.listing(root, args.remote, args.all)
    if args.names_only:
        for experiment in found:
            print(experiment.name)
        return 0
    if not found:
        where = f" on {args.remote}" if args.remote else ""
        print(f"No experiments{where}" + ("." if args.all else " of HEAD (--all for every baseline)."))
    for group in refs.by_baseline(root, found):
        print(f"{group.label} ({group.baseline[:7]}):")
        for experiment in group.experiments:
            print(f"    {experiment.name}")
    return 0


# -- exp queue ------------------------------------------------------------------------------------
def _queue(root: str, args: argparse.Namespace) -> int:
    from ..experiments import queue

    if args.queue_action == "start":
        from ..engine.repro import ReproOptions
        from ..experiments.report import GridReporter

        reporter = GridReporter()
        result = queue.run_queued(root, args.jobs, ReproOptions(), reporter)
        if not result.planned:
            print("Nothing is queued.")
            return 0
        return _summarize(result, reporter)
    found, problems = queue.queued(root)
    for problem in problems:
        print(f"warning: skipped an unreadable queue entry: {problem}")
    if args.queue_action == "list":
        if not found:
            print("Nothing is queued.")
        for entry in found:
            print(f"{entry.id}  {entry.planned.name}  (on {entry.planned.baseline[:7]})  {entry.planned.describe()}")
        return 0
    gone = queue.drop(root, found, args.names, args.all)
    print(f"Removed {len(gone)} queued experiment(s).")
    return 0
