"""A stranger's repository, cloned and met by the commands that run no stages (as a CI job on a
pull request from a fork meets it): nothing committed is executed, pipetool's state is never
moved by a committed symlink, the lock's hashes, sizes and paths are checked before use, and no
file outside the project is shown through a committed symlink or path."""

from __future__ import annotations

import os
import pickle
import subprocess
import time
from pathlib import Path

import pytest
from conftest import Project

PIPELINE = """
    stages:
      a:
        cmd: echo hi > a.txt
        outs: [a.txt]
"""

# A lock as `repro` writes it for PIPELINE, with one record's fields left to the test.
LOCK = """\
version: 1
stages:
  a:
    cmd: echo hi > a.txt
    deps:
    - path: {dep}
      xxh3: 0123456789abcdef0123456789abcdef
      size: 3
    outs:
    - path: {path}
      xxh3: {hash}
      size: {size}
      nfiles: {nfiles}
"""
GOOD = {"dep": "data.csv", "path": "a.txt", "hash": "0123456789abcdef0123456789abcdef", "size": "3", "nfiles": "null"}


def commit_all(project: Project, *forced: str) -> None:
    """Commit the project, with these ignored paths too (as `git add -f` does)."""
    project.git("add", "-A")
    if forced:
        project.git("add", "-f", "--", *forced)
    project.git("commit", "-q", "-m", "attack")


def clone(attacker: Project, dest: Path) -> Project:
    """The victim's fresh clone of the attacker's repository."""
    subprocess.run(["git", "clone", "-q", str(attacker.path), str(dest)], check=True)
    for key, value in (("user.email", "victim@example.com"), ("user.name", "Victim")):
        subprocess.run(["git", "config", key, value], cwd=dest, check=True)
    return Project(dest)


class _Payload:
    """Unpickled, it creates the file named: proof that the pickle ran code."""

    def __init__(self, proof: str) -> None:
        self.proof = proof

    def __reduce__(self):
        return exec, (f"open({self.proof!r}, 'w').close()",)


# --- 1. nothing committed into .pipetool is unpickled ------------------------------------------


def test_pickles_committed_into_the_state_folder_never_run(project, tmp_path):
    """.pipetool keeps pickled parses for speed; a repository can commit its own there
    (`git add -f`). Loading one would run the attacker's code on a mere `status`."""
    proof = tmp_path / "PWNED"
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    payload = pickle.dumps(_Payload(str(proof)))
    from pipetool.files import trusted_cache

    forged = b"pipetool-tagged-pickle-1\n" + b"\0" * 32 + payload  # the tag made without the user's key
    names = [".pipetool/lock.cache", ".pipetool/spec.cache", ".pipetool/spec.parsed"]
    for name in names:
        (project.path / name).write_bytes(forged if name.endswith("parsed") else payload)
    commit_all(project, *names)
    victim = clone(project, tmp_path / "victim")
    for args in (["status"], ["dag"], ["dag", "--timings"], ["metrics", "show"], ["checkout"]):
        victim.cli(*args)
        assert not proof.exists(), f"'pipetool {' '.join(args)}' unpickled a committed file"
    assert "a.txt" in victim.cli_ok("status").stdout  # its out is not in the clone
    # The victim's own copies are tagged with the victim's key, and used.
    own = trusted_cache.Shelf(str(victim.path / ".pipetool" / "lock.cache"), "lock.cache").get("pipeline.lock")
    assert own is not None and set(own["project"]) == {"a"}


@pytest.mark.parametrize("name", ["lock.cache", "lock.journal"])
def test_a_state_file_that_is_a_link_to_a_pipe_is_not_read(project, tmp_path, name):
    """`dag --timings` reads the lock's copy and journal without checking .pipetool's links
    first. A link to a pipe (or /dev/zero) would be read for ever."""
    project.write("pipeline.yaml", PIPELINE)
    project.write("pipeline.lock", LOCK.format(**GOOD))
    (project.path / ".pipetool").mkdir()
    os.mkfifo(tmp_path / "fifo")  # not /dev/zero: without the check that would fill the memory
    os.symlink(tmp_path / "fifo", project.path / ".pipetool" / name)
    result = project.run("dag", "--timings", timeout=20)  # a process: a hang ends the test only
    assert result.returncode == 0 and "a (" in result.stdout, result.stderr


def test_a_key_inside_the_clone_is_not_used(project, tmp_path, monkeypatch):
    """A CI job may keep XDG_CACHE_HOME in its checkout: a clone could commit a key there, with
    copies tagged by it (a checkout under umask 077 even gives the key the private mode)."""
    from pipetool.files import trusted_cache

    proof = tmp_path / "PWNED"
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("status")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker-cache"))
    for name in ("lock.cache", "spec.cache"):
        trusted_cache.save(str(project.path / ".pipetool" / name), name, _Payload(str(proof)))
    project.write(".cache/pipetool/key", "")
    (project.path / ".cache/pipetool/key").write_bytes((tmp_path / "attacker-cache/pipetool/key").read_bytes())
    commit_all(project, ".pipetool/lock.cache", ".pipetool/spec.cache")
    victim = clone(project, tmp_path / "victim")
    (victim.path / ".cache/pipetool/key").chmod(0o600)
    victim.cli_ok("status", env={"XDG_CACHE_HOME": str(victim.path / ".cache")})
    assert not proof.exists()


def test_a_tagged_copy_is_read_back_only_unchanged_and_with_the_same_key(tmp_path):
    from pipetool.files import trusted_cache

    path = tmp_path / "copy"
    trusted_cache.save(str(path), "purpose", {"x": [1, 2]})
    assert trusted_cache.load(str(path), "purpose") == {"x": [1, 2]}
    assert trusted_cache.load(str(path), "another purpose") is None
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    assert trusted_cache.load(str(path), "purpose") is None


@pytest.mark.parametrize("where", ["readable by others", "cannot be made"])
def test_without_a_usable_key_no_copy_is_written_or_read(project, tmp_path, where):
    """A key file anyone else can read could be used to forge copies: it is not used; nor is
    any where none can be made."""
    cache_home = tmp_path / "xdg"
    if where == "cannot be made":
        cache_home.write_text("a file where the folder would go\n")
    else:
        (cache_home / "pipetool").mkdir(parents=True)
        key = cache_home / "pipetool" / "key"
        key.write_bytes(b"k" * 32)
        key.chmod(0o644)
    project.write("pipeline.yaml", PIPELINE)
    env = {"XDG_CACHE_HOME": str(cache_home)}
    project.cli_ok("repro", env=env)
    assert not project.exists(".pipetool/lock.cache") and not project.exists(".pipetool/spec.cache")
    assert "up to date" in project.cli_ok("status", env=env).stdout


# --- 2. the lock's hashes, sizes and paths are checked before use ------------------------------

BAD_RECORDS = [
    ({"hash": "../../../../etc/passwd"}, "xxh3"),
    ({"hash": "0123456789ABCDEF0123456789ABCDEF"}, "xxh3"),
    ({"hash": "0123456789abcdef0123456789abcde"}, "xxh3"),
    ({"hash": "0123456789abcdef0123456789abcdef.dir/../x"}, "xxh3"),
    ({"path": "../victim.txt"}, "an out is a clean relative path inside the project"),
    ({"path": "/tmp/victim.txt"}, "is absolute"),
    ({"path": "a/../../victim.txt"}, "no '..'"),
    ({"path": "./a.txt"}, "no '..', '.' or empty parts"),
    ({"path": '"a\\e[31m.txt"'}, "control character"),
    ({"dep": '"data\\ncsv"'}, "not a normalized path without control characters"),
    ({"dep": "data//x.csv"}, "not a normalized path"),
]  # sizes and counts that are no whole numbers: test_lock.py


@pytest.mark.parametrize("bad, what", BAD_RECORDS, ids=[str(list(b.values())[0]) for b, _ in BAD_RECORDS])
def test_a_lock_record_of_the_wrong_form_is_refused_naming_the_stage(project, bad, what):
    project.write("pipeline.yaml", PIPELINE)
    project.write("pipeline.lock", LOCK.format(**{**GOOD, **bad}))
    for command in ("status", "checkout", "gc"):
        result = project.cli_fails(command)
        lines = result.stderr.strip().splitlines()
        assert len(lines) <= 2 and lines[0].startswith("error: pipeline.lock:"), result.stderr  # the error, a hint
        assert "stage 'a'" in result.stderr and what in result.stderr, result.stderr


def test_a_dep_outside_the_project_is_a_valid_record(project):
    """Deps may lie anywhere: only outs must be inside."""
    project.write("pipeline.yaml", PIPELINE)
    project.write("pipeline.lock", LOCK.format(**{**GOOD, "dep": "../shared/data.csv"}))
    project.cli_ok("status")


def test_a_lock_that_is_a_symlink_leading_outside_is_not_read(project, tmp_path):
    """Parse errors quote what they read: a lock linked to a file of the machine is not read."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("version: TOPSECRET\n")
    project.write("pipeline.yaml", PIPELINE)
    os.symlink(secret, project.path / "pipeline.lock")
    commit_all(project)
    victim = clone(project, tmp_path / "victim")
    for command in ("status", "dag --timings", "checkout", "repro -f"):
        result = victim.cli_fails(*command.split())
        assert "TOPSECRET" not in result.stdout + result.stderr
        assert "pipeline.lock: not read" in result.stderr, (command, result.stderr)


def test_a_revisions_lock_with_a_path_for_a_hash_reads_nothing_outside(project, tmp_path):
    """`metrics show REV` reads a metrics file git does not keep from the cache, by the hash
    that revision's lock records: a hash that is a path must not reach the file system."""
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo
            metrics: [m.json]
    """,
    )
    project.write(
        "pipeline.lock",
        "version: 1\nstages:\n  a:\n    cmd: echo\n    outs:\n    - path: m.json\n"
        "      xxh3: ../../../../../../../../dev/zero\n      size: 1\n",
    )
    commit_all(project)
    result = project.cli_ok("metrics", "show", "HEAD")  # without the check: reads /dev/zero for ever
    assert "m.json at HEAD" in result.stdout and "pipeline.lock does not record it" in result.stdout


def test_a_cache_object_committed_as_a_link_is_not_read(project, tmp_path):
    """`metrics show REV` reads a metrics file git does not keep from the cache by its hash: a
    clone can commit that object as a link (here to a pipe, which would block for ever)."""
    digest = GOOD["hash"]
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo\n    metrics: [m.json]\n")
    project.write(
        "pipeline.lock",
        f"version: 1\nstages:\n  a:\n    cmd: echo\n    outs:\n    - path: m.json\n"
        f"      xxh3: {digest}\n      size: 5\n",
    )
    os.mkfifo(tmp_path / "fifo")
    link = project.path / ".pipetool" / "cache" / digest[:2] / digest[2:]
    link.parent.mkdir(parents=True)
    os.symlink(tmp_path / "fifo", link)
    commit_all(project, str(link.relative_to(project.path)))
    victim = clone(project, tmp_path / "victim")
    result = victim.run("metrics", "show", "HEAD", timeout=20)  # a process: a hang ends the test only
    assert result.returncode == 0 and f"its cache object {digest} is a symlink: not read" in result.stdout


# --- 3. a committed symlink never moves pipetool's state ---------------------------------------

LINKS = [".pipetool", ".pipetool/cache", ".pipetool/state.db", ".pipetool/cache/ab", ".pipetool/runs", ".pipetool/logs"]


@pytest.mark.parametrize("link", LINKS)
def test_a_committed_symlink_in_the_state_folder_is_refused_and_nothing_is_written_through_it(project, tmp_path, link):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me\n")
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    target = project.path / link
    if target.is_dir() and not target.is_symlink():
        subprocess.run(["rm", "-rf", str(target)], check=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    os.symlink(outside if link != ".pipetool/state.db" else outside / "precious", target)
    commit_all(project, link)
    victim = clone(project, tmp_path / "victim")
    assert os.path.islink(victim.path / link)
    for command in ("status", "checkout", "gc", "metrics show", "logs a", "repro"):
        result = victim.cli_fails(*command.split())
        assert f"'{link}' is a symlink git tracks" in result.stderr, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2
    assert sorted(os.listdir(outside)) == ["precious"]
    assert (outside / "precious").read_text() == "keep me\n"


def test_a_committed_symlink_for_a_stage_log_is_never_written_or_read_through(project, tmp_path):
    """logs/ holds a file per stage and is not listed for links (100,000 in a big foreach): each
    log is opened without following a link instead. A clone whose `.pipetool/logs/a.log` leads
    to a file outside runs its stage with that log skipped, and `logs a` refuses it in a line."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me\n")
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    log = project.path / ".pipetool" / "logs" / "a.log"
    log.unlink()
    os.symlink(outside / "precious", log)
    commit_all(project, ".pipetool/logs/a.log")
    victim = clone(project, tmp_path / "victim")
    assert os.path.islink(victim.path / ".pipetool/logs/a.log")
    victim.cli_ok("repro", "-f")
    victim.cli_ok("status")
    refused = victim.cli_fails("logs", "a")
    assert "a.log' is a symlink: pipetool reads no log through a link" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2 and "keep me" not in refused.stdout + refused.stderr
    assert (outside / "precious").read_text() == "keep me\n"


def test_a_committed_folder_in_place_of_a_stage_log_is_refused_in_one_line(project, tmp_path):
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("repro")
    log = project.path / ".pipetool" / "logs" / "a.log"
    log.unlink()
    log.mkdir()
    (log / "inside.txt").write_text("not a log\n")
    commit_all(project, ".pipetool/logs/a.log/inside.txt")
    victim = clone(project, tmp_path / "victim")
    victim.cli_ok("repro", "-f")  # its log cannot be written there: skipped
    refused = victim.cli_fails("logs", "a")
    assert "a.log' is not a file: pipetool reads no log from it" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2


def test_a_committed_state_db_with_its_own_triggers_is_started_afresh(project, tmp_path):
    """The state db says which files are unchanged. A clone's db with pipetool's version and a
    trigger that rewrites every hash it records to the locked one would make status call a
    changed dep up to date from its second run on."""
    import sqlite3

    from pipetool.storage.state import StateDB

    project.write("data.csv", "a,b\n")
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo hi\n    deps: [data.csv]\n")
    project.write("pipeline.lock", LOCK.format(**GOOD).split("    outs:")[0])  # data.csv as 0123…
    (project.path / ".pipetool").mkdir()
    StateDB(str(project.path / ".pipetool" / "state.db")).close()
    db = sqlite3.connect(project.path / ".pipetool" / "state.db")
    db.execute(
        "CREATE TRIGGER lie AFTER INSERT ON state BEGIN "
        f"UPDATE state SET hash = '{GOOD['hash']}' WHERE path = NEW.path; END"
    )
    db.commit()
    db.close()
    commit_all(project, ".pipetool/state.db")
    victim = clone(project, tmp_path / "victim")
    hour_ago = time.time() - 3600
    os.utime(victim.path / "data.csv", (hour_ago, hour_ago))  # old enough for the state db to keep
    for _ in range(2):
        assert "modified data.csv" in victim.cli_ok("status").stdout
    db = sqlite3.connect(victim.path / ".pipetool" / "state.db")
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone() == (0,)


def test_a_symlink_the_user_made_in_the_state_folder_is_followed(project, tmp_path):
    """Links git does not track are the user's own (an experiment shares its project's cache so)."""
    elsewhere = tmp_path / "big-disk-cache"
    elsewhere.mkdir()
    project.write("pipeline.yaml", PIPELINE)
    project.cli_ok("status")
    os.symlink(elsewhere, project.path / ".pipetool" / "cache")
    project.cli_ok("repro")
    assert os.listdir(elsewhere)


def test_a_state_folder_that_is_a_file_is_a_clean_error(project):
    project.write("pipeline.yaml", PIPELINE)
    project.write(".pipetool", "not a folder\n")
    result = project.cli_fails("status")
    assert "'.pipetool' is a file" in result.stderr


# --- 4. install quotes every path it writes into hooks ------------------------------------------

NASTY = "a b'\"$(touch PWNED1)`touch PWNED2`\nc"


def test_install_quotes_the_project_folder_in_its_hooks(project, tmp_path):
    folder = project.path / NASTY
    folder.mkdir()
    (folder / "pipeline.yaml").write_text("stages: {}\n")
    project.cli_ok("install", cwd=folder)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    where = tmp_path / "where"
    fake = bin_dir / "pipetool"
    fake.write_text(f"#!/bin/sh\npwd > '{where}'\n")  # records where the hook ran it
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for hook, args in (("post-merge", ["0"]), ("post-checkout", ["x", "y", "1"])):
        where.unlink(missing_ok=True)
        subprocess.run(
            ["sh", str(project.path / ".git" / "hooks" / hook), *args], cwd=project.path, env=env, check=True
        )
        assert where.read_text() == f"{folder}\n"
    assert not list(project.path.rglob("PWNED*")) and not list(tmp_path.glob("PWNED*"))


def test_install_writes_no_attribute_through_a_committed_symlink(project, tmp_path):
    outside = tmp_path / "bashrc"
    outside.write_text("export PATH=/usr/bin\n")
    project.write("pipeline.yaml", PIPELINE)
    os.symlink(outside, project.path / ".gitattributes")
    commit_all(project)
    victim = clone(project, tmp_path / "victim")
    result = victim.cli_fails("install")
    assert ".gitattributes is a symlink" in result.stderr
    assert outside.read_text() == "export PATH=/usr/bin\n"
    assert not (victim.path / ".git" / "hooks" / "post-checkout").exists()


# --- 5. show and diff read nothing outside the project -----------------------------------------

SECRET = '{"TOPSECRET": 42}\n'
SHOWN = """
    stages:
      train:
        cmd: echo
        params:
        - params.yaml:
        metrics:
        - {metric}:
            cache: false
        plots:
        - plot.csv:
            cache: false
"""


def shows(victim: Project, *args: str) -> str:
    """All a command showed (a params.yaml it cannot read fails it: spec loading needs it)."""
    result = victim.cli(*args)
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    if victim.exists(".pipetool/plots/index.html"):
        text += victim.read(".pipetool/plots/index.html")
    return text


@pytest.mark.parametrize("private", ["outside", ".git/config", ".pipetool/config.local"])
def test_show_and_diff_never_read_a_file_that_a_committed_symlink_leads_to(project, tmp_path, private):
    """A CI job prints what `metrics show` prints: a committed link to a secret of the machine
    (or to the job's git credentials in .git/config) must not get it printed."""
    secret = tmp_path / "secret.json"
    secret.write_text(SECRET)
    project.write("pipeline.yaml", SHOWN.format(metric="metrics.json"))
    for name in ("metrics.json", "params.yaml", "plot.csv"):
        os.symlink(secret if private == "outside" else private, project.path / name)
    commit_all(project)
    victim = clone(project, tmp_path / "victim")
    (victim.path / ".pipetool").mkdir()
    for private_file in (".git/config", ".pipetool/config.local"):
        with open(victim.path / private_file, "a") as handle:
            handle.write('TOPSECRET = "token"\n')
    for args in (["metrics", "show"], ["metrics", "diff"], ["params", "diff"], ["plots", "show"]):
        text = shows(victim, *args)
        assert "TOPSECRET" not in text and "not read" in text, (args, text)
    # At a revision git holds the link's text: followed inside the revision only, never outside it.
    for args in (["exp", "show"], ["metrics", "show", "HEAD"]):
        text = shows(victim, *args)
        assert "TOPSECRET" not in text, (args, text)
        assert "not read" in text or private != "outside", (args, text)
    (victim.path / "params.yaml").unlink()  # spec loading needs it: the error above names it
    victim.write("params.yaml", "lr: 1\n")
    warned = victim.cli_ok("metrics", "show").stdout
    assert "TOPSECRET" not in warned and "metrics.json: not read" in warned


def test_a_committed_symlink_inside_the_repository_is_followed_at_a_revision(project):
    """git keeps a symlink as the text of its target; at a revision it is followed as in the
    working tree, within the revision."""
    no_params = SHOWN.replace("        params:\n        - params.yaml:\n", "")
    project.write("pipeline.yaml", no_params.format(metric="latest.json"))
    project.write("runs/one.json", '{"acc": 0.75}\n')
    os.symlink("runs/one.json", project.path / "latest.json")
    commit_all(project)
    for rev in ("HEAD", "workspace"):
        assert "0.75" in project.cli_ok("metrics", "show", rev).stdout


OUTSIDE_READS = {  # how a pipeline names the file; a foreach over its values names stages by them
    "params file": "stages:\n  train:\n    cmd: echo hi\n    params: [{{{secret}: }}]\n",
    "vars file": "vars: [{secret}]\n",
    "relative path": "vars: [../secret.yaml]\n",
    "params.yaml link": "",
}
FOREACH = "stages:\n  train:\n    foreach: ${names}\n    do:\n      cmd: echo ${item}\n"


@pytest.mark.parametrize("how", OUTSIDE_READS)
def test_no_command_reads_params_or_vars_from_outside_the_project(project, tmp_path, how):
    """`status --json` prints changed param values and `dag` the stages a foreach makes: a
    pipeline naming a file of the machine as its params or vars must not get it printed (a CI
    job's log is the attacker's to read)."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("names: [TOPSECRET]\ntoken: TOPSECRET\n")
    text = OUTSIDE_READS[how].format(secret=secret)
    project.path.joinpath("pipeline.yaml").write_text(text if text.startswith("stages") else text + FOREACH)
    if how == "params.yaml link":
        os.symlink(secret, project.path / "params.yaml")
    project.write("pipeline.lock", "version: 1\nstages:\n  train:\n    cmd: echo old\n")
    commit_all(project)
    victim = clone(project, tmp_path / "victim")
    for args in (
        ["status"],
        ["status", "--json"],
        ["dag"],
        ["repro", "-n"],
        ["params", "diff"],
        ["metrics", "show"],
        ["exp", "show"],
    ):
        text = shows(victim, *args)
        assert "TOPSECRET" not in text, (args, text)


def test_a_params_file_turned_into_a_link_to_a_pipe_is_not_read_for_ever(project, tmp_path):
    """Checking out a stranger's branch can make params.yaml a link to a pipe or /dev/zero,
    after a status compiled the pipeline: the check of what it was compiled from must not hang."""
    project.write("params.yaml", "x: 1\n")
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo ${x}\n")
    project.cli_ok("status")
    (project.path / "params.yaml").unlink()
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "fifo", project.path / "params.yaml")
    result = project.fails("status", timeout=20)  # a process: a hang must end the test, not the suite
    assert "params.yaml: not read" in result.stderr


# --- 6. loading the pipeline evaluates nothing --------------------------------------------------


def test_interpolation_evaluates_no_code(project, tmp_path):
    proof = tmp_path / "PWNED"
    project.write("params.yaml", "x: 1\n")
    project.write(
        "pipeline.yaml",
        f"""
        stages:
          a:
            cmd: echo ${{__import__('os').system('touch {proof}')}} ${{x}}
            outs: [a.txt]
    """,
    )
    for command in ("status", "dag"):
        project.cli(command)
    assert not proof.exists()
