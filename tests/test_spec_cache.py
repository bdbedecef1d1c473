"""The compiled pipeline kept in .pipetool: after an edit of params.yaml only the stages whose
`${}` values changed are built again, and every stage still says exactly what the files say."""

from __future__ import annotations

from conftest import ran_stages

# Three stages, each writing the value it interpolates; one more with a foreach over a params list.
PIPELINE = """
    stages:
      one:
        cmd: echo ${a} > one.txt
        outs: [one.txt]
      two:
        cmd: echo ${b.x} > two.txt
        outs: [two.txt]
      both:
        cmd: echo ${a}-${b.y} > both.txt
        outs: [both.txt]
      copy:
        foreach: ${names}
        do:
          cmd: echo ${item} > copy-${item}.txt
          outs:
            - copy-${item}.txt
"""


def params(a="1", x="2", y="3", names="[p, q]") -> str:
    return f"a: {a}\nb:\n  x: {x}\n  y: {y}\nnames: {names}\n"


def setup(project) -> None:
    project.write("params.yaml", params())
    project.write("pipeline.yaml", PIPELINE)
    assert ran_stages(project.cli_ok("repro").stdout) == ["one", "two", "both", "copy@p", "copy@q"]


def test_a_param_edit_reruns_exactly_the_stages_using_it(project):
    setup(project)
    project.write("params.yaml", params(x="20"))
    assert ran_stages(project.cli_ok("repro").stdout) == ["two"]
    assert project.read("two.txt") == "20\n"
    project.write("params.yaml", params(x="20", a="10"))
    assert ran_stages(project.cli_ok("repro").stdout) == ["one", "both"]
    assert (project.read("one.txt"), project.read("both.txt")) == ("10\n", "10-3\n")


def test_a_value_that_only_changes_type_changes_the_cmd(project):
    """1, 1.0 and true are equal to Python; each gives `${a}` another text."""
    setup(project)
    for value, text in (("1.0", "1.0"), ("true", "true"), ("'1'", "1"), ("1", "1")):
        project.write("params.yaml", params(a=value))
        project.cli_ok("repro")
        assert project.read("one.txt") == text + "\n", value


def test_a_removed_param_is_an_error_again_and_its_return_mends_it(project):
    setup(project)
    project.write("params.yaml", "b:\n  x: 2\n  y: 3\nnames: [p, q]\n")
    result = project.cli_fails("status")
    assert "'${a}' is not defined" in result.stderr
    project.write("params.yaml", params(a="5"))
    assert ran_stages(project.cli_ok("repro").stdout) == ["one", "both"]
    assert project.read("one.txt") == "5\n"


def test_a_longer_foreach_list_adds_its_stages(project):
    setup(project)
    project.write("params.yaml", params(names="[p, q, r]"))
    assert ran_stages(project.cli_ok("repro").stdout) == ["copy@r"]
    project.write("params.yaml", params(names="[q]"))
    assert ran_stages(project.cli_ok("repro").stdout) == []
    assert set(project.lock()["stages"]) == {"one", "two", "both", "copy@q"}


def test_an_edit_of_pipeline_yaml_is_seen_with_the_params_edit_beside_it(project):
    setup(project)
    project.write("params.yaml", params(a="7"))
    project.write("pipeline.yaml", PIPELINE.replace("echo ${a} > one.txt", "echo ${a}${a} > one.txt"))
    assert ran_stages(project.cli_ok("repro").stdout) == ["one", "both"]
    assert project.read("one.txt") == "77\n"


def _rewrite_keeping_size_and_mtime(path, old: str, new: str) -> None:
    """An edit that a check of size and mtime alone would miss (a tool that restores mtimes)."""
    import os
    import time

    assert len(old) == len(new)
    before = os.stat(path)
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    # Out of the racy second (the change time cannot be set back): only the change time, or
    # reading the bytes, still shows the edit.
    while time.time_ns() - os.stat(path).st_ctime_ns < 1.2e9:
        time.sleep(0.05)


def test_files_not_read_again_still_show_an_edit_that_keeps_size_and_mtime(project):
    import os
    import time

    setup(project)
    old = time.time_ns() - 10**10  # well out of the racy second: the stamps are trusted from now on
    for name in ("params.yaml", "pipeline.yaml", "pipeline.lock"):
        os.utime(project.path / name, ns=(old, old))
    assert "up to date" in project.cli_ok("status").stdout  # stamps kept
    assert "up to date" in project.cli_ok("status").stdout  # and used
    _rewrite_keeping_size_and_mtime(project.path / "params.yaml", "a: 1", "a: 7")
    assert ran_stages(project.cli_ok("repro").stdout) == ["one", "both"]
    assert project.read("one.txt") == "7\n"
    _rewrite_keeping_size_and_mtime(project.path / "pipeline.yaml", "echo ${b.x} >", "echo ${b.y} >")
    assert ran_stages(project.cli_ok("repro").stdout) == ["two"]
    assert project.read("two.txt") == "3\n"


def test_a_lock_edited_within_its_racy_second_is_read_again(project):
    setup(project)
    lock = project.path / "pipeline.lock"
    text = lock.read_text()
    assert "one.txt" in text
    assert "up to date" in project.cli_ok("status").stdout
    # Same size, same second: only reading the bytes again shows the stage's out renamed.
    lock.write_text(text.replace("path: one.txt", "path: one.txx"))
    assert "changed outs: removed one.txx" in project.cli_ok("status").stdout


def test_a_rerun_making_new_bytes_never_parses_the_committed_lock(project):
    """repro looks at HEAD's lock only for an entry that may hold the rerun's results (a change
    undone): when the rerun made bytes HEAD's lock never names, that lock is not parsed and the
    YAML parser is not even loaded. When it is parsed, a lock as pipetool writes it needs no YAML
    parser either (storage/lock_yaml.py reads it)."""
    import subprocess
    import sys

    from conftest import CLI_ENV

    project.write("in.txt", "one\n")
    project.write(
        "pipeline.yaml", "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
    )
    project.cli_ok("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "one")
    project.cli_ok("status")  # every parse is kept now

    code = (
        "import sys; from pipetool.cli import main; from pipetool.storage import lock\n"
        "parsed, parse = [], lock.parse\n"
        "lock.parse = lambda *args, **kwargs: parsed.append(args[1:2]) or parse(*args, **kwargs)\n"
        "try: main(['repro'])\nexcept SystemExit: pass\n"
        "print('yaml loaded:', 'yaml' in sys.modules, 'locks parsed:', parsed)"
    )

    def repro_with(text: str) -> str:
        project.write("in.txt", text)
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=project.path, env=CLI_ENV, capture_output=True, text=True
        )
        assert "Running stage 'copy'" in run.stdout or "Stage 'copy' restored" in run.stdout, run.stdout + run.stderr
        return run.stdout

    assert "yaml loaded: False locks parsed: []" in repro_with("two\n")
    # Back to the committed bytes: HEAD's entry is read and kept, duration included.
    assert "yaml loaded: False locks parsed: [('pipeline.lock',)]" in repro_with("one\n")
    assert project.git("status", "--porcelain", "pipeline.lock") == ""
