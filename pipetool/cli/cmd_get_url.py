"""`pipetool get-url URL [PATH]`: download a file or folder without tracking it (DVC's get-url)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool get-url s3://bucket/raw/data.csv data/raw.csv"
    parser.add_argument("url", metavar="URL", help="s3://, gs://, azure://, https://, file:// or any fsspec URL")
    parser.add_argument("path", nargs="?", metavar="PATH", help="where to put it (default: the URL's last name)")
    parser.add_argument("-f", "--force", action="store_true", help="replace PATH if it exists")


def run(args: argparse.Namespace) -> int:
    import os

    from ..engine.import_url import as_url, default_path
    from ..errors import ProjectError
    from ..pipeline.project import find
    from ..remotes.external import download
    from .reporters import transfer_bar
    from .transfers import size_text

    url = as_url(args.url)
    path = args.path if args.path is not None else default_path(url)
    if os.path.isdir(path) and not os.path.islink(path) and args.path is not None and not args.force:
        path = os.path.join(path, default_path(url))  # into an existing folder, as cp does
    try:
        state_dir = find().state_dir  # a URL under a remote of this project gets its settings
    except ProjectError:
        state_dir = None
    done = download(url, path, state_dir, transfer_bar("Downloading"), force=args.force)
    what = f"{done.files} file(s), {size_text(done.bytes)}" if done.folder else size_text(done.bytes)
    print(f"Downloaded {url} to {done.path} ({what}).")
    return 0
