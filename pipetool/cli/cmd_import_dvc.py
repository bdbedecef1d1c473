"""`pipetool import-dvc`: make a DVC repository a pipetool project without rerunning anything."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: pipetool import-dvc --dry && pipetool import-dvc && pipetool status   "
        "(DVC's files are left as they are)"
    )
    parser.add_argument("-n", "--dry", action="store_true", help="say what would be written; write nothing")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite an existing pipeline.yaml or pipeline.lock, and replace remotes of the same name",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also say how much was read and hashed, and how fast (to stderr)"
    )


def run(args: argparse.Namespace) -> int:
    import os

    from ..engine.import_dvc import find_root, import_dvc

    root = find_root(os.getcwd())
    result = import_dvc(root, dry=args.dry, force=args.force, progress=_Progress())
    _print(result)
    if args.verbose:
        print("DVC's md5: " + result.md5_tally.describe(), file=sys.stderr)
        print("pipetool's xxh3: " + result.tally.describe(), file=sys.stderr)
    return 0


class _Progress:
    """A line on stderr when a big hashing job starts (as repro's plain mode says it)."""

    def hash_start(self, label: str, total_bytes: int, files: int) -> None:
        from ..terminal.report import human_bytes

        print(f"Hashing {label}: {human_bytes(total_bytes)} in {files:,} file(s)", file=sys.stderr, flush=True)

    def hash_advance(self, nbytes: int) -> None:
        pass

    def hash_end(self) -> None:
        pass


def _print(result) -> None:
    would = "would write" if result.dry else "wrote"
    for pipeline in result.pipelines:
        print(
            f"{pipeline.path('dvc.yaml')} -> {pipeline.path('pipeline.yaml')}, "
            f"{pipeline.path('dvc.lock')} -> {pipeline.path('pipeline.lock')} ({would})"
        )
        fresh = [s.name for s in pipeline.stages if s.up_to_date]
        if fresh:
            print(f"  up to date: {', '.join(fresh)}")
        for stage in pipeline.stages:
            if not stage.up_to_date:
                recorded = "" if stage.entry is None else " (recorded)"
                print(f"  stale: {stage.name}{recorded}: {'; '.join(stage.reasons)}")
    if result.tracked:
        print("Data tracked with .dvc files:")
        for item in result.tracked:
            if item.tracked is not None:
                print(f"  {item.dvc_file} -> {item.tracked.file} ({would}; {item.path} checked against its md5)")
            else:
                print(f"  {item.path}  ({item.dvc_file}): not converted: {item.problem}")
    _print_remotes(result)
    for note in result.notes:
        print(f"note: {note}")
    stored = "would be stored" if result.dry else "stored"
    print(f"{result.outs_to_store} out(s) {stored} in pipetool's cache.")
    if result.dry:
        print("Dry run: nothing was written.")
    else:
        print("Next: pipetool status, then git add the files above and .pipetool/config")


def _print_remotes(result) -> None:
    if not result.remotes:
        return
    print("Remotes:")
    for item in result.remotes:
        if item.skipped:
            print(f"  {item.name}: not imported: {item.skipped}")
            continue
        where = " in .pipetool/config.local" if item.local else ""
        extras = [
            f"{k} in .pipetool/config.local" if k in item.local_settings else k
            for k in sorted({**item.settings, **item.local_settings})
        ]
        details = "".join(f"; {text}" for text in (["default"] if item.default else []) + extras)
        left = f"; left out: {', '.join(item.left_out)}" if item.left_out else ""
        print(f"  {item.name}  {item.url}{where}{details}{left}")
    print(
        "  DVC's objects there are addressed by md5; pipetool's by xxh3: run 'pipetool push' to upload "
        "pipetool's (DVC's stay). Do not run 'pipetool gc --cloud' on a remote DVC 2 wrote to: "
        "its objects have pipetool's names"
    )
