"""The Experiments page: `exp show`'s table (experiments/table.py, the rows `exp show --json`
prints), sorted, filtered and compared in the browser; Apply and Branch call what `exp apply`
and `exp branch` call."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..errors import ExperimentError

TITLE = "Experiments"
PATH = "/experiments"

BODY = """
<div id="experiments">
  <h1>Experiments</h1>
  <div class="toolbar">
    <input id="exp-filter" type="search" placeholder="Filter rows (name, rev, values)" size="32">
    <details class="chooser" id="exp-columns"><summary>Columns</summary><div class="choices"></div></details>
    <label><input id="exp-all" type="checkbox"> every baseline</label>
    <span class="spacer"></span>
    <button id="exp-apply" disabled title="Put the selected experiment's files and outs here">Apply…</button>
    <button id="exp-branch" disabled title="Make a git branch of the selected experiment">Branch…</button>
    <span id="exp-count" class="muted"></span>
  </div>
  <div id="exp-message" class="message" role="status"></div>
  <div id="exp-table-box"></div>
  <div id="exp-compare" class="panel" hidden></div>
  <dialog id="exp-dialog">
    <form method="dialog">
      <p id="exp-dialog-text"></p>
      <p id="exp-dialog-branch" hidden><label>Branch name <input id="exp-branch-name" type="text"></label></p>
      <menu><button value="cancel" id="exp-cancel">Cancel</button>
        <button value="ok" id="exp-confirm" class="primary">Confirm</button></menu>
    </form>
  </dialog>
</div>
"""


def routes(ctx) -> list[BaseRoute]:
    def page(request: Request):
        return ctx.page(TITLE, BODY, scripts=["experiments"], plotly=False)

    def table(request: Request):
        return ctx.json(experiments_table(ctx.root, request.query_params.get("all") in ("1", "true")))

    async def apply(request: Request):
        body = await ctx.json_body(request)
        return ctx.json(await ctx.blocking(apply_experiment, ctx.root, _name(body, "name")))

    async def branch(request: Request):
        body = await ctx.json_body(request)
        return ctx.json(await ctx.blocking(branch_experiment, ctx.root, _name(body, "name"), _name(body, "branch")))

    return [
        Route(PATH, page),
        Route("/api/experiments", table),
        Route("/api/experiments/apply", apply, methods=["POST"]),
        Route("/api/experiments/branch", branch, methods=["POST"]),
    ]


def experiments_table(root: str, all_baselines: bool = False) -> dict[str, Any]:
    """`exp show --json`'s rows, and every column with whether its values differ between the
    rows (the columns `exp show` shows by default)."""
    from ..experiments import table

    rows = table.collect(root, all_baselines)
    shown = set(table.columns(rows))
    return {
        "rows": table.records(rows),
        "columns": [
            {"kind": c.kind, "path": c.path, "key": c.key, "label": c.label, "differs": c in shown}
            for c in table.columns(rows, True)
        ],
        "errors": table.errors(rows),
    }


def apply_experiment(root: str, name: str) -> dict[str, Any]:
    """What `exp apply NAME` does, and says, as plain data."""
    from ..experiments.keep import apply

    applied = apply(root, name)
    outs = applied.outs
    message = (
        f"Applied experiment '{applied.experiment.name}': {len(applied.written) + len(applied.deleted)} "
        f"file(s) from git, {len(outs.restored)} out(s) from the cache."
    )
    if applied.stash:
        message += " Your uncommitted changes to those files are in the git stash ('git stash list')."
    not_checked_out = outs.refused + outs.missing + outs.corrupt + outs.unsafe
    if not_checked_out:
        message += f" Not checked out: {', '.join(not_checked_out)} ('pipetool checkout' says why)."
    return {
        "name": applied.experiment.name,
        "rev": applied.experiment.sha,
        "written": applied.written,
        "deleted": applied.deleted,
        "stashed": bool(applied.stash),
        "restored": outs.restored,
        "not_checked_out": not_checked_out,
        "message": message,
    }


def branch_experiment(root: str, name: str, branch: str) -> dict[str, Any]:
    """What `exp branch NAME BRANCH` does, and says, as plain data."""
    from ..experiments.keep import branch as make_branch

    experiment = make_branch(root, name, branch)
    return {
        "name": experiment.name,
        "rev": experiment.sha,
        "branch": branch,
        "message": f"Branch '{branch}' made from experiment '{experiment.name}' (commit {experiment.sha[:7]}). "
        f"'git checkout {branch} && pipetool checkout' brings its results.",
    }


def _name(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise ExperimentError(f"the request names no {field}")
    return value
