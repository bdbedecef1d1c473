"""The `transfers` workload: push, fetch and pull of many small files and one big file, each read
against the limit it is measured beside.

Data: a tracked folder of 10,000 files of 1 KiB and one 256 MiB file (`add data big.bin`), committed.
On a local-directory remote, each of three rounds times, back to back: `cp -r` of the cache (the
limit for push), the first push, a no-op push, `cp -r` of the remote (the limit for fetch and
pull), fetch into a fresh clone, pull into another fresh clone, and a no-op pull. The limits are
recorded as baselines; a tool's figure is meant to stay within 2x of its limit.

On S3 (moto's server in a process of its own, on loopback; only when moto and s3fs import) with
the same sizes (issue #26 states its 1.5x there; --quick: 200 files and 8 MiB): fsspec's own bulk
`put(list, list)` and `get(list, list)` of the same
cache files with the tool's concurrency (batch_size = -j), each in a fresh interpreter, against
the tool's push and fetch into a fresh clone with that -j. The target there is 1.5x.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import harness
from harness import BenchError, Timing, Tool, make_repo
from workloads import SLOW_RUNS, Workload

MiB = 1024 * 1024
S3_JOBS = 8
BUCKET = "bench"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# fsspec's bulk transfer of the listed files, in a fresh interpreter as a tool's command is.
FSSPEC_BULK = """
import json, sys, s3fs
verb, endpoint, jobs, lists = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sources, targets = json.load(open(lists))  # a file: thousands of paths exceed an argument list
fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing")
getattr(fs, verb)(sources, targets, batch_size=jobs)
"""


class Transfers(Workload):
    name = "transfers"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.files, self.big = (1000, 16) if ctx.quick else (10_000, 256)
        self.s3_files, self.s3_big = (200, 8) if ctx.quick else (self.files, self.big)
        self.source = ctx.scratch / "transfer-source"

    def prepare(self) -> None:
        self.ctx.log(f"transfers: writing {self.files} x 1 KiB + {self.big} MiB, and the S3 set")
        for folder, files, big in (("local", self.files, self.big), ("s3", self.s3_files, self.s3_big)):
            data = self.source / folder / "data"
            data.mkdir(parents=True)
            for index in range(files):
                (data / f"{index:05d}.bin").write_bytes(os.urandom(1024))
            with open(self.source / folder / "big.bin", "wb") as handle:
                for _ in range(big):
                    handle.write(os.urandom(MiB))

    def run(self, tool: Tool) -> None:
        env = {**tool.environ(), **S3_ENV}
        repo = self.tracked(tool, "local", env)
        label = f"{self.files} x 1 KiB + {self.big} MiB, local remote"
        rows: dict[str, Timing] = {}
        limits: dict[str, Timing] = {}

        cache = repo / self.cache_dir(tool)
        for round_ in range(SLOW_RUNS):
            remote = self.ctx.scratch / f"transfers-remote-{tool.name}-{round_}"
            harness.run_checked(tool.argv("remote", "add", "--local", "-d", "-f", "store", str(remote)), repo, env)
            _time_into(limits, "cp -r of the cache", ["cp", "-r", str(cache), str(self.spare())], repo, env)
            _time_into(rows, f"push, {label}", tool.argv("push"), repo, env)
            _time_into(rows, f"no-op push, {label}", tool.argv("push"), repo, env)
            _time_into(limits, "cp -r of the remote", ["cp", "-r", str(remote), str(self.spare())], repo, env)
            fetched = self.clone(tool, repo, remote, "fetch", env)
            _time_into(rows, f"fetch into a fresh clone, {label}", tool.argv("fetch"), fetched, env)
            pulled = self.clone(tool, repo, remote, "pull", env)
            _time_into(rows, f"pull into a fresh clone, {label}", tool.argv("pull"), pulled, env)
            _time_into(rows, f"no-op pull, {label}", tool.argv("pull"), pulled, env)
            for path in (fetched, pulled, remote):
                harness.remove_repo(path)
        for what, timing in rows.items():
            self.record(what, tool, timing)
        for what, timing in limits.items():
            self.baseline(f"{what} ({label}, beside {tool.name})", timing.median, "s", timing.seconds)
        harness.remove_repo(repo)
        self.s3(tool, env)

    def tracked(self, tool: Tool, folder: str, env: dict[str, str]) -> Path:
        def populate(root: Path) -> None:
            shutil.copytree(self.source / folder / "data", root / "data")
            shutil.copy(self.source / folder / "big.bin", root / "big.bin")

        repo = make_repo(self.repo(tool, f"-{folder}"), tool, None)
        if tool.name != "dvc":
            harness.run_checked(tool.argv("init"), repo, env)
        populate(repo)
        harness.run_checked(tool.argv("add", "data", "big.bin"), repo, env)
        harness.git_commit(repo, "data", env)
        return repo

    @staticmethod
    def cache_dir(tool: Tool) -> str:
        return ".dvc/cache" if tool.name == "dvc" else ".pipetool/cache"

    def cache_objects(self, tool: Tool, repo: Path) -> list[Path]:
        """The object files of the tool's cache, for fsspec's bulk put beside it: DVC 3 keeps them
        under files/md5/ (two levels into its cache are folders only: the baseline moved nothing)."""
        found = sorted(
            p
            for p in (repo / self.cache_dir(tool)).glob("files/md5/*/*" if tool.name == "dvc" else "*/*")
            if p.is_file()
        )
        if not found:
            raise BenchError(f"no cache objects found in {repo / self.cache_dir(tool)} for the S3 baseline")
        return found

    def clone(self, tool: Tool, repo: Path, remote: Path | None, label: str, env: dict[str, str]) -> Path:
        dest = self.repo(tool, f"-{label}-clone")
        harness.remove_repo(dest)
        harness.run_checked(["git", "clone", "-q", str(repo), str(dest)], self.ctx.scratch, env)
        if tool.name != "dvc" and not (dest / ".pipetool").exists():
            harness.run_checked(tool.argv("init"), dest, env)
        if remote is not None:
            harness.run_checked(tool.argv("remote", "add", "--local", "-d", "-f", "store", str(remote)), dest, env)
        return dest

    def spare(self) -> Path:
        """A fresh path in the scratch trash for a copy (moved aside, never deleted mid-run)."""
        trash = self.ctx.scratch / ".trash"
        trash.mkdir(exist_ok=True)
        return trash / f"copy-{len(list(trash.iterdir()))}"

    # -- S3 ---------------------------------------------------------------------------------------

    def s3(self, tool: Tool, env: dict[str, str]) -> None:
        try:
            import boto3  # noqa: F401 - the server's client, below
            import moto.server  # noqa: F401
            import s3fs  # noqa: F401
        except ImportError as error:
            self.ctx.results.note(f"{self.name}: S3 part skipped: {error}")
            return
        label = f"{self.s3_files} x 1 KiB + {self.s3_big} MiB, S3 (moto), -j {S3_JOBS}"
        server, endpoint = self.moto(env)
        try:
            self.s3_rounds(tool, env, endpoint, label)
        finally:
            server.terminate()
            server.wait()

    def moto(self, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):  # until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            server.terminate()
            raise BenchError("moto's S3 server did not start")
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket=BUCKET)
        return server, endpoint

    def s3_rounds(self, tool: Tool, env: dict[str, str], endpoint: str, label: str) -> None:
        import json

        repo = self.tracked(tool, "s3", env)
        objects = self.cache_objects(tool, repo)
        rows: dict[str, Timing] = {}
        limits: dict[str, Timing] = {}

        for round_ in range(SLOW_RUNS):
            keys = [f"{BUCKET}/fsspec-{round_}/{p.parent.name}/{p.name}" for p in objects]
            bulk = [sys.executable, "-c", FSSPEC_BULK]
            lists = self.ctx.scratch / "transfers-s3-lists.json"  # thousands of paths: too long for argv
            lists.write_text(json.dumps([[str(p) for p in objects], keys]))
            put = [*bulk, "put", endpoint, str(S3_JOBS), str(lists)]
            _time_into(limits, "fsspec put(list, list)", put, repo, env)
            url = f"s3://{BUCKET}/{tool.name}-{round_}"
            self.s3_remote(tool, repo, url, endpoint, env)
            _time_into(rows, f"push, {label}", tool.argv("push", "-j", str(S3_JOBS)), repo, env)
            spare = self.spare()
            spare.mkdir()
            targets = [str(spare / p.parent.name / p.name) for p in objects]
            lists.write_text(json.dumps([keys, targets]))
            get = [*bulk, "get", endpoint, str(S3_JOBS), str(lists)]
            _time_into(limits, "fsspec get(list, list)", get, repo, env)
            clone = self.clone(tool, repo, None, "s3-fetch", env)
            self.s3_remote(tool, clone, url, endpoint, env)
            _time_into(rows, f"fetch into a fresh clone, {label}", tool.argv("fetch", "-j", str(S3_JOBS)), clone, env)
            harness.remove_repo(clone)
        for what, timing in rows.items():
            self.record(what, tool, timing)
        for what, timing in limits.items():
            self.baseline(f"{what} ({label}, beside {tool.name})", timing.median, "s", timing.seconds)
        harness.remove_repo(repo)

    @staticmethod
    def s3_remote(tool: Tool, repo: Path, url: str, endpoint: str, env: dict[str, str]) -> None:
        harness.run_checked(tool.argv("remote", "add", "--local", "-d", "-f", "s3", url), repo, env)
        harness.run_checked(tool.argv("remote", "modify", "--local", "s3", "endpointurl", endpoint), repo, env)


def _time_into(table: dict[str, Timing], what: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    """One timed run of the command, into table's timing of what."""
    harness.timed_into(table.setdefault(what, Timing([], [])), argv, cwd, env)
