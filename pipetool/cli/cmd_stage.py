"""`pipetool stage add`: add a stage to pipeline.yaml from the command line."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool stage add -n hello -o hello.txt 'echo hello > hello.txt'"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="append a stage to pipeline.yaml (comments and order kept), checked against the pipeline",
        description="Append a stage to pipeline.yaml, keeping its comments and key order. The new stage is "
        "checked with the rest of the pipeline first (name, cycles, outs made twice, params); "
        "if it does not fit, pipeline.yaml is left as it was.",
        epilog="Example: pipetool stage add -n train -d train.py -d data/features -p train.lr,train.epochs "
        "-o models/model.pkl -M metrics.json python train.py",
    )
    add.add_argument("-n", "--name", required=True, help="the stage's name (letters, digits, '-', '_', '.')")
    add.add_argument(
        "-d",
        "--deps",
        action="append",
        default=[],
        metavar="PATH",
        help="a file or folder the stage reads (repeat for more)",
    )
    add.add_argument(
        "-o",
        "--outs",
        action="append",
        default=[],
        metavar="PATH",
        help="a file or folder the stage writes, cached (repeat for more)",
    )
    add.add_argument(
        "-p",
        "--params",
        action="append",
        default=[],
        metavar="[FILE:]KEYS",
        help="params the stage uses: 'train.lr,train.epochs' (params.yaml), 'other.yaml:a,b', "
        "or 'other.yaml:' for the whole file",
    )
    add.add_argument(
        "-m",
        "--metrics",
        action="append",
        default=[],
        metavar="PATH",
        help="a metrics file the stage writes, cached as outs are (as DVC's -m)",
    )
    add.add_argument(
        "-M",
        "--metrics-no-cache",
        action="append",
        default=[],
        metavar="PATH",
        help="a metrics file the stage writes, kept in git rather than cached (as DVC's -M)",
    )
    add.add_argument("--desc", help="a one-line description")
    add.add_argument("--run", action="store_true", help="run the stage (with what it needs) once it is added")
    add.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="CMD",
        help="the command, as the rest of the line (quote it to keep shell syntax such as '>')",
    )


def run(args: argparse.Namespace) -> int:
    from ..engine.stage_add import NewStage, add, command_text
    from ..errors import PipetoolError
    from ..pipeline.project import find

    if not args.command:
        raise PipetoolError(
            "no command given",
            hint="put the stage's command at the end of the line, "
            "e.g. pipetool stage add -n hello -o hello.txt 'echo hi > hello.txt'",
        )
    project = find()
    new = NewStage(
        name=args.name,
        cmd=command_text(args.command),
        deps=tuple(args.deps),
        outs=tuple(args.outs),
        params=tuple(args.params),
        metrics=tuple(args.metrics),
        metrics_no_cache=tuple(args.metrics_no_cache),
        desc=args.desc,
    )
    added = add(project.root, new)
    print(f"Added stage '{new.name}' to pipeline.yaml.")
    for dep in added.missing_deps:
        print(f"warning: dep '{dep}' does not exist yet and no stage makes it; create it before running the stage")
    if not args.run:
        print(f"Run it with: pipetool repro {new.name}")
        return 0
    from .cmd_repro import add_arguments as repro_arguments
    from .cmd_repro import run as repro

    repro_parser = argparse.ArgumentParser(prog="pipetool repro")
    repro_arguments(repro_parser)
    return repro(repro_parser.parse_args([new.name]))
