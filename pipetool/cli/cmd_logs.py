"""`pipetool logs`: a stage's output from its last run."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool logs train   (or: tail -f $(pipetool logs --path train) while it runs)"
    parser.add_argument(
        "stages", nargs="+", metavar="STAGE", help="stage name, or a foreach/matrix group name for all of its stages"
    )
    parser.add_argument("--path", action="store_true", help="print where each log is instead of its text")


def run(args: argparse.Namespace) -> int:
    import os

    from ..errors import PipetoolError, TargetError, did_you_mean
    from ..pipeline.project import find
    from ..planning.spec_cache import load
    from ..storage.logs import log_path, read

    project = find()
    names = [stage.name for stage in load(project.root, project.ensure_state_dir()).stages]
    chosen: list[str] = []
    for wanted in args.stages:
        group = [name for name in names if name == wanted or name.split("@", 1)[0] == wanted]
        if not group:
            raise TargetError(
                f"no stage named '{wanted}'", hint=did_you_mean(wanted, names) or "see the stages with 'pipetool dag'"
            )
        chosen += [name for name in group if name not in chosen]
    for name in chosen:
        if args.path:
            print(os.path.relpath(log_path(project.state_dir, name)))
            continue
        text = read(project.state_dir, name)
        if text is None:
            raise PipetoolError(
                f"stage '{name}' has no log yet: it has not run in this copy of the project",
                hint=f"run it with 'pipetool repro {name}'",
            )
        if len(chosen) > 1:
            print(f"==> {name} <==")
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0
