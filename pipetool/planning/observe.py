"""Gathering the facts staleness is decided on: current hashes of deps and outs, param values."""

from __future__ import annotations

from typing import Any

from ..errors import PipetoolError, SpecError, did_you_mean
from ..pipeline.params import Missing, ParamsFiles, dotted_names
from ..pipeline.stage import Stage
from ..storage.hashing import Hasher
from .staleness import Observed


def observe(stage: Stage, hasher: Hasher, params: ParamsFiles) -> Observed:
    try:
        deps = hasher.infos(stage.deps)
    except PipetoolError as error:  # a URL dep that cannot be read: say whose dep it is
        if error.stage is None:
            error.stage = stage.name
            error.args = (error.render(),)
        raise
    return Observed(
        deps=deps,
        outs=hasher.infos(stage.out_paths),
        params=param_values(stage, params),
    )


def param_values(stage: Stage, params: ParamsFiles) -> dict[str, dict[str, Any]]:
    """{params file: {key: value}} for the params the stage declares."""
    values: dict[str, dict[str, Any]] = {}
    for dep in stage.params:
        if not params.exists(dep.file):
            raise SpecError(
                f"params file '{dep.file}' does not exist", file=stage.file, line=stage.line, stage=stage.name
            )
        if dep.keys is None:
            data = params.data(dep.file)
            if not isinstance(data, dict):
                raise SpecError("params file must be a mapping of keys to values", file=dep.file)
            values[dep.file] = dict(data)
        else:
            values[dep.file] = {key: _value(params, dep.file, key, stage) for key in dep.keys}
    return values


def _value(params: ParamsFiles, file: str, key: str, stage: Stage) -> Any:
    try:
        return params.value(file, key)
    except Missing:
        raise SpecError(
            f"param '{key}' is not defined in {file}",
            file=stage.file,
            line=stage.line,
            stage=stage.name,
            hint=did_you_mean(key, dotted_names(params.data(file)))
            or f"add it to {file}, or remove it from the stage's params",
        ) from None
