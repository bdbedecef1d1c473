"""What a stage is: plain, frozen data that the rest of pipetool passes around."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..files.equivalence import Equivalence
from .pipelines import file_of


@dataclass(frozen=True)
class Out:
    """A path a stage writes: an out, a metric or a plot."""

    path: str  # relative to the project root, '/'-separated, no trailing slash
    kind: str = "out"  # "out" | "metric" | "plot"
    cache: bool = True
    persist: bool = False
    options: tuple[tuple[str, Any], ...] = ()  # plot options such as x and y
    verify: Equivalence = Equivalence()  # how `verify` compares it with the lock (not in the lock)


@dataclass(frozen=True)
class ParamDep:
    """Params a stage reads from one file; keys None means the whole file."""

    file: str
    keys: tuple[str, ...] | None


@dataclass(frozen=True)
class Resources:
    """What a stage asks of the machine that runs it; None where it does not say."""

    cpus: int | None = None
    memory: int | None = None  # bytes
    gpus: int | None = None

    @property
    def slots(self) -> int:
        """How many of the local executor's -j slots the stage takes."""
        return self.cpus or 1

    def dask(self) -> dict[str, int]:
        """As Dask worker resources: a stage runs only on a worker that declares each of them."""
        named = {"CPU": self.cpus, "MEMORY": self.memory, "GPU": self.gpus}
        return {name: amount for name, amount in named.items() if amount}


@dataclass(frozen=True)
class Stage:
    name: str
    cmd: tuple[str, ...]
    wdir: str = "."
    deps: tuple[str, ...] = ()
    params: tuple[ParamDep, ...] = ()
    outs: tuple[Out, ...] = ()
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None
    resources: Resources = Resources()
    line: int = 0  # where pipeline.yaml defines it

    @cached_property
    def out_paths(self) -> tuple[str, ...]:
        """Made once per stage (a frozen stage's outs never change): a status of 100,000 stages
        asks for them twice per stage."""
        return tuple(out.path for out in self.outs)

    @property
    def file(self) -> str:
        """The pipeline file that defines it (its line is `line`)."""
        return file_of(self.name)

    @property
    def runs_always(self) -> bool:
        """always_changed, or a stage with no deps, params or outs: nothing could say it is up
        to date, so it runs every time (DVC's callback stage)."""
        return self.always_changed or not (self.deps or self.params or self.outs)

    def cmd_record(self) -> str | list[str]:
        """The cmd as pipeline.lock records it: one string, or the list as written."""
        return self.cmd[0] if len(self.cmd) == 1 else list(self.cmd)
