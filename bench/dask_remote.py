"""Per-stage overhead of `repro --executor dask` on the wide DAG, with and without a shared file system.

    python bench/dask_remote.py [--quick] [--workers 2] [--runs 1]

Starts one Dask cluster (N single-threaded worker processes on loopback) for all runs, so its
start-up is not timed. For each mode it builds a fresh wide_dag repo (workloads.WideDag: 25 × 20
stages; 6 × 5 with --quick) and times a first `repro --executor dask --scheduler ADDR`: in the
shared-file-system mode the workers see the repository; with `--no-shared-fs` every dep and out
goes through a local-directory remote (a fresh one each run). The overhead per stage is the
repro's time minus the same commands run one `sh -c` each, over the number of stages. With N
workers the commands may run N at once, so the overhead is an upper bound on the client's cost.
Prints one line per mode; nothing is written.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from workloads import Context, WideDag  # noqa: E402


class _NoResults:
    def add(self, *args, **kwargs) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 × 5 stages instead of 25 × 20")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="first repros per mode (the median is shown)")
    args = parser.parse_args()

    import distributed

    scratch = Path(tempfile.mkdtemp(prefix="pipetool-bench-dask-"))
    tool = harness.pipetool_tool(sys.executable)
    argv = [sys.executable, "-m", "pipetool"]
    workload = WideDag(Context(scratch, args.quick, _NoResults()))
    cluster = distributed.LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    try:
        shell_folder = scratch / "shell"
        (shell_folder / "out").mkdir(parents=True)
        shell = harness.time_shell_commands(workload.shell_commands(), shell_folder)
        print(f"wide_dag {workload.layers} x {workload.width} = {workload.stages} stages, {args.workers} workers")
        print(f"  the commands alone, one sh -c each: {shell:.2f} s")
        modes = (("shared file system", []), ("--no-shared-fs (local remote)", ["--no-shared-fs"]))
        seconds: dict[str, list[float]] = {label: [] for label, _ in modes}
        for run in range(args.runs):  # the modes alternate, so both see the machine's load alike
            for label, extra in modes:
                repo = scratch / f"repo-{len(extra)}-{run}"
                workload.build(tool, repo)
                if extra:
                    remote = scratch / f"remote-{run}"
                    harness.run_checked([*argv, "remote", "add", "-d", "store", str(remote)], repo, tool.environ())
                took, done = harness.timed_run(
                    [*argv, "repro", "--executor", "dask", "--scheduler", cluster.scheduler_address, *extra],
                    repo,
                    tool.environ(),
                )
                seconds[label].append(took)
                ran = done.stdout.count("Running stage '")
                if ran != workload.stages:
                    print(f"  {label}: ran {ran} stages, expected {workload.stages}", file=sys.stderr)
                    return 1
                harness.remove_repo(repo)
        for label, _ in modes:
            median = statistics.median(seconds[label])
            overhead = (median - shell) / workload.stages * 1000
            runs = ", ".join(f"{s:.2f}" for s in seconds[label])
            print(f"  {label}: first repro {median:.2f} s (runs: {runs}), overhead {overhead:.1f} ms/stage")
    finally:
        cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.exit(main())
