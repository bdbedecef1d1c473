"""`pipetool stage add` / `stage list`: add a stage to pipeline.yaml from the command line; list
the stages."""

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
    for flags, dest, text in (
        (("-O", "--outs-no-cache"), "outs_no_cache", "an out kept out of the cache ({cache: false}), as DVC's -O"),
        (("--outs-persist",), "outs_persist", "a cached out not removed before the stage runs ({persist: true})"),
        (("--outs-persist-no-cache",), "outs_persist_no_cache", "an out neither cached nor removed before a run"),
        (("--plots",), "plots", "a plots file, cached as DVC caches --plots ({cache: true})"),
        (("--plots-no-cache",), "plots_no_cache", "a plots file kept in git ({cache: false})"),
    ):
        add.add_argument(*flags, dest=dest, action="append", default=[], metavar="PATH", help=text + " (repeatable)")
    add.add_argument(
        "-w", "--wdir", metavar="DIR", help="the folder the command runs in; the stage's paths are relative to it"
    )
    add.add_argument("-f", "--force", action="store_true", help="replace a stage of the same name, where it stands")
    add.add_argument("--always-changed", action="store_true", help="run the stage on every repro (always_changed)")
    add.add_argument("--frozen", action="store_true", help="add it frozen: repro never runs it (DVC: 'dvc freeze')")
    add.add_argument("--desc", help="a one-line description")
    add.add_argument("--run", action="store_true", help="run the stage (with what it needs) once it is added")
    add.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="CMD",
        help="the command, as the rest of the line (quote it to keep shell syntax such as '>')",
    )
    listing = actions.add_parser(
        "list",
        help="list the stages: name, deps -> outs, description",
        description="List the stages of the current folder's pipeline file (or of the targets): each stage's "
        "name, its deps and outs, and its desc.",
        epilog="Example: pipetool stage list --name-only",
    )
    listing.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="stage name, foreach/matrix group, pipeline file, out path or folder (default: the stages of the "
        "current folder's pipeline file)",
    )
    listing.add_argument(
        "-P", "--all-pipelines", action="store_true", help="with no TARGET: the stages of every pipeline file"
    )
    shown = listing.add_mutually_exclusive_group()
    shown.add_argument("--name-only", action="store_true", help="only the names, one a line (for scripts)")
    shown.add_argument(
        "--json", action="store_true", help="print JSON: name, file, line, desc, cmd, deps, params, outs, frozen"
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(args)
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
        outs_no_cache=tuple(args.outs_no_cache),
        outs_persist=tuple(args.outs_persist),
        outs_persist_no_cache=tuple(args.outs_persist_no_cache),
        plots=tuple(args.plots),
        plots_no_cache=tuple(args.plots_no_cache),
        wdir=args.wdir,
        always_changed=args.always_changed,
        frozen=args.frozen,
        force=args.force,
    )
    replaced = args.force and _has_stage(project.root, new.name)
    added = add(project.root, new)
    print(f"{'Replaced' if replaced else 'Added'} stage '{new.name}' {'in' if replaced else 'to'} pipeline.yaml.")
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


def _has_stage(root: str, name: str) -> bool:
    import os

    from ..files import yamlfile
    from ..files.fsutil import read_text
    from ..pipeline.spec import PIPELINE_FILE

    data = yamlfile.parse(read_text(os.path.join(root, PIPELINE_FILE)) or "", PIPELINE_FILE)
    return isinstance(data, dict) and isinstance(data.get("stages"), dict) and name in data["stages"]


def _list(args: argparse.Namespace) -> int:
    import json

    from ..engine.stage_list import listing
    from .common import target_indexes, workspace

    with workspace() as ws:
        stages = listing(ws, target_indexes(ws, args.targets, here=not args.all_pipelines))
    if args.json:
        print(json.dumps([stage.to_dict() for stage in stages], indent=2))
    elif args.name_only:
        for stage in stages:
            print(stage.name)
    else:
        rows = [
            (s.name, f"{', '.join(s.deps) or '-'} -> {', '.join(s.outs) or '-'}", _first_line(s.desc)) for s in stages
        ]
        name_width = max((len(name) for name, _, _ in rows), default=0)
        flow_width = max((len(flow) for _, flow, desc in rows if desc), default=0)
        for name, flow, desc in rows:
            print(f"{name.ljust(name_width)}  {flow.ljust(flow_width) if desc else flow}  {desc}".rstrip())
    return 0


def _first_line(desc: str | None) -> str:
    return desc.strip().splitlines()[0] if desc and desc.strip() else ""
