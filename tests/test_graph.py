"""The stage graph: edges from deps to outs, order, overlap errors; and the pure planning on top.

The first half drives the real CLI; the second half unit-tests graph.build, plan.select
and plan.Schedule on small Stage lists.
"""

from __future__ import annotations

import pytest
from conftest import ran_stages

from pipetool.errors import GraphError
from pipetool.pipeline.stage import Out, Stage
from pipetool.planning.graph import build
from pipetool.planning.plan import Schedule, select

# --- through the CLI ----------------------------------------------------------------------------


def test_repro_runs_in_topological_order_not_definition_order(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          last:
            cmd: cat mid.txt > last.txt
            deps: [mid.txt]
            outs: [last.txt]
          mid:
            cmd: cat first.txt > mid.txt
            deps: [first.txt]
            outs: [mid.txt]
          first:
            cmd: echo one > first.txt
            outs: [first.txt]
    """,
    )
    assert ran_stages(project.cli_ok("repro").stdout) == ["first", "mid", "last"]
    assert project.read("last.txt") == "one\n"


def test_independent_stages_run_in_definition_order(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          zeta:
            cmd: echo z > z.txt
            outs: [z.txt]
          alpha:
            cmd: echo a > a.txt
            outs: [a.txt]
          mu:
            cmd: echo m > m.txt
            outs: [m.txt]
    """,
    )
    assert ran_stages(project.cli_ok("repro").stdout) == ["zeta", "alpha", "mu"]


def test_dep_inside_a_directory_out_runs_after_its_producer(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          use:
            cmd: cat features/train.csv > used.txt
            deps: [features/train.csv]
            outs: [used.txt]
          make:
            cmd: mkdir -p features && echo rows > features/train.csv && echo t > features/test.csv
            outs: [features]
    """,
    )
    assert ran_stages(project.cli_ok("repro").stdout) == ["make", "use"]
    assert project.read("used.txt") == "rows\n"
    assert project.cli_ok("dag", "--dot").stdout.count('"make" -> "use";') == 1


def test_dep_inside_a_directory_out_changes_when_the_file_changes(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: mkdir -p features && cat src.txt > features/train.csv
            deps: [src.txt]
            outs: [features]
          use:
            cmd: cat features/train.csv > used.txt
            deps: [features/train.csv]
            outs: [used.txt]
    """,
    )
    project.write("src.txt", "v1\n")
    assert ran_stages(project.cli_ok("repro").stdout) == ["make", "use"]
    project.write("src.txt", "v2\n")
    assert ran_stages(project.cli_ok("repro").stdout) == ["make", "use"]
    assert project.read("used.txt") == "v2\n"


def test_dep_directory_containing_outs_runs_after_all_their_producers(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          collect:
            cmd: cat results/a.txt results/b.txt > all.txt
            deps: [results]
            outs: [all.txt]
          make_b:
            cmd: echo b > results/b.txt
            outs: [results/b.txt]
          make_a:
            cmd: echo a > results/a.txt
            outs: [results/a.txt]
    """,
    )
    assert ran_stages(project.cli_ok("repro").stdout) == ["make_b", "make_a", "collect"]
    assert project.read("all.txt") == "a\nb\n"
    dot = project.cli_ok("dag", "--dot").stdout
    assert '"make_a" -> "collect";' in dot
    assert '"make_b" -> "collect";' in dot


def test_dep_directory_containing_outs_when_the_directory_already_exists(project):
    project.write("results/.keep", "")
    project.write(
        "pipeline.yaml",
        """
        stages:
          collect:
            cmd: cat results/a.txt results/b.txt > all.txt
            deps: [results]
            outs: [all.txt]
          make_b:
            cmd: echo b > results/b.txt
            outs: [results/b.txt]
          make_a:
            cmd: echo a > results/a.txt
            outs: [results/a.txt]
    """,
    )
    assert ran_stages(project.cli_ok("repro").stdout) == ["make_b", "make_a", "collect"]
    assert project.read("all.txt") == "a\nb\n"


def test_repro_target_by_path_inside_directory_out_runs_its_producer(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          make:
            cmd: mkdir -p out && echo x > out/x.txt
            outs: [out]
          other:
            cmd: echo o > o.txt
            outs: [o.txt]
    """,
    )
    assert ran_stages(project.cli_ok("repro", "out/x.txt").stdout) == ["make"]


def test_cycle_is_a_clean_error(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: cat b.txt > a.txt
            deps: [b.txt]
            outs: [a.txt]
          b:
            cmd: cat a.txt > b.txt
            deps: [a.txt]
            outs: [b.txt]
    """,
    )
    result = project.cli_fails("repro")
    # named in data-flow order (producer -> consumer); where the loop starts is not part of the contract
    assert (
        "the stages form a cycle: a -> b -> a" in result.stderr
        or "the stages form a cycle: b -> a -> b" in result.stderr
    ), result.stderr
    assert "pipeline.yaml:" in result.stderr


def test_overlapping_outs_are_a_clean_error(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          outer:
            cmd: mkdir -p d
            outs: [d]
          inner:
            cmd: echo x > d/x.txt
            outs: [d/x.txt]
    """,
    )
    result = project.cli_fails("status")
    assert "out 'd/x.txt' lies inside stage 'outer''s out 'd'" in result.stderr


def test_stage_depending_on_its_own_out_is_a_clean_error(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          loop:
            cmd: echo x >> x.txt
            deps: [x.txt]
            outs: [x.txt]
    """,
    )
    result = project.cli_fails("repro")
    assert "stage 'loop': depends on its own out 'x.txt'" in result.stderr


# --- graph.build on Stage lists -----------------------------------------------------------------


def st(name: str, deps=(), outs=()) -> Stage:
    return Stage(name=name, cmd=(f"run {name}",), deps=tuple(deps), outs=tuple(Out(o) for o in outs))


def names(graph, indexes) -> list[str]:
    return [graph.stages[i].name for i in indexes]


def test_build_connects_dep_to_the_stage_whose_out_equals_it():
    graph = build([st("a", outs=["a.txt"]), st("b", deps=["a.txt"], outs=["b.txt"])])
    assert graph.upstream == ((), (0,))
    assert graph.downstream == ((1,), ())
    assert graph.order == (0, 1)


def test_build_dep_inside_directory_out():
    graph = build([st("use", deps=["data/features/train.csv"]), st("make", outs=["data/features"])])
    assert graph.upstream == ((1,), ())
    assert names(graph, graph.order) == ["make", "use"]
    assert graph.producer("data/features/train.csv") == 1
    assert graph.producer("data/features") == 1
    assert graph.producer("data/featuresX") is None
    assert graph.producer("data") is None


def test_build_dep_directory_containing_outs():
    stages = [
        st("collect", deps=["results"]),
        st("a", outs=["results/a.txt"]),
        st("b", outs=["results/sub/b.txt"]),
        st("sibling", outs=["results-other/c.txt"]),  # shares a prefix, but is not inside
    ]
    graph = build(stages)
    assert sorted(graph.upstream[0]) == [1, 2]
    # collect becomes ready once b finishes, and is taken before the later-defined sibling
    assert names(graph, graph.order) == ["a", "b", "collect", "sibling"]


def test_build_dep_with_no_producer_is_a_source():
    graph = build([st("a", deps=["raw.csv"], outs=["a.txt"])])
    assert graph.upstream == ((),)
    assert graph.producer("raw.csv") is None


def test_build_order_breaks_ties_by_definition_order():
    stages = [
        st("d", deps=["b.txt", "c.txt"]),
        st("c", deps=["a.txt"], outs=["c.txt"]),
        st("b", deps=["a.txt"], outs=["b.txt"]),
        st("a", outs=["a.txt"]),
        st("x"),
    ]
    graph = build(stages)
    # among ready stages the one defined first is taken first
    assert names(graph, graph.order) == ["a", "c", "b", "d", "x"]


def test_build_two_deps_from_one_producer_give_one_edge():
    graph = build([st("a", outs=["a1", "a2"]), st("b", deps=["a1", "a2"])])
    assert graph.upstream[1] == (0,)
    assert graph.downstream[0] == (1,)


def test_build_detects_a_cycle_and_names_it_in_data_flow_order():
    stages = [
        st("a", deps=["c.txt"], outs=["a.txt"]),
        st("b", deps=["a.txt"], outs=["b.txt"]),
        st("c", deps=["b.txt"], outs=["c.txt"]),
    ]
    with pytest.raises(GraphError) as caught:
        build(stages)
    message = caught.value.message
    assert message.startswith("the stages form a cycle: ")
    cycle = message.removeprefix("the stages form a cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1]
    # a feeds b feeds c feeds a: any rotation of that, never the reverse
    assert " ".join(cycle[:-1]) in ("a b c", "b c a", "c a b")


def test_build_rejects_the_same_out_from_two_stages():
    with pytest.raises(GraphError, match=r"out 'x.txt' is also an out of stage 'a'"):
        build([st("a", outs=["x.txt"]), st("b", outs=["x.txt"])])


def test_build_rejects_an_out_inside_another_out():
    with pytest.raises(GraphError, match=r"lies inside stage 'a''s out 'dir'"):
        build([st("a", outs=["dir"]), st("b", outs=["dir/x.txt"])])


def test_build_rejects_a_stage_reading_its_own_out():
    with pytest.raises(GraphError, match=r"depends on its own out 'dir/x'"):
        build([st("a", deps=["dir/x"], outs=["dir"])])


def test_closure_up_and_down():
    graph = build(
        [
            st("a", outs=["a"]),
            st("b", deps=["a"], outs=["b"]),
            st("c", deps=["b"], outs=["c"]),
            st("d"),
        ]
    )
    assert graph.closure([1], "up") == {0, 1}
    assert graph.closure([1], "down") == {1, 2}
    assert graph.closure([3], "up") == {3}


# --- plan.select --------------------------------------------------------------------------------


def diamond():
    """a -> b, a -> c, b + c -> d, and a lone e, defined out of order."""
    return build(
        [
            st("d", deps=["b", "c"], outs=["d"]),
            st("b", deps=["a"], outs=["b"]),
            st("e", outs=["e"]),
            st("c", deps=["a"], outs=["c"]),
            st("a", outs=["a"]),
        ]
    )


def test_select_all_is_the_topological_order():
    graph = diamond()
    assert names(graph, select(graph, None)) == ["e", "a", "b", "c", "d"]


def test_select_target_with_its_upstream():
    graph = diamond()
    assert names(graph, select(graph, [graph.index["b"]])) == ["a", "b"]
    assert names(graph, select(graph, [graph.index["d"]])) == ["a", "b", "c", "d"]


def test_select_single_is_only_the_targets():
    graph = diamond()
    assert names(graph, select(graph, [graph.index["d"], graph.index["a"]], single=True)) == ["a", "d"]


def test_select_downstream():
    graph = diamond()
    assert names(graph, select(graph, [graph.index["b"]], downstream=True)) == ["b", "d"]
    assert names(graph, select(graph, [graph.index["a"]], downstream=True)) == ["a", "b", "c", "d"]


# --- plan.Schedule ------------------------------------------------------------------------------


def drain(schedule, graph) -> list[str]:
    started = []
    while (index := schedule.pop_ready()) is not None:
        started.append(graph.stages[index].name)
    return started


def test_schedule_releases_a_stage_only_when_all_its_upstream_finished():
    graph = diamond()
    schedule = Schedule(graph, select(graph, None))
    assert drain(schedule, graph) == ["e", "a"]
    schedule.finish(graph.index["e"])
    assert drain(schedule, graph) == []
    schedule.finish(graph.index["a"])
    assert drain(schedule, graph) == ["b", "c"]
    schedule.finish(graph.index["b"])
    assert drain(schedule, graph) == []  # d still waits for c
    schedule.finish(graph.index["c"])
    assert drain(schedule, graph) == ["d"]
    assert not schedule.done
    schedule.finish(graph.index["d"])
    assert schedule.done


def test_schedule_ignores_upstream_outside_the_selection():
    graph = diamond()
    schedule = Schedule(graph, select(graph, [graph.index["d"]], single=True))
    assert drain(schedule, graph) == ["d"]


def test_schedule_failure_skips_everything_downstream():
    graph = diamond()
    schedule = Schedule(graph, select(graph, None))
    assert drain(schedule, graph) == ["e", "a"]
    schedule.finish(graph.index["e"])
    schedule.finish(graph.index["a"])
    assert drain(schedule, graph) == ["b", "c"]
    skipped = schedule.finish(graph.index["b"], ok=False)
    assert names(graph, skipped) == ["d"]
    schedule.finish(graph.index["c"])
    assert drain(schedule, graph) == []
    assert schedule.done


def test_schedule_failure_of_root_skips_whole_branch_but_not_independent_stages():
    graph = diamond()
    schedule = Schedule(graph, select(graph, None))
    assert drain(schedule, graph) == ["e", "a"]
    assert names(graph, schedule.finish(graph.index["a"], ok=False)) == ["b", "c", "d"]
    assert not schedule.done
    schedule.finish(graph.index["e"])
    assert schedule.done


def test_schedule_abandon_gives_up_on_stages_not_started():
    graph = diamond()
    schedule = Schedule(graph, select(graph, None))
    assert graph.stages[schedule.pop_ready()].name == "e"
    left = schedule.abandon()
    assert names(graph, left) == ["a", "b", "c", "d"]
    assert schedule.pop_ready() is None
    assert not schedule.done  # e is still running
    schedule.finish(graph.index["e"])
    assert schedule.done
