"""Helpers shared by the steps: tables, params, JSON, and an opt-in handshake for tests."""
import csv
import json
import os
import time

import yaml


def load_params(section, path="params.yaml"):
    with open(path) as f:
        return yaml.safe_load(f)[section]


def read_table(path):
    """(texts, labels) of a table written by start.py."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [row["review"] for row in rows], [int(row["label"]) for row in rows]


def save_json(obj, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, sort_keys=True, indent=2)
        f.write("\n")


def scores(labels, predictions, positive_scores):
    """Accuracy and ROC AUC on the valid table, rounded so the JSON is stable."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    return {
        "accuracy": round(float(accuracy_score(labels, predictions)), 6),
        "roc_auc": round(float(roc_auc_score(labels, positive_scores)), 6),
    }


# The branches that run at the same time (`pipetool repro -j 2`): neither depends on the other.
BRANCHES = ("baseline", "train")


def handshake(step):
    """Test hook, off unless PIPETOOL_EXAMPLE_HANDSHAKE names a folder; it never changes what a
    step writes. The step writes <folder>/<step>.started, then waits for the other branch's file:
    both branches getting past this proves that they ran at the same time. One that waits longer
    than PIPETOOL_EXAMPLE_HANDSHAKE_TIMEOUT seconds (default 60) exits non-zero.
    """
    folder = os.environ.get("PIPETOOL_EXAMPLE_HANDSHAKE")
    if not folder:
        return
    with open(os.path.join(folder, f"{step}.started"), "w"):
        pass
    timeout = float(os.environ.get("PIPETOOL_EXAMPLE_HANDSHAKE_TIMEOUT") or 60)
    deadline = time.monotonic() + timeout
    for other in (name for name in BRANCHES if name != step):
        while not os.path.exists(os.path.join(folder, f"{other}.started")):
            if time.monotonic() > deadline:
                raise SystemExit(f"{step}: step '{other}' did not start within {timeout:g} s "
                                 f"of this one (PIPETOOL_EXAMPLE_HANDSHAKE={folder})")
            time.sleep(0.02)
