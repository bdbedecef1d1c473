"""The Plots page: every plot definition of the pipeline (a stage's and top-level) as a Plotly
chart, one series per chosen revision or experiment (revisions/plot_data.py, which reads them as
`plots show` does); confusion matrices as heat maps."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..errors import PipetoolError

TITLE = "Plots"
PATH = "/plots"
EXP_PREFIX = "refs/exps/"
MAX_CHOSEN = 12  # revisions one request may draw

BODY = """
<style>
  .pl-chart-card { border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
  .pl-chart-card h2 { margin: 0 0 4px; font-size: 15px; }
  .pl-chart-card .chart { border: none; min-height: 320px; }
  .pl-chart-card .images { display: flex; gap: 8px; flex-wrap: wrap; }
  .pl-chart-card .images figure { margin: 0; }
  .pl-chart-card .images img { max-width: 100%; border: 1px solid var(--line); }
</style>
<div id="plots-page">
  <h1>Plots</h1>
  <div class="toolbar">
    <details class="chooser" id="plots-revisions"><summary>Revisions</summary><div class="choices"></div></details>
    <span id="plots-chosen" class="muted"></span>
  </div>
  <div id="plots-message" class="message" role="status"></div>
  <div id="plots-charts" class="charts"></div>
</div>
"""


def routes(ctx) -> list[BaseRoute]:
    def page(request: Request):
        return ctx.page(TITLE, BODY, scripts=["plots"])

    def choices(request: Request):
        return ctx.json(revision_choices(ctx.root))

    def data(request: Request):
        chosen = request.query_params.getlist("rev") or ["workspace"]
        if len(chosen) > MAX_CHOSEN:
            raise PipetoolError(f"{len(chosen)} revisions asked for: at most {MAX_CHOSEN} at once")
        return ctx.json(plots_of(ctx.root, chosen, request.query_params.getlist("label")))

    return [Route(PATH, page), Route("/api/plots/revisions", choices), Route("/api/plots", data)]


def revision_choices(root: str) -> list[dict[str, Any]]:
    """What the revision picker offers: the workspace, HEAD, the branches and HEAD's experiments,
    each {value, label, kind, checked}; the workspace and HEAD are chosen at first (as
    `plots diff`)."""
    from ..revisions.git import GitRepo

    found = [{"value": "workspace", "label": "workspace", "kind": "workspace", "checked": True}]
    try:
        repo = GitRepo(root)
        repo.revision("HEAD")
    except PipetoolError:
        return found  # outside git, or no commit yet: the workspace alone
    found.append({"value": "HEAD", "label": "HEAD", "kind": "commit", "checked": True})
    found += [
        {"value": name, "label": name, "kind": "branch", "checked": False}
        for name in repo.names(all_branches=True, all_tags=False, all_commits=False)
    ]
    from ..experiments import refs

    try:
        experiments = refs.listing(root)
    except PipetoolError:
        experiments = []
    found += [{"value": e.ref, "label": e.name, "kind": "experiment", "checked": False} for e in experiments]
    return found


def plots_of(root: str, chosen: list[str], labels: list[str] = ()) -> dict[str, Any]:
    """plot_data.plots_data for the chosen picker values, each shown by its label where one is
    given (in the same order), else an experiment by its name and the rest as written."""
    from ..revisions.git import Revisions
    from ..revisions.plot_data import plots_data

    named = dict(zip(chosen, labels, strict=False))
    labelled = []
    for value in dict.fromkeys(chosen):
        label = value[len(EXP_PREFIX) :].partition("/")[2] if value.startswith(EXP_PREFIX) else value
        labelled.append((named.get(value) or label or value, None if value == "workspace" else value))
    return {"revisions": [label for label, _ in labelled], "plots": plots_data(Revisions(root), labelled)}
