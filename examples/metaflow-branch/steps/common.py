"""Helpers shared by the steps: tables, params, JSON, and an opt-in timing hook for tests."""
import contextlib
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


def _log_timing(step, event):
    path = os.environ.get("PIPETOOL_EXAMPLE_TIMING")
    if path:
        with open(path, "a") as f:
            f.write(f"{step} {event} {time.time()}\n")


@contextlib.contextmanager
def timed(step):
    """Test hook, off unless asked for; it never changes what a step writes.

    PIPETOOL_EXAMPLE_TIMING=<file> appends "<step> start|end <unix time>" lines to the file;
    PIPETOOL_EXAMPLE_SLEEP=<seconds> sleeps inside the step.
    """
    _log_timing(step, "start")
    sleep = float(os.environ.get("PIPETOOL_EXAMPLE_SLEEP") or 0)
    if sleep > 0:
        time.sleep(sleep)
    yield
    _log_timing(step, "end")
