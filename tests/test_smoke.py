from conftest import ran_stages


def test_chain_runs_then_is_up_to_date(project):
    project.write("pipeline.yaml", """
        stages:
          a:
            cmd: echo hi > a.txt
            outs: [a.txt]
          b:
            cmd: cat a.txt > b.txt
            deps: [a.txt]
            outs: [b.txt]
    """)
    result = project.ok("repro")
    assert ran_stages(result.stdout) == ["a", "b"]
    assert project.read("b.txt") == "hi\n"
    again = project.ok("repro")
    assert ran_stages(again.stdout) == []
    assert "Data and pipelines are up to date." in project.ok("status").stdout
