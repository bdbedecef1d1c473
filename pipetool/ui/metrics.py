"""The Metrics page: `metrics history` (revisions/history.py) along the first-parent history of
a revision, as one Plotly line chart per numeric metric."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..errors import PipetoolError

TITLE = "Metrics"
PATH = "/metrics"
DEFAULT_LIMIT = 100

BODY = f"""
<div id="metrics">
  <h1>Metrics over time</h1>
  <form class="toolbar" id="metrics-form">
    <label>Revision <input id="metrics-rev" type="text" value="HEAD" size="16"
      title="a branch, tag or commit; or a range A..B as in git log"></label>
    <label>Last <input id="metrics-limit" type="number" min="1" value="{DEFAULT_LIMIT}"> commits</label>
    <button type="submit" id="metrics-show">Show</button>
    <span id="metrics-count" class="muted"></span>
  </form>
  <div class="checks" id="metrics-choices"></div>
  <div id="metrics-message" class="message" role="status"></div>
  <div class="charts" id="metrics-charts"></div>
</div>
"""


def routes(ctx) -> list[BaseRoute]:
    def page(request: Request):
        return ctx.page(TITLE, BODY, scripts=["metrics"])

    def data(request: Request):
        query = request.query_params
        return ctx.json(history(ctx.root, query.get("rev") or "HEAD", _limit(query.get("limit"))))

    return [Route(PATH, page), Route("/api/metrics/history", data)]


def history(root: str, rev: str, limit: int) -> dict[str, Any]:
    """`metrics history --json`'s rows over the last `limit` commits of rev (oldest first), the
    metric keys, and those with a number to draw."""
    from ..revisions.history import metrics_history, numeric_keys
    from ..revisions.recent import last_commits

    found = metrics_history(root, last_commits(root, rev, limit), [])
    return {
        "keys": found.keys,
        "numeric": numeric_keys(found),
        "rows": [
            {
                "commit": r.revision.sha,
                "short": r.revision.name,
                "message": r.revision.summary,
                "time": r.revision.timestamp,
                "metrics": {k: r.values[k] for k in found.keys if k in r.values},
            }
            for r in found.rows
        ],
    }


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        return int(text)
    except ValueError:
        raise PipetoolError(f"limit '{text}' is not a whole number") from None
