"""Drawing the stage graph: an ASCII tree, Graphviz dot, or Mermaid."""

from __future__ import annotations

import json
from collections.abc import Callable

from .graph import Graph

Label = Callable[[int], str]  # stage index -> the text drawn for it


def ascii_tree(graph: Graph, selected: list[int], label: Label | None = None) -> str:
    """Each root with its downstream as a tree; a stage met again is marked instead of redrawn."""
    label = label or (lambda i: graph.stages[i].name)
    chosen = set(selected)
    shown: set[int] = set()
    lines: list[str] = []

    def draw(node: int, prefix: str, tail: str) -> None:
        name = label(node)
        if node in shown:
            lines.append(f"{prefix}{tail}{name} (see above)")
            return
        shown.add(node)
        lines.append(f"{prefix}{tail}{name}")
        children = [d for d in dict.fromkeys(graph.downstream[node]) if d in chosen]
        child_prefix = prefix + ("" if not tail else ("    " if tail == "└── " else "│   "))
        for position, child in enumerate(children):
            draw(child, child_prefix, "└── " if position == len(children) - 1 else "├── ")

    for node in selected:
        if not any(u in chosen for u in graph.upstream[node]):
            draw(node, "", "")
    return "\n".join(lines)


def dot(graph: Graph, selected: list[int], label: Label | None = None) -> str:
    chosen = set(selected)
    lines = ["digraph pipeline {", "  rankdir=TB;"]
    lines += [
        f"  {json.dumps(graph.stages[i].name)}" + (f" [label={json.dumps(label(i))}]" if label else "") + ";"
        for i in selected
    ]
    for i in selected:
        for down in dict.fromkeys(graph.downstream[i]):
            if down in chosen:
                lines.append(f"  {json.dumps(graph.stages[i].name)} -> {json.dumps(graph.stages[down].name)};")
    lines.append("}")
    return "\n".join(lines)


def mermaid(graph: Graph, selected: list[int], label: Label | None = None) -> str:
    label = label or (lambda i: graph.stages[i].name)
    chosen = set(selected)
    lines = ["flowchart TD"]
    lines += [f'  n{i}["{label(i)}"]' for i in selected]
    for i in selected:
        for down in dict.fromkeys(graph.downstream[i]):
            if down in chosen:
                lines.append(f"  n{i} --> n{down}")
    return "\n".join(lines)
