"""pipeline.yaml's top-level `params`, `metrics`, `plots` and `artifacts`, as DVC 3 reads them
from dvc.yaml.

Only the commands that show them read these keys: the stage loader accepts them and goes on,
so `status` and `repro` never pay for them. `${}` in them is resolved with the values the
stages see (params.yaml and `vars`), as DVC resolves its top-level sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import PipetoolError, SpecError, did_you_mean
from ..files.safepath import has_control_characters
from ..pipeline import spec
from ..pipeline.interpolate import Context, resolve
from ..pipeline.params import ParamsFiles
from ..pipeline.pipelines import files_of, folder_of, pipeline_files
from ..pipeline.source import Source, as_source
from ..pipeline.stage import Stage
from .plots import PlotDefinition

KEYS = ("params", "metrics", "plots", "artifacts")
PLOT_FIELDS = ("x", "y", "template", "title", "x_label", "y_label")
ARTIFACT_FIELDS = ("path", "type", "desc", "labels", "meta")
# The names DVC's model registry takes. DVC warns about any other name and keeps the artifact,
# so pipetool does too.
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_/-]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Artifact:
    """One entry of `artifacts:`: metadata about a file the project makes or uses."""

    name: str
    path: str  # as written: relative to the project, or a URL of an external storage
    type: str | None = None
    desc: str | None = None
    labels: tuple[str, ...] = ()
    meta: Any = None
    line: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set, as pipeline.yaml spells them (for --json)."""
        fields = {
            "path": self.path,
            "type": self.type,
            "desc": self.desc,
            "labels": list(self.labels),
            "meta": self.meta,
        }
        return {key: value for key, value in fields.items() if value not in (None, [], {})}


@dataclass(frozen=True)
class TopLevel:
    """The top-level keys beside `stages` and `vars`, resolved and checked."""

    params: tuple[str, ...] = ()  # params files shown whole by `params diff`
    metrics: tuple[str, ...] = ()  # metrics files shown beside the stages' own
    plots: tuple[PlotDefinition, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    warnings: tuple[str, ...] = ()  # what DVC warns about and accepts


EMPTY = TopLevel()


def load(source: str | Source, files: list[str] | None = None) -> tuple[list[Stage], TopLevel]:
    """The stages and the top-level keys of every pipeline file, each file parsed once."""
    root = as_source(source)
    params = ParamsFiles(root)
    stages: list[Stage] = []
    tops: list[TopLevel] = []
    for file in pipeline_files(files_of(root) if files is None else files):
        data = spec.parse_file(root, file)
        stages += spec.load(root, file, parsed=data, params=params)
        tops.append(read(root, data, file, params))
    return stages, _joined(tops)


def _joined(tops: list[TopLevel]) -> TopLevel:
    if len(tops) == 1:
        return tops[0]

    def every(name: str) -> tuple:
        return tuple(item for top in tops for item in getattr(top, name))

    return TopLevel(
        tuple(dict.fromkeys(every("params"))),
        tuple(dict.fromkeys(every("metrics"))),
        every("plots"),
        every("artifacts"),
        every("warnings"),
    )


def load_revision(revisions: Any, rev: str | None) -> tuple[str, Source, list[Stage], TopLevel]:
    """(label, source, stages, top level) of a revision name, as `Revisions.load` gives the
    first three: a revision from before any pipeline file existed has none of them."""
    from .git import WORKSPACE

    label, source = revisions.source(rev)
    try:
        stages, top = load(source)
    except PipetoolError as error:
        if label != WORKSPACE:
            error.message = f"{error.message} (in the revision {label})"
            error.args = (error.render(),)
        raise
    return label, source, stages, top


def read(root: Source, data: Any, filename: str = spec.PIPELINE_FILE, params: ParamsFiles | None = None) -> TopLevel:
    """The top-level keys of pipeline.yaml's parsed YAML; a SpecError with file and line for a
    bad entry."""
    if not isinstance(data, dict) or not any(key in data for key in KEYS):
        return EMPTY
    context = spec.root_context(root, data, filename, params or ParamsFiles(root))
    reader = _Reader(data, filename, context)
    artifacts, warnings = reader.artifacts()
    return TopLevel(reader.paths("params"), reader.paths("metrics"), reader.plots(), artifacts, warnings)


class _Reader:
    """Resolves and checks one top-level key at a time; each error names its line."""

    def __init__(self, data: dict, filename: str, context: Context) -> None:
        self.data = data
        self.filename = filename
        self.context = context

    def line(self, key: str, entry: Any = None) -> int | None:
        found = getattr(entry, "line", None)
        return found or (self.data.line_of(key) if hasattr(self.data, "line_of") else None)

    def error(self, message: str, line: int | None, hint: str | None = None) -> SpecError:
        return SpecError(message, file=self.filename, line=line, hint=hint)

    def entries(self, key: str) -> list:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(
                f"top-level '{key}' must be a list",
                self.line(key),
                hint=f"write one {'file' if key != 'plots' else 'plot'} per line, each after '- '",
            )
        return value

    def resolved(self, key: str, entry: Any) -> Any:
        return resolve(entry, self.context, {"file": self.filename, "line": self.line(key, entry)})

    def path(self, key: str, value: Any, line: int | None, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{what} must be a path, not {value!r}", line)
        if has_control_characters(value):
            raise self.error(f"the path {value!r} in {what} holds control characters", line)
        return spec.normalize(folder_of(self.filename), value)

    def paths(self, key: str) -> tuple[str, ...]:
        """`params:` or `metrics:`: a list of files, relative to pipeline.yaml's folder."""
        what = (
            "each entry of top-level 'params' (a params file)"
            if key == "params"
            else "each entry of top-level 'metrics' (a metrics file)"
        )
        found = [self.path(key, self.resolved(key, entry), self.line(key, entry), what) for entry in self.entries(key)]
        return tuple(dict.fromkeys(found))

    def plots(self) -> tuple[PlotDefinition, ...]:
        """`plots:`: paths, or {id: None | {x, y, template, title, x_label, y_label}}. An id
        given twice gets both definitions' fields, the later winning, as in DVC."""
        merged: dict[str, tuple[dict, int | None]] = {}
        for entry in self.entries("plots"):
            line = self.line("plots", entry)
            value = self.resolved("plots", entry)
            if isinstance(value, str):
                value = {value: None}
            if not isinstance(value, dict) or not value:
                raise self.error("each entry of top-level 'plots' is a file, or 'id: {x, y, ...}'", line)
            for plot_id, props in value.items():
                plot_line = value.line_of(plot_id) if hasattr(value, "line_of") else line
                props = self.plot_props(plot_id, props, plot_line)
                merged[plot_id] = ({**merged.get(plot_id, ({}, None))[0], **props}, plot_line)
        return tuple(self.plot(plot_id, props, line) for plot_id, (props, line) in merged.items())

    def plot_props(self, plot_id: Any, props: Any, line: int | None) -> dict:
        if not isinstance(plot_id, str) or not plot_id.strip() or has_control_characters(plot_id):
            raise self.error(f"plot id {plot_id!r} must be a file path or a name", line)
        if props is None:
            return {}
        if not isinstance(props, dict):
            raise self.error(f"plot '{plot_id}': its definition must be a mapping such as {{x: step, y: loss}}", line)
        for key, value in props.items():
            if key not in PLOT_FIELDS:
                raise self.error(
                    f"plot '{plot_id}': unknown field '{key}'",
                    line,
                    hint=did_you_mean(str(key), PLOT_FIELDS) or "allowed: " + ", ".join(PLOT_FIELDS),
                )
            if key not in ("x", "y") and not isinstance(value, str):
                raise self.error(f"plot '{plot_id}': '{key}' must be text, not {value!r}", line)
        return dict(props)

    def plot(self, plot_id: str, props: dict, line: int | None) -> PlotDefinition:
        """A path id draws that file; an id whose `y` maps files to columns is a name (DVC's rule)."""
        where = f"plot '{plot_id}'"
        y = props.get("y")
        if isinstance(y, dict):
            if not y:
                raise self.error(f"{where}: 'y' maps no file to columns", line)
            ys = tuple(
                (self.path("plots", file, line, f"{where}: a file of 'y'"), column)
                for file, columns in y.items()
                for column in self.columns(where, "y", columns, line)
            )
        else:
            file = self.path("plots", plot_id, line, where)
            ys = tuple((file, column) for column in (self.columns(where, "y", y, line) if y is not None else [None]))
        x = props.get("x")
        if isinstance(x, dict):
            xs = tuple(
                (self.path("plots", file, line, f"{where}: a file of 'x'"), self.column(where, "x", column, line))
                for file, column in x.items()
            )
        else:
            xs = () if x is None else ((None, self.column(where, "x", x, line)),)
        if len(xs) > 1 and len(xs) != len(ys):
            raise self.error(
                f"{where}: 'x' names {len(xs)} columns and 'y' {len(ys)}",
                line,
                hint="give one x for every y, or a single x that all of them share",
            )
        return PlotDefinition(
            id=plot_id if isinstance(y, dict) else ys[0][0],
            y=ys,
            x=xs,
            template=props.get("template"),
            title=props.get("title"),
            x_label=props.get("x_label"),
            y_label=props.get("y_label"),
            origin=self.filename,
        )

    def column(self, where: str, axis: str, value: Any, line: int | None) -> str:
        if isinstance(value, str) and value:
            return value
        raise self.error(
            f"{where}: '{axis}' must name a column, not {value!r}",
            line,
            hint="x: a column, or {file: column}" if axis == "x" else None,
        )

    def columns(self, where: str, axis: str, value: Any, line: int | None) -> list[str]:
        if isinstance(value, list) and value:
            return [self.column(where, axis, item, line) for item in value]
        if isinstance(value, str) and value:
            return [value]
        raise self.error(
            f"{where}: '{axis}' must be a column, a list of columns, or {{file: columns}}, not {value!r}", line
        )

    def artifacts(self) -> tuple[tuple[Artifact, ...], tuple[str, ...]]:
        """`artifacts:`: name -> {path, type, desc, labels, meta}; only path is required."""
        value = self.data.get("artifacts")
        if value is None:
            return (), ()
        line = self.line("artifacts")
        if not isinstance(value, dict):
            raise self.error("top-level 'artifacts' must be a mapping of names to {path: ...}", line)
        found, warnings = [], []
        for raw_name, body in value.items():
            at = value.line_of(raw_name) if hasattr(value, "line_of") else line
            name = resolve(raw_name, self.context, {"file": self.filename, "line": at})
            if not isinstance(name, str) or not name or has_control_characters(name):
                raise self.error(f"artifact name {name!r} must be text", at)
            found.append(self.artifact(name, self.resolved("artifacts", body), at))
            if not _ARTIFACT_NAME.match(name):
                warnings.append(
                    f"{self.filename}:{at}: artifact '{name}': DVC's model registry cannot use "
                    "this name (letters, digits, '-', '_' and '/', starting and ending with "
                    "a letter or digit)"
                )
        return tuple(found), tuple(warnings)

    def artifact(self, name: str, body: Any, line: int | None) -> Artifact:
        where = f"artifact '{name}'"
        if not isinstance(body, dict):
            raise self.error(f"{where} must be a mapping with at least 'path'", line)
        for key in body:
            if key not in ARTIFACT_FIELDS:
                raise self.error(
                    f"{where}: unknown field '{key}'",
                    line,
                    hint=did_you_mean(str(key), ARTIFACT_FIELDS) or "allowed: " + ", ".join(ARTIFACT_FIELDS),
                )
        if "path" not in body:
            raise self.error(f"{where}: missing 'path'", line, hint="the file or folder the artifact is")
        path = body["path"]
        if not isinstance(path, str) or not path.strip() or has_control_characters(path):
            raise self.error(f"{where}: 'path' must be a path, not {path!r}", line)
        for key in ("type", "desc"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise self.error(f"{where}: '{key}' must be text, not {body[key]!r}", line)
        labels = body.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise self.error(f"{where}: 'labels' must be a list of text", line)
        return Artifact(name, path, body.get("type"), body.get("desc"), tuple(labels), body.get("meta"), line or 0)
