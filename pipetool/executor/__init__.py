"""Executors run stage commands and report back; they decide nothing."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import ClusterError
from ..pipeline.stage import Stage
from ..storage.cache import Cache
from ..storage.hashing import Hasher, HashInfo

OutputSink = Callable[[str, str], None]  # (stage name, one line of output)
Warn = Callable[[str], None]


@dataclass(frozen=True)
class ExecutorChoice:
    """Where stages run: on this machine, or on a Dask cluster (a local one when no scheduler)."""

    kind: str = "local"  # one of config.EXECUTORS
    scheduler: str | None = None  # a Dask scheduler address such as tcp://host:8786
    retries: int = 0  # Dask: tries after a worker died under the stage
    # Dask: whether the workers see the repository. None: check, and without it move the stages'
    # files through the default remote when there is one; False: always through the remote.
    shared_fs: bool | None = None
    download: bool = True  # without a shared file system: bring the outs into the workspace


@dataclass(frozen=True)
class ProjectStore:
    """What an executor that moves files itself needs of the project: its hashes and its cache."""

    state_dir: str
    hasher: Hasher
    cache: Cache


@dataclass
class StageRun:
    """How one stage's commands ended."""

    name: str
    returncode: int = 0
    failed_cmd: str | None = None
    tail: list[str] = field(default_factory=list)  # last lines of output, for failures
    seconds: float = 0.0
    interrupted: bool = False
    worker: str | None = None  # the Dask worker that ran it
    problem: str | None = None  # why it failed when not through its cmd's exit code
    # The outs' hashes when they were left on a remote, not put in the workspace (--no-download)
    outs: dict[str, HashInfo] | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted and self.problem is None

    def cmd_failure(self) -> str:
        """How its cmd failed, in one line: the exit code, with 127 and signals spelled out."""
        cmd = f"'{self.failed_cmd}'" if self.failed_cmd else "its cmd"
        if self.returncode == 127:
            return f"command not found (exit code 127) running {cmd}"
        if self.returncode < 0:
            return f"{cmd} was killed by signal {-self.returncode}"
        return f"{cmd} exited with code {self.returncode}"

    def failure(self) -> str:
        """Whose fault, in one line: the problem that kept it from running, else its cmd's failure."""
        return self.problem or self.cmd_failure()


class Executor(Protocol):
    def fits(self, stage: Stage) -> bool:
        """Whether the stage may start now (a free slot for its cpus)."""

    @property
    def full(self) -> bool:
        """No stage at all could start now: the schedule need not be asked (with thousands of
        ready stages, asking each whether it fits would cost as much as running them)."""

    @property
    def running(self) -> int:
        """How many submitted stages have not ended yet."""

    def open(self) -> None:
        """Be ready to run stages (connect to the cluster); called before a stage's outs are cleared."""

    def submit(self, stage: Stage) -> None:
        """Start the stage's commands."""

    def wait(self) -> StageRun:
        """Block until a submitted stage ends."""

    def cancel(self) -> list[StageRun]:
        """Stop every running stage (its whole process group); their runs, once ended."""

    def close(self) -> None:
        """Let go of what the executor holds (threads, a cluster connection)."""


def start(
    choice: ExecutorChoice,
    root: str,
    jobs: int,
    output: OutputSink,
    warn: Warn,
    files: ProjectStore | None = None,
) -> Executor:
    """The executor the choice names; the Dask one connects when its first stage is submitted.
    files: the project's hasher and cache, for a Dask cluster without a shared file system."""
    if choice.kind == "dask":
        if importlib.util.find_spec("distributed") is None:
            raise ClusterError(
                "--executor dask needs Dask's distributed scheduler, which is not installed",
                hint="install it with: pip install 'pipetool[dask]'",
            )
        from .dask import DaskExecutor

        return DaskExecutor(root, choice, jobs, output, warn, files)
    from .local import LocalExecutor

    return LocalExecutor(root, jobs, output)
