"""The benchmark workloads. Each builds synthetic pipelines in scratch git repos and times one tool.

A workload's prepare() makes the tool-independent data and measures the machine baselines
once; run(tool) then builds fresh repos for that tool and records its timings.
"""

from __future__ import annotations

import functools
import hashlib
import mmap
import os
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import harness
import yaml
from harness import BenchError, NotImplementedByTool, Timing, Tool, make_repo, measure
from report import Results

FAST_RUNS = 5  # read-only commands: status, no-op repro, metrics diff
SLOW_RUNS = 3  # commands that redo work: first repros, cold status
STARTUP_RUNS = 10  # sub-second commands whose spread is large
GB = 1e9
# A raw recursive stat of a tree: the floor of a warm status, which must stat every file it knows.
STAT_WALK = """
import os, sys
def walk(path):
    for entry in os.scandir(path):
        entry.stat(follow_symlinks=False)
        if entry.is_dir(follow_symlinks=False):
            walk(entry.path)
walk(sys.argv[1])
"""
MiB = 1024 * 1024


@dataclass
class Context:
    scratch: Path
    quick: bool
    results: Results
    started: float = field(default_factory=time.perf_counter)

    def log(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:7.1f}s] {text}", file=sys.stderr, flush=True)


class Workload:
    name = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prepare(self) -> None:
        """Tool-independent data and machine baselines (once, whatever the tools)."""

    def run(self, tool: Tool) -> None:
        raise NotImplementedError

    def repo(self, tool: Tool, label: str = "") -> Path:
        return self.ctx.scratch / f"{self.name}{label}-{tool.name}"

    def record(self, measurement: str, tool: Tool, timing: Timing) -> float:
        self.ctx.results.add(self.name, measurement, tool.name, timing.median, "s", timing.seconds)
        self.ctx.log(
            f"{self.name} / {tool.name}: {measurement}: {timing.median:.3f} s (median of {len(timing.seconds)})"
        )
        return timing.median

    def value(self, measurement: str, tool: Tool, value: float | str, unit: str) -> None:
        self.ctx.results.add(self.name, measurement, tool.name, value, unit)

    def baseline(self, measurement: str, value: float, unit: str, runs: list[float] | None = None):
        self.ctx.results.add_baseline(self.name, measurement, value, unit, runs)
        self.ctx.log(f"{self.name} / baseline: {measurement}: {value:.3f} {unit}")

    def check_up_to_date(self, tool: Tool, what: str, timing: Timing) -> None:
        stale = [text for text in timing.outputs if "up to date" not in text.lower()]
        if stale:
            first = " | ".join(stale[0].strip().splitlines()[:3])
            self.ctx.results.note(f"{self.name} / {tool.name}: {what} did not say 'up to date': {first}")

    def check_ran(self, tool: Tool, what: str, timing: Timing, expected: int) -> None:
        counts = timing.stages_run()
        if any(count != expected for count in counts):
            self.ctx.results.note(f"{self.name} / {tool.name}: {what} ran {counts} stages per run, expected {expected}")

    def shell_baseline(self, label: str, commands: list[str], setup, runs: int) -> float:
        """Median seconds of the stages' commands run directly with sh, in fresh folders."""
        seconds = []
        for index in range(runs):
            folder = self.ctx.scratch / f"{self.name}-shell-{label}-{index}"
            folder.mkdir(parents=True)
            setup(folder)
            seconds.append(harness.time_shell_commands(commands, folder))
        median = statistics.median(seconds)
        self.baseline(f"{label}: the {len(commands)} commands via sh", median, "s", seconds)
        return median

    def first_repro(self, tool: Tool, build, stages: int, baseline: float | None, label: str = ""):
        """Time `repro` on fresh repos (build() makes one); record time and overhead per stage."""
        runs = 1 if tool.slow or stages > 1000 else SLOW_RUNS
        repo = self.repo(tool, label)
        timing = measure(tool.argv("repro"), repo, tool.environ(), runs, before=lambda _: build(repo))
        prefix = f"{label}: " if label else ""
        self.record(f"{prefix}first repro ({stages} stages)", tool, timing)
        self.check_ran(tool, f"{prefix}first repro", timing, stages)
        if baseline is not None:
            overhead = (timing.median - baseline) / stages * 1000
            self.value(f"{prefix}first repro overhead vs sh", tool, overhead, "ms/stage")
        return repo


class WideDag(Workload):
    """Layers of stages, each `cat`-ing two outs of the layer before and adding its own param."""

    name = "wide_dag"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.layers, self.width = (6, 5) if ctx.quick else (25, 20)
        self.mid = self.layers // 2
        self.shell_seconds: float | None = None

    @property
    def stages(self) -> int:
        return self.layers * self.width

    @staticmethod
    def stage_name(layer: int, index: int) -> str:
        return f"l{layer:02d}_s{index:02d}"

    @staticmethod
    def param_key(layer: int, index: int) -> str:
        return f"p.l{layer:02d}.s{index:02d}"

    def params(self, bump: int = 0) -> dict:
        values = {
            f"l{layer:02d}": {f"s{index:02d}": layer * 100 + index for index in range(self.width)}
            for layer in range(self.layers)
        }
        values[f"l{self.mid:02d}"]["s00"] += bump
        return {"p": values}

    def stage(self, layer: int, index: int, param: str) -> dict:
        """One stage; param is the `${}` reference, or the value itself for the shell baseline."""
        out = f"out/{self.stage_name(layer, index)}.txt"
        body: dict = {}
        if layer == 0:
            body["cmd"] = f"echo {param} > {out}"
        else:
            deps = [f"out/{self.stage_name(layer - 1, i % self.width)}.txt" for i in (index, index + 1)]
            body["cmd"] = f"cat {deps[0]} {deps[1]} | cksum > {out} && echo {param} >> {out}"
            body["deps"] = deps
        body["params"] = [self.param_key(layer, index)]
        body["outs"] = [out]
        return body

    def pipeline(self) -> dict:
        stages = {}
        for layer in range(self.layers):
            for index in range(self.width):
                reference = "${" + self.param_key(layer, index) + "}"
                stages[self.stage_name(layer, index)] = self.stage(layer, index, reference)
        return {"stages": stages}

    def shell_commands(self) -> list[str]:
        values = self.params()["p"]
        return [
            self.stage(layer, index, str(values[f"l{layer:02d}"][f"s{index:02d}"]))["cmd"]
            for layer in range(self.layers)
            for index in range(self.width)
        ]

    def build(self, tool: Tool, repo: Path) -> Path:
        return make_repo(repo, tool, self.pipeline(), self.params(), populate=lambda root: (root / "out").mkdir())

    def rerun_cone(self) -> list[tuple[int, int]]:
        """(layer, index) of the stages downstream of the changed param (itself included), layer
        by layer: what should rerun, in an order that can run."""
        affected = {0}
        cone = [(self.mid, 0)]
        for layer in range(self.mid + 1, self.layers):
            affected = {i for i in range(self.width) if {i, (i + 1) % self.width} & affected}
            cone += [(layer, index) for index in sorted(affected)]
        return cone

    def rerun_commands(self, bump: int) -> list[str]:
        """The commands of the rerun cone with the bumped param, as sh runs them."""
        values = self.params(bump)["p"]
        return [
            self.stage(layer, index, str(values[f"l{layer:02d}"][f"s{index:02d}"]))["cmd"]
            for layer, index in self.rerun_cone()
        ]

    def prepare(self) -> None:
        self.shell_seconds = self.shell_baseline(
            "first repro", self.shell_commands(), lambda folder: (folder / "out").mkdir(), SLOW_RUNS
        )

    def run(self, tool: Tool) -> None:
        repo = self.first_repro(tool, functools.partial(self.build, tool), self.stages, self.shell_seconds)
        harness.wait_out_racy_window()
        env = tool.environ()
        status = measure(tool.argv("status"), repo, env, FAST_RUNS, warmup=True)
        self.record("no-op status", tool, status)
        self.check_up_to_date(tool, "no-op status", status)
        noop = measure(tool.argv("repro"), repo, env, FAST_RUNS, warmup=True)
        self.record("no-op repro", tool, noop)
        self.check_ran(tool, "no-op repro", noop, 0)
        self.param_change(tool, repo)

    def param_change(self, tool: Tool, repo: Path) -> None:
        """Bump one param in the middle layer; each repro run bumps it again. Right before each
        repro, the same commands it will rerun are timed with sh in a copy of the outs, so its
        overhead is the difference of two runs made at the same moment."""
        label = f"param change in layer {self.mid}"
        folder = self.ctx.scratch / f"{self.name}-shell-param-change-{tool.name}"
        shutil.copytree(repo / "out", folder / "out")
        shell: list[float] = []

        def bump(run: int) -> None:
            harness.write_yaml(repo / "params.yaml", self.params(run + 1))
            shell.append(harness.time_shell_commands(self.rerun_commands(run + 1), folder))

        harness.write_yaml(repo / "params.yaml", self.params(1))  # what the first repro will find
        env = tool.environ()
        status = measure(tool.argv("status"), repo, env, FAST_RUNS)
        self.record(f"{label}: status", tool, status)
        repro = measure(tool.argv("repro"), repo, env, FAST_RUNS, before=bump)  # a slow tool runs fewer
        self.record(f"{label}: repro", tool, repro)
        counts = repro.stages_run()
        expected = len(self.rerun_cone())
        self.value(f"{label}: stages rerun (expected {expected})", tool, statistics.median(counts), "stages")
        self.value(f"{label}: the same {expected} commands via sh, just before", tool, statistics.median(shell), "s")
        self.value(
            f"{label}: repro minus its commands' time",
            tool,
            statistics.median(r - c for r, c in zip(repro.seconds, shell, strict=False)),
            "s",
        )


class ManyStages(Workload):
    """A `foreach` of N independent copy stages, for N up to 4000 (10000 without --quick).

    Bigger sizes are opt-in, since a first repro of 100,000 stages takes minutes:
    BENCH_MANY_STAGES=100000 (a comma-separated list) adds them, each timed as the others
    (shell baseline, first repro, no-op status), once.
    """

    name = "many_stages"
    EXTRA_SIZES_VARIABLE = "BENCH_MANY_STAGES"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.sizes = [100, 200] if ctx.quick else [200, 500, 1000, 2000, 4000]
        self.sizes += self.extra_sizes()
        self.status_only = [] if ctx.quick else [10000]  # no shell baseline: too slow to be worth it
        self.dvc_sizes = [100] if ctx.quick else [200, 500]
        # DVC at sizes whose first repro would take it from ~20 min to hours: the copies are made
        # with sh and recorded, so its no-op status can be timed beside ours. At 2000 `dvc commit -f`
        # records them (minutes); at 10000 it would take most of an hour (it rereads the git index
        # for every out), so the bench writes what it writes: dvc.lock (checked byte for byte
        # against dvc's own at 2000), the cache objects and out/.gitignore.
        self.dvc_committed_sizes = [] if ctx.quick else [2000]
        self.dvc_written_sizes = [] if ctx.quick else [10000]
        self.shell_seconds: dict[int, float] = {}

    @classmethod
    def extra_sizes(cls) -> list[int]:
        """The opt-in sizes of BENCH_MANY_STAGES, e.g. "100000" or "20000,100000"."""
        text = os.environ.get(cls.EXTRA_SIZES_VARIABLE, "").strip()
        try:
            sizes = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise BenchError(f"{cls.EXTRA_SIZES_VARIABLE}={text!r}: expected sizes such as 20000,100000") from None
        if any(size < 1 for size in sizes):
            raise BenchError(f"{cls.EXTRA_SIZES_VARIABLE}={text!r}: sizes are whole numbers of stages above 0")
        return sizes

    @staticmethod
    def pipeline(count: int) -> dict:
        body = {"cmd": "cp in/${item}.txt out/${item}.txt", "deps": ["in/${item}.txt"], "outs": ["out/${item}.txt"]}
        return {"stages": {"copy": {"foreach": list(range(count)), "do": body}}}

    @staticmethod
    def populate(folder: Path, count: int) -> None:
        (folder / "in").mkdir()
        (folder / "out").mkdir()
        for index in range(count):
            (folder / "in" / f"{index}.txt").write_text(f"{index}\n", encoding="ascii")

    def build(self, tool: Tool, repo: Path, count: int) -> Path:
        return make_repo(repo, tool, self.pipeline(count), populate=lambda root: self.populate(root, count))

    def prepare(self) -> None:
        for count in self.sizes:
            commands = [f"cp in/{i}.txt out/{i}.txt" for i in range(count)]
            runs = SLOW_RUNS if count <= 1000 else 1
            self.shell_seconds[count] = self.shell_baseline(
                f"N={count}", commands, lambda folder, n=count: self.populate(folder, n), runs
            )

    def run(self, tool: Tool) -> None:
        sizes = self.dvc_sizes if tool.name == "dvc" else self.sizes + self.status_only
        for count in sizes:
            build = functools.partial(self.build, tool, count=count)
            repo = self.first_repro(tool, build, count, self.shell_seconds.get(count), f"N={count}")
            harness.wait_out_racy_window()
            status = measure(tool.argv("status"), repo, tool.environ(), FAST_RUNS, warmup=True)
            self.record(f"N={count}: no-op status", tool, status)
            self.check_up_to_date(tool, f"N={count} no-op status", status)
            harness.remove_repo(repo)
        if tool.name == "dvc":
            for count in self.dvc_committed_sizes + self.dvc_written_sizes:
                repo = self.recorded_dvc_repo(tool, count, commit=count in self.dvc_committed_sizes)
                status = measure(tool.argv("status"), repo, tool.environ(), FAST_RUNS, warmup=True)
                self.record(f"N={count}: no-op status", tool, status)
                self.check_up_to_date(tool, f"N={count} no-op status", status)
                harness.remove_repo(repo)
            self.ctx.results.note(
                f"many_stages with DVC: first repros only for N in {self.dvc_sizes} (a first repro "
                f"takes DVC 0.2-0.6 s per stage); for N in {self.dvc_committed_sizes} the copies were "
                f"made with sh and recorded with `dvc commit -f`, for N in {self.dvc_written_sizes} "
                "dvc.lock, the cache objects and out/.gitignore were written as `dvc commit -f` writes "
                "them; then its no-op status timed"
            )

    def recorded_dvc_repo(self, tool: Tool, count: int, commit: bool) -> Path:
        repo = self.build(tool, self.repo(tool, f"N={count}"), count)
        for index in range(count):
            shutil.copy2(repo / "in" / f"{index}.txt", repo / "out" / f"{index}.txt")
        if commit:
            self.ctx.log(f"many_stages / dvc: dvc commit -f of {count} stages")
            harness.run_checked(tool.argv("commit", "-f", "-q"), repo, tool.environ())
            if (repo / "dvc.lock").read_text(encoding="utf-8") != dvc_lock_text(dvc_stages(repo, count)):
                self.ctx.results.note(
                    f"many_stages: the dvc.lock the bench writes differs from `dvc commit -f`'s at N={count}"
                )
        else:
            self.ctx.log(f"many_stages / dvc: writing dvc.lock and the cache of {count} stages")
            write_dvc_records(repo, count)
        harness.wait_out_racy_window()
        return repo


def _md5_record(repo: Path, path: str) -> dict:
    data = (repo / path).read_bytes()
    return {"path": path, "hash": "md5", "md5": hashlib.md5(data).hexdigest(), "size": len(data)}  # noqa: S324


def dvc_stages(repo: Path, count: int) -> dict:
    """dvc.lock's stages as DVC 3 records them for the many_stages pipeline once every copy is made."""
    return {
        f"copy@{i}": {
            "cmd": f"cp in/{i}.txt out/{i}.txt",
            "deps": [_md5_record(repo, f"in/{i}.txt")],
            "outs": [_md5_record(repo, f"out/{i}.txt")],
        }
        for i in range(count)
    }


def dvc_lock_text(stages: dict) -> str:
    return yaml.safe_dump({"schema": "2.0", "stages": stages}, sort_keys=False)


def write_dvc_records(repo: Path, count: int) -> None:
    """What `dvc commit -f` leaves for the many_stages pipeline: dvc.lock, each out's cache
    object (read-only, under files/md5/) and the out folder's .gitignore."""
    stages = dvc_stages(repo, count)
    (repo / "dvc.lock").write_text(dvc_lock_text(stages), encoding="utf-8")
    for stage in stages.values():
        out = stage["outs"][0]
        target = repo / ".dvc" / "cache" / "files" / "md5" / out["md5"][:2] / out["md5"][2:]
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo / out["path"], target)
            target.chmod(0o444)
    (repo / "out" / ".gitignore").write_text("".join(f"/{i}.txt\n" for i in range(count)), encoding="utf-8")


class BigData(Workload):
    """One stage reading a 1 GiB file and a folder of 20,000 small files: hashing speed."""

    name = "big_data"
    CMD = "cat big.bin | wc -c > out.txt && ls files | wc -l >> out.txt"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.big_bytes = (128 if ctx.quick else 1024) * MiB
        self.small_files = 2000 if ctx.quick else 20000
        self.source = ctx.scratch / "big_data-source"
        self.label = f"{self.big_bytes // MiB} MiB + {self.small_files} files"
        self.cmd_seconds: float | None = None

    def prepare(self) -> None:
        self.ctx.log(f"big_data: writing {self.label}")
        files = self.source / "files"
        files.mkdir(parents=True)
        chunk = 8 * MiB
        with open(self.source / "big.bin", "wb") as handle:
            for _ in range(self.big_bytes // chunk):
                handle.write(os.urandom(chunk))
        for index in range(self.small_files):
            (files / f"{index:05d}.bin").write_bytes(os.urandom(1024))
        old = time.time() - 3600  # not "just written": hash caches may remember them at once
        for path in [self.source / "big.bin", *files.iterdir()]:
            os.utime(path, (old, old))
        self.machine_baselines()

    def machine_baselines(self) -> None:
        big = self.source / "big.bin"
        cmd = measure(["sh", "-c", self.CMD], self.source, dict(os.environ), SLOW_RUNS)
        (self.source / "out.txt").unlink()
        self.cmd_seconds = cmd.median
        self.baseline("the stage's command via sh", cmd.median, "s", cmd.seconds)
        cat = measure(["sh", "-c", "cat big.bin > /dev/null"], self.source, dict(os.environ), SLOW_RUNS)
        self.baseline("cat big.bin > /dev/null", cat.median, "s", cat.seconds)
        self.baseline("cat big.bin > /dev/null: read speed", self.big_bytes / cat.median / GB, "GB/s")
        try:
            import xxhash
        except ImportError:
            self.ctx.results.note("big_data: python xxhash is not installed: no raw xxh3 baseline")
            return
        walk = measure([sys.executable, "-c", STAT_WALK, "."], self.source, dict(os.environ), FAST_RUNS, warmup=True)
        self.baseline("interpreter start-up + a stat walk of the tree (os.scandir)", walk.median, "s", walk.seconds)
        raw = harness.measure_call(lambda: xxh3_file(big, xxhash.xxh3_128), SLOW_RUNS)
        self.baseline(
            "python xxhash xxh3-128 of big.bin, one thread", self.big_bytes / raw.median / GB, "GB/s", raw.seconds
        )

    def build(self, tool: Tool, repo: Path) -> Path:
        def populate(root: Path) -> None:  # copies (old mtimes kept): no inode shared between tools
            shutil.copy2(self.source / "big.bin", root / "big.bin")
            shutil.copytree(self.source / "files", root / "files")
            (root / ".gitignore").write_text("/big.bin\n/files/\n", encoding="ascii")

        stage = {"cmd": self.CMD, "deps": ["big.bin", "files"], "outs": ["out.txt"]}
        return make_repo(repo, tool, {"stages": {"count": stage}}, populate=populate)

    def run(self, tool: Tool) -> None:
        repo = self.repo(tool)
        env = tool.environ()
        runs = 1 if tool.slow else SLOW_RUNS  # its cmd pipes 1 GiB: one run is too noisy to go by
        cold = measure(tool.argv("repro"), repo, env, runs, before=lambda _: self.build(tool, repo))
        self.record(f"first repro of a fresh repo ({self.label} hashed)", tool, cold)
        if self.cmd_seconds is not None:
            self.value("first repro minus the command's own time", tool, cold.median - self.cmd_seconds, "s")
        harness.wait_out_racy_window()
        warm = measure(tool.argv("status"), repo, env, FAST_RUNS, warmup=True)
        self.record("warm status (hashes remembered)", tool, warm)
        self.check_up_to_date(tool, "warm status", warm)
        self.cold_status(tool, repo, warm.median)
        self.big_file_rehash(tool, repo, warm.median)
        harness.remove_repo(repo)

    def cold_status(self, tool: Tool, repo: Path, warm: float) -> None:
        def drop(_: int) -> None:
            if not tool.drop_hash_state(repo):
                self.ctx.results.note(
                    f"big_data / {tool.name}: no hash state found to delete: 'cold status' may be warm"
                )

        cold = measure(tool.argv("status"), repo, tool.environ(), SLOW_RUNS, before=drop)
        self.record(f"cold status (state db removed: {self.label} hashed)", tool, cold)
        self.check_up_to_date(tool, "cold status", cold)
        self.value(
            "cold status: hashing speed, bytes / (cold - warm)",
            tool,
            speed(self.big_bytes + self.small_files * 1024, cold.median - warm),
            "GB/s",
        )
        self.reported_speed(tool, repo, drop, "cold status: hashing speed the tool reports")
        self.one_core(tool, repo, drop, cold.median, warm)

    def one_core(self, tool: Tool, repo: Path, drop, cold: float, warm: float) -> None:
        """The cold status again with the process and its children pinned to one core: how much the
        second core adds. One big file hashes on one core whatever the tool does (xxh3 of a single
        stream is sequential); the many small files can be split."""
        taskset = shutil.which("taskset")
        if taskset is None or (os.cpu_count() or 1) < 2:
            self.ctx.results.note("big_data: no taskset or one core: no one-core cold status")
            return
        pinned = measure([taskset, "-c", "0", *tool.argv("status")], repo, tool.environ(), SLOW_RUNS, before=drop)
        self.record(f"cold status on one core (taskset -c 0: {self.label} hashed)", tool, pinned)
        self.check_up_to_date(tool, "cold status on one core", pinned)
        self.value(
            "cold status on one core: hashing speed, bytes / (cold - warm)",
            tool,
            speed(self.big_bytes + self.small_files * 1024, pinned.median - warm),
            "GB/s",
        )
        if pinned.median > warm and cold > warm:  # the hashing rate of all cores over one core's
            self.value(
                "cold status: hashing speed-up of all cores over one", tool, (pinned.median - warm) / (cold - warm), "×"
            )

    def big_file_rehash(self, tool: Tool, repo: Path, warm: float) -> None:
        """Status with only big.bin's mtime changed: the extra time is hashing big.bin."""

        def touch(index: int) -> None:
            moment = time.time() - 100 - index
            os.utime(repo / "big.bin", (moment, moment))

        timing = measure(tool.argv("status"), repo, tool.environ(), SLOW_RUNS, before=touch)
        self.record("status after touching big.bin (it alone rehashed)", tool, timing)
        self.check_up_to_date(tool, "status after touch", timing)
        self.value(
            "big.bin hashing speed, bytes / (touched - warm)", tool, speed(self.big_bytes, timing.median - warm), "GB/s"
        )
        self.reported_speed(tool, repo, touch, "big.bin hashing speed the tool reports")

    def reported_speed(self, tool: Tool, repo: Path, before, label: str) -> None:
        """Bytes over seconds spent hashing, as `status -v` tells them: free of start-up, stats
        and state db, which the differences of status times above include."""
        if tool.name != "pipetool":
            self.value(label, tool, "n/a (no such report)", "GB/s")
            return
        speeds = []
        for index in range(SLOW_RUNS):
            before(SLOW_RUNS + index)
            done = harness.run_checked(tool.argv("status", "-v"), repo, tool.environ())
            found = re.search(r"Hashed \d+ file\(s\), ([\d,]+) bytes, in ([\d.]+) s", done.stderr)
            if found is None:
                self.ctx.results.note(f"big_data / {tool.name}: `status -v` did not say what it hashed")
                return
            speeds.append(speed(int(found[1].replace(",", "")), float(found[2])))
        self.value(label, tool, statistics.median(speeds), "GB/s")


class BigCheckout(BigData):
    """Bringing back 1 GiB and 20,000 small files from the cache: checkout copies each file and
    checks its bytes against their hash on the way."""

    name = "big_checkout"
    OUTS = ["big.out", "files.out"]

    def prepare(self) -> None:
        if not self.source.exists():  # big_data wrote it already when both run
            super().prepare()

    def machine_baselines(self) -> None:
        """big_data's baselines are about hashing; checkout has none of its own."""

    def run(self, tool: Tool) -> None:
        repo = self.repo(tool)
        env = tool.environ()
        stage = {"cmd": f"cp {self.source}/big.bin big.out && cp -r {self.source}/files files.out", "outs": self.OUTS}
        make_repo(repo, tool, {"stages": {"copy": stage}})
        harness.run_checked(tool.argv("repro"), repo, env)

        def move_outs_away(index: int) -> None:  # moved, not deleted: see harness.remove_repo
            for out in self.OUTS:
                os.rename(repo / out, self.ctx.scratch / f"{self.name}-{tool.name}-{index}-{out}")

        timing = measure(tool.argv("checkout"), repo, env, SLOW_RUNS, before=move_outs_away)
        self.record(f"checkout of {self.label} into an empty workspace", tool, timing)
        harness.remove_repo(repo)


class AddData(BigData):
    """`add` of big_data's 1 GiB file and 20,000 small files (DVC: `dvc add`), against a first
    repro of a stage that hashes the same bytes and does nothing else: the issue asks for an add
    at hashing speed, at most 1.5 times that repro."""

    name = "add_data"
    TARGET_RATIO = 1.5
    HASH_STAGE = {"cmd": "echo hashed > out.txt", "deps": ["big.bin", "files"], "outs": ["out.txt"]}

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.copy_seconds: float | None = None
        self.link_seconds: float | None = None

    def prepare(self) -> None:
        if not self.source.exists():  # big_data wrote it already when both run
            super().prepare()  # which times machine_baselines() below
        else:
            self.machine_baselines()

    def machine_baselines(self) -> None:
        """The floors of an add: `cp -r` of the same data to a fresh folder (any add that copies
        must write these bytes and files) and `cp -rl` (one hard link per file, no bytes copied).
        big_data's baselines are about hashing; it times them."""
        self.copy_seconds = self.copy_baseline("cp -r", ["-r"])
        self.link_seconds = self.copy_baseline("cp -rl", ["-rl"])

    def copy_baseline(self, label: str, options: list[str]) -> float:
        dest = self.ctx.scratch / f"{self.name}-{label.replace(' ', '')}"

        def fresh(_: int) -> None:  # moved aside, not deleted: see harness.remove_repo
            harness.remove_repo(dest)
            dest.mkdir()

        argv = ["cp", *options, "big.bin", "files", str(dest)]
        timing = measure(argv, self.source, dict(os.environ), SLOW_RUNS, before=fresh)
        harness.remove_repo(dest)
        self.baseline(
            f"{label} of the same data into a fresh folder (the floor of an add)", timing.median, "s", timing.seconds
        )
        return timing.median

    def fresh(self, tool: Tool, repo: Path, pipeline: dict | None, link_type: str | None = None) -> None:
        def populate(root: Path) -> None:  # copies (old mtimes kept): no inode shared between tools
            shutil.copy2(self.source / "big.bin", root / "big.bin")
            shutil.copytree(self.source / "files", root / "files")
            (root / ".gitignore").write_text("/big.bin\n/files/\n", encoding="ascii")

        make_repo(repo, tool, pipeline, populate=populate)
        if tool.name == "pipetool" and pipeline is None:
            harness.run_checked(tool.argv("init"), repo, tool.environ())
        if link_type is not None:
            harness.run_checked(tool.argv("config", "cache.type", link_type), repo, tool.environ())
        # Data is added some time after it was written, not within the second: a file whose ctime
        # is that recent may change again within the same tick, and no stamp vouches for it.
        harness.wait_out_racy_window()

    def run(self, tool: Tool) -> None:
        env = tool.environ()
        runs = 1 if tool.slow else SLOW_RUNS
        repo = self.repo(tool, "-repro")
        hashing = measure(tool.argv("repro"), repo, env, runs, before=lambda _: self.fresh(tool, repo, self.pipeline()))
        self.record(f"first repro of a stage whose deps are {self.label} (the command echoes)", tool, hashing)
        self.check_ran(tool, "first repro", hashing, 1)
        harness.remove_repo(repo)
        repo = self.repo(tool)
        added = measure(
            tool.argv("add", "big.bin", "files"), repo, env, runs, before=lambda _: self.fresh(tool, repo, None)
        )
        self.record(f"add of {self.label} into a fresh repo", tool, added)
        ratio = added.median / hashing.median
        self.value("add / first repro of the same bytes", tool, ratio, "x")
        if self.copy_seconds:
            self.value("add / cp -r of the same data", tool, added.median / self.copy_seconds, "x")
        if tool.name == "pipetool" and ratio > self.TARGET_RATIO:
            self.ctx.results.note(
                f"{self.name} / pipetool: add took {ratio:.2f} times the first repro, above the issue's "
                f"target of {self.TARGET_RATIO}"
            )
        harness.wait_out_racy_window()
        again = measure(tool.argv("add", "big.bin", "files"), repo, env, FAST_RUNS)
        self.record("add again, data unchanged", tool, again)
        harness.remove_repo(repo)
        linked = measure(
            tool.argv("add", "big.bin", "files"),
            repo,
            env,
            runs,
            before=lambda _: self.fresh(tool, repo, None, "hardlink"),
        )
        self.record(f"add of {self.label} with cache.type hardlink (no bytes copied)", tool, linked)
        self.value("add with hardlinks / first repro of the same bytes", tool, linked.median / hashing.median, "x")
        if self.link_seconds:
            self.value("add with hardlinks / cp -rl of the same data", tool, linked.median / self.link_seconds, "x")
        harness.remove_repo(repo)

    def pipeline(self) -> dict:
        return {"stages": {"hash": dict(self.HASH_STAGE)}}


def speed(size: int, seconds: float) -> float | str:
    return size / seconds / GB if seconds > 0 else "n/a (no extra time)"


def xxh3_file(path: Path, algorithm) -> str:
    hasher = algorithm()
    buffer = mmap.mmap(-1, 8 * MiB)  # page-aligned: reads into a misaligned buffer run at half speed
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
    return hasher.hexdigest()


class MetricsHistory(Workload):
    """100 commits of a param and the metrics a stage makes of it; metrics diff and history."""

    name = "metrics_history"
    CMD = """echo '{"acc": ${train.acc}, "lr": ${train.lr}}' > metrics.json"""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.commits = 20 if ctx.quick else 100

    @staticmethod
    def params(commit: int) -> dict:
        return {"train": {"lr": round(commit / 1000, 6), "acc": round(0.5 + commit / 400, 6)}}

    def build_history(self, tool: Tool) -> Path:
        stage = {"cmd": self.CMD, "params": ["train.lr", "train.acc"], "metrics": [{"metrics.json": {"cache": False}}]}
        repo = make_repo(self.repo(tool), tool, {"stages": {"train": stage}}, self.params(0))
        env = tool.environ()
        self.ctx.log(f"metrics_history / {tool.name}: making {self.commits} commits")
        for commit in range(1, self.commits + 1):
            harness.write_yaml(repo / "params.yaml", self.params(commit))
            harness.run_checked(tool.argv("repro"), repo, env)
            harness.git_commit(repo, f"experiment {commit}", env)
        return repo

    def run(self, tool: Tool) -> None:
        repo = self.build_history(tool)
        back = min(50, self.commits - 1)
        for args in (
            ["metrics", "diff", "HEAD~1"],
            ["metrics", "diff", f"HEAD~{back}", "HEAD"],
            ["metrics", "history"],
        ):
            self.optional_command(tool, repo, args)
        harness.remove_repo(repo)

    def optional_command(self, tool: Tool, repo: Path, args: list[str]) -> None:
        """Time a command the tool may not have; record 'n/a' instead of failing."""
        label = " ".join(args)
        try:
            timing = measure(tool.argv(*args), repo, tool.environ(), FAST_RUNS, warmup=True)
        except NotImplementedByTool:
            self.value(label, tool, "n/a (command not implemented)", "s")
            return
        except BenchError as error:
            self.value(label, tool, "n/a (failed)", "s")
            self.ctx.results.note(f"metrics_history / {tool.name}: {error}")
            return
        self.record(label, tool, timing)


class Startup(Workload):
    """The fixed cost of any command: `--help`, and `status` of a one-stage project."""

    name = "startup"

    def prepare(self) -> None:
        timing = measure([sys.executable, "-c", "pass"], self.ctx.scratch, dict(os.environ), STARTUP_RUNS, warmup=True)
        self.baseline("python -c pass (interpreter start)", timing.median, "s", timing.seconds)

    def run(self, tool: Tool) -> None:
        stage = {"cmd": "echo hello > out.txt", "outs": ["out.txt"]}
        repo = make_repo(self.repo(tool), tool, {"stages": {"hello": stage}})
        env = tool.environ()
        harness.run_checked(tool.argv("repro"), repo, env)
        harness.wait_out_racy_window()
        self.record("--help", tool, measure(tool.argv("--help"), repo, env, STARTUP_RUNS, warmup=True))
        status = measure(tool.argv("status"), repo, env, STARTUP_RUNS, warmup=True)
        self.record("status (one stage, up to date)", tool, status)
        self.check_up_to_date(tool, "status", status)
        harness.remove_repo(repo)


class Monorepo(Workload):
    """N folders of one small project each, every folder with its own pipeline file of one stage,
    as in DVC issue 10391 (a monorepo of 1,000 projects: `dvc repro` of one took 24 s instead of
    2 s, DVC crawling every folder). Everything is brought up to date and committed; then the
    no-op status of it all from the root, and the repro of one folder's stage after its dep
    changed: by its pipeline file from the root, and with no target from inside the folder.

    For pipetool, `pipetool init` at the root makes the whole repo one project (the pipeline.yaml
    and params.yaml it writes there are removed: the root has no pipeline of its own, as with
    DVC). A command a tool cannot run gives its rows `n/a (...)`, and the error goes to Notes.
    """

    name = "monorepo"
    CMD = "cp in.txt out.txt"
    # The targets for pipetool; a miss goes to Notes.
    STATUS_TARGET = 0.3  # s, no-op status of everything
    REPRO_TARGET = 0.15  # s, repro of one folder's stage, beyond its command's own time
    # The ordinary files of each small project, beside in.txt and its pipeline file.
    FILES = {
        "README.md": "# Project {index}\n\nCopies in.txt to out.txt.\n",
        "config.json": '{{"project": {index}, "enabled": true}}\n',
        "src/main.py": "from util import double\n\nprint(double({index}))\n",
        "src/util.py": "def double(value):\n    return 2 * value\n",
        "tests/test_util.py": "from util import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
    }
    STATE_DIRS = {"pipetool": ".pipetool", "dvc": ".dvc"}

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.count = 100 if ctx.quick else 1000
        self.target = self.folder(self.count // 2)
        self.last = self.folder(self.count - 1)
        size = f"N={self.count}"
        self.first_label = f"{size}: repro --all-pipelines of the fresh repo (one run)"
        self.status_label = f"{size}: no-op status from the root"
        self.by_file_label = f"{size}: repro {self.target}/<pipeline file>, its dep changed"
        self.inside_label = f"{size}: repro with no target inside {self.target}, its dep changed"
        self.shell_label = f"{size}: its command via sh, just before each repro"
        self.labels = [
            self.first_label,
            self.status_label,
            self.by_file_label,
            self.minus(self.by_file_label),
            self.inside_label,
            self.minus(self.inside_label),
            self.shell_label,
        ]

    @staticmethod
    def folder(index: int) -> str:
        return f"projects/p{index:04d}"

    @staticmethod
    def minus(label: str) -> str:
        return f"{label.split(', ')[0]}: minus its command's time"

    def write_projects(self, root: Path, tool: Tool) -> None:
        stage = {"cmd": self.CMD, "deps": ["in.txt"], "outs": ["out.txt"]}
        for index in range(self.count):
            folder = root / self.folder(index)
            harness.write_yaml(folder / tool.pipeline_file, {"stages": {"copy": stage}})
            (folder / "in.txt").write_text(f"input of project {index}\n", encoding="utf-8")
            for name, text in self.FILES.items():
                path = folder / name
                path.parent.mkdir(exist_ok=True)
                path.write_text(text.format(index=index), encoding="utf-8")

    def build(self, tool: Tool, repo: Path) -> Path:
        def populate(root: Path) -> None:
            if tool.name == "pipetool":
                harness.run_checked(tool.argv("init"), root, tool.environ())
                for name in ("pipeline.yaml", "params.yaml"):
                    (root / name).unlink(missing_ok=True)
            self.write_projects(root, tool)

        return make_repo(repo, tool, None, populate=populate)

    def run(self, tool: Tool) -> None:
        repo = self.repo(tool)
        env = tool.environ()
        self.ctx.log(f"monorepo / {tool.name}: {self.count} folders, then repro --all-pipelines")
        try:
            self.build(tool, repo)
            first = measure(tool.argv("repro", "--all-pipelines"), repo, env, 1)
            harness.git_commit(repo, "every pipeline up to date", env)
        except BenchError as error:
            self.unavailable(tool, [self.first_label], "bringing the repo up to date", error)
            for label in self.labels[1:]:
                self.value(label, tool, "n/a (repo not up to date)", "s")
            harness.remove_repo(repo)
            return
        self.record(self.first_label, tool, first)
        self.check_ran(tool, "repro --all-pipelines", first, self.count)
        harness.wait_out_racy_window()
        self.attempt(tool, [self.status_label], "no-op status", lambda: self.noop_status(tool, repo))
        shell: list[float] = []
        target_file = f"{self.target}/{tool.pipeline_file}"
        self.attempt(
            tool,
            [self.by_file_label, self.minus(self.by_file_label)],
            f"repro {target_file}",
            lambda: self.dep_change(tool, repo, self.by_file_label, tool.argv("repro", target_file), repo, shell),
        )
        self.attempt(
            tool,
            [self.inside_label, self.minus(self.inside_label)],
            f"repro inside {self.target}",
            lambda: self.dep_change(tool, repo, self.inside_label, tool.argv("repro"), repo / self.target, shell),
        )
        if shell:
            self.value(self.shell_label, tool, statistics.median(shell), "s")
        else:
            self.value(self.shell_label, tool, "— (no repro ran)", "s")
        self.check_one_project(tool, repo)
        harness.remove_repo(repo)

    def attempt(self, tool: Tool, labels: list[str], what: str, step) -> None:
        """Run one measurement step; if its command fails, its rows say n/a and Notes say why."""
        try:
            step()
        except BenchError as error:
            self.unavailable(tool, labels, what, error)

    def unavailable(self, tool: Tool, labels: list[str], what: str, error: BenchError) -> None:
        missing = isinstance(error, NotImplementedByTool)
        cell = f"n/a ({error.what} not implemented)" if missing else "n/a (failed)"
        for label in labels:
            self.value(label, tool, cell, "s")
        self.ctx.results.note(f"{self.name} / {tool.name}: {what} failed: {error}")
        self.ctx.log(f"{self.name} / {tool.name}: {what} failed: {error}")

    def noop_status(self, tool: Tool, repo: Path) -> None:
        env = tool.environ()
        status = measure(tool.argv("status"), repo, env, FAST_RUNS, warmup=True)
        self.record(self.status_label, tool, status)
        self.check_up_to_date(tool, "no-op status", status)
        self.check_target(tool, self.status_label, status.median, self.STATUS_TARGET)
        # A status that says "up to date" must have looked: the last folder's changed dep shows.
        dep = repo / self.last / "in.txt"
        original = dep.read_bytes()
        dep.write_text("changed\n", encoding="utf-8")
        seen = harness.run_checked(tool.argv("status"), repo, env)
        dep.write_bytes(original)
        if "pipelines are up to date" in (seen.stdout + seen.stderr).lower():  # both tools' words
            self.ctx.results.note(
                f"{self.name} / {tool.name}: status from the root said 'up to date' with {self.last}/in.txt changed"
            )

    def dep_change(self, tool: Tool, repo: Path, label: str, argv: list[str], cwd: Path, shell: list[float]) -> None:
        """Each run writes new bytes into the target folder's in.txt, then times the stage's command
        with sh in a folder of its own, right before the repro: the repro's overhead is the median
        of the paired differences."""
        project = repo / self.target
        folder = self.ctx.scratch / f"{self.name}-shell-{tool.name}-{cwd.name}"
        folder.mkdir(parents=True)
        paired: list[float] = []

        def change(run: int) -> None:
            text = f"{label}, run {run}\n"
            for place in (project, folder):
                (place / "in.txt").write_text(text, encoding="utf-8")
            paired.append(harness.time_shell_commands([self.CMD], folder))

        # As wide_dag's one-param-change repro, 5 runs (a slow tool runs fewer).
        repro = measure(argv, cwd, tool.environ(), FAST_RUNS, before=change)
        shell += paired
        self.record(label, tool, repro)
        self.check_ran(tool, label, repro, 1)
        if (project / "out.txt").read_bytes() != (project / "in.txt").read_bytes():
            self.ctx.results.note(
                f"{self.name} / {tool.name}: after `{' '.join(argv[1:])}`, "
                f"{self.target}/out.txt is not a copy of in.txt"
            )
        overhead = statistics.median(r - c for r, c in zip(repro.seconds, paired, strict=False))
        self.value(self.minus(label), tool, overhead, "s")
        self.check_target(tool, self.minus(label), overhead, self.REPRO_TARGET)

    def check_target(self, tool: Tool, label: str, seconds: float, target: float) -> None:
        if tool.name == "pipetool" and seconds > target:
            self.ctx.results.note(
                f"{self.name} / pipetool: {label}: {seconds:.3f} s, above the issue's target of {target} s"
            )

    def check_one_project(self, tool: Tool, repo: Path) -> None:
        """The repo is one project: a repro inside a folder must not make the folder its own."""
        state = self.STATE_DIRS.get(tool.name)
        if state and (repo / self.target / state).exists():
            self.ctx.results.note(
                f"{self.name} / {tool.name}: repro inside {self.target} made it a "
                f"project of its own ({self.target}/{state}/ was created)"
            )


WORKLOADS = {
    workload.name: workload
    for workload in (WideDag, ManyStages, BigData, BigCheckout, AddData, MetricsHistory, Startup, Monorepo)
}
