"""Build the DVC repository that tests/test_import_dvc.py imports, with DVC itself.

    python tests/data/dvc/make_fixtures.py /path/to/dvc

DVC is never a dependency of pipetool or of its tests: this script is run by hand (with any
Python and a DVC 3 executable) when the fixture must change, and its result, `project.tar.gz`,
is committed. The archive holds the repository as a user's checkout would after `dvc repro`
and `dvc add` (workspace files, dvc.yaml, dvc.lock, .dvc files, .dvc/config and config.local),
without .git and DVC's cache: the tests make their own git repository around it.

The archive is deterministic (sorted names, fixed owners and times), so running the script
again with the same DVC gives the same bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHIVE = os.path.join(HERE, "project.tar.gz")
# What a checkout of the project holds besides git's and DVC's own folders.
LEFT_OUT = {".git", os.path.join(".dvc", "cache"), os.path.join(".dvc", "tmp")}

FILES = {
    "params.yaml": """\
        prepare:
          split: 0.25
          seed: 7
        train:
          lr: 0.1
        """,
    "dvc.yaml": """\
        # A small pipeline made with DVC; its comments and layout are kept by the import.
        stages:
          prepare:
            cmd: mkdir -p data/prepared && cp data/raw.csv data/prepared/rows.csv && echo ${prepare.seed} > data/prepared/seed.txt
            deps:
              - data/raw.csv
            params:
              - prepare.split
            outs:
              - data/prepared

          train:
            foreach: [lr, svm]
            do:
              cmd: cat data/prepared/rows.csv data/prepared/seed.txt > models/${item}.txt
              deps:
                - data/prepared
              params:
                - train.lr
              outs:
                - models/${item}.txt

          grid:
            matrix:
              size: [s, m]
            cmd: echo ${item.size} > grid-${item.size}.txt
            outs:
              - grid-${item.size}.txt

          evaluate:
            cmd: "echo '{\\"accuracy\\": 0.75}' > metrics.json"
            deps:
              - models/lr.txt
            metrics:
              - metrics.json:
                  cache: false

          report:
            wdir: reports
            cmd: cat ../metrics.json > summary.txt
            deps:
              - ../metrics.json
            outs:
              - summary.txt
        """,
    "data/raw.csv": "x,y\n1,2\n3,4\n",
    "reports/README.md": "Reports made by the pipeline.\n",
    "sub/params.yaml": "scale: 3\n",
    "sub/input.txt": "sub input\n",
    "sub/dvc.yaml": """\
        stages:
          double:
            cmd: cat input.txt input.txt > doubled.txt
            deps:
              - input.txt
            params:
              - scale
            outs:
              - doubled.txt
        """,
}


def main(dvc: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        repo = os.path.join(scratch, "repo")
        os.makedirs(repo)
        env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": os.path.join(scratch, "site"),
               "GIT_AUTHOR_NAME": "fixture", "GIT_AUTHOR_EMAIL": "fixture@example.com",
               "GIT_COMMITTER_NAME": "fixture", "GIT_COMMITTER_EMAIL": "fixture@example.com"}

        def run(*args: str, cwd: str = repo) -> None:
            subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)

        run("git", "init", "-q")
        run(dvc, "init", "-q")
        for relpath, text in FILES.items():
            path = os.path.join(repo, relpath)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(textwrap.dedent(text))
        os.makedirs(os.path.join(repo, "models"))
        with open(os.path.join(repo, "data", "labels.bin"), "wb") as handle:
            handle.write(bytes(range(256)) * 4)
        run(dvc, "add", "-q", "data/labels.bin")  # data DVC tracks with a .dvc file
        run(dvc, "remote", "add", "-d", "storage", "../dvc-storage")  # stored relative to .dvc/
        run(dvc, "remote", "add", "bucket", "s3://example-bucket/project")
        run(dvc, "remote", "modify", "bucket", "endpointurl", "http://localhost:9000")
        run(dvc, "remote", "modify", "bucket", "jobs", "4")  # a setting pipetool has no use for
        run(dvc, "remote", "modify", "--local", "bucket", "access_key_id", "EXAMPLEKEYID")
        run(dvc, "remote", "add", "--local", "mine", "/tmp/my-dvc-storage")
        run(dvc, "repro", "-q")
        run(dvc, "repro", "-q", "sub/dvc.yaml")
        with open(ARCHIVE, "wb") as handle:
            handle.write(_archive(repo))
    print(f"wrote {os.path.relpath(ARCHIVE)} ({os.path.getsize(ARCHIVE):,} bytes)")


def _archive(repo: str) -> bytes:
    """The repository's files as a deterministic .tar.gz (no .git, no DVC cache)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for relpath in _files(repo):
                info = tar.gettarinfo(os.path.join(repo, relpath), arcname=relpath)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                info.mode = 0o755 if info.isdir() else 0o644
                if info.isfile():
                    with open(os.path.join(repo, relpath), "rb") as member:
                        tar.addfile(info, member)
                else:
                    tar.addfile(info)
    return buffer.getvalue()


def _files(repo: str) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(repo):
        rel_folder = os.path.relpath(folder, repo)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_folder, d)) not in LEFT_OUT]
        found += [os.path.normpath(os.path.join(rel_folder, name)) for name in files]
    return sorted(found)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/data/dvc/make_fixtures.py PATH-TO-DVC")
    main(os.path.abspath(sys.argv[1]) if os.sep in sys.argv[1] else sys.argv[1])
