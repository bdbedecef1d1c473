"""An s3:// remote against a real S3 protocol server (moto's, started on loopback by the test):
push a directory of 1,000 files from one clone, pull it into a fresh one."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest
from conftest import Project, s3_server

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

PY = shlex.quote(sys.executable)
FILES = 1000
BUCKET = "pipetool-test"

GEN = f"""
    import os
    os.makedirs("data", exist_ok=True)
    for i in range({FILES}):
        with open(f"data/part{{i:04d}}.txt", "w") as handle:
            handle.write(f"row {{i}}\\n" * (i % 7 + 1))
    with open("model.bin", "wb") as handle:
        handle.write(os.urandom(4096))
"""

PIPELINE = f"""
    stages:
      make:
        cmd: echo make >> ../runs.log && {PY} gen.py
        deps: [gen.py]
        outs: [data, model.bin]
"""

# The server accepts any credentials; these keep botocore away from real ones and from the network.
OFFLINE = {
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server with an empty bucket, for the module."""
    with s3_server(BUCKET) as (endpoint, client):
        yield endpoint, client


def keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def files(project: Project, relpath: str) -> dict[str, bytes]:
    base = project.path / relpath
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def test_push_and_pull_a_directory_of_a_thousand_files_through_s3(project, s3_endpoint):
    endpoint, client = s3_endpoint
    project.write("gen.py", GEN)
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro", env=OFFLINE)
    project.cli_ok("remote", "add", "-d", "s3", f"s3://{BUCKET}/project")
    project.cli_ok("remote", "modify", "s3", "endpointurl", endpoint)
    # This clone keeps its credentials in the git-ignored config.local, not in the environment.
    project.cli_ok("remote", "modify", "--local", "s3", "access_key_id", "testing")
    project.cli_ok("remote", "modify", "--local", "s3", "secret_access_key", "testing")
    project.git("add", "-A")
    project.git("commit", "-qm", "a thousand files on s3")
    assert "testing" not in project.git("show", "HEAD:.pipetool/config")

    result = project.cli_ok("push", "-j", "8", env=OFFLINE)
    assert f"Pushed {FILES + 2} object(s)" in result.stdout  # the files, the manifest, model.bin
    assert len(keys(client, "project/")) == FILES + 2
    again = project.cli_ok("push", env=OFFLINE)
    assert f"Everything is already on remote 's3' ({FILES + 2} object(s))." in again.stdout

    clone_path = project.path.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(project.path), str(clone_path)], check=True)
    other = Project(clone_path)
    assert not other.exists(".pipetool/config.local")
    # This clone has no credentials yet. A process of its own: in this one, fsspec would hand the
    # refused connection's cached file system to the pull below, which a real pull never sees.
    denied = other.run("status", "--remote", env=OFFLINE)
    assert denied.returncode == 1 and "Traceback" not in denied.stderr
    assert "cannot read remote 's3'" in denied.stderr

    pulled = other.cli_ok("pull", "-j", "8", env={**OFFLINE, **CREDENTIALS})
    assert f"Fetched {FILES + 2} object(s)" in pulled.stdout
    assert files(other, "data") == files(project, "data")
    assert (other.path / "model.bin").read_bytes() == (project.path / "model.bin").read_bytes()
    assert other.cli_ok("status", env=OFFLINE).stdout.strip() == "Data and pipelines are up to date."
    runs_before = (project.path.parent / "runs.log").read_text()
    assert "Data and pipelines are up to date." in other.cli_ok("repro", env=OFFLINE).stdout
    assert (project.path.parent / "runs.log").read_text() == runs_before
