"""`pipetool ui`: a local web app over the project (experiments, metrics over time, plots, the
live pipeline). The top layer with cli: it reads through experiments/, revisions/ and engine/
and only adapts their plain data to HTML and JSON.

Needs the `ui` extra (Starlette, uvicorn, and plotly for its JavaScript file); pipetool.cli
imports this package only when `pipetool ui` runs.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from collections.abc import Callable

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MISSING_EXTRA = "pipetool ui needs the ui extra: pip install 'pipetool[ui]'"


def missing_extra() -> str | None:
    """The one-line error when a package of the ui extra is not installed; None when all are.
    find_spec imports none of them (plotly's Python package is never imported at all)."""
    for name in ("starlette", "uvicorn", "plotly"):
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a module set to None in sys.modules, a broken package
            found = None
        if found is None:
            return MISSING_EXTRA
    return None


def plotly_js() -> str | None:
    """Path of the plotly package's own plotly.min.js (the page loads it from this server)."""
    spec = importlib.util.find_spec("plotly")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "package_data", "plotly.min.js")
        if os.path.isfile(path):
            return path
    return None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(root: str, sock: socket.socket, on_ready: Callable[[], None]) -> None:
    """Serve the app on a bound socket until Ctrl-C or SIGTERM; on_ready runs once the server
    accepts requests. Returns normally when stopped."""
    import uvicorn

    from .app import create_app

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_ready()

        def capture_signals(self):  # stop on the signal, then return (not raise it again)
            captured = super().capture_signals()

            class _Quiet:
                def __enter__(inner):
                    return captured.__enter__()

                def __exit__(inner, *exc):
                    signals = getattr(self, "_captured_signals", None)  # what uvicorn would raise again
                    if isinstance(signals, list):
                        signals.clear()
                    return captured.__exit__(*exc)

            return _Quiet()

    host = sock.getsockname()[0]
    hosts = None if host not in LOCAL_HOSTS else ["127.0.0.1", "localhost", "[::1]", "::1"]
    config = uvicorn.Config(create_app(root, hosts), log_level="warning", access_log=False, lifespan="off")
    server = _Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sys.stdout.flush()
