"""`pipetool import-url URL [PATH]`: a stage that downloads URL, rerun when the source changes."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Add a stage to pipeline.yaml that downloads URL to PATH with 'pipetool get-url', with the URL "
        "as its dep, and run it. The source's version (ETag, checksum, or a hash of its bytes) is "
        "recorded in pipeline.lock: 'status' reports a changed source, 'repro' and 'update' download it again."
    )
    parser.epilog = "Example: pipetool import-url s3://bucket/raw/data.csv data/raw.csv"
    parser.add_argument("url", metavar="URL", help="s3://, gs://, azure://, https://, file:// or any fsspec URL")
    parser.add_argument("path", nargs="?", metavar="PATH", help="where to put it (default: the URL's last name)")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite PATH, or replace an earlier import of it (never a file git tracks or another stage's out)",
    )
    parser.add_argument("--no-exec", action="store_true", help="only add the stage; download with 'pipetool repro'")


def run(args: argparse.Namespace) -> int:
    from ..engine.import_url import import_url
    from ..pipeline.project import find

    project = find()
    state_dir = project.ensure_state_dir()
    imported = import_url(
        project.root, args.url, args.path, force=args.force, state_dir=state_dir, check=not args.no_exec
    )
    verb = "Replaced" if imported.replaced else "Added"
    print(f"{verb} stage '{imported.name}' (downloads to {imported.path}) in pipeline.yaml.")
    if args.no_exec:
        print(f"Download it with: pipetool repro {imported.name}")
        return 0
    code = _repro([imported.name])
    if code == 0:
        import posixpath

        ignore = posixpath.join(posixpath.dirname(imported.path), ".gitignore")
        files = f"pipeline.yaml pipeline.lock pipeline.env.json {ignore}"
        print(f"\nTo track the changes with git, run:\n\n\tgit add {files}")
    return code


def _repro(argv: list[str]) -> int:
    from .cmd_repro import add_arguments as repro_arguments
    from .cmd_repro import run as repro

    parser = argparse.ArgumentParser(prog="pipetool repro")
    repro_arguments(parser)
    return repro(parser.parse_args(argv))
