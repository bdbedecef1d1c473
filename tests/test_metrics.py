"""`pipetool metrics show|diff|history` and `pipetool params diff`, through the real CLI in temp git repos.

The pipelines here have a stage whose command (gen.py) turns params.yaml into metrics.json; each
repro is committed, so revisions carry different metrics.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import Project

GEN = """
    import json
    import yaml

    params = yaml.safe_load(open("params.yaml"))["train"]
    lr = params["lr"]
    metrics = {"acc": round(0.5 + lr, 6), "loss": round(1 - lr, 6),
               "model": {"name": params.get("model", "rf"), "depth": 3}}
    json.dump(metrics, open("metrics.json", "w"))
"""

PIPELINE = """
    stages:
      train:
        cmd: python gen.py
        deps: [gen.py]
        params: [train.lr, train.model]
        metrics: [metrics.json]
"""

# The history tests (and those of metrics files broken in git) keep metrics.json in git: `metrics
# history` reads each commit's metrics from git, not from the cache.
IN_GIT = PIPELINE.replace("metrics: [metrics.json]", "metrics: [metrics.json: {cache: false}]")

NO_TRACEBACK = "Traceback"


def commit(project: Project, message: str) -> None:
    project.git("add", "-A")
    project.git("commit", "-q", "-m", message)


def set_params(project: Project, lr: float, model: str = "rf") -> None:
    project.write("params.yaml", f"train:\n  lr: {lr}\n  model: {model}\n")


def pipeline(project: Project, lr: float = 0.1, text: str = PIPELINE) -> Project:
    """The gen.py pipeline at lr, reproduced and committed as 'lr=...'."""
    project.write("gen.py", GEN)
    project.write("pipeline.yaml", text)
    set_params(project, lr)
    project.cli_ok("repro")
    commit(project, f"lr={lr}")
    return project


def step(project: Project, lr: float, model: str = "rf", message: str | None = None) -> None:
    """Change the params, repro, and (with a message) commit."""
    set_params(project, lr, model)
    project.cli_ok("repro")
    if message:
        commit(project, message)


def lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def output(result) -> str:
    return result.stdout + result.stderr


# ---------------------------------------------------------------- metrics diff


def test_diff_between_two_commits_markdown_table(project):
    pipeline(project, 0.1)
    step(project, 0.3, message="lr=0.3")
    result = project.cli_ok("metrics", "diff", "HEAD~1", "HEAD", "--md")
    assert result.stdout == (
        "| Path         | Metric   | HEAD~1   | HEAD   | Change   |\n"
        "|--------------|----------|----------|--------|----------|\n"
        "| metrics.json | acc      | 0.6      | 0.8    | 0.2      |\n"
        "| metrics.json | loss     | 0.9      | 0.7    | -0.2     |\n"
    )
    assert result.stderr == ""


def test_diff_defaults_to_head_against_workspace_after_param_change_and_repro(project):
    pipeline(project, 0.1)
    step(project, 0.25)  # not committed: the workspace differs from HEAD
    assert project.cli_ok("metrics", "diff").stdout == (
        "Path          Metric    HEAD    workspace    Change\n"
        "------------  --------  ------  -----------  --------\n"
        "metrics.json  acc       0.6     0.75         0.15\n"
        "metrics.json  loss      0.9     0.75         -0.15\n"
    )


def test_diff_hides_unchanged_metrics_unless_all(project):
    pipeline(project, 0.1)
    step(project, 0.2)
    plain = project.cli_ok("metrics", "diff").stdout
    assert "model.name" not in plain and "model.depth" not in plain
    assert project.cli_ok("metrics", "diff", "--all", "--md").stdout == (
        "| Path         | Metric      | HEAD   | workspace   | Change   |\n"
        "|--------------|-------------|--------|-------------|----------|\n"
        "| metrics.json | acc         | 0.6    | 0.7         | 0.1      |\n"
        "| metrics.json | loss        | 0.9    | 0.8         | -0.1     |\n"
        "| metrics.json | model.name  | rf     | rf          | -        |\n"
        "| metrics.json | model.depth | 3      | 3           | 0        |\n"
    )


def test_diff_without_changes_says_so(project):
    pipeline(project, 0.1)
    assert project.cli_ok("metrics", "diff").stdout == "No metric changed between HEAD and workspace.\n"


def test_diff_new_and_deleted_metrics_show_a_dash(project):
    pipeline(project, 0.1)
    project.write("gen.py", GEN.replace('"loss": round(1 - lr, 6)', '"f1": 0.5'))
    project.cli_ok("repro")
    commit(project, "loss replaced by f1")
    assert project.cli_ok("metrics", "diff", "HEAD~1", "HEAD", "--md").stdout == (
        "| Path         | Metric   | HEAD~1   | HEAD   | Change   |\n"
        "|--------------|----------|----------|--------|----------|\n"
        "| metrics.json | loss     | 0.9      | -      | -        |\n"
        "| metrics.json | f1       | -        | 0.5    | -        |\n"
    )


def test_diff_of_a_string_metric_has_no_change_value(project):
    pipeline(project, 0.1)
    step(project, 0.1, model="gbm")
    assert project.cli_ok("metrics", "diff", "--md").stdout == (
        "| Path         | Metric     | HEAD   | workspace   | Change   |\n"
        "|--------------|------------|--------|-------------|----------|\n"
        "| metrics.json | model.name | rf     | gbm         | -        |\n"
    )
    entry = json.loads(project.cli_ok("metrics", "diff", "--json").stdout)["metrics.json"]["model.name"]
    assert entry == {"old": "rf", "new": "gbm"}


def test_diff_precision_rounds_values_and_change(project):
    pipeline(project, 0.1)
    step(project, 0.123456)
    assert project.cli_ok("metrics", "diff", "--precision", "2", "--md").stdout == (
        "| Path         | Metric   | HEAD   | workspace   | Change   |\n"
        "|--------------|----------|--------|-------------|----------|\n"
        "| metrics.json | acc      | 0.6    | 0.62        | 0.02     |\n"
        "| metrics.json | loss     | 0.9    | 0.88        | -0.02    |\n"
    )
    # the default precision is 5 digits
    assert "0.62346" in project.cli_ok("metrics", "diff").stdout


def test_diff_json_maps_path_to_key_to_old_new_and_diff(project):
    pipeline(project, 0.1)
    step(project, 0.3)
    data = json.loads(project.cli_ok("metrics", "diff", "--json").stdout)
    assert set(data) == {"metrics.json"}
    assert set(data["metrics.json"]) == {"acc", "loss"}
    acc = data["metrics.json"]["acc"]
    assert set(acc) == {"old", "new", "diff"}
    assert (acc["old"], acc["new"]) == (0.6, 0.8)
    assert acc["diff"] == pytest.approx(0.2)
    assert data["metrics.json"]["loss"]["diff"] == pytest.approx(-0.2)


def test_diff_json_of_new_metric_has_null_old_and_no_diff(project):
    pipeline(project, 0.1)
    project.write("gen.py", GEN.replace('"acc":', '"f1": 0.25, "acc":'))
    project.cli_ok("repro")
    data = json.loads(project.cli_ok("metrics", "diff", "--json").stdout)
    assert data == {"metrics.json": {"f1": {"old": None, "new": 0.25}}}


# ---------------------------------------------------------------- metrics show


def test_show_workspace_table(project):
    pipeline(project, 0.1)
    step(project, 0.2)
    assert project.cli_ok("metrics", "show").stdout == (
        "Path          acc    loss    model.name    model.depth\n"
        "------------  -----  ------  ------------  -------------\n"
        "metrics.json  0.7    0.8     rf            3\n"
    )


def test_show_one_revision_reads_that_revision(project):
    pipeline(project, 0.1)
    step(project, 0.2, message="lr=0.2")
    step(project, 0.3)  # workspace, not committed
    [row] = csv_rows(project.cli_ok("metrics", "show", "HEAD~1", "--csv").stdout)
    assert row.pop("Revision", "HEAD~1") == "HEAD~1"  # a Revision column is optional for one revision
    assert row == {"Path": "metrics.json", "acc": "0.6", "loss": "0.9", "model.name": "rf", "model.depth": "3"}


def test_show_several_revisions_adds_a_revision_column(project):
    pipeline(project, 0.1)
    step(project, 0.2, message="lr=0.2")
    step(project, 0.3)
    assert project.cli_ok("metrics", "show", "HEAD~1", "HEAD", "workspace").stdout == (
        "Revision    Path          acc    loss    model.name    model.depth\n"
        "----------  ------------  -----  ------  ------------  -------------\n"
        "HEAD~1      metrics.json  0.6    0.9     rf            3\n"
        "HEAD        metrics.json  0.7    0.8     rf            3\n"
        "workspace   metrics.json  0.8    0.7     rf            3\n"
    )


def branches_and_tags(project: Project) -> dict[str, str]:
    """main: lr 0.1 (tag v1) then 0.2 (tag v2); feature off v1 with lr 0.4. Returns sha per commit name."""
    pipeline(project, 0.1)
    project.git("tag", "v1")
    step(project, 0.2, message="lr=0.2")
    project.git("tag", "v2")
    project.git("checkout", "-q", "-b", "feature", "v1")
    step(project, 0.4, message="lr=0.4")
    project.git("checkout", "-q", "main")
    return {
        name: project.git("rev-parse", ref).strip()
        for name, ref in [("first", "v1"), ("second", "v2"), ("feature", "feature")]
    }


def test_show_all_commits_lists_every_commit_of_every_branch(project):
    shas = branches_and_tags(project)
    rows = csv_rows(project.cli_ok("metrics", "show", "-A", "--csv").stdout)
    assert len(rows) == 3
    acc_by_revision = {row["Revision"]: row["acc"] for row in rows}
    expected = {shas["first"]: "0.6", shas["second"]: "0.7", shas["feature"]: "0.9"}
    for sha, acc in expected.items():
        [label] = [rev for rev in acc_by_revision if sha.startswith(rev) or rev.startswith(sha[:7])]
        assert acc_by_revision[label] == acc


def test_show_all_branches_labels_rows_by_branch(project):
    branches_and_tags(project)
    rows = csv_rows(project.cli_ok("metrics", "show", "-a", "--csv").stdout)
    assert {row["Revision"]: row["acc"] for row in rows} == {"main": "0.7", "feature": "0.9"}


def test_show_all_tags_labels_rows_by_tag(project):
    branches_and_tags(project)
    rows = csv_rows(project.cli_ok("metrics", "show", "-T", "--csv").stdout)
    assert {row["Revision"]: row["acc"] for row in rows} == {"v1": "0.6", "v2": "0.7"}


def test_show_all_tags_names_the_tag_even_when_there_is_only_one(project):
    pipeline(project, 0.1)
    project.git("tag", "release-1")
    result = project.cli_ok("metrics", "show", "-T")
    assert "release-1" in result.stdout, result.stdout


def test_show_csv(project):
    pipeline(project, 0.1)
    assert project.cli_ok("metrics", "show", "--csv").stdout == (
        "Path,acc,loss,model.name,model.depth\nmetrics.json,0.6,0.9,rf,3\n"
    )


def test_show_csv_of_several_revisions_has_a_revision_column(project):
    pipeline(project, 0.1)
    step(project, 0.2)
    assert project.cli_ok("metrics", "show", "HEAD", "workspace", "--csv").stdout == (
        "Revision,Path,acc,loss,model.name,model.depth\n"
        "HEAD,metrics.json,0.6,0.9,rf,3\n"
        "workspace,metrics.json,0.7,0.8,rf,3\n"
    )


def test_show_json_maps_revision_to_path_to_flattened_metrics(project):
    pipeline(project, 0.1)
    step(project, 0.2)
    assert json.loads(project.cli_ok("metrics", "show", "HEAD", "workspace", "--json").stdout) == {
        "HEAD": {"metrics.json": {"acc": 0.6, "loss": 0.9, "model.name": "rf", "model.depth": 3}},
        "workspace": {"metrics.json": {"acc": 0.7, "loss": 0.8, "model.name": "rf", "model.depth": 3}},
    }


def test_show_reads_yaml_and_toml_metrics_with_nested_keys_flattened(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          report:
            cmd: "true"
            metrics: [train.yaml, eval.toml]
    """,
    )
    project.write("train.yaml", "train:\n  acc: 0.5\n  per_class:\n    cat: 0.25\n")
    project.write("eval.toml", "[eval]\nauc = 0.75\n")
    data = json.loads(project.cli_ok("metrics", "show", "--json").stdout)
    assert data == {
        "workspace": {"train.yaml": {"train.acc": 0.5, "train.per_class.cat": 0.25}, "eval.toml": {"eval.auc": 0.75}}
    }


def test_show_without_declared_metrics_says_so(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          a:
            cmd: echo a > a.txt
            outs: [a.txt]
    """,
    )
    assert project.cli_ok("metrics", "show").stdout == "No metrics declared in pipeline.yaml.\n"


# ---------------------------------------------------------------- metrics history

HISTORY_COMMITS = 20


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory) -> Project:
    """20 commits, commit i (1..20) reproduced with lr = i/100; read-only for the tests using it."""
    path = tmp_path_factory.mktemp("history") / "repo"
    path.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "test@example.com"],
        ["config", "user.name", "Test"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True)
    project = Project(path)
    pipeline(project, 0.01, IN_GIT)
    for i in range(2, HISTORY_COMMITS + 1):
        step(project, i / 100, message=f"lr={i / 100}")
    return project


def expected_acc(i: int) -> float:
    return round(0.5 + i / 100, 6)


def test_history_has_a_row_per_commit_oldest_first(history_repo):
    data = json.loads(history_repo.cli_ok("metrics", "history", "--json").stdout)
    assert len(data) == HISTORY_COMMITS
    assert [row["message"] for row in data] == [f"lr={i / 100}" for i in range(1, HISTORY_COMMITS + 1)]
    assert [row["metrics"]["acc"] for row in data] == [expected_acc(i) for i in range(1, HISTORY_COMMITS + 1)]
    assert data[-1]["commit"] == history_repo.git("rev-parse", "HEAD").strip()


def test_history_table_rows_carry_short_sha_message_and_values(history_repo):
    out = lines(history_repo.cli_ok("metrics", "history").stdout)
    assert out[0].split() == ["Commit", "Message", "acc", "loss", "model.name", "model.depth"]
    rows = out[2:]
    assert len(rows) == HISTORY_COMMITS
    first_sha = history_repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    assert rows[0].split() == [first_sha[:7], "lr=0.01", "0.51", "0.99", "rf", "3"]
    assert rows[-1].split() == [
        history_repo.git("rev-parse", "--short=7", "HEAD").strip(),
        "lr=0.2",
        "0.7",
        "0.8",
        "rf",
        "3",
    ]


def test_history_reads_commit_messages_git_gives_in_another_encoding(project):
    """A user's git may print logs in Latin-1 (i18n.logOutputEncoding): no traceback, a stand-in."""
    pipeline(project, 0.01)
    step(project, 0.02, message="café au lait")
    project.git("config", "i18n.logOutputEncoding", "ISO-8859-1")
    data = json.loads(project.cli_ok("metrics", "history", "--json").stdout)
    assert [row["message"] for row in data] == ["lr=0.01", "caf\ufffd au lait"]


def test_history_shows_only_the_selected_metrics(history_repo):
    rows = csv_rows(history_repo.cli_ok("metrics", "history", "loss", "acc", "--csv").stdout)
    assert len(rows) == HISTORY_COMMITS
    assert list(rows[0]) == ["Commit", "Message", "loss", "acc"]
    assert [(r["loss"], r["acc"]) for r in rows[:2]] == [("0.99", "0.51"), ("0.98", "0.52")]


def test_history_json_holds_only_the_selected_metrics(history_repo):
    data = json.loads(history_repo.cli_ok("metrics", "history", "acc", "--json").stdout)
    assert len(data) == HISTORY_COMMITS
    assert all(set(row["metrics"]) == {"acc"} for row in data), data[0]


def test_history_unknown_metric_is_a_clear_error(history_repo):
    result = history_repo.cli_fails("metrics", "history", "acc", "accuracy")
    assert "'accuracy'" in result.stderr
    assert "'acc'" not in result.stderr.split("(")[0]  # only the unknown one is named as missing
    assert "known metrics: acc, loss" in result.stderr
    assert result.stdout == ""


def test_history_rev_range_limits_the_commits(history_repo):
    data = json.loads(history_repo.cli_ok("metrics", "history", "--rev-range", "HEAD~5..HEAD", "--json").stdout)
    assert [row["metrics"]["acc"] for row in data] == [expected_acc(i) for i in range(16, 21)]


def test_history_rev_range_with_three_dots_as_git_log_accepts_it(history_repo):
    result = history_repo.cli_ok("metrics", "history", "--rev-range", "HEAD~5...HEAD", "--json")
    assert [row["metrics"]["acc"] for row in json.loads(result.stdout)] == [expected_acc(i) for i in range(16, 21)]


def test_history_plot_writes_a_png(history_repo, tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (pip install 'pipetool[plots]')")
    target = tmp_path / "acc.png"
    result = history_repo.cli_ok("metrics", "history", "acc", "loss", "--plot", str(target))
    assert f"Plot written to {target}" in result.stdout
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000


def test_history_plot_without_matplotlib_is_a_clear_error(history_repo, tmp_path):
    blocker = tmp_path / "no_matplotlib" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    target = tmp_path / "acc.png"
    # a real process: PYTHONPATH is read when the interpreter starts, and this one has matplotlib
    result = history_repo.fails("metrics", "history", "--plot", str(target), env={"PYTHONPATH": str(blocker.parent)})
    assert "matplotlib" in result.stderr
    assert "pipetool[plots]" in result.stderr
    assert not target.exists()


def test_history_follows_the_first_parent_line_only(project):
    pipeline(project, 0.1)
    project.git("checkout", "-q", "-b", "side")
    step(project, 0.4, message="side work")
    project.git("checkout", "-q", "main")
    step(project, 0.2, message="main work")
    project.git("merge", "-q", "--no-ff", "-s", "ours", "-m", "merge side", "side")
    data = json.loads(project.cli_ok("metrics", "history", "--json").stdout)
    assert [row["message"] for row in data] == ["lr=0.1", "main work", "merge side"]


def test_history_keeps_one_column_per_metric_when_a_second_metrics_file_appears(project):
    pipeline(project, 0.1, IN_GIT)
    step(project, 0.2, message="lr=0.2")
    project.write(
        "pipeline.yaml",
        IN_GIT
        + """
          eval:
            cmd: "echo '{\\"auc\\": 0.5}' > eval.json"
            metrics: [eval.json: {cache: false}]
    """.replace("\n    ", "\n"),
    )
    project.cli_ok("repro")
    commit(project, "add eval")
    out = csv_rows(project.cli_ok("metrics", "history", "--csv").stdout)
    acc_columns = [c for c in out[0] if c.endswith("acc")]
    assert len(acc_columns) == 1, list(out[0])
    assert [row[acc_columns[0]] for row in out] == ["0.6", "0.7", "0.7"]


# ---------------------------------------------------------------- unavailable and broken metrics files


def missing_at_first_revision(project: Project) -> None:
    """eval.json is declared from the start but only committed in the second commit."""
    project.write(
        "pipeline.yaml",
        """
        stages:
          report:
            cmd: "true"
            metrics: [metrics.json, eval.json]
    """,
    )
    project.write("metrics.json", '{"acc": 0.5}')
    commit(project, "metrics only")
    project.write("eval.json", '{"auc": 0.9}')
    commit(project, "eval added")


def test_show_reports_a_metrics_file_missing_at_one_revision_and_shows_the_other(project):
    missing_at_first_revision(project)
    data = json.loads(project.cli_ok("metrics", "show", "HEAD~1", "HEAD", "--json").stdout)
    assert data["HEAD"] == {"metrics.json": {"acc": 0.5}, "eval.json": {"auc": 0.9}}
    assert data["HEAD~1"]["metrics.json"] == {"acc": 0.5}
    assert "not in git at this revision" in data["HEAD~1"]["eval.json"]["error"]
    text = project.cli_ok("metrics", "show", "HEAD~1", "HEAD").stdout
    assert "not in git at this revision" in text
    assert "0.9" in text


def test_diff_reports_a_metrics_file_missing_at_one_revision_and_shows_the_other(project):
    missing_at_first_revision(project)
    result = project.cli_ok("metrics", "diff", "HEAD~1", "HEAD")
    assert "eval.json at HEAD~1: not in git at this revision" in result.stdout
    assert lines(result.stdout)[-1].split() == ["eval.json", "auc", "-", "0.9", "-"]


def test_show_error_of_one_file_stays_out_of_the_metric_columns(project):
    missing_at_first_revision(project)
    rows = csv_rows(project.cli_ok("metrics", "show", "HEAD~1", "HEAD", "--csv").stdout)
    [broken] = [r for r in rows if r["Revision"] == "HEAD~1" and r["Path"] == "eval.json"]
    assert None not in broken, f"more cells than headers: {broken}"
    assert all("not in git" not in broken[metric] for metric in ("acc", "auc")), broken


def test_show_invalid_json_names_the_file_without_traceback(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          report:
            cmd: "true"
            metrics: [metrics.json]
    """,
    )
    project.write("metrics.json", '{"acc": 0.5,\n')
    result = project.cli("metrics", "show")
    assert NO_TRACEBACK not in output(result)
    [line] = [text for text in lines(output(result)) if "metrics.json" in text]
    assert "invalid JSON" in line, line


def test_show_csv_of_an_unreadable_file_has_as_many_cells_as_headers(project):
    project.write(
        "pipeline.yaml",
        """
        stages:
          report:
            cmd: "true"
            metrics: [metrics.json]
    """,
    )
    project.write("metrics.json", '{"acc": 0.5,\n')
    result = project.cli("metrics", "show", "--csv")
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert len({len(row) for row in table}) == 1, table


def test_diff_invalid_json_names_the_file_and_revision(project):
    pipeline(project, 0.1)
    project.write("metrics.json", '{"acc": 0.5,\n')
    result = project.cli("metrics", "diff")
    assert NO_TRACEBACK not in output(result)
    assert "metrics.json at workspace:" in output(result)
    assert "JSON" in output(result)


def test_diff_json_does_not_drop_an_unreadable_file_silently(project):
    pipeline(project, 0.1, IN_GIT)
    project.write("metrics.json", '{"acc": 0.5,\n')
    project.git("commit", "-q", "-am", "broken metrics")
    result = project.cli("metrics", "diff", "HEAD~1", "HEAD", "--json")
    assert NO_TRACEBACK not in output(result)
    json.loads(result.stdout)  # still valid JSON on stdout
    said = result.stdout + result.stderr
    # the parse error reaches the user (in the JSON or on stderr), not just new values of null
    assert "unreadable" in said or "invalid JSON" in said, said


def test_diff_against_a_commit_before_pipeline_yaml_existed_shows_all_metrics_as_new(project):
    project.write("README", "empty so far\n")
    commit(project, "init")
    pipeline(project, 0.1)
    result = project.cli_ok("metrics", "diff", "HEAD~1", "HEAD")
    assert lines(result.stdout)[2].split() == ["metrics.json", "acc", "-", "0.6", "-"]


def test_invalid_pipeline_yaml_at_an_old_revision_names_the_revision(project):
    project.write("pipeline.yaml", "stages:\n  a:\n    cmd: echo\n    metrics: [m.json\n")
    commit(project, "broken pipeline")
    pipeline(project, 0.1)
    result = project.cli_fails("metrics", "diff", "HEAD~1", "HEAD")
    assert "pipeline.yaml" in result.stderr
    assert "HEAD~1" in result.stderr, result.stderr


# ---------------------------------------------------------------- bad revisions


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "diff", "no-such-branch"),
        ("metrics", "diff", "HEAD", "no-such-branch"),
        ("metrics", "show", "no-such-branch"),
        ("params", "diff", "no-such-branch"),
        ("metrics", "history", "--rev-range", "no-such-branch..HEAD"),
    ],
)
def test_unknown_revision_is_a_clear_error(project, args):
    pipeline(project, 0.1)
    result = project.cli_fails(*args)
    assert "unknown revision 'no-such-branch'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "diff", "--", "--output={target}"),
        ("metrics", "diff", "HEAD", "--", "--output={target}"),
        ("metrics", "show", "--", "--output={target}"),
        ("params", "diff", "--", "--output={target}"),
        ("metrics", "history", "--rev-range=--output={target}"),
        ("metrics", "history", "--rev-range", "HEAD..--output={target}"),
    ],
)
def test_option_like_revision_is_refused_and_never_reaches_git(project, tmp_path, args):
    pipeline(project, 0.1)
    target = tmp_path / "written-by-git"
    result = project.cli_fails(*(a.format(target=target) for a in args))
    assert f"'--output={target}' is not a revision" in result.stderr
    assert not target.exists()


# ---------------------------------------------------------------- the working tree is only read


def test_reading_revisions_leaves_the_working_tree_untouched(project):
    pipeline(project, 0.1)
    for lr in (0.2, 0.3, 0.4):
        step(project, lr, message=f"lr={lr}")
    step(project, 0.5)  # uncommitted changes in params.yaml, metrics.json, pipeline.lock

    def snapshot():
        files = {}
        for folder, dirs, names in os.walk(project.path):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in names:
                path = Path(folder, name)
                files[str(path.relative_to(project.path))] = (path.stat().st_mtime_ns, path.read_bytes())
        return project.git("status", "--porcelain"), files

    before = snapshot()
    assert before[0] != ""
    project.cli_ok("metrics", "diff", "HEAD~3")
    project.cli_ok("metrics", "diff", "HEAD~3", "HEAD~1")
    project.cli_ok("metrics", "show", "HEAD~3", "HEAD~2", "-A")
    project.cli_ok("params", "diff", "HEAD~3")
    project.cli_ok("metrics", "history")
    after = snapshot()
    assert after[0] == before[0]
    # the one file written is pipetool's own state: the metrics files each revision declares
    assert after[1].pop(".pipetool/declared.cache", None) is not None
    assert after[1] == before[1]


# ---------------------------------------------------------------- params diff


def three_params_forms(project: Project) -> None:
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\nunused: 1\n")
    project.write("model.yaml", "model:\n  depth: 3\n  width: 8\n")
    project.write("optim.yaml", "opt:\n  momentum: 0.9\n")
    project.write(
        "pipeline.yaml",
        """
        stages:
          prepare:
            cmd: echo prepared > prepared.txt
            params: [train.lr]
            outs: [prepared.txt]
          fit:
            cmd: echo fitted > fitted.txt
            params:
              - model.yaml: [model.depth]
              - optim.yaml:
            outs: [fitted.txt]
    """,
    )
    project.cli_ok("repro")
    commit(project, "params")


def test_params_diff_shows_a_change_in_each_of_the_three_forms(project):
    three_params_forms(project)
    project.write("params.yaml", "train:\n  lr: 0.2\n  epochs: 3\nunused: 1\n")
    project.write("model.yaml", "model:\n  depth: 4\n  width: 8\n")
    project.write("optim.yaml", "opt:\n  momentum: 0.8\n  nesterov: true\n")
    assert project.cli_ok("params", "diff", "--md").stdout == (
        "| Path        | Param        | HEAD   | workspace   | Change   |\n"
        "|-------------|--------------|--------|-------------|----------|\n"
        "| model.yaml  | model.depth  | 3      | 4           | 1        |\n"
        "| optim.yaml  | opt.momentum | 0.9    | 0.8         | -0.1     |\n"
        "| optim.yaml  | opt.nesterov | -      | true        | -        |\n"
        "| params.yaml | train.lr     | 0.1    | 0.2         | 0.1      |\n"
    )


def test_params_diff_lists_every_key_of_the_params_files_and_deps_only_those_used(project):
    # as DVC: `params diff` shows every key of the tracked params files, `--deps` the used ones
    three_params_forms(project)
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 4\nunused: 2\n")
    project.write("model.yaml", "model:\n  depth: 3\n  width: 16\n")
    commit(project, "only unused params changed")
    assert project.cli_ok("params", "diff", "HEAD~1", "HEAD").stdout == (
        "Path         Param         HEAD~1    HEAD    Change\n"
        "-----------  ------------  --------  ------  --------\n"
        "model.yaml   model.width   8         16      8\n"
        "params.yaml  train.epochs  3         4       1\n"
        "params.yaml  unused        1         2       1\n"
    )
    assert project.cli_ok("params", "diff", "HEAD~1", "HEAD", "--deps").stdout == (
        "No param changed between HEAD~1 and HEAD.\n"
    )
    everything = project.cli_ok("params", "diff", "HEAD~1", "HEAD", "--all", "--deps").stdout
    assert "train.lr" in everything and "model.depth" in everything and "opt.momentum" in everything
    for unused in ("unused", "epochs", "width"):
        assert unused not in everything


def test_params_diff_json(project):
    three_params_forms(project)
    project.write("params.yaml", "train:\n  lr: 0.5\n  epochs: 3\nunused: 1\n")
    commit(project, "lr 0.5")
    assert json.loads(project.cli_ok("params", "diff", "HEAD~1", "HEAD", "--json").stdout) == {
        "params.yaml": {"train.lr": {"old": 0.1, "new": 0.5, "diff": 0.4}},
    }


# ---------------------------------------------------------------- project in a subfolder; no git


def test_project_in_a_subfolder_of_the_repository(project):
    sub = Project(project.path / "sub")
    sub.path.mkdir()
    pipeline(sub, 0.1)
    step(sub, 0.2, message="lr=0.2")
    assert sub.cli_ok("metrics", "diff", "HEAD~1").stdout == (
        "Path          Metric    HEAD~1    workspace    Change\n"
        "------------  --------  --------  -----------  --------\n"
        "metrics.json  acc       0.6       0.7          0.1\n"
        "metrics.json  loss      0.9       0.8          -0.1\n"
    )
    deeper = sub.path / "deeper"
    deeper.mkdir()
    assert "train.lr  0.1       0.2" in sub.cli_ok("params", "diff", "HEAD~1", "HEAD", cwd=deeper).stdout
    assert len(json.loads(sub.cli_ok("metrics", "history", "--json").stdout)) == 2


def no_git_project(tmp_path: Path) -> Project:
    plain = Project(tmp_path / "plain")
    plain.path.mkdir()
    probe = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], cwd=plain.path, capture_output=True, text=True
    )
    if probe.returncode == 0:
        pytest.skip(f"the temp folder {tmp_path} is inside a git repository")
    plain.write(
        "pipeline.yaml",
        """
        stages:
          report:
            cmd: "true"
            metrics: [metrics.json]
    """,
    )
    plain.write("metrics.json", '{"acc": 0.5}')
    return plain


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "diff"),
        ("metrics", "show", "HEAD"),
        ("metrics", "history"),
        ("params", "diff"),
    ],
)
def test_revision_commands_outside_git_say_git_is_needed(tmp_path, args):
    plain = no_git_project(tmp_path)
    result = plain.cli_fails(*args)
    assert "not inside a git repository" in result.stderr
    assert "need git" in result.stderr


def test_revision_commands_without_git_installed_say_so(tmp_path):
    plain = no_git_project(tmp_path)
    result = plain.cli_fails("metrics", "diff", "HEAD", env={"PATH": str(tmp_path / "empty")})
    assert "cannot run git" in result.stderr
    assert "need git on the PATH" in result.stderr


def test_metrics_show_of_the_workspace_works_without_git(tmp_path):
    plain = no_git_project(tmp_path)
    assert plain.cli_ok("metrics", "show").stdout == ("Path          acc\n------------  -----\nmetrics.json  0.5\n")


CACHED_METRICS = """
    stages:
      score:
        cmd: "echo '{\\"acc\\": ${n}}' > m.json"
        metrics:
          - m.json: {cache: true}
"""


def _two_commits_of_a_cached_metrics_file(project) -> None:
    project.write("pipeline.yaml", CACHED_METRICS)
    for n in (1, 2):
        project.write("params.yaml", f"n: {n}\n")
        project.cli_ok("repro")
        project.git("add", "-A")
        project.git("commit", "-qm", f"n={n}")


def test_cached_metrics_file_at_an_old_commit_is_read_from_the_cache(project):
    _two_commits_of_a_cached_metrics_file(project)
    assert "m.json" not in project.git("ls-files")  # git-ignored: only the cache has its bytes
    result = project.cli_ok("metrics", "diff", "HEAD~1", "HEAD", "--md")
    assert result.stdout == (
        "| Path   | Metric   | HEAD~1   | HEAD   | Change   |\n"
        "|--------|----------|----------|--------|----------|\n"
        "| m.json | acc      | 1        | 2      | 1        |\n"
    )


def test_cached_metrics_file_missing_from_the_cache_is_unavailable_with_why(project):
    _two_commits_of_a_cached_metrics_file(project)
    import shutil

    shutil.rmtree(project.path / ".pipetool" / "cache")
    result = project.cli_ok("metrics", "show", "HEAD~1")
    assert "m.json at HEAD~1: not in git at this revision; its pipeline.lock names" in result.stdout
    assert "which the cache does not have" in result.stdout
