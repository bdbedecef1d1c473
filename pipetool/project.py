"""Where a project lives: its root (the folder of pipeline.yaml) and its local state folder;
starting a new one."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ProjectError
from .spec import PIPELINE_FILE

STATE_DIR = ".pipetool"
# Everything in .pipetool/ is local state, except a committed config (when there is one).
_STATE_GITIGNORE = "/*\n!/.gitignore\n!/config\n"
PARAMS_FILE = "params.yaml"
# What `pipetool init` writes: YAML with no stages yet, and the format as a reminder.
_NEW_PIPELINE = """\
# The pipeline's stages. Add one with `pipetool stage add`, or write it here, e.g.:
#
# stages:
#   prepare:
#     cmd: python prepare.py
#     deps: [prepare.py, data/raw.csv]
#     params: [prepare.split]
#     outs: [data/prepared]
"""
_NEW_PARAMS = """\
# Params the stages read, addressed as a.b.c in pipeline.yaml, e.g.:
#
# prepare:
#   split: 0.2
"""


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
                hint="run pipetool inside a project, or start one here with 'pipetool init'",
            )
        folder = parent


def init(folder: str) -> list[str]:
    """Make folder a project: .pipetool/ (with its .gitignore), and an empty pipeline.yaml and
    params.yaml where they are absent. Returns the paths it created; refuses inside a project."""
    try:
        existing = find(folder)
    except ProjectError:
        existing = None
    if existing is not None:
        raise ProjectError(
            f"already a pipetool project: {os.path.join(existing.root, PIPELINE_FILE)} exists; nothing was changed",
            hint="add stages with 'pipetool stage add', or run 'pipetool status' to see where it stands",
        )
    project = Project(os.path.abspath(folder))
    created = [] if os.path.isdir(project.state_dir) else [STATE_DIR + "/"]
    project.ensure_state_dir()
    for name, text in ((PIPELINE_FILE, _NEW_PIPELINE), (PARAMS_FILE, _NEW_PARAMS)):
        path = os.path.join(project.root, name)
        if not os.path.exists(path):
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
            created.append(name)
    return created
