"""The Pipeline page: the stage graph drawn as SVG and coloured by status (engine/pipeline_view.py,
the reasons `pipetool status` gives), following a `repro` that runs in another terminal through
its run-state file, and a stage's panel with its declaration and its log (tailed while it runs).

The poll the page makes every 0.5 s (/api/pipeline/run) stats one file and reads it only when it
changed: no git, no hashing. The whole graph (/api/pipeline) is asked for on load and when a run
ends."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..errors import PipetoolError
from ..pipeline.project import Project

TITLE = "Pipeline"
PATH = "/pipeline"

BODY = """
<style>
  #pipeline { display: flex; gap: 12px; align-items: flex-start; }
  #pl-graph-box { flex: 1; overflow: auto; max-height: calc(100vh - 150px); border: 1px solid var(--line);
    border-radius: 8px; background: #fff; }
  #pl-graph-box svg { display: block; }
  #pl-graph-box g.node { cursor: pointer; }
  #pl-graph-box g.node rect { stroke-width: 1.5; }
  #pl-graph-box g.node.selected rect { stroke-width: 3; stroke: var(--accent); }
  #pl-graph-box g.node text { font-size: 12px; pointer-events: none; }
  #pl-graph-box g.node text.sub { font-size: 10px; fill: var(--muted); }
  #pl-graph-box path.edge { fill: none; stroke: #98a2b3; stroke-width: 1.2; }
  .pl-legend { display: flex; gap: 12px; flex-wrap: wrap; }
  .pl-legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 4px;
    vertical-align: -2px; border-radius: 3px; background: var(--swatch); border: 1px solid var(--edge); }
  #pl-panel { width: 420px; flex: none; max-height: calc(100vh - 150px); overflow: auto; margin-top: 0; }
  #pl-panel dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 8px 0; }
  #pl-panel dt { color: var(--muted); }
  #pl-panel dd { margin: 0; word-break: break-word; }
  #pl-panel pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px;
    white-space: pre-wrap; word-break: break-word; max-height: 360px; overflow: auto; font-size: 12px; }
  #pl-run.live { font-weight: 600; }
</style>
<div id="pipeline-page">
  <h1>Pipeline</h1>
  <div class="toolbar">
    <div class="pl-legend" id="pl-legend"></div>
    <span id="pl-summary" class="muted"></span>
    <span id="pl-run" role="status"></span>
  </div>
  <div id="pl-message" class="message error" role="alert"></div>
  <div id="pipeline">
    <div id="pl-graph-box"></div>
    <aside id="pl-panel" class="panel" hidden></aside>
  </div>
</div>
"""


def routes(ctx) -> list[BaseRoute]:
    state_dir = Project(ctx.root).state_dir

    def page(request: Request):
        return ctx.page(TITLE, BODY, scripts=["pipeline"], plotly=False)

    def graph(request: Request):
        return ctx.json(pipeline_data(ctx.root))

    def run(request: Request):
        from ..engine.pipeline_view import run_changes

        return ctx.json(run_changes(state_dir, request.query_params.get("since")))

    def log(request: Request):
        from ..engine.pipeline_view import stage_log

        stage = request.query_params.get("stage") or ""  # none: no log, as for a stage never run
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            raise PipetoolError("offset is not a number") from None
        return ctx.json(stage_log(state_dir, stage, offset))

    return [
        Route(PATH, page),
        Route("/api/pipeline", graph),
        Route("/api/pipeline/run", run),
        Route("/api/pipeline/log", log),
    ]


def pipeline_data(root: str) -> dict:
    """The page's graph: engine.pipeline_view on a workspace of the project, and the warnings
    pipeline.yaml gave."""
    from ..engine.pipeline_view import pipeline_view
    from ..engine.workspace import open_workspace

    ws = open_workspace(Project(root), allow_empty=True)
    try:
        return {**pipeline_view(ws), "warnings": list(ws.warnings)}
    finally:
        ws.close()
