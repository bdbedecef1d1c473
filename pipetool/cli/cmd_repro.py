"""`pipetool repro`: run the stale stages."""

from __future__ import annotations

import argparse

from .common import add_executor_options, executor_choice, positive, target_indexes, workspace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: pipetool repro -j 2 models/model.pkl   (on a terminal a live view shows the "
        "running stages; elsewhere, as in CI, plain lines; PIPETOOL_PROGRESS=plain|live chooses)"
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="stage name (another folder's as path/pipeline.yaml:name), pipeline file, out path "
        "or folder (default: the stages of the current folder's pipeline file)",
    )
    parser.add_argument(
        "-P",
        "--all-pipelines",
        action="store_true",
        help="with no TARGET: the stages of every pipeline file of the project, not only the one of the current folder",
    )
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="run the selected stages even if up to date (and ignore a broken lock)",
    )
    parser.add_argument(
        "-s", "--single-item", dest="single", action="store_true", help="run only the targets, not their upstream"
    )
    parser.add_argument("--downstream", action="store_true", help="run the targets and everything downstream of them")
    parser.add_argument("-n", "--dry", action="store_true", help="say what would run, and why; run nothing")
    parser.add_argument(
        "-k", "--keep-going", action="store_true", help="after a failure, still run stages that do not depend on it"
    )
    parser.add_argument(
        "-j", "--jobs", type=positive, default=1, metavar="N", help="run up to N independent stages at once (default 1)"
    )
    parser.add_argument(
        "--no-run-cache",
        dest="run_cache",
        action="store_false",
        help="always run stale stages; never restore outs of an identical earlier run",
    )
    parser.add_argument(
        "--exit-code", action="store_true", help="with --dry: exit 1 when any stage would run (a CI gate)"
    )
    parser.add_argument(
        "--wait", action="store_true", help="if another repro runs in this project, wait for it instead of failing"
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only failures and warnings (stage output still goes to its log)",
    )
    loudness.add_argument("-v", "--verbose", action="store_true", help="also print each stage's commands and log file")
    parser.add_argument(
        "--pull",
        action="store_true",
        help="first fetch the outs the workspace lacks from the remote, so only what really changed runs (CI)",
    )
    parser.add_argument("-r", "--remote", metavar="NAME", help="with --pull: the remote (default: core.remote)")
    parser.add_argument(
        "--check-determinism",
        action="store_true",
        help="run each stage that ran once more from the same inputs; warn about those whose two runs differ",
    )
    add_executor_options(parser)
    parser.add_argument(
        "--no-shared-fs",
        dest="shared_fs",
        action="store_false",
        default=None,
        help="with dask: the workers do not see the repository; each stage's deps and outs go "
        "through the default remote by hash (default: the executor.shared_fs setting, else "
        "this when the workers cannot see the repository and a default remote is set)",
    )
    parser.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="with --no-shared-fs: record the outs in pipeline.lock but leave them on the remote "
        "('pipetool pull' brings them)",
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.repro import ReproOptions, raise_for, repro
    from ..engine.runstate import RunStateReporter
    from ..system.repolock import hold
    from ..terminal.report import NORMAL, QUIET, VERBOSE
    from .reporters import console_reporter

    with workspace() as ws:
        targets = target_indexes(ws, args.targets, here=not args.all_pipelines)
        options = ReproOptions(
            targets=tuple(targets) if targets is not None else None,
            force=args.force,
            single=args.single,
            downstream=args.downstream,
            dry=args.dry,
            keep_going=args.keep_going,
            jobs=args.jobs,
            run_cache=args.run_cache,
            executor=_executor(args, ws.project.state_dir),
        )
        reporter = console_reporter(
            args.jobs > 1 or options.executor.kind == "dask",
            QUIET if args.quiet else VERBOSE if args.verbose else NORMAL,
        )
        if not args.dry:  # the run's live state for watchers (the browser UI), from its events
            reporter = RunStateReporter(reporter, ws.project.state_dir, _run_stages(ws, options))

        def takeover(pid: int) -> None:
            reporter.warning(f"took over the lock of pid {pid}, which is no longer running")

        with hold(ws.project.state_dir, wait=args.wait, on_takeover=takeover):
            if args.pull and not args.dry:  # a dry run changes nothing, not even the cache
                _pull(ws, options, args.remote, reporter)
            if args.check_determinism:
                from ..engine.determinism import repro_checking_determinism

                result, _ = repro_checking_determinism(ws, options, reporter)
            else:
                result = repro(ws, options, reporter)
    raise_for(result)
    return 1 if args.exit_code and args.dry and result.ran else 0


def _executor(args: argparse.Namespace, state_dir: str):
    """The executor choice, with --no-shared-fs (or executor.shared_fs) and --no-download."""
    import dataclasses

    from ..errors import PipetoolError
    from ..pipeline import config

    choice = executor_choice(args, state_dir)
    shared_fs = args.shared_fs
    if shared_fs is None:
        setting = config.read(state_dir).get("executor.shared_fs")
        if setting is not None and str(setting).lower() not in ("true", "false"):
            raise PipetoolError(f"'executor.shared_fs' is {setting!r}", hint="one of: true, false")
        shared_fs = None if setting is None else str(setting).lower() == "true"
    if choice.kind != "dask" and (args.shared_fs is False or not args.download):
        flag = "--no-shared-fs" if args.shared_fs is False else "--no-download"
        error = PipetoolError(f"{flag} needs --executor dask")
        error.exit_code = 2
        raise error
    return dataclasses.replace(choice, shared_fs=shared_fs, download=args.download)


def _run_stages(ws, options) -> list[str]:
    """The names of the stages the run takes, in its order, as repro selects them."""
    from ..planning.plan import select

    selected = select(ws.graph, options.targets, single=options.single, downstream=options.downstream)
    return [ws.graph.stages[i].name for i in selected]


def _pull(ws, options, remote: str | None, reporter) -> None:
    """Objects of the outs the workspace lacks, from the remote, before staleness is decided (the
    reporter shows the transfer)."""
    from ..planning.plan import select
    from .transfers import default_jobs, pull_absent

    selected = select(ws.graph, options.targets, single=options.single, downstream=options.downstream)
    pull_absent(ws, selected, remote, default_jobs(), reporter)
