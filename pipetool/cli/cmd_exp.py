"""`pipetool exp ...`: experiments with changed params, saved in git without moving the branch."""

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
        "run", help="run the pipeline with changed params and save the result as an experiment",
        epilog="Example: pipetool exp run -S train.lr=0.001,0.01 -S train.model=lr,svm -j 2   (a 2x2 grid)")
    run.add_argument("-S", "--set-param", dest="sets", action="append", default=[], metavar="[+][FILE:]KEY=VALUE",
                     help="set a param (VALUE read as YAML); commas give several values, and several -S a "
                          "grid of every combination; +KEY adds a key params.yaml does not have")
    run.add_argument("-n", "--name", help="the experiment's name (NAME-1, NAME-2... for a grid; default exp-xxxxx)")
    run.add_argument("-j", "--jobs", type=positive, metavar="N",
                     help="run N experiments at once, each in its own temporary worktree (a grid always does)")
    run.add_argument("--queue", action="store_true", help="queue the experiments; 'exp queue start' runs them")
    run.add_argument("-k", "--keep-going", action="store_true",
                     help="after a stage fails, still run stages that do not depend on it")
    run.add_argument("--no-run-cache", dest="run_cache", action="store_false",
                     help="always run stale stages; never restore outs of an identical earlier run")
    add_executor_options(run)  # with dask, every experiment's stages run on the cluster


def _add_show(actions) -> None:
    show = actions.add_parser("show", help="a table of the experiments of HEAD with their params and metrics",
                              epilog="Example: pipetool exp show --sort-by model.accuracy --desc --md")
    show.add_argument("-a", "--all", action="store_true", help="experiments of every baseline, not only HEAD's")
    show.add_argument("--all-columns", action="store_true", help="also params and metrics equal in every row")
    show.add_argument("--sort-by", metavar="COLUMN", help="order experiments by a metric or param")
    show.add_argument("--desc", action="store_true", help="with --sort-by: largest first")
    add_format_options(show, csv=True)


def _add_diff(actions) -> None:
    diff = actions.add_parser("diff", help="params and metrics of two experiments (or revisions) side by side",
                              epilog="Example: pipetool exp diff exp-1a2b3 exp-4c5d6")
    diff.add_argument("a", nargs="?", default="HEAD", metavar="A", help="experiment or revision (default HEAD)")
    diff.add_argument("b", nargs="?", default=None, metavar="B", help="default: the workspace")
    diff.add_argument("--all", action="store_true", help="also show unchanged params and metrics")
    add_format_options(diff)


def _add_keeping(actions) -> None:
    apply = actions.add_parser("apply", help="put an experiment's params, lock and outs in the workspace",
                               epilog="Example: pipetool exp apply exp-1a2b3 && git commit -am 'lr 0.01'")
    apply.add_argument("name", metavar="NAME")
    branch = actions.add_parser("branch", help="make a git branch of an experiment",
                                epilog="Example: pipetool exp branch exp-1a2b3 try-lr-0.01")
    branch.add_argument("name", metavar="NAME")
    branch.add_argument("branch", metavar="BRANCH")
    remove = actions.add_parser("remove", help="remove experiments (their refs)",
                                epilog="Example: pipetool exp remove exp-1a2b3 exp-4c5d6")
    remove.add_argument("names", nargs="*", metavar="NAME")
    remove.add_argument("--all", action="store_true", help="every experiment, of every baseline")
    listing = actions.add_parser("list", help="names of the experiments, by baseline",
                                 epilog="Example: pipetool exp list --remote origin")
    listing.add_argument("-a", "--all", action="store_true", help="of every baseline, not only HEAD")
    listing.add_argument("--remote", metavar="REMOTE", help="the experiments a git remote has (pushed refs)")
    listing.add_argument("--names-only", action="store_true", help="one name a line")


def _add_queue(actions) -> None:
    queue = actions.add_parser("queue", help="run queued experiments, list or remove them",
                               epilog="Example: pipetool exp run --queue -S train.lr=0.1,0.01 && pipetool exp queue start -j 2")
    queue_actions = queue.add_subparsers(dest="queue_action", metavar="ACTION", required=True)
    start = queue_actions.add_parser("start", help="run everything queued",
                                     epilog="Example: pipetool exp queue start -j 4")
    start.add_argument("-j", "--jobs", type=positive, default=1, metavar="N", help="N experiments at once")
    queue_actions.add_parser("list", help="what is queued", epilog="Example: pipetool exp queue list")
    drop = queue_actions.add_parser("remove", help="take experiments off the queue",
                                    epilog="Example: pipetool exp queue remove --all")
    drop.add_argument("names", nargs="*", metavar="NAME", help="names or ids")
    drop.add_argument("--all", action="store_true", help="empty the queue")


def run(args: argparse.Namespace) -> int:
    from ..project import find

    root = find().root
    handler = {"run": _run, "show": _show, "diff": _diff, "apply": _apply, "branch": _branch,
               "remove": _remove, "list": _list, "queue": _queue}[args.action]
    return handler(root, args)


# -- exp run ----------------------------------------------------------------------------------------
def _run(root: str, args: argparse.Namespace) -> int:
    from ..experiments import overrides

    points = overrides.parse(args.sets)
    for point in points:  # every bad key or value said before anything runs
        overrides.apply(root, point, write=False)
    from ..repro import ReproOptions

    from ..project import Project

    options = ReproOptions(keep_going=args.keep_going, run_cache=args.run_cache,
                           executor=executor_choice(args, Project(root).ensure_state_dir()))
    if args.queue or len(points) > 1 or args.jobs:
        return _run_apart(root, args, points, options)
    from ..experiments.run import run_experiment
    from ..report import ConsoleReporter

    experiment = run_experiment(root, points[0], args.name, options, ConsoleReporter())
    print(f"Experiment '{experiment.name}' saved (commit {experiment.sha[:7]}, {experiment.ref}); "
          "the workspace holds its results. Compare with 'pipetool exp show'.")
    return 0


def _run_apart(root: str, args: argparse.Namespace, points, options) -> int:
    """A grid, -j or --queue: each experiment in a temporary worktree, now or later."""
    from ..experiments import grid, queue, refs, snapshot
    from ..git import GitRepo
    from ..project import Project

    repo = GitRepo(root)
    baseline = snapshot.head(repo)
    source = snapshot.uncommitted(repo) or baseline
    state_dir = Project(root).ensure_state_dir()
    queued = {e.planned.name for e in queue.entries(state_dir)[0]}
    planned = grid.plan(points, args.name, baseline, source, {e.name for e in refs.local(repo, baseline)} | queued)
    refs.check_free(repo, baseline, [p.name for p in planned])
    if queued & {p.name for p in planned}:
        from ..errors import ExperimentError

        name = sorted(queued & {p.name for p in planned})[0]
        raise ExperimentError(f"an experiment named '{name}' is already queued",
                              hint=f"choose another name, or 'pipetool exp queue remove {name}' first")
    if args.queue:
        for entry in queue.add(state_dir, repo, planned):
            print(f"Queued experiment '{entry.planned.name}': {entry.planned.describe()}")
        print("Run them with 'pipetool exp queue start -j N'.")
        return 0
    return _run_grid(root, planned, args.jobs or 1, options)


def _run_grid(root: str, planned, jobs: int, options, ran=None) -> int:
    """Run and summarize; ran(outcomes) is told which experiments finished (saved or failed)."""
    from ..errors import ExperimentError
    from ..experiments.grid import run_grid
    from ..experiments.report import GridReporter

    result = run_grid(root, planned, jobs, options, GridReporter())
    if ran is not None:
        ran(result.outcomes)
    saved = [o for o in result.outcomes if o.ok]
    print(f"\n{len(saved)} experiment(s) saved" + (": " + ", ".join(o.planned.name for o in saved) if saved else "."))
    for outcome in result.failed:
        print(f"Failed: '{outcome.planned.name}' ({outcome.planned.describe()}): {outcome.why}")
    if result.interrupted:
        error = ExperimentError(f"interrupted: {len(planned) - len(result.outcomes)} experiment(s) did not finish")
        error.exit_code = 130
        raise error
    if result.failed:
        raise ExperimentError(f"{len(result.failed)} of {len(planned)} experiment(s) failed")
    if saved:
        print("Compare them with 'pipetool exp show'; keep one with 'pipetool exp apply NAME' or 'exp branch'.")
    return 0


# -- exp show / diff --------------------------------------------------------------------------------
def _show(root: str, args: argparse.Namespace) -> int:
    import sys

    from ..experiments import table
    from ..tables import fmt, render

    rows = table.collect(root, args.all)
    columns = table.columns(rows, args.all_columns or args.json)
    if args.sort_by:
        rows = table.sort_rows(rows, table.find_column(columns, args.sort_by), args.desc)
    if args.json:
        _print_json(rows)
        return 0
    style = "md" if args.md else "csv" if args.csv else "plain"
    headers = ["Experiment", "Rev"] + (["Baseline"] if style == "csv" else []) + [c.label for c in columns]
    cells = []
    for number, row in enumerate(rows):
        name = row.name if row.is_baseline or style == "csv" else _branch_glyph(rows, number) + row.name
        extra = [row.baseline[:7]] if style == "csv" else []
        cells.append([name, row.sha[:7], *extra, *(fmt(table.value(row, c), args.precision) for c in columns)])
    print(render(headers, cells, style))
    for row in rows:
        for path, values in {**row.params, **row.metrics}.items():
            if values.error:
                print(f"{path} at {row.name}: {values.error}", file=sys.stderr if style == "csv" else sys.stdout)
    return 0


def _branch_glyph(rows, number: int) -> str:
    last = number + 1 == len(rows) or rows[number + 1].is_baseline
    return "└── " if last else "├── "


def _print_json(rows) -> None:
    import json

    def files(found):
        return {path: (v.values if v.error is None else {"error": v.error}) for path, v in found.items()}

    print(json.dumps([{"name": r.name, "rev": r.sha, "baseline": r.baseline, "experiment": not r.is_baseline,
                       "created": r.created, "params": files(r.params), "metrics": files(r.metrics)}
                      for r in rows], indent=2, default=str))


def _diff(root: str, args: argparse.Namespace) -> int:
    import json

    from ..compare import diff
    from ..git import Revisions
    from ..metrics import read_metrics, read_params
    from .common import diff_json, print_diff, print_side_errors

    revisions = Revisions(root)
    params, metrics = [], []
    for text in (args.a, args.b):
        label, source, stages = revisions.load(_revision(revisions, text))
        label = text or label
        params.append((label, read_params(source, stages)))
        metrics.append((label, read_metrics(source, stages, revisions.cache)))
    if args.json:
        print_side_errors(params + metrics, True)
        print(json.dumps({"params": diff_json(diff(params[0][1], params[1][1], show_all=args.all)),
                          "metrics": diff_json(diff(metrics[0][1], metrics[1][1], show_all=args.all))},
                         indent=2, default=str))
        return 0
    print_diff(params, args, "Param")
    print()
    print_diff(metrics, args, "Metric")
    return 0


def _revision(revisions, text: str | None) -> str | None:
    """An experiment's commit for its name; anything else is a git revision (or the workspace)."""
    from ..experiments import refs, snapshot

    if text is None or text == "workspace":
        return text
    repo = revisions.git
    if any(e.name == text for e in refs.local(repo)):
        return refs.find(repo, text, snapshot.head(repo)).sha
    return text


# -- keeping and removing -------------------------------------------------------------------------
def _apply(root: str, args: argparse.Namespace) -> int:
    from ..errors import PipetoolError
    from ..experiments.keep import apply

    applied = apply(root, args.name)
    if applied.stash:
        print("Your uncommitted changes to those files are in the git stash ('git stash list'; "
              "'git stash apply' brings them back).")
    outs = applied.outs
    print(f"Applied experiment '{applied.experiment.name}': {len(applied.written) + len(applied.deleted)} "
          f"file(s) from git, {len(outs.restored)} out(s) from the cache.")
    for path in outs.refused + outs.missing + outs.corrupt + outs.unsafe:
        print(f"not checked out: {path}")
    if not outs.ok:
        raise PipetoolError(f"{outs.failed} out(s) not checked out",
                            hint="'pipetool checkout' says why; 'pipetool repro' makes them")
    return 0


def _branch(root: str, args: argparse.Namespace) -> int:
    from ..experiments.keep import branch

    experiment = branch(root, args.name, args.branch)
    print(f"Branch '{args.branch}' made from experiment '{experiment.name}' (commit {experiment.sha[:7]}). "
          f"'git checkout {args.branch} && pipetool checkout' brings its results.")
    return 0


def _remove(root: str, args: argparse.Namespace) -> int:
    from ..errors import ExperimentError
    from ..experiments import refs, snapshot
    from ..git import GitRepo

    repo = GitRepo(root)
    if args.all == bool(args.names):
        raise ExperimentError("name the experiments to remove, or give --all (not both)")
    if args.all:
        gone = refs.local(repo)
    else:
        head = snapshot.head(repo)
        gone = list({e.ref: e for e in (refs.find(repo, name, head) for name in args.names)}.values())
    refs.delete(repo, gone)
    print(f"Removed {len(gone)} experiment(s)" + (": " + ", ".join(e.name for e in gone) if gone else "."))
    return 0


def _list(root: str, args: argparse.Namespace) -> int:
    from ..experiments import refs, snapshot
    from ..git import GitRepo

    repo = GitRepo(root)
    head = snapshot.head(repo)
    found = refs.remote(repo, args.remote) if args.remote else refs.local(repo)
    if not args.all:
        found = [e for e in found if e.baseline == head]
    if args.names_only:
        for experiment in found:
            print(experiment.name)
        return 0
    if not found:
        where = f" on {args.remote}" if args.remote else ""
        print(f"No experiments{where}" + ("." if args.all else " of HEAD (--all for every baseline)."))
    for baseline in dict.fromkeys([e.baseline for e in found if e.baseline == head] + [e.baseline for e in found]):
        print(f"{refs.baseline_label(repo, baseline, head)} ({baseline[:7]}):")
        for experiment in found:
            if experiment.baseline == baseline:
                print(f"    {experiment.name}")
    return 0


# -- exp queue ------------------------------------------------------------------------------------
def _queue(root: str, args: argparse.Namespace) -> int:
    from ..experiments import queue
    from ..project import Project

    state_dir = Project(root).ensure_state_dir()
    if args.queue_action == "start":
        with queue.started(state_dir):
            return _queue_start(root, state_dir, args.jobs)
    found, problems = queue.entries(state_dir)
    for problem in problems:
        print(f"warning: skipped an unreadable queue entry: {problem}")
    if args.queue_action == "list":
        if not found:
            print("Nothing is queued.")
        for entry in found:
            print(f"{entry.id}  {entry.planned.name}  (on {entry.planned.baseline[:7]})  {entry.planned.describe()}")
        return 0
    return _queue_remove(root, state_dir, args, found)


def _queue_start(root: str, state_dir: str, jobs: int) -> int:
    from ..experiments import queue
    from ..git import GitRepo

    found, problems = queue.entries(state_dir)
    for problem in problems:
        print(f"warning: skipped an unreadable queue entry: {problem}")
    if not found:
        print("Nothing is queued.")
        return 0
    repo = GitRepo(root)
    by_name = {e.planned.name: e for e in found}

    def ran(outcomes) -> None:  # finished ones leave the queue; those an interrupt stopped stay
        queue.remove(state_dir, repo, [by_name[o.planned.name] for o in outcomes])

    from ..repro import ReproOptions

    return _run_grid(root, [e.planned for e in found], jobs, ReproOptions(), ran)


def _queue_remove(root: str, state_dir: str, args: argparse.Namespace, found) -> int:
    from ..errors import ExperimentError
    from ..experiments import queue
    from ..git import GitRepo

    if args.all == bool(args.names):
        raise ExperimentError("name the queued experiments to remove, or give --all (not both)")
    gone = found if args.all else queue.find(found, args.names)
    queue.remove(state_dir, GitRepo(root), gone)
    print(f"Removed {len(gone)} queued experiment(s).")
    return 0
