"""Pure unit tests of staleness.decide: plain dataclasses in, reasons out, one test per reason kind."""

from __future__ import annotations

from pipetool.pipeline.stage import Out, ParamDep, Stage
from pipetool.planning.staleness import ABSENT, Observed, Reason, decide
from pipetool.storage.hashing import HashInfo
from pipetool.storage.lock import LockEntry, PathRecord

P = "params.yaml"


def make_stage(**overrides) -> Stage:
    fields = dict(
        name="train",
        cmd=("python train.py",),
        deps=("data.csv",),
        params=(ParamDep(P, ("train.lr",)),),
        outs=(Out("model.pkl"),),
    )
    fields.update(overrides)
    return Stage(**fields)


def make_lock(**overrides) -> LockEntry:
    fields = dict(
        cmd="python train.py",
        deps=(PathRecord("data.csv", "d1", 10),),
        params={P: {"train.lr": 0.1}},
        outs=(PathRecord("model.pkl", "m1", 20),),
    )
    fields.update(overrides)
    return LockEntry(**fields)


def make_observed(deps=None, outs=None, params=None) -> Observed:
    return Observed(
        deps={"data.csv": HashInfo("d1", 10)} if deps is None else deps,
        outs={"model.pkl": HashInfo("m1", 20)} if outs is None else outs,
        params={P: {"train.lr": 0.1}} if params is None else params,
    )


def test_matching_lock_and_disk_is_up_to_date():
    assert decide(make_stage(), make_lock(), make_observed()) == []


def test_no_lock_entry_is_a_new_stage_and_nothing_else():
    reasons = decide(make_stage(always_changed=True), None, make_observed(deps={"data.csv": None}))
    assert reasons == [Reason("new")]
    assert str(reasons[0]) == "new stage"


def test_always_changed_is_stale_even_when_everything_matches():
    reasons = decide(make_stage(always_changed=True), make_lock(), make_observed())
    assert reasons == [Reason("always_changed")]
    assert str(reasons[0]) == "always changed"


def test_cmd_text_changed():
    reasons = decide(make_stage(cmd=("python train.py --fast",)), make_lock(), make_observed())
    assert reasons == [Reason("cmd")]
    assert str(reasons[0]) == "changed cmd"


def test_cmd_list_matches_locked_list():
    stage = make_stage(cmd=("echo a", "echo b"))
    assert decide(stage, make_lock(cmd=("echo a", "echo b")), make_observed()) == []


def test_cmd_list_with_one_command_changed_is_stale():
    stage = make_stage(cmd=("echo a", "echo c"))
    assert decide(stage, make_lock(cmd=("echo a", "echo b")), make_observed()) == [Reason("cmd")]


def test_cmd_single_string_vs_one_element_list_is_the_same_cmd():
    # cmd_record() stores a one-command list as the plain string, so both spellings agree.
    assert decide(make_stage(cmd=("python train.py",)), make_lock(cmd="python train.py"), make_observed()) == []


def test_dep_content_modified():
    reasons = decide(make_stage(), make_lock(), make_observed(deps={"data.csv": HashInfo("d2", 10)}))
    assert reasons == [Reason("deps", "data.csv", "modified")]
    assert str(reasons[0]) == "changed deps: modified data.csv"


def test_dep_same_hash_different_size_field_is_not_stale():
    # Content (the hash) decides; nothing else about the file.
    assert decide(make_stage(), make_lock(), make_observed(deps={"data.csv": HashInfo("d1", 999)})) == []


def test_dep_deleted():
    reasons = decide(make_stage(), make_lock(), make_observed(deps={"data.csv": None}))
    assert reasons == [Reason("deps", "data.csv", "deleted")]
    assert str(reasons[0]) == "changed deps: deleted data.csv"


def test_dep_added_to_declared_list():
    stage = make_stage(deps=("data.csv", "extra.csv"))
    observed = make_observed(deps={"data.csv": HashInfo("d1", 10), "extra.csv": HashInfo("e1", 3)})
    reasons = decide(stage, make_lock(), observed)
    assert reasons == [Reason("deps", "extra.csv", "added")]
    assert str(reasons[0]) == "changed deps: added extra.csv"


def test_dep_added_to_declared_list_even_when_missing_on_disk():
    stage = make_stage(deps=("data.csv", "extra.csv"))
    observed = make_observed(deps={"data.csv": HashInfo("d1", 10), "extra.csv": None})
    assert decide(stage, make_lock(), observed) == [Reason("deps", "extra.csv", "added")]


def test_dep_removed_from_declared_list():
    reasons = decide(make_stage(deps=()), make_lock(), make_observed(deps={}))
    assert reasons == [Reason("deps", "data.csv", "removed")]
    assert str(reasons[0]) == "changed deps: removed data.csv"


def test_out_modified():
    reasons = decide(make_stage(), make_lock(), make_observed(outs={"model.pkl": HashInfo("m2", 20)}))
    assert reasons == [Reason("outs", "model.pkl", "modified")]
    assert str(reasons[0]) == "changed outs: modified model.pkl"


def test_out_deleted():
    reasons = decide(make_stage(), make_lock(), make_observed(outs={"model.pkl": None}))
    assert reasons == [Reason("outs", "model.pkl", "deleted")]
    assert str(reasons[0]) == "changed outs: deleted model.pkl"


def test_out_added_to_declared_list():
    stage = make_stage(outs=(Out("model.pkl"), Out("log.txt")))
    observed = make_observed(outs={"model.pkl": HashInfo("m1", 20), "log.txt": HashInfo("l1", 1)})
    reasons = decide(stage, make_lock(), observed)
    assert reasons == [Reason("outs", "log.txt", "added")]
    assert str(reasons[0]) == "changed outs: added log.txt"


def test_out_removed_from_declared_list():
    reasons = decide(make_stage(outs=()), make_lock(), make_observed(outs={}))
    assert reasons == [Reason("outs", "model.pkl", "removed")]
    assert str(reasons[0]) == "changed outs: removed model.pkl"


def test_param_value_modified():
    reasons = decide(make_stage(), make_lock(), make_observed(params={P: {"train.lr": 0.2}}))
    assert reasons == [Reason("params", "train.lr", "modified", 0.1, 0.2)]
    assert str(reasons[0]) == "changed params: train.lr 0.1 -> 0.2"


def test_param_value_type_change_is_modified():
    # 1 == 1.0 == True in Python, but a YAML edit from 1 to 1.0 or true is a real change.
    lock = make_lock(params={P: {"train.lr": 1}})
    assert decide(make_stage(), lock, make_observed(params={P: {"train.lr": 1.0}})) == [
        Reason("params", "train.lr", "modified", 1, 1.0)
    ]
    reasons = decide(make_stage(), lock, make_observed(params={P: {"train.lr": True}}))
    assert [str(r) for r in reasons] == ["changed params: train.lr 1 -> true"]


def test_param_nested_value_modified_is_reported_by_dotted_key():
    lock = make_lock(params={P: {"train": {"lr": 0.1, "epochs": 3}}})
    observed = make_observed(params={P: {"train": {"lr": 0.1, "epochs": 4}}})
    reasons = decide(make_stage(params=(ParamDep(P, ("train",)),)), lock, observed)
    assert [str(r) for r in reasons] == ["changed params: train.epochs 3 -> 4"]


def test_param_null_value_shown_as_null():
    reasons = decide(make_stage(), make_lock(), make_observed(params={P: {"train.lr": None}}))
    assert [str(r) for r in reasons] == ["changed params: train.lr 0.1 -> null"]


def test_param_added_to_declared_list():
    stage = make_stage(params=(ParamDep(P, ("train.epochs", "train.lr")),))
    observed = make_observed(params={P: {"train.lr": 0.1, "train.epochs": 3}})
    reasons = decide(stage, make_lock(), observed)
    assert reasons == [Reason("params", "train.epochs", "added", ABSENT, 3)]
    assert str(reasons[0]) == "changed params: added train.epochs"


def test_param_removed_from_declared_list():
    reasons = decide(make_stage(params=()), make_lock(), make_observed(params={}))
    assert reasons == [Reason("params", "train.lr", "removed", 0.1, ABSENT)]
    assert str(reasons[0]) == "changed params: removed train.lr"


def test_param_file_changed_counts_as_removed_and_added():
    stage = make_stage(params=(ParamDep("other.yaml", ("train.lr",)),))
    observed = make_observed(params={"other.yaml": {"train.lr": 0.1}})
    reasons = decide(stage, make_lock(), observed)
    assert [(r.kind, r.subject, r.change) for r in reasons] == [
        ("params", "train.lr", "added"),
        ("params", "train.lr", "removed"),
    ]


def test_every_reason_is_reported_in_a_fixed_order():
    stage = make_stage(cmd=("new cmd",), always_changed=True)
    observed = make_observed(
        deps={"data.csv": HashInfo("d2", 10)},
        outs={"model.pkl": None},
        params={P: {"train.lr": 0.5}},
    )
    reasons = decide(stage, make_lock(), observed)
    assert [str(r) for r in reasons] == [
        "always changed",
        "changed cmd",
        "changed deps: modified data.csv",
        "changed params: train.lr 0.1 -> 0.5",
        "changed outs: deleted model.pkl",
    ]


def test_forced_and_upstream_reason_text():
    # These kinds are added by repro, not decide; their wording is part of repro's output.
    assert str(Reason("forced")) == "forced"
    assert str(Reason("upstream", "prep")) == "upstream stage 'prep' runs first"


def test_reason_to_dict_for_params_maps_absent_to_none():
    added = Reason("params", "train.epochs", "added", ABSENT, 3)
    assert added.to_dict() == {
        "kind": "params",
        "message": "changed params: added train.epochs",
        "subject": "train.epochs",
        "change": "added",
        "old": None,
        "new": 3,
    }


def test_reason_to_dict_for_non_params_kinds():
    assert Reason("new").to_dict() == {"kind": "new", "message": "new stage"}
    assert Reason("deps", "a.csv", "deleted").to_dict() == {
        "kind": "deps",
        "message": "changed deps: deleted a.csv",
        "subject": "a.csv",
        "change": "deleted",
    }


def test_unchanged_nan_param_is_not_stale():
    nan = float("nan")
    lock = make_lock(params={P: {"train.lr": nan}})
    assert decide(make_stage(), lock, make_observed(params={P: {"train.lr": float("nan")}})) == []


def test_nan_param_changed_to_a_number_is_modified():
    lock = make_lock(params={P: {"train.lr": float("nan")}})
    reasons = decide(make_stage(), lock, make_observed(params={P: {"train.lr": 0.5}}))
    assert [str(r) for r in reasons] == ["changed params: train.lr nan -> 0.5"]
