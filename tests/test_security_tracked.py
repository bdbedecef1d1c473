"""Files a clone commits beside its pipelines and tracked data (pipeline.env.json, pointer files,
.dvc files), met as an attacker would craft them: each is bounded, never read through a link or
from a pipe, and ends in a one-line error or is ignored, never in a traceback or a hang."""

from __future__ import annotations

import json
import os

from pipetool.storage import environments
from pipetool.system import environment

FINGERPRINT = {"python": "3.11", "packages": {}}


def test_a_deeply_nested_pipeline_env_json_is_ignored_not_a_traceback(tmp_path):
    (tmp_path / "pipeline.lock").write_text("version: 1\nstages: {}\n")
    (tmp_path / "pipeline.env.json").write_text("[" * 100_000)
    assert environments.parse("[" * 100_000) == {"stages": {}, "environments": {}}
    environments.record(str(tmp_path), ["train"], fingerprint=lambda: FINGERPRINT)
    data = json.loads((tmp_path / "pipeline.env.json").read_text())
    assert data["environments"][data["stages"]["train"]] == FINGERPRINT


def test_a_pipeline_env_json_that_is_a_pipe_or_a_link_to_a_device_is_not_read(tmp_path):
    (tmp_path / "pipeline.lock").write_text("version: 1\nstages: {}\n")
    env = tmp_path / "pipeline.env.json"
    for make in (lambda: os.mkfifo(env), lambda: env.symlink_to("/dev/zero")):
        make()  # a pipe blocks a reader for ever; /dev/zero never ends
        environments.record(str(tmp_path), ["train"], fingerprint=lambda: FINGERPRINT)
        assert not env.is_symlink() and env.is_file()  # replaced by the new file, not read
        assert json.loads(env.read_text())["stages"] == {"train": environment.digest(FINGERPRINT)}
        env.unlink()
