"""`stage add`: append a stage to pipeline.yaml, keeping the user's comments, key order and layout.

The edited text is loaded and checked as a whole pipeline (spec, graph, params) before the file
is written, so a stage that would break the pipeline is refused and the file stays as it was.
ruamel.yaml does the round-trip edit (configured as every edit of a user file is, in yamledit.py);
it is imported only on this path.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from dataclasses import dataclass

from ..errors import PipetoolError, SpecError
from ..files import yamlfile
from ..files.fsutil import atomic_write, read_text
from ..files.safepath import is_url
from ..pipeline import spec
from ..pipeline.params import DEFAULT_PARAMS_FILE, ParamsFiles
from ..pipeline.source import FileSource
from ..pipeline.spec import PIPELINE_FILE
from ..pipeline.stage import Stage
from ..pipeline.yamledit import round_trip
from ..planning import graph as graph_mod

# A key whose value is a block sequence on the next line: the dash's column says the user's style.
_BLOCK_SEQUENCE = re.compile(r"^( *)[^\s#-][^\n]*:[ \t]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- ", re.MULTILINE)


@dataclass(frozen=True)
class NewStage:
    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    params: tuple[str, ...] = ()  # as on the command line: "a.b,c" or "file.yaml:k1,k2" or "file.yaml:"
    metrics: tuple[str, ...] = ()  # cached, as DVC's -m
    metrics_no_cache: tuple[str, ...] = ()  # kept in git ({cache: false}), as DVC's -M
    desc: str | None = None
    outs_no_cache: tuple[str, ...] = ()  # DVC's -O: {cache: false}
    outs_persist: tuple[str, ...] = ()  # DVC's --outs-persist: {persist: true}
    outs_persist_no_cache: tuple[str, ...] = ()  # {cache: false, persist: true}
    plots: tuple[str, ...] = ()  # DVC's --plots, cached: {cache: true} (pipetool's plots default to git)
    plots_no_cache: tuple[str, ...] = ()  # {cache: false}
    wdir: str | None = None  # the stage's paths are relative to it, as in the file
    always_changed: bool = False
    frozen: bool = False
    force: bool = False  # replace a stage of the same name where it stands


@dataclass(frozen=True)
class Added:
    stages: list[Stage]  # the whole pipeline, new stage included
    missing_deps: list[str]  # deps of the new stage that neither exist nor are made by a stage


# Words passed on as shell syntax when they come alone (the user quoted them to get them here).
_SHELL_OPERATORS = frozenset({">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>>", "2>&1", "&>"})


def command_text(words: list[str]) -> str:
    """The cmd from the words after the options: one word as given; several joined by spaces,
    each quoted as the shell needs to get it back, except operators such as `>` and `&&`."""
    if len(words) == 1:
        return words[0]
    return " ".join(w if w in _SHELL_OPERATORS else shlex.quote(w) for w in words)


def add(root: str, new: NewStage) -> Added:
    """Check the pipeline with the new stage appended, then write pipeline.yaml (atomically)."""
    path = os.path.join(root, PIPELINE_FILE)
    text = read_text(path) or ""
    edited = append(text, new)
    added = _check(root, text, edited, new)
    atomic_write(path, edited)
    return added


def append(text: str, new: NewStage) -> str:
    """pipeline.yaml's text with the stage added at the end of `stages` (pure; nothing written)."""
    from ruamel.yaml.comments import CommentedMap

    yamlfile.parse(text, PIPELINE_FILE)  # a syntax error or duplicate key: the strict reader's message
    yaml = round_trip()
    data = yaml.load(text) if text.strip() else None
    if data is None:  # nothing but comments (as `pipetool init` writes): keep them, add below
        stages = CommentedMap({new.name: _body(new)})
        yaml.indent(mapping=2, sequence=4, offset=2)
        out = io.StringIO()
        yaml.dump(CommentedMap({"stages": stages}), out)
        return (text.rstrip("\n") + "\n\n" if text.strip() else "") + out.getvalue()
    if not isinstance(data, CommentedMap):
        raise SpecError("the top level must be a mapping with 'stages:'", file=PIPELINE_FILE, line=1)
    stages = data.get("stages")
    if stages is None:
        stages = data["stages"] = CommentedMap()
    if not isinstance(stages, CommentedMap):
        raise SpecError(
            "'stages' must be a mapping of stage names to stages", file=PIPELINE_FILE, line=data.lc.key("stages")[0] + 1
        )
    if new.name in stages and not new.force:
        raise SpecError(
            f"a stage named '{new.name}' already exists",
            file=PIPELINE_FILE,
            line=stages.lc.key(new.name)[0] + 1,
            hint="choose another name with -n, or replace the stage with -f/--force",
        )
    _set_indent(yaml, text, stages)
    spaced = _stages_spaced(text, stages)
    stages.fa.set_block_style()
    if new.name in stages:  # --force: the new body where the old one stood, its comments above kept
        stages[new.name] = _body(new)
        out = io.StringIO()
        yaml.dump(data, out)
        return out.getvalue()
    stages[new.name] = _body(new)
    if spaced:
        stages.yaml_set_comment_before_after_key(new.name, before="\n")
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _body(new: NewStage):
    from ruamel.yaml.comments import CommentedMap

    body = CommentedMap()
    if new.desc:
        body["desc"] = new.desc
    body["cmd"] = new.cmd
    if new.wdir:
        body["wdir"] = new.wdir
    outs = [
        *new.outs,
        *_options(new.outs_no_cache, cache=False),
        *_options(new.outs_persist, persist=True),
        *_options(new.outs_persist_no_cache, cache=False, persist=True),
    ]
    for key, values in (
        ("deps", new.deps),
        ("params", _params(new.params)),
        ("outs", outs),
        ("metrics", [*new.metrics, *_options(new.metrics_no_cache, cache=False)]),
        ("plots", [*_options(new.plots, cache=True), *_options(new.plots_no_cache, cache=False)]),
    ):
        if values:
            body[key] = _list(values)
    if new.frozen:
        body["frozen"] = True
    if new.always_changed:
        body["always_changed"] = True
    return body


def _options(paths: tuple[str, ...], **options: bool) -> list:
    """Entries in DVC's mapping form, `- path:` with its options below (as DVC writes them)."""
    return [{path: dict(options)} for path in paths]


def _list(values, flow: bool | None = None):
    """A [flow, list] of plain entries; a block list when an entry is a mapping."""
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(values)
    if flow if flow is not None else all(isinstance(v, str) for v in values):
        seq.fa.set_flow_style()
    else:
        seq.fa.set_block_style()
    return seq


def _params(specs: tuple[str, ...]) -> list:
    """DVC's -p syntax: 'a,b' keys of params.yaml; 'file.yaml:a,b' keys of another file; 'file.yaml:' all."""
    keys: dict[str, list[str] | None] = {}
    for text in specs:
        file, _, names = text.rpartition(":")
        file = file or DEFAULT_PARAMS_FILE
        wanted = [k.strip() for k in names.split(",") if k.strip()]
        if not wanted:
            keys[file] = None
        elif keys.get(file, ()) is not None:
            known = keys.setdefault(file, [])
            known += [k for k in wanted if k not in known]
    entries: list = []
    for file, names in keys.items():
        if file == DEFAULT_PARAMS_FILE and names is not None:
            entries += names
        else:
            entries.append({file: None if names is None else _list(names, flow=True)})
    return entries


def _stages_spaced(text: str, stages) -> bool:
    """Whether the user leaves a blank line between stages (then the new one gets one too)."""
    lines = text.splitlines()
    for name in list(stages)[1:]:
        above = stages.lc.key(name)[0] - 1
        while above >= 0 and lines[above].lstrip().startswith("#"):
            above -= 1  # a comment about the stage belongs to it
        if above >= 0 and not lines[above].strip():
            return True
    return False


def _set_indent(yaml, text: str, stages) -> None:
    """Indent as the file does: the stages' mapping indent, and where block sequences put '-'."""
    mapping = stages.lc.key(next(iter(stages)))[1] if stages else 2
    mapping = mapping or 2
    found = _BLOCK_SEQUENCE.search(text)
    offset = max(0, len(found.group(2)) - len(found.group(1))) if found else 0
    yaml.indent(mapping=mapping, sequence=max(mapping, offset + 2), offset=offset)


class _Edited(FileSource):
    """The working tree, except that pipeline.yaml reads as the edited text."""

    def __init__(self, root: str, text: str) -> None:
        super().__init__(root)
        self.text = text

    def read_text(self, relpath: str) -> str | None:
        return self.text if relpath == PIPELINE_FILE else super().read_text(relpath)

    def exists(self, relpath: str) -> bool:
        return relpath == PIPELINE_FILE or super().exists(relpath)


def _check(root: str, before: str, edited: str, new: NewStage) -> Added:
    """Load the edited pipeline as repro would; errors about the new stage drop the line that
    does not exist in the file on disk."""
    lines = len(before.splitlines())
    try:
        stages = spec.load(_Edited(root, edited))
        graph = graph_mod.build(stages)
        stage = graph.stage(new.name)
        from ..planning.observe import param_values

        param_values(stage, ParamsFiles(root))
    except PipetoolError as error:
        raise _refused(error, lines) from None
    missing = [
        dep
        for dep in stage.deps
        if not is_url(dep) and not graph.producers_of(dep) and not os.path.lexists(os.path.join(root, dep))
    ]
    return Added(stages, missing)


def _refused(error: PipetoolError, lines: int) -> PipetoolError:
    beyond = error.file == PIPELINE_FILE and (error.line is None or error.line > lines)
    hint = "" if not error.hint else f"{error.hint} " if error.hint.endswith("?") else f"{error.hint}; "
    return type(error)(
        error.message,
        file=None if beyond else error.file,
        line=None if beyond else error.line,
        column=None if beyond else error.column,
        stage=error.stage,
        hint=hint + f"{PIPELINE_FILE} was not changed",
    )
