"""External data: URL deps (file:// and HTTP here, S3 in test_external_s3.py), `import-url`,
`get-url` and `update`, through the real CLI. The import stages' `pipetool get-url` runs as the
stage's own process, as it would for a user."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest
import yaml
from conftest import PYTHON_ENV, ran_stages

UP_TO_DATE = "Data and pipelines are up to date.\n"


class _EtagHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that sends each file's ETag (its md5), as object stores and most
    web servers do; counts the requests it answers."""

    requests: list[str]

    def end_headers(self) -> None:
        path = self.translate_path(self.path)
        try:
            with open(path, "rb") as handle:
                self.send_header("ETag", '"' + hashlib.md5(handle.read()).hexdigest() + '"')
        except OSError:
            pass
        super().end_headers()

    def send_head(self):
        self.requests.append(f"{self.command} {self.path}")
        return super().send_head()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_source(tmp_path):
    """(base URL, served folder, requests answered) of an HTTP server on a free loopback port."""
    folder = tmp_path / "served"
    folder.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_EtagHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder, requests, server
    finally:
        server.shutdown()
        server.server_close()


def _downstream(project) -> None:
    """Append stages that read the import (count) and one that does not (other)."""
    text = project.read("pipeline.yaml")
    project.write(
        "pipeline.yaml",
        text
        + "  count:\n    cmd: wc -l < data.csv > count.txt\n    deps: [data.csv]\n    outs: [count.txt]\n"
        + "  other:\n    cmd: cp other.txt other.out\n    deps: [other.txt]\n    outs: [other.out]\n",
    )
    project.write("other.txt", "other\n")


def test_http_import_reruns_only_when_the_etag_changes(project, http_source):
    base, served, requests, server = http_source
    (served / "data.csv").write_text("a,b\n1,2\n")
    url = f"{base}/data.csv"
    project.cli_ok("init")
    project.git("add", "-A")
    project.git("commit", "-qm", "init")
    result = project.cli_ok("import-url", url, env=PYTHON_ENV)
    assert "Added stage 'import-data.csv' (downloads to data.csv)" in result.stdout
    assert ran_stages(result.stdout) == ["import-data.csv"]
    assert project.read("data.csv") == "a,b\n1,2\n"
    assert "git add pipeline.yaml pipeline.lock pipeline.env.json .gitignore" in result.stdout
    project.git("add", "pipeline.yaml", "pipeline.lock", "pipeline.env.json", ".gitignore")
    assert "??" not in project.git("status", "--porcelain", "--untracked-files=all")  # the advice was whole
    stage = yaml.safe_load(project.read("pipeline.yaml"))["stages"]["import-data.csv"]
    assert stage == {"cmd": f"pipetool get-url {url} data.csv", "deps": [url], "outs": ["data.csv"]}
    etag = hashlib.md5(b"a,b\n1,2\n").hexdigest()
    # As dvc.lock records an HTTP dep: its path is the URL and its version the server's ETag.
    assert project.lock()["stages"]["import-data.csv"]["deps"] == [{"path": url, "etag": etag, "size": 8}]

    _downstream(project)
    assert ran_stages(project.cli_ok("repro", env=PYTHON_ENV).stdout) == ["count", "other"]
    requests.clear()
    assert project.cli_ok("status").stdout == UP_TO_DATE
    assert requests == ["HEAD /data.csv"]  # one question per URL dep per command, and no download
    assert ran_stages(project.cli_ok("repro", env=PYTHON_ENV).stdout) == []

    (served / "data.csv").write_text("a,b\n1,2\n3,4\n")
    new = hashlib.md5(b"a,b\n1,2\n3,4\n").hexdigest()
    status = project.cli_ok("status", "--json")
    reason = yaml.safe_load(status.stdout)["import-data.csv"]["reasons"][0]
    assert reason["message"] == f"changed deps: modified {url} (etag {etag} -> etag {new})"
    assert (reason["old"], reason["new"]) == (f"etag {etag}", f"etag {new}")
    assert ran_stages(project.cli_ok("repro", env=PYTHON_ENV).stdout) == ["import-data.csv", "count"]
    assert project.read("count.txt").strip() == "3"
    assert project.lock()["stages"]["import-data.csv"]["deps"][0]["etag"] == new

    # `update` checks the source again: unchanged, nothing runs (a change: see the file:// test).
    updated = project.cli_ok("update", "data.csv", env=PYTHON_ENV)
    assert ran_stages(updated.stdout) == [] and "up to date" in updated.stdout
    refused = project.cli_fails("update", "other")
    assert "stage 'other' has no URL dep" in refused.stderr

    # The source gone off the network: one line naming the stage and the URL, no traceback.
    server.shutdown()
    server.server_close()
    down = project.cli_fails("status")
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: stage 'import-data.csv': cannot reach '{url}'"), lines
    # repro fails that stage alone: with -k, the others still run.
    project.write("other.txt", "other, changed\n")
    failed = project.cli_fails("repro", "-k", env=PYTHON_ENV)
    assert f"Stage 'import-data.csv' failed: cannot reach '{url}'" in failed.stdout + failed.stderr
    assert ran_stages(failed.stdout) == ["other"] and project.read("other.out") == "other, changed\n"


def test_import_url_checks_the_source_and_its_path_first(project, http_source):
    base, served, _, _ = http_source
    project.write("pipeline.yaml", "# my stages\nstages:\n  keep:\n    cmd: cp a b\n    deps: [a]\n    outs: [b]\n")
    before = project.read("pipeline.yaml")
    missing = project.cli_fails("import-url", f"{base}/nothing.csv")
    assert f"'{base}/nothing.csv' does not exist" in missing.stderr
    assert project.read("pipeline.yaml") == before

    (served / "b").write_text("x\n")
    taken = project.cli_fails("import-url", f"{base}/b", "--force")
    assert "'b' is an out of stage 'keep' already" in taken.stderr
    project.write("tracked.txt", "mine\n")
    project.git("add", "tracked.txt")
    assert "exists already" in project.cli_fails("import-url", f"{base}/b", "tracked.txt").stderr
    assert "is tracked by git" in project.cli_fails("import-url", f"{base}/b", "tracked.txt", "--force").stderr
    assert project.read("pipeline.yaml") == before

    # --no-exec writes the stage only; a second import of the same name gets a unique stage name.
    project.cli_ok("import-url", "--no-exec", f"{base}/b", "sub/b")
    project.cli_ok("import-url", "--no-exec", f"{base}/b", "b2/b")
    stages = yaml.safe_load(project.read("pipeline.yaml"))["stages"]
    assert list(stages) == ["keep", "import-b", "import-b-2"]
    assert project.read("pipeline.yaml").startswith("# my stages\n")
    assert not project.exists("sub/b")
    # --force replaces the earlier import of that path, where it stands.
    project.cli_ok("import-url", "--no-exec", "--force", f"{base}/b", "sub/b")
    assert list(yaml.safe_load(project.read("pipeline.yaml"))["stages"]) == ["keep", "import-b", "import-b-2"]


def test_a_folder_outside_the_project_as_a_file_url(project, tmp_path):
    source = tmp_path / "outside"
    (source / "part").mkdir(parents=True)
    (source / "a.txt").write_text("a\n")
    (source / "part" / "b.txt").write_text("b\n")
    url = f"file://{source}"
    project.cli_ok("init")
    result = project.cli_ok("import-url", url, "data", env=PYTHON_ENV)
    assert ran_stages(result.stdout) == ["import-data"]
    assert project.read("data/part/b.txt") == "b\n"
    dep = project.lock()["stages"]["import-data"]["deps"][0]
    assert dep["path"] == url and dep["xxh3"].endswith(".dir") and dep["nfiles"] == 2
    assert ran_stages(project.cli_ok("repro", env=PYTHON_ENV).stdout) == []

    (source / "part" / "b.txt").write_text("b, again\n")
    status = project.cli_ok("status").stdout
    assert f"changed deps: modified {url} (xxh3 {dep['xxh3']} -> xxh3 " in status
    assert ran_stages(project.cli_ok("update", "data", env=PYTHON_ENV).stdout) == ["import-data"]
    assert project.read("data/part/b.txt") == "b, again\n"

    # The URL is read, never written: gc and push leave the source alone and send only the out.
    remote = tmp_path / "remote"
    project.cli_ok("remote", "add", "-d", "local", str(remote))
    pushed = project.cli_ok("push").stdout
    assert "Pushed 3 object(s)" in pushed  # the two files and the folder's manifest
    project.cli_ok("gc")
    assert sorted(p.name for p in source.rglob("*")) == ["a.txt", "b.txt", "part"]
    assert (source / "part" / "b.txt").read_text() == "b, again\n"


def test_get_url_downloads_whole_or_not_at_all(project, http_source, tmp_path):
    base, served, _, _ = http_source
    (served / "model.bin").write_bytes(b"\x00" * 1000)
    result = project.cli_ok("get-url", f"{base}/model.bin")
    assert result.stdout == f"Downloaded {base}/model.bin to model.bin (1.0 KB).\n"
    assert (project.path / "model.bin").read_bytes() == b"\x00" * 1000
    assert "exists already" in project.cli_fails("get-url", f"{base}/model.bin").stderr
    # A download that fails leaves neither half a file nor its temp file.
    missing = project.cli_fails("get-url", f"{base}/gone.bin", "gone.bin")
    assert "does not exist" in missing.stderr
    assert sorted(p.name for p in project.path.iterdir() if p.name != ".git") == ["model.bin"]
    # A folder, into a folder that exists.
    folder = tmp_path / "tree"
    (folder / "x").mkdir(parents=True)
    (folder / "x" / "y.txt").write_text("y\n")
    (project.path / "into").mkdir()
    project.cli_ok("get-url", f"file://{folder}", "into")
    assert project.read("into/tree/x/y.txt") == "y\n"


def test_url_outs_and_deps_in_pipeline_yaml_and_the_lock(project):
    project.write("pipeline.yaml", "stages:\n  up:\n    cmd: echo\n    outs: [s3://bucket/out.csv]\n")
    refused = project.cli_fails("status")
    assert "'outs' cannot be a URL ('s3://bucket/out.csv')" in refused.stderr
    assert "DVC 3 dropped external outs too" in refused.stderr

    # A lock entry of a URL dep as DVC writes it reads back; a URL out in a lock is refused.
    project.write("src.txt", "x\n")
    project.write(
        "pipeline.yaml",
        "stages:\n  down:\n    cmd: cp src.txt out.txt\n    deps: [src.txt, 'azure://box/raw.csv']\n"
        "    outs: [out.txt]\n",
    )
    missing_extra = project.cli_fails("status")
    assert missing_extra.stderr.strip().splitlines() == [
        "error: stage 'down': reading 'azure://box/raw.csv' needs the adlfs package, which is not installed "
        "(pip install 'pipetool[azure]')"
    ]
    project.write(
        "pipeline.lock",
        "version: 1\nstages:\n  down:\n    cmd: cp src.txt out.txt\n    deps:\n"
        "    - path: s3://bucket/x\n      etag: 1a2b\n      size: 3\n    outs:\n"
        "    - path: s3://bucket/y\n      etag: 3c4d\n      size: 3\n",
    )
    bad = project.cli_fails("status")
    assert "the out 's3://bucket/y' is a URL: outs are paths inside the project" in bad.stderr


def test_a_url_dep_in_a_subfolders_pipeline_keeps_its_url_in_that_lock(project, tmp_path):
    source = tmp_path / "outside.txt"
    source.write_text("one\n")
    url = f"file://{source}"
    project.write("pipeline.yaml", "stages: {}\n")
    project.write(
        "sub/pipeline.yaml",
        f"stages:\n  copy:\n    cmd: cp {source} copy.txt\n    deps: ['{url}']\n    outs: [copy.txt]\n",
    )
    assert ran_stages(project.cli_ok("repro", "-P").stdout) == ["sub/pipeline.yaml:copy"]
    assert yaml.safe_load(project.read("sub/pipeline.lock"))["stages"]["copy"]["deps"][0]["path"] == url
    assert project.cli_ok("status").stdout == UP_TO_DATE
    source.write_text("two\n")
    assert f"changed deps: modified {url}" in project.cli_ok("status").stdout
    assert ran_stages(project.cli_ok("repro", "-P").stdout) == ["sub/pipeline.yaml:copy"]
    assert project.read("sub/copy.txt") == "two\n"


def test_import_dvc_carries_a_url_deps_etag_over_from_dvc_lock(project, http_source):
    base, served, requests, _ = http_source
    (served / "x.csv").write_text("same\n")
    etag, out_md5 = hashlib.md5(b"same\n").hexdigest(), hashlib.md5(b"hi\n").hexdigest()
    url = f"{base}/x.csv"
    project.write(".dvc/config", "")
    project.write("out.txt", "hi\n")
    project.write(
        "dvc.yaml", f"stages:\n  get:\n    cmd: echo hi > out.txt\n    deps:\n    - {url}\n    outs:\n    - out.txt\n"
    )
    project.write(
        "dvc.lock",
        f"schema: '2.0'\nstages:\n  get:\n    cmd: echo hi > out.txt\n    deps:\n    - path: {url}\n"
        f"      etag: {etag}\n      size: 5\n    outs:\n    - path: out.txt\n      hash: md5\n      md5: {out_md5}\n"
        "      size: 3\n",
    )
    assert "up to date: get" in project.cli_ok("import-dvc").stdout
    assert requests == ["HEAD /x.csv"]  # its version asked once, as status does; nothing downloaded
    assert project.lock()["stages"]["get"]["deps"] == [{"path": url, "etag": etag, "size": 5}]
    assert project.cli_ok("status").stdout == UP_TO_DATE
    (served / "x.csv").write_text("changed\n")
    assert f"changed deps: modified {url} (etag {etag} -> etag " in project.cli_ok("status").stdout
