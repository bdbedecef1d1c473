"""Loading and validating pipeline.yaml into Stage records, with file:line in every error."""

from __future__ import annotations

import math
import os
import posixpath
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import SpecError, did_you_mean
from ..files import yamlfile
from ..files.equivalence import EXACT, SKIP, TOLERANCE, Equivalence
from ..files.safepath import has_control_characters, is_url
from . import interpolate
from .interpolate import MAX_STAGES, Context, expand_foreach, expand_matrix, resolve
from .params import DEFAULT_PARAMS_FILE, ParamsFiles
from .pipelines import PIPELINE_FILE, address, files_of, folder_of, pipeline_files
from .source import Source, as_source
from .stage import Out, ParamDep, Resources, Stage

# The settings most stages share are one object each (they are frozen): a compiled pipeline of
# 100,000 stages then pickles and unpickles each once, not 100,000 times (planning/spec_cache.py).
_SHARED_EQUIVALENCE = {EXACT: Equivalence(EXACT), SKIP: Equivalence(SKIP)}
_NO_RESOURCES = Resources()

TOP_FIELDS = ("stages", "vars", "params", "metrics", "plots", "artifacts")  # see toplevel.py
STAGE_FIELDS = (
    "cmd",
    "wdir",
    "deps",
    "params",
    "outs",
    "metrics",
    "plots",
    "vars",
    "frozen",
    "always_changed",
    "desc",
    "meta",
    "resources",
)
# What DVC 3's schema takes on an out, a metric or a plot. pipetool acts on cache and persist, keeps
# desc and the plot options; the rest loads with a warning (see _IGNORED).
_DVC_OUT_OPTIONS = ("cache", "persist", "desc", "checkpoint", "remote", "push", "type", "labels", "meta")
_OWN_OUT_OPTIONS = ("verify",)  # pipetool's own: how `verify` compares the out (DVC has none)
_PLOT_OPTIONS = ("x", "y", "template", "title", "x_label", "y_label", "header")
OUT_OPTIONS = {
    "outs": _DVC_OUT_OPTIONS,
    "metrics": _DVC_OUT_OPTIONS,
    "plots": _DVC_OUT_OPTIONS + _PLOT_OPTIONS,
}
_TOLERANCES = ("rtol", "atol")
# Options pipetool does not act on: (the value that asks for what pipetool does anyway, or
# _ANY, and what pipetool does instead).
_ANY = object()
_ANNOTATION = (_ANY, "pipetool keeps no annotations on outs; describe the file under the top-level 'artifacts' instead")
_IGNORED = {
    "checkpoint": (False, "DVC 3 no longer has checkpoints; pipetool ignores it too"),
    "remote": (_ANY, "pipetool pushes and pulls every cached out with one remote (--remote, else core.remote)"),
    "push": (True, "pipetool pushes every cached out; 'cache: false' keeps a file out of the cache and the remote"),
    "type": _ANNOTATION,
    "labels": _ANNOTATION,
    "meta": _ANNOTATION,
    "header": (True, "pipetool reads the first row of a CSV or TSV plot as its column names"),
}
_KIND = {"outs": "out", "metrics": "metric", "plots": "plot"}
_DEFAULT_CACHE = {"outs": True, "metrics": True, "plots": False}  # as DVC, except plots (see README)
_BAD_NAME = re.compile(r"[\s/\\:@\x00-\x1f\x7f-\x9f]")
RESOURCE_FIELDS = ("cpus", "memory", "gpus")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(?:([kmgtp])(i)?)?b?\s*$", re.IGNORECASE)


@dataclass
class Builds:
    """Each top-level entry's stages, with what their `${}` looked up.

    Given the builds of the same pipeline.yaml, load() takes an entry's stages from them when
    every value it looked up is the same again: a params edit rebuilds only the stages using it.
    """

    params_keys: frozenset = frozenset()
    parsing: dict = field(default_factory=dict)
    # name -> (what its ${} looked up, its stages, the warnings loading it gave)
    entries: dict[str, tuple[dict, list[Stage], list[str]]] = field(default_factory=dict)

    def reusable(self, name: str, context: Context) -> tuple[dict, list[Stage], list[str]] | None:
        found = self.entries.get(name)
        if found is None or context.params_keys != self.params_keys or context.parsing != self.parsing:
            return None
        return found if context.unchanged(found[0]) else None


def load(
    project: str | Source,
    filename: str = PIPELINE_FILE,
    parsed: Any = None,
    params: ParamsFiles | None = None,
    reuse: Builds | None = None,
    builds: Builds | None = None,
    parsing: dict | None = None,
    warnings: list[str] | None = None,
) -> list[Stage]:
    """All stages of one pipeline file, foreach/matrix expanded, in definition order.

    Paths are made project-relative from the file's folder, and the stages of a file other than
    the project's own pipeline.yaml are named by their address ('a/pipeline.yaml:train').

    parsed: the file's YAML, when the caller has it already (see spec_cache); params: the
    params files parsed so far, which params.yaml (read for interpolation) joins; reuse: the
    builds of an earlier load of the same YAML; builds: filled with this load's; parsing: the
    project's `parsing.*` settings (how a mapping in a cmd becomes arguments), DVC's defaults
    when None; warnings: gets one line (file:line: stage: ...) per thing loaded but not acted on.
    """
    root = as_source(project)
    data = parsed if parsed is not None else parse_file(root, filename)
    if data is None:
        raise SpecError(
            "the file is empty",
            file=filename,
            hint="add a stage with 'pipetool stage add', or define your stages under 'stages:'",
        )
    if not isinstance(data, dict):
        raise SpecError("the top level must be a mapping with 'stages:'", file=filename, line=1)
    _check_fields(data, TOP_FIELDS, "top-level key", {"file": filename, "line": 1})
    stages = data.get("stages")
    if stages is None and "stages" not in data:
        stages = {}  # a file of metrics or plots only, as DVCLive writes dvc.yaml
    if not isinstance(stages, dict):
        raise SpecError(
            "'stages' must be a mapping of stage names to stages", file=filename, line=data.line_of("stages")
        )
    files = params or ParamsFiles(root)
    context = root_context(root, data, filename, files, parsing)
    builds = builds if builds is not None else Builds()
    builds.params_keys, builds.parsing = context.params_keys, context.parsing
    loaded: list[Stage] = []
    seen: dict[str, int] = {}
    notes: list[str] = []
    for name, body in stages.items():
        where = {"file": filename, "line": stages.line_of(name), "stage": str(name)}
        built = reuse.reusable(str(name), context) if reuse is not None else None
        if built is None:
            entry, entry_notes = context.entry(), []
            loader = _Loader(root, files, filename, str(name), entry_notes)
            built = entry.looked_up, list(loader.stages(body, entry, where)), entry_notes
        builds.entries[str(name)] = built
        notes.extend(built[2])
        for stage in built[1]:
            if "/" in filename:
                stage = replace(stage, name=address(filename, stage.name))
            if stage.name in seen:
                raise SpecError(
                    f"stage name '{stage.name}' is generated twice (also on line {seen[stage.name]})", **where
                )
            seen[stage.name] = stage.line
            loaded.append(stage)
        if len(loaded) > MAX_STAGES:
            raise SpecError(
                f"the pipeline has more than {MAX_STAGES:,} stages",
                **where,
                hint="split the work into fewer, bigger stages",
            )
    if warnings is not None:
        warnings.extend(dict.fromkeys(notes))  # a foreach's stages share their template's warnings
    return loaded


def load_all(source: str | Source, files: list[str] | None = None, params: ParamsFiles | None = None) -> list[Stage]:
    """The stages of every pipeline file of a source (pipelines.files_of: a revision's tree or
    the working tree), in file order; none when it has no pipeline file."""
    root = as_source(source)
    listed = files_of(root) if files is None else files
    files = pipeline_files(listed)  # pointer files: their data stages are storage.pointer's
    params = params or ParamsFiles(root)
    if len(files) == len(listed):
        return [stage for file in files for stage in load(root, file, params=params)]
    parsed = {file: parse_file(root, file) for file in files}  # an empty one is no error beside tracked data
    return [
        stage
        for file in files
        if parsed[file] is not None
        for stage in load(root, file, parsed=parsed[file], params=params)
    ]


def parse_file(root: Source, filename: str = PIPELINE_FILE) -> Any:
    """The pipeline file's YAML (None when empty); an error when there is none."""
    text = root.read_text(filename)
    if text is None:
        raise SpecError(
            "no pipeline.yaml in this project",
            file=filename,
            hint="create one with a 'stages:' mapping, or run pipetool from the project's folder",
        )
    return yamlfile.parse(text, filename, yamlfile.MAX_DATA_BYTES)


def root_context(root: Source, data: dict, filename: str, files: ParamsFiles, parsing: dict | None = None) -> Context:
    """The values `${}` sees: params.yaml, then the top-level `vars` merged in, as DVC merges
    them (also read by toplevel.py)."""
    params = None
    params_file = normalize(folder_of(filename), DEFAULT_PARAMS_FILE)  # the one beside the pipeline file
    if files.exists(params_file):
        params = files.data(params_file)
        if not isinstance(params, dict):
            raise SpecError("params file must be a mapping of keys to values", file=params_file)
    context = interpolate.root_context(params, parsing)
    if data.get("vars") is None:
        return context
    where = {"file": filename, "line": data.line_of("vars")}
    folder = folder_of(filename)
    return context.with_vars(_as_list(data["vars"]), folder, _vars_reader(files, where), "vars", where)


def _vars_reader(files: ParamsFiles, where: dict):
    """read(path) for Context.with_vars: a vars file's mapping, each file parsed once."""

    def read(path: str) -> dict:
        if not files.exists(path):
            raise SpecError(f"vars file '{path}' not found", **where)
        try:
            loaded = files.data(path)
        except SpecError as error:
            if error.file != path or error.line is not None:
                raise  # a mistake inside the file, at its own line
            raise SpecError(f"vars file '{path}': {error.message}", **where) from None
        if not isinstance(loaded, dict):
            raise SpecError(f"vars file '{path}' must hold a mapping", **where)
        return loaded

    return read


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Loader:
    """Builds the stages of one top-level entry of `stages:`, noting what it loads but does not
    act on."""

    def __init__(self, root: Source, files: ParamsFiles, filename: str, name: str, notes: list[str]) -> None:
        self.root = root
        self.files = files
        self.filename = filename
        self.name = name
        self.notes = notes

    def stages(self, body: Any, context: Context, where: dict):
        name = self.name
        _check_name(name, where)
        if not isinstance(body, dict):
            raise SpecError("a stage must be a mapping with at least 'cmd'", **where)
        if "foreach" in body or "matrix" in body:
            yield from self._generated(body, context, where)
            return
        if "do" in body:
            raise SpecError("'do' needs a 'foreach' beside it", **{**where, "line": body.line_of("do")})
        yield self._build(name, body, context, where)

    def _generated(self, body: dict, context: Context, where: dict):
        if "foreach" in body:
            _check_fields(body, ("foreach", "do"), "field", where)
            if not isinstance(body.get("do"), dict):
                raise SpecError("'foreach' needs a 'do' mapping with the stage to generate", **where)
            at = {**where, "line": body.line_of("foreach")}
            items = resolve(body["foreach"], context, at, "foreach")
            expanded, template = expand_foreach(self.name, items, at), body["do"]
            self._note_hidden(context, ("item", "key") if isinstance(items, dict) else ("item",), "foreach", at)
        else:
            at = {**where, "line": body.line_of("matrix")}
            expanded = expand_matrix(self.name, resolve(body["matrix"], context, at, "matrix"), at)
            template = {k: v for k, v in body.items() if k != "matrix"}
            if hasattr(body, "key_lines"):
                template = _with_lines(template, body)
            self._note_hidden(context, ("item", "key"), "matrix", at)
        for generated, extra, fallback in expanded:
            if has_control_characters(generated):
                raise SpecError(
                    f"it generates the stage name {generated!r}, which holds control characters",
                    **at,
                    hint="give foreach or matrix values without newlines or tabs",
                )
            yield self._build(generated, template, context.child(extra), {**where, "stage": generated}, fallback)

    def _note_hidden(self, context: Context, keys: tuple, kind: str, at: dict) -> None:
        """DVC warns when foreach's or matrix's item/key hides a value of params or vars."""
        for key in keys:
            if key in context.values:
                self.note(
                    at["line"],
                    f"'{key}' is defined in params or vars; {kind} sets its own "
                    f"'{key}' in each stage it generates, which hides it there",
                )

    def note(self, line: int | None, message: str) -> None:
        self.notes.append(f"{self.filename}:{line}: stage '{self.name}': {message}")

    @staticmethod
    def _wdir(body: dict, context: Context, where: dict) -> Any:
        try:
            return resolve(body.get("wdir", "."), context, where, "wdir")
        except SpecError as error:
            if "vars" in body and error.message.endswith("is not defined in vars or params"):
                error.hint = "a stage's wdir is resolved before its own vars, which are read relative to it"
                error.args = (error.render(),)
            raise

    def _build(self, name: str, body: dict, context: Context, where: dict, fallback: dict | None = None) -> Stage:
        _check_fields(body, STAGE_FIELDS, "field", where)
        fields = _Fields(body, where, self.root, self)
        at = lambda key: {**where, "line": _line_of(body, key, where)}  # noqa: E731
        # wdir first, from what is defined before the stage's own vars (as in DVC): vars files are
        # read relative to it.
        wdir = fields.path(
            "wdir", self._wdir(body, context.fallback(fallback or {}), at("wdir")), folder_of(self.filename)
        )
        if body.get("vars") is not None:
            read = _vars_reader(self.files, at("vars"))
            context = context.with_vars(_as_list(body["vars"]), wdir, read, f"{name}.vars", at("vars"))
            context.looked_up.own_vars = True  # its vars files are not among the entry's lookups
        context = context.fallback(fallback or {})
        resolved = {
            key: resolve(value, context, at(key), key) for key, value in body.items() if key not in ("wdir", "vars")
        }
        if "cmd" not in resolved:
            raise SpecError("missing 'cmd'", **where, hint="every stage needs the command that makes its outs")
        cmd = fields.cmd(resolved["cmd"])
        deps = tuple(_dedupe(fields.path("deps", dep, wdir) for dep in fields.str_list("deps", resolved.get("deps"))))
        outs = tuple(out for kind in _KIND for out in fields.outs(kind, resolved.get(kind), wdir))
        params = fields.params(
            resolved.get("params"),
            wdir,
            sorted(context.used_params),
            self.root,
            normalize(folder_of(self.filename), DEFAULT_PARAMS_FILE),
        )
        return Stage(
            name=name,
            cmd=cmd,
            wdir=wdir,
            deps=deps,
            params=params,
            outs=outs,
            frozen=fields.flag("frozen", resolved.get("frozen", False)),
            always_changed=fields.flag("always_changed", resolved.get("always_changed", False)),
            desc=fields.text("desc", resolved.get("desc")),
            resources=fields.resources(resolved.get("resources")),
            line=where["line"],
        )


def _with_lines(values: dict, source: Any) -> yamlfile.Mapping:
    mapping = yamlfile.Mapping(values)
    mapping.line, mapping.key_lines = source.line, source.key_lines
    return mapping


def _check_name(name: str, where: dict) -> None:
    if not name or _BAD_NAME.search(name):
        raise SpecError(
            f"invalid stage name '{name}'",
            **where,
            hint="use letters, digits, '-', '_' and '.'; no spaces, '/', ':' or '@' "
            "('@' is reserved for foreach and matrix stages)",
        )


def _check_fields(body: dict, allowed: tuple, what: str, where: dict) -> None:
    for key in body:
        if key not in allowed:
            line = body.line_of(key) if hasattr(body, "line_of") else where.get("line")
            raise SpecError(
                f"unknown {what} '{key}'",
                **{**where, "line": line},
                hint=did_you_mean(str(key), allowed) or "allowed: " + ", ".join(allowed),
            )


def _line_of(body: dict, key: str, where: dict) -> int:
    return body.line_of(key) if hasattr(body, "line_of") else where["line"]


def _dedupe(items) -> list:
    return list(dict.fromkeys(items))


class _Fields:
    """Type checks for one stage's fields; each error names the field's line."""

    def __init__(self, body: dict, where: dict, root: Source, loader: _Loader) -> None:
        self.body = body
        self.where = where
        self.root = os.path.abspath(root.root)
        self.loader = loader

    def error(self, field: str, message: str, hint: str | None = None, line: int | None = None) -> SpecError:
        line = line or _line_of(self.body, field, self.where)
        return SpecError(message, **{**self.where, "line": line}, hint=hint)

    def cmd(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, str) and value.strip():
            return (value,)
        if isinstance(value, list) and value and all(isinstance(c, str) and c.strip() for c in value):
            return tuple(value)
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(c, dict) for c in value)):
            raise self.error(
                "cmd",
                "a mapping alone is no command: its arguments need a program before them",
                hint="write e.g. 'python train.py ${args}'",
            )
        raise self.error("cmd", "'cmd' must be a command string or a non-empty list of command strings")

    def flag(self, field: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.error(field, f"'{field}' must be true or false, not {value!r}")
        return value

    def text(self, field: str, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise self.error(field, f"'{field}' must be text")
        return value

    def str_list(self, field: str, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(field, f"'{field}' must be a list of paths")
        return value

    def path(self, field: str, value: Any, wdir: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(field, f"'{field}' must be a path, not {value!r}")
        self.plain(field, value)
        if is_url(value):
            return self.url(field, value)
        path = normalize(wdir, value)
        if posixpath.isabs(path) and (path + "/").startswith(self.root + "/"):
            path = posixpath.relpath(path, self.root)
        return path

    def url(self, field: str, url: str) -> str:
        """A URL dep as written (only deps may be URLs; a file:// URL is an absolute path)."""
        if field != "deps":
            raise self.error(
                field,
                f"'{field}' cannot be a URL ('{url}'): an out is a path inside the project "
                "(DVC 3 dropped external outs too)",
                hint="write the file inside the project, and upload it from a stage's cmd if it must go there",
            )
        if url.lower().startswith("file://") and not url[len("file://") :].startswith("/"):
            raise self.error(field, f"'{url}' is not an absolute file:// URL", hint="write file:///absolute/path")
        return url

    def plain(self, field: str, path: str) -> None:
        """Refuse a path holding control characters."""
        if has_control_characters(path):
            raise self.error(
                field,
                f"the path {path!r} in '{field}' holds control characters",
                hint="rename it: a newline, tab or other control character cannot be "
                "written in .gitignore or pipeline.lock",
            )

    def outs(self, field: str, value: Any, wdir: str) -> list[Out]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(field, f"'{field}' must be a list of paths (each optionally with options)")
        return [self._out(field, entry, wdir) for entry in value]

    def _out(self, field: str, entry: Any, wdir: str) -> Out:
        options: dict = {}
        line = getattr(entry, "line", None)
        if entry is None:
            raise self.error(field, f"'{field}' has an empty entry")
        if isinstance(entry, dict):
            if len(entry) != 1:
                raise self.error(field, f"each entry of '{field}' is a path or 'path: {{options}}'", line=line)
            ((path, options),) = entry.items()
            options = options or {}
            if not isinstance(options, dict):
                raise self.error(field, f"options of '{path}' must be a mapping such as {{cache: false}}", line=line)
        else:
            path = entry
        allowed = (*OUT_OPTIONS[field], *_OWN_OUT_OPTIONS)
        for key in options:
            if key not in allowed:
                raise self.error(
                    field,
                    f"unknown option '{key}' for '{path}'",
                    line=line,
                    hint=did_you_mean(str(key), allowed) or "allowed: " + ", ".join(allowed),
                )
        for flag in ("cache", "persist"):
            if flag in options and not isinstance(options[flag], bool):
                raise self.error(field, f"option '{flag}' of '{path}' must be true or false", line=line)
        for key, value in options.items():
            if key in _IGNORED and _IGNORED[key][0] is not value:
                self.loader.note(
                    line or _line_of(self.body, field, self.where),
                    f"{_KIND[field]} option '{key}' is not used by pipetool: {_IGNORED[key][1]}",
                )
        extra = tuple(
            sorted((k, v) for k, v in options.items() if k not in ("cache", "persist", *_OWN_OUT_OPTIONS, *_IGNORED))
        )
        if is_url(path):
            self.url(field, path)
        out_path = self.path(field, path, wdir)
        if posixpath.isabs(out_path) or out_path == ".." or out_path.startswith("../"):
            raise self.error(
                field,
                f"out '{path}' lies outside the project",
                hint="outs must be inside the project folder; deps may be anywhere",
            )
        if out_path == ".":
            raise self.error(field, "an out cannot be the whole project folder")
        return Out(
            path=out_path,
            kind=_KIND[field],
            cache=options.get("cache", _DEFAULT_CACHE[field]),
            persist=options.get("persist", False),
            options=extra,
            verify=self._equivalence(field, path, options.get("verify", EXACT), line),
        )

    def _equivalence(self, field: str, path: str, value: Any, line: int | None) -> Equivalence:
        """An out's `verify:` option: exact, skip, or {rtol: X, atol: Y} (each optional, >= 0)."""
        hint = "write 'verify: exact' (the default), 'verify: skip' or 'verify: {rtol: 1e-6, atol: 0}'"
        if value in (EXACT, SKIP):
            return _SHARED_EQUIVALENCE[value]
        if not isinstance(value, dict) or not value:
            raise self.error(field, f"option 'verify' of '{path}' must be exact, skip or a tolerance", hint, line)
        for key in value:
            if key not in _TOLERANCES:
                raise self.error(
                    field,
                    f"unknown tolerance '{key}' in option 'verify' of '{path}'",
                    did_you_mean(str(key), _TOLERANCES) or "allowed: rtol, atol",
                    line,
                )
        bounds = {}
        for key in _TOLERANCES:
            number = value.get(key, 0)
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number < math.inf:
                raise self.error(
                    field, f"'{key}' in option 'verify' of '{path}' must be a number >= 0, not {number!r}", hint, line
                )
            bounds[key] = float(number)
        return Equivalence(TOLERANCE, **bounds)

    def resources(self, value: Any) -> Resources:
        if value is None:
            return _NO_RESOURCES
        if not isinstance(value, dict):
            raise self.error("resources", "'resources' must be a mapping such as {cpus: 2, memory: 4GiB, gpus: 1}")
        for key in value:
            if key not in RESOURCE_FIELDS:
                raise self.error(
                    "resources",
                    f"unknown resource '{key}'",
                    line=self._resource_line(key),
                    hint=did_you_mean(str(key), RESOURCE_FIELDS) or "allowed: " + ", ".join(RESOURCE_FIELDS),
                )
        return Resources(
            cpus=self._count("cpus", value.get("cpus"), least=1),
            memory=self._size(value.get("memory")),
            gpus=self._count("gpus", value.get("gpus"), least=0),
        )

    def _resource_line(self, key: str) -> int | None:
        raw = self.body.get("resources")
        return raw.line_of(key) if hasattr(raw, "line_of") else None

    def _count(self, key: str, value: Any, least: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.error(
                "resources",
                f"resource '{key}' must be a whole number of at least {least}, not {value!r}",
                line=self._resource_line(key),
            )
        return value

    def _size(self, value: Any) -> int | None:
        """Bytes, from a number or a size such as 512MB or 4GiB (K/M/G/T/P: powers of 1000; Ki...: of 1024)."""
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        match = _SIZE.match(value) if isinstance(value, str) else None
        if match is None or float(match.group(1)) <= 0:
            raise self.error(
                "resources",
                f"resource 'memory' must be a size such as 4GiB or 512MB, not {value!r}",
                line=self._resource_line("memory"),
            )
        number, prefix, binary = match.groups()
        power = "kmgtp".index(prefix.lower()) + 1 if prefix else 0
        return int(float(number) * (1024 if binary else 1000) ** power)

    def params(
        self, value: Any, wdir: str, interpolated: list[str], root: Source, interpolated_from: str
    ) -> tuple[ParamDep, ...]:
        default = normalize(wdir, DEFAULT_PARAMS_FILE)
        keys: dict[str, list[str] | None] = {}
        for entry in value if isinstance(value, list) else ([] if value is None else [value]):
            if isinstance(entry, str):
                _add_keys(keys, default, [entry])
            elif isinstance(entry, dict):
                for file, file_keys in entry.items():
                    self.plain("params", str(file))
                    self._param_file_entry(keys, normalize(wdir, str(file)), file_keys)
            else:
                raise self.error("params", "each 'params' entry is a key, or {file: [keys]}, or {file: }")
        if interpolated and root.exists(interpolated_from):
            _add_keys(keys, interpolated_from, interpolated)
        return tuple(ParamDep(file, None if k is None else _outermost(k)) for file, k in keys.items())

    def _param_file_entry(self, keys: dict, file: str, file_keys: Any) -> None:
        if file_keys is None:
            keys[file] = None
        elif isinstance(file_keys, list) and all(isinstance(k, str) for k in file_keys):
            _add_keys(keys, file, file_keys)
        else:
            raise self.error("params", f"params of '{file}' must be a list of keys, or empty for the whole file")


def _outermost(keys: list[str]) -> tuple[str, ...]:
    """Keys without those inside another listed key: [train, train.lr] tracks train once."""
    unique = set(keys)
    return tuple(
        sorted(k for k in unique if not any(k.startswith(other + ".") or k.startswith(other + "[") for other in unique))
    )


def _add_keys(keys: dict, file: str, new: list[str]) -> None:
    if file in keys and keys[file] is None:
        return
    keys.setdefault(file, []).extend(new)


def normalize(wdir: str, path: str) -> str:
    """A project-relative '/'-path; absolute and outside paths stay as written, normalized."""
    path = path.replace("\\", "/")
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(wdir, path))
