"""`stage list`: the stages of the pipeline files as plain data, in the files' order."""

from __future__ import annotations

from dataclasses import dataclass

from ..pipeline.params import DEFAULT_PARAMS_FILE
from .workspace import Workspace


@dataclass(frozen=True)
class StageInfo:
    name: str  # its address (path/pipeline.yaml:name for another folder's)
    file: str
    line: int
    desc: str | None
    cmd: tuple[str, ...]
    deps: tuple[str, ...]  # project-relative, as every path below
    params: tuple[str, ...]  # `key` of params.yaml, `file:key` of another file, `file` for all of one
    outs: tuple[str, ...]  # outs, metrics and plots
    frozen: bool

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "desc": self.desc,
            "cmd": list(self.cmd),
            "deps": list(self.deps),
            "params": list(self.params),
            "outs": list(self.outs),
            "frozen": self.frozen,
        }


def listing(ws: Workspace, indexes: list[int] | None = None) -> list[StageInfo]:
    """The stages at these indexes (every stage when None), in the order the files define them."""
    chosen = range(len(ws.graph.stages)) if indexes is None else sorted(set(indexes))
    infos = []
    for index in chosen:
        stage = ws.graph.stages[index]
        params = tuple(
            (key if dep.file == DEFAULT_PARAMS_FILE else f"{dep.file}:{key}") if key is not None else dep.file
            for dep in stage.params
            for key in (dep.keys if dep.keys is not None else (None,))
        )
        infos.append(
            StageInfo(
                name=stage.name,
                file=stage.file,
                line=stage.line,
                desc=stage.desc,
                cmd=stage.cmd,
                deps=stage.deps,
                params=params,
                outs=stage.out_paths,
                frozen=stage.frozen,
            )
        )
    return infos
