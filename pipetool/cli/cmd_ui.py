"""`pipetool ui`: serve the browser UI of this project (pipetool.ui) until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from .common import whole_number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Example: pipetool ui --port 8050   (then open http://127.0.0.1:8050/)"
    parser.add_argument(
        "--port", type=whole_number(0), default=8050, metavar="N", help="port (default 8050; 0: a free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)"
    )
    parser.add_argument(
        "--expose",
        action="store_true",
        help="allow a --host other machines can reach: there is no login, and anyone who reaches it can "
        "read the project and apply experiments",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open the page in the default browser")


def run(args: argparse.Namespace) -> int:
    from ..errors import PipetoolError
    from ..pipeline.project import find

    root = find().root
    from .. import ui

    missing = ui.missing_extra()
    if missing:
        raise PipetoolError(missing)
    if args.host not in ui.LOCAL_HOSTS:
        if not args.expose:
            raise PipetoolError(
                f"--host {args.host} lets other machines reach the UI, which has no login",
                hint="add --expose if that is what you want, or leave --host out for 127.0.0.1",
            )
        print(
            f"warning: serving on {args.host}: anyone who can reach it can read this project and apply "
            "experiments (there is no login)",
            file=sys.stderr,
        )
    try:
        sock = ui.bind(args.host, args.port)
    except OSError as error:
        raise PipetoolError(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            hint="choose another --port, or --port 0 for a free one",
        ) from None
    url = ui.url_of(sock)

    def ready() -> None:
        print(f"Serving {root} at {url} (Ctrl-C to stop)", flush=True)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)

    import gc

    gc.set_threshold(700, 10, 10)  # Python's own pace again: a server's garbage is not the command's to keep
    ui.serve(root, sock, ready)
    print("Stopped.", flush=True)
    return 0
