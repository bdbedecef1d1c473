"""An s3:// dep against moto's S3 server: its ETag decides staleness, and it is read with the
settings (endpoint, credentials in config.local) of the remote whose URL it lies under."""

from __future__ import annotations

import pytest
from conftest import PYTHON_ENV, ran_stages

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

from test_remote_s3 import BUCKET, OFFLINE, s3_endpoint  # noqa: E402, F401 - the fixture, shared

UP_TO_DATE = "Data and pipelines are up to date.\n"


def test_an_s3_dep_reruns_its_stage_and_downstream_only_when_its_etag_changes(project, s3_endpoint):  # noqa: F811
    endpoint, client = s3_endpoint
    url = f"s3://{BUCKET}/raw/data.csv"
    client.put_object(Bucket=BUCKET, Key="raw/data.csv", Body=b"x\n1\n")
    project.cli_ok("init")
    project.cli_ok("remote", "add", "store", f"s3://{BUCKET}")
    project.cli_ok("remote", "modify", "store", "endpointurl", endpoint)
    project.cli_ok("remote", "modify", "--local", "store", "access_key_id", "testing")
    project.cli_ok("remote", "modify", "--local", "store", "secret_access_key", "testing")
    env = {**OFFLINE, **PYTHON_ENV}
    project.cli_ok("import-url", url, "data.csv", env=env)
    with open(project.path / "pipeline.yaml", "a") as handle:
        handle.write("  rows:\n    cmd: wc -l < data.csv > rows.txt\n    deps: [data.csv]\n    outs: [rows.txt]\n")
    assert ran_stages(project.cli_ok("repro", env=env).stdout) == ["rows"]
    etag = client.head_object(Bucket=BUCKET, Key="raw/data.csv")["ETag"].strip('"')
    assert project.lock()["stages"]["import-data.csv"]["deps"] == [{"path": url, "etag": etag, "size": 4}]
    assert project.cli_ok("status", env=OFFLINE).stdout == UP_TO_DATE
    assert ran_stages(project.cli_ok("repro", env=env).stdout) == []

    client.put_object(Bucket=BUCKET, Key="raw/data.csv", Body=b"x\n1\n2\n")
    new = client.head_object(Bucket=BUCKET, Key="raw/data.csv")["ETag"].strip('"')
    status = project.cli_ok("status", env=OFFLINE).stdout
    assert status == f"import-data.csv:\n    changed deps: modified {url} (etag {etag} -> etag {new})\n"
    assert ran_stages(project.cli_ok("repro", env=env).stdout) == ["import-data.csv", "rows"]
    assert project.read("rows.txt").strip() == "3"
    assert ran_stages(project.cli_ok("repro", env=env).stdout) == []
