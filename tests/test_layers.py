"""The package's layers: every import, lazy ones inside functions too, points to the same layer or
a lower one. The README's "Where things live" draws the same order."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "pipetool"

# Lowest first. A module belongs to the layer of its sub-package (or its own name at the top).
LAYERS = [
    {"errors", "files", "system"},  # user-facing errors; durable, checked file I/O; processes and signals
    {"pipeline"},  # what the user declared: pipeline files, stages, params, config, the project
    {"storage"},  # hashes, the cache, the run-cache, the lock
    {"planning"},  # the decisions: graph, staleness, plan, targets
    {"revisions", "remotes", "executor"},  # git revisions and metrics; remotes; running commands
    {"engine"},  # what commands do: repro, status, checkout, gc, verify, import; the Reporter protocol
    {"terminal"},  # the reporters' terminal implementations
    {"experiments"},
    {"cli", "__main__", "ui"},  # the command line; the browser UI (cli starts it, it may use cli's helpers)
    {"api"},  # the Python API for notebooks and stage scripts: may use every layer
]
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def group(module: str) -> str:
    """`pipetool.storage.lock` -> `storage`; `pipetool.errors` -> `errors`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """The pipetool modules and packages this file imports, lazy imports included."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "pipetool":  # `from pipetool import storage`: the names are the packages
                found |= {f"pipetool.{alias.name}" for alias in node.names if alias.name in LAYER_OF}
            elif target.startswith("pipetool."):
                found.add(target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("pipetool")}
    return found


def test_every_module_has_a_layer():
    assert {group(name) for name in modules() if name != "pipetool"} <= set(LAYER_OF)


def test_no_module_imports_a_higher_layer():
    upward = []
    for module, path in sorted(modules().items()):
        if module == "pipetool":
            continue
        rank = LAYER_OF[group(module)]
        for target in sorted(imports(module, path)):
            if group(target) and LAYER_OF[group(target)] > rank:
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_the_layer_check_sees_an_upward_import(tmp_path):
    # The check itself can fail: a storage module importing the engine is reported.
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from ..engine import repro\n")
    assert imports("pipetool.storage.probe", path) == {"pipetool.engine"}
    assert LAYER_OF[group("pipetool.engine")] > LAYER_OF[group("pipetool.storage.probe")]
