"""The web app: the shared layout, the page contract, static files, and the path check.

Page contract: each name in PAGES is a module of this package exposing
    TITLE: str                       the nav bar's label
    PATH: str                        the page's URL, e.g. "/pipeline"
    routes(ctx) -> list[BaseRoute]   its page route and its /api/... JSON endpoints
A module that does not exist (yet) is skipped. `ctx` (Context) gives the project root, the
layout (`ctx.page`), JSON responses (`ctx.json`), the path check (`ctx.file`), the body of a
POST from the page itself (`ctx.json_body`) and a way to run blocking work off the event loop
(`ctx.blocking`). JSON endpoints return plain data built by the lower layers; a PipetoolError
they raise becomes {"error": "one line"} with status 400, an HTTPException {"error": detail}.

In the browser, static/ui.js gives every page `window.pipetool` (api, escapeHtml, formatValue,
ready): a page calls ready(its root element) once it shows its data, which sets data-ready="1"
(what the tests wait on) and data-ready-ms.
"""

from __future__ import annotations

import html
import importlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import PipetoolError
from ..files import safepath
from . import plotly_js

PAGES = ["experiments", "metrics", "plots", "pipeline"]
STATIC = os.path.join(os.path.dirname(__file__), "static")


class PlainJSON(JSONResponse):
    """JSON of plain data; anything else (dates, paths) as its str()."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def project_file(root: str, relpath: str) -> str:
    """The full path of a file inside the project, for an endpoint that takes a path: 403 when
    the path is not a clean relative path, lies in .git or .pipetool, or leads outside the
    project through a symlink; 404 when there is no such file."""
    try:
        full = safepath.Tree(root).target(relpath)
    except safepath.UnsafePath:
        raise HTTPException(403, "not a file of this project") from None
    if not os.path.isfile(full):
        raise HTTPException(404, "no such file")
    return full


@dataclass
class Context:
    """What a page module gets: the project and the shared layout."""

    root: str
    pages: list[tuple[str, str]] = field(default_factory=list)  # (TITLE, PATH) of every page, in nav order

    def page(
        self, title: str, body_html: str, scripts: list[str] | tuple[str, ...] = (), plotly: bool = True
    ) -> HTMLResponse:
        """body_html in the layout: nav bar with every page (title's own marked), ui.css, plotly
        (unless plotly=False: a page without charts skips parsing its 4 MB) and ui.js, then each
        of scripts as /static/<name>.js (all deferred, in this order)."""
        return HTMLResponse(layout(self.root, self.pages, title, body_html, list(scripts), plotly))

    def json(self, data: Any, status_code: int = 200) -> JSONResponse:
        return PlainJSON(data, status_code=status_code)

    def file(self, relpath: str) -> str:
        """project_file for this project."""
        return project_file(self.root, relpath)

    async def json_body(self, request: Request) -> dict[str, Any]:
        """The JSON object a POST sent; 403 unless it came from this app's own page (a JSON
        content type, which a plain form of another site cannot send, and no foreign Origin)."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(403, "POST requests take application/json from the pipetool ui page")
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            raise HTTPException(403, "a request from another site")
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise HTTPException(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "the request body is not a JSON object")
        return body

    @staticmethod
    async def blocking(function, *args):
        """function(*args) in a worker thread, so the server keeps answering meanwhile."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(function, *args)


def layout(
    root: str, pages: list[tuple[str, str]], title: str, body_html: str, scripts: list[str], plotly: bool = True
) -> str:
    project = html.escape(os.path.basename(os.path.abspath(root)))
    links = "".join(
        f'<a href="{html.escape(path)}"' + (' class="active" aria-current="page"' if name == title else "") + f">"
        f"{html.escape(name)}</a>"
        for name, path in pages
    )
    tags = "".join(f'<script src="/static/{html.escape(name)}.js" defer></script>' for name in ["ui", *scripts] if name)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · {project} · pipetool</title>"
        '<link rel="stylesheet" href="/static/ui.css">'
        + ('<script src="/static/plotly.min.js" defer></script>' if plotly else "")
        + f"{tags}</head><body>"
        f'<nav id="nav"><span class="brand">pipetool <b>{project}</b></span>{links}</nav>'
        f'<main id="main">{body_html}</main></body></html>\n'
    )


def page_modules() -> list[Any]:
    """The page modules of PAGES that exist, in nav order."""
    found = []
    for name in PAGES:
        try:
            found.append(importlib.import_module(f"{__package__}.{name}"))
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.{name}":
                raise  # the page exists but something it imports does not
    return found


def create_app(root: str, hosts: list[str] | None = None) -> Starlette:
    """The app over the project at root. hosts: the Host headers it answers (a page of another
    site that a DNS name leads to 127.0.0.1 gets a 400); None answers any."""
    modules = page_modules()
    ctx = Context(root, [(m.TITLE, m.PATH) for m in modules])
    routes: list[BaseRoute] = [
        Route("/", _home(ctx)),
        Route("/static/plotly.min.js", _plotly),
    ]
    for module in modules:
        routes += module.routes(ctx)
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    middleware = []
    if hosts is not None:
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=hosts))
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={PipetoolError: _error, HTTPException: _http_error}
    )


def _home(ctx: Context):
    async def home(request: Request) -> Response:
        if ctx.pages:
            return RedirectResponse(ctx.pages[0][1], status_code=307)
        return ctx.page("pipetool", "<p>No pages are installed.</p>")

    return home


async def _plotly(request: Request) -> Response:
    path = plotly_js()
    if path is None:
        raise HTTPException(404, "the plotly package is not installed")
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


async def _error(request: Request, error: Exception) -> Response:
    return PlainJSON({"error": str(error)}, status_code=400)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if request.url.path.startswith("/api/"):
        return PlainJSON({"error": error.detail}, status_code=error.status_code)
    return HTMLResponse(f"<p>{html.escape(str(error.detail))}</p>", status_code=error.status_code)
