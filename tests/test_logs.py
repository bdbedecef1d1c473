"""Stage logs: each stage's output of its last run in .pipetool/logs, and `pipetool logs STAGE`."""

from __future__ import annotations

TWO = """
    stages:
      a:
        cmd: echo "a says $(cat src.txt)" && echo "a warns" >&2 && cp src.txt a.txt
        deps: [src.txt]
        outs: [a.txt]
      b:
        cmd: echo "b says hi" > b.txt && echo "b done"
        outs: [b.txt]
"""


def two(project):
    project.write("src.txt", "one\n")
    project.write("pipeline.yaml", TWO)
    return project


def test_each_stage_output_is_kept_and_logs_prints_the_last_run(project):
    two(project)
    result = project.cli_ok("repro")
    assert "a says one\na warns\n" in result.stdout  # streamed to the terminal as it comes
    assert project.read(".pipetool/logs/a.log") == "a says one\na warns\n"
    assert project.cli_ok("logs", "a").stdout == "a says one\na warns\n"
    project.write("src.txt", "two\n")
    project.cli_ok("repro")
    assert project.cli_ok("logs", "a").stdout == "a says two\na warns\n"  # the last run only
    assert project.cli_ok("logs", "b").stdout == "b done\n"  # up to date: its log is kept


def test_parallel_output_is_prefixed_on_the_terminal_but_not_in_the_log(project):
    two(project)
    result = project.cli_ok("repro", "-j", "2")
    assert "[a] a says one\n" in result.stdout and "[b] b done\n" in result.stdout
    assert project.read(".pipetool/logs/a.log") == "a says one\na warns\n"


def test_a_failed_stage_names_its_log_which_holds_all_of_its_output(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          noisy:
            cmd: for i in $(seq 1 50); do echo line $i; done; exit 3
            outs: [never.txt]
    """,
    )
    result = project.cli_fails("repro")
    assert "all of its output: .pipetool/logs/noisy.log (or 'pipetool logs noisy')" in result.stdout
    assert "line 1\n" not in result.stdout.split("last 20 lines")[1]  # the tail is cut short...
    assert project.cli_ok("logs", "noisy").stdout == "".join(f"line {i}\n" for i in range(1, 51))  # ...not the log


def test_logs_of_a_foreach_group_and_names_that_hold_a_slash(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          gen:
            foreach: [x/y, z]
            do:
              cmd: echo making ${item}
    """,
    )
    project.cli_ok("repro")
    assert project.cli_ok("logs", "gen@x/y").stdout == "making x/y\n"
    assert project.cli_ok("logs", "--path", "gen@x/y").stdout == ".pipetool/logs/gen@x%2Fy.log\n"
    assert project.cli_ok("logs", "gen").stdout == "==> gen@x/y <==\nmaking x/y\n==> gen@z <==\nmaking z\n"


def test_logs_of_an_unknown_or_never_run_stage_are_clear_errors(project):
    two(project)
    result = project.cli_fails("logs", "aa")
    assert "no stage named 'aa' (did you mean 'a'?)" in result.stderr
    result = project.cli_fails("logs", "b")
    assert "stage 'b' has no log yet" in result.stderr and "pipetool repro b" in result.stderr
