"""Property-based tests of the staleness rule (DESIGN.md, "When a stage is stale").

The main property builds random pipelines (random DAGs of small shell stages), applies random
edits, and after each edit compares what `pipetool repro` actually ran with an independent model
of the rule, written here from DESIGN.md and nothing else: a stage runs iff it has no record of a
successful run, or its cmd (after `${}` interpolation), its declared deps/outs or its set of used
params changed, or a dep's content differs from what it recorded (content as it is after its
upstream re-ran: early cutoff), or a used param's value changed, or an out is missing or differs
from what it recorded. The model also predicts every out's content, which the test checks too.

The other properties are pure and fast: graph.build, plan.Schedule and staleness.decide on plain
dataclasses, and the lock's own YAML writer against PyYAML, with no subprocess.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from conftest import remade_stages, run_in_process
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from pipetool.errors import GraphError
from pipetool.pipeline.stage import Out, ParamDep, Stage
from pipetool.planning.graph import build
from pipetool.planning.plan import Schedule, select
from pipetool.planning.staleness import Observed, decide
from pipetool.storage import lock_yaml
from pipetool.storage.hashing import HashInfo
from pipetool.storage.lock import LockEntry, PathRecord, yaml_block

UP_TO_DATE = "Data and pipelines are up to date.\n"

# ------------------------------------------------------------------------------------------------
# The model: a pipeline, the files on disk, and pipetool's lock as the rule says it must be.
# ------------------------------------------------------------------------------------------------

STAGE_PARAMS = ("p0", "p1", "p2")  # params stages may use
ALL_PARAMS = STAGE_PARAMS + ("q",)  # q is never used by any stage
DATA_FILES = ("data/d0.txt", "data/d1.txt")
# cat: all deps' bytes; lines: how many lines (same output when lines change but not their
# number); head: the first line only; const: a constant (same output whatever its inputs).
KINDS = ("cat", "lines", "head", "const")


@dataclass
class StageSpec:
    name: str
    kind: str
    deps: tuple[str, ...]  # paths: outs of earlier stages and maybe a data file
    declared: tuple[str, ...]  # params listed under `params:`
    interp: tuple[str, ...]  # params interpolated into the cmd as ${p}
    salt: int = 0  # a trailing shell comment: changes the cmd's text, not what it writes

    @property
    def out(self) -> str:
        return f"out/{self.name}.txt"

    @property
    def used_params(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.declared) | set(self.interp)))

    def cmd_template(self) -> str:
        """The cmd as written in pipeline.yaml."""
        return self._cmd(lambda p: "${" + p + "}")

    def cmd_resolved(self, params: dict) -> str:
        """The cmd after ${} interpolation: what pipetool records and compares."""
        return self._cmd(lambda p: str(params[p]))

    def _cmd(self, value) -> str:
        deps = " ".join(self.deps + ("/dev/null",))
        out = self.out
        cmd = {
            "cat": f"cat {deps} > {out}",
            "lines": f"cat {deps} | wc -l | tr -d ' ' > {out}",
            "head": f"cat {deps} | head -n 1 > {out}",
            "const": f"echo const > {out}",
        }[self.kind]
        for p in self.interp:
            cmd += f' && echo "{p}={value(p)}" >> {out}'
        if self.salt:
            cmd += f" # v{self.salt}"
        return cmd

    def output(self, files: dict[str, str], params: dict) -> str:
        """What the cmd writes, computed in Python from the deps' contents and the params."""
        joined = "".join(files[d] for d in self.deps)
        if self.kind == "cat":
            text = joined
        elif self.kind == "lines":
            text = f"{joined.count(chr(10))}\n"
        elif self.kind == "head":
            text = joined.split("\n", 1)[0] + "\n" if joined else ""
        else:
            text = "const\n"
        return text + "".join(f"{p}={params[p]}\n" for p in self.interp)


@dataclass(frozen=True)
class Record:
    """What the lock must hold for a stage after it succeeded."""

    cmd: str
    deps: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, int], ...]
    outs: tuple[tuple[str, str], ...]


@dataclass
class World:
    params: dict[str, int]
    stages: list[StageSpec]
    files: dict[str, str]  # path -> content, for data files and outs (None-free: missing = absent)
    lock: dict[str, Record] = field(default_factory=dict)
    next_id: int = 0

    def producer(self, path: str) -> StageSpec | None:
        return next((s for s in self.stages if s.out == path), None)

    def upstream(self, stage: StageSpec) -> list[str]:
        return [s.name for s in self.stages if s.out in stage.deps]

    def used_anywhere(self) -> set[str]:
        return {p for s in self.stages for p in s.used_params}

    def is_stale(self, stage: StageSpec) -> bool:
        rec = self.lock.get(stage.name)
        if rec is None:
            return True
        if rec.cmd != stage.cmd_resolved(self.params):
            return True
        if {p for p, _ in rec.deps} != set(stage.deps):
            return True
        if any(self.files.get(p) != content for p, content in rec.deps):
            return True
        if rec.params != tuple((p, self.params[p]) for p in stage.used_params):
            return True
        if {p for p, _ in rec.outs} != {stage.out}:
            return True
        return any(self.files.get(p) != content for p, content in rec.outs)

    def repro(self) -> set[str]:
        """Simulate `pipetool repro`: the names that must run. Updates files and lock."""
        ran = set()
        # Stages only depend on stages defined before them, so definition order is topological.
        for stage in self.stages:
            if not self.is_stale(stage):
                continue
            self.files[stage.out] = stage.output(self.files, self.params)
            self.lock[stage.name] = Record(
                cmd=stage.cmd_resolved(self.params),
                deps=tuple((d, self.files[d]) for d in stage.deps),
                params=tuple((p, self.params[p]) for p in stage.used_params),
                outs=((stage.out, self.files[stage.out]),),
            )
            ran.add(stage.name)
        names = {s.name for s in self.stages}
        self.lock = {n: r for n, r in self.lock.items() if n in names}
        return ran

    # --- writing the model to a real project folder ---

    def pipeline_yaml(self) -> str:
        lines = ["stages:"]
        for s in self.stages:
            lines.append(f"  {s.name}:")
            lines.append(f"    cmd: {_q(s.cmd_template())}")
            if s.deps:
                lines.append(f"    deps: [{', '.join(_q(d) for d in s.deps)}]")
            if s.declared:
                lines.append(f"    params: [{', '.join(s.declared)}]")
            lines.append(f"    outs: [{_q(s.out)}]")
        return "\n".join(lines) + "\n"

    def params_yaml(self) -> str:
        return "".join(f"{k}: {v}\n" for k, v in self.params.items())


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _pipetool(root: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in this process: 200 examples of five commands each, where an interpreter start
    per command would take two minutes."""
    return run_in_process(root, *args)


# ------------------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------------------

lines_text = st.lists(st.sampled_from("abc"), max_size=3).map(lambda ls: "".join(f"{x}\n" for x in ls))
param_subset = st.lists(st.sampled_from(STAGE_PARAMS), unique=True, max_size=2).map(lambda ps: tuple(sorted(ps)))


def draw_stage(data: st.DataObject, name: str, earlier_outs: list[str]) -> StageSpec:
    ups = data.draw(st.lists(st.sampled_from(earlier_outs), unique=True, max_size=3)) if earlier_outs else []
    source = data.draw(st.sampled_from((None,) + DATA_FILES))
    deps = tuple(sorted(ups)) + ((source,) if source else ())
    return StageSpec(
        name=name,
        kind=data.draw(st.sampled_from(KINDS)),
        deps=deps,
        declared=data.draw(param_subset),
        interp=data.draw(param_subset),
    )


def draw_world(data: st.DataObject) -> World:
    params = {p: data.draw(st.integers(0, 3)) for p in ALL_PARAMS}
    files = {f: data.draw(lines_text) for f in DATA_FILES}
    world = World(params=params, stages=[], files=files)
    for i in range(data.draw(st.integers(3, 8), label="stages")):
        world.stages.append(draw_stage(data, f"s{i}", [s.out for s in world.stages]))
    return world


def other_value(data: st.DataObject, old: int) -> int:
    v = data.draw(st.integers(0, 2))
    return v if v < old else v + 1


# Each example's project lives in memory where the system offers a tmpfs: an example writes and
# removes a project, two sqlite dbs and a lock a few times over, and on a disk their fsyncs and
# unlinks cost as much as the stages do. Nothing here is about durability.
MEMORY_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK) else None

# Per example: a first repro, then STEPS times (edits, repro, status). Each pipetool call costs
# ~0.1 s, so this keeps 200 examples to about 2.5 minutes on 2 cores.
STEPS = 2
MAX_EDITS = 4
EDITS = (
    "edit_data",
    "same_data",
    "used_param",
    "unused_param",
    "cmd",
    "delete_out",
    "corrupt_out",
    "add_stage",
    "remove_leaf",
    # the declared sets alone (a 'const' cmd does not name its deps)
    "declared_params",
    "declared_deps",
)


def apply_edit(data: st.DataObject, world: World, root: Path) -> str:
    """Draw one edit, apply it to the model and to the project on disk; describe it."""
    kind = data.draw(st.sampled_from(EDITS), label="edit")
    if kind == "edit_data":
        path = data.draw(st.sampled_from(DATA_FILES))
        text = data.draw(lines_text)
        world.files[path] = text
        _write(root, path, text)
        return f"write {path} = {text!r}"
    if kind == "same_data":
        path = data.draw(st.sampled_from(DATA_FILES))
        _write(root, path, world.files[path])
        return f"rewrite {path} with the same bytes"
    if kind in ("used_param", "unused_param"):
        used = sorted(world.used_anywhere())
        unused = [p for p in ALL_PARAMS if p not in used]
        pool = used if kind == "used_param" and used else unused
        key = data.draw(st.sampled_from(pool))
        old = world.params[key]
        world.params[key] = other_value(data, old)
        _write(root, "params.yaml", world.params_yaml())
        return f"params.yaml: {key} {old} -> {world.params[key]} ({'used' if key in used else 'unused'})"
    if kind == "cmd":
        i = data.draw(st.integers(0, len(world.stages) - 1))
        old = world.stages[i]
        new = replace(old, kind=data.draw(st.sampled_from(KINDS)), interp=data.draw(param_subset), salt=old.salt + 1)
        world.stages[i] = new
        _write(root, "pipeline.yaml", world.pipeline_yaml())
        return f"cmd of {old.name}: {old.cmd_template()!r} -> {new.cmd_template()!r}"
    if kind in ("declared_params", "declared_deps"):
        i = data.draw(st.integers(0, len(world.stages) - 1))
        old = world.stages[i]
        if kind == "declared_params":
            new = replace(old, declared=data.draw(param_subset))
        else:
            drawn = draw_stage(data, old.name, [s.out for s in world.stages[:i]])
            new = replace(old, deps=drawn.deps)
        world.stages[i] = new
        _write(root, "pipeline.yaml", world.pipeline_yaml())
        return (
            f"{old.name}: params {list(old.declared)} -> {list(new.declared)}, "
            f"deps {list(old.deps)} -> {list(new.deps)}, cmd {new.cmd_template()!r}"
        )
    if kind == "delete_out":
        stage = data.draw(st.sampled_from(world.stages))
        world.files.pop(stage.out, None)
        (root / stage.out).unlink(missing_ok=True)
        return f"delete {stage.out}"
    if kind == "corrupt_out":
        stage = data.draw(st.sampled_from(world.stages))
        text = data.draw(st.sampled_from(["corrupt\n", "", "a\n", "const\n", "0\n"]))
        if text == world.files.get(stage.out):
            text += "x\n"
        world.files[stage.out] = text
        _write(root, stage.out, text)
        return f"overwrite {stage.out} with {text!r}"
    if kind == "add_stage":
        name = f"n{world.next_id}"
        world.next_id += 1
        stage = draw_stage(data, name, [s.out for s in world.stages])
        world.stages.append(stage)
        _write(root, "pipeline.yaml", world.pipeline_yaml())
        return f"add stage {name}: {stage.cmd_template()!r} deps={list(stage.deps)} params={list(stage.declared)}"
    # remove_leaf
    needed = {d for s in world.stages for d in s.deps}
    leaves = [s for s in world.stages if s.out not in needed]
    if len(world.stages) == 1:
        return "(no leaf removed: the pipeline has one stage)"
    stage = data.draw(st.sampled_from(leaves))
    world.stages.remove(stage)
    _write(root, "pipeline.yaml", world.pipeline_yaml())
    return f"remove leaf stage {stage.name}"


def check_repro(root: Path, world: World, jobs: int, log: list[str], status: bool = True) -> None:
    expected = world.repro()
    result = _pipetool(root, "repro", "-j", str(jobs))
    context = (
        "\n".join(log) + f"\n--- pipeline.yaml\n{world.pipeline_yaml()}--- params.yaml\n"
        f"{world.params_yaml()}--- repro stdout\n{result.stdout}--- stderr\n{result.stderr}"
    )
    assert result.returncode == 0, context
    ran = remade_stages(result.stdout)  # a stale stage may be restored from the run-cache instead
    assert len(ran) == len(set(ran)), f"a stage ran twice\n{context}"
    assert set(ran) == expected, (
        f"expected to run {sorted(expected)}, ran {sorted(set(ran))}\n"
        f"(unexpected {sorted(set(ran) - expected)}, missing {sorted(expected - set(ran))})\n{context}"
    )
    position = {name: i for i, name in enumerate(ran)}
    for stage in world.stages:
        for up in world.upstream(stage):
            if stage.name in position and up in position:
                assert position[up] < position[stage.name], f"{stage.name} ran before {up}\n{context}"
    for stage in world.stages:
        actual = (root / stage.out).read_text() if (root / stage.out).exists() else None
        assert actual == world.files[stage.out], f"content of {stage.out}\n{context}"
    if status:
        after = _pipetool(root, "status", "--exit-code")
        assert (after.returncode, after.stdout) == (0, UP_TO_DATE), (
            f"{context}\n--- status\n{after.stdout}{after.stderr}"
        )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(st.data())
def test_repro_runs_exactly_the_stale_stages(data):
    world = draw_world(data)
    jobs = data.draw(st.sampled_from([1, 2]), label="jobs")
    log = [f"repro -j {jobs} on a new project"]
    with tempfile.TemporaryDirectory(dir=MEMORY_TMP) as tmp:
        root = Path(tmp)
        for path, text in world.files.items():
            _write(root, path, text)
        _write(root, "params.yaml", world.params_yaml())
        _write(root, "pipeline.yaml", world.pipeline_yaml())
        # (no status after the first build: the next repro would run anything it left stale)
        check_repro(root, world, jobs, log, status=False)
        for _ in range(STEPS):
            # one edit before each repro, sometimes two at once (2 to 4 edits in all)
            count = data.draw(st.integers(1, MAX_EDITS // STEPS), label="edits")
            edits = [apply_edit(data, world, root) for _ in range(count)]
            log += [f"edit: {e}" for e in edits] + ["repro"]
            note("\n".join(log))
            check_repro(root, world, jobs, log)


# ------------------------------------------------------------------------------------------------
# Pure properties: graph.build, plan.Schedule, staleness.decide
# ------------------------------------------------------------------------------------------------


@st.composite
def digraphs(draw, acyclic: bool):
    """(n, edges, dir_outs): edges (producer, consumer) between distinct stages."""
    n = draw(st.integers(1, 9))
    rank = draw(st.permutations(range(n)))  # a hidden order the edges follow when acyclic
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j and (not acyclic or rank[i] < rank[j])]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    dir_outs = draw(st.sets(st.integers(0, n - 1)))
    inside = draw(st.booleans())  # deps on a file inside a directory out
    return n, sorted(edges), dir_outs, inside


def stages_of(n: int, edges, dir_outs, inside: bool) -> list[Stage]:
    def out(i):
        return f"dir{i}" if i in dir_outs else f"o{i}.txt"

    stages = []
    for j in range(n):
        deps = ["src.txt"] + [
            (f"{out(i)}/part.txt" if inside and i in dir_outs else out(i)) for i, k in edges if k == j
        ]
        stages.append(Stage(name=f"s{j}", cmd=(f"make {j}",), deps=tuple(deps), outs=(Out(out(j)),)))
    return stages


def has_cycle(n: int, edges) -> bool:
    ups = {j: {i for i, k in edges if k == j} for j in range(n)}
    done: set[int] = set()
    while True:
        free = [j for j in range(n) if j not in done and ups[j] <= done]
        if not free:
            return len(done) < n
        done.update(free)


@settings(max_examples=500, deadline=None)
@given(digraphs(acyclic=False))
def test_build_raises_a_graph_error_exactly_for_cycles(graph):
    n, edges, dir_outs, inside = graph
    stages = stages_of(n, edges, dir_outs, inside)
    if has_cycle(n, edges):
        with pytest.raises(GraphError):
            build(stages)
    else:
        build(stages)


@settings(max_examples=500, deadline=None)
@given(digraphs(acyclic=True))
def test_topological_order_respects_edges_and_breaks_ties_by_definition_order(graph):
    n, edges, dir_outs, inside = graph
    g = build(stages_of(n, edges, dir_outs, inside))
    assert sorted(g.order) == list(range(n))
    assert {(i, j) for j in range(n) for i in g.upstream[j]} == set(edges)
    assert {(i, j) for i in range(n) for j in g.downstream[i]} == set(edges)
    placed: set[int] = set()
    for node in g.order:
        ready = [j for j in range(n) if j not in placed and set(g.upstream[j]) <= placed]
        assert node == min(ready), f"order {g.order}: {node} placed while {min(ready)} was ready"
        placed.add(node)


@settings(max_examples=500, deadline=None)
@given(digraphs(acyclic=True), st.data())
def test_schedule_yields_stages_only_after_their_upstream_and_never_after_a_failure(graph, data):
    n, edges, dir_outs, inside = graph
    g = build(stages_of(n, edges, dir_outs, inside))
    targets = data.draw(st.none() | st.sets(st.integers(0, n - 1), min_size=1))
    selected = select(g, targets)
    chosen = set(selected)
    schedule = Schedule(g, selected)
    ok: set[int] = set()
    failed: set[int] = set()
    skipped: set[int] = set()
    running: list[int] = []
    popped: list[int] = []
    abandoned = False

    def blocked(i):  # downstream of a failed stage
        return any(i in g.closure([f], "down") for f in failed)

    while True:
        ready_now = [
            i
            for i in selected
            if i not in popped and i not in skipped and {u for u in g.upstream[i] if u in chosen} <= ok
        ]
        # the simplest choice first, so that the smallest example is short: start, finish, ...
        action = data.draw(
            st.sampled_from(["finish", "pop", "fail", "abandon"]) if running else st.sampled_from(["pop", "abandon"])
        )
        if action == "pop":
            stage = schedule.pop_ready()
            if stage is None:
                assert abandoned or not ready_now, f"{ready_now} ready but pop_ready gave None"
                if not running:
                    break
                continue
            assert not abandoned, "a stage started after abandon()"
            assert stage in chosen and stage not in popped
            assert {u for u in g.upstream[stage] if u in chosen} <= ok, "started before its upstream finished"
            assert not blocked(stage), "started downstream of a failed stage"
            assert stage == min(ready_now, key=selected.index), "not the first ready stage in order"
            popped.append(stage)
            running.append(stage)
        elif action == "abandon":
            left = schedule.abandon()
            assert set(left) == chosen - set(popped) - skipped
            skipped.update(left)
            abandoned = True
            if not running:
                break
        else:
            stage = running.pop(data.draw(st.integers(0, len(running) - 1)))
            if action == "finish":
                assert schedule.finish(stage) == []
                ok.add(stage)
            else:
                newly = schedule.finish(stage, ok=False)
                expected = {
                    i
                    for i in g.closure([stage], "down") - {stage}
                    if i in chosen and i not in popped and i not in skipped
                }
                assert set(newly) == expected
                failed.add(stage)
                skipped.update(newly)
    assert schedule.done
    assert set(popped) | skipped == chosen
    if not abandoned:
        assert skipped == {i for f in failed for i in g.closure([f], "down") - {f} if i in chosen} - set(popped)


# decide: a matching stage/lock/observed triple, with random perturbations whose reasons are known.

PF = "params.yaml"


@st.composite
def decide_cases(draw):
    deps = [f"d{i}" for i in range(draw(st.integers(0, 3)))]
    outs = [f"o{i}" for i in range(draw(st.integers(1, 2)))]
    keys = [f"k{i}" for i in range(draw(st.integers(0, 3)))]
    values = {k: draw(st.integers(0, 3)) for k in keys}
    stage = Stage(
        name="s",
        cmd=("run",),
        deps=tuple(deps),
        params=(ParamDep(PF, tuple(keys)),) if keys else (),
        outs=tuple(Out(o) for o in outs),
    )
    lock_deps = {d: f"h-{d}" for d in deps}
    lock_outs = {o: f"h-{o}" for o in outs}
    lock_params = dict(values)
    obs_deps: dict = {d: HashInfo(f"h-{d}", 1) for d in deps}
    obs_outs: dict = {o: HashInfo(f"h-{o}", 1) for o in outs}
    obs_params = dict(values)
    expected: set[tuple] = set()
    cmd = "run"
    if draw(st.booleans()):
        cmd = "run --old"
        expected.add(("cmd", None, None))
    for d in deps:
        change = draw(st.sampled_from([None, None, "modified", "deleted", "removed"]))
        if change == "modified":
            obs_deps[d] = HashInfo("other", 1)
        elif change == "deleted":
            obs_deps[d] = None
        elif change == "removed":  # in the lock, no longer declared
            stage = replace(stage, deps=tuple(x for x in stage.deps if x != d))
            del obs_deps[d]
        if change:
            expected.add(("deps", d, change))
    if draw(st.booleans()):  # a dep declared now that the lock does not know
        stage = replace(stage, deps=stage.deps + ("new_dep",))
        obs_deps["new_dep"] = draw(st.sampled_from([None, HashInfo("x", 1)]))
        expected.add(("deps", "new_dep", "added"))
    for o in outs:
        change = draw(st.sampled_from([None, None, "modified", "deleted"]))
        if change == "modified":
            obs_outs[o] = HashInfo("other", 1)
        elif change == "deleted":
            obs_outs[o] = None
        if change:
            expected.add(("outs", o, change))
    for k in keys:
        change = draw(st.sampled_from([None, None, "modified", "removed"]))
        if change == "modified":
            obs_params[k] = values[k] + 10
        elif change == "removed":
            del obs_params[k]
        if change:
            expected.add(("params", k, change))
    if draw(st.booleans()):  # a param used now that the lock does not know
        obs_params["new_key"] = 1
        expected.add(("params", "new_key", "added"))
    always = draw(st.booleans())
    if always:
        stage = replace(stage, always_changed=True)
        expected.add(("always_changed", None, None))
    elif not (stage.deps or stage.params or stage.outs):  # DVC's callback stage
        expected.add(("always_changed", "no deps or outs", None))
    lock = LockEntry(
        cmd=cmd,
        deps=tuple(PathRecord(p, h, 1) for p, h in lock_deps.items()),
        params={PF: lock_params} if lock_params else {},
        outs=tuple(PathRecord(p, h, 1) for p, h in lock_outs.items()),
    )
    observed = Observed(deps=obs_deps, outs=obs_outs, params={PF: obs_params} if obs_params else {})
    return stage, lock, observed, expected


@settings(max_examples=500, deadline=None)
@given(decide_cases())
def test_decide_gives_exactly_the_reasons_of_each_change(case):
    stage, lock, observed, expected = case
    reasons = decide(stage, lock, observed)
    assert {(r.kind, r.subject, r.change) for r in reasons} == expected
    assert len(reasons) == len(expected)
    assert [r.kind for r in decide(stage, None, observed)] == ["new"]


# ------------------------------------------------------------------------------------------------
# lock_yaml writes an entry byte for byte as PyYAML would, or leaves it to PyYAML.
# ------------------------------------------------------------------------------------------------

# Text of the alphabet lock_yaml writes itself (but starting with anything), and text with the
# characters it must leave to PyYAML (':', '#', unicode, tabs...), so both paths are taken often.
# The strings are built from their parts rather than drawn with st.from_regex, which filters
# each draw against the pattern: drawing took most of these tests' time (CPU 17 s -> 7 s). SAFE is the
# language [A-Za-z_/][C]{0,8}( [C]{1,5}){0,2}, C the characters below; the hashes [0-9a-f]{32},
# with or without '.dir', and [0-9]{32}.
SAFE_FIRST = string.ascii_letters + "_/"
SAFE_CHARS = string.ascii_letters + string.digits + "_./=<>+@%|&$*;()!,'\"-"
SAFE = st.builds(
    lambda first, rest, words: first + rest + "".join(" " + word for word in words),
    st.sampled_from(SAFE_FIRST),
    st.text(alphabet=SAFE_CHARS, max_size=8),
    st.lists(st.text(alphabet=SAFE_CHARS, min_size=1, max_size=5), max_size=2),
)
TRICKY = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab01_./-: #?[]{}'\"~!&*|>%@=\té\n")), max_size=8),
    st.sampled_from(
        [
            "yes",
            "No",
            "TRUE",
            "off",
            "null",
            "Null",
            "y",
            "n",
            "e5",
            "0x1F",
            "1_000",
            "",
            "2024-01-31",
            "12:30",
            ".inf",
            "-",
            "a: b",
            "a #b",
            "a ",
            " a",
            "a  b",
            "=",
            "<<",
        ]
    ),
    st.builds(
        str.__add__, st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), st.sampled_from(["", ".dir"])
    ),
    st.text(alphabet=string.digits, min_size=32, max_size=32),
)
NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20), st.booleans(), st.none(), st.floats(-1e6, 1e6).map(lambda x: round(x, 3))
)


def scalars(text, numbers=NUMBERS):
    return st.one_of(text, text, numbers)


def entries(text):
    records = st.lists(
        st.builds(PathRecord, text, text, st.integers(0, 10**12), st.one_of(st.none(), st.integers(0, 10**6))),
        max_size=2,
    )
    return st.builds(
        LockEntry,
        cmd=st.one_of(text, st.lists(text, min_size=1, max_size=2).map(tuple)),
        deps=records.map(tuple),
        params=st.dictionaries(text, st.dictionaries(text, scalars(text), max_size=2), max_size=2),
        outs=records.map(tuple),
        duration=st.one_of(st.none(), st.floats(0, 10**6), st.integers(0, 100)),
    )


@settings(max_examples=1500, deadline=None)
@given(SAFE, entries(SAFE))
def test_lock_yaml_writes_what_pyyaml_writes_or_nothing(name, entry):
    data = entry.to_dict()
    fast = lock_yaml.block(name, data)
    if fast is not None:
        assert fast == yaml_block(name, data)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(SAFE, TRICKY), scalars(st.one_of(SAFE, TRICKY), st.one_of(NUMBERS, st.floats())))
def test_lock_yaml_writes_a_scalar_itself_only_as_pyyaml_would(key, value):
    data = LockEntry(cmd="cmd", params={"params.yaml": {key: value}}).to_dict()
    fast = lock_yaml.block("stage", data)
    if fast is not None:
        assert fast == yaml_block("stage", data)


def test_lock_yaml_writes_the_usual_entry_itself():
    entry = LockEntry(
        cmd="python src/train.py --out models/model.pkl && cat x | wc -l > n.txt",
        deps=(PathRecord("data/prepared", "0" * 28 + "abcd.dir", 2048, 3),),
        params={"params.yaml": {"train.lr": 0.01, "train.seed": 7, "train.fast": True}},
        outs=(PathRecord("models/model.pkl", "be573118fb47cf582ef3a1a12238c2e5", 10),),
        duration=12.5,
    )
    assert lock_yaml.block("train@1", entry.to_dict()) == yaml_block("train@1", entry.to_dict())
    assert lock_yaml.block("train@1", entry.to_dict()) is not None


@settings(max_examples=500, deadline=None)
@given(digraphs(acyclic=True), st.data())
def test_one_slot_starting_the_next_stage_before_recording_the_last_keeps_the_order(graph, data):
    """repro -j 1 starts the next stage in the slot a stage's end freed before recording that
    stage (pop_ready(before=it)), then finishes it: the stages start in the order they would
    if each were finished first, whatever the DAG and the targets."""
    n, edges, dir_outs, inside = graph
    g = build(stages_of(n, edges, dir_outs, inside))
    targets = data.draw(st.none() | st.sets(st.integers(0, n - 1), min_size=1))
    selected = select(g, targets)

    def order(early: bool) -> list[int]:
        schedule = Schedule(g, selected)
        started = [schedule.pop_ready()]
        while started[-1] is not None:
            ended = started[-1]
            following = schedule.pop_ready(before=ended) if early else None
            schedule.finish(ended)
            started.append(following if following is not None else schedule.pop_ready())
        assert schedule.done
        return started[:-1]

    assert order(early=True) == order(early=False) == selected
