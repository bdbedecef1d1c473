"""`pipetool add` and tracked data: pointer files, status, repro and the stages that read them."""

from __future__ import annotations

import yaml
from conftest import ran_stages

COUNT = """
    stages:
      count:
        cmd: ls data/images | wc -l > count.txt
        deps: [data/images]
        outs: [count.txt]
"""


def images(project, n: int = 2) -> None:
    if not project.exists("pipeline.yaml"):
        project.cli_ok("init")  # its pipeline.yaml has no stages: tracked data alone is a project
    for i in range(n):
        project.write(f"data/images/{i}.txt", f"image {i}\n")


def pointer(project, relpath: str = "data/images.pipetool") -> dict:
    return yaml.safe_load(project.read(relpath))


def test_add_writes_the_pointer_the_gitignore_line_and_says_what_to_git_add(project):
    project.write("pipeline.yaml", COUNT)
    images(project)
    result = project.cli_ok("add", "data/images")
    data = pointer(project)
    assert list(data) == ["outs"] and len(data["outs"]) == 1
    out = data["outs"][0]
    assert out["path"] == "images" and out["xxh3"].endswith(".dir")
    assert (out["size"], out["nfiles"]) == (16, 2)
    assert project.read("data/.gitignore").splitlines() == ["/images"]
    assert "Added data/images (2 file(s), 16 bytes): wrote data/images.pipetool" in result.stdout
    assert "git add data/.gitignore data/images.pipetool" in result.stdout
    # the bytes are in the cache: deleted, they come back
    project.cli_ok("status")
    for i in range(2):
        (project.path / f"data/images/{i}.txt").unlink()
    (project.path / "data/images").rmdir()
    assert "restored data/images" in project.cli_ok("checkout").stdout
    assert project.read("data/images/1.txt") == "image 1\n"


def test_add_of_one_file_in_a_project_without_pipeline_yaml(project):
    project.cli_ok("init")
    (project.path / "pipeline.yaml").unlink()
    (project.path / "params.yaml").unlink()
    project.write("raw.csv", "a,b\n1,2\n")
    result = project.cli_ok("add", "raw.csv")
    assert pointer(project, "raw.csv.pipetool") == {
        "outs": [{"path": "raw.csv", "xxh3": pointer(project, "raw.csv.pipetool")["outs"][0]["xxh3"], "size": 8}]
    }
    assert "git add .gitignore raw.csv.pipetool" in result.stdout
    assert project.read(".gitignore").splitlines()[-1] == "/raw.csv"
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"


def test_add_again_records_an_edit_and_writes_nothing_when_unchanged(project):
    images(project)
    project.cli_ok("add", "data/images")
    first = project.read("data/images.pipetool")
    again = project.cli_ok("add", "data/images")
    assert "data/images is unchanged: data/images.pipetool records it already." in again.stdout
    assert "git add" not in again.stdout
    assert project.read("data/images.pipetool") == first
    project.write("data/images/new.txt", "more\n")
    edited = project.cli_ok("add", "data/images")
    assert "Recorded the new version of data/images (3 file(s), 21 bytes)" in edited.stdout
    assert pointer(project)["outs"][0]["nfiles"] == 3
    assert project.read("data/images.pipetool") != first


def test_add_keeps_the_optional_dvc_keys_of_the_pointer(project):
    images(project)
    project.cli_ok("add", "data/images")
    out = pointer(project)["outs"][0]
    text = (
        "desc: the raw images\n"
        f"outs:\n- path: images\n  xxh3: {out['xxh3']}\n  size: {out['size']}\n  nfiles: 2\n"
        "  desc: one per class\n  type: folder\n  labels: [raw]\n  meta: {source: camera}\n  push: false\n"
        "meta:\n  owner: data-team\n"
    )
    project.write("data/images.pipetool", text)
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    project.write("data/images/2.txt", "another\n")
    project.cli_ok("add", "data/images")
    data = pointer(project)
    assert data["desc"] == "the raw images" and data["meta"] == {"owner": "data-team"}
    new = data["outs"][0]
    assert (new["desc"], new["type"], new["labels"], new["meta"], new["push"]) == (
        "one per class",
        "folder",
        ["raw"],
        {"source": "camera"},
        False,
    )
    assert new["nfiles"] == 3


def test_add_refuses_what_it_must_not_track(project, tmp_path):
    project.write("pipeline.yaml", COUNT)
    images(project)
    project.write("count.txt", "2\n")
    project.write("tracked.txt", "in git\n")
    project.git("add", "tracked.txt")
    (tmp_path / "outside.txt").write_text("x\n")
    project.cli_ok("add", "data/images")
    cases = {
        "count.txt": "'count.txt' is an out of stage 'count'",
        "tracked.txt": "'tracked.txt' is tracked by git (run 'git rm -r --cached tracked.txt' first",
        "../outside.txt": "'../outside.txt' is outside the project",
        ".pipetool": "'.pipetool' is inside pipetool's or git's own folder",
        "data/images/0.txt": "'data/images/0.txt' is inside the tracked folder 'data/images' (data/images.pipetool)",
        "data": "'data' holds the tracked path 'data/images' (data/images.pipetool)",
        "missing.txt": "'missing.txt' does not exist",
    }
    for path, message in cases.items():
        result = project.cli_fails("add", path)
        assert message in result.stderr, (path, result.stderr)
    assert not project.exists("count.txt.pipetool") and not project.exists("tracked.txt.pipetool")


def test_a_bad_pointer_file_is_one_line_naming_the_file_and_line(project):
    images(project)
    project.cli_ok("add", "data/images")
    out = pointer(project)["outs"][0]
    bad = {
        f"outs:\n- path: ../../etc\n  xxh3: {out['xxh3']}\n  size: 1\n": (
            "data/images.pipetool:2: the tracked path '../../etc' is not a clean relative path"
        ),
        "outs:\n- path: images\n  xxh3: nothex\n  size: 1\n": "data/images.pipetool:3: 'xxh3' of 'data/images'",
        f"outs:\n- path: images\n  md5: {'0' * 32}\n  size: 1\n": "data/images.pipetool:3: unknown key 'md5'",
        "outs: []\n": "data/images.pipetool:1: a pointer file records exactly one out",
        f"outs:\n- path: .git/hooks\n  xxh3: {out['xxh3']}\n  size: 1\n": "pipetool does not track 'data/.git/hooks'",
    }
    for text, message in bad.items():
        project.write("data/images.pipetool", text)
        result = project.cli_fails("status")
        assert message in result.stderr, (text, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_status_says_how_tracked_data_differs_and_what_to_do(project):
    images(project)
    project.cli_ok("add", "data/images")
    project.write("data/images/0.txt", "edited\n")
    result = project.cli_fails("status", "--exit-code")
    assert result.stdout.splitlines() == [
        "data/images.pipetool:",
        "    changed outs: modified data/images",
        "    record the new version with 'pipetool add data/images', or restore it with "
        "'pipetool checkout data/images.pipetool' (or 'pipetool pull')",
    ]
    for i in range(2):
        (project.path / f"data/images/{i}.txt").unlink()
    (project.path / "data/images").rmdir()
    assert project.cli_fails("status", "--exit-code").stdout.splitlines()[1:] == [
        "    changed outs: deleted data/images",
        "    restore it with 'pipetool checkout data/images.pipetool' (or 'pipetool pull')",
    ]
    assert "restored data/images" in project.cli_ok("checkout", "data/images.pipetool").stdout
    assert project.read("data/images/0.txt") == "image 0\n"


def test_a_stage_that_reads_tracked_data_reruns_when_repro_records_its_new_version(project):
    project.write("pipeline.yaml", COUNT)
    images(project)
    project.cli_ok("add", "data/images")
    first = project.cli_ok("repro").stdout
    assert ran_stages(first) == ["count"]
    assert "Stage 'data/images.pipetool' is up to date" in first
    assert project.read("count.txt").strip() == "2"
    project.write("data/images/2.txt", "image 2\n")
    dry = project.cli_ok("repro", "-n").stdout
    assert "Would run stage 'data/images.pipetool': changed outs: modified data/images" in dry
    assert "Would run stage 'count'" in dry
    second = project.cli_ok("repro").stdout
    assert ran_stages(second) == ["data/images.pipetool", "count"]
    assert project.read("count.txt").strip() == "3"
    assert pointer(project)["outs"][0]["nfiles"] == 3  # repro recorded the new version
    assert project.cli_ok("status").stdout == "Data and pipelines are up to date.\n"
    lock = project.lock()
    assert [d["path"] for d in lock["stages"]["count"]["deps"]] == ["data/images"]
    assert "data/images.pipetool" not in lock["stages"]  # the pointer file is its own lock


def test_a_recorded_data_source_gets_no_environment_beside_the_stages_that_ran(project):
    """pipeline.env.json says what environment made each stage's results; tracked data was made
    by no command, so repro recording its new version adds nothing there."""
    import json

    project.write(
        "pipeline.yaml", "stages:\n  size:\n    cmd: wc -c < raw.txt > n.txt\n    deps: [raw.txt]\n    outs: [n.txt]\n"
    )
    project.write("raw.txt", "a\n")
    project.cli_ok("add", "raw.txt")
    project.cli_ok("repro")
    project.write("raw.txt", "bb\n")
    assert ran_stages(project.cli_ok("repro").stdout) == ["raw.txt.pipetool", "size"]
    assert list(json.loads(project.read("pipeline.env.json"))["stages"]) == ["size"]


def test_repro_fails_on_a_missing_data_source_and_runs_nothing_downstream(project):
    project.write("pipeline.yaml", COUNT)
    images(project)
    project.cli_ok("add", "data/images")
    project.cli_ok("repro")
    before = project.read("data/images.pipetool")
    for i in range(2):
        (project.path / f"data/images/{i}.txt").unlink()
    (project.path / "data/images").rmdir()
    result = project.cli_fails("repro")
    assert (
        "Stage 'data/images.pipetool' failed: data source 'data/images' is missing "
        "(get it with 'pipetool pull' or 'pipetool checkout data/images.pipetool')" in result.stdout
    )
    assert "Skipped 'count': upstream stage 'data/images.pipetool' failed" in result.stdout
    assert project.read("data/images.pipetool") == before


def test_verify_puts_tracked_data_in_place_from_the_cache_and_reruns_what_reads_it(project):
    project.write("pipeline.yaml", COUNT)
    images(project)
    project.cli_ok("add", "data/images")
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "tracked data and a stage reading it")
    result = project.cli_ok("verify")
    assert "  count: identical" in result.stdout
    assert "data/images.pipetool:" not in result.stdout  # put in place, not made: nothing to judge
    assert "1 of 1 stage(s) reproduce." in result.stdout
    # without its bytes in the cache, verify says so and does not judge what reads the data
    import shutil

    shutil.rmtree(project.path / ".pipetool" / "cache")
    failed = project.cli_fails("verify")
    assert "  data/images.pipetool: data missing: not in the local cache (run 'pipetool fetch' first)" in failed.stdout
    assert "  count: not run" in failed.stdout


def test_pointer_files_are_found_by_the_pipeline_walk_and_at_a_revision(project):
    from pipetool.pipeline import pipelines

    paths = [
        "pipeline.yaml",
        "data/images.pipetool",
        "sub/pipeline.yaml",
        "sub/raw.csv.pipetool",
        "env/pyvenv.cfg",
        "env/lib.pipetool",  # inside a virtual environment
        "skipped/a.pipetool",  # a folder .pipetoolignore names
        ".hidden/b.pipetool",
        "nested/.pipetool/config",
        "nested/c.pipetool",  # a project of its own
    ]
    expected = ["pipeline.yaml", "sub/pipeline.yaml", "data/images.pipetool", "sub/raw.csv.pipetool"]
    assert pipelines.in_tree(paths, ("skipped",)) == expected
    for path in paths:
        project.write(path, "")
    project.write(".pipetoolignore", "skipped\n")
    state = project.path / ".pipetool"
    state.mkdir()
    assert pipelines.discover(str(project.path), str(state)) == expected
    assert pipelines.discover(str(project.path), str(state)) == expected  # from .pipetool/pipelines.cache
    assert pipelines.split("data/images.pipetool") == ("data/images.pipetool", "data/images.pipetool")
    assert pipelines.lock_of("data/images.pipetool") == "data/images.pipetool"
    assert not pipelines.is_pointer("data/.pipetool")  # no name before the suffix: the state folder's name


def test_a_data_stage_recorded_through_the_lock_store_is_written_into_its_pointer_file(project):
    """What `commit` (or a journal replayed after a kill) records for a data stage goes into the
    pointer file, its DVC keys kept: the pointer file is the data stage's lock."""
    from pipetool.storage.lock import LockStore, PathRecord

    images(project)
    project.cli_ok("add", "data/images")
    project.write("data/images.pipetool", "desc: raw\n" + project.read("data/images.pipetool"))
    state = str(project.path / ".pipetool")
    store = LockStore(str(project.path), state, ["pipeline.yaml", "data/images.pipetool"])
    entries = store.read()
    old = entries["data/images.pipetool"]
    new = type(old)(cmd=(), outs=(PathRecord("data/images", "1" * 32 + ".dir", 99, 3),))
    store.begin(entries)
    store.record("data/images.pipetool", new)
    entries["data/images.pipetool"] = new
    store.commit(entries, keep={"data/images.pipetool"})
    assert pointer(project) == {
        "outs": [{"path": "images", "xxh3": "1" * 32 + ".dir", "size": 99, "nfiles": 3}],
        "desc": "raw",
    }
    assert not project.exists("pipeline.lock")  # no lock file for a data stage


def test_add_from_a_subfolder_takes_paths_and_gives_advice_relative_to_it(project):
    images(project)
    result = project.cli_ok("add", "images", cwd=project.path / "data")
    assert "Added data/images (2 file(s), 16 bytes): wrote data/images.pipetool" in result.stdout
    assert "git add .gitignore images.pipetool" in result.stdout
    assert project.exists("data/images.pipetool")
