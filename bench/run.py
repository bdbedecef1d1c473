"""Benchmark pipetool, and optionally DVC, on synthetic pipelines in scratch git repos.

    python bench/run.py [--quick] [--only WORKLOAD ...] [--tool pipetool|dvc|both]
                        [--json PATH] [--write-results [PATH]] [--dvc PATH] [--keep]
                        [--dvc-from RESULTS_JSON]

Workloads (bench/README.md says what each measures): wide_dag, many_stages, big_data, big_checkout,
metrics_history, startup, monorepo, diff. Each timing is the median of several runs of one command, timed
with time.perf_counter() around subprocess.run(). The table goes to stdout, progress to stderr,
every run to --json (default bench/results.json), and with --write-results a Markdown report
with the machine's description (default bench/RESULTS.md).

pipetool is the `pipetool` script beside this Python (under `make bench`, a regular install of
the working tree in bench/.venv-pipetool, made afresh by each `make bench`);
DVC comes from bench/.venv-dvc, which `make bench-compare` creates.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import harness
import report
from workload_diff import DataDiff
from workload_transfer import Transfers
from workloads import WORKLOADS, Context

WORKLOADS = {**WORKLOADS, DataDiff.name: DataDiff}
WORKLOADS[Transfers.name] = Transfers

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time pipetool (and DVC) on synthetic pipelines.")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or two")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(WORKLOADS),
        metavar="WORKLOAD",
        help=f"run only this workload (repeatable): {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--tool", choices=["pipetool", "dvc", "both"], default="pipetool")
    parser.add_argument(
        "--json",
        type=Path,
        default=BENCH / "results.json",
        metavar="PATH",
        help="where to write every run as JSON (default bench/results.json)",
    )
    parser.add_argument(
        "--write-results",
        nargs="?",
        type=Path,
        const=BENCH / "RESULTS.md",
        metavar="PATH",
        help="also write a Markdown report (default bench/RESULTS.md)",
    )
    parser.add_argument(
        "--dvc",
        default=str(BENCH / ".venv-dvc" / "bin" / "dvc"),
        metavar="PATH",
        help="the dvc executable (default bench/.venv-dvc/bin/dvc)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=Path("/tmp"),
        metavar="DIR",
        help="where the scratch folder is made (default /tmp); a folder on XFS or btrfs measures "
        "cache.type copy where the file system clones files (reflinks), as on macOS's APFS",
    )
    parser.add_argument(
        "--dvc-from",
        type=Path,
        metavar="RESULTS_JSON",
        help="with --tool pipetool: put DVC's figures from an earlier run's JSON beside this run's "
        "(DVC's part of a full comparison takes most of its 40 minutes); the report says they are older",
    )
    args = parser.parse_args(argv)
    if args.dvc_from and args.tool != "pipetool":
        parser.error("--dvc-from goes with --tool pipetool: DVC is either timed now or taken from the file")
    return args


def find_pipetool() -> str:
    beside = Path(sys.executable).parent / "pipetool"
    found = str(beside) if beside.exists() else shutil.which("pipetool")
    if not found:
        sys.exit("error: no pipetool beside this Python nor on PATH; run `make bench`")
    return found


def make_tools(choice: str, dvc_exe: str) -> list[harness.Tool]:
    tools = []
    if choice in ("pipetool", "both"):
        tools.append(harness.pipetool_tool(find_pipetool()))
    if choice in ("dvc", "both"):
        dvc_exe = os.path.abspath(dvc_exe)  # commands run in the scratch repos
        if not os.access(dvc_exe, os.X_OK):
            sys.exit(f"error: no dvc at {dvc_exe}; `make bench-compare` installs it in bench/.venv-dvc")
        tools.append(harness.dvc_tool(dvc_exe))
    return tools


def machine_info(tools: list[harness.Tool], argv: list[str], scratch: Path) -> dict:
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["bench/run.py", *argv]),
        "cpu": _cpuinfo("model name") or platform.processor() or "unknown",
        "nproc": os.cpu_count(),
        "memory": _memory(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load average at start": _load(),
        "scratch file system": _file_system(scratch),
    }
    for tool in tools:
        version = tool.version()
        info[tool.name] = f"{version} ({_pipetool_commit()})" if tool.name == "pipetool" else version
        info[f"{tool.name}'s python"] = tool.interpreter()
    return info


def _file_system(folder: Path) -> str:
    """The type of the file system holding folder (the longest mount point above it): on ext4 a
    copy is a copy, on XFS or btrfs it can be a reflink, which changes what add and pull cost."""
    target, found = str(folder.resolve()), ("", "unknown")
    try:
        with open("/proc/self/mounts", encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                mount = fields[1]
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(found[0]):
                    found = (mount, fields[2])
    except OSError:
        pass
    return found[1]


def _load() -> str:
    """The 1-minute load average: above nproc, other work shares the machine with the run."""
    return f"{os.getloadavg()[0]:.2f}"


def finish_info(results: report.Results, seconds: float) -> None:
    """Add the run's duration and end load; note when pipetool's code changed during the run."""
    meta = results.meta
    meta["duration"] = f"{seconds / 60:.1f} min"
    meta["load average at end"] = _load()
    if "pipetool" in meta:
        now = _source_digest()
        if f"source {now}" not in meta["pipetool"]:
            results.note(
                f"pipetool's code changed during the run (now source {now}): "
                "rows measured earlier and later come from different code"
            )


def _cpuinfo(key: str) -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
        return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _pipetool_commit() -> str:
    """The checked-out commit of this repo (read-only git), and whether pipetool/ is modified."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    modified = ", pipetool/ modified" if git("status", "--porcelain", "--", "pipetool") else ""
    return f"commit {commit}{modified}, source {_source_digest()}"


def _source_digest() -> str:
    """A short digest of the pipetool package this Python imports (the one timed): tells whether
    the timed code changed mid-run, as it can with an editable install."""
    import importlib.util

    spec = importlib.util.find_spec("pipetool")
    package = Path(spec.origin).parent if spec and spec.origin else ROOT / "pipetool"
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


def run_workloads(ctx: Context, names: list[str], tools: list[harness.Tool]) -> None:
    for name in names:
        workload = WORKLOADS[name](ctx)
        ctx.log(f"== {name}")
        try:
            workload.prepare()
        except harness.BenchError as error:
            ctx.results.note(f"{name}: setup failed: {error}")
            continue
        for tool in tools:
            try:
                workload.run(tool)
            except harness.BenchError as error:
                ctx.results.note(f"{name} / {tool.name}: failed: {error}")
                ctx.log(f"{name} / {tool.name}: FAILED: {error}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    tools = make_tools(args.tool, args.dvc)
    results = report.Results([tool.name for tool in tools], meta=machine_info(tools, argv, args.scratch))
    scratch = Path(tempfile.mkdtemp(prefix="pipetool-bench-", dir=args.scratch))
    ctx = Context(scratch, args.quick, results)
    ctx.log(f"scratch folder {scratch}; tools: {', '.join(results.tools)}")
    try:
        run_workloads(ctx, args.only or list(WORKLOADS), tools)
    finally:
        if args.keep:
            ctx.log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    finish_info(results, time.perf_counter() - ctx.started)
    if args.dvc_from:
        report.add_earlier_tool(results, args.dvc_from, "dvc")
    print(report.console_report(results))
    report.write_json(results, args.json)
    ctx.log(f"wrote {args.json}")
    if args.write_results:
        report.write_markdown(results, args.write_results)
        ctx.log(f"wrote {args.write_results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
