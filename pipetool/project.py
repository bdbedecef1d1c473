"""Where a project lives: its root (the folder of pipeline.yaml) and its local state folder."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ProjectError
from .spec import PIPELINE_FILE

STATE_DIR = ".pipetool"
# Everything in .pipetool/ is local state, except a committed config (when there is one).
_STATE_GITIGNORE = "/*\n!/.gitignore\n!/config\n"


@dataclass(frozen=True)
class Project:
    root: str

    @property
    def state_dir(self) -> str:
        return os.path.join(self.root, STATE_DIR)

    def ensure_state_dir(self) -> str:
        """Create .pipetool/ with its own .gitignore, so its contents never reach git."""
        path = self.state_dir
        os.makedirs(path, exist_ok=True)
        ignore = os.path.join(path, ".gitignore")
        if not os.path.exists(ignore):
            with open(ignore, "w", encoding="utf-8") as handle:
                handle.write(_STATE_GITIGNORE)
        return path


def find(start: str | None = None) -> Project:
    """The nearest folder at or above start that holds pipeline.yaml."""
    here = os.path.abspath(start or os.getcwd())
    folder = here
    while True:
        if os.path.isfile(os.path.join(folder, PIPELINE_FILE)):
            return Project(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            raise ProjectError(
                f"no {PIPELINE_FILE} in {here} or any folder above it",
                hint="run pipetool inside a project, or create pipeline.yaml with a 'stages:' mapping",
            )
        folder = parent
