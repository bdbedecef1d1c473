"""`pipetool import-dvc` on a repository made by DVC 3 itself (tests/data/dvc/project.tar.gz,
see make_fixtures.py there): the pipelines, the lock verified without rerunning, .dvc files,
remotes; and a stranger's malformed or hostile dvc.lock. DVC is not needed to run these."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest
from conftest import Project, ran_stages

from pipetool.engine import import_dvc

FIXTURE = Path(__file__).parent / "data" / "dvc" / "project.tar.gz"
DVC_FILES = (
    "dvc.yaml",
    "dvc.lock",
    "sub/dvc.yaml",
    "sub/dvc.lock",
    "data/labels.bin.dvc",
    ".dvc/config",
    ".dvc/config.local",
)
ROOT_STAGES = ["prepare", "train@lr", "train@svm", "grid@s", "grid@m", "evaluate", "report"]


@pytest.fixture
def repo(project: Project) -> Project:
    """The DVC repository as a user's checkout holds it, in a fresh git repository."""
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(project.path, filter="data")
    return project


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below root (.git aside) with its bytes and mtime."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


# -- the whole round trip -------------------------------------------------------------------------


def test_up_to_date_for_dvc_is_up_to_date_for_pipetool(repo: Project) -> None:
    before = {name: repo.read(name) for name in DVC_FILES}
    out = repo.cli_ok("import-dvc").stdout
    assert "up to date: " + ", ".join(ROOT_STAGES) in out
    assert "stale" not in out
    assert repo.read("pipeline.yaml") == repo.read("dvc.yaml")  # comments and layout kept
    assert sorted(repo.lock()["stages"]) == sorted(ROOT_STAGES)
    assert repo.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    ran = repo.cli_ok("repro").stdout
    assert ran_stages(ran) == [] and "Data and pipelines are up to date." in ran
    assert {name: repo.read(name) for name in DVC_FILES} == before  # DVC's files untouched


def test_the_lock_holds_xxh3_and_dvc_params(repo: Project) -> None:
    repo.cli_ok("import-dvc")
    prepare = repo.lock()["stages"]["prepare"]
    assert prepare["cmd"] == (
        "mkdir -p data/prepared && cp data/raw.csv data/prepared/rows.csv && echo 7 > data/prepared/seed.txt"
    )
    assert prepare["outs"] == [{"path": "data/prepared", "xxh3": prepare["outs"][0]["xxh3"], "size": 14, "nfiles": 2}]
    assert prepare["outs"][0]["xxh3"].endswith(".dir")
    # DVC records prepare.split; pipetool also tracks the ${prepare.seed} the cmd uses
    assert prepare["params"] == {"params.yaml": {"prepare.seed": 7, "prepare.split": 0.25}}
    report = repo.lock()["stages"]["report"]  # wdir: reports; DVC's paths are relative to it
    assert [d["path"] for d in report["deps"]] == ["metrics.json"]
    assert [o["path"] for o in report["outs"]] == ["reports/summary.txt"]


def test_outs_are_in_the_cache_so_checkout_restores_them(repo: Project) -> None:
    repo.cli_ok("import-dvc")
    wanted = repo.read("models/lr.txt")
    (repo.path / "models" / "lr.txt").unlink()
    repo.cli_ok("checkout")
    assert repo.read("models/lr.txt") == wanted
    assert repo.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_a_changed_param_is_recorded_and_status_names_it(repo: Project) -> None:
    repo.write("params.yaml", repo.read("params.yaml").replace("lr: 0.1", "lr: 0.2"))
    out = repo.cli_ok("import-dvc").stdout
    assert "stale: train@lr (recorded): changed params: train.lr 0.1 -> 0.2" in out
    status = repo.cli_ok("status").stdout
    assert "train@lr:\n    changed params: train.lr 0.1 -> 0.2" in status
    assert "prepare" not in status


def test_changed_and_missing_files_are_reported_stale(repo: Project) -> None:
    repo.write("data/raw.csv", "x,y\n9,9\n")
    (repo.path / "models" / "svm.txt").unlink()
    out = repo.cli_ok("import-dvc").stdout
    assert "stale: prepare: dep 'data/raw.csv' changed since dvc.lock" in out
    assert "stale: train@svm: out 'models/svm.txt' is missing" in out
    assert "up to date: train@lr, grid@s, grid@m, evaluate, report" in out
    assert set(repo.lock()["stages"]) == set(ROOT_STAGES) - {"prepare", "train@svm"}
    status = repo.cli_ok("status").stdout
    assert "prepare:\n    new stage" in status and "train@svm:\n    new stage" in status


def test_an_edited_directory_out_is_stale(repo: Project) -> None:
    repo.write("data/prepared/extra.txt", "more\n")
    out = repo.cli_ok("import-dvc").stdout
    assert "stale: prepare: out 'data/prepared' changed since dvc.lock" in out
    assert "stale: train@lr: dep 'data/prepared' changed since dvc.lock" in out


def test_a_changed_cmd_is_recorded_as_dvc_ran_it(repo: Project) -> None:
    repo.write("dvc.yaml", repo.read("dvc.yaml").replace("echo ${item.size} >", "echo ${item.size} ${item.size} >"))
    out = repo.cli_ok("import-dvc").stdout
    assert "stale: grid@s (recorded): changed cmd" in out
    assert repo.lock()["stages"]["grid@s"]["cmd"] == "echo s > grid-s.txt"
    assert "grid@m:\n    changed cmd" in repo.cli_ok("status").stdout


def test_a_stage_dvc_never_ran_is_stale(repo: Project) -> None:
    repo.write(
        "dvc.yaml", repo.read("dvc.yaml") + "  extra:\n    cmd: echo hi > extra.txt\n    outs:\n      - extra.txt\n"
    )
    out = repo.cli_ok("import-dvc").stdout
    assert "stale: extra: not in dvc.lock" in out


# -- writing nothing, or refusing -------------------------------------------------------------


def test_dry_writes_nothing(repo: Project) -> None:
    before = snapshot(repo.path)
    out = repo.cli_ok("import-dvc", "--dry").stdout
    assert "(would write)" in out and "Dry run: nothing was written." in out
    assert snapshot(repo.path) == before


def test_existing_pipeline_files_are_kept_unless_forced(repo: Project) -> None:
    repo.write("pipeline.yaml", "# mine\n")
    err = repo.cli_fails("import-dvc").stderr
    assert err == (
        "error: pipeline.yaml already exists; nothing was written (use --force to overwrite it with the import)\n"
    )
    assert repo.read("pipeline.yaml") == "# mine\n" and not repo.exists(".pipetool")
    repo.cli_ok("import-dvc", "--force")
    assert repo.read("pipeline.yaml") == repo.read("dvc.yaml")


def test_not_a_dvc_repository(project: Project) -> None:
    err = project.cli_fails("import-dvc").stderr
    assert err.startswith("error: not a DVC repository: no .dvc folder in ") and err.count("\n") == 1


@pytest.mark.parametrize(
    "lock_text, message",
    [
        ("stages: [\n", "dvc.lock:2"),
        ("- a\n- b\n", "dvc.lock:1: not a lock file of DVC 2 or 3"),
        ("schema: '2.0'\nstages:\n  prepare: 3\n", "dvc.lock:3: stage 'prepare': each stage must be a mapping"),
        ("schema: '2.0'\nstages:\n  prepare:\n    cmd: 5\n", "stage 'prepare': 'cmd' missing, or not text"),
        (
            "schema: '2.0'\nstages:\n  prepare:\n    cmd: x\n    deps:\n    - path: a\n      md5: nothex\n",
            "dvc.lock:7: stage 'prepare': 'md5' of 'a' must be 32 hex digits",
        ),
        (
            "schema: '2.0'\nstages:\n  prepare:\n    cmd: x\n    outs:\n    - path: a\n      md5: "
            + "a" * 32
            + "\n      size: 99999999999999999999999\n",
            "'size' of 'a' must be a whole number of bytes",
        ),
        ("schema: '2.0'\nstages:\n  prepare:\n    cmd: x\n    deps: {path: a}\n", "'deps' must be a list"),
        ("schema: '2.0'\nstages:\n  prepare:\n    cmd: x\n    params: [a]\n", "'params' must map each params file"),
    ],
)
def test_a_malformed_dvc_lock_is_one_line_and_writes_nothing(repo: Project, lock_text: str, message: str) -> None:
    repo.write("dvc.lock", lock_text)
    before = snapshot(repo.path)
    err = repo.cli_fails("import-dvc").stderr
    assert err.startswith("error: dvc.lock") and message in err and err.count("\n") == 1, err
    assert snapshot(repo.path) == before


def test_a_dvc_lock_that_is_not_a_file_is_refused(repo: Project, tmp_path: Path) -> None:
    (repo.path / "dvc.lock").unlink()
    (repo.path / "dvc.lock").symlink_to(tmp_path / "elsewhere.yaml")
    (tmp_path / "elsewhere.yaml").write_text("schema: '2.0'\nstages: {}\n")
    err = repo.cli_fails("import-dvc").stderr
    assert err == "error: dvc.lock: not read: it leads outside the repository\n"


# -- a hostile repository ---------------------------------------------------------------------


def test_paths_outside_the_repository_are_neither_read_nor_written(repo: Project, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    md5 = hashlib.md5(b"secret\n").hexdigest()
    (repo.path / "data" / "link.txt").symlink_to(outside / "secret.txt")
    repo.write(
        "dvc.yaml",
        """\
        stages:
          steal:
            cmd: cat ../outside/secret.txt data/link.txt > stolen.txt
            deps: [../outside/secret.txt, data/link.txt]
            outs: [stolen.txt]
        """,
    )
    record = f"      md5: {md5}\n      size: 7\n      hash: md5\n"
    repo.write(
        "dvc.lock",
        "schema: '2.0'\nstages:\n  steal:\n    cmd: x\n    deps:\n"
        f"    - path: ../outside/secret.txt\n{record}    - path: data/link.txt\n{record}"
        f"    outs:\n    - path: ../../evil.txt\n{record}",
    )
    (repo.path / "sub" / "dvc.yaml").unlink()
    outside_before = snapshot(tmp_path / "outside")
    out = repo.cli_ok("import-dvc").stdout
    assert "dep '../outside/secret.txt' is outside the repository: not read" in out
    assert "dep 'data/link.txt' leads outside the repository through a symlink: not read" in out
    assert "out 'stolen.txt' is not in dvc.lock" in out
    assert "dvc.lock records out '../../evil.txt', which dvc.yaml does not declare" in out
    assert repo.lock()["stages"] == {}
    assert snapshot(tmp_path / "outside") == outside_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "repo"]


# -- the parts ----------------------------------------------------------------------------------


def test_subfolder_pipelines_get_their_own_files(repo: Project) -> None:
    out = repo.cli_ok("import-dvc").stdout
    assert "sub/dvc.yaml -> sub/pipeline.yaml, sub/dvc.lock -> sub/pipeline.lock (wrote)" in out
    assert "sub/pipeline.yaml:double" in repo.cli_ok("dag").stdout  # one project, one graph
    sub = Project(repo.path / "sub")
    assert sub.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    assert sub.cli_ok("repro").stdout.startswith("Stage 'sub/pipeline.yaml:double' is up to date")
    double = sub.lock()["stages"]["double"]
    assert [d["path"] for d in double["deps"]] == ["input.txt"]  # relative to its folder, as DVC's
    assert double["params"] == {"params.yaml": {"scale": 3}}


def test_tracked_data_and_remotes(repo: Project) -> None:
    out = repo.cli_ok("import-dvc").stdout
    assert "  data/labels.bin.dvc -> data/labels.bin.pipetool (wrote; data/labels.bin checked against its md5)" in out
    assert (
        "bucket  s3://example-bucket/project; access_key_id in .pipetool/config.local; "
        "endpointurl; left out: jobs" in out
    )
    assert "run 'pipetool push'" in out
    listed = repo.cli_ok("remote", "list").stdout
    assert "storage\t../dvc-storage  (default)" in listed  # DVC keeps it relative to .dvc/
    assert "mine\t/tmp/my-dvc-storage" in listed
    assert "EXAMPLEKEYID" not in repo.read(".pipetool/config")
    assert "EXAMPLEKEYID" in repo.read(".pipetool/config.local")


def test_a_remote_pipetool_has_already_is_kept(repo: Project) -> None:
    repo.write(".pipetool/config", "remote:\n  storage:\n    url: /elsewhere\ncore:\n  remote: storage\n")
    out = repo.cli_ok("import-dvc").stdout
    assert "storage: not imported: pipetool already has a remote 'storage' (/elsewhere); --force replaces it" in out
    assert "storage\t/elsewhere  (default)" in repo.cli_ok("remote", "list").stdout
    repo.cli_ok("import-dvc", "--force")
    assert "storage\t../dvc-storage  (default)" in repo.cli_ok("remote", "list").stdout


def test_big_hashing_jobs_say_so_on_stderr(repo: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_dvc, "PROGRESS_FILES", 2)
    err = repo.cli_ok("import-dvc").stderr
    assert "Hashing data/prepared (md5, to compare with dvc.lock): 14 B in 2 file(s)" in err


def test_dvc_md5_definitions() -> None:
    assert (
        import_dvc.dvc_directory_md5([("b.txt", "1" * 32), ("a.txt", "0" * 32)])
        == hashlib.md5(
            b'[{"md5": "' + b"0" * 32 + b'", "relpath": "a.txt"}, {"md5": "' + b"1" * 32 + b'", "relpath": "b.txt"}]'
        ).hexdigest()
        + ".dir"
    )


def test_dvc2_text_md5_reads_crlf_as_lf(tmp_path: Path) -> None:
    text, binary = tmp_path / "text", tmp_path / "binary"
    text.write_bytes(b"a,b\r\n1,2\r\n")
    binary.write_bytes(b"\x00\r\n")
    assert import_dvc.dvc_file_md5(str(text), legacy=True) == hashlib.md5(b"a,b\n1,2\n").hexdigest()
    assert import_dvc.dvc_file_md5(str(text)) == hashlib.md5(b"a,b\r\n1,2\r\n").hexdigest()
    assert import_dvc.dvc_file_md5(str(binary), legacy=True) == hashlib.md5(b"\x00\r\n").hexdigest()


def test_import_after_init_replaces_the_untouched_pipeline_yaml_and_init_points_at_it(repo: Project) -> None:
    assert "pipetool import-dvc" in repo.cli_ok("init").stdout

    repo.cli_ok("import-dvc")

    assert repo.read("pipeline.yaml") == repo.read("dvc.yaml")
    assert repo.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_remotes_with_control_characters_and_dvc_files_outside_are_left_out(repo: Project) -> None:
    with open(repo.path / ".dvc" / "config", "a") as handle:
        handle.write("['remote \"evil\"']\n    url = /tmp/x\x1b[31mRED\n")
    repo.write("data/escape.dvc", "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: ../../../etc/passwd\n")

    out = repo.cli_ok("import-dvc").stdout

    assert "\x1b" not in out
    assert "its name, url or a setting holds control characters" in out
    assert "data/escape.dvc: not listed: it tracks '../../etc/passwd', outside the repository" in out
    assert "\x1b" not in repo.read(".pipetool/config")


# -- data tracked with .dvc files ------------------------------------------------------------------


def test_a_data_only_dvc_file_becomes_a_pointer_file_with_the_data_in_the_cache(repo: Project) -> None:
    import xxhash
    import yaml

    data = (repo.path / "data" / "labels.bin").read_bytes()
    repo.cli_ok("import-dvc")
    assert yaml.safe_load(repo.read("data/labels.bin.pipetool")) == {
        "outs": [{"path": "labels.bin", "xxh3": xxhash.xxh3_128_hexdigest(data), "size": 1024}]
    }
    assert repo.exists("data/labels.bin.dvc")  # DVC's files are left as they are
    assert "/labels.bin" in repo.read("data/.gitignore").splitlines()
    assert repo.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    (repo.path / "data" / "labels.bin").unlink()
    assert "restored data/labels.bin" in repo.cli_ok("checkout", "data/labels.bin.pipetool").stdout
    assert (repo.path / "data" / "labels.bin").read_bytes() == data


def test_tracked_data_that_changed_since_its_dvc_file_is_listed_and_not_converted(repo: Project) -> None:
    (repo.path / "data" / "labels.bin").write_bytes(b"other bytes")
    out = repo.cli_ok("import-dvc").stdout
    assert (
        "  data/labels.bin  (data/labels.bin.dvc): not converted: 'data/labels.bin' changed since data/labels.bin.dvc"
        in out
    )
    assert not repo.exists("data/labels.bin.pipetool")


def test_a_dvc_file_with_deps_stays_listed_as_not_converted(repo: Project) -> None:
    md5 = hashlib.md5(b"x,y\n").hexdigest()
    repo.write("data/ext.csv", "x,y\n")
    repo.write(
        "data/ext.csv.dvc",
        f"md5: {'1' * 32}\nfrozen: true\ndeps:\n- path: https://example.com/ext.csv\n  etag: abc\n"
        f"outs:\n- md5: {md5}\n  size: 4\n  hash: md5\n  path: ext.csv\n",
    )
    out = repo.cli_ok("import-dvc").stdout
    assert (
        "  data/ext.csv  (data/ext.csv.dvc): not converted: it has deps or a cmd (data DVC imported: "
        "dvc import or import-url), which pipetool does not track" in out
    )
    assert not repo.exists("data/ext.csv.pipetool")
    assert repo.exists("data/labels.bin.pipetool")


def test_a_repository_with_dvc_files_and_no_dvc_yaml_imports_its_tracked_data(repo: Project) -> None:
    for name in ("dvc.yaml", "dvc.lock", "sub/dvc.yaml", "sub/dvc.lock"):
        (repo.path / name).unlink()
    out = repo.cli_ok("import-dvc").stdout
    assert "data/labels.bin.dvc -> data/labels.bin.pipetool (wrote;" in out
    assert not repo.exists("pipeline.yaml")
    assert repo.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
