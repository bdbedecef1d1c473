"""The user-facing error types: each says whose fault it is, and where."""

from __future__ import annotations

from collections.abc import Iterable


class PipetoolError(Exception):
    """A mistake the user can fix, or something pipetool could not do.

    The CLI prints `str(error)` as one line and exits non-zero; no traceback.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        stage: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.stage = stage
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        name = self.stage
        if name and self.file and name.startswith(f"{self.file}:"):
            name = name[len(self.file) + 1 :]  # the file is named already: the stage as written there
        stage = f"stage '{name}': " if name else ""
        hint = f" ({self.hint})" if self.hint else ""
        return " ".join(f"{where}{stage}{self.message}{hint}".split("\n"))


class SpecError(PipetoolError):
    """pipeline.yaml or a params file is malformed or inconsistent."""


class GraphError(PipetoolError):
    """The stages do not form a valid DAG (cycle, overlapping outs)."""


class LockError(PipetoolError):
    """pipeline.lock cannot be read."""


class TargetError(PipetoolError):
    """A command-line target names no stage and no out."""


class ProjectError(PipetoolError):
    """No project here, or its local state cannot be used."""


class RunError(PipetoolError):
    """One or more stages failed or were interrupted during repro."""


class ClusterError(PipetoolError):
    """The Dask cluster cannot be used: not installed, unreachable, lost, or blind to the repository."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choices, or None when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


class RevisionError(PipetoolError):
    """A git revision cannot be read (unknown, not a repository, refused argument)."""


class RemoteError(PipetoolError):
    """A remote storage is not configured, cannot be reached, or lacks what was asked for."""


class ExperimentError(PipetoolError):
    """An experiment cannot be run, found or saved (bad -S, unknown name, no commit to start from)."""
