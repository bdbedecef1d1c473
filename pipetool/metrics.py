"""Metrics files of the workspace: read (JSON, YAML, TOML) and flattened to `a.b` keys."""

from __future__ import annotations

import json
import os
from typing import Any

from .graph import Graph
from .params import flatten


def metric_paths(graph: Graph) -> list[str]:
    return [out.path for stage in graph.stages for out in stage.outs if out.kind == "metric"]


def read_metrics(root: str, path: str) -> dict[str, Any]:
    """Flattened metrics of one file; raises ValueError or OSError when unreadable."""
    full = os.path.join(root, path)
    if path.endswith(".toml"):
        import tomllib

        with open(full, "rb") as handle:
            data = tomllib.load(handle)
    elif path.endswith((".yaml", ".yml")):
        import yaml

        with open(full, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    else:
        with open(full, encoding="utf-8") as handle:
            data = json.load(handle)
    return flatten(data) if isinstance(data, dict) else {"": data}
