"""`resources:` of a stage: the local executor packs -j slots by `cpus`; resources are scheduling
hints, never part of the lock. (Dask worker resources: tests/test_dask.py; bad values:
tests/data/invalid/resources_*.yaml.)

Each stage marks itself in running/ while it runs and records who else was there; stages that
must run at once wait (bounded) for each other's start marker, so nothing depends on timing.
"""

from __future__ import annotations

import pytest
from conftest import ran_stages

# A stage that must run beside another: it waits (bounded) for the other to start, and records
# "met" when it did, and who else was running then.
PAIRED = """
  {name}:
    cmd: >-
      touch running/{name} started/{name};
      for i in $(seq 600); do [ -e started/{other} ] && echo met > {name}.txt && break; sleep 0.05; done;
      ls running | grep -v -e {name} -e {other} >> {name}.txt; rm running/{name}
    outs: [{name}.txt]
"""
# A stage that stays a while, then records who ran beside it.
WIDE = """
  wide:
    cmd: touch running/wide; sleep 0.5; ls running > wide.txt; rm running/wide
    outs: [wide.txt]
    resources: {{cpus: {cpus}}}
"""


@pytest.mark.parametrize("cpus", [2, 5], ids=["cpus-equal-to-jobs", "cpus-more-than-jobs"])
def test_a_stage_takes_as_many_slots_as_its_cpus(project, cpus):
    """With -j 2: a cpus: 2 stage runs alone, and so does one asking for more than -j (rather
    than never); two one-slot stages then run side by side."""
    project.write(
        "pipeline.yaml",
        "stages:"
        + WIDE.format(cpus=cpus)
        + PAIRED.format(name="left", other="right")
        + PAIRED.format(name="right", other="left"),
    )
    (project.path / "running").mkdir()
    (project.path / "started").mkdir()
    result = project.cli_ok("repro", "-j", "2")
    assert ran_stages(result.stdout) == ["wide", "left", "right"]
    assert project.read("wide.txt").split() == ["wide"]
    assert project.read("left.txt") == "met\n"  # the two ran at once, and without wide
    assert project.read("right.txt") == "met\n"


def test_a_ready_stage_that_fits_goes_before_one_that_does_not_fit_yet(project):
    """-j 2 with one slot taken: a waiting cpus: 2 stage lets a one-slot stage start meanwhile."""
    project.write(
        "pipeline.yaml",
        "stages:"
        + PAIRED.format(name="left", other="right")
        + """
  wide:
    cmd: ls running > wide.txt
    outs: [wide.txt]
    resources: {cpus: 2}
"""
        + PAIRED.format(name="right", other="left"),
    )
    (project.path / "running").mkdir()
    (project.path / "started").mkdir()
    result = project.cli_ok("repro", "-j", "2")
    assert ran_stages(result.stdout) == ["left", "right", "wide"]
    assert project.read("wide.txt") == ""


def test_resources_are_not_recorded_and_changing_them_reruns_nothing(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            cmd: echo model > model.txt
            outs: [model.txt]
            resources: {cpus: 2, memory: 4GiB, gpus: 1}
    """,
    )
    project.cli_ok("repro")
    assert "resources" not in project.read("pipeline.lock")
    project.write(
        "pipeline.yaml",
        """
        stages:
          train:
            cmd: echo model > model.txt
            outs: [model.txt]
            resources: {cpus: 1, memory: 512MB}
    """,
    )
    assert "Data and pipelines are up to date." in project.cli_ok("status").stdout
    assert ran_stages(project.cli_ok("repro").stdout) == []
