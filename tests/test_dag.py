"""`pipetool dag`: the exact ascii, dot and Mermaid text for a small diamond a -> (b, c) -> d."""

from __future__ import annotations

DIAMOND = """
    stages:
      a:
        cmd: echo a > a.txt
        outs: [a.txt]
      b:
        cmd: cat a.txt > b.txt
        deps: [a.txt]
        outs: [b.txt]
      c:
        cmd: cat a.txt > c.txt
        deps: [a.txt]
        outs: [c.txt]
      d:
        cmd: cat b.txt c.txt > d.txt
        deps: [b.txt, c.txt]
        outs: [d.txt]
"""


def diamond(project):
    project.write("pipeline.yaml", DIAMOND)


def test_dag_ascii_diamond(project):
    diamond(project)
    assert project.cli_ok("dag").stdout == ("a\n├── b\n│   └── d\n└── c\n    └── d (see above)\n")


def test_dag_dot_diamond(project):
    diamond(project)
    assert project.cli_ok("dag", "--dot").stdout == (
        "digraph pipeline {\n"
        "  rankdir=TB;\n"
        '  "a";\n'
        '  "b";\n'
        '  "c";\n'
        '  "d";\n'
        '  "a" -> "b";\n'
        '  "a" -> "c";\n'
        '  "b" -> "d";\n'
        '  "c" -> "d";\n'
        "}\n"
    )


def test_dag_mermaid_diamond(project):
    diamond(project)
    assert project.cli_ok("dag", "--mermaid").stdout == (
        'flowchart TD\n  n0["a"]\n  n1["b"]\n  n2["c"]\n  n3["d"]\n  n0 --> n1\n  n0 --> n2\n  n1 --> n3\n  n2 --> n3\n'
    )


def test_dag_target_shows_only_it_and_its_upstream(project):
    diamond(project)
    assert project.cli_ok("dag", "c").stdout == "a\n└── c\n"
    assert project.cli_ok("dag", "--dot", "c").stdout == (
        'digraph pipeline {\n  rankdir=TB;\n  "a";\n  "c";\n  "a" -> "c";\n}\n'
    )
    assert project.cli_ok("dag", "--mermaid", "c").stdout == 'flowchart TD\n  n0["a"]\n  n2["c"]\n  n0 --> n2\n'


def test_dag_is_the_same_whatever_the_definition_order_of_independent_roots(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          use:
            cmd: cat x.txt y.txt > use.txt
            deps: [x.txt, y.txt]
            outs: [use.txt]
          y:
            cmd: echo y > y.txt
            outs: [y.txt]
          x:
            cmd: echo x > x.txt
            outs: [x.txt]
    """,
    )
    # roots in definition order (y before x); the shared child drawn once, then referenced
    assert project.cli_ok("dag").stdout == "y\n└── use\nx\n└── use (see above)\n"
    assert project.cli_ok("dag", "--dot").stdout == (
        'digraph pipeline {\n  rankdir=TB;\n  "y";\n  "x";\n  "use";\n  "y" -> "use";\n  "x" -> "use";\n}\n'
    )


def test_dag_does_not_need_a_lock_or_run_anything(project):
    diamond(project)
    project.cli_ok("dag")
    assert not project.exists("pipeline.lock")
    assert not project.exists("a.txt")
